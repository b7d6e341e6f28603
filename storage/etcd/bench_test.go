package etcd_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/etcd/etcdtest"
)

// BenchmarkView: a View of two Gets, as a secret read does (head, then
// version), against a one-member cluster on loopback.
func BenchmarkView(b *testing.B) {
	cluster := etcdtest.Start(b, etcdtest.Options{Args: recommended})
	be := openB(b, cluster)
	ctx := context.Background()
	if err := be.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put("h/x", []byte("v1")); err != nil {
			return err
		}
		return tx.Put("v/x/v1", make([]byte, 300))
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := be.View(ctx, func(r storage.Reader) error {
				h, err := r.Get("h/x")
				if err != nil {
					return err
				}
				_, err = r.Get("v/x/" + string(h))
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpdate: concurrent Updates of distinct keys, each reading the
// key first (missing) and writing 300 bytes: a secret's first version.
func BenchmarkUpdate(b *testing.B) {
	cluster := etcdtest.Start(b, etcdtest.Options{Args: recommended})
	be := openB(b, cluster)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := fmt.Sprintf("k/%d", n.Add(1))
			if err := be.Update(ctx, func(tx storage.Tx) error {
				if _, err := tx.Get(k); err == nil {
					return fmt.Errorf("%s exists", k)
				}
				return tx.Put(k, make([]byte, 300))
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
