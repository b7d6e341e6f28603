package deployment

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/etcd"
)

// TestBoltSharedFacts: on bolt the store holds the shared facts too. A data
// directory from before it did (facts and credentials in files only) is
// migrated on open, keeping its identities and credentials; its own port
// and DNS suffix stay in its file.
func TestBoltSharedFacts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o := Options{Clock: arca.NewManualClock(time.Unix(1_800_000_000, 0)), DefaultVault: "arca", DNSSuffix: "vault.example.test", Port: 9443}
	a, err := Open(ctx, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	first := a.Facts
	creds := readCreds(t, dir)
	stored := storedFacts(t, a)
	if want := shared(first, *creds); stored != want {
		t.Fatalf("stored facts %+v, want %+v", stored, want)
	}
	// Make it a directory of before: no facts in the store.
	if err := a.Store.Update(ctx, func(tx storage.Tx) error { return tx.Delete(factsKey) }); err != nil {
		t.Fatal(err)
	}
	a.Close()
	sealed, _ := os.ReadFile(filepath.Join(dir, CredentialsFile))

	a, err = Open(ctx, dir, Options{Clock: o.Clock})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Facts != first {
		t.Fatalf("facts after migration %+v, want %+v", a.Facts, first)
	}
	if got := storedFacts(t, a); got != shared(first, *creds) {
		t.Fatalf("migrated facts %+v", got)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, CredentialsFile)); !bytes.Equal(again, sealed) {
		t.Fatal("credentials.sealed rewritten although unchanged")
	}
	if dev, _ := a.Directory.ServicePrincipals(ctx); len(dev) != 2 {
		t.Fatalf("principals after migration: %d, want the development principal and the managed identity", len(dev))
	}
}

func storedFacts(t *testing.T, a *App) sharedFacts {
	t.Helper()
	var s sharedFacts
	if err := a.Store.View(context.Background(), func(r storage.Reader) error {
		b, err := r.Get(factsKey)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &s)
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBoltIgnoresForeignFiles: a bolt store opened in a directory whose
// files describe another deployment (no arca.db, say an etcd node's
// directory) does not adopt their identities: it initialises its own and
// rewrites the files.
func TestBoltIgnoresForeignFiles(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	a, err := Open(ctx, src, Options{Clock: arca.SystemClock{}})
	if err != nil {
		t.Fatal(err)
	}
	theirs := a.Facts
	a.Close()
	dir := t.TempDir()
	for _, f := range []string{RootKeyFile, FactsFile, CredentialsFile} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Open(ctx, dir, Options{Clock: arca.SystemClock{}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Facts.TenantID == theirs.TenantID || b.Facts.DevClientID == theirs.DevClientID {
		t.Fatalf("adopted another deployment's facts: %+v", b.Facts)
	}
	if _, err := b.Directory.ServicePrincipal(ctx, b.Facts.DevClientID); err != nil {
		t.Fatalf("the development principal is not in the store: %v", err)
	}
	if onDisk, err := ReadFacts(dir); err != nil || onDisk != b.Facts {
		t.Fatalf("%s: %+v, %v", FactsFile, onDisk, err)
	}
}

// TestEtcdRefusesABoltDirectory: an etcd node does not take over a bolt
// data directory (it would overwrite its files); nothing is contacted or
// written.
func TestEtcdRefusesABoltDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := Open(ctx, dir, Options{Clock: arca.SystemClock{}})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	facts, _ := os.ReadFile(filepath.Join(dir, FactsFile))
	o := Options{Clock: arca.SystemClock{}, Storage: StorageEtcd, Etcd: etcd.Config{Endpoints: []string{"http://127.0.0.1:1"}}}
	for name, f := range map[string]func(context.Context, string, Options) (*App, error){"open": Open, "init": Init} {
		if _, err := f(ctx, dir, o); err == nil || !strings.Contains(err.Error(), "bolt store") {
			t.Fatalf("%s on a bolt directory: %v", name, err)
		}
	}
	if again, _ := os.ReadFile(filepath.Join(dir, FactsFile)); !bytes.Equal(facts, again) {
		t.Fatal("the refusal rewrote the facts")
	}
}
