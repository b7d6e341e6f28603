package secrets

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/objects/objectstest"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
)

type env struct {
	ctx   context.Context
	s     *Service
	store *barrier.Barrier // without faults
	cr    *objectstest.Crasher
	clock *arca.ManualClock
	v     *arca.Vault
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	store, err := barrier.Open(ctx, memory.New(), bytes.Repeat([]byte{5}, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cr := objectstest.NewCrasher(store, 0)
	clock := arca.NewManualClock(time.Unix(1_800_000_000, 0))
	return &env{ctx: ctx, s: New(cr, store, clock, rand.Reader), store: store, cr: cr, clock: clock, v: &arca.Vault{Name: "v", RetentionDays: 7}}
}

func wantKind(t *testing.T, err error, k arca.Kind) {
	t.Helper()
	if err == nil || arca.KindOf(err) != k {
		t.Fatalf("error %v, want kind %v", err, k)
	}
}

func ptr[T any](v T) *T { return &v }

func TestSetGetUpdate(t *testing.T) {
	e := newEnv(t)
	ct := "text/plain"
	v1, err := e.s.SetSecret(e.ctx, e.v, "s", arca.SecretSet{Value: "one", ContentType: &ct, Tags: map[string]string{"a": "1"}})
	if err != nil || v1.Value != "one" || !v1.Attributes.IsEnabled() || v1.Attributes.Created != e.clock.Now().Unix() {
		t.Fatalf("set = %+v, %v", v1, err)
	}
	e.clock.Advance(time.Second)
	v2, err := e.s.SetSecret(e.ctx, e.v, "s", arca.SecretSet{Value: "two", Enabled: ptr(false)})
	if err != nil || v2.Version == v1.Version {
		t.Fatalf("second set = %+v, %v", v2, err)
	}
	_, err = e.s.GetSecret(e.ctx, e.v, "s", "")
	wantKind(t, err, arca.KindForbidden) // the latest is disabled
	if got, err := e.s.GetSecret(e.ctx, e.v, "s", v1.Version); err != nil || got.Value != "one" || *got.ContentType != ct {
		t.Fatalf("get v1 = %+v, %v", got, err)
	}
	up, err := e.s.UpdateSecret(e.ctx, e.v, "s", "", arca.SecretUpdate{Enabled: ptr(true), Tags: map[string]string{}, ContentType: &ct})
	if err != nil || up.Value != "" || up.Tags != nil || !up.Attributes.IsEnabled() || *up.ContentType != ct {
		t.Fatalf("update = %+v, %v", up, err)
	}
	if up, err := e.s.UpdateSecret(e.ctx, e.v, "s", v1.Version, arca.SecretUpdate{Tags: map[string]string{"b": "2"}}); err != nil || up.Tags["b"] != "2" {
		t.Fatalf("update v1 = %+v, %v", up, err)
	}
	if got, err := e.s.GetSecret(e.ctx, e.v, "s", ""); err != nil || got.Value != "two" {
		t.Fatalf("get latest = %+v, %v", got, err)
	}
	p, err := e.s.ListSecrets(e.ctx, e.v, 0, "")
	if err != nil || len(p.Items) != 1 || p.Items[0].Value != "" {
		t.Fatalf("list = %+v, %v", p, err)
	}
	vs, err := e.s.ListSecretVersions(e.ctx, e.v, "s", 0, "")
	if err != nil || len(vs.Items) != 2 {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	for _, v := range vs.Items {
		if v.Value != "" {
			t.Fatal("a version list shows a value")
		}
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("c", MaxContentTypeLen+1)
	for name, call := range map[string]func() error{
		"bad name": func() error { _, err := e.s.SetSecret(e.ctx, e.v, "no_underscores", arca.SecretSet{}); return err },
		"too large": func() error {
			_, err := e.s.SetSecret(e.ctx, e.v, "s", arca.SecretSet{Value: strings.Repeat("x", MaxValueBytes+1)})
			return err
		},
		"content type": func() error { _, err := e.s.SetSecret(e.ctx, e.v, "s", arca.SecretSet{ContentType: &long}); return err },
		"tags": func() error {
			_, err := e.s.SetSecret(e.ctx, e.v, "s", arca.SecretSet{Tags: map[string]string{"": ""}})
			return err
		},
		"get bad name":    func() error { _, err := e.s.GetSecret(e.ctx, e.v, "a b", ""); return err },
		"update bad name": func() error { _, err := e.s.UpdateSecret(e.ctx, e.v, "a b", "", arca.SecretUpdate{}); return err },
		"update tags": func() error {
			_, err := e.s.UpdateSecret(e.ctx, e.v, "s", "", arca.SecretUpdate{Tags: map[string]string{"": ""}})
			return err
		},
		"versions bad name": func() error { _, err := e.s.ListSecretVersions(e.ctx, e.v, "a b", 0, ""); return err },
		"delete bad name":   func() error { _, err := e.s.DeleteSecret(e.ctx, e.v, "a b"); return err },
		"deleted bad name":  func() error { _, err := e.s.GetDeletedSecret(e.ctx, e.v, "a b"); return err },
		"recover bad name":  func() error { _, err := e.s.RecoverSecret(e.ctx, e.v, "a b"); return err },
		"purge bad name":    func() error { return e.s.PurgeSecret(e.ctx, e.v, "a b") },
		"backup bad name":   func() error { _, err := e.s.BackupSecret(e.ctx, e.v, "a b"); return err },
		"restore bad blob":  func() error { _, err := e.s.RestoreSecret(e.ctx, e.v, []byte("junk")); return err },
		"restore wrong kind": func() error {
			_, err := e.s.RestoreSecret(e.ctx, e.v, seal(t, e, `{"kind":"key","name":"s","versions":[{}]}`))
			return err
		},
		"restore bad version": func() error {
			_, err := e.s.RestoreSecret(e.ctx, e.v, seal(t, e, `{"kind":"secret","name":"s","latest":"x","versions":[{"name":"s","version":"x"}]}`))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) { wantKind(t, call(), arca.KindInvalid) })
	}
	_, err := e.s.GetSecret(e.ctx, e.v, "none", "")
	wantKind(t, err, arca.KindNotFound)
}

func seal(t *testing.T, e *env, plain string) []byte {
	t.Helper()
	b, err := e.store.Seal([]byte(backupAAD), []byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeleteRecoverPurgeBackupRestore(t *testing.T) {
	e := newEnv(t)
	v1, err := e.s.SetSecret(e.ctx, e.v, "s", arca.SecretSet{Value: "one"})
	if err != nil {
		t.Fatal(err)
	}
	blob, err := e.s.BackupSecret(e.ctx, e.v, "s")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s.RestoreSecret(e.ctx, e.v, blob)
	wantKind(t, err, arca.KindConflict)
	d, err := e.s.DeleteSecret(e.ctx, e.v, "s")
	if err != nil || d.Version != v1.Version || d.ScheduledPurgeDate != e.clock.Now().Add(7*24*time.Hour).Unix() {
		t.Fatalf("delete = %+v, %v", d, err)
	}
	if gd, err := e.s.GetDeletedSecret(e.ctx, e.v, "s"); err != nil || gd.Deletion != d.Deletion {
		t.Fatalf("get deleted = %+v, %v", gd, err)
	}
	if ld, err := e.s.ListDeletedSecrets(e.ctx, e.v, 0, ""); err != nil || len(ld.Items) != 1 {
		t.Fatalf("list deleted = %+v, %v", ld, err)
	}
	_, err = e.s.SetSecret(e.ctx, e.v, "s", arca.SecretSet{Value: "x"})
	wantKind(t, err, arca.KindConflict)
	if r, err := e.s.RecoverSecret(e.ctx, e.v, "s"); err != nil || r.Version != v1.Version {
		t.Fatalf("recover = %+v, %v", r, err)
	}
	if _, err := e.s.DeleteSecret(e.ctx, e.v, "s"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PurgeSecret(e.ctx, e.v, "s"); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.GetDeletedSecret(e.ctx, e.v, "s")
	wantKind(t, err, arca.KindNotFound)
	r, err := e.s.RestoreSecret(e.ctx, e.v, blob)
	if err != nil || r.Version != v1.Version || r.Value != "" {
		t.Fatalf("restore = %+v, %v", r, err)
	}
	if got, err := e.s.GetSecret(e.ctx, e.v, "s", ""); err != nil || got.Value != "one" {
		t.Fatalf("restored = %+v, %v", got, err)
	}
	_, err = e.s.BackupSecret(e.ctx, e.v, "none")
	wantKind(t, err, arca.KindNotFound)
}

func TestSeed(t *testing.T) {
	e := newEnv(t)
	if err := e.s.Seed(e.ctx, e.v, []string{"a", "b", "c"}, "x"); err != nil {
		t.Fatal(err)
	}
	if p, err := e.s.ListSecrets(e.ctx, e.v, 2, ""); err != nil || len(p.Items) != 2 || p.Next == "" {
		t.Fatalf("list = %+v, %v", p, err)
	}
	if got, err := e.s.GetSecret(e.ctx, e.v, "c", ""); err != nil || got.Value != "x" {
		t.Fatalf("get = %+v, %v", got, err)
	}
}

// TestManagedSteps: the steps a certificate drives inside its own
// transaction, and the secrets API's refusal to change a managed secret.
func TestManagedSteps(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	sv := &arca.SecretVersion{Name: "c", Version: strings.Repeat("a", 32), Value: "pem", Attributes: arca.Attributes{Enabled: ptr(true)}}
	update := func(fn func(storage.Tx) error) error { return e.cr.Update(e.ctx, fn) }
	if err := update(func(tx storage.Tx) error { return e.s.PutManagedTx(tx, e.v, sv) }); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.SetSecret(e.ctx, e.v, "c", arca.SecretSet{Value: "x"})
	wantKind(t, err, arca.KindForbidden)
	_, err = e.s.UpdateSecret(e.ctx, e.v, "c", "", arca.SecretUpdate{Tags: map[string]string{"a": "b"}})
	wantKind(t, err, arca.KindForbidden)
	_, err = e.s.DeleteSecret(e.ctx, e.v, "c")
	wantKind(t, err, arca.KindForbidden)
	if got, err := e.s.GetSecret(e.ctx, e.v, "c", ""); err != nil || !got.Managed || got.Value != "pem" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	err = e.store.View(e.ctx, func(r storage.Reader) error {
		got, err := e.s.GetManagedTx(r, e.v, "c", "")
		if err != nil || got.Value != "pem" {
			t.Fatalf("get managed = %+v, %v", got, err)
		}
		latest, vs, err := e.s.ManagedVersionsTx(r, e.v, "c")
		if err != nil || latest != sv.Version || len(vs) != 1 {
			t.Fatalf("versions = %s %+v, %v", latest, vs, err)
		}
		ok, err := e.s.ManagedExistsTx(r, e.v, "c")
		if err != nil || !ok {
			t.Fatalf("exists = %v, %v", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := update(func(tx storage.Tx) error { return e.s.DeleteManagedTx(tx, e.v, "c", now) }); err != nil {
		t.Fatal(err)
	}
	if d, err := e.s.GetDeletedSecret(e.ctx, e.v, "c"); err != nil || d.DeletedDate != now.Unix() {
		t.Fatalf("deleted = %+v, %v", d, err)
	}
	if err := update(func(tx storage.Tx) error { return e.s.RecoverManagedTx(tx, e.v, "c") }); err != nil {
		t.Fatal(err)
	}
	if err := update(func(tx storage.Tx) error { return e.s.DeleteManagedTx(tx, e.v, "c", now) }); err != nil {
		t.Fatal(err)
	}
	if err := update(func(tx storage.Tx) error { return e.s.PurgeManagedTx(tx, e.v, "c") }); err != nil {
		t.Fatal(err)
	}
	if err := update(func(tx storage.Tx) error {
		return e.s.RestoreManagedTx(tx, e.v, "c", sv.Version, []arca.SecretVersion{*sv})
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.s.GetSecret(e.ctx, e.v, "c", ""); err != nil || !got.Managed {
		t.Fatalf("restored = %+v, %v", got, err)
	}
}

// TestCrashKeepsSecretsWhole: every change of a secret is one transaction:
// a crash at any of its writes leaves the store as before or as after it.
func TestCrashKeepsSecretsWhole(t *testing.T) {
	type step struct {
		name  string
		setup func(*env) []byte
		op    func(*env, []byte) error
	}
	set := func(e *env) []byte {
		if _, err := e.s.SetSecret(e.ctx, e.v, "s", arca.SecretSet{Value: "v", Tags: map[string]string{"a": "1"}}); err != nil {
			panic(err)
		}
		return nil
	}
	del := func(e *env) []byte {
		set(e)
		if _, err := e.s.DeleteSecret(e.ctx, e.v, "s"); err != nil {
			panic(err)
		}
		return nil
	}
	steps := []step{
		{"set", func(*env) []byte { return nil }, func(e *env, _ []byte) error {
			_, err := e.s.SetSecret(e.ctx, e.v, "s", arca.SecretSet{Value: "v"})
			return err
		}},
		{"update", set, func(e *env, _ []byte) error {
			_, err := e.s.UpdateSecret(e.ctx, e.v, "s", "", arca.SecretUpdate{Tags: map[string]string{"b": "2"}})
			return err
		}},
		{"delete", set, func(e *env, _ []byte) error { _, err := e.s.DeleteSecret(e.ctx, e.v, "s"); return err }},
		{"recover", del, func(e *env, _ []byte) error { _, err := e.s.RecoverSecret(e.ctx, e.v, "s"); return err }},
		{"purge", del, func(e *env, _ []byte) error { return e.s.PurgeSecret(e.ctx, e.v, "s") }},
		{"restore", func(e *env) []byte {
			set(e)
			blob, err := e.s.BackupSecret(e.ctx, e.v, "s")
			if err != nil {
				panic(err)
			}
			del(e)
			if err := e.s.PurgeSecret(e.ctx, e.v, "s"); err != nil {
				panic(err)
			}
			return blob
		}, func(e *env, blob []byte) error { _, err := e.s.RestoreSecret(e.ctx, e.v, blob); return err }},
	}
	// shape is the store's keys with the version ids blanked out.
	shape := func(t *testing.T, e *env) []string {
		var out []string
		if err := e.store.View(e.ctx, func(r storage.Reader) error {
			return r.Scan("", "", func(k string, _ []byte) bool {
				if i := strings.Index(k, "/v/s/"); i >= 0 {
					k = k[:i] + "/v/s/VERSION"
				}
				out = append(out, k)
				return true
			})
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ref := newEnv(t)
			arg := st.setup(ref)
			before := shape(t, ref)
			ref.cr.Reset(0)
			if err := st.op(ref, arg); err != nil {
				t.Fatal(err)
			}
			after := shape(t, ref)
			if ref.cr.Updates() != 1 {
				t.Errorf("%d transactions, want 1", ref.cr.Updates())
			}
			for i := 1; i <= ref.cr.Writes(); i++ {
				e := newEnv(t)
				arg := st.setup(e)
				e.cr.Reset(i)
				if err := st.op(e, arg); !errors.Is(err, objectstest.ErrCrash) {
					t.Fatalf("crash at write %d: %v", i, err)
				}
				if got := shape(t, e); !reflect.DeepEqual(got, before) && !reflect.DeepEqual(got, after) {
					t.Errorf("crash at write %d left %v (before %v, after %v)", i, got, before, after)
				}
			}
		})
	}
}
