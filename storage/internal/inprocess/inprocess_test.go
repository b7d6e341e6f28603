package inprocess_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/internal/inprocess"
)

func publish(h *inprocess.Hub, rev int64, keys ...string) {
	var events []storage.Event
	for _, k := range keys {
		events = append(events, storage.Event{Key: k, Revision: rev})
	}
	h.Publish(events)
}

// TestHubHistory: the Hub keeps at least HistoryLimit recent events, drops
// older ones a whole revision at a time, and a watch from a revision whose
// events may be gone gets ErrCompacted.
func TestHubHistory(t *testing.T) {
	ctx := context.Background()
	h := inprocess.NewHub(10)
	if err := h.Watch(ctx, "", 9, nil); !errors.Is(err, storage.ErrCompacted) {
		t.Fatalf("watch from before the Hub: %v", err)
	}
	rev := int64(10)
	for range 2*inprocess.HistoryLimit - 1 { // one event per revision: all kept
		rev++
		publish(h, rev, fmt.Sprint("k", rev))
	}
	first := func(from int64) (storage.Event, error) {
		stop := errors.New("stop")
		var got storage.Event
		err := h.Watch(ctx, "", from, func(e storage.Event) error { got = e; return stop })
		if errors.Is(err, stop) {
			err = nil
		}
		return got, err
	}
	if e, err := first(10); err != nil || e.Revision != 11 {
		t.Fatalf("watch from the start: %+v %v", e, err)
	}
	rev++
	publish(h, rev, "a", "b", "c") // 2*HistoryLimit+2 events: trimmed to about HistoryLimit
	floor := rev - inprocess.HistoryLimit + 2
	if _, err := first(floor - 1); !errors.Is(err, storage.ErrCompacted) {
		t.Fatalf("watch from a trimmed revision: %v", err)
	}
	if e, err := first(floor); err != nil || e.Revision != floor+1 {
		t.Fatalf("watch from the oldest kept revision: %+v %v", e, err)
	}
}

// TestHubDropsSlowWatcher: a watcher with more than PendingLimit events
// waiting is dropped with ErrCompacted, after the events it was given.
func TestHubDropsSlowWatcher(t *testing.T) {
	h := inprocess.NewHub(0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan storage.Event)
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- h.Watch(ctx, "", 0, func(e storage.Event) error {
			got <- e
			<-release
			return nil
		})
	}()
	publish(h, 1, "first")
	if e := <-got; e.Key != "first" {
		t.Fatalf("event %+v", e)
	}
	for rev := int64(2); rev <= inprocess.PendingLimit+2; rev++ {
		publish(h, rev, "k")
	}
	close(release)
	if err := <-done; !errors.Is(err, storage.ErrCompacted) {
		t.Fatalf("slow watcher: %v", err)
	}
}
