package objects_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"go/build"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/objects"
	"github.com/arcakv/arca/objects/objectstest"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
)

// rec is a version record for the tests.
type rec struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Value   string `json:"value,omitempty"`
	Managed bool   `json:"managed,omitempty"`
}

func (r *rec) ObjectName() string    { return r.Name }
func (r *rec) ObjectVersion() string { return r.Version }
func (r *rec) IsManaged() bool       { return r.Managed }

type coll = objects.Collection[rec, *rec]

type env struct {
	ctx   context.Context
	store storage.Backend // the barrier, without faults
	cr    *objectstest.Crasher
	clock *arca.ManualClock
	v     *arca.Vault
	a, b  *coll // collections "a" and "b" over cr
	sides []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	store, err := barrier.Open(ctx, memory.New(), bytes.Repeat([]byte{1}, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: ctx, store: store, cr: objectstest.NewCrasher(store, 0), clock: arca.NewManualClock(time.Unix(1_800_000_000, 0)),
		v: &arca.Vault{Name: "Vault", RetentionDays: 7}}
	side := func(tx storage.Tx, vault, name string) error {
		e.sides = append(e.sides, vault+"/"+name)
		return tx.Delete("side/" + vault + "/" + name)
	}
	e.a = &coll{Store: e.cr, Clock: e.clock, Prefix: "a", Noun: "Thing", Item: func(r rec) rec { r.Value = ""; return r }, Side: side}
	e.b = &coll{Store: e.cr, Clock: e.clock, Prefix: "b", Noun: "Other"}
	return e
}

func (e *env) add(t *testing.T, c *coll, name, version, value string) *rec {
	t.Helper()
	r := &rec{Name: name, Version: version, Value: value}
	if err := c.AddVersion(e.ctx, e.v, r, false); err != nil {
		t.Fatal(err)
	}
	return r
}

// dump returns every key and plaintext value in the store.
func (e *env) dump(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := e.store.View(e.ctx, func(r storage.Reader) error {
		return r.Scan("", "", func(k string, v []byte) bool { out[k] = string(v); return true })
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantKind(t *testing.T, err error, k arca.Kind) {
	t.Helper()
	if arca.KindOf(err) != k || err == nil {
		t.Fatalf("error %v (kind %v), want kind %v", err, arca.KindOf(err), k)
	}
}

func TestVersionsAndReads(t *testing.T) {
	e := newEnv(t)
	e.add(t, e.a, "One", "v1", "first")
	e.add(t, e.a, "one", "V2", "second")
	e.add(t, e.a, "two", "v1", "x")

	got, err := e.a.Get(e.ctx, e.v, "ONE", "")
	if err != nil || got.Version != "V2" || got.Value != "second" {
		t.Fatalf("latest = %+v, %v", got, err)
	}
	if got, err := e.a.Get(e.ctx, e.v, "one", "v1"); err != nil || got.Value != "first" {
		t.Fatalf("v1 = %+v, %v", got, err)
	}
	_, err = e.a.Get(e.ctx, e.v, "one", "nope")
	wantKind(t, err, arca.KindNotFound)
	_, err = e.a.Get(e.ctx, e.v, "none", "v1")
	wantKind(t, err, arca.KindNotFound)
	_, err = e.a.Get(e.ctx, e.v, "none", "")
	wantKind(t, err, arca.KindNotFound)
	if l, err := e.a.Latest(e.ctx, e.v, "one"); err != nil || l != "V2" {
		t.Fatalf("latest id = %q, %v", l, err)
	}
	_, err = e.a.Latest(e.ctx, e.v, "none")
	wantKind(t, err, arca.KindNotFound)
	for name, want := range map[string]bool{"one": true, "TWO": true, "three": false} {
		if ok, err := e.a.Exists(e.ctx, e.v, name); err != nil || ok != want {
			t.Errorf("exists(%s) = %v, %v", name, ok, err)
		}
	}

	// Lists show items (Item strips the value) in name order, paged.
	p, err := e.a.List(e.ctx, e.v, 1, "")
	if err != nil || len(p.Items) != 1 || p.Items[0].Name != "one" || p.Items[0].Value != "" || p.Next == "" {
		t.Fatalf("page 1 = %+v, %v", p, err)
	}
	p, err = e.a.List(e.ctx, e.v, 1, p.Next)
	if err != nil || len(p.Items) != 1 || p.Items[0].Name != "two" || p.Next != "" {
		t.Fatalf("page 2 = %+v, %v", p, err)
	}
	vs, err := e.a.Versions(e.ctx, e.v, "one", 0, "")
	if err != nil || len(vs.Items) != 2 || vs.Items[0].Value != "" {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	if vs, err := e.a.Versions(e.ctx, e.v, "none", 0, ""); err != nil || len(vs.Items) != 0 {
		t.Fatalf("versions of an unknown name = %+v, %v", vs, err)
	}
	name, latest, all, err := e.a.AllVersions(e.ctx, e.v, "one")
	if err != nil || name != "one" || latest != "V2" || len(all) != 2 || all[0].Value == "" {
		t.Fatalf("all versions = %s %s %+v, %v", name, latest, all, err)
	}
	_, _, _, err = e.a.AllVersions(e.ctx, e.v, "none")
	wantKind(t, err, arca.KindNotFound)
	// The other collection is separate.
	if ok, _ := e.b.Exists(e.ctx, e.v, "one"); ok {
		t.Fatal("collections share names")
	}
}

func TestModify(t *testing.T) {
	e := newEnv(t)
	e.add(t, e.a, "m", "v1", "a")
	e.add(t, e.a, "m", "v2", "b")
	up := func(r *rec) error { r.Value += "!"; return nil }
	if got, err := e.a.Modify(e.ctx, e.v, "m", "v1", false, up); err != nil || got.Value != "a!" {
		t.Fatalf("modify v1 = %+v, %v", got, err)
	}
	if got, err := e.a.Modify(e.ctx, e.v, "m", "", false, up); err != nil || got.Value != "b!" || got.Version != "v2" {
		t.Fatalf("modify latest = %+v, %v", got, err)
	}
	if got, _ := e.a.Get(e.ctx, e.v, "m", ""); got.Value != "b!" {
		t.Fatalf("latest after modify = %+v", got)
	}
	boom := errors.New("boom")
	if _, err := e.a.Modify(e.ctx, e.v, "m", "", false, func(*rec) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error = %v", err)
	}
	_, err := e.a.Modify(e.ctx, e.v, "none", "", false, up)
	wantKind(t, err, arca.KindNotFound)
	_, err = e.a.Modify(e.ctx, e.v, "m", "v9", false, up)
	wantKind(t, err, arca.KindNotFound)

	// Managed objects change only through their owner.
	if err := e.a.AddVersion(e.ctx, e.v, &rec{Name: "cert", Version: "v1", Managed: true}, true); err != nil {
		t.Fatal(err)
	}
	_, err = e.a.Modify(e.ctx, e.v, "cert", "", false, up)
	wantKind(t, err, arca.KindForbidden)
	wantKind(t, e.a.AddVersion(e.ctx, e.v, &rec{Name: "cert", Version: "v2"}, false), arca.KindForbidden)
	_, err = e.a.Delete(e.ctx, e.v, "cert", false)
	wantKind(t, err, arca.KindForbidden)
	if _, err := e.a.Modify(e.ctx, e.v, "cert", "", true, up); err != nil {
		t.Fatal(err)
	}
}

func TestSoftDeleteRecoverPurge(t *testing.T) {
	e := newEnv(t)
	e.add(t, e.a, "d", "v1", "x")
	e.add(t, e.a, "d", "v2", "y")
	d, err := e.a.Delete(e.ctx, e.v, "D", false)
	if err != nil || d.DeletedDate != e.clock.Now().Unix() || d.ScheduledPurgeDate != e.clock.Now().Add(7*24*time.Hour).Unix() || d.Item.Value != "" {
		t.Fatalf("delete = %+v, %v", d, err)
	}
	_, err = e.a.Delete(e.ctx, e.v, "d", false)
	wantKind(t, err, arca.KindNotFound)
	_, err = e.a.Get(e.ctx, e.v, "d", "")
	wantKind(t, err, arca.KindNotFound)
	if ok, _ := e.a.Exists(e.ctx, e.v, "d"); !ok {
		t.Fatal("a deleted name is free")
	}
	wantKind(t, e.a.AddVersion(e.ctx, e.v, &rec{Name: "d", Version: "v3"}, false), arca.KindConflict)
	gd, err := e.a.GetDeleted(e.ctx, e.v, "d")
	if err != nil || gd.Deletion != d.Deletion {
		t.Fatalf("get deleted = %+v, %v", gd, err)
	}
	_, err = e.a.GetDeleted(e.ctx, e.v, "none")
	wantKind(t, err, arca.KindNotFound)
	ld, err := e.a.ListDeleted(e.ctx, e.v, 0, "")
	if err != nil || len(ld.Items) != 1 || ld.Items[0].Item.Name != "d" {
		t.Fatalf("list deleted = %+v, %v", ld, err)
	}

	r, err := e.a.Recover(e.ctx, e.v, "d")
	if err != nil || r.Version != "v2" {
		t.Fatalf("recover = %+v, %v", r, err)
	}
	_, err = e.a.Recover(e.ctx, e.v, "d")
	wantKind(t, err, arca.KindNotFound)
	if got, err := e.a.Get(e.ctx, e.v, "d", "v1"); err != nil || got.Value != "x" {
		t.Fatalf("recovered v1 = %+v, %v", got, err)
	}

	// Purge: refused with purge protection, then everything goes, side
	// records included.
	if _, err := e.a.Delete(e.ctx, e.v, "d", false); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Update(e.ctx, func(tx storage.Tx) error { return tx.Put("side/vault/d", []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	pp := *e.v
	pp.PurgeProtection = true
	wantKind(t, e.a.Purge(e.ctx, &pp, "d"), arca.KindForbidden)
	if err := e.a.Purge(e.ctx, e.v, "d"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, e.a.Purge(e.ctx, e.v, "d"), arca.KindNotFound)
	if left := e.dump(t); len(left) != 0 {
		t.Fatalf("purge left %v", left)
	}
	if !reflect.DeepEqual(e.sides, []string{"vault/d"}) {
		t.Fatalf("side records of %v", e.sides)
	}
}

func TestRestoreAndSeed(t *testing.T) {
	e := newEnv(t)
	vs := []rec{{Name: "r", Version: "v1", Value: "a"}, {Name: "r", Version: "v2", Value: "b"}}
	_, err := e.a.Restore(e.ctx, e.v, "r", "v9", vs)
	wantKind(t, err, arca.KindInvalid)
	got, err := e.a.Restore(e.ctx, e.v, "r", "V2", vs)
	if err != nil || got.Version != "v2" || got.Value != "" {
		t.Fatalf("restore = %+v, %v", got, err)
	}
	if got, err := e.a.Get(e.ctx, e.v, "r", "v1"); err != nil || got.Value != "a" {
		t.Fatalf("restored v1 = %+v, %v", got, err)
	}
	_, err = e.a.Restore(e.ctx, e.v, "r", "v2", vs)
	wantKind(t, err, arca.KindConflict)
	if err := e.a.Seed(e.ctx, e.v, []rec{{Name: "s1", Version: "v1"}, {Name: "s2", Version: "v1"}}); err != nil {
		t.Fatal(err)
	}
	if p, err := e.a.List(e.ctx, e.v, 0, ""); err != nil || len(p.Items) != 3 {
		t.Fatalf("after seed: %+v, %v", p, err)
	}
}

// TestTxStepsCompose: steps of two collections in one Update are kept or
// dropped together, and a failing step has written nothing.
func TestTxStepsCompose(t *testing.T) {
	e := newEnv(t)
	e.add(t, e.a, "x", "v1", "")
	e.add(t, e.b, "x", "v1", "")
	now := e.clock.Now()
	boom := errors.New("boom")
	err := objects.Wrap(e.cr.Update(e.ctx, func(tx storage.Tx) error {
		if _, err := e.a.DeleteTx(tx, e.v, "x", false, now); err != nil {
			return err
		}
		if _, err := e.b.DeleteTx(tx, e.v, "x", false, now); err != nil {
			return err
		}
		return boom
	}))
	if !errors.Is(err, boom) || arca.KindOf(err) != arca.KindInternal {
		t.Fatalf("update = %v", err)
	}
	for _, c := range []*coll{e.a, e.b} {
		if _, err := c.Get(e.ctx, e.v, "x", ""); err != nil {
			t.Fatalf("%s: rolled-back delete kept: %v", c.Prefix, err)
		}
	}
	before := e.dump(t)
	err = e.cr.Update(e.ctx, func(tx storage.Tx) error {
		_, err := e.a.RecoverTx(tx, e.v, "x") // not deleted: fails before writing
		wantKind(t, err, arca.KindNotFound)
		wantKind(t, e.a.PurgeTx(tx, e.v, "x"), arca.KindNotFound)
		_, err = e.a.RestoreTx(tx, e.v, "x", "v1", []rec{{Name: "x", Version: "v1"}})
		wantKind(t, err, arca.KindConflict)
		_, err = e.a.ModifyTx(tx, e.v, "gone", "", false, func(*rec) error { return nil })
		wantKind(t, err, arca.KindNotFound)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := e.dump(t); !reflect.DeepEqual(before, after) {
		t.Fatal("failed steps wrote")
	}
	// Both deleted in one transaction share their dates.
	if err := e.cr.Update(e.ctx, func(tx storage.Tx) error {
		if _, err := e.a.DeleteTx(tx, e.v, "x", false, now); err != nil {
			return err
		}
		_, err := e.b.DeleteTx(tx, e.v, "x", false, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	da, _ := e.a.GetDeleted(e.ctx, e.v, "x")
	db, _ := e.b.GetDeleted(e.ctx, e.v, "x")
	if da.Deletion != db.Deletion {
		t.Fatalf("dates differ: %+v %+v", da.Deletion, db.Deletion)
	}
}

// TestPurgeExpiredTogether: objects of one name deleted in the same second
// are purged in one transaction; a crash at any of its writes leaves them
// all or none; side records go with them.
func TestPurgeExpiredTogether(t *testing.T) {
	setup := func(t *testing.T) *env {
		e := newEnv(t)
		now := e.clock.Now()
		e.add(t, e.a, "n", "v1", "")
		e.add(t, e.b, "n", "v1", "")
		e.add(t, e.a, "other", "v1", "")
		if err := e.cr.Update(e.ctx, func(tx storage.Tx) error {
			for _, c := range []*coll{e.a, e.b} {
				if _, err := c.DeleteTx(tx, e.v, "n", false, now); err != nil {
					return err
				}
			}
			_, err := e.a.DeleteTx(tx, e.v, "other", false, now.Add(time.Hour))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(7 * 24 * time.Hour)
		e.cr.Reset(0)
		return e
	}
	sides := func(e *env) map[string]objects.SideRecords { return map[string]objects.SideRecords{"a": e.a.Side} }

	ref := setup(t)
	before := ref.dump(t)
	n, err := objects.PurgeExpired(ref.ctx, ref.cr, ref.clock.Now(), sides(ref))
	if err != nil || n != 2 {
		t.Fatalf("purged %d, %v; want the two objects of n", n, err)
	}
	if ref.cr.Updates() != 1 {
		t.Fatalf("%d transactions, want 1", ref.cr.Updates())
	}
	after := ref.dump(t)
	if _, ok := after["a/vault/d/other"]; !ok || len(after) != 3 {
		t.Fatalf("after purge: %v", keys(after))
	}
	if !reflect.DeepEqual(ref.sides, []string{"vault/n"}) {
		t.Fatalf("side records of %v", ref.sides)
	}
	for i := 1; i <= ref.cr.Writes(); i++ {
		e := setup(t)
		e.cr.Reset(i)
		if _, err := objects.PurgeExpired(e.ctx, e.cr, e.clock.Now(), sides(e)); err == nil {
			t.Fatalf("crash at write %d: no error", i)
		}
		if got := e.dump(t); !sameKeys(got, before) && !sameKeys(got, after) {
			t.Errorf("crash at write %d left %v", i, keys(got))
		}
	}
	e := setup(t)
	e.clock.Advance(time.Hour)
	if n, err := objects.PurgeExpired(e.ctx, e.cr, e.clock.Now(), nil); err != nil || n != 3 {
		t.Fatalf("purged %d, %v", n, err)
	}
	if left := e.dump(t); len(left) != 0 {
		t.Fatalf("left %v", keys(left))
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sameKeys(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// TestReplayedTransactions: every whole-operation method gives the same
// result when the backend runs its transaction function twice.
func TestReplayedTransactions(t *testing.T) {
	e := newEnv(t)
	e.cr.Replay = true
	e.add(t, e.a, "r", "v1", "x")
	if _, err := e.a.Modify(e.ctx, e.v, "r", "", false, func(r *rec) error { r.Value += "!"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.a.Get(e.ctx, e.v, "r", ""); got.Value != "x!" {
		t.Fatalf("modify replayed: %+v", got)
	}
	if _, err := e.a.Delete(e.ctx, e.v, "r", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Recover(e.ctx, e.v, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Delete(e.ctx, e.v, "r", false); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Purge(e.ctx, e.v, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Restore(e.ctx, e.v, "r", "v1", []rec{{Name: "r", Version: "v1"}}); err != nil {
		t.Fatal(err)
	}
}

func TestWrap(t *testing.T) {
	if objects.Wrap(nil) != nil {
		t.Fatal("nil wrapped")
	}
	nf := arca.Errorf(arca.KindNotFound, "X", "x")
	if objects.Wrap(nf) != error(nf) {
		t.Fatal("domain error changed")
	}
	wantKind(t, objects.Wrap(fmt.Errorf("x: %w", context.Canceled)), arca.KindUnavailable)
	disk := errors.New("disk")
	if err := objects.Wrap(disk); arca.KindOf(err) != arca.KindInternal || !errors.Is(err, disk) {
		t.Fatalf("storage error = %v", err)
	}
	e := newEnv(t)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := e.a.Get(ctx, e.v, "x", "")
	wantKind(t, err, arca.KindUnavailable)
	// A read failure is an internal error carrying its cause.
	e.cr.ReadErr = func(string) error { return disk }
	for _, err := range []error{
		func() error { _, err := e.a.Get(e.ctx, e.v, "x", ""); return err }(),
		func() error { _, err := e.a.Exists(e.ctx, e.v, "x"); return err }(),
		func() error { _, err := e.a.List(e.ctx, e.v, 0, ""); return err }(),
		func() error { _, err := e.a.Versions(e.ctx, e.v, "x", 0, ""); return err }(),
		func() error { _, err := e.a.ListDeleted(e.ctx, e.v, 0, ""); return err }(),
		e.a.AddVersion(e.ctx, e.v, &rec{Name: "x", Version: "v1"}, false),
		func() error { _, err := objects.PurgeExpired(e.ctx, e.cr, e.clock.Now(), nil); return err }(),
	} {
		if arca.KindOf(err) != arca.KindInternal || !errors.Is(err, disk) {
			t.Errorf("with failing reads: %v", err)
		}
	}
}

func TestCheckTagsAndNewVersion(t *testing.T) {
	many := map[string]string{}
	for i := 0; i <= objects.MaxTags; i++ {
		many[fmt.Sprint(i)] = ""
	}
	for name, tags := range map[string]map[string]string{
		"too many":   many,
		"empty name": {"": "x"},
		"long name":  {strings.Repeat("n", objects.MaxTagNameLen+1): ""},
		"long value": {"k": strings.Repeat("v", objects.MaxTagValueLen+1)},
	} {
		wantKind(t, objects.CheckTags(tags), arca.KindInvalid)
		_ = name
	}
	if err := objects.CheckTags(map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	v1, err := objects.NewVersion(now, rand.Reader)
	if err != nil || len(v1) != 32 || !arca.ValidVersion(v1) {
		t.Fatalf("version %q, %v", v1, err)
	}
	v2, _ := objects.NewVersion(now.Add(time.Millisecond), rand.Reader)
	if v2 <= v1 {
		t.Fatalf("versions do not grow with time: %s then %s", v1, v2)
	}
	_, err = objects.NewVersion(now, bytes.NewReader(nil))
	wantKind(t, err, arca.KindInternal)
}

// TestServicesDoNotImportEachOther: the services built on objects meet
// only through interfaces they declare (and the root package).
func TestServicesDoNotImportEachOther(t *testing.T) {
	services := []string{"secrets", "keys", "certificates", "vaults"}
	for _, s := range services {
		p, err := build.ImportDir("../"+s, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			for _, other := range services {
				if imp == "github.com/arcakv/arca/"+other {
					t.Errorf("%s imports %s", s, other)
				}
			}
		}
	}
}
