package vaults_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/keyspace"
	"github.com/arcakv/arca/objects"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
	"github.com/arcakv/arca/vaults"
)

var t0 = time.Unix(1_800_000_000, 0).UTC()

var dataPrefixes = []string{"s/", "k/", "kp/", "c/", "cp/", "co/", "cn/", "ci/"}

// dataPurge stands for the other services' purges (keyspace.Registry in
// the wiring): the data-plane prefixes and the purge schedule.
func dataPurge(tx storage.Tx, vault string) error {
	if err := keyspace.UnderVault(dataPrefixes, "cc/")(tx, vault); err != nil {
		return err
	}
	return objects.Keyspace().Purge(tx, vault)
}

// newEmpty returns a Service with no vault, its store and its clock.
func newEmpty(t *testing.T) (*vaults.Service, storage.Backend, *arca.ManualClock) {
	t.Helper()
	store := memory.New()
	clock := arca.NewManualClock(t0)
	return vaults.New(store, clock, dataPurge), store, clock
}

func mustCreate(t *testing.T, s *vaults.Service, v *arca.Vault) {
	t.Helper()
	if err := s.CreateVault(context.Background(), v); err != nil {
		t.Fatalf("create %s: %v", v.Name, err)
	}
}

// wantErr checks err's kind and Azure code.
func wantErr(t *testing.T, what string, err error, kind arca.Kind, code string) {
	t.Helper()
	var e *arca.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Code != code {
		t.Errorf("%s: %v, want kind %v code %s", what, err, kind, code)
	}
}

