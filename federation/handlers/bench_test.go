package handlers_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// BenchmarkEventThroughFn measures one event's way through the hub's Fn,
// against the same step called in-process:
//
//   - through-fn: a signed dev.fnfleet.app.changed sent to the events
//     trigger (HTTP), its signature checked, routed, and handed through the
//     Fn API to the placement function, which reads the hub, re-decides the
//     placed app, finds nothing to change and answers 204, which the events
//     function answers in turn;
//   - in-process: control.Placement.Reconcile for the same app, the step the
//     retired in-process loop ran.
//
// The difference is the cost of the functions' shape. Both processes are
// hot (Fn keeps them between calls), as they are in a running fleet.
// p50-ms and p99-ms are per event. Events are paced, 40 a second: a step
// is 4 hub requests, and back to back they would measure the hub client's
// rate limit (200 requests a second, hub.New), not an event's latency.
func BenchmarkEventThroughFn(b *testing.B) {
	f := startFleet(b)
	ctx := b.Context()
	f.readyMember(b, "eu", "eu-west")
	if _, err := f.hub.CreateFleetApp(ctx, fleetApp("bench", "eu-west")); err != nil {
		b.Fatal(err)
	}
	key := types.NamespacedName{Namespace: "default", Name: "bench"}
	e := newEvent(b, events.TypeAppChanged, "app.changed:default/bench@1", key.String(), events.AppChanged{Generation: 1})
	s := f.sender(b)
	send := func() {
		out, err := s.Send(ctx, e)
		if err != nil || out.Status != http.StatusNoContent {
			b.Fatalf("event answered %d (%v), want 204", out.Status, err)
		}
	}
	// The first event places the app and starts the processes.
	for range 3 {
		send()
	}
	if app, err := f.hub.GetFleetApp(ctx, key.Namespace, key.Name); err != nil || len(app.Status.Placement) != 1 {
		b.Fatalf("app not placed before the benchmark: %v", err)
	}

	b.Run("through-fn", func(b *testing.B) {
		perCall(b, send)
	})
	b.Run("in-process", func(b *testing.B) {
		p, err := control.NewPlacement(control.PlacementConfig{Hub: f.hub, Logger: testbed.Logger(b)})
		if err != nil {
			b.Fatal(err)
		}
		perCall(b, func() {
			if _, err := p.Reconcile(ctx, key); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// pace is the interval between the starts of two calls (see above).
const pace = 25 * time.Millisecond

// perCall runs call b.N times, one every pace, and reports the p50 and p99
// of its duration.
func perCall(b *testing.B, call func()) {
	took := make([]time.Duration, 0, b.N)
	tick := time.NewTicker(pace)
	defer tick.Stop()
	b.ResetTimer()
	for b.Loop() {
		<-tick.C
		start := time.Now()
		call()
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	at := func(q float64) float64 {
		return float64(took[int(q*float64(len(took)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
