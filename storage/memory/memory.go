// Package memory is an in-memory storage.Backend: the reference fake that
// passes the same conformance suite as the real backends, capabilities
// included.
package memory

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/internal/inprocess"
)

// Options configure a Backend.
type Options struct {
	// RetryEveryUpdate runs every Update's function twice, on two fresh
	// transactions, and keeps only the second run, as a backend that
	// retries (bolt's group commit, an optimistic etcd transaction) may. A
	// caller's tests use it to prove their functions tolerate re-runs.
	RetryEveryUpdate bool
}

// Backend is an in-memory storage.Backend with every optional capability.
// The zero value is not usable; call New.
type Backend struct {
	opts    Options
	hub     *inprocess.Hub
	elector *inprocess.Elector

	mu     sync.RWMutex
	data   map[string][]byte
	rev    int64
	closed bool
}

var (
	_ storage.Backend    = (*Backend)(nil)
	_ storage.Revisioned = (*Backend)(nil)
	_ storage.Watcher    = (*Backend)(nil)
	_ storage.Elector    = (*Backend)(nil)
)

// New returns an empty Backend.
func New() *Backend { return NewWithOptions(Options{}) }

// NewWithOptions returns an empty Backend configured by o.
func NewWithOptions(o Options) *Backend {
	return &Backend{opts: o, hub: inprocess.NewHub(0), elector: inprocess.NewElector(), data: map[string][]byte{}}
}

// View implements storage.Backend.
func (b *Backend) View(ctx context.Context, fn func(storage.Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return storage.ErrClosed
	}
	return fn(&tx{b: b})
}

// Update implements storage.Backend. Updates run one at a time; each one
// that changes the store takes the next revision and publishes its events
// before the next Update starts.
func (b *Backend) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return storage.ErrClosed
	}
	runs := 1
	if b.opts.RetryEveryUpdate {
		runs = 2
	}
	var t *tx
	for i := 0; i < runs; i++ {
		t = &tx{b: b, pending: map[string][]byte{}, deleted: map[string]bool{}}
		if err := fn(t); err != nil && i == runs-1 {
			return err
		}
	}
	var events []storage.Event
	for k := range t.deleted {
		if _, ok := b.data[k]; ok {
			events = append(events, storage.Event{Key: k, Deleted: true})
			delete(b.data, k)
		}
	}
	for k, v := range t.pending {
		events = append(events, storage.Event{Key: k})
		b.data[k] = v
	}
	if len(events) == 0 {
		return nil
	}
	b.rev++
	sort.Slice(events, func(i, j int) bool { return events[i].Key < events[j].Key })
	for i := range events {
		events[i].Revision = b.rev
	}
	b.hub.Publish(events)
	return nil
}

// Revision implements storage.Revisioned.
func (b *Backend) Revision(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return 0, storage.ErrClosed
	}
	return b.rev, nil
}

// Watch implements storage.Watcher. It keeps about inprocess.HistoryLimit
// past events; a watcher with more than inprocess.PendingLimit events
// waiting is dropped.
func (b *Backend) Watch(ctx context.Context, prefix string, fromRev int64, fn func(storage.Event) error) error {
	return b.hub.Watch(ctx, prefix, fromRev, fn)
}

// Campaign implements storage.Elector within this Backend.
func (b *Backend) Campaign(ctx context.Context, name string) (storage.Leadership, error) {
	return b.elector.Campaign(ctx, name)
}

// Close implements storage.Backend; it ends every watch and leadership.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.hub.Close()
	b.elector.Close()
	return nil
}

type tx struct {
	b       *Backend
	pending map[string][]byte
	deleted map[string]bool
}

func (t *tx) Get(key string) ([]byte, error) {
	if v, ok := t.pending[key]; ok {
		return append([]byte(nil), v...), nil
	}
	if t.deleted[key] {
		return nil, storage.ErrNotFound
	}
	v, ok := t.b.data[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (t *tx) Put(key string, value []byte) error {
	if t.pending == nil {
		panic("memory: Put in a read-only transaction")
	}
	delete(t.deleted, key)
	t.pending[key] = append([]byte(nil), value...)
	return nil
}

func (t *tx) Delete(key string) error {
	if t.pending == nil {
		panic("memory: Delete in a read-only transaction")
	}
	delete(t.pending, key)
	t.deleted[key] = true
	return nil
}

func (t *tx) Scan(prefix, after string, fn func(string, []byte) bool) error {
	var keys []string
	seen := map[string]bool{}
	add := func(k string) {
		if strings.HasPrefix(k, prefix) && k > after && !seen[k] && !t.deleted[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for k := range t.b.data {
		add(k)
	}
	for k := range t.pending {
		add(k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := t.pending[k]
		if !ok {
			v = t.b.data[k]
		}
		if !fn(k, v) {
			return nil
		}
	}
	return nil
}
