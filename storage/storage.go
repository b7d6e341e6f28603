// Package storage defines the contract between Arca's services and the
// physical stores (bolt, memory, later etcd). A backend stores opaque bytes
// under string keys and knows nothing about what they mean; encryption is a
// layer above it (package barrier).
//
// # Capabilities
//
// Backend is all a service needs to store data. What several Arca processes
// sharing one store need besides is optional, and a caller asks for it with
// a type assertion:
//
//   - Revisioned: a store-wide revision, so a cache can tell cheaply whether
//     anything changed.
//   - Watcher: the keys changed under a prefix since a revision, so a cache
//     can drop exactly what changed.
//   - Elector: named leadership, so a background job (purge, rotation) runs
//     in one process at a time.
//
// The shapes follow etcd (mod revisions, Watch from a revision with a
// prefix, concurrency.Election), and a single-node backend implements them
// in process: a revision counter stored with the data, notifications sent
// after the commit, leadership granted by a mutex. memory and bolt implement
// all of them; package storagetest checks each one a backend has.
//
// A decorator that wraps any Backend (barrier.Barrier) has the capability
// methods whatever it wraps; when the wrapped backend lacks a capability
// they return an error wrapping errors.ErrUnsupported, whatever the context.
package storage

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get when the key does not exist.
var ErrNotFound = errors.New("storage: key not found")

// ErrClosed is returned after Close, by the Backend's methods and by those of
// its capabilities.
var ErrClosed = errors.New("storage: backend closed")

// ErrUnavailable wraps the errors of a store that cannot be reached or
// cannot decide (a lost quorum, a partition, a timeout): the request may be
// retried later, and for an Update the outcome is unknown (it may have
// committed). The HTTP layer answers 503 with Retry-After.
var ErrUnavailable = errors.New("storage: the store is unavailable")

// ErrTooLarge wraps the refusal of an Update whose writes exceed what the
// store accepts in one transaction (etcd's --max-txn-ops and
// --max-request-bytes). Nothing was written; retrying does not help.
var ErrTooLarge = errors.New("storage: transaction too large for the store")

// ErrCompacted is returned by Watch when the changes it was asked for are no
// longer all available: the start revision is older than the history the
// backend keeps, or the watcher fell so far behind that the backend dropped
// it rather than hold up writers. The caller must assume anything changed:
// reload what it caches, then watch again from the revision it reloaded at.
var ErrCompacted = errors.New("storage: revision compacted; reload and watch again")

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
	// durable. fn may be called more than once (group commit, optimistic
	// retries); only the writes of its last call are kept, so it must not
	// have side effects other than through tx and its own result variables,
	// and must set those afresh on every call.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the backend. Afterwards every method returns ErrClosed;
	// Close itself may be called again.
	Close() error
}

// Revisioned is a Backend with a store-wide revision.
//
// Every committed Update that changes the store gets a revision greater
// than that of every Update committed before it; all the keys it changed
// carry that revision. Updates committed together (a group commit) may
// share one revision; a key changed by several of them then carries the
// revision once, with its final state. An Update changes a key when it leaves the
// key put (even with the value it had) or deletes a key that existed before
// it. An Update that changes nothing (it only read, deleted missing keys, or
// put and then deleted a new key) or that fails leaves the revision as it
// was. Revisions only grow, also across restarts, but need not be
// consecutive (on etcd other writers share the counter).
type Revisioned interface {
	// Revision returns the revision of the last committed Update that
	// changed the store (0 for a store never written). A View that starts
	// after Revision returns sees at least that Update's writes.
	Revision(ctx context.Context) (int64, error)
}

// Event is one key changed by a committed Update. It carries no value:
// values may be sealed, and a watcher reads what it needs in a View.
type Event struct {
	Key      string
	Revision int64 // the revision of the Update that changed Key
	Deleted  bool  // Key was deleted (otherwise it was put)
}

// Watcher is a Backend that reports changes.
type Watcher interface {
	Revisioned
	// Watch calls fn for every key under prefix changed by an Update whose
	// revision is greater than fromRev: first the changes already committed,
	// then the later ones as they commit, until ctx ends. fn is called on
	// the caller's goroutine, one event at a time, in revision order; the
	// events of one Update share its revision and come in no particular
	// order among themselves. Each Update gives one event per key it changed
	// (see Revisioned), with the key's final state.
	//
	// A watcher that does not keep up never delays Update: the backend
	// buffers its events up to a limit of its own, then drops it. Watch
	// returns ErrCompacted when it is dropped or when fromRev is older than
	// the history the backend keeps, ctx's error when ctx ends, ErrClosed
	// when the backend closes, or fn's error when fn fails. It never returns
	// nil.
	//
	// To follow a prefix: read Revision, load what is under the prefix, then
	// Watch from that revision (an event for a change already loaded is
	// harmless); on ErrCompacted start again.
	Watch(ctx context.Context, prefix string, fromRev int64, fn func(Event) error) error
}

// Elector is a Backend that elects leaders among the processes sharing it.
type Elector interface {
	// Campaign blocks until the caller holds the leadership called name, and
	// returns it. At most one caller, in this process or another sharing the
	// store, holds a name at a time. The leadership lasts until it is
	// resigned, until ctx ends, or until the backend loses it (closed, or
	// the process's lease expired); its Done channel is then closed. Campaign
	// returns ctx's error if ctx ends first and ErrClosed if the backend is
	// closed; such a campaign never takes the leadership.
	//
	// On a single node the leadership is granted at once when nobody holds
	// it. When a leadership ends by Resign or by its ctx, Done is closed
	// before the next holder can win. On a shared store, though, a process
	// that stops renewing its lease (partitioned, stalled) learns that it
	// lost the leadership only after its lease expired and the next holder
	// may have won, so a leader-only job must tolerate a brief overlap with
	// its successor.
	Campaign(ctx context.Context, name string) (Leadership, error)
}

// Leadership is held by the winner of a Campaign.
type Leadership interface {
	// Done is closed when the leadership ends, however it ends. The holder
	// must stop its leader-only work then.
	Done() <-chan struct{}
	// Resign ends the leadership so that another campaign can win. Done is
	// closed before Resign returns, whatever it returns (on a shared store a
	// failed resignation leaves the name to the lease's expiry). Resigning
	// again, or after the leadership ended, does nothing and returns nil.
	Resign(ctx context.Context) error
}
