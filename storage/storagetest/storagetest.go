// Package storagetest is the executable contract of storage.Backend and of
// its optional capabilities. Every backend, the in-memory fake included,
// runs Run from its tests. The cases of a capability run only on a backend
// that has it (its method does not report errors.ErrUnsupported); the others
// are skipped.
//
// The suite waits for events and leaderships on channels, each wait bounded
// by a deadline so that a broken backend fails instead of hanging; it never
// sleeps to let something happen.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/arcakv/arca/storage"
)

// Run exercises the storage.Backend contract, and those of the capabilities
// the backends have, on fresh backends made by newBackend. newBackend may
// register a Close with t.Cleanup: the suite closes some backends itself,
// and Close may be called twice.
func Run(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	runKV(t, newBackend)
	runClosed(t, newBackend)
	runRevision(t, newBackend)
	runWatch(t, newBackend)
	runElection(t, newBackend)
}

func runKV(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	ctx := context.Background()
	put := func(t *testing.T, b storage.Backend, kv ...string) {
		t.Helper()
		if err := b.Update(ctx, func(tx storage.Tx) error {
			for i := 0; i < len(kv); i += 2 {
				if err := tx.Put(kv[i], []byte(kv[i+1])); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(t *testing.T, b storage.Backend, key string) (string, error) {
		t.Helper()
		var out []byte
		err := b.View(ctx, func(r storage.Reader) error {
			v, err := r.Get(key)
			out = v
			return err
		})
		return string(out), err
	}
	scan := func(t *testing.T, b storage.Backend, prefix, after string, limit int) []string {
		t.Helper()
		var keys []string
		if err := b.View(ctx, func(r storage.Reader) error {
			return r.Scan(prefix, after, func(k string, v []byte) bool {
				keys = append(keys, k+"="+string(v))
				return limit <= 0 || len(keys) < limit
			})
		}); err != nil {
			t.Fatal(err)
		}
		return keys
	}

	t.Run("GetMissing", func(t *testing.T) {
		b := newBackend(t)
		if _, err := get(t, b, "nope"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("PutGetOverwriteDelete", func(t *testing.T) {
		b := newBackend(t)
		put(t, b, "a", "1")
		if v, err := get(t, b, "a"); err != nil || v != "1" {
			t.Fatalf("got %q %v", v, err)
		}
		put(t, b, "a", "2")
		if v, _ := get(t, b, "a"); v != "2" {
			t.Fatalf("overwrite: got %q", v)
		}
		if err := b.Update(ctx, func(tx storage.Tx) error { return tx.Delete("a") }); err != nil {
			t.Fatal(err)
		}
		if _, err := get(t, b, "a"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if err := b.Update(ctx, func(tx storage.Tx) error { return tx.Delete("missing") }); err != nil {
			t.Fatalf("delete missing: %v", err)
		}
	})
	t.Run("ReturnedValueIsCopy", func(t *testing.T) {
		b := newBackend(t)
		put(t, b, "k", "abc")
		var v []byte
		_ = b.View(ctx, func(r storage.Reader) error { v, _ = r.Get("k"); return nil })
		v[0] = 'X'
		if got, _ := get(t, b, "k"); got != "abc" {
			t.Fatalf("store changed through returned slice: %q", got)
		}
	})
	t.Run("ScanOrderPrefixAfter", func(t *testing.T) {
		b := newBackend(t)
		put(t, b, "p/b", "2", "p/a", "1", "p/c", "3", "q/a", "x", "o", "y", "p", "z")
		if got, want := fmt.Sprint(scan(t, b, "p/", "", 0)), "[p/a=1 p/b=2 p/c=3]"; got != want {
			t.Fatalf("scan = %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(scan(t, b, "p/", "p/a", 0)), "[p/b=2 p/c=3]"; got != want {
			t.Fatalf("scan after = %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(scan(t, b, "p/", "p/aa", 0)), "[p/b=2 p/c=3]"; got != want {
			t.Fatalf("scan after non-key = %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(scan(t, b, "p/", "p/c", 0)), "[]"; got != want {
			t.Fatalf("scan after last = %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(scan(t, b, "p/", "", 2)), "[p/a=1 p/b=2]"; got != want {
			t.Fatalf("scan limit = %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(scan(t, b, "p/", "a", 0)), "[p/a=1 p/b=2 p/c=3]"; got != want {
			t.Fatalf("scan after before prefix = %s, want %s", got, want)
		}
	})
	t.Run("FailedUpdateLeavesNothing", func(t *testing.T) {
		b := newBackend(t)
		put(t, b, "keep", "1")
		boom := errors.New("boom")
		err := b.Update(ctx, func(tx storage.Tx) error {
			_ = tx.Put("new", []byte("x"))
			_ = tx.Delete("keep")
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want boom", err)
		}
		if _, err := get(t, b, "new"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("write of failed tx is visible: %v", err)
		}
		if v, _ := get(t, b, "keep"); v != "1" {
			t.Fatalf("delete of failed tx is visible")
		}
	})
	t.Run("TxSeesOwnWrites", func(t *testing.T) {
		b := newBackend(t)
		put(t, b, "x/1", "a", "x/2", "b")
		if err := b.Update(ctx, func(tx storage.Tx) error {
			_ = tx.Put("x/3", []byte("c"))
			_ = tx.Delete("x/1")
			if v, err := tx.Get("x/3"); err != nil || string(v) != "c" {
				return fmt.Errorf("own put not visible: %q %v", v, err)
			}
			if _, err := tx.Get("x/1"); !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("own delete not visible: %v", err)
			}
			var keys []string
			_ = tx.Scan("x/", "", func(k string, _ []byte) bool { keys = append(keys, k); return true })
			if fmt.Sprint(keys) != "[x/2 x/3]" {
				return fmt.Errorf("scan in tx = %v", keys)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ConcurrentUpdatesAllApplied", func(t *testing.T) {
		b := newBackend(t)
		put(t, b, "counter", "0")
		var wg sync.WaitGroup
		const n = 20
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				err := b.Update(ctx, func(tx storage.Tx) error {
					v, err := tx.Get("counter")
					if err != nil {
						return err
					}
					var c int
					fmt.Sscan(string(v), &c)
					if err := tx.Put(fmt.Sprintf("w/%02d", i), []byte("x")); err != nil {
						return err
					}
					return tx.Put("counter", []byte(fmt.Sprint(c+1)))
				})
				if err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		if v, _ := get(t, b, "counter"); v != fmt.Sprint(n) {
			t.Fatalf("counter = %s, want %d (lost update)", v, n)
		}
		if got := len(scan(t, b, "w/", "", 0)); got != n {
			t.Fatalf("%d writes, want %d", got, n)
		}
	})
	// UpdateRerunAppliesOnce: fn may run more than once (a batch rolled back
	// because another writer failed, an optimistic retry); only its last run
	// is kept, once. Failing writers among concurrent ones make a
	// group-committing backend re-run the others.
	t.Run("UpdateRerunAppliesOnce", func(t *testing.T) {
		b := newBackend(t)
		put(t, b, "counter", "0")
		var r0 int64
		var events *stream
		if w, ok := asWatcher(b); ok {
			r0 = revision(t, w)
			events = watch(t, w, "", r0)
		}
		const writers = 32
		failing := func(i int) bool { return i%8 == 5 }
		boom := errors.New("boom")
		calls := make([]atomic.Int32, writers)
		errs := make(chan error, writers)
		for i := range writers {
			go func() {
				errs <- b.Update(ctx, func(tx storage.Tx) error {
					n := calls[i].Add(1)
					v, err := tx.Get("counter")
					if err != nil {
						return err
					}
					var c int
					fmt.Sscan(string(v), &c)
					if err := tx.Put("counter", []byte(fmt.Sprint(c+1))); err != nil {
						return err
					}
					// One key per run: only the last run's may be kept.
					if err := tx.Put(fmt.Sprintf("run/%02d/%d", i, n), []byte("x")); err != nil {
						return err
					}
					if failing(i) {
						return boom
					}
					return nil
				})
			}()
		}
		ok := 0
		for range writers {
			switch err := <-errs; {
			case err == nil:
				ok++
			case !errors.Is(err, boom):
				t.Fatal(err)
			}
		}
		if ok != writers-writers/8 {
			t.Fatalf("%d writers succeeded, want %d", ok, writers-writers/8)
		}
		if v, _ := get(t, b, "counter"); v != fmt.Sprint(ok) {
			t.Fatalf("counter = %s after %d successful updates (a run applied twice or lost)", v, ok)
		}
		kept := map[int]bool{}
		for _, kv := range scan(t, b, "run/", "", 0) {
			var i, n int
			fmt.Sscanf(kv, "run/%d/%d=", &i, &n)
			switch {
			case failing(i):
				t.Errorf("%s: a write of a failed update was kept", kv)
			case kept[i]:
				t.Errorf("%s: a second run of writer %d was kept", kv, i)
			case n != int(calls[i].Load()):
				t.Errorf("%s: run %d kept, not the last (%d)", kv, n, calls[i].Load())
			}
			kept[i] = true
		}
		if len(kept) != ok {
			t.Fatalf("%d writers' runs kept, want %d", len(kept), ok)
		}
		if events == nil {
			return
		}
		// Each successful Update changed the counter and its run key, at
		// one revision; Updates committed together may share it (one
		// counter event per revision). Nothing of failed or discarded runs.
		byRev := map[int64][]string{}
		var last int64
		runs, counters := 0, 0
		for runs < ok || counters < len(byRev) {
			e := events.next(t)
			if e.Revision < last || e.Revision <= r0 || e.Deleted {
				t.Fatalf("event %+v after revision %d (watch from %d)", e, last, r0)
			}
			last = e.Revision
			byRev[e.Revision] = append(byRev[e.Revision], e.Key)
			if e.Key != "counter" {
				runs++
			} else {
				counters++
			}
		}
		for rev, keys := range byRev {
			sort.Strings(keys)
			if len(keys) < 2 || keys[0] != "counter" || keys[1] == "counter" {
				t.Fatalf("revision %d: %v, want the counter once and run keys", rev, keys)
			}
			for _, k := range keys[1:] {
				var i, n int
				fmt.Sscanf(k, "run/%d/%d", &i, &n)
				if failing(i) || n != int(calls[i].Load()) {
					t.Fatalf("revision %d: event for %s, which was not kept", rev, k)
				}
			}
		}
	})
	t.Run("CanceledContext", func(t *testing.T) {
		b := newBackend(t)
		c, cancel := context.WithCancel(ctx)
		cancel()
		if err := b.Update(c, func(tx storage.Tx) error { return tx.Put("a", []byte("b")) }); err == nil {
			t.Fatal("Update with canceled context succeeded")
		}
	})
}
