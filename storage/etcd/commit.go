package etcd

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/arcakv/arca/storage"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// committer group-commits a node's Updates: one batch at a time runs them,
// and every Update that arrives while a commit is under way joins the next
// batch, as far as etcd's per-request limits allow. A batch's functions
// run one after the other on one snapshot, each seeing the writes of those
// before it; the writes of those that succeed go to etcd in one
// transaction, conditional on everything any of them read (see the package
// comment). Updates of one node therefore do not conflict with each other
// (unless a batch stalls, see stallAfter), and etcd pays one proposal and
// one fsync per member for the batch.
//
// The snapshot is the replica as it stands, without a round trip: the
// transaction's condition proves the reads current at commit. A batch
// that writes nothing has no transaction to prove it, so its outcome
// stands only if the snapshot was at least the fence's revision, read
// afterwards; otherwise it runs again on a snapshot that is. The same
// holds for the functions that failed: their errors are answered only
// once the batch is proven, so a caller never gets an answer (such as
// "not found") that a write acknowledged earlier on another node
// contradicts.
type committer struct {
	b *Backend

	mu      sync.Mutex
	pending []*call
	running map[*batchRun]time.Time // batches in flight, by start
	closed  bool
	wake    chan struct{} // capacity 1: "look again"; never closed
	stop    chan struct{} // closed by close
	done    chan struct{} // closed when the loop has exited
	wg      sync.WaitGroup
}

// batchRun identifies a batch in flight.
type batchRun struct{}

type call struct {
	ctx context.Context
	fn  func(storage.Tx) error
	err chan error // capacity 1
}

// maxBatch bounds the functions of one batch.
const maxBatch = 256

// maxConflicts bounds how often a batch runs again after losing the race
// to another node before its callers get storage.ErrUnavailable.
const maxConflicts = 64

// One batch is in flight at a time, unless it stalls: a commit caught by
// the loss of etcd's leader waits for the next one (up to the request
// timeout), and after stallAfter the next batch starts beside it, up to
// maxInflight; batches in flight together may then conflict, and the
// loser runs again.
const (
	stallAfter  = 250 * time.Millisecond
	maxInflight = 8
)

