package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/fnfleet/fnfleet/federation/events"
)

// Sender delivers one event, retrying as it sees fit until ctx ends;
// (*events.Sender).Send is one.
type Sender interface {
	Send(ctx context.Context, e event.Event) (events.Outcome, error)
}

// maxCounted bounds the ticks counted in one go (missed ticks, a late
// wake): 100,000 is 28 hours of a schedule ticking every second, 35 days
// of the 30 s reconcile schedule. Past it the count says "at least".
const maxCounted = 100_000

// Scheduler sends each schedule's ticks to a Sender, at the schedule's
// times, never two of one schedule at once.
type Scheduler struct {
	schedules  []schedule
	send       Sender
	checkpoint Checkpoint
	log        *slog.Logger
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error
	reg        prometheus.Registerer
	metrics    metrics
	running    atomic.Bool

	// afterSend, when set (by this package's tests), is called once a
	// tick's send is over and its schedule free for the next tick.
	afterSend func(schedule string, at time.Time)
}

// Option configures a Scheduler.
type Option func(*Scheduler)

// WithCheckpoint sets where the last tick sent per schedule is kept
// (default: a new Memory).
func WithCheckpoint(c Checkpoint) Option { return func(s *Scheduler) { s.checkpoint = c } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Scheduler) { s.log = l } }

// WithClock replaces the clock and the wait until the next tick, for
// tests: sleep returns early with ctx's error when ctx ends.
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(s *Scheduler) { s.now, s.sleep = now, sleep }
}

// WithMetrics registers the scheduler's metrics on reg (default: none
// registered).
func WithMetrics(reg prometheus.Registerer) Option { return func(s *Scheduler) { s.reg = reg } }

// New returns a scheduler of cfg's schedules that sends their ticks
// through send. cfg is validated as Validate does.
func New(cfg Config, send Sender, opts ...Option) (*Scheduler, error) {
	if send == nil {
		return nil, errors.New("scheduler: no sender")
	}
	schedules, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	s := &Scheduler{schedules: schedules, send: send, now: time.Now, sleep: sleepCtx}
	for _, o := range opts {
		o(s)
	}
	if s.checkpoint == nil {
		s.checkpoint = &Memory{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	names := make([]string, len(schedules))
	for i, sc := range schedules {
		names[i] = sc.name
	}
	if s.metrics, err = newMetrics(s.reg, names); err != nil {
		return nil, err
	}
	return s, nil
}

// Run sends ticks until ctx ends, then returns once the sends in flight
// (whose context is ctx too) have returned. A tick whose send is still
// running when the next one is due makes that next one skipped, counted
// as missed. Run may be called again after it returned, not while it
// runs.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("scheduler: Run called while it runs")
	}
	defer s.running.Store(false)
	for _, sc := range s.schedules {
		s.log.InfoContext(ctx, "schedule started", "schedule", sc.name, "spec", sc.spec, "timeout", sc.timeout,
			"next", sc.cron.Next(s.now()).UTC())
	}
	var loops, sends sync.WaitGroup
	for i := range s.schedules {
		loops.Go(func() { s.loop(ctx, &s.schedules[i], &sends) })
	}
	// Every sends.Add is made by a loop, so none comes after loops.Wait.
	loops.Wait()
	sends.Wait()
	return nil
}

// loop waits for sc's ticks and starts their sends, one at a time.
func (s *Scheduler) loop(ctx context.Context, sc *schedule, sends *sync.WaitGroup) {
	// busy holds a token while a tick's send runs: a tick that finds it
	// taken is skipped, not queued, since the send running will do what it
	// would have.
	busy := make(chan struct{}, 1)
	var running time.Time // the scheduled time of the tick holding busy
	prev := s.now()
	for {
		next := sc.cron.Next(prev)
		if next.IsZero() {
			// Validation refuses a spec that never happens; robfig/cron
			// looks 5 years ahead.
			s.log.ErrorContext(ctx, "schedule has no further tick", "schedule", sc.name, "spec", sc.spec, "after", prev.UTC())
			return
		}
		if err := s.waitUntil(ctx, next); err != nil {
			return
		}
		if ctx.Err() != nil {
			// Ended as the tick came: a send now would only be cancelled.
			return
		}
		due, overslept := lastDue(sc.cron, next, s.now())
		prev = due
		if overslept > 0 {
			s.log.WarnContext(ctx, "ticks missed: the scheduler woke late", "schedule", sc.name,
				"scheduled_at", next.UTC(), "sending", due.UTC(), "missed", overslept)
			s.metrics.missed.WithLabelValues(sc.name, reasonLate).Add(float64(overslept))
		}
		select {
		case busy <- struct{}{}:
		default:
			s.log.WarnContext(ctx, "tick skipped: the previous tick's send still runs", "schedule", sc.name,
				"scheduled_at", due.UTC(), "running", running.UTC(), "timeout", sc.timeout)
			s.metrics.missed.WithLabelValues(sc.name, reasonOverlap).Inc()
			continue
		}
		running = due
		sends.Go(func() {
			s.tick(ctx, sc, due)
			<-busy
			if s.afterSend != nil {
				s.afterSend(sc.name, due)
			}
		})
	}
}