// put writes raw records, as the data plane would.
func put(t *testing.T, store storage.Backend, keys ...string) {
	t.Helper()
	if err := store.Update(context.Background(), func(tx storage.Tx) error {
		for _, k := range keys {
			if err := tx.Put(k, []byte(`{}`)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// present returns which of keys the store holds.
func present(t *testing.T, store storage.Backend, keys ...string) []string {
	t.Helper()
	var out []string
	if err := store.View(context.Background(), func(r storage.Reader) error {
		for _, k := range keys {
			if _, err := r.Get(k); err == nil {
				out = append(out, k)
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// dataKeys are data-plane records of vault name: one under each data
// prefix, its contacts record and a purge-schedule entry.
func dataKeys(name string) []string {
	var out []string
	for _, p := range dataPrefixes {
		out = append(out, p+name+"/obj1")
	}
	return append(out, "cc/"+name, "pd/1800000000/s/"+name+"/obj1")
}

// TestCreateVault: CreateVault applies Azure's defaults (90 days'
// retention, standard SKU, the creation time), refuses names outside
// Azure's rules (VaultNameNotValid) and a retention outside 7-90 days, and
// holds names globally and case-insensitively: a live vault's name is
// VaultAlreadyExists, a soft-deleted one's ConflictError.
func TestCreateVault(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newEmpty(t)
	g := s.Generation()
	v := &arca.Vault{Name: "MyVault", TenantID: "t"}
	mustCreate(t, s, v)
	if v.RetentionDays != 90 || v.SKU != "standard" || !v.Created.Equal(t0) {
		t.Errorf("defaults: %+v", v)
	}
	if s.Generation() == g {
		t.Error("generation unchanged by a create")
	}
	got, err := s.Vault(ctx, "MYVAULT")
	if err != nil || got.Name != "MyVault" || got.RetentionDays != 90 || got.SKU != "standard" || !got.Created.Equal(t0) {
		t.Fatalf("read back %+v %v", got, err)
	}
	kept := &arca.Vault{Name: "premium1", SKU: "premium", RetentionDays: 7, Created: t0.Add(-time.Hour)}
	mustCreate(t, s, kept)
	if kept.SKU != "premium" || kept.RetentionDays != 7 || !kept.Created.Equal(t0.Add(-time.Hour)) {
		t.Errorf("given values not kept: %+v", kept)
	}

	for _, name := range []string{"", "ab", "1vault", "vault-", "va--ult", "va_ult", "vault.1", strings.Repeat("v", 25)} {
		wantErr(t, "name "+name, s.CreateVault(ctx, &arca.Vault{Name: name}), arca.KindInvalid, "VaultNameNotValid")
	}
	for _, ok := range []string{"abc", "a-b-c", strings.Repeat("v", 24), "A1b"} {
		mustCreate(t, s, &arca.Vault{Name: ok})
	}
	for _, days := range []int{-1, 6, 91} {
		wantErr(t, "retention", s.CreateVault(ctx, &arca.Vault{Name: "retention", RetentionDays: days}), arca.KindInvalid, "BadRequest")
	}
	wantErr(t, "duplicate", s.CreateVault(ctx, &arca.Vault{Name: "myvault"}), arca.KindConflict, "VaultAlreadyExists")
	if got, _ := s.Vault(ctx, "myvault"); got.TenantID != "t" {
		t.Errorf("overwritten: %+v", got)
	}

	if err := s.DeleteVault(ctx, "myvault"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "soft-deleted name", s.CreateVault(ctx, &arca.Vault{Name: "MyVault"}), arca.KindConflict, "ConflictError")
	wantErr(t, "lookup", func() error { _, err := s.Vault(ctx, "myvault"); return err }(), arca.KindNotFound, "VaultNotFound")
}

// TestListVaults: every live vault, none of the deleted ones.
func TestListVaults(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newEmpty(t)
	if vs, err := s.ListVaults(ctx); err != nil || len(vs) != 0 {
		t.Fatalf("empty: %v %v", vs, err)
	}
	for _, n := range []string{"charlie", "alpha", "bravo"} {
		mustCreate(t, s, &arca.Vault{Name: n, Tags: map[string]string{"n": n}})
	}
	if err := s.DeleteVault(ctx, "bravo"); err != nil {
		t.Fatal(err)
	}
	vs, err := s.ListVaults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range vs {
		names = append(names, v.Name)
		if v.Tags["n"] != v.Name {
			t.Errorf("decoded %+v", v)
		}
	}
	if !reflect.DeepEqual(names, []string{"alpha", "charlie"}) {
		t.Errorf("listed %v", names)
	}
}

// TestDeleteVaultSoft: with soft delete (the default) a deleted vault is
// kept with its deletion date and a scheduled purge date retention days
// later, its data stays until the purge, and it is no longer a vault.
func TestDeleteVaultSoft(t *testing.T) {
	ctx := context.Background()
	s, store, _ := newEmpty(t)
	mustCreate(t, s, &arca.Vault{Name: "soft1", RetentionDays: 14, Tags: map[string]string{"a": "b"},
		AccessPolicies: []arca.AccessPolicy{{TenantID: "t", ObjectID: "o"}}})
	put(t, store, dataKeys("soft1")...)
	if _, err := s.Vault(ctx, "soft1"); err != nil { // cached
		t.Fatal(err)
	}
	if err := s.DeleteVault(ctx, "SOFT1"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "deleted vault", func() error { _, err := s.Vault(ctx, "soft1"); return err }(), arca.KindNotFound, "VaultNotFound")
	d, err := s.DeletedVault(ctx, "Soft1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Vault.Name != "soft1" || d.Vault.Tags["a"] != "b" || len(d.Vault.AccessPolicies) != 1 || !d.DeletionDate.Equal(t0) ||
		!d.ScheduledPurgeDate.Equal(t0.Add(14*24*time.Hour)) {
		t.Errorf("deleted: %+v", d)
	}
	if got := present(t, store, dataKeys("soft1")...); len(got) != len(dataKeys("soft1")) {
		t.Errorf("data removed by a soft delete: %v", got)
	}
	ds, err := s.ListDeletedVaults(ctx)
	if err != nil || len(ds) != 1 || ds[0].Vault.Name != "soft1" {
		t.Errorf("deleted list: %v %v", ds, err)
	}
	wantErr(t, "delete again", s.DeleteVault(ctx, "soft1"), arca.KindNotFound, "VaultNotFound")
	wantErr(t, "deleted lookup", func() error { _, err := s.DeletedVault(ctx, "nope"); return err }(), arca.KindNotFound, "DeletedVaultNotFound")
}

// TestDeleteVaultWithoutSoftDelete: a vault with soft delete disabled is
// purged at once: no deleted vault, its data-plane records and purge
// schedule gone, another vault's (even one whose name it prefixes) kept.
func TestDeleteVaultWithoutSoftDelete(t *testing.T) {
	ctx := context.Background()
	s, store, _ := newEmpty(t)
	off := false
	mustCreate(t, s, &arca.Vault{Name: "hard", EnableSoftDelete: &off})
	mustCreate(t, s, &arca.Vault{Name: "hardly"})
	put(t, store, dataKeys("hard")...)
	put(t, store, dataKeys("hardly")...)
	if err := s.DeleteVault(ctx, "hard"); err != nil {
		t.Fatal(err)
	}
	if got := present(t, store, dataKeys("hard")...); len(got) != 0 {
		t.Errorf("data left: %v", got)
	}
	if got := present(t, store, dataKeys("hardly")...); len(got) != len(dataKeys("hardly")) {
		t.Errorf("the other vault's data: %v", got)
	}
	if _, err := s.DeletedVault(ctx, "hard"); arca.KindOf(err) != arca.KindNotFound {
		t.Errorf("deleted vault kept: %v", err)
	}
	mustCreate(t, s, &arca.Vault{Name: "hard"}) // the name is free again
}

// TestPurgeDeletedVault: purging removes the deleted vault and its data; a
// purge-protected vault is refused (409 ConflictError naming the purge
// date) until its scheduled purge date; purging what is not deleted is
// DeletedVaultNotFound.
func TestPurgeDeletedVault(t *testing.T) {
	ctx := context.Background()
	s, store, clock := newEmpty(t)
	mustCreate(t, s, &arca.Vault{Name: "plain", RetentionDays: 7})
	mustCreate(t, s, &arca.Vault{Name: "guarded", RetentionDays: 7, PurgeProtection: true})
	put(t, store, dataKeys("plain")...)
	put(t, store, dataKeys("guarded")...)
	for _, n := range []string{"plain", "guarded"} {
		if err := s.DeleteVault(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "live vault", s.PurgeDeletedVault(ctx, "nope"), arca.KindNotFound, "DeletedVaultNotFound")
	if err := s.PurgeDeletedVault(ctx, "PLAIN"); err != nil {
		t.Fatal(err)
	}
	if got := present(t, store, dataKeys("plain")...); len(got) != 0 {
		t.Errorf("data left: %v", got)
	}
	wantErr(t, "purge again", s.PurgeDeletedVault(ctx, "plain"), arca.KindNotFound, "DeletedVaultNotFound")

	err := s.PurgeDeletedVault(ctx, "guarded")
	wantErr(t, "protected", err, arca.KindConflict, "ConflictError")
	if err != nil && !strings.Contains(err.Error(), t0.Add(7*24*time.Hour).Format(time.RFC3339)) {
		t.Errorf("message lacks the purge date: %v", err)
	}
	if got := present(t, store, dataKeys("guarded")...); len(got) != len(dataKeys("guarded")) {
		t.Errorf("refused purge removed data: %v", got)
	}
	clock.Advance(7 * 24 * time.Hour)
	if err := s.PurgeDeletedVault(ctx, "guarded"); err != nil {
		t.Fatalf("at the scheduled date: %v", err)
	}
	if ds, _ := s.ListDeletedVaults(ctx); len(ds) != 0 {
		t.Errorf("left: %v", ds)
	}
}

// TestRecoverDeletedVault: recovery brings the vault back as it was, with
// its data, and frees the deleted entry; recovering what is not deleted is
// DeletedVaultNotFound; a name cannot be recovered twice.
func TestRecoverDeletedVault(t *testing.T) {
	ctx := context.Background()
	s, store, _ := newEmpty(t)
	orig := &arca.Vault{Name: "back", TenantID: "t", RetentionDays: 30, SKU: "premium", PurgeProtection: true,
		Tags: map[string]string{"x": "y"}, AccessPolicies: []arca.AccessPolicy{{TenantID: "t", ObjectID: "o"}}}
	mustCreate(t, s, orig)
	put(t, store, dataKeys("back")...)
	if err := s.DeleteVault(ctx, "back"); err != nil {
		t.Fatal(err)
	}
	g := s.Generation()
	v, err := s.RecoverDeletedVault(ctx, "BACK")
	if err != nil {
		t.Fatal(err)
	}
	if s.Generation() == g {
		t.Error("generation unchanged by a recovery")
	}
	got, err := s.Vault(ctx, "back")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []*arca.Vault{v, got} {
		if x.Name != "back" || x.RetentionDays != 30 || x.SKU != "premium" || !x.PurgeProtection || x.Tags["x"] != "y" ||
			len(x.AccessPolicies) != 1 || !x.Created.Equal(t0) {
			t.Errorf("recovered %+v", x)
		}
	}
	if got := present(t, store, dataKeys("back")...); len(got) != len(dataKeys("back")) {
		t.Errorf("data: %v", got)
	}
	if _, err := s.DeletedVault(ctx, "back"); arca.KindOf(err) != arca.KindNotFound {
		t.Errorf("still deleted: %v", err)
	}
	_, err = s.RecoverDeletedVault(ctx, "back")
	wantErr(t, "recover again", err, arca.KindNotFound, "DeletedVaultNotFound")
}

// TestPurgeExpired: the scheduler purges the deleted vaults whose
// scheduled purge date has come (purge protected or not), and only those.
func TestPurgeExpired(t *testing.T) {
	ctx := context.Background()
	s, store, clock := newEmpty(t)
	mustCreate(t, s, &arca.Vault{Name: "week", RetentionDays: 7, PurgeProtection: true})
	mustCreate(t, s, &arca.Vault{Name: "month", RetentionDays: 30})
	mustCreate(t, s, &arca.Vault{Name: "alive", RetentionDays: 7})
	put(t, store, dataKeys("week")...)
	for _, n := range []string{"week", "month"} {
		if err := s.DeleteVault(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.PurgeExpired(ctx); n != 0 || err != nil {
		t.Fatalf("nothing due: %d %v", n, err)
	}
	clock.Advance(7 * 24 * time.Hour)
	if n, err := s.PurgeExpired(ctx); n != 1 || err != nil {
		t.Fatalf("a week later: %d %v", n, err)
	}
	if got := present(t, store, dataKeys("week")...); len(got) != 0 {
		t.Errorf("data left: %v", got)
	}
	ds, _ := s.ListDeletedVaults(ctx)
	if len(ds) != 1 || ds[0].Vault.Name != "month" {
		t.Errorf("left: %v", ds)
	}
	clock.Advance(30 * 24 * time.Hour)
	if n, err := s.PurgeExpired(ctx); n != 1 || err != nil {
		t.Fatalf("a month later: %d %v", n, err)
	}
	if _, err := s.Vault(ctx, "alive"); err != nil {
		t.Errorf("live vault: %v", err)
	}
}

// failStore fails every View and Update with err (after the first `allow`
// Updates, so a test can set up state first).
type failStore struct {
	storage.Backend
	err   error
	allow int
}

func (f *failStore) View(ctx context.Context, fn func(storage.Reader) error) error { return f.err }

func (f *failStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if f.allow > 0 {
		f.allow--
		return f.Backend.Update(ctx, fn)
	}
	return f.err
}

// TestStorageFailures: a storage failure is KindInternal from every
// method, never mistaken for a missing vault.
func TestStorageFailures(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("disk on fire")
	s := vaults.New(&failStore{Backend: memory.New(), err: boom}, arca.NewManualClock(t0), nil)
	errs := map[string]error{
		"CreateVault": s.CreateVault(ctx, &arca.Vault{Name: "abc"}),
		"DeleteVault": s.DeleteVault(ctx, "abc"),
		"Purge":       s.PurgeDeletedVault(ctx, "abc"),
		"UpdateVault": s.UpdateVault(ctx, &arca.Vault{Name: "abc", RetentionDays: 90}),
	}
	_, errs["Vault"] = s.Vault(ctx, "abc")
	_, errs["ListVaults"] = s.ListVaults(ctx)
	_, errs["ListDeletedVaults"] = s.ListDeletedVaults(ctx)
	_, errs["DeletedVault"] = s.DeletedVault(ctx, "abc")
	_, errs["Recover"] = s.RecoverDeletedVault(ctx, "abc")
	_, errs["PurgeExpired"] = s.PurgeExpired(ctx)
	_, errs["Update"] = s.Update(ctx, "abc", func(*arca.Vault) error { return nil })
	for name, err := range errs {
		if arca.KindOf(err) != arca.KindInternal {
			t.Errorf("%s: %v, want KindInternal", name, err)
		}
	}
}

// TestCorruptRecords: a record that does not decode is an internal error,
// for the lists as for single reads.
func TestCorruptRecords(t *testing.T) {
	ctx := context.Background()
	s, store, _ := newEmpty(t)
	mustCreate(t, s, &arca.Vault{Name: "fine"})
	if err := store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put("vault/broken", []byte("{not json")); err != nil {
			return err
		}
		return tx.Put("vaultdel/broken", []byte("[]"))
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListVaults(ctx); arca.KindOf(err) != arca.KindInternal {
		t.Errorf("ListVaults: %v", err)
	}
	if _, err := s.ListDeletedVaults(ctx); arca.KindOf(err) != arca.KindInternal {
		t.Errorf("ListDeletedVaults: %v", err)
	}
	if _, err := s.Vault(ctx, "broken"); arca.KindOf(err) != arca.KindInternal {
		t.Errorf("Vault: %v", err)
	}
	if _, err := s.DeletedVault(ctx, "broken"); arca.KindOf(err) != arca.KindInternal {
		t.Errorf("DeletedVault: %v", err)
	}
	if err := s.DeleteVault(ctx, "broken"); arca.KindOf(err) != arca.KindInternal {
		t.Errorf("DeleteVault: %v", err)
	}
	if err := s.PurgeDeletedVault(ctx, "broken"); arca.KindOf(err) != arca.KindInternal {
		t.Errorf("PurgeDeletedVault: %v", err)
	}
	if _, err := s.RecoverDeletedVault(ctx, "broken"); arca.KindOf(err) != arca.KindInternal {
		t.Errorf("RecoverDeletedVault: %v", err)
	}
	if _, err := s.Update(ctx, "broken", func(*arca.Vault) error { return nil }); arca.KindOf(err) != arca.KindInternal {
		t.Errorf("Update: %v", err)
	}
	if _, err := s.Vault(ctx, "fine"); err != nil {
		t.Errorf("the sound vault: %v", err)
	}
}
