package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
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

// TestGroupCommitIsolatesFailures: many concurrent writers share commits;
// one whose function fails (or panics) gets its own error and leaves no
// trace, and every other writer's data is committed.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	b := open(t, filepath.Join(t.TempDir(), "arca.db"))
	defer b.Close()
	ctx := context.Background()
	boom := errors.New("boom")
	const writers = 64
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			errs <- b.Update(ctx, func(tx storage.Tx) error {
				if err := tx.Put(fmt.Sprintf("k/%02d", i), []byte("v")); err != nil {
					return err
				}
				switch i % 16 {
				case 3:
					return boom
				case 7:
					panic("bad writer")
				}
				return nil
			})
		}()
	}
	var failed, panicked int
	for range writers {
		switch err := <-errs; {
		case errors.Is(err, boom):
			failed++
		case err != nil && strings.Contains(err.Error(), "bad writer"):
			panicked++
		case err != nil:
			t.Fatal(err)
		}
	}
	if failed != writers/16 || panicked != writers/16 {
		t.Fatalf("failed %d, panicked %d", failed, panicked)
	}
	n := 0
	if err := b.View(ctx, func(r storage.Reader) error {
		return r.Scan("k/", "", func(k string, _ []byte) bool {
			var i int
			fmt.Sscanf(k, "k/%d", &i)
			if i%16 == 3 || i%16 == 7 {
				t.Errorf("%s of a failed writer was committed", k)
			}
			n++
			return true
		})
	}); err != nil {
		t.Fatal(err)
	}
	if n != writers-2*writers/16 {
		t.Fatalf("%d keys committed", n)
	}
	// After Close, writers get storage.ErrClosed; Close may be repeated.
	b.Close()
	if err := b.Update(ctx, func(tx storage.Tx) error { return tx.Put("x", nil) }); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("update after close: %v", err)
	}
}

// TestRevisionAcrossReopen: the revision is stored with the data, so it
// keeps growing after a restart; the events of the previous run are gone,
// so a watch from before the Open gets ErrCompacted.
func TestRevisionAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "arca.db")
	b := open(t, path)
	for _, k := range []string{"a", "b", "c"} {
		if err := b.Update(ctx, func(tx storage.Tx) error { return tx.Put(k, []byte("v")) }); err != nil {
			t.Fatal(err)
		}
	}
	rev, err := b.Revision(ctx)
	if err != nil || rev != 3 {
		t.Fatalf("revision %d %v, want 3", rev, err)
	}
	b.Close()
	b = open(t, path)
	defer b.Close()
	if got, _ := b.Revision(ctx); got != rev {
		t.Fatalf("revision after reopen %d, want %d", got, rev)
	}
	if err := b.Watch(ctx, "", rev-1, func(storage.Event) error { return nil }); !errors.Is(err, storage.ErrCompacted) {
		t.Fatalf("watch from before the Open: %v, want ErrCompacted", err)
	}
	if err := b.Update(ctx, func(tx storage.Tx) error { return tx.Delete("a") }); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	var got storage.Event
	if err := b.Watch(ctx, "", rev, func(e storage.Event) error { got = e; return stop }); !errors.Is(err, stop) {
		t.Fatal(err)
	}
	if got != (storage.Event{Key: "a", Revision: rev + 1, Deleted: true}) {
		t.Fatalf("event %+v", got)
	}
}

// TestRevisionPerUpdateInBatch: group commit puts concurrent Updates into
// one bbolt transaction, yet each one takes a revision of its own, and
// here they are consecutive.
func TestRevisionPerUpdateInBatch(t *testing.T) {
	b := open(t, filepath.Join(t.TempDir(), "arca.db"))
	defer b.Close()
	ctx := context.Background()
	const writers = 64
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			errs <- b.Update(ctx, func(tx storage.Tx) error { return tx.Put(fmt.Sprintf("k/%02d", i), []byte("v")) })
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if rev, _ := b.Revision(ctx); rev != writers {
		t.Fatalf("revision %d after %d updates", rev, writers)
	}
	seen := map[int64]bool{}
	stop := errors.New("stop")
	err := b.Watch(ctx, "k/", 0, func(e storage.Event) error {
		if seen[e.Revision] || e.Revision != int64(len(seen)+1) {
			return fmt.Errorf("event %+v after %d revisions", e, len(seen))
		}
		seen[e.Revision] = true
		if len(seen) == writers {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatal(err)
	}
}
