package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
)

// manualTicks is a Tick whose ticks the test sends.
type manualTicks struct{ c chan time.Time }

func newTicks() *manualTicks { return &manualTicks{c: make(chan time.Time)} }
func (m *manualTicks) tick(time.Duration) (<-chan time.Time, func()) {
	return m.c, func() {}
}

func TestRunOnceRunsEveryJobAndJoinsErrors(t *testing.T) {
	var ran []string
	s := &Scheduler{Jobs: []Job{
		{Name: "purge", Run: func(context.Context) (int, error) { ran = append(ran, "purge"); return 0, errors.New("disk") }},
		{Name: "rotate", Run: func(context.Context) (int, error) { ran = append(ran, "rotate"); return 2, nil }},
	}}
	err := s.RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "purge: disk") || strings.Join(ran, ",") != "purge,rotate" {
		t.Fatalf("ran %v, err %v", ran, err)
	}
}

func TestRunRunsARoundPerTick(t *testing.T) {
	ticks := newTicks()
	rounds := make(chan struct{}, 10)
	s := &Scheduler{Tick: ticks.tick, Jobs: []Job{{Name: "j", Run: func(context.Context) (int, error) {
		rounds <- struct{}{}
		return 0, nil
	}}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-rounds // at once
	for range 3 {
		ticks.c <- time.Time{}
		<-rounds
	}
	cancel()
	<-done
}

// elector grants one leadership at a time, in campaign order.
type elector struct {
	mu      sync.Mutex
	held    bool
	waiters []chan *lead
}

type lead struct {
	e    *elector
	done chan struct{}
	once sync.Once
}

func (l *lead) Done() <-chan struct{} { return l.done }
func (l *lead) Resign(context.Context) error {
	l.once.Do(func() { close(l.done); l.e.release() })
	return nil
}

func (e *elector) Campaign(ctx context.Context, _ string) (storage.Leadership, error) {
	e.mu.Lock()
	if !e.held {
		e.held = true
		e.mu.Unlock()
		return &lead{e: e, done: make(chan struct{})}, nil
	}
	ch := make(chan *lead, 1)
	e.waiters = append(e.waiters, ch)
	e.mu.Unlock()
	select {
	case l := <-ch:
		return l, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *elector) release() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.waiters) == 0 {
		e.held = false
		return
	}
	next := e.waiters[0]
	e.waiters = e.waiters[1:]
	next <- &lead{e: e, done: make(chan struct{})}
}

// TestOnlyTheLeaderRuns: two nodes share an elector; only the leader runs
// jobs, and when it loses the leadership the other takes over.
func TestOnlyTheLeaderRuns(t *testing.T) {
	e := &elector{}
	var running atomic.Int32
	ranOn := make(chan string, 100)
	job := func(node string) Job {
		return Job{Name: "purge", Run: func(context.Context) (int, error) {
			if running.Add(1) != 1 {
				t.Errorf("two nodes ran a job at once")
			}
			defer running.Add(-1)
			ranOn <- node
			return 0, nil
		}}
	}
	ticksA, ticksB := newTicks(), newTicks()
	a := &Scheduler{Elector: e, Role: "jobs", Tick: ticksA.tick, Jobs: []Job{job("a")}}
	b := &Scheduler{Elector: e, Role: "jobs", Tick: ticksB.tick, Jobs: []Job{job("b")}}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	doneA, doneB := make(chan struct{}), make(chan struct{})
	go func() { a.Run(ctxA); close(doneA) }()
	if got := <-ranOn; got != "a" {
		t.Fatalf("first round on %s", got)
	}
	go func() { b.Run(ctxB); close(doneB) }()
	ticksA.c <- time.Time{}
	if got := <-ranOn; got != "a" {
		t.Fatalf("second round on %s", got)
	}
	stopA() // a stops and resigns: b takes over
	<-doneA
	if got := <-ranOn; got != "b" {
		t.Fatalf("after a stopped, round on %s", got)
	}
	ticksB.c <- time.Time{}
	if got := <-ranOn; got != "b" {
		t.Fatalf("round on %s", got)
	}
	stopB()
	<-doneB
}

// TestLostLeadershipStopsAJobUnderWay: a job gets a context that ends when
// the leadership is lost.
func TestLostLeadershipStopsAJobUnderWay(t *testing.T) {
	e := &elector{}
	started, stopped := make(chan struct{}, 2), make(chan struct{}, 2)
	var l storage.Leadership
	s := &Scheduler{Elector: leaderSpy{e, &l}, Role: "jobs", Tick: newTicks().tick, Jobs: []Job{{Name: "long", Run: func(ctx context.Context) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		stopped <- struct{}{}
		return 0, ctx.Err()
	}}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	<-started
	l.Resign(context.Background()) // as if the store had taken the leadership away
	<-stopped
}

// leaderSpy records the leadership it hands out.
type leaderSpy struct {
	e *elector
	l *storage.Leadership
}

func (s leaderSpy) Campaign(ctx context.Context, name string) (storage.Leadership, error) {
	l, err := s.e.Campaign(ctx, name)
	if err == nil && *s.l == nil {
		*s.l = l
	}
	return l, err
}

// TestOnlyOneNodeRunsOverAStore: two schedulers over one memory store's
// Elector (as two nodes over one shared store) never run a job at once.
func TestOnlyOneNodeRunsOverAStore(t *testing.T) {
	store := memory.New()
	defer store.Close()
	var running atomic.Int32
	ran := make(chan string, 100)
	mk := func(node string, ticks *manualTicks) *Scheduler {
		return &Scheduler{Elector: store, Role: "jobs", Tick: ticks.tick, Jobs: []Job{{Name: "j", Run: func(context.Context) (int, error) {
			if running.Add(1) != 1 {
				t.Errorf("two nodes ran at once")
			}
			defer running.Add(-1)
			ran <- node
			return 0, nil
		}}}}
	}
	ta, tb := newTicks(), newTicks()
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneA := make(chan struct{})
	go func() { mk("a", ta).Run(ctxA); close(doneA) }()
	if n := <-ran; n != "a" {
		t.Fatalf("first round on %s", n)
	}
	go mk("b", tb).Run(ctxB)
	ta.c <- time.Time{}
	if n := <-ran; n != "a" {
		t.Fatalf("round on %s while a leads", n)
	}
	stopA()
	<-doneA
	if n := <-ran; n != "b" {
		t.Fatalf("after a stopped: %s", n)
	}
}
