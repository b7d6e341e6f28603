package vaults_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
	"github.com/arcakv/arca/vaults"
)

func newService(t *testing.T, store storage.Backend) *vaults.Service {
	t.Helper()
	s := vaults.New(store, arca.NewManualClock(time.Unix(1_800_000_000, 0)), nil)
	if err := s.CreateVault(context.Background(), &arca.Vault{Name: "vault1", TenantID: "t"}); err != nil {
		t.Fatal(err)
	}
	return s
}

func policy(oid string) arca.AccessPolicy {
	return arca.AccessPolicy{TenantID: "t", ObjectID: oid, Permissions: arca.Permissions{Secrets: []string{"get"}}}
}

// TestUpdateConcurrent: read-modify-writes through Update never lose one
// another's changes, and the cache serves the final state.
func TestUpdateConcurrent(t *testing.T) {
	ctx := context.Background()
	s := newService(t, memory.New())
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(ctx, "VAULT1", func(v *arca.Vault) error {
				v.AccessPolicies = append(v.AccessPolicies, policy(fmt.Sprint(i)))
				return nil
			})
			errs <- err
		}()
		if i%4 == 0 {
			if _, err := s.Vault(ctx, "vault1"); err != nil { // fill the cache meanwhile
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	v, err := s.Vault(ctx, "vault1")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.AccessPolicies) != n {
		t.Fatalf("%d policies after %d concurrent adds", len(v.AccessPolicies), n)
	}
}

// TestUpdateRules: Update refuses what no writer of a vault may do, writes
// nothing then, and returns fn's own error as it is.
func TestUpdateRules(t *testing.T) {
	ctx := context.Background()
	s := newService(t, memory.New())
	if _, err := s.Update(ctx, "vault1", func(v *arca.Vault) error { v.PurgeProtection = true; return nil }); err != nil {
		t.Fatal(err)
	}
	no := false
	for name, c := range map[string]struct {
		fn   func(*arca.Vault)
		kind arca.Kind
	}{
		"purge protection off": {func(v *arca.Vault) { v.PurgeProtection = false }, arca.KindInvalid},
		"soft delete off":      {func(v *arca.Vault) { v.EnableSoftDelete = &no }, arca.KindInvalid},
		"retention changed":    {func(v *arca.Vault) { v.RetentionDays = 30 }, arca.KindInvalid},
		"retention too long":   {func(v *arca.Vault) { v.RetentionDays = 91 }, arca.KindInvalid},
		"renamed":              {func(v *arca.Vault) { v.Name = "vault2" }, arca.KindInternal},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Update(ctx, "vault1", func(v *arca.Vault) error {
				v.Tags = map[string]string{"touched": "yes"}
				c.fn(v)
				return nil
			})
			if err == nil || arca.KindOf(err) != c.kind {
				t.Fatalf("err %v, want kind %v", err, c.kind)
			}
			if v, _ := s.Vault(ctx, "vault1"); v.Tags != nil || !v.PurgeProtection || v.RetentionDays != 90 || v.Name != "vault1" {
				t.Fatalf("written anyway: %+v", v)
			}
		})
	}
	// The same rules hold for the blind UpdateVault.
	v, _ := s.Vault(ctx, "vault1")
	c := *v
	c.PurgeProtection = false
	if err := s.UpdateVault(ctx, &c); arca.KindOf(err) != arca.KindInvalid {
		t.Fatalf("UpdateVault turning purge protection off: %v", err)
	}
	mine := errors.New("mine")
	if _, err := s.Update(ctx, "vault1", func(*arca.Vault) error { return mine }); err != mine {
		t.Fatalf("fn's error: %v", err)
	}
	if _, err := s.Update(ctx, "nope", func(*arca.Vault) error { t.Fatal("fn called"); return nil }); arca.KindOf(err) != arca.KindNotFound {
		t.Fatalf("missing vault: %v", err)
	}
}

// TestUpdateVault: the blind replacement still works and stamps Updated.
func TestUpdateVault(t *testing.T) {
	ctx := context.Background()
	s := newService(t, memory.New())
	v, _ := s.Vault(ctx, "vault1")
	c := *v
	c.AccessPolicies = []arca.AccessPolicy{policy("a")}
	if err := s.UpdateVault(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if c.Updated.IsZero() {
		t.Fatal("Updated not set")
	}
	got, _ := s.Vault(ctx, "vault1")
	if len(got.AccessPolicies) != 1 || !got.Updated.Equal(c.Updated) {
		t.Fatalf("stored %+v", got)
	}
	if err := s.UpdateVault(ctx, &arca.Vault{Name: "nope", RetentionDays: 90}); arca.KindOf(err) != arca.KindNotFound {
		t.Fatalf("missing vault: %v", err)
	}
}

// retryStore runs every Update's function twice: once in a transaction it
// then aborts, once for real, as a backend that retries may.
type retryStore struct{ storage.Backend }

var errAbort = errors.New("abort")

func (r retryStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if err := r.Backend.Update(ctx, func(tx storage.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errAbort
	}); !errors.Is(err, errAbort) {
		return err
	}
	return r.Backend.Update(ctx, fn)
}

// TestUpdateRerun: a re-run transaction gives fn a fresh copy of the stored
// vault, so the change is made once.
func TestUpdateRerun(t *testing.T) {
	ctx := context.Background()
	s := newService(t, retryStore{memory.New()})
	calls := 0
	v, err := s.Update(ctx, "vault1", func(v *arca.Vault) error {
		calls++
		v.AccessPolicies = append(v.AccessPolicies, policy("a"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || len(v.AccessPolicies) != 1 {
		t.Fatalf("%d calls, %d policies", calls, len(v.AccessPolicies))
	}
	if got, _ := s.Vault(ctx, "vault1"); len(got.AccessPolicies) != 1 {
		t.Fatalf("stored %+v", got.AccessPolicies)
	}
}

// slowStore lets a test hold a View between its read and its return.
type slowStore struct {
	storage.Backend
	read, release chan struct{}
}

func (s *slowStore) View(ctx context.Context, fn func(storage.Reader) error) error {
	err := s.Backend.View(ctx, fn)
	if s.read != nil {
		close(s.read)
		<-s.release
	}
	return err
}

// TestVaultCacheNotStale: a read that saw the vault before a write does not
// put that state into the cache after the write dropped it; otherwise a
// revoked access policy would be served until the next write.
func TestVaultCacheNotStale(t *testing.T) {
	ctx := context.Background()
	store := &slowStore{Backend: memory.New()}
	s := newService(t, store)
	if _, err := s.Update(ctx, "vault1", func(v *arca.Vault) error {
		v.AccessPolicies = []arca.AccessPolicy{policy("revoked")}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	store.read, store.release = make(chan struct{}), make(chan struct{})
	done := make(chan *arca.Vault)
	go func() {
		v, err := s.Vault(ctx, "vault1") // a cache miss: reads the store
		if err != nil {
			t.Error(err)
		}
		done <- v
	}()
	<-store.read // it has read the policy
	store.read = nil
	if _, err := s.Update(ctx, "vault1", func(v *arca.Vault) error { v.AccessPolicies = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	close(store.release)
	if v := <-done; len(v.AccessPolicies) != 1 {
		t.Fatalf("the racing read saw %+v", v.AccessPolicies) // it may answer what it read
	}
	v, err := s.Vault(ctx, "vault1")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.AccessPolicies) != 0 {
		t.Fatalf("the cache serves the revoked policy: %+v", v.AccessPolicies)
	}
}