func newCommitter(b *Backend) *committer {
	c := &committer{b: b, running: map[*batchRun]time.Time{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *committer) update(ctx context.Context, fn func(storage.Tx) error) error {
	x := &call{ctx: ctx, fn: fn, err: make(chan error, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return storage.ErrClosed
	}
	c.pending = append(c.pending, x)
	c.mu.Unlock()
	c.kick()
	select {
	case err := <-x.err:
		return err
	case <-ctx.Done():
		// The batch may still commit this call's writes: the outcome is
		// unknown, as with any Update cut off by its context.
		return ctx.Err()
	}
}

func (c *committer) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close fails what is queued with ErrClosed and waits for the batches in
// flight, which end with ErrClosed too (Close cancels their requests).
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		for _, x := range c.pending {
			x.err <- storage.ErrClosed
		}
		c.pending = nil
		close(c.stop)
	}
	c.mu.Unlock()
	<-c.done
}

func (c *committer) loop() {
	defer close(c.done)
	var timer *time.Timer
	var tick <-chan time.Time
	for {
		select {
		case <-c.stop:
			c.wg.Wait()
			return
		case <-c.wake:
		case <-tick:
		}
		if d := c.launch(); d > 0 {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			tick = timer.C
		} else {
			tick = nil
		}
	}
}

// launch starts the batches that may start now; when work waits behind a
// batch that has not stalled yet, it returns how long until it would have.
func (c *committer) launch() time.Duration {
	for {
		c.mu.Lock()
		if c.closed || len(c.pending) == 0 {
			c.mu.Unlock()
			return 0
		}
		if n := len(c.running); n > 0 {
			var oldest time.Time
			for _, t := range c.running {
				if oldest.IsZero() || t.Before(oldest) {
					oldest = t
				}
			}
			if n >= maxInflight {
				c.mu.Unlock()
				return 0 // the next batch to finish kicks the loop
			}
			if age := time.Since(oldest); age < stallAfter {
				c.mu.Unlock()
				return stallAfter - age
			}
		}
		batch := c.pending
		if len(batch) > maxBatch {
			batch, c.pending = batch[:maxBatch:maxBatch], append([]*call(nil), batch[maxBatch:]...)
		} else {
			c.pending = nil
		}
		id := &batchRun{}
		c.running[id] = time.Now()
		c.wg.Add(1)
		c.mu.Unlock()
		go func() {
			defer c.wg.Done()
			rest := c.run(batch)
			c.mu.Lock()
			delete(c.running, id)
			if c.closed {
				for _, x := range rest {
					x.err <- storage.ErrClosed
				}
			} else {
				c.pending = append(rest, c.pending...)
			}
			c.mu.Unlock()
			c.kick()
		}()
	}
}

// run commits batch and answers its calls, except those that did not fit
// in one etcd request: it returns them for the next batch.
func (c *committer) run(batch []*call) (rest []*call) {
	b := c.b
	fresh := false // whether the snapshot must include the fence's revision
	deadline, dcancel := context.WithTimeout(context.Background(), b.c.RequestTimeout)
	defer dcancel()
	for attempt := 0; ; attempt++ {
		ctx, cancel := b.opCtx(deadline)
		res, err := c.attempt(ctx, batch, fresh)
		cancel()
		if err != nil && noLeader(err) && sleepCtx(deadline, leaderWait) {
			// Refused by a member without a leader: nothing was proposed.
			// Run the batch again once there is one.
			batch = slices.DeleteFunc(batch, func(x *call) bool { return res.dropped[x] })
			attempt--
			continue
		}
		switch {
		case err != nil:
			for _, x := range batch {
				if !res.dropped[x] {
					x.err <- b.wrap(ctx, err)
				}
			}
			return nil
		case res.proven:
			for i, x := range res.answered {
				x.err <- res.errs[i]
			}
			return res.deferred
		}
		// Not proven: a conflict (another node wrote what the batch read;
		// the replica has caught up with it), or a read-only batch whose
		// snapshot predates the fence.
		batch = res.live
		if len(batch) == 0 {
			return nil
		}
		fresh = res.readOnly
		if attempt == maxConflicts {
			for _, x := range batch {
				x.err <- fmt.Errorf("etcd: %d conflicting commits in a row: %w", maxConflicts, storage.ErrUnavailable)
			}
			return nil
		}
		if attempt >= 3 {
			pause(attempt)
		}
	}
}

// pause spreads the retries of nodes that keep conflicting: a random wait
// that grows with the attempts, up to 20 ms.
func pause(attempt int) {
	time.Sleep(time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(time.Millisecond))))
}

// result is what one attempt at a batch came to.
type result struct {
	proven   bool           // the outcomes stand: answer them
	readOnly bool           // the batch wrote nothing (not proven: needs a fresh snapshot)
	answered []*call        // the calls of this batch, in order, with errs
	errs     []error        // fn's error, storage.ErrTooLarge, or nil (committed)
	deferred []*call        // calls left for the next batch (over the limits)
	live     []*call        // the calls still waiting (for a rerun)
	dropped  map[*call]bool // calls answered already (their context ended)
}

// attempt runs the batch's functions on a snapshot (the replica as it is,
// or at least at the fence's revision when fresh) and commits their
// writes. An error is the store's: every call still waiting gets it.
func (c *committer) attempt(ctx context.Context, batch []*call, fresh bool) (result, error) {
	b := c.b
	res := result{dropped: map[*call]bool{}}
	var snap *snapshot
	if fresh {
		var err error
		if snap, err = b.snapshot(ctx); err != nil {
			return res, err
		}
	} else {
		snap = b.rep.latest()
	}
	writes := overlay{}
	ops, size := 2, 256 // the fence and the commit's marker
	for i, x := range batch {
		if err := x.ctx.Err(); err != nil {
			x.err <- err
			res.dropped[x] = true
			continue
		}
		t := &tx{snap: snap, parent: writes, own: overlay{}}
		err := safely(x.fn, t)
		if err == nil {
			n, bytes := 0, 0
			for k, v := range t.own {
				if _, dup := writes[k]; !dup {
					n++
				}
				bytes += len(b.c.Prefix) + len(dataPrefix) + len(k) + len(v) + 16
			}
			if ops+n > b.c.MaxTxnOps || size+bytes > b.c.MaxRequestBytes {
				if len(res.answered) > 0 {
					res.deferred = append(res.deferred, batch[i:]...)
					break
				}
				err = fmt.Errorf("etcd: one transaction of %d keys and about %d bytes exceeds the cluster's limits (%d operations, %d bytes: etcd's --max-txn-ops and --max-request-bytes): %w",
					n, bytes, b.c.MaxTxnOps, b.c.MaxRequestBytes, storage.ErrTooLarge)
			} else {
				ops, size = ops+n, size+bytes
				for k, v := range t.own {
					writes[k] = v
				}
			}
		}
		res.answered = append(res.answered, x)
		res.errs = append(res.errs, err)
	}
	res.live = res.answered
	ok, wrote, err := b.commit(ctx, snap, writes)
	if err != nil {
		return res, err
	}
	if !wrote {
		if fresh {
			res.proven = true
			return res, nil
		}
		rev, err := b.fences.read(ctx)
		if err != nil {
			return res, err
		}
		res.proven = snap.rev >= rev
		res.readOnly = !res.proven
		return res, nil
	}
	res.proven = ok
	return res, nil
}

