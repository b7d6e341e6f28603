package vaults_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/bolt"
	"github.com/arcakv/arca/storage/memory"
	"github.com/arcakv/arca/storage/storagetest"
	"github.com/arcakv/arca/vaults"
)

// Several nodes over one store: each node has its own vaults.Service, and
// so its own cache, over a shared barrier.

func sharedStore(t *testing.T, inner storage.Backend) *barrier.Barrier {
	t.Helper()
	b, err := barrier.Open(context.Background(), inner, make([]byte, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// waitFor polls cond until it holds, failing t after a deadline that only a
// broken Follow reaches.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		runtime.Gosched()
	}
}

// follow runs s.Follow until the test ends, and returns once Follow has
// emptied the cache at its start (moving the generation on): from then on
// every write is reported to it.
func follow(t *testing.T, s *vaults.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	gen := s.Generation()
	go func() { done <- s.Follow(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Follow ended with %v, want context.Canceled", err)
		}
	})
	waitFor(t, "Follow to start", func() bool { return s.Generation() != gen })
}

// source feeds an authorisation engine from one node's vaults service, as
// the deployment does.
type source struct{ s *vaults.Service }

func (src source) Access(ctx context.Context, v *arca.Vault) (authz.VaultAccess, error) {
	cur, err := src.s.Vault(ctx, v.Name)
	if err != nil {
		return authz.VaultAccess{}, err
	}
	a := authz.VaultAccess{RBAC: cur.EnableRBAC, Location: "local"}
	for _, p := range cur.AccessPolicies {
		a.Policies = append(a.Policies, authz.AccessPolicy{TenantID: p.TenantID, ObjectID: p.ObjectID, Secrets: p.Permissions.Secrets})
	}
	return a, nil
}
func (source) Assignments(context.Context) ([]authz.RoleAssignment, map[string]*authz.RoleDefinition, error) {
	return nil, nil, nil
}
func (source) Groups(context.Context, string, string) ([]string, error) { return nil, nil }
func (src source) Generation() uint64                                   { return src.s.Generation() }

var reader = &arca.Principal{TenantID: "t", ObjectID: "reader"}

// canRead reports whether the node's engine lets reader get a secret of
// vault name.
func canRead(t *testing.T, e *authz.Engine, name string) bool {
	t.Helper()
	err := e.Authorize(context.Background(), &arca.Vault{Name: name, TenantID: "t"}, reader, "SecretGet", "s")
	if err != nil && arca.KindOf(err) != arca.KindForbidden && arca.KindOf(err) != arca.KindNotFound {
		t.Fatal(err)
	}
	return err == nil
}

func revoke(v *arca.Vault) error {
	v.AccessPolicies = slices.DeleteFunc(v.AccessPolicies, func(p arca.AccessPolicy) bool { return p.ObjectID == reader.ObjectID })
	return nil
}

