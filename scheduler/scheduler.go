// Package scheduler runs Arca's background jobs (purging soft-deleted
// objects past their retention, executing key rotation policies, certificate
// lifetime actions) one after another on a period, and, when given an
// Elector, only on the node that holds the leadership, so that several nodes
// sharing one store never run the same job twice.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/arcakv/arca/storage"
)

// Job is one background task. Run does the work that is due and reports how
// many objects it acted on; it must be safe to run again after an error or
// on another node (every job works from the store's state).
type Job struct {
	Name string
	Run  func(ctx context.Context) (int, error)
}

// Scheduler runs Jobs every Every. The zero Tick uses time.NewTicker; tests
// inject their own to drive rounds without waiting.
type Scheduler struct {
	Jobs  []Job
	Every time.Duration
	// Elector, when set, restricts the jobs to the leader of Role (a
	// storage backend shared by several nodes grants it to one of them).
	Elector storage.Elector
	Role    string
	// Tick returns a channel of ticks every d and a function that stops it.
	Tick func(d time.Duration) (<-chan time.Time, func())
	Log  *slog.Logger
}

// RunOnce runs every job once, in order. A failing job does not stop the
// others; their errors come back joined, each with the job's name.
func (s *Scheduler) RunOnce(ctx context.Context) error {
	var errs []error
	for _, j := range s.Jobs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, err := j.Run(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log().Error("background job failed", "job", j.Name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", j.Name, err))
		case n > 0:
			s.log().Info("background job done", "job", j.Name, "count", n)
		}
	}
	return errors.Join(errs...)
}

// Run runs the jobs at once and then on every tick until ctx ends. With an
// Elector it first campaigns for Role and runs only while it leads; when the
// leadership is lost it stops and campaigns again. Run returns when ctx
// ends, after resigning a held leadership.
func (s *Scheduler) Run(ctx context.Context) {
	if s.Elector == nil {
		s.loop(ctx, nil)
		return
	}
	for ctx.Err() == nil {
		lead, err := s.Elector.Campaign(ctx, s.Role)
		if errors.Is(err, errors.ErrUnsupported) {
			s.loop(ctx, nil) // a store without elections has one node
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log().Error("campaign for background jobs failed", "role", s.Role, "err", err)
				s.wait(ctx)
			}
			continue
		}
		s.log().Info("leading background jobs", "role", s.Role)
		s.loop(ctx, lead.Done())
		s.log().Info("stopped leading background jobs", "role", s.Role)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := lead.Resign(rctx); err != nil {
			s.log().Warn("resign", "role", s.Role, "err", err)
		}
		cancel()
	}
}

// loop runs rounds until ctx ends or lost is closed.
func (s *Scheduler) loop(ctx context.Context, lost <-chan struct{}) {
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if lost != nil {
		go func() {
			select {
			case <-lost:
				cancel() // a job under way stops as soon as the leadership is gone
			case <-jctx.Done():
			}
		}()
	}
	ticks, stop := s.ticker()
	defer stop()
	for {
		_ = s.RunOnce(jctx)
		select {
		case <-jctx.Done():
			return
		case <-ticks:
		}
	}
}

func (s *Scheduler) ticker() (<-chan time.Time, func()) {
	if s.Tick != nil {
		return s.Tick(s.every())
	}
	t := time.NewTicker(s.every())
	return t.C, t.Stop
}

// wait pauses one period (after a failed campaign).
func (s *Scheduler) wait(ctx context.Context) {
	ticks, stop := s.ticker()
	defer stop()
	select {
	case <-ctx.Done():
	case <-ticks:
	}
}

func (s *Scheduler) every() time.Duration {
	if s.Every <= 0 {
		return time.Minute
	}
	return s.Every
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
