// Package objectstest holds test helpers for the services built on package
// objects: a storage decorator that simulates a crash at any write, replays
// transaction functions (as a group-committing or optimistic backend may)
// and fails chosen reads. Only tests import it.
package objectstest

import (
	"context"
	"errors"
	"sync"

	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage"
)

// ErrCrash is the error of the write a Crasher fails, and of every Update
// after it.
var ErrCrash = errors.New("objectstest: simulated crash")

// Crasher is a storage.Backend decorator for crash tests. It counts the
// writes (Put and Delete) of every Update and fails write number FailAt as
// if the process had stopped there: that Update keeps nothing, and every
// later Update fails without running. Reads keep working, so that a test
// can look at what a restarted process would find (read the wrapped
// backend directly to see it without read faults). FailAt 0 never fails.
type Crasher struct {
	barrier.Sealed
	// FailAt is the 1-based write to fail; 0 never fails.
	FailAt int
	// Replay runs every Update's function once more, first, on a
	// transaction that is thrown away (storage.Backend.Update allows it):
	// a function with side effects outside its transaction shows them twice.
	Replay bool
	// ReadErr, when set, is consulted before every Get and Scan (key or
	// prefix): a non-nil error is returned instead of reading.
	ReadErr func(key string) error

	mu      sync.Mutex
	writes  int
	updates int
	crashed bool
}

// NewCrasher returns a Crasher over inner that fails write failAt.
func NewCrasher(inner barrier.Sealed, failAt int) *Crasher {
	return &Crasher{Sealed: inner, FailAt: failAt}
}

// Writes returns how many writes the committed and failed Updates made.
func (c *Crasher) Writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// Updates returns how many Updates ran (committed or not, replays not counted).
func (c *Crasher) Updates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.updates
}

// Crashed reports whether the simulated crash has happened.
func (c *Crasher) Crashed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashed
}

// Reset sets the counters to zero, clears the crash and arms failAt.
func (c *Crasher) Reset(failAt int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.FailAt, c.writes, c.updates, c.crashed = failAt, 0, 0, false
}

var errDiscard = errors.New("objectstest: replay discarded")

// View implements storage.Backend.
func (c *Crasher) View(ctx context.Context, fn func(storage.Reader) error) error {
	return c.Sealed.View(ctx, func(r storage.Reader) error { return fn(&faultReader{Reader: r, c: c}) })
}

func (c *Crasher) readErr(key string) error {
	c.mu.Lock()
	f := c.ReadErr
	c.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(key)
}

type faultReader struct {
	storage.Reader
	c *Crasher
}

func (r *faultReader) Get(key string) ([]byte, error) {
	if err := r.c.readErr(key); err != nil {
		return nil, err
	}
	return r.Reader.Get(key)
}

func (r *faultReader) Scan(prefix, after string, fn func(string, []byte) bool) error {
	if err := r.c.readErr(prefix); err != nil {
		return err
	}
	return r.Reader.Scan(prefix, after, fn)
}

// Update implements storage.Backend.
func (c *Crasher) Update(ctx context.Context, fn func(storage.Tx) error) error {
	c.mu.Lock()
	if c.crashed {
		c.mu.Unlock()
		return ErrCrash
	}
	c.updates++
	replay := c.Replay
	c.mu.Unlock()
	if replay {
		// The outcome of the thrown-away run does not matter: the real run
		// below decides.
		_ = c.Sealed.Update(ctx, func(tx storage.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return errDiscard
		})
	}
	return c.Sealed.Update(ctx, func(tx storage.Tx) error {
		ct := &crashTx{Tx: tx, c: c}
		err := fn(ct)
		if ct.failed {
			return ErrCrash // whatever fn made of the failed write
		}
		return err
	})
}

type crashTx struct {
	storage.Tx
	c      *Crasher
	failed bool
}

func (t *crashTx) Get(key string) ([]byte, error) {
	if err := t.c.readErr(key); err != nil {
		return nil, err
	}
	return t.Tx.Get(key)
}

func (t *crashTx) Scan(prefix, after string, fn func(string, []byte) bool) error {
	if err := t.c.readErr(prefix); err != nil {
		return err
	}
	return t.Tx.Scan(prefix, after, fn)
}

func (t *crashTx) write() error {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.c.crashed {
		t.failed = true
		return ErrCrash
	}
	t.c.writes++
	if t.c.FailAt > 0 && t.c.writes == t.c.FailAt {
		t.c.crashed, t.failed = true, true
		return ErrCrash
	}
	return nil
}

func (t *crashTx) Put(key string, value []byte) error {
	if err := t.write(); err != nil {
		return err
	}
	return t.Tx.Put(key, value)
}

func (t *crashTx) Delete(key string) error {
	if err := t.write(); err != nil {
		return err
	}
	return t.Tx.Delete(key)
}
