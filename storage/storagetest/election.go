package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arcakv/arca/storage"
)

type won struct {
	l   storage.Leadership
	err error
	// prevDone reports whether the previous holder's Done was closed when
	// this campaign won.
	prevDone bool
}

// campaign runs e.Campaign on its own goroutine; prev is the current
// holder, if any.
func campaign(ctx context.Context, e storage.Elector, name string, prev storage.Leadership) <-chan won {
	c := make(chan won, 1)
	go func() {
		l, err := e.Campaign(ctx, name)
		w := won{l: l, err: err}
		if prev != nil {
			select {
			case <-prev.Done():
				w.prevDone = true
			default:
			}
		}
		c <- w
	}()
	return c
}

func (c won) mustWin(t *testing.T) storage.Leadership {
	t.Helper()
	if c.err != nil {
		t.Fatalf("Campaign: %v", c.err)
	}
	return c.l
}

func await(t *testing.T, c <-chan won) won {
	t.Helper()
	select {
	case w := <-c:
		return w
	case <-time.After(wait):
		t.Fatalf("Campaign did not return within %v", wait)
	}
	panic("unreachable")
}

func isDone(l storage.Leadership) bool {
	select {
	case <-l.Done():
		return true
	default:
		return false
	}
}

func runElection(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	// LeadershipExclusive: while a name is held, another campaign for it
	// does not win; other names are independent.
	t.Run("LeadershipExclusive", func(t *testing.T) {
		b := newBackend(t)
		e := need(t, b, asElector, "storage.Elector")
		ctx := t.Context()
		l1 := await(t, campaign(ctx, e, "job", nil)).mustWin(t)
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if w := await(t, campaign(short, e, "job", nil)); !errors.Is(w.err, context.DeadlineExceeded) {
			t.Fatalf("a second campaign for a held name returned %v, want its deadline", w.err)
		}
		other := await(t, campaign(ctx, e, "other", nil)).mustWin(t)
		if err := other.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		if isDone(l1) {
			t.Fatal("the leadership ended by itself")
		}
	})

	// LeadershipHandedOverOnResign: Resign closes Done and lets the waiting
	// campaign win; resigning twice is harmless.
	t.Run("LeadershipHandedOverOnResign", func(t *testing.T) {
		b := newBackend(t)
		e := need(t, b, asElector, "storage.Elector")
		ctx := t.Context()
		l1 := await(t, campaign(ctx, e, "job", nil)).mustWin(t)
		next := campaign(ctx, e, "job", l1)
		select {
		case w := <-next:
			t.Fatalf("a campaign won a held name: %+v", w)
		default:
		}
		if err := l1.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		if !isDone(l1) {
			t.Fatal("Done is open after Resign returned")
		}
		w := await(t, next)
		l2 := w.mustWin(t)
		if !w.prevDone {
			t.Fatal("the next leader won before the previous one's Done closed")
		}
		if err := l1.Resign(ctx); err != nil {
			t.Fatalf("second Resign: %v", err)
		}
		if isDone(l2) {
			t.Fatal("resigning an old leadership ended the new one")
		}
		if err := l2.Resign(ctx); err != nil {
			t.Fatal(err)
		}
	})

	// LeadershipHandedOverOnCancel: when the context a leadership was won
	// with ends, the leadership ends and passes to the next campaign.
	t.Run("LeadershipHandedOverOnCancel", func(t *testing.T) {
		b := newBackend(t)
		e := need(t, b, asElector, "storage.Elector")
		ctx := t.Context()
		c1, cancel1 := context.WithCancel(ctx)
		l1 := await(t, campaign(c1, e, "job", nil)).mustWin(t)
		next := campaign(ctx, e, "job", l1)
		cancel1()
		select {
		case <-l1.Done():
		case <-time.After(wait):
			t.Fatal("the leadership outlived its context")
		}
		w := await(t, next)
		w.mustWin(t)
		if !w.prevDone {
			t.Fatal("the next leader won before the previous one's Done closed")
		}
	})

	// CanceledCampaignNeverWins: a campaign whose context ends returns its
	// error and does not take the name later.
	t.Run("CanceledCampaignNeverWins", func(t *testing.T) {
		b := newBackend(t)
		e := need(t, b, asElector, "storage.Elector")
		ctx := t.Context()
		l1 := await(t, campaign(ctx, e, "job", nil)).mustWin(t)
		c2, cancel2 := context.WithCancel(ctx)
		waiting := campaign(c2, e, "job", nil)
		cancel2()
		if w := await(t, waiting); !errors.Is(w.err, context.Canceled) || w.l != nil {
			t.Fatalf("canceled campaign: %+v, want context.Canceled", w)
		}
		if err := l1.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		l3 := await(t, campaign(ctx, e, "job", nil)).mustWin(t)
		if err := l3.Resign(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
