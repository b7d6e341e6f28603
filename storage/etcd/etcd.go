// Package etcd is a storage.Backend on an etcd cluster: several Arca nodes
// share one store, learn of each other's writes by watching it and elect
// the node that runs the background jobs.
//
// # Layout
//
// Every key lives under Config.Prefix (etcd's namespace wrappers add it):
// the backend's keys under "d/", the commit fence "m/fence", the
// elections under "e/NAME/" and the commits' markers under "n/".
//
// # Reads
//
// Each node keeps a replica of the keys in memory, fed by one etcd watch
// of the namespace (as Kubernetes' API server serves reads from its watch
// cache). A read first learns, linearizably, the revision of the last
// Update committed anywhere (the fence's), then waits until the replica has
// applied it and reads a copy-on-write snapshot of it: reads are
// linearizable, and concurrent reads share one round trip to etcd, so
// under load a read costs a fraction of one.
//
// # Transactions
//
// A node's Updates are group-committed: those that arrive while a commit
// is under way run next, one after the other on one snapshot of the
// replica (as it stands: no round trip), each seeing the writes of those
// before it, and their writes go to etcd in one transaction with the
// fence, on condition that nothing any of them read has changed since the
// snapshot: each key read still has the modification revision it had (a
// missing key is still missing) and no key newer than the snapshot
// appeared in a range scanned. The condition proves the reads current at
// commit, so the batch is strictly serializable; if another node changed
// any of it, the batch runs again once the replica has caught up. A batch
// that writes nothing, and the errors of functions that failed, are
// answered only once proven otherwise: the snapshot must be at least the
// fence's revision, read after it, or the batch runs again on one that is.
// When the condition would exceed etcd's limits on one request it falls
// back to the fence itself not having moved (no Update at all committed
// since the snapshot). Updates committed together share a revision. etcd
// acknowledges a transaction once a quorum has it in its write-ahead log,
// fsynced, and Update returns nil only then (and once this node's replica
// has it).
//
// A commit whose answer does not come (raft loses the proposals forwarded
// to a leader that dies; a member dies before answering) is sent again
// until the request timeout. Each commit also creates a marker key of its
// own, on condition that it does not exist yet, so at most one try
// commits, and a try that fails finds the marker when an earlier one went
// through: a commit is applied once and acknowledged, not refused, across
// a leader change. Markers are swept after ten minutes.
//
// Revisions are etcd's: the revision of an Update is the revision of its
// transaction, Revision is the fence's last modification, and Watch is an
// etcd watch from that revision on, so revisions grow across restarts and
// across nodes.
package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arcakv/arca/storage"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/namespace"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	dataPrefix  = "d/"
	fenceKey    = "m/fence"
	electPrefix = "e/"
)

// Backend is an etcd-backed storage.Backend with the Watcher and Elector
// capabilities. Safe for concurrent use.
type Backend struct {
	cli       *clientv3.Client
	c         Config
	log       *slog.Logger
	ctx       context.Context // canceled by Close
	cancel    context.CancelFunc
	closed    atomic.Bool
	rep       *replica
	fences    *fences
	committer *committer

	mu      sync.Mutex
	leaders map[*leadership]struct{}

	// lostAnswer, set by tests only, drops the answer of a commit try that
	// went through when it reports true (an answer lost with a member).
	lostAnswer func() bool

	sweeper chan struct{} // closed when sweepMarkers has returned

}

var (
	_ storage.Backend = (*Backend)(nil)
	_ storage.Watcher = (*Backend)(nil)
	_ storage.Elector = (*Backend)(nil)
)

// Open connects to the cluster c describes and checks that it answers (a
// linearizable read, so a quorum is up). Errors: an invalid Config,
// unreadable TLS files, a cluster that does not answer within
// c.DialTimeout (wrapping storage.ErrUnavailable).
func Open(ctx context.Context, c Config) (*Backend, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	var tlsCfg *tls.Config
	if c.CACert != "" || c.Cert != "" {
		info := transport.TLSInfo{TrustedCAFile: c.CACert, CertFile: c.Cert, KeyFile: c.Key}
		cfg, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd: TLS: %w", err)
		}
		cfg.MinVersion = tls.VersionTLS12
		tlsCfg = cfg
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: c.Endpoints, DialTimeout: c.DialTimeout, TLS: tlsCfg, Logger: zap.NewNop(),
		DialKeepAliveTime: 10 * time.Second, DialKeepAliveTimeout: 5 * time.Second,
		MaxCallSendMsgSize: c.MaxRequestBytes + 64<<10, MaxCallRecvMsgSize: 64 << 20,
		RejectOldCluster: true,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: %w", unavailable(err))
	}
	cli.KV = namespace.NewKV(cli.KV, c.Prefix)
	cli.Watcher = namespace.NewWatcher(cli.Watcher, c.Prefix)
	cli.Lease = namespace.NewLease(cli.Lease, c.Prefix)
	bctx, cancel := context.WithCancel(context.Background())
	b := &Backend{cli: cli, c: c, log: c.Log, ctx: bctx, cancel: cancel, leaders: map[*leadership]struct{}{}}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.rep, b.fences = &replica{b: b}, &fences{b: b}
	pctx, pcancel := context.WithTimeout(ctx, c.DialTimeout)
	defer pcancel()
	if err := b.rep.start(pctx); err != nil {
		cli.Close()
		cancel()
		return nil, fmt.Errorf("etcd: cluster %v does not answer: %w", c.Endpoints, err)
	}
	b.committer = newCommitter(b)
	b.sweeper = make(chan struct{})
	go func() { defer close(b.sweeper); b.sweepMarkers() }()
	return b, nil
}

