package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca/storage"
)

// wait bounds every wait for something a backend must do (deliver an
// event, grant a leadership, return). It is only reached when the backend
// is broken.
const wait = 20 * time.Second

// asRevisioned, asWatcher and asElector report whether b has a capability:
// it implements the interface and does not answer errors.ErrUnsupported
// (as a decorator over a backend without it does). The probes use a
// canceled context, so they neither wait nor take anything.
func asRevisioned(b storage.Backend) (storage.Revisioned, bool) {
	r, ok := b.(storage.Revisioned)
	if ok {
		_, err := r.Revision(canceled())
		ok = !errors.Is(err, errors.ErrUnsupported)
	}
	return r, ok
}

func asWatcher(b storage.Backend) (storage.Watcher, bool) {
	w, ok := b.(storage.Watcher)
	if ok {
		err := w.Watch(canceled(), "", 0, func(storage.Event) error { return nil })
		ok = !errors.Is(err, errors.ErrUnsupported)
	}
	return w, ok
}

func asElector(b storage.Backend) (storage.Elector, bool) {
	e, ok := b.(storage.Elector)
	if ok {
		l, err := e.Campaign(canceled(), "storagetest/probe")
		if l != nil {
			_ = l.Resign(context.Background())
		}
		ok = !errors.Is(err, errors.ErrUnsupported)
	}
	return e, ok
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func need[T any](t *testing.T, b storage.Backend, as func(storage.Backend) (T, bool), name string) T {
	t.Helper()
	c, ok := as(b)
	if !ok {
		t.Skipf("the backend is not a %s", name)
	}
	return c
}

func revision(t *testing.T, r storage.Revisioned) int64 {
	t.Helper()
	rev, err := r.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// update runs one Update of ops: "k=v" puts v under k, "-k" deletes k.
func update(t *testing.T, b storage.Backend, ops ...string) {
	t.Helper()
	if err := b.Update(context.Background(), func(tx storage.Tx) error {
		for _, op := range ops {
			if k, ok := strings.CutPrefix(op, "-"); ok {
				if err := tx.Delete(k); err != nil {
					return err
				}
				continue
			}
			k, v, _ := strings.Cut(op, "=")
			if err := tx.Put(k, []byte(v)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// stream is a Watch running on its own goroutine until the test ends.
type stream struct {
	events chan storage.Event
	done   chan error // Watch's result
}

func watch(t *testing.T, w storage.Watcher, prefix string, fromRev int64) *stream {
	return watchCtx(t.Context(), w, prefix, fromRev)
}

func watchCtx(ctx context.Context, w storage.Watcher, prefix string, fromRev int64) *stream {
	s := &stream{events: make(chan storage.Event), done: make(chan error, 1)}
	go func() {
		s.done <- w.Watch(ctx, prefix, fromRev, func(e storage.Event) error {
			select {
			case s.events <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return s
}

// next returns the next event, failing t if the watch ends or none comes.
func (s *stream) next(t *testing.T) storage.Event {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case err := <-s.done:
		t.Fatalf("the watch ended: %v", err)
	case <-time.After(wait):
		t.Fatalf("no event within %v", wait)
	}
	panic("unreachable")
}

// end returns Watch's result, failing t if it keeps running (and
// delivering) past the deadline.
func (s *stream) end(t *testing.T) error {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case err := <-s.done:
			if err == nil {
				t.Fatal("Watch returned nil")
			}
			return err
		case e := <-s.events:
			t.Fatalf("event %+v, want the watch to end", e)
		case <-deadline:
			t.Fatalf("the watch did not end within %v", wait)
		}
	}
}

// changes reads n events from s and groups them by revision, one string
// per revision: its keys in order, a deleted key with a leading "-". It
// fails t unless revisions increase from one group to the next, and
// returns the revision of each group.
func (s *stream) changes(t *testing.T, n int) ([]string, []int64) {
	t.Helper()
	var groups [][]string
	var revs []int64
	for range n {
		e := s.next(t)
		k := e.Key
		if e.Deleted {
			k = "-" + k
		}
		switch last := len(revs) - 1; {
		case last >= 0 && e.Revision == revs[last]:
			groups[last] = append(groups[last], k)
		case last >= 0 && e.Revision < revs[last]:
			t.Fatalf("event %+v after revision %d", e, revs[last])
		default:
			groups, revs = append(groups, []string{k}), append(revs, e.Revision)
		}
	}
	out := make([]string, len(groups))
	for i, g := range groups {
		sort.Strings(g)
		out[i] = strings.Join(g, " ")
	}
	return out, revs
}

// runClosed: after Close, the Backend and its capabilities answer
// ErrClosed, and what was running (a watch, a leadership, a campaign) ends.
func runClosed(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	ctx := context.Background()
	t.Run("ErrClosed", func(t *testing.T) {
		b := newBackend(t)
		update(t, b, "k=v")
		r, isR := asRevisioned(b)
		w, isW := asWatcher(b)
		e, isE := asElector(b)
		var watching *stream
		var leader storage.Leadership
		campaign := make(chan error, 1)
		if isW {
			watching = watch(t, w, "", revision(t, w))
		}
		if isE {
			var err error
			if leader, err = e.Campaign(ctx, "job"); err != nil {
				t.Fatal(err)
			}
			go func() {
				l, err := e.Campaign(ctx, "job")
				if l != nil {
					err = fmt.Errorf("won a campaign on a closing backend")
				}
				campaign <- err
			}()
		}

		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.View(ctx, func(storage.Reader) error { return nil }); !errors.Is(err, storage.ErrClosed) {
			t.Errorf("View after Close: %v, want ErrClosed", err)
		}
		ran := false
		if err := b.Update(ctx, func(tx storage.Tx) error { ran = true; return tx.Put("k", []byte("w")) }); !errors.Is(err, storage.ErrClosed) || ran {
			t.Errorf("Update after Close: %v (fn ran: %v), want ErrClosed", err, ran)
		}
		if isR {
			if _, err := r.Revision(ctx); !errors.Is(err, storage.ErrClosed) {
				t.Errorf("Revision after Close: %v, want ErrClosed", err)
			}
		}
		if isW {
			if err := watching.end(t); !errors.Is(err, storage.ErrClosed) {
				t.Errorf("a running Watch ended with %v, want ErrClosed", err)
			}
			if err := w.Watch(ctx, "", 0, func(storage.Event) error { return nil }); !errors.Is(err, storage.ErrClosed) {
				t.Errorf("Watch after Close: %v, want ErrClosed", err)
			}
		}
		if isE {
			select {
			case <-leader.Done():
			case <-time.After(wait):
				t.Fatal("a leadership outlived Close")
			}
			select {
			case err := <-campaign:
				if !errors.Is(err, storage.ErrClosed) {
					t.Errorf("a waiting Campaign ended with %v, want ErrClosed", err)
				}
			case <-time.After(wait):
				t.Fatal("a waiting Campaign outlived Close")
			}
			if _, err := e.Campaign(ctx, "other"); !errors.Is(err, storage.ErrClosed) {
				t.Errorf("Campaign after Close: %v, want ErrClosed", err)
			}
			if err := leader.Resign(ctx); err != nil {
				t.Errorf("Resign after Close: %v", err)
			}
		}
	})
}

// runRevision: the revision grows with every Update that changes the store,
// and only with those.
func runRevision(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	ctx := context.Background()
	t.Run("RevisionCountsChanges", func(t *testing.T) {
		b := newBackend(t)
		r := need(t, b, asRevisioned, "storage.Revisioned")
		update(t, b, "keep=1")
		rev := revision(t, r)
		if rev <= 0 {
			t.Fatalf("revision %d after a write", rev)
		}
		unchanged := []struct {
			name string
			fn   func(storage.Tx) error
		}{
			{"read only", func(tx storage.Tx) error { _, err := tx.Get("keep"); return err }},
			{"empty", func(storage.Tx) error { return nil }},
			{"delete missing", func(tx storage.Tx) error { return tx.Delete("missing") }},
			{"put then delete a new key", func(tx storage.Tx) error {
				if err := tx.Put("tmp", []byte("x")); err != nil {
					return err
				}
				return tx.Delete("tmp")
			}},
		}
		for _, c := range unchanged {
			if err := b.Update(ctx, c.fn); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got := revision(t, r); got != rev {
				t.Fatalf("%s update: revision %d -> %d", c.name, rev, got)
			}
		}
		boom := errors.New("boom")
		if err := b.Update(ctx, func(tx storage.Tx) error { _ = tx.Put("keep", []byte("2")); return boom }); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if err := b.View(ctx, func(r storage.Reader) error { _, err := r.Get("keep"); return err }); err != nil {
			t.Fatal(err)
		}
		if got := revision(t, r); got != rev {
			t.Fatalf("failed update or View: revision %d -> %d", rev, got)
		}
		for _, ops := range [][]string{{"keep=1"}, {"keep=1"}, {"new=x"}, {"-keep"}, {"-new", "-missing"}} {
			update(t, b, ops...)
			got := revision(t, r)
			if got <= rev {
				t.Fatalf("update %v: revision %d -> %d, want it to grow", ops, rev, got)
			}
			rev = got
		}
	})
}