// TestFollowRevocation: an access policy revoked through node A, and then
// the vault deleted through A, apply on node B, whose cache and decisions
// held the vault, as soon as B's Follow hears of it. Node C, which does not
// follow, keeps deciding on what it cached: that is what Follow is for.
func TestFollowRevocation(t *testing.T) {
	ctx := context.Background()
	store := sharedStore(t, memory.New())
	clock := arca.NewManualClock(t0)
	a, b, c := vaults.New(store, clock, nil), vaults.New(store, clock, nil), vaults.New(store, clock, nil)
	mustCreate(t, a, &arca.Vault{Name: "shared", TenantID: "t", AccessPolicies: []arca.AccessPolicy{policy(reader.ObjectID)}})
	follow(t, b)
	eb, ec := &authz.Engine{Source: source{b}}, &authz.Engine{Source: source{c}}
	if !canRead(t, eb, "shared") || !canRead(t, ec, "shared") {
		t.Fatal("the policy does not grant the read")
	}

	gen := b.Generation()
	if _, err := a.Update(ctx, "shared", revoke); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to drop the vault", func() bool { return b.Generation() != gen })
	if v, err := b.Vault(ctx, "shared"); err != nil || len(v.AccessPolicies) != 0 {
		t.Fatalf("B reads %+v, %v after the revocation, want no policy", v, err)
	}
	if canRead(t, eb, "shared") {
		t.Fatal("B still grants a revoked access policy")
	}
	if !canRead(t, ec, "shared") {
		t.Fatal("C, which does not follow, dropped its decision: the test proves nothing")
	}

	// B's own writes invalidate at once; their events again, harmlessly.
	gen = b.Generation()
	if _, err := b.Update(ctx, "shared", func(v *arca.Vault) error {
		v.AccessPolicies = append(v.AccessPolicies, policy(reader.ObjectID))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !canRead(t, eb, "shared") {
		t.Fatal("B's own grant does not apply at once")
	}
	waitFor(t, "B to hear of its own write", func() bool { return b.Generation() >= gen+2 })
	if !canRead(t, eb, "shared") {
		t.Fatal("B's own grant, reported back to B, no longer applies")
	}

	gen = b.Generation()
	if err := a.DeleteVault(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to drop the deleted vault", func() bool { return b.Generation() != gen })
	if _, err := b.Vault(ctx, "shared"); arca.KindOf(err) != arca.KindNotFound {
		t.Fatalf("B reads a vault deleted through A: %v", err)
	}

	// A vault created through A: B was never caching its absence, but
	// hears of it all the same.
	gen = b.Generation()
	mustCreate(t, a, &arca.Vault{Name: "fresh", TenantID: "t"})
	waitFor(t, "B to hear of the new vault", func() bool { return b.Generation() != gen })
	if _, err := b.Vault(ctx, "fresh"); err != nil {
		t.Fatal(err)
	}
}

// TestFollowCompacted: when the store loses B's watch (ErrCompacted), B
// empties its cache, so a change it was never told about applies all the
// same, and follows on.
func TestFollowCompacted(t *testing.T) {
	ctx := context.Background()
	shared := sharedStore(t, memory.New())
	lossy := storagetest.NewCompactOnce(shared)
	clock := arca.NewManualClock(t0)
	a, b := vaults.New(shared, clock, nil), vaults.New(lossy, clock, nil)
	mustCreate(t, a, &arca.Vault{Name: "shared", TenantID: "t", AccessPolicies: []arca.AccessPolicy{policy(reader.ObjectID)}})
	follow(t, b)
	<-lossy.Started(1)
	if v, err := b.Vault(ctx, "shared"); err != nil || len(v.AccessPolicies) != 1 {
		t.Fatalf("B reads %+v, %v", v, err)
	}
	if _, err := a.Update(ctx, "shared", revoke); err != nil {
		t.Fatal(err)
	}
	// The lost watch reports nothing: B serves what it cached.
	if v, _ := b.Vault(ctx, "shared"); len(v.AccessPolicies) != 1 {
		t.Fatal("B heard of the revocation through a lost watch")
	}
	lossy.Compact()
	<-lossy.Started(2) // after the cache was emptied
	if v, err := b.Vault(ctx, "shared"); err != nil || len(v.AccessPolicies) != 0 {
		t.Fatalf("B reads %+v, %v after ErrCompacted, want the revocation", v, err)
	}
	gen := b.Generation()
	if _, err := a.Update(ctx, "shared", func(v *arca.Vault) error { v.Tags = map[string]string{"k": "v"}; return nil }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to follow on after ErrCompacted", func() bool { return b.Generation() != gen })
	if v, _ := b.Vault(ctx, "shared"); v.Tags["k"] != "v" {
		t.Fatalf("B reads %+v", v)
	}
}

// TestFollowEnds: Follow ends with its context, and at once with
// errors.ErrUnsupported on a store that cannot watch.
func TestFollowEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := vaults.New(sharedStore(t, memory.New()), arca.NewManualClock(t0), nil)
	done := make(chan error, 1)
	go func() { done <- s.Follow(ctx) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Follow ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow outlived its context")
	}

	if err := vaults.New(retryStore{memory.New()}, arca.NewManualClock(t0), nil).Follow(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Follow on a store without Watch: %v, want ErrUnsupported", err)
	}
	inner := sharedStore(t, retryStore{memory.New()}) // a barrier over it
	if err := vaults.New(inner, arca.NewManualClock(t0), nil).Follow(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Follow on a barrier without Watch: %v, want ErrUnsupported", err)
	}
}

// TestFollowDelay measures how long a write made through node A takes to
// invalidate node B's cache, with each in-process backend under the
// barrier, and logs it (go test -v -run TestFollowDelay ./vaults/). It
// checks nothing about the figures: they depend on the machine.
func TestFollowDelay(t *testing.T) {
	for _, c := range []struct {
		name   string
		writes int
		open   func(t *testing.T) storage.Backend
	}{
		{"memory", 2000, func(*testing.T) storage.Backend { return memory.New() }},
		{"bolt", 200, func(t *testing.T) storage.Backend {
			b, err := bolt.Open(filepath.Join(t.TempDir(), "arca.db"))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			store := sharedStore(t, c.open(t))
			clock := arca.NewManualClock(t0)
			a, b := vaults.New(store, clock, nil), vaults.New(store, clock, nil)
			mustCreate(t, a, &arca.Vault{Name: "shared", TenantID: "t"})
			follow(t, b)
			var fromStart, fromReturn []time.Duration
			early := 0 // invalidated before A's write returned
			for i := range c.writes {
				gen := b.Generation()
				start := time.Now()
				if _, err := a.Update(ctx, "shared", func(v *arca.Vault) error {
					v.Tags = map[string]string{"i": string(rune('a' + i%26))}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				returned := time.Now()
				seen := returned
				for b.Generation() == gen {
					runtime.Gosched()
					if seen = time.Now(); seen.Sub(start) > 10*time.Second {
						t.Fatal("B was not invalidated within 10s")
					}
				}
				if seen == returned {
					early++
				}
				fromStart = append(fromStart, seen.Sub(start))
				fromReturn = append(fromReturn, seen.Sub(returned))
			}
			t.Logf("%d writes through A; B invalidated, from the start of A's write: %s; from its return: %s (%d already on return)",
				c.writes, percentiles(fromStart), percentiles(fromReturn), early)
		})
	}
}

func percentiles(ds []time.Duration) string {
	slices.Sort(ds)
	at := func(p float64) time.Duration { return ds[int(p*float64(len(ds)-1))] }
	return "p50 " + at(0.5).String() + ", p90 " + at(0.9).String() + ", p99 " + at(0.99).String() + ", max " + ds[len(ds)-1].String()
}