// waitUntil returns once the clock reads t or later, or ctx's error. It
// reads the clock again after each wait: a timer runs on the monotonic
// clock, which a suspended machine or a stepped wall clock leaves behind.
func (s *Scheduler) waitUntil(ctx context.Context, t time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := t.Sub(s.now())
		if d <= 0 {
			return nil
		}
		if err := s.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// lastDue is the latest tick of c at or before now, starting from next,
// and how many ticks it passed over: a scheduler that woke late (a
// suspended machine, a long pause) sends one tick for those it overslept.
func lastDue(c cron.Schedule, next, now time.Time) (time.Time, int) {
	due, passed := next, 0
	for t := c.Next(due); !t.IsZero() && !t.After(now) && passed < maxCounted; t = c.Next(t) {
		due, passed = t, passed+1
	}
	return due, passed
}

// countBetween counts c's ticks strictly between after and before.
func countBetween(c cron.Schedule, after, before time.Time) int {
	n := 0
	for t := c.Next(after); !t.IsZero() && t.Before(before) && n < maxCounted; t = c.Next(t) {
		n++
	}
	return n
}

// tick sends sc's tick scheduled at at, and records it in the checkpoint
// unless Run's shutdown cut the send short.
func (s *Scheduler) tick(ctx context.Context, sc *schedule, at time.Time) {
	// UTC, so that every scheduler sends the same bytes, whatever its
	// schedule's zone.
	at = at.UTC()
	log := s.log.With("schedule", sc.name, "scheduled_at", at)
	last, err := s.checkpoint.LastSent(ctx, sc.name)
	if err != nil {
		log.WarnContext(ctx, "reading the last tick sent failed; this tick reports no missed ticks", "err", err.Error())
		last = time.Time{}
	}
	if !last.IsZero() && !last.Before(at) {
		// Another scheduler (or this one before a restart) sent it.
		log.InfoContext(ctx, "tick not sent: the checkpoint has it sent already", "last_sent", last.UTC())
		return
	}
	missed := 0
	if !last.IsZero() {
		missed = countBetween(sc.cron, last, at)
	}
	e, err := events.New(sc.typ, events.TickID(sc.name, at), sc.name, at,
		events.Tick{Schedule: sc.name, ScheduledAt: at, Missed: missed})
	if err != nil {
		// The type and payload are the catalog's; only a broken catalog
		// gets here.
		log.ErrorContext(ctx, "tick not sent: building its event failed", "err", err.Error())
		return
	}
	sendCtx, cancel := context.WithTimeout(ctx, sc.timeout)
	out, err := s.send.Send(sendCtx, e)
	cancel()
	if ctx.Err() != nil {
		// Not recorded: a scheduler catching up sends this tick again,
		// with the same id, so a receiver that got it can drop it.
		log.InfoContext(ctx, "tick's send cut short by shutdown", "event_id", e.ID(), "attempts", out.Attempts)
		return
	}
	result := resultDelivered
	if err != nil {
		// The sender has recorded the dead letter; the next tick repeats
		// the work, so the tick counts as sent.
		result = resultNotDelivered
		log.WarnContext(ctx, "tick not delivered", "event_id", e.ID(), "missed", missed, "attempts", out.Attempts,
			"timeout", sc.timeout, "err", err.Error())
	} else {
		log.DebugContext(ctx, "tick delivered", "event_id", e.ID(), "missed", missed, "attempts", out.Attempts)
		s.metrics.lastDelivered.WithLabelValues(sc.name).Set(float64(at.Unix()))
	}
	s.metrics.sent.WithLabelValues(sc.name, result).Inc()
	if err := s.checkpoint.MarkSent(ctx, sc.name, at); err != nil {
		log.WarnContext(ctx, "recording the tick sent failed; the next tick may count it as missed", "err", err.Error())
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the next tick: %w", ctx.Err())
	}
}
