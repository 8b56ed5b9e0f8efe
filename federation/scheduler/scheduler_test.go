package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fnfleet/fnfleet/federation/events"
)

// The events sender is a Sender.
var _ Sender = (*events.Sender)(nil)

// fakeSender hands each event to the test as its send starts; with hold
// set, the send then waits for a release (or its context's end).
type fakeSender struct {
	started  chan event.Event
	hold     bool
	release  chan struct{}
	returned atomic.Int32 // sends returned
}

func newFakeSender(hold bool) *fakeSender {
	return &fakeSender{started: make(chan event.Event, 100), hold: hold, release: make(chan struct{}, 100)}
}

func (f *fakeSender) Send(ctx context.Context, e event.Event) (events.Outcome, error) {
	defer f.returned.Add(1)
	f.started <- e
	if f.hold {
		select {
		case <-f.release:
		case <-ctx.Done():
			return events.Outcome{Attempts: 1}, ctx.Err()
		}
	}
	return events.Outcome{Attempts: 1, Status: 204}, nil
}

// harness runs a Scheduler on a fake clock.
type harness struct {
	t          *testing.T
	s          *Scheduler
	clock      *fakeClock
	sender     *fakeSender
	checkpoint *Memory
	reg        *prometheus.Registry
	log        *syncBuffer
	finished   chan time.Time // a tick's send is over and its schedule free
	cancel     context.CancelFunc
	stopped    chan error
}

func start(t *testing.T, cfg Config, now time.Time, sender *fakeSender) *harness {
	t.Helper()
	h := &harness{
		t: t, clock: newFakeClock(now), sender: sender, checkpoint: &Memory{}, reg: prometheus.NewRegistry(),
		log: &syncBuffer{}, finished: make(chan time.Time, 100), stopped: make(chan error, 1),
	}
	s, err := New(cfg, sender, WithClock(h.clock.Now, h.clock.Sleep), WithCheckpoint(h.checkpoint),
		WithMetrics(h.reg), WithLogger(slog.New(slog.NewTextHandler(h.log, nil))))
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	s.afterSend = func(_ string, at time.Time) { h.finished <- at }
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	go func() { h.stopped <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		h.waitStopped()
	})
	return h
}

// next waits for the scheduler to sleep until its next tick, checks that
// the tick is at want, and moves the clock there.
func (h *harness) next(want time.Time) {
	h.t.Helper()
	if got := h.clock.waitSleepers(h.t, 1); !got.Equal(want) {
		h.t.Fatalf("next tick at %v, want %v", got.UTC(), want.UTC())
	}
	h.clock.set(want)
}

// sent returns the next event whose send started.
func (h *harness) sent() event.Event {
	h.t.Helper()
	select {
	case e := <-h.sender.started:
		return e
	case <-time.After(failAfter):
		h.t.Fatal("no tick sent")
		return event.Event{}
	}
}

// waitFinished waits until the send of the tick scheduled at at is over.
func (h *harness) waitFinished(at time.Time) {
	h.t.Helper()
	select {
	case got := <-h.finished:
		if !got.Equal(at) {
			h.t.Fatalf("the send of the tick at %v finished, want the one at %v", got.UTC(), at.UTC())
		}
	case <-time.After(failAfter):
		h.t.Fatalf("the send of the tick at %v never finished", at.UTC())
	}
}

func (h *harness) waitStopped() {
	h.t.Helper()
	select {
	case err := <-h.stopped:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
		h.stopped <- nil // for a second call (the cleanup)
	case <-time.After(failAfter):
		h.t.Fatal("Run did not return after its context ended")
	}
}

