package storage

import (
	"context"
	"errors"
	"fmt"
)

// Follow keeps a cache of what is stored under prefix in step with b,
// whoever writes to b: it is how a process sharing a store with others
// learns of their writes. It runs the protocol Watcher describes: read b's
// revision, call reset, then watch prefix from that revision and call
// changed for every event, on Follow's goroutine, one at a time. When the
// watch is compacted (ErrCompacted: history lost, or the watcher dropped
// for falling behind) it starts again from reset, so no change is
// ever missed.
//
// reset must drop (or reload) everything the cache holds under prefix: the
// changes before the revision Follow read are not replayed. changed must
// drop (or reload) what the event's key stands for; it must be harmless
// when the cache already reflects the change (a change committed before
// the revision was read, or made by this process, which updated its own
// cache at once), so it should drop entries rather than apply anything
// carried by the event.
//
// Follow runs until ctx ends and then returns ctx's error. It returns at
// once an error wrapping errors.ErrUnsupported when b cannot watch (not a
// Watcher, or a decorator over a backend that is not one): a process alone
// on its store has nothing to follow and may ignore that error. It returns
// ErrClosed when b closes, and otherwise the first error of b's Revision or
// Watch, of reset or of changed; the cache is then no longer followed and
// the caller should log the error and call Follow again (it starts afresh
// with reset).
func Follow(ctx context.Context, b Backend, prefix string, reset func(context.Context) error, changed func(Event) error) error {
	w, ok := b.(Watcher)
	if !ok {
		return fmt.Errorf("storage: %T cannot watch: %w", b, errors.ErrUnsupported)
	}
	for {
		rev, err := w.Revision(ctx)
		if err != nil {
			return followErr(ctx, err)
		}
		if err := reset(ctx); err != nil {
			return followErr(ctx, err)
		}
		err = w.Watch(ctx, prefix, rev, changed)
		if !errors.Is(err, ErrCompacted) {
			return followErr(ctx, err)
		}
	}
}

// followErr is ctx's error once ctx has ended (the error of the call it
// interrupted says less), err otherwise.
func followErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil { // a Watch that broke its contract
		return errors.New("storage: Watch returned nil")
	}
	return err
}
