package etcd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/arcakv/arca/storage"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxConflicts bounds how often an Update runs again after losing the race
// to another writer before its caller gets storage.ErrUnavailable.
const maxConflicts = 64

// update runs fn on fresh snapshots until its commit succeeds (see the
// package comment).
func (b *Backend) update(ctx context.Context, fn func(storage.Tx) error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := b.attempt(ctx, fn)
		if err != nil || ok {
			return err
		}
		if attempt == maxConflicts {
			return fmt.Errorf("etcd: %d conflicting commits in a row: %w", maxConflicts, storage.ErrUnavailable)
		}
		if err := pause(ctx, attempt); err != nil {
			return err
		}
	}
}

// pause spreads the retries of writers that keep conflicting: a random
// wait that grows with the attempts, up to 50 ms.
func pause(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	d := time.Duration(rand.Int64N(int64(min(attempt, 50)) * int64(time.Millisecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attempt runs fn once and commits its writes; ok is false when another
// writer changed what fn read (the caller runs it again).
func (b *Backend) attempt(ctx context.Context, fn func(storage.Tx) error) (ok bool, err error) {
	octx, cancel := b.opCtx(ctx)
	defer cancel()
	snap, err := b.snapshot(octx)
	if err != nil {
		return false, err
	}
	t := &tx{snap: snap, own: overlay{}}
	if err := safely(fn, t); err != nil {
		return false, err
	}
	ok, err = b.commit(octx, snap, t.own)
	return ok, b.wrap(octx, err)
}

// commit sends writes with the fence, on condition that nothing the
// function read has changed since the snapshot: every key it read has the
// modification revision it had (0: still missing), and no key appeared in
// a range it scanned. When that takes more comparisons than etcd allows in
// one request, the condition is coarser: no Update committed since the
// snapshot (the fence has not moved). Deletes of keys that did not exist
// at the snapshot are dropped, and writes that change nothing send nothing
// (the revision stays). ok is false on a conflict.
func (b *Backend) commit(ctx context.Context, snap *snapshot, writes overlay) (ok bool, err error) {
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
		return true, nil
	}
	if len(keys)+1 > b.c.MaxTxnOps || size > b.c.MaxRequestBytes {
		return false, fmt.Errorf("etcd: one transaction of %d keys and about %d bytes exceeds the cluster's limits (%d operations, %d bytes: etcd's --max-txn-ops and --max-request-bytes): %w",
			len(keys), size, b.c.MaxTxnOps, b.c.MaxRequestBytes, storage.ErrTooLarge)
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
	txn := b.cli.Txn(ctx).If(snap.conditions(b.c.MaxTxnOps, b.c.MaxRequestBytes-size)...)
	resp, err := txn.Then(ops...).Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

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
