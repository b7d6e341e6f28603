package bolt_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage"
)

func BenchmarkBarrierGet(b *testing.B) {
	ctx := context.Background()
	db := open(&testing.T{}, filepath.Join(b.TempDir(), "arca.db"))
	defer db.Close()
	bar, err := barrier.Open(ctx, db, make([]byte, 32), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	_ = bar.Update(ctx, func(tx storage.Tx) error {
		for i := 0; i < 10000; i++ {
			if err := tx.Put(fmt.Sprintf("k/%05d", i), make([]byte, 300)); err != nil {
				return err
			}
		}
		return nil
	})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		err := bar.View(ctx, func(r storage.Reader) error { _, err := r.Get(fmt.Sprintf("k/%05d", i%10000)); return err })
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDurablePut(b *testing.B) {
	ctx := context.Background()
	db := open(&testing.T{}, filepath.Join(b.TempDir(), "arca.db"))
	defer db.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if err := db.Update(ctx, func(tx storage.Tx) error { return tx.Put(fmt.Sprintf("p/%p/%d", pb, i), make([]byte, 300)) }); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
