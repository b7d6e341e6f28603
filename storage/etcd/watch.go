package etcd

import (
	"context"
	"errors"
	"fmt"

	"github.com/arcakv/arca/storage"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// watchBuffer is how many events a watcher may fall behind before it is
// dropped (storage.ErrCompacted): etcd keeps sending, and an unbounded
// queue would let one stuck watcher hold any amount of memory.
const watchBuffer = 4096

// Watch implements storage.Watcher with an etcd watch of the data keys
// under prefix from fromRev+1. The watch requires a leader: a member cut
// off from the quorum ends it (storage.ErrUnavailable) rather than leave
// the watcher silently behind. Errors: storage.ErrCompacted when etcd has
// compacted fromRev away or the watcher fell watchBuffer events behind,
// storage.ErrClosed, storage.ErrUnavailable, ctx's error, fn's error.
func (b *Backend) Watch(ctx context.Context, prefix string, fromRev int64, fn func(storage.Event) error) error {
	if b.closed.Load() {
		return storage.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	stop := context.AfterFunc(b.ctx, cancel)
	defer stop()
	wch := b.cli.Watch(wctx, dataPrefix+prefix, clientv3.WithPrefix(), clientv3.WithRev(fromRev+1))
	events := make(chan storage.Event, watchBuffer)
	var end error // set before events is closed
	go func() {
		defer close(events)
		for resp := range wch {
			if err := resp.Err(); err != nil {
				end = b.watchErr(ctx, &resp, err)
				cancel()
				return
			}
			for _, ev := range resp.Events {
				e := storage.Event{Key: string(ev.Kv.Key[len(dataPrefix):]), Revision: ev.Kv.ModRevision,
					Deleted: ev.Type == clientv3.EventTypeDelete}
				select {
				case events <- e:
				default: // the watcher fell too far behind: drop it
					end = fmt.Errorf("etcd: watcher more than %d events behind: %w", watchBuffer, storage.ErrCompacted)
					cancel()
					return
				}
			}
		}
		end = b.watchErr(ctx, nil, nil)
	}()
	for e := range events {
		if err := fn(e); err != nil {
			cancel()
			for range events { // let the reader finish
			}
			return err
		}
	}
	return end
}

// watchErr says why a watch ended: err (the response's) classified, or the
// end of the channel: Close, the caller's ctx, or the server.
func (b *Backend) watchErr(ctx context.Context, resp *clientv3.WatchResponse, err error) error {
	switch {
	case b.closed.Load():
		return storage.ErrClosed
	case resp != nil && (resp.CompactRevision != 0 || errors.Is(err, rpctypes.ErrCompacted)):
		return fmt.Errorf("etcd: watch from a compacted revision (compacted up to %d): %w", resp.CompactRevision, storage.ErrCompacted)
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return unavailable(err)
	}
	return fmt.Errorf("etcd: watch ended: %w", storage.ErrUnavailable)
}
