package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
	"github.com/arcakv/arca/storage/storagetest"
)

// wait bounds every wait for Follow; it is only reached when Follow is
// broken.
const wait = 10 * time.Second

func put(t *testing.T, b storage.Backend, keys ...string) {
	t.Helper()
	if err := b.Update(context.Background(), func(tx storage.Tx) error {
		for _, k := range keys {
			if err := tx.Put(k, []byte("x")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// follower runs storage.Follow on its own goroutine and reports its resets
// and events on channels.
type follower struct {
	resets chan int64 // the store's revision at each reset
	events chan storage.Event
	done   chan error
}

func follow(ctx context.Context, b storage.Backend, prefix string) *follower {
	f := &follower{resets: make(chan int64, 16), events: make(chan storage.Event, 16), done: make(chan error, 1)}
	go func() {
		f.done <- storage.Follow(ctx, b, prefix,
			func(ctx context.Context) error {
				rev, err := b.(storage.Revisioned).Revision(ctx)
				f.resets <- rev
				return err
			},
			func(e storage.Event) error { f.events <- e; return nil })
	}()
	return f
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("no %s within %v", what, wait)
	}
	panic("unreachable")
}

// TestFollow: Follow resets first, then reports the changes under its
// prefix made after the reset, starts again with a reset when the watch is
// compacted, and ends with its context.
func TestFollow(t *testing.T) {
	mem := memory.New()
	b := storagetest.NewCompactOnce(mem)
	put(t, b, "p/before")
	ctx, cancel := context.WithCancel(context.Background())
	f := follow(ctx, b, "p/")
	if rev := receive(t, f.resets, "reset"); rev != 1 {
		t.Fatalf("first reset at revision %d, want 1", rev)
	}
	<-b.Started(1)
	// The first watch is lost: this change reaches the follower only
	// through the reset that follows the compaction.
	put(t, b, "p/lost")
	b.Compact()
	if rev := receive(t, f.resets, "reset after ErrCompacted"); rev != 2 {
		t.Fatalf("reset after ErrCompacted at revision %d, want 2", rev)
	}
	<-b.Started(2)
	put(t, b, "q/other")
	put(t, b, "p/after")
	if e := receive(t, f.events, "event"); e.Key != "p/after" || e.Deleted || e.Revision != 4 {
		t.Fatalf("event %+v, want p/after at revision 4", e)
	}
	cancel()
	if err := receive(t, f.done, "end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow ended with %v, want context.Canceled", err)
	}
	select {
	case e := <-f.events:
		t.Fatalf("unexpected event %+v", e)
	case rev := <-f.resets:
		t.Fatalf("unexpected reset at %d", rev)
	default:
	}
}

type plainBackend struct{ storage.Backend } // hides the capabilities

// TestFollowEnds: what ends Follow other than its context.
func TestFollowEnds(t *testing.T) {
	ctx := context.Background()
	t.Run("Unsupported", func(t *testing.T) {
		err := storage.Follow(ctx, plainBackend{memory.New()}, "", nil, nil)
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("Follow on a backend without Watch: %v, want ErrUnsupported", err)
		}
	})
	t.Run("Closed", func(t *testing.T) {
		b := memory.New()
		f := follow(ctx, b, "")
		receive(t, f.resets, "reset")
		put(t, b, "k") // the watch is running once its event arrives
		receive(t, f.events, "event")
		_ = b.Close()
		if err := receive(t, f.done, "end"); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("Follow on a closed backend ended with %v, want ErrClosed", err)
		}
	})
	t.Run("ResetFails", func(t *testing.T) {
		boom := errors.New("boom")
		err := storage.Follow(ctx, memory.New(), "", func(context.Context) error { return boom }, nil)
		if !errors.Is(err, boom) {
			t.Fatalf("Follow with a failing reset: %v, want boom", err)
		}
	})
	t.Run("ChangedFails", func(t *testing.T) {
		b := memory.New()
		put(t, b, "k")
		boom := errors.New("boom")
		// Follow reads the revision before reset, so a write made by
		// reset is reported to changed.
		err := storage.Follow(ctx, b, "",
			func(context.Context) error { put(t, b, "k2"); return nil },
			func(storage.Event) error { return boom })
		if !errors.Is(err, boom) {
			t.Fatalf("Follow with a failing changed: %v, want boom", err)
		}
	})
	t.Run("CanceledBeforeStart", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		err := storage.Follow(c, memory.New(), "", func(context.Context) error { return nil }, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Follow with a canceled context: %v, want context.Canceled", err)
		}
	})
}
