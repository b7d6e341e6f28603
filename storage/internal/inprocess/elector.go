package inprocess

import (
	"context"
	"sync"

	"github.com/arcakv/arca/storage"
)

// Elector grants named leaderships within one process: a name is a mutex
// that a campaign takes and a resignation releases. The zero value is not
// usable; call NewElector. Safe for concurrent use.
type Elector struct {
	mu     sync.Mutex
	seats  map[string]chan struct{} // capacity 1: full while the name is held
	held   map[*leadership]struct{}
	closed chan struct{}
}

// NewElector returns an Elector with no leaderships.
func NewElector() *Elector {
	return &Elector{seats: map[string]chan struct{}{}, held: map[*leadership]struct{}{}, closed: make(chan struct{})}
}

// Campaign implements storage.Elector.Campaign.
func (e *Elector) Campaign(ctx context.Context, name string) (storage.Leadership, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	select {
	case <-e.closed:
		e.mu.Unlock()
		return nil, storage.ErrClosed
	default:
	}
	seat := e.seats[name]
	if seat == nil {
		seat = make(chan struct{}, 1)
		e.seats[name] = seat
	}
	e.mu.Unlock()

	select {
	case seat <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.closed:
		return nil, storage.ErrClosed
	}
	l := &leadership{e: e, seat: seat, done: make(chan struct{})}
	e.mu.Lock()
	select {
	case <-e.closed: // closed while we took the seat
		e.mu.Unlock()
		<-seat
		return nil, storage.ErrClosed
	default:
	}
	e.held[l] = struct{}{}
	e.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			l.end()
		case <-l.done:
		}
	}()
	return l, nil
}

// Close ends every leadership and every campaign (storage.ErrClosed), and
// refuses new ones. It may be called more than once.
func (e *Elector) Close() {
	e.mu.Lock()
	select {
	case <-e.closed:
	default:
		close(e.closed)
	}
	held := e.held
	e.held = map[*leadership]struct{}{}
	e.mu.Unlock()
	for l := range held {
		l.end()
	}
}

type leadership struct {
	e    *Elector
	seat chan struct{}
	done chan struct{}
	once sync.Once
}

func (l *leadership) Done() <-chan struct{} { return l.done }

func (l *leadership) Resign(context.Context) error {
	l.end()
	return nil
}

// end closes Done before it frees the seat, so the next holder is chosen
// only after this one was told.
func (l *leadership) end() {
	l.once.Do(func() {
		l.e.mu.Lock()
		delete(l.e.held, l)
		l.e.mu.Unlock()
		close(l.done)
		<-l.seat
	})
}
