package memory_test

import (
	"context"
	"testing"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
	"github.com/arcakv/arca/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend { return memory.New() })
}

// TestConformanceRetryEveryUpdate: the backend passes the suite while
// running every Update's function twice.
func TestConformanceRetryEveryUpdate(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		return memory.NewWithOptions(memory.Options{RetryEveryUpdate: true})
	})
}

// TestRetryEveryUpdate: fn runs twice and only the second run is kept,
// whatever the first returned.
func TestRetryEveryUpdate(t *testing.T) {
	ctx := context.Background()
	b := memory.NewWithOptions(memory.Options{RetryEveryUpdate: true})
	calls := 0
	if err := b.Update(ctx, func(tx storage.Tx) error {
		calls++
		if calls == 1 {
			_ = tx.Put("first", []byte("x"))
			return context.Canceled // an error of the discarded run does not count
		}
		return tx.Put("second", []byte("x"))
	}); err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("fn ran %d times, want 2", calls)
	}
	if err := b.View(ctx, func(r storage.Reader) error {
		if _, err := r.Get("first"); err != storage.ErrNotFound {
			t.Errorf("the first run's write: %v, want ErrNotFound", err)
		}
		_, err := r.Get("second")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if rev, _ := b.Revision(ctx); rev != 1 {
		t.Fatalf("revision %d after one Update run twice, want 1", rev)
	}
}
