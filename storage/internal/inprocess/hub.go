// Package inprocess implements storage's optional capabilities for a store
// that one process owns (memory, bolt): the change notifications of
// storage.Watcher and the leadership of storage.Elector. Nothing here
// persists; the backends store their revision with their data.
package inprocess

import (
	"context"
	"strings"
	"sync"

	"github.com/arcakv/arca/storage"
)

// HistoryLimit is about how many recent events a Hub keeps for watchers that
// start from a past revision: between HistoryLimit and twice as many, whole
// revisions at a time. PendingLimit is how many events a watcher may have
// waiting before it is dropped (storage.ErrCompacted); it is at least the
// history, so a watcher can always start from any revision the Hub keeps.
const (
	HistoryLimit = 4096
	PendingLimit = 2 * HistoryLimit
)

// Hub fans committed changes out to watchers and keeps a short history of
// them. The backend publishes each committed Update once, in commit order,
// and never waits for a watcher. Safe for concurrent use.
type Hub struct {
	mu       sync.Mutex
	last     int64 // revision of the last Publish
	floor    int64 // events of revisions <= floor may be missing from history
	history  []storage.Event
	watchers map[*watcher]struct{}
	closed   bool
}

type watcher struct {
	prefix  string
	pending []storage.Event // guarded by Hub.mu
	lost    bool            // dropped for falling behind; guarded by Hub.mu
	wake    chan struct{}   // capacity 1: "look at pending"
}

// NewHub returns a Hub for a store at revision rev, with no history: a
// watcher can start from rev or later.
func NewHub(rev int64) *Hub {
	return &Hub{last: rev, floor: rev, watchers: map[*watcher]struct{}{}}
}

// Publish records the events of one committed Update. They must all carry
// the Update's revision, greater than that of the previous Publish. The
// slice is kept; the caller must not change it.
func (h *Hub) Publish(events []storage.Event) {
	if len(events) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.last = events[0].Revision
	h.history = append(h.history, events...)
	if len(h.history) >= 2*HistoryLimit {
		cut := len(h.history) - HistoryLimit
		for cut < len(h.history) && h.history[cut].Revision == h.history[cut-1].Revision {
			cut++
		}
		h.floor = h.history[cut-1].Revision
		h.history = append([]storage.Event(nil), h.history[cut:]...)
	}
	for w := range h.watchers {
		n := 0
		for _, e := range events {
			if strings.HasPrefix(e.Key, w.prefix) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		if len(w.pending)+n > PendingLimit {
			w.lost, w.pending = true, nil
			delete(h.watchers, w)
		} else {
			for _, e := range events {
				if strings.HasPrefix(e.Key, w.prefix) {
					w.pending = append(w.pending, e)
				}
			}
		}
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// Watch implements storage.Watcher.Watch over the published events.
func (h *Hub) Watch(ctx context.Context, prefix string, fromRev int64, fn func(storage.Event) error) error {
	w := &watcher{prefix: prefix, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		return storage.ErrClosed
	case fromRev < h.floor:
		h.mu.Unlock()
		return storage.ErrCompacted
	}
	for _, e := range h.history {
		if e.Revision > fromRev && strings.HasPrefix(e.Key, prefix) {
			w.pending = append(w.pending, e)
		}
	}
	h.watchers[w] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.watchers, w)
		h.mu.Unlock()
	}()
	for {
		h.mu.Lock()
		events, lost, closed := w.pending, w.lost, h.closed
		w.pending = nil
		h.mu.Unlock()
		for _, e := range events {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		switch {
		case lost:
			return storage.ErrCompacted
		case closed:
			return storage.ErrClosed
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.wake:
		}
	}
}

// Close ends every watch with storage.ErrClosed (after the events already
// published to it) and refuses new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for w := range h.watchers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}
