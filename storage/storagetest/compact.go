package storagetest

import (
	"context"
	"sync"

	"github.com/arcakv/arca/storage"
)

// WatchingBackend is a Backend with the Watcher capability, such as a
// barrier over the memory backend.
type WatchingBackend interface {
	storage.Backend
	storage.Watcher
}

// CompactOnce is a Backend whose first watch is lost, for the tests of
// callers that follow a store (storage.Follow): the first Watch delivers no
// event at all and, once Compact is called, ends with storage.ErrCompacted,
// as when a store compacts the history a watcher needed or drops a watcher
// that fell behind. The changes committed in the meantime reach the caller
// only if it reloads what it caches. Every later Watch passes through to
// the wrapped backend.
type CompactOnce struct {
	WatchingBackend

	compact chan struct{}
	once    sync.Once

	mu      sync.Mutex
	started int
	waiters map[int][]chan struct{}
}

// NewCompactOnce wraps b.
func NewCompactOnce(b WatchingBackend) *CompactOnce {
	return &CompactOnce{WatchingBackend: b, compact: make(chan struct{}), waiters: map[int][]chan struct{}{}}
}

// Compact ends the first watch with storage.ErrCompacted (at once if it is
// running, as soon as it starts otherwise). Calling it again does nothing.
func (c *CompactOnce) Compact() { c.once.Do(func() { close(c.compact) }) }

// Started returns a channel closed once n Watches have started.
func (c *CompactOnce) Started(n int) <-chan struct{} {
	ch := make(chan struct{})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started >= n {
		close(ch)
		return ch
	}
	c.waiters[n] = append(c.waiters[n], ch)
	return ch
}

// Watch implements storage.Watcher.
func (c *CompactOnce) Watch(ctx context.Context, prefix string, fromRev int64, fn func(storage.Event) error) error {
	c.mu.Lock()
	c.started++
	n := c.started
	for _, ch := range c.waiters[n] {
		close(ch)
	}
	delete(c.waiters, n)
	c.mu.Unlock()
	if n > 1 {
		return c.WatchingBackend.Watch(ctx, prefix, fromRev, fn)
	}
	select {
	case <-c.compact:
		return storage.ErrCompacted
	case <-ctx.Done():
		return ctx.Err()
	}
}
