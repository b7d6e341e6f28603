package etcd

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/arcakv/arca/storage"
	"github.com/google/uuid"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Campaign implements storage.Elector with etcd's election recipe
// (concurrency.Election) under "e/NAME/", one session (lease of
// Config.SessionTTL) per campaign: the leadership ends when the lease
// expires (a node that died or was cut off loses it within the TTL), when
// ctx ends, on Resign and on Close. Errors: ctx's, storage.ErrClosed,
// storage.ErrUnavailable.
func (b *Backend) Campaign(ctx context.Context, name string) (storage.Leadership, error) {
	if b.closed.Load() {
		return nil, storage.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The lease is granted here, within ctx and the request timeout (the
	// session would grant it under its keep-alive context, which only
	// Close ends); the session keeps it alive until Close.
	sctx, cancel := b.opCtx(ctx)
	lease, err := b.cli.Grant(sctx, int64(b.c.SessionTTL/time.Second))
	cancel()
	if err != nil {
		return nil, b.campaignErr(ctx, sctx, err)
	}
	// WithTTL bounds the revocation in Session.Close (60 s otherwise, when
	// the cluster is unreachable).
	s, err := concurrency.NewSession(b.cli, concurrency.WithLease(lease.ID), concurrency.WithContext(b.ctx),
		concurrency.WithTTL(int(b.c.SessionTTL/time.Second)))
	if err != nil {
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = b.cli.Revoke(rctx, lease.ID)
		cancel()
		return nil, b.campaignErr(ctx, sctx, err)
	}
	e := concurrency.NewElection(s, electPrefix+name+"/")
	// Campaign itself waits as long as ctx allows; Close ends it too.
	cctx, ccancel := context.WithCancel(ctx)
	stop := context.AfterFunc(b.ctx, ccancel)
	err = e.Campaign(cctx, uuid.NewString())
	stop()
	ccancel()
	if err != nil {
		s.Close()
		return nil, b.campaignErr(ctx, cctx, err)
	}
	l := &leadership{b: b, s: s, e: e, done: make(chan struct{}), resign: make(chan struct{})}
	b.mu.Lock()
	if b.closed.Load() {
		b.mu.Unlock()
		l.end(context.Background())
		return nil, storage.ErrClosed
	}
	b.leaders[l] = struct{}{}
	b.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-s.Done(): // the lease expired or could not be renewed
		case <-l.resign:
			return
		}
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		l.end(rctx)
	}()
	return l, nil
}

func (b *Backend) campaignErr(ctx, opCtx context.Context, err error) error {
	if b.closed.Load() {
		return storage.ErrClosed
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return b.wrap(opCtx, err)
}

// leadership is a won election. Done closes before the election key is
// deleted, so a successor never wins while Done is open.
type leadership struct {
	b      *Backend
	s      *concurrency.Session
	e      *concurrency.Election
	done   chan struct{}
	resign chan struct{}
	once   sync.Once
	err    error
}

func (l *leadership) Done() <-chan struct{} { return l.done }

// Resign implements storage.Leadership: Done is closed, then the election
// key is deleted and the lease revoked (if that fails, the lease's expiry
// frees the name).
func (l *leadership) Resign(ctx context.Context) error {
	l.end(ctx)
	return nil
}

func (l *leadership) end(ctx context.Context) {
	l.once.Do(func() {
		close(l.resign)
		close(l.done)
		l.b.mu.Lock()
		delete(l.b.leaders, l)
		l.b.mu.Unlock()
		err := l.e.Resign(ctx)
		if cerr := l.s.Close(); err == nil && !errors.Is(cerr, context.Canceled) {
			err = cerr
		}
		l.err = err
	})
}
