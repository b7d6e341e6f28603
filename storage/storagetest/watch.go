package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca/storage"
)

// sample is a history of writes with the events a watcher of "a/" must see:
// one group per Update that changed something under a/, keys sorted, "-"
// for a deletion. Outside the prefix, b/ is written alongside a/ and alone;
// a key put then deleted in one Update, and a missing key deleted, give no
// event; a key put twice in one Update gives one.
var sample = []struct {
	ops  []string
	want string // "" when nothing under a/ changes
}{
	{[]string{"a/1=x"}, "a/1"},
	{[]string{"a/2=x", "b/1=x"}, "a/2"},
	{[]string{"b/2=x"}, ""},
	{[]string{"-a/1", "-a/missing"}, "-a/1"},
	{[]string{"a/3=x", "a/1=y", "a/3=z", "a/tmp=x", "-a/tmp"}, "a/1 a/3"},
}

// writeSample applies sample to b and returns the revision before it and
// after each of its Updates.
func writeSample(t *testing.T, b storage.Backend, r storage.Revisioned) []int64 {
	t.Helper()
	revs := []int64{revision(t, r)}
	for _, u := range sample {
		update(t, b, u.ops...)
		revs = append(revs, revision(t, r))
	}
	return revs
}

// checkSample reads from s the sample's events after Update `from` (0 for
// all of them) and checks their order, keys and revisions.
func checkSample(t *testing.T, s *stream, revs []int64, from int) {
	t.Helper()
	var want []string
	var updates []int // the sample index of each wanted group
	n := 0
	for i, u := range sample[from:] {
		if u.want != "" {
			want = append(want, u.want)
			updates = append(updates, from+i)
			n += len(strings.Fields(u.want))
		}
	}
	got, gotRevs := s.changes(t, n)
	if !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	for i, rev := range gotRevs {
		// Update u committed after Revision returned revs[u] and before it
		// returned revs[u+1].
		if u := updates[i]; rev <= revs[u] || rev > revs[u+1] {
			t.Fatalf("update %d (%s) has revision %d, want in (%d, %d]", u, want[i], rev, revs[u], revs[u+1])
		}
	}
}

