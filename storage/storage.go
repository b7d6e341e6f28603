// Package storage defines the contract between Arca's services and the
// physical stores (bolt, memory, later etcd). A backend stores opaque bytes
// under string keys and knows nothing about what they mean; encryption is a
// layer above it (package barrier).
package storage

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get when the key does not exist.
var ErrNotFound = errors.New("storage: key not found")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("storage: backend closed")

// Reader is the read half shared by a Backend and a transaction.
type Reader interface {
	// Get returns the value stored under key, or ErrNotFound. The returned
	// slice belongs to the caller.
	Get(key string) ([]byte, error)
	// Scan calls fn for every key that starts with prefix and sorts strictly
	// after `after` (an empty after means from the first key), in ascending
	// byte order, until fn returns false. value is only valid during the call.
	Scan(prefix, after string, fn func(key string, value []byte) bool) error
}

// Tx is a read-write transaction.
type Tx interface {
	Reader
	// Put stores value under key. The backend may keep a reference to value
	// until the transaction ends; callers must not modify it.
	Put(key string, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key string) error
}

// Backend is a durable, ordered key-value store.
type Backend interface {
	// View runs fn in a read-only, consistent snapshot.
	View(ctx context.Context, fn func(Reader) error) error
	// Update runs fn in a read-write transaction. If fn returns an error,
	// nothing it wrote is kept. Update returns nil only once the writes are
	// durable. fn may be called more than once (group commit), so it must
	// not have side effects other than through tx and its own result
	// variables.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the backend.
	Close() error
}