// metric is the value of a series of the harness's registry.
func (h *harness) metric(name string, labels ...string) float64 {
	h.t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i, l := range m.GetLabel() {
				if i >= len(labels)/2 || l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
					continue series
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	h.t.Fatalf("no series %s %v", name, labels)
	return 0
}

func one(name, spec string) Config {
	return Config{Schedules: []Schedule{{Name: name, Spec: spec}}}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func tickOf(t *testing.T, e event.Event) events.Tick {
	t.Helper()
	tick, err := events.Payload[events.Tick](e)
	if err != nil {
		t.Fatal(err)
	}
	return tick
}

// checkTick checks that e is schedule's tick scheduled at at, as the
// catalog says, with missed ticks.
func checkTick(t *testing.T, e event.Event, schedule string, at time.Time, missed int) {
	t.Helper()
	typ, _ := tickType(schedule)
	tick := tickOf(t, e)
	if e.ID() != events.TickID(schedule, at) || e.Type() != typ || e.Subject() != schedule ||
		e.Source() != events.SourceOf(events.Scheduler) || !e.Time().Equal(at) {
		t.Errorf("tick = id %s, type %s, subject %s, source %s, time %v; want id %s, type %s, subject %s, time %v",
			e.ID(), e.Type(), e.Subject(), e.Source(), e.Time().UTC(), events.TickID(schedule, at), typ, schedule, at)
	}
	if tick.Schedule != schedule || !tick.ScheduledAt.Equal(at) || tick.Missed != missed {
		t.Errorf("payload = %+v, want schedule %s, scheduledAt %v, missed %d", tick, schedule, at, missed)
	}
}

func TestTicksAtTheirScheduledTimes(t *testing.T) {
	for _, tc := range []struct {
		name, schedule, spec, start string
		want                        []string
	}{{
		name:     "seconds field",
		schedule: events.ScheduleReconcile, spec: "*/20 * * * * *", start: "2026-03-01T12:00:05.5Z",
		want: []string{"2026-03-01T12:00:20Z", "2026-03-01T12:00:40Z", "2026-03-01T12:01:00Z"},
	}, {
		name:     "five fields: whole minutes",
		schedule: events.ScheduleParking, spec: "*/2 * * * *", start: "2026-03-01T12:00:00Z",
		want: []string{"2026-03-01T12:02:00Z", "2026-03-01T12:04:00Z"},
	}, {
		name:     "the defaults are in UTC",
		schedule: events.ScheduleResync, spec: DefaultResyncSpec, start: "2026-03-29T00:58:00Z",
		want: []string{"2026-03-29T01:00:45Z", "2026-03-29T01:05:45Z"},
	}, {
		// 03:00 in Berlin is 02:00 UTC in winter (CET), 01:00 UTC from 29
		// March 2026 (CEST).
		name:     "Europe/Berlin across the March change",
		schedule: events.ScheduleResync, spec: "CRON_TZ=Europe/Berlin 0 0 3 * * *", start: "2026-03-27T12:00:00Z",
		want: []string{"2026-03-28T02:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"},
	}, {
		// 02:30 does not exist in Berlin on 29 March 2026: robfig/cron
		// skips it (docs/scheduler.md).
		name:     "Europe/Berlin: a time the March change skips",
		schedule: events.ScheduleResync, spec: "CRON_TZ=Europe/Berlin 30 2 * * *", start: "2026-03-27T12:00:00Z",
		want: []string{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"},
	}, {
		// 02:30 happens twice in Berlin on 25 October 2026 (CEST, then
		// CET): robfig/cron ticks at both.
		name:     "Europe/Berlin: a time the October change repeats",
		schedule: events.ScheduleResync, spec: "CRON_TZ=Europe/Berlin 30 2 * * *", start: "2026-10-24T12:00:00Z",
		want: []string{"2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"},
	}, {
		name:     "America/New_York across its March change",
		schedule: events.ScheduleParking, spec: "CRON_TZ=America/New_York 0 9 * * MON-FRI", start: "2026-03-06T00:00:00Z",
		want: []string{"2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, one(tc.schedule, tc.spec), utc(tc.start), newFakeSender(false))
			for _, w := range tc.want {
				at := utc(w)
				h.next(at)
				checkTick(t, h.sent(), tc.schedule, at, 0)
				h.waitFinished(at)
			}
		})
	}
}

func TestTickIDs(t *testing.T) {
	at := utc("2026-03-29T01:00:00Z")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	same := []struct{ a, b string }{
		{events.TickID("parking", at), events.TickID("parking", at.In(berlin))},
		{events.TickID("parking", at), "parking@2026-03-29T01:00:00Z"},
	}
	for _, s := range same {
		if s.a != s.b {
			t.Errorf("ids %s and %s differ; the same schedule and instant must give one id", s.a, s.b)
		}
	}
	ids := map[string]bool{}
	for _, id := range []string{
		events.TickID("parking", at), events.TickID("reconcile", at), events.TickID("parking", at.Add(time.Second)),
		events.TickID("parking", at.Add(-time.Hour)),
	} {
		if ids[id] {
			t.Errorf("id %s given twice: another schedule or time must give another id", id)
		}
		ids[id] = true
	}
}

// Two schedulers, started at different times and waking at different
// moments within the tick's second, send the same event: the one a
// receiver collapses.
func TestTwoSchedulersSendTheSameTick(t *testing.T) {
	cfg := one(events.ScheduleReconcile, "*/30 * * * * *")
	at := utc("2026-03-01T12:00:30Z")
	var got []event.Event
	for _, c := range []struct{ start, woke string }{
		{"2026-03-01T12:00:01.25Z", "2026-03-01T12:00:30Z"},
		{"2026-03-01T12:00:29.9Z", "2026-03-01T12:00:30.7Z"},
	} {
		h := start(t, cfg, utc(c.start), newFakeSender(false))
		if wake := h.clock.waitSleepers(t, 1); !wake.Equal(at) {
			t.Fatalf("next tick at %v, want %v", wake, at)
		}
		h.clock.set(utc(c.woke))
		e := h.sent()
		checkTick(t, e, events.ScheduleReconcile, at, 0)
		got = append(got, e)
	}
	if a, b := got[0].String(), got[1].String(); a != b {
		t.Errorf("two schedulers sent different events for one tick:\n%s\n%s", a, b)
	}
}

// A tick due while the previous one's send still runs is skipped and
// counted; the tick after says it missed one.
func TestATickDueWhileTheLastRunsIsSkipped(t *testing.T) {
	h := start(t, one(events.ScheduleReconcile, "*/30 * * * * *"), utc("2026-03-01T12:00:00Z"), newFakeSender(true))
	t1, t2, t3 := utc("2026-03-01T12:00:30Z"), utc("2026-03-01T12:01:00Z"), utc("2026-03-01T12:01:30Z")

	h.next(t1)
	checkTick(t, h.sent(), events.ScheduleReconcile, t1, 0)
	h.next(t2) // t1's send still runs
	// The loop sleeps again once it has dealt with t2.
	h.clock.waitSleepers(t, 1)
	if got := h.metric("fnfleet_scheduler_ticks_missed_total", "reason", reasonOverlap, "schedule", "reconcile"); got != 1 {
		t.Errorf("missed (overlap) = %v, want 1", got)
	}
	if log := h.log.String(); !strings.Contains(log, `msg="tick skipped: the previous tick's send still runs" schedule=reconcile scheduled_at=2026-03-01T12:01:00.000Z running=2026-03-01T12:00:30.000Z`) {
		t.Errorf("no log line for the skipped tick:\n%s", log)
	}

	h.sender.release <- struct{}{}
	h.waitFinished(t1)
	h.next(t3)
	// Had t2 been sent, it would come first.
	checkTick(t, h.sent(), events.ScheduleReconcile, t3, 1)
	h.sender.release <- struct{}{}
	h.waitFinished(t3)
	if got := h.metric("fnfleet_scheduler_ticks_sent_total", "result", resultDelivered, "schedule", "reconcile"); got != 2 {
		t.Errorf("sent (delivered) = %v, want 2", got)
	}
	if got := h.metric("fnfleet_scheduler_last_delivered_tick_timestamp_seconds", "schedule", "reconcile"); got != float64(t3.Unix()) {
		t.Errorf("last delivered = %v, want %v", got, t3.Unix())
	}
}

// A scheduler that wakes after later ticks came due sends only the
// latest, with the others counted as missed.
func TestAScheduleWokenLateSendsTheLatestTick(t *testing.T) {
	h := start(t, one(events.ScheduleReconcile, "*/30 * * * * *"), utc("2026-03-01T12:00:00Z"), newFakeSender(false))
	t1 := utc("2026-03-01T12:00:30Z")
	h.next(t1)
	checkTick(t, h.sent(), events.ScheduleReconcile, t1, 0)
	h.waitFinished(t1)

	h.clock.waitSleepers(t, 1)
	h.clock.set(utc("2026-03-01T12:02:10Z")) // 12:01:00, 12:01:30 overslept
	t4 := utc("2026-03-01T12:02:00Z")
	checkTick(t, h.sent(), events.ScheduleReconcile, t4, 2)
	h.waitFinished(t4)
	if got := h.metric("fnfleet_scheduler_ticks_missed_total", "reason", reasonLate, "schedule", "reconcile"); got != 2 {
		t.Errorf("missed (late) = %v, want 2", got)
	}
	h.next(utc("2026-03-01T12:02:30Z"))
}

// A tick the checkpoint has as sent (by another scheduler, or this one
// before a restart) is not sent again.
func TestATickTheCheckpointHasIsNotSentAgain(t *testing.T) {
	h := start(t, one(events.ScheduleParking, "* * * * *"), utc("2026-03-01T12:00:00Z"), newFakeSender(false))
	t1, t2 := utc("2026-03-01T12:01:00Z"), utc("2026-03-01T12:02:00Z")
	if err := h.checkpoint.MarkSent(t.Context(), events.ScheduleParking, t1); err != nil {
		t.Fatal(err)
	}
	h.next(t1)
	h.waitFinished(t1)
	h.next(t2)
	checkTick(t, h.sent(), events.ScheduleParking, t2, 0)
	h.waitFinished(t2)
}

func TestCancellingRunStopsItAndWaitsForSends(t *testing.T) {
	h := start(t, one(events.ScheduleReconcile, "*/30 * * * * *"), utc("2026-03-01T12:00:00Z"), newFakeSender(true))
	t1 := utc("2026-03-01T12:00:30Z")
	h.next(t1)
	h.sent()
	h.clock.waitSleepers(t, 1)
	h.cancel()
	h.waitStopped()
	if n := h.sender.returned.Load(); n != 1 {
		t.Errorf("Run returned with %d of 1 sends returned", n)
	}
	// Cut short: not recorded, so a scheduler catching up sends it again.
	if last, _ := h.checkpoint.LastSent(t.Context(), events.ScheduleReconcile); !last.IsZero() {
		t.Errorf("checkpoint = %v after a send cut short, want none", last)
	}
	if got := h.metric("fnfleet_scheduler_ticks_sent_total", "result", resultNotDelivered, "schedule", "reconcile"); got != 0 {
		t.Errorf("sent (not delivered) = %v after a send cut short, want 0", got)
	}
}

func TestRunRefusesASecondRunAtOnce(t *testing.T) {
	h := start(t, Default(), utc("2026-03-01T12:00:00Z"), newFakeSender(false))
	h.clock.waitSleepers(t, 3) // Run runs its three schedules
	if err := h.s.Run(t.Context()); err == nil {
		t.Error("a second Run at once was accepted")
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Default(), nil); err == nil {
		t.Error("New accepted no sender")
	}
	if _, err := New(Config{}, newFakeSender(false)); err == nil {
		t.Error("New accepted no schedules")
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Default(), newFakeSender(false), WithMetrics(reg)); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Default(), newFakeSender(false), WithMetrics(reg)); err == nil || !strings.Contains(err.Error(), "register") {
		t.Errorf("a second scheduler on one registry: err = %v, want a registration error", err)
	}
	var dup prometheus.AlreadyRegisteredError
	_, err := New(Default(), newFakeSender(false), WithMetrics(reg))
	if !errors.As(err, &dup) {
		t.Errorf("err = %v, want it to wrap prometheus.AlreadyRegisteredError", err)
	}
}