// Close stops the backend: running Updates, Views and Watches end with
// storage.ErrClosed, leaderships end (their leases are revoked, so a
// successor wins at once). It may be called more than once.
func (b *Backend) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	b.mu.Lock()
	ls := make([]*leadership, 0, len(b.leaders))
	for l := range b.leaders {
		ls = append(ls, l)
	}
	b.mu.Unlock()
	for _, l := range ls {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = l.Resign(ctx)
		cancel()
	}
	b.cancel()
	b.committer.close()
	<-b.rep.stopped // the feed and the sweeper use the client until they return
	<-b.sweeper
	return b.cli.Close()
}

// opCtx is ctx bounded by the request timeout and canceled by Close. Its
// requests require a leader: a member that has none (an election under
// way) refuses them at once with rpctypes.ErrNoLeader, before proposing
// anything, instead of holding them until the timeout; the hot paths
// (commits, fence reads) retry such refusals until the timeout.
func (b *Backend) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, b.c.RequestTimeout)
	stop := context.AfterFunc(b.ctx, cancel)
	return clientv3.WithRequireLeader(ctx), func() { stop(); cancel() }
}

// noLeader reports a refusal by a member without a leader: nothing was
// proposed, so the request may be sent again.
func noLeader(err error) bool { return errors.Is(err, rpctypes.ErrNoLeader) }

// leaderWait is the pause before asking again after noLeader.
const leaderWait = 50 * time.Millisecond

// sleepCtx waits d unless ctx ends first (false then).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// wrap classifies an error of the client: ErrClosed after Close, ctx's
// own error when the caller's context ended, storage.ErrTooLarge for
// etcd's size limits, storage.ErrUnavailable for what a retry may cure
// (no leader, timeouts, unreachable members).
func (b *Backend) wrap(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if b.closed.Load() {
		return storage.ErrClosed
	}
	if cerr := ctx.Err(); cerr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		status.Code(err) == codes.Canceled || status.Code(err) == codes.DeadlineExceeded) {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return fmt.Errorf("etcd: no answer within %v: %w", b.c.RequestTimeout, storage.ErrUnavailable)
		}
		return cerr
	}
	return unavailable(err)
}

func unavailable(err error) error {
	switch {
	case errors.Is(err, storage.ErrTooLarge), errors.Is(err, storage.ErrUnavailable), errors.Is(err, storage.ErrClosed):
		return err // classified already
	case errors.Is(err, rpctypes.ErrTooManyOps), errors.Is(err, rpctypes.ErrRequestTooLarge),
		status.Code(err) == codes.ResourceExhausted:
		return fmt.Errorf("etcd: %v: %w", err, storage.ErrTooLarge)
	case errors.Is(err, rpctypes.ErrNoSpace):
		return fmt.Errorf("etcd: %v (the cluster reached its --quota-backend-bytes: compact, defragment and disarm the alarm): %w", err, storage.ErrUnavailable)
	case errors.Is(err, rpctypes.ErrNoLeader), errors.Is(err, rpctypes.ErrLeaderChanged), errors.Is(err, rpctypes.ErrTimeout),
		errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail), errors.Is(err, rpctypes.ErrStopped), errors.Is(err, rpctypes.ErrNotCapable),
		errors.Is(err, context.DeadlineExceeded),
		status.Code(err) == codes.Unavailable, status.Code(err) == codes.DeadlineExceeded:
		return fmt.Errorf("etcd: %w: %w", err, storage.ErrUnavailable)
	}
	return fmt.Errorf("etcd: %w", err)
}

// View runs fn on a consistent snapshot of this node's replica, at a
// revision that includes every Update committed before View was called,
// on any node (see the package comment). Errors: fn's,
// storage.ErrClosed, storage.ErrUnavailable, ctx's.
func (b *Backend) View(ctx context.Context, fn func(storage.Reader) error) error {
	if b.closed.Load() {
		return storage.ErrClosed
	}
	octx, cancel := b.opCtx(ctx)
	defer cancel()
	s, err := b.snapshot(octx)
	if err != nil {
		return err
	}
	return fn(s)
}

// snapshot is the replica once it has caught up with the fence read now.
func (b *Backend) snapshot(ctx context.Context) (*snapshot, error) {
	rev, err := b.fences.read(ctx)
	if err != nil {
		return nil, b.wrap(ctx, err)
	}
	tree, at, err := b.rep.at(ctx, rev)
	if err != nil {
		return nil, b.wrapWait(ctx, err)
	}
	return &snapshot{tree: tree, rev: at}, nil
}

// wrapWait classifies the error of a wait for the replica: the caller's
// own context's end stays what it is.
func (b *Backend) wrapWait(ctx context.Context, err error) error {
	if b.closed.Load() {
		return storage.ErrClosed
	}
	if errors.Is(err, storage.ErrUnavailable) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	return err
}

// Update runs fn in a transaction (see the package comment; fn may run
// more than once). Errors: fn's, storage.ErrClosed, storage.ErrUnavailable
// (the outcome is unknown when the commit itself was cut off),
// storage.ErrTooLarge, ctx's.
func (b *Backend) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if b.closed.Load() {
		return storage.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.committer.update(ctx, fn)
}

// Revision is the revision of the last committed Update (0 for a store
// never written), read linearizably.
func (b *Backend) Revision(ctx context.Context) (int64, error) {
	if b.closed.Load() {
		return 0, storage.ErrClosed
	}
	octx, cancel := b.opCtx(ctx)
	defer cancel()
	rev, err := b.fences.read(octx)
	return rev, b.wrap(octx, err)
}
