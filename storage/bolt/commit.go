package bolt

import (
	"errors"
	"fmt"
	"sync"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// committer group-commits write transactions: one goroutine runs them, and
// every Update that arrives while a commit (and its fsyncs) is under way
// joins the next one. Unlike bbolt's Batch, which closes a batch after a
// fixed delay even while the previous one still holds the writer lock,
// a batch here holds everything that queued during the last commit, so
// throughput grows with the number of concurrent writers instead of being
// cut by the delay.
//
// As with bbolt's Batch, a function may run more than once (when another
// function of its batch fails, the batch is rolled back and re-run without
// the failing one, which then runs alone), so functions must only depend on
// the transaction they are given.
//
// Every bbolt write transaction runs under wmu, with its commit handlers
// (tx.OnCommit): bbolt runs them after it releases its own writer lock, so
// without wmu the handlers of two commits could run out of order, and the
// change notifications of the Backend rely on commit order.
type committer struct {
	db  *bbolt.DB
	wmu sync.Mutex

	mu      sync.Mutex
	pending []*call
	closed  bool
	wake    chan struct{} // capacity 1: "there is work"
	done    chan struct{} // closed when the loop has exited
}

type call struct {
	fn  func(*bbolt.Tx) error
	err chan error // capacity 1
}

// maxBatch bounds one commit's writers (as bbolt's MaxBatchSize did), so a
// failing writer's rollback and re-run costs a bounded amount of work.
const maxBatch = 1000

// errSolo tells a submitter that its function failed inside a batch and
// must run in a transaction of its own.
var errSolo = errors.New("bolt: run the function alone")

func newCommitter(db *bbolt.DB) *committer {
	c := &committer{db: db, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.loop()
	return c
}

// update runs fn in a durable write transaction shared with the other
// writers of its batch, and returns fn's error or the commit's.
func (c *committer) update(fn func(*bbolt.Tx) error) error {
	x := &call{fn: fn, err: make(chan error, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return bolterrors.ErrDatabaseNotOpen
	}
	c.pending = append(c.pending, x)
	select {
	case c.wake <- struct{}{}:
	default: // already signalled
	}
	c.mu.Unlock()
	if err := <-x.err; err != errSolo {
		return err
	}
	return c.write(func(tx *bbolt.Tx) error { return safely(fn, tx) })
}

// write runs fn in a bbolt write transaction and its commit handlers, one
// transaction at a time.
func (c *committer) write(fn func(*bbolt.Tx) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.db.Update(fn)
}

// close commits what is queued, stops the loop and refuses new work. It
// may be called more than once.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.wake)
	}
	c.mu.Unlock()
	<-c.done
}

func (c *committer) loop() {
	defer close(c.done)
	for range c.wake {
		for {
			c.mu.Lock()
			batch := c.pending
			if len(batch) > maxBatch {
				batch, c.pending = batch[:maxBatch:maxBatch], append([]*call(nil), batch[maxBatch:]...)
			} else {
				c.pending = nil
			}
			c.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			c.run(batch)
		}
	}
}

// run commits batch; a failing function is taken out and told to run
// alone, and the rest are committed without it.
func (c *committer) run(batch []*call) {
	for len(batch) > 0 {
		failed := -1
		err := c.write(func(tx *bbolt.Tx) error {
			for i, x := range batch {
				if err := safely(x.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			batch[failed].err <- errSolo
			batch = append(batch[:failed:failed], batch[failed+1:]...)
			continue
		}
		for _, x := range batch {
			x.err <- err
		}
		return
	}
}

// safely calls fn, turning a panic into an error so one bad function cannot
// take the committer (and every other writer) down.
func safely(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bolt: panic in a write transaction: %v", p)
		}
	}()
	return fn(tx)
}
