package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/arcakv/arca/storage"
	"github.com/google/btree"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// item is one data key of the replica, with its etcd modification revision.
type item struct {
	key   string // without dataPrefix
	value []byte
	mod   int64
}

func itemLess(a, b item) bool { return a.key < b.key }

// loadPage is how many keys one range request of a (re)load returns.
const loadPage = 2048

// replica is this node's copy of the backend's keys, fed by one etcd watch
// of the whole namespace: reads are served from it, at a revision at least
// as recent as the last Update committed anywhere before the read began
// (see fences). rev is the revision of the last event applied: every
// committed Update writes the fence, which the watch covers, so rev reaches
// an Update's revision exactly when all its writes are applied. The tree is
// copy-on-write: a read takes a clone (O(1)) and keeps a consistent
// snapshot while events go on being applied.
type replica struct {
	b *Backend

	mu      sync.Mutex
	tree    *btree.BTreeG[item]
	rev     int64
	changed chan struct{} // closed and replaced whenever rev moves
	err     error         // why the feed is not following (nil while it is)

	stopped chan struct{} // closed when follow has returned
}

// load reads every data key at one revision, a page at a time; the first
// page's read is linearizable and fixes the revision.
func (r *replica) load(ctx context.Context) (*btree.BTreeG[item], int64, error) {
	b := r.b
	tree := btree.NewG(32, itemLess)
	end := clientv3.GetPrefixRangeEnd(dataPrefix)
	start, rev := dataPrefix, int64(0)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(loadPage),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		octx, cancel := b.opCtx(ctx)
		resp, err := b.cli.Get(octx, start, opts...)
		cancel()
		if err != nil {
			return nil, 0, b.wrap(octx, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			tree.ReplaceOrInsert(item{key: string(kv.Key[len(dataPrefix):]), value: kv.Value, mod: kv.ModRevision})
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return tree, rev, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// start loads the replica (Open fails if it cannot) and follows the store
// until Close.
func (r *replica) start(ctx context.Context) error {
	tree, rev, err := r.load(ctx)
	if err != nil {
		return err
	}
	r.tree, r.rev, r.changed = tree, rev, make(chan struct{})
	r.stopped = make(chan struct{})
	go func() { defer close(r.stopped); r.follow() }()
	return nil
}

// follow applies the watch's events; when the watch ends it watches again
// from the last applied revision, and when that history is gone it loads
// everything again (reads wait meanwhile, up to their timeout).
func (r *replica) follow() {
	b := r.b
	backoff := 50 * time.Millisecond
	for b.ctx.Err() == nil {
		err := r.watch()
		if b.ctx.Err() != nil {
			return
		}
		r.setErr(err)
		if errors.Is(err, storage.ErrCompacted) {
			tree, rev, lerr := r.load(b.ctx)
			if lerr == nil {
				r.mu.Lock()
				r.tree, r.rev, r.err = tree, max(rev, r.rev), nil
				r.notifyLocked()
				r.mu.Unlock()
				backoff = 50 * time.Millisecond
				continue
			}
			r.setErr(lerr)
		}
		b.log.Warn("etcd: the replica stopped following the store; retrying", "err", err, "in", backoff)
		select {
		case <-b.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (r *replica) setErr(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// watch follows the namespace from rev+1 until the watch fails.
func (r *replica) watch() error {
	b := r.b
	r.mu.Lock()
	from := r.rev + 1
	r.mu.Unlock()
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(b.ctx))
	defer cancel()
	// [d/, m/fence]: the data keys and the fence (and the elections in
	// between, whose events only move rev on).
	wch := b.cli.Watch(wctx, dataPrefix, clientv3.WithRange(fenceKey+"\x00"), clientv3.WithRev(from))
	for resp := range wch {
		if err := resp.Err(); err != nil {
			if resp.CompactRevision != 0 || errors.Is(err, rpctypes.ErrCompacted) {
				return fmt.Errorf("etcd: replica: %w", storage.ErrCompacted)
			}
			return unavailable(err)
		}
		if len(resp.Events) == 0 {
			continue
		}
		r.mu.Lock()
		for _, ev := range resp.Events {
			if k := string(ev.Kv.Key); strings.HasPrefix(k, dataPrefix) {
				if ev.Type == clientv3.EventTypeDelete {
					r.tree.Delete(item{key: k[len(dataPrefix):]})
				} else {
					r.tree.ReplaceOrInsert(item{key: k[len(dataPrefix):], value: ev.Kv.Value, mod: ev.Kv.ModRevision})
				}
			}
			r.rev = max(r.rev, ev.Kv.ModRevision)
		}
		r.err = nil
		r.notifyLocked()
		r.mu.Unlock()
	}
	if b.ctx.Err() != nil {
		return storage.ErrClosed
	}
	return fmt.Errorf("etcd: replica watch ended: %w", storage.ErrUnavailable)
}

func (r *replica) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// latest is a snapshot of the replica as it stands.
func (r *replica) latest() *snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &snapshot{tree: r.tree.Clone(), rev: r.rev}
}

// stale reports whether a key snap read has changed in the replica since
// (a commit of another node the replica has applied): its commit would
// fail. Scanned ranges are left to etcd's check.
func (r *replica) stale(snap *snapshot) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rev == snap.rev {
		return false
	}
	for k, mod := range snap.reads {
		var cur int64
		if it, ok := r.tree.Get(item{key: k}); ok {
			cur = it.mod
		}
		if cur != mod {
			return true
		}
	}
	return false
}

// at returns a snapshot of the replica at a revision of at least rev, and
// that revision, waiting for the feed to get there until ctx ends.
func (r *replica) at(ctx context.Context, rev int64) (*btree.BTreeG[item], int64, error) {
	for {
		r.mu.Lock()
		if r.rev >= rev {
			t, cur := r.tree.Clone(), r.rev
			r.mu.Unlock()
			return t, cur, nil
		}
		ch, ferr := r.changed, r.err
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			if r.b.closed.Load() {
				return nil, 0, storage.ErrClosed
			}
			return nil, 0, fmt.Errorf("etcd: this node's replica has not reached revision %d (feed: %v): %w", rev, ferr, storage.ErrUnavailable)
		}
	}
}

// fences reads the fence's revision, the revision of the last Update
// committed anywhere, linearizably, sharing one read among the callers that
// arrive together: a caller joins a read that starts after it arrived (the
// next one, when one is already under way), so the revision it gets covers
// every Update that committed before it asked.
type fences struct {
	b *Backend

	mu       sync.Mutex
	inflight bool
	next     *fenceRead
}

type fenceRead struct {
	done chan struct{}
	rev  int64
	err  error
}

// read returns the fence's revision (0 for a store never written).
func (f *fences) read(ctx context.Context) (int64, error) {
	f.mu.Lock()
	if f.next == nil {
		f.next = &fenceRead{done: make(chan struct{})}
	}
	my := f.next
	if !f.inflight {
		f.launchLocked()
	}
	f.mu.Unlock()
	select {
	case <-my.done:
		return my.rev, my.err
	case <-ctx.Done():
		if f.b.closed.Load() {
			return 0, storage.ErrClosed
		}
		return 0, ctx.Err()
	}
}

func (f *fences) launchLocked() {
	r := f.next
	f.next, f.inflight = nil, true
	go func() {
		ctx, cancel := f.b.opCtx(context.Background())
		resp, err := f.b.cli.Get(ctx, fenceKey)
		for noLeader(err) && sleepCtx(ctx, leaderWait) {
			resp, err = f.b.cli.Get(ctx, fenceKey)
		}
		if err != nil {
			r.err = f.b.wrap(ctx, err)
		} else if len(resp.Kvs) > 0 {
			r.rev = resp.Kvs[0].ModRevision
		}
		cancel()
		f.mu.Lock()
		f.inflight = false
		if f.next != nil {
			f.launchLocked()
		}
		f.mu.Unlock()
		close(r.done)
	}()
}
