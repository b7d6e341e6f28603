package bolt_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/bolt"
	"github.com/arcakv/arca/storage/storagetest"
)

func open(t *testing.T, path string) *bolt.Backend {
	t.Helper()
	b, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		b := open(t, filepath.Join(t.TempDir(), "arca.db"))
		t.Cleanup(func() { b.Close() })
		return b
	})
}

func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arca.db")
	b := open(t, path)
	ctx := context.Background()
	if err := b.Update(ctx, func(tx storage.Tx) error { return tx.Put("k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = open(t, path)
	defer b.Close()
	err := b.View(ctx, func(r storage.Reader) error {
		v, err := r.Get("k")
		if err == nil && string(v) != "v" {
			err = errors.New("wrong value " + string(v))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