func runWatch(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	ctx := context.Background()

	// WatchOrderAndPrefix: a watch started before the writes and one started
	// after them, from the same revision, see the same changes under the
	// prefix, in commit order, and then the changes made while they watch.
	t.Run("WatchOrderAndPrefix", func(t *testing.T) {
		b := newBackend(t)
		w := need(t, b, asWatcher, "storage.Watcher")
		update(t, b, "a/before=x") // a revision before the watch starts
		early := watch(t, w, "a/", revision(t, w))
		revs := writeSample(t, b, w)
		late := watch(t, w, "a/", revs[0])
		checkSample(t, early, revs, 0)
		checkSample(t, late, revs, 0)

		update(t, b, "b/3=x")
		update(t, b, "-a/3", "b/4=x")
		now := revision(t, w)
		for _, s := range []*stream{early, late} {
			e := s.next(t)
			if e.Key != "a/3" || !e.Deleted || e.Revision <= revs[len(revs)-1] || e.Revision > now {
				t.Fatalf("live event %+v, want a/3 deleted at a revision in (%d, %d]", e, revs[len(revs)-1], now)
			}
		}
	})

	// WatchResumesFromRevision: a watch from a revision sees exactly the
	// changes committed after it.
	t.Run("WatchResumesFromRevision", func(t *testing.T) {
		b := newBackend(t)
		w := need(t, b, asWatcher, "storage.Watcher")
		revs := writeSample(t, b, w)
		for from := range sample {
			checkSample(t, watch(t, w, "a/", revs[from]), revs, from)
		}
		// From the last revision: nothing until the next change.
		s := watch(t, w, "a/", revs[len(revs)-1])
		update(t, b, "a/next=x")
		if e := s.next(t); e.Key != "a/next" || e.Deleted {
			t.Fatalf("event %+v, want a/next", e)
		}
	})

	// WatchEnds: a watch ends with its context's error, or with fn's.
	t.Run("WatchEnds", func(t *testing.T) {
		b := newBackend(t)
		w := need(t, b, asWatcher, "storage.Watcher")
		rev := revision(t, w)
		c, cancel := context.WithCancel(ctx)
		s := watchCtx(c, w, "", rev)
		cancel()
		if err := s.end(t); !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled watch: %v, want context.Canceled", err)
		}
		update(t, b, "k=v")
		boom := errors.New("boom")
		calls := 0
		err := w.Watch(ctx, "", rev, func(storage.Event) error { calls++; return boom })
		if !errors.Is(err, boom) || calls != 1 {
			t.Fatalf("fn failing: Watch returned %v after %d calls, want boom after 1", err, calls)
		}
	})

	// WatchDoesNotBlockUpdate: a watcher that stops reading never delays
	// Update. Once it reads again it gets every change in order, or
	// ErrCompacted (it was dropped), after which a new watch from a fresh
	// revision works.
	t.Run("WatchDoesNotBlockUpdate", func(t *testing.T) {
		b := newBackend(t)
		w := need(t, b, asWatcher, "storage.Watcher")
		rev := revision(t, w)
		const keys = 10000 // more than a backend should buffer for one watcher
		total := 1 + keys + 3
		stuck, release, all := make(chan struct{}), make(chan struct{}), make(chan struct{})
		var got []storage.Event // the watch goroutine's until all or done
		done := make(chan error, 1)
		go func() {
			done <- w.Watch(t.Context(), "s/", rev, func(e storage.Event) error {
				if len(got) == 0 {
					close(stuck)
					<-release
				}
				got = append(got, e)
				if len(got) == total {
					close(all)
				}
				return nil
			})
		}()
		update(t, b, "s/first=x")
		select {
		case <-stuck:
		case <-time.After(wait):
			t.Fatal("no event within the deadline")
		}

		wrote := make(chan error, 1)
		go func() {
			wrote <- func() error {
				if err := b.Update(ctx, func(tx storage.Tx) error {
					for i := range keys {
						if err := tx.Put(fmt.Sprintf("s/%05d", i), []byte("x")); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					return err
				}
				for _, k := range []string{"s/x", "s/y", "s/z"} {
					if err := b.Update(ctx, func(tx storage.Tx) error { return tx.Put(k, []byte("x")) }); err != nil {
						return err
					}
				}
				return nil
			}()
		}()
		select {
		case err := <-wrote:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(wait):
			close(release)
			t.Fatal("Update is held up by a watcher that does not read")
		}
		close(release)

		var err error
		select {
		case <-all:
		case err = <-done:
			if !errors.Is(err, storage.ErrCompacted) {
				t.Fatalf("the slow watch ended with %v, want ErrCompacted or every event", err)
			}
		case <-time.After(wait):
			t.Fatal("the slow watch neither caught up nor ended")
		}
		// Group by revision: the big Update's events share one, in any
		// order. A dropped watch may have stopped inside a group.
		var big []string
		for i := range keys {
			big = append(big, fmt.Sprintf("s/%05d", i))
		}
		want := [][]string{{"s/first"}, big, {"s/x"}, {"s/y"}, {"s/z"}}
		var groups [][]string
		for i, e := range got {
			switch {
			case e.Deleted:
				t.Fatalf("event %+v", e)
			case i > 0 && e.Revision == got[i-1].Revision:
				groups[len(groups)-1] = append(groups[len(groups)-1], e.Key)
			case i > 0 && e.Revision < got[i-1].Revision:
				t.Fatalf("event %d: %+v after revision %d", i, e, got[i-1].Revision)
			default:
				groups = append(groups, []string{e.Key})
			}
		}
		if len(groups) > len(want) || err == nil && len(groups) != len(want) {
			t.Fatalf("%d revisions delivered, want %d", len(groups), len(want))
		}
		for i, g := range groups {
			slices.Sort(g)
			if i < len(groups)-1 || err == nil {
				if !slices.Equal(g, want[i]) {
					t.Fatalf("revision %d of the watch: %d keys, want %d (%s…)", i, len(g), len(want[i]), want[i][0])
				}
				continue
			}
			for j, k := range g {
				if _, found := slices.BinarySearch(want[i], k); !found || j > 0 && g[j-1] == k {
					t.Fatalf("revision %d of the watch: key %s unexpected or repeated", i, k)
				}
			}
		}
		if err == nil {
			return
		}
		s := watch(t, w, "s/", revision(t, w))
		update(t, b, "s/again=x")
		if e := s.next(t); e.Key != "s/again" {
			t.Fatalf("after ErrCompacted, a new watch got %+v", e)
		}
	})
}