// commit sends writes with the fence, on condition that nothing the
// snapshot's reads saw has changed: every key read has the modification
// revision it had (0: still missing), and no key newer than the snapshot
// appeared in a range scanned. When that takes more comparisons than etcd
// allows in one request, the condition is coarser: no Update committed
// since the snapshot (the fence has not moved). Deletes of keys that did
// not exist at the snapshot are dropped; wrote is false when nothing is
// left to send (the revision stays). Either way commit returns once the
// replica has caught up: with the commit, or, on a conflict (ok false),
// with the fence's revision, so that a rerun sees what conflicted.
func (b *Backend) commit(ctx context.Context, snap *snapshot, writes overlay) (ok, wrote bool, err error) {
	for k, v := range writes {
		if _, known := snap.reads[k]; v == nil && !known {
			_, _ = snap.Get(k) // records whether it exists, and its revision
		}
	}
	keys := make([]string, 0, len(writes))
	size := 256
	for k, v := range writes {
		if v == nil && snap.reads[k] == 0 {
			continue // missing at the snapshot, and the condition keeps it so
		}
		keys = append(keys, k)
		size += len(b.c.Prefix) + len(dataPrefix) + len(k) + len(v) + 16
	}
	if len(keys) == 0 {
		return true, false, nil
	}
	if b.rep.stale(snap) {
		return false, true, nil // the replica knows of a conflicting commit already: no doomed proposal
	}
	sort.Strings(keys)
	ops := make([]clientv3.Op, 0, len(keys)+1)
	for _, k := range keys {
		if v := writes[k]; v == nil {
			ops = append(ops, clientv3.OpDelete(dataPrefix+k))
		} else {
			ops = append(ops, clientv3.OpPut(dataPrefix+k, string(v)))
		}
	}
	ops = append(ops, clientv3.OpPut(fenceKey, ""))
	marker := b.marker()
	ops = append(ops, clientv3.OpPut(marker, ""))
	conds := append(snap.conditions(b.c.MaxTxnOps-1, b.c.MaxRequestBytes-size), clientv3.Compare(clientv3.CreateRevision(marker), "=", 0))
	var resp *clientv3.TxnResponse
	for {
		// One try at a time, each bounded by commitTry: a try whose
		// proposal raft lost (sent to a leader that died) is sent again,
		// and the marker, which both create, lets only one of them commit;
		// either way the Else branch says whether one did.
		tctx, cancel := context.WithTimeout(ctx, commitTry)
		resp, err = b.cli.Txn(tctx).If(conds...).Then(ops...).
			Else(clientv3.OpGet(fenceKey, clientv3.WithKeysOnly()), clientv3.OpGet(marker, clientv3.WithKeysOnly())).Commit()
		cancel()
		if h := b.lostAnswer; h != nil && err == nil && h() {
			resp, err = nil, status.Error(codes.Unavailable, "etcd: answer lost (test)")
		}
		if err == nil || ctx.Err() != nil || !retryable(err) || !sleepCtx(ctx, leaderWait) {
			break
		}
	}
	if err != nil {
		return false, true, err
	}
	rev := resp.Header.Revision
	if !resp.Succeeded {
		if kvs := resp.Responses[1].GetResponseRange().GetKvs(); len(kvs) > 0 {
			rev = kvs[0].ModRevision // an earlier try of this commit went through
		} else {
			var fence int64
			if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
				fence = kvs[0].ModRevision
			}
			if _, _, err := b.rep.at(ctx, fence); err != nil {
				return false, true, err
			}
			return false, true, nil
		}
	}
	// Answer once this node's replica has the writes: the next Update here
	// then runs on a snapshot that has them (no needless conflict), and
	// follows them without waiting. (Best effort: the commit stands even
	// if the replica is late.)
	_, _, _ = b.rep.at(ctx, rev)
	return true, true, nil
}

