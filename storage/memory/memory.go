// Package memory is an in-memory storage.Backend: the reference fake that
// passes the same conformance suite as the real backends.
package memory

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/arcakv/arca/storage"
)

// Backend is an in-memory storage.Backend. The zero value is not usable;
// call New.
type Backend struct {
	mu     sync.RWMutex
	data   map[string][]byte
	closed bool
}

var _ storage.Backend = (*Backend)(nil)

// New returns an empty Backend.
func New() *Backend { return &Backend{data: map[string][]byte{}} }

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

// Update implements storage.Backend.
func (b *Backend) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return storage.ErrClosed
	}
	t := &tx{b: b, pending: map[string][]byte{}, deleted: map[string]bool{}}
	if err := fn(t); err != nil {
		return err
	}
	for k := range t.deleted {
		delete(b.data, k)
	}
	for k, v := range t.pending {
		b.data[k] = v
	}
	return nil
}

// Close implements storage.Backend.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
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