// commitTry bounds one try of a commit; see commit.
const commitTry = 1500 * time.Millisecond

// retryable reports a commit try that may be sent again: cut off by its
// own timeout, refused without a leader, or lost with a member. Size
// refusals, a full quota and other errors are final.
func retryable(err error) bool {
	switch {
	case errors.Is(err, rpctypes.ErrTooManyOps), errors.Is(err, rpctypes.ErrRequestTooLarge), errors.Is(err, rpctypes.ErrNoSpace):
		return false
	case errors.Is(err, context.DeadlineExceeded), status.Code(err) == codes.DeadlineExceeded:
		return true
	}
	return errors.Is(unavailable(err), storage.ErrUnavailable)
}

// markerPrefix holds the markers of commits: one key per commit, created
// by the commit itself, named after the time it was made, and removed with
// the others of its minute by sweepMarkers once markerTTL has passed.
const markerPrefix = "n/"

// marker returns a fresh marker key: markerPrefix, the Unix time in
// seconds (zero-padded, so that keys sort by time), a random suffix.
func (b *Backend) marker() string {
	var id [12]byte
	crand.Read(id[:])
	return fmt.Sprintf("%s%016d/%s", markerPrefix, time.Now().Unix(), hex.EncodeToString(id[:]))
}

// sweepMarkers deletes, every minute until Close, the markers older than
// markerTTL, with one range deletion. Every node sweeps; a sweep that
// finds nothing changes nothing.
func (b *Backend) sweepMarkers() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		if err := b.sweepOnce(time.Now()); err != nil && b.ctx.Err() == nil {
			b.log.Warn("etcd: sweeping old commit markers failed; next minute again", "err", err)
		}
	}
}

// sweepOnce deletes the markers made before now less markerTTL.
func (b *Backend) sweepOnce(now time.Time) error {
	ctx, cancel := b.opCtx(context.Background())
	defer cancel()
	cutoff := fmt.Sprintf("%s%016d", markerPrefix, now.Add(-markerTTL).Unix())
	_, err := b.cli.Delete(ctx, markerPrefix, clientv3.WithRange(cutoff))
	return err
}

// markerTTL is how long a commit's marker lives at least: far longer
// than every try of its commit (RequestTimeout).
const markerTTL = 10 * time.Minute

// conditions are the comparisons that hold exactly when nothing the
// snapshot's reads saw has changed, or, when they would exceed maxOps
// comparisons or about maxBytes, the one that holds when no Update has
// committed since the snapshot.
func (s *snapshot) conditions(maxOps, maxBytes int) []clientv3.Cmp {
	if len(s.reads)+len(s.ranges) <= maxOps {
		size := 0
		for k := range s.reads {
			size += len(k) + 32
		}
		for _, r := range s.ranges {
			size += len(r.start) + len(r.end) + 32
		}
		if size <= maxBytes {
			cmps := make([]clientv3.Cmp, 0, len(s.reads)+len(s.ranges))
			for k, rev := range s.reads {
				cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(dataPrefix+k), "=", rev))
			}
			for _, r := range s.ranges {
				cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(r.start), "<", s.rev+1).WithRange(r.end))
			}
			return cmps
		}
	}
	return []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(fenceKey), "<", s.rev+1)}
}

// safely runs fn, turning a panic into an error for its caller alone.
func safely(fn func(storage.Tx) error, t storage.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("etcd: update function panicked: %v", r)
		}
	}()
	return fn(t)
}
