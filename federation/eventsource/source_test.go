package eventsource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// waitLimit bounds a wait for something that must happen: generous, since
// it only bounds a failing test on a loaded 2-core machine.
const waitLimit = 2 * time.Minute

// sent is one call of the recording sender.
type sent struct {
	e  event.Event
	at time.Time
}

// recorder is the recipient: it records every event the source sends and
// answers what answer says (default: delivered).
type recorder struct {
	mu     sync.Mutex
	sent   []sent
	answer func(e event.Event, before int) (events.Outcome, error) // before: sends of e's id so far
}

func (r *recorder) Send(_ context.Context, e event.Event) (events.Outcome, error) {
	r.mu.Lock()
	before := 0
	for _, s := range r.sent {
		if s.e.ID() == e.ID() {
			before++
		}
	}
	r.sent = append(r.sent, sent{e: e, at: time.Now()})
	answer := r.answer
	r.mu.Unlock()
	if answer != nil {
		return answer(e, before)
	}
	return events.Outcome{Attempts: 1, Status: 204}, nil
}

// of returns the sends about subject, in order.
func (r *recorder) of(subject string) []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sent
	for _, s := range r.sent {
		if s.e.Subject() == subject {
			out = append(out, s)
		}
	}
	return out
}

// waitFor polls the sends about subject until cond holds, and returns them.
func (r *recorder) waitFor(t *testing.T, subject, what string, cond func([]sent) bool) []sent {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		got := r.of(subject)
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; sent about %s: %s", what, subject, ids(got))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitForID waits until the event id was sent, and returns the sends.
func (r *recorder) waitForID(t *testing.T, subject, id string) []sent {
	t.Helper()
	return r.waitFor(t, subject, id, func(s []sent) bool {
		return slices.ContainsFunc(s, func(x sent) bool { return x.e.ID() == id })
	})
}

func ids(s []sent) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.e.ID())
	}
	return out
}

// startSource runs a source on hc until the test ends. Workers is 1, so
// keys are sent in the order they fall due: an event seen proves every
// key due before it was sent (the fences below rely on it).
func startSource(t *testing.T, hc *hub.Client, snd Sender, cfg Config) {
	t.Helper()
	cfg.Hub, cfg.Sender, cfg.Logger = hc, snd, testbed.Logger(t)
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	if cfg.Coalesce == 0 {
		cfg.Coalesce = 300 * time.Millisecond
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase, cfg.RetryMax = 50*time.Millisecond, time.Second
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func newMember(name string) *v1alpha1.MemberCluster {
	return &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"env": "test"}},
		Spec:       v1alpha1.MemberClusterSpec{Provider: v1alpha1.ProviderSpec{Name: "static"}, Region: "eu-west"},
	}
}

func createMember(t *testing.T, hc *hub.Client, name string) *v1alpha1.MemberCluster {
	t.Helper()
	mc, err := hc.CreateMemberCluster(t.Context(), newMember(name))
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

// relabel changes mc's labels: a change the source sends, used as a fence
// (it is on the same informer as the changes before it, so seen after
// them).
func relabel(t *testing.T, hc *hub.Client, name, value string) *v1alpha1.MemberCluster {
	t.Helper()
	mc, err := hc.GetMemberCluster(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	mc.Labels["env"] = value
	if mc, err = hc.UpdateMemberCluster(t.Context(), mc); err != nil {
		t.Fatal(err)
	}
	return mc
}

func changeID(typ, subject string, obj metav1.Object) string {
	return events.ChangeID(typ, subject, obj.GetResourceVersion())
}

func clusterChanged(t *testing.T, s sent) events.ClusterChanged {
	t.Helper()
	p, err := events.Payload[events.ClusterChanged](s.e)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSource runs sources on one real hub; each subtest has objects of its
// own.
func TestSource(t *testing.T) {
	c := testbed.Start(t, local.ClusterSpec{Name: "hub"})
	hc := testbed.FleetAPI(t, c)
	ctx := t.Context()

	t.Run("the relist sends every object once", func(t *testing.T) {
		a, b := createMember(t, hc, "relist-a"), createMember(t, hc, "relist-b")
		rec := &recorder{}
		startSource(t, hc, rec, Config{})
		for _, mc := range []*v1alpha1.MemberCluster{a, b} {
			rec.waitForID(t, mc.Name, changeID(events.TypeClusterChanged, mc.Name, mc))
		}
		// Fences: a later change of each; once it is sent, nothing else
		// about the object was due.
		for _, mc := range []*v1alpha1.MemberCluster{a, b} {
			after := relabel(t, hc, mc.Name, "fence")
			got := rec.waitForID(t, mc.Name, changeID(events.TypeClusterChanged, mc.Name, after))
			if len(got) != 2 {
				t.Errorf("%s: sent %s, want its relist and the fence", mc.Name, ids(got))
			}
			if p := clusterChanged(t, got[0]); !slices.Equal(p.Changed, []string{WhatCreated}) {
				t.Errorf("%s: relist names %q, want [created]", mc.Name, p.Changed)
			}
		}
	})

	t.Run("a heartbeat sends nothing", func(t *testing.T) {
		rec := &recorder{}
		startSource(t, hc, rec, Config{})
		mc := createMember(t, hc, "heartbeat")
		rec.waitForID(t, mc.Name, changeID(events.TypeClusterChanged, mc.Name, mc))
		var err error
		for i := range 50 {
			beat := metav1.NewTime(time.Now().Add(time.Duration(i) * time.Second))
			mc.Status.LastHeartbeatTime = &beat
			if mc, err = hc.UpdateMemberClusterStatus(ctx, mc); err != nil {
				t.Fatal(err)
			}
		}
		after := relabel(t, hc, mc.Name, "fence")
		got := rec.waitForID(t, mc.Name, changeID(events.TypeClusterChanged, mc.Name, after))
		if len(got) != 2 {
			t.Fatalf("sent %s: want the creation and the fence alone", ids(got))
		}
		if p := clusterChanged(t, got[1]); !slices.Equal(p.Changed, []string{WhatLabels}) {
			t.Errorf("the fence names %q, want [labels] alone", p.Changed)
		}
	})

	t.Run("a burst of spec changes coalesces", func(t *testing.T) {
		rec := &recorder{}
		// 2 s, so that 50 updates make at most 5 events unless they take
		// over 8 s (160 ms each) on a loaded machine.
		startSource(t, hc, rec, Config{Coalesce: 2 * time.Second})
		mc := createMember(t, hc, "burst")
		created := changeID(events.TypeClusterChanged, mc.Name, mc)
		rec.waitForID(t, mc.Name, created)
		start := time.Now()
		var err error
		for i := range 50 {
			mc.Spec.Tier = int32(i + 2)
			if mc, err = hc.UpdateMemberCluster(ctx, mc); err != nil {
				t.Fatal(err)
			}
		}
		took := time.Since(start)
		final := changeID(events.TypeClusterChanged, mc.Name, mc)
		got := rec.waitForID(t, mc.Name, final)[1:]
		t.Logf("50 spec updates in %v: %d events %s", took.Round(time.Millisecond), len(got), ids(got))
		if len(got) > 5 {
			t.Errorf("50 updates made %d events, want at most 5", len(got))
		}
		if last := got[len(got)-1]; last.e.ID() != final {
			t.Errorf("the last event is %s, want %s (the final resourceVersion)", last.e.ID(), final)
		}
		for _, s := range got {
			if p := clusterChanged(t, s); !slices.Equal(p.Changed, []string{WhatSpec}) {
				t.Errorf("%s names %q, want [spec]", s.e.ID(), p.Changed)
			}
		}
	})

	t.Run("phase to Ready sends cluster.ready", func(t *testing.T) {
		rec := &recorder{}
		startSource(t, hc, rec, Config{})
		mc := createMember(t, hc, "ready")
		rec.waitForID(t, mc.Name, changeID(events.TypeClusterChanged, mc.Name, mc))
		mc.Status.Phase, mc.Status.FnEndpoint = v1alpha1.PhaseReady, "http://127.0.1.2:8080"
		mc, err := hc.UpdateMemberClusterStatus(ctx, mc)
		if err != nil {
			t.Fatal(err)
		}
		id := changeID(events.TypeClusterReady, mc.Name, mc)
		got := rec.waitForID(t, mc.Name, id)
		for _, s := range got {
			if s.e.ID() != id {
				continue
			}
			p, err := events.Payload[events.ClusterReady](s.e)
			if err != nil {
				t.Fatal(err)
			}
			if p.FnEndpoint != "http://127.0.1.2:8080" || p.ResourceVersion != mc.ResourceVersion {
				t.Errorf("payload %+v, want the endpoint and resourceVersion %s", p, mc.ResourceVersion)
			}
			if s.e.Source() != events.SourceOf(events.EventSource) {
				t.Errorf("source %s", s.e.Source())
			}
		}
	})

	t.Run("a handler's ask-again-at re-delivers the event then", func(t *testing.T) {
		var askedFor time.Time
		var mu sync.Mutex
		rec := &recorder{answer: func(e event.Event, before int) (events.Outcome, error) {
			if e.Subject() != "deferred" || before > 0 {
				return events.Outcome{Attempts: 1, Status: 204}, nil
			}
			mu.Lock()
			defer mu.Unlock()
			askedFor = time.Now().Add(time.Second)
			return events.Outcome{Attempts: 1, Status: 200, AskAgainAt: askedFor}, nil
		}}
		startSource(t, hc, rec, Config{})
		mc := createMember(t, hc, "deferred")
		id := changeID(events.TypeClusterChanged, mc.Name, mc)
		got := rec.waitFor(t, mc.Name, "the event twice", func(s []sent) bool { return len(s) >= 2 })
		mu.Lock()
		defer mu.Unlock()
		if got[0].e.ID() != id || got[1].e.ID() != id {
			t.Errorf("sent %s, want %s twice", ids(got), id)
		}
		if got[1].at.Before(askedFor) {
			t.Errorf("re-delivered at %v, before the %v asked for", got[1].at, askedFor)
		}
	})

	t.Run("a deletion sends its event", func(t *testing.T) {
		rec := &recorder{}
		startSource(t, hc, rec, Config{})
		mc := createMember(t, hc, "doomed")
		rec.waitForID(t, mc.Name, changeID(events.TypeClusterChanged, mc.Name, mc))
		app, err := hc.CreateFleetApp(ctx, &v1alpha1.FleetApp{
			ObjectMeta: metav1.ObjectMeta{Name: "doomed", Namespace: "default"},
			Spec: v1alpha1.FleetAppSpec{
				App:    v1alpha1.FnApp{Name: "doomed", Functions: []v1alpha1.Function{{Name: "echo", Image: "fnfleet/echo:0.0.1"}}},
				Demand: v1alpha1.Demand{Replicas: 1, CPU: resource.MustParse("100m"), Memory: resource.MustParse("128Mi")},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		placed := &v1alpha1.FleetAppStatus{Placement: []v1alpha1.ClusterPlacement{{Cluster: "doomed", Replicas: 1}}}
		if app, err = hc.ApplyFleetAppStatus(ctx, "default", "doomed", app.ResourceVersion, "fnfleet-placement", placed); err != nil {
			t.Fatal(err)
		}
		rec.waitForID(t, "default/doomed", changeID(events.TypeAppPlaced, "default/doomed", app))

		if err := hc.DeleteFleetApp(ctx, "default", "doomed"); err != nil {
			t.Fatal(err)
		}
		if err := hc.DeleteMemberCluster(ctx, "doomed"); err != nil {
			t.Fatal(err)
		}
		got := rec.waitFor(t, "default/doomed", "app.deleted", func(s []sent) bool {
			return slices.ContainsFunc(s, func(x sent) bool { return x.e.Type() == events.TypeAppDeleted })
		})
		p, err := events.Payload[events.AppDeleted](got[len(got)-1].e)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Clusters, []string{"doomed"}) {
			t.Errorf("app.deleted names clusters %q, want [doomed]", p.Clusters)
		}
		rec.waitFor(t, "doomed", "cluster.changed [deleted]", func(s []sent) bool {
			return slices.ContainsFunc(s, func(x sent) bool {
				return x.e.Type() == events.TypeClusterChanged && slices.Contains(clusterChanged(t, x).Changed, WhatDeleted)
			})
		})
	})

	t.Run("a failed send is retried, a rejected one is not", func(t *testing.T) {
		rec := &recorder{answer: func(e event.Event, before int) (events.Outcome, error) {
			switch {
			case e.Subject() == "flaky" && before < 2:
				return events.Outcome{Attempts: 11, Status: 503}, &events.DeadLetter{Event: e, Reason: events.ReasonExhausted, Status: 503}
			case e.Subject() == "refused" && e.Type() == events.TypeClusterChanged && strings.HasPrefix(clusterChangedWhat(e), WhatCreated):
				return events.Outcome{Attempts: 1, Status: 403}, fmt.Errorf("send: %w", &events.DeadLetter{Event: e, Reason: events.ReasonRejected, Status: 403})
			}
			return events.Outcome{Attempts: 1, Status: 204}, nil
		}}
		startSource(t, hc, rec, Config{})
		flaky := createMember(t, hc, "flaky")
		id := changeID(events.TypeClusterChanged, flaky.Name, flaky)
		got := rec.waitFor(t, flaky.Name, "three sends", func(s []sent) bool { return len(s) >= 3 })
		if ids := ids(got); !slices.Equal(ids, []string{id, id, id}) {
			t.Errorf("sent %s, want %s three times", ids, id)
		}

		refused := createMember(t, hc, "refused")
		rec.waitForID(t, refused.Name, changeID(events.TypeClusterChanged, refused.Name, refused))
		after := relabel(t, hc, refused.Name, "fence")
		got = rec.waitForID(t, refused.Name, changeID(events.TypeClusterChanged, refused.Name, after))
		if len(got) != 2 {
			t.Errorf("sent %s: want the refused event once, then the fence", ids(got))
		}
	})

	t.Run("shutdown waits for sends in flight", func(t *testing.T) { testShutdownWaitsForSendsInFlight(t, hc) })
	t.Run("nothing is sent once Run returned", func(t *testing.T) { testNothingSentAfterRun(t, hc) })
	t.Run("the wire: an events.Sender to a CloudEvents sink", func(t *testing.T) { testWire(t, hc) })
}

func clusterChangedWhat(e event.Event) string {
	p, err := events.Payload[events.ClusterChanged](e)
	if err != nil {
		return ""
	}
	return strings.Join(p.Changed, ",")
}

// blockingSender holds every send until release is closed, or its
// context ends.
type blockingSender struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	ctxErr  error
	done    bool
}

func (b *blockingSender) Send(ctx context.Context, _ event.Event) (events.Outcome, error) {
	b.once.Do(func() { close(b.started) })
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ctxErr, b.done = ctx.Err(), true
	if b.ctxErr != nil {
		return events.Outcome{}, b.ctxErr
	}
	return events.Outcome{Attempts: 1, Status: 204}, nil
}

// testShutdownWaitsForSendsInFlight: once Run's context ends, a send in
// flight finishes with its context intact, and Run returns after it; past
// the grace, the send is cancelled.
func testShutdownWaitsForSendsInFlight(t *testing.T, hc *hub.Client) {
	createMember(t, hc, "slow")

	run := func(grace time.Duration, release bool) *blockingSender {
		b := &blockingSender{started: make(chan struct{}), release: make(chan struct{})}
		s, err := New(Config{Hub: hc, Sender: b, Coalesce: 10 * time.Millisecond, ShutdownGrace: grace, Logger: testbed.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ran := make(chan error, 1)
		go func() { ran <- s.Run(ctx) }()
		select {
		case <-b.started:
		case <-time.After(waitLimit):
			t.Fatal("no send started")
		}
		cancel()
		if release {
			// Run must still be waiting: this only fails if it did not
			// wait, however slow the machine.
			select {
			case err := <-ran:
				t.Fatalf("Run returned (%v) with a send in flight", err)
			case <-time.After(200 * time.Millisecond):
			}
			close(b.release)
		}
		if err := <-ran; err != nil {
			t.Fatalf("Run: %v", err)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if !b.done {
			t.Fatal("Run returned before the send in flight ended")
		}
		return b
	}
	if b := run(time.Minute, true); b.ctxErr != nil {
		t.Errorf("the send in flight was cancelled (%v), want it finished", b.ctxErr)
	}
	if b := run(100*time.Millisecond, false); !errors.Is(b.ctxErr, context.Canceled) {
		t.Errorf("past the grace, the send ended with %v, want it cancelled", b.ctxErr)
	}
}

// testNothingSentAfterRun: once Run has returned, no change reaches the
// sender, however many follow. A second source, started after the changes,
// is the fence: once it has sent them, the first had every chance to.
func testNothingSentAfterRun(t *testing.T, hc *hub.Client) {
	first := &recorder{}
	s, err := New(Config{Hub: hc, Sender: first, Workers: 1, Coalesce: 10 * time.Millisecond, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	before := createMember(t, hc, "before-stop")
	first.waitForID(t, before.Name, changeID(events.TypeClusterChanged, before.Name, before))
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	first.mu.Lock()
	sentBefore := len(first.sent)
	first.mu.Unlock()

	changed := relabel(t, hc, before.Name, "after-stop")
	after := createMember(t, hc, "after-stop")
	fence := &recorder{}
	startSource(t, hc, fence, Config{})
	fence.waitForID(t, changed.Name, changeID(events.TypeClusterChanged, changed.Name, changed))
	fence.waitForID(t, after.Name, changeID(events.TypeClusterChanged, after.Name, after))
	first.mu.Lock()
	defer first.mu.Unlock()
	if late := first.sent[sentBefore:]; len(late) > 0 {
		t.Errorf("sent %s after Run returned", ids(late))
	}
}

// ceSink is a CloudEvents HTTP sink: it decodes every request as the
// events function would, and defers the first delivery of each id of a
// deferred subject once, by 1 s.
type ceSink struct {
	t        *testing.T
	deferred string

	mu       sync.Mutex
	received []sent
	askedFor map[string]time.Time
}

func (s *ceSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if auth := r.Header.Get("Authorization"); auth != "Bearer secret" {
		http.Error(w, "bad token "+auth, http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	s.received = append(s.received, sent{e: *e, at: time.Now()})
	_, asked := s.askedFor[e.ID()]
	at := time.Now().Add(time.Second)
	if e.Subject() == s.deferred && !asked {
		s.askedFor[e.ID()] = at
	}
	s.mu.Unlock()
	if e.Subject() != s.deferred || asked {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	reply, err := events.Defer(*e, at, "waiting for the test")
	if err != nil {
		s.t.Error(err)
		return
	}
	if err := cehttp.WriteResponseWriter(binding.WithForceBinary(r.Context()), binding.ToMessage(reply), http.StatusOK, w); err != nil {
		s.t.Error(err)
	}
}

func (s *ceSink) of(subject string) []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sent
	for _, x := range s.received {
		if x.e.Subject() == subject {
			out = append(out, x)
		}
	}
	return out
}

// testWire: a real events.Sender delivers the source's events over HTTP,
// binary mode, authenticated; a deferral in the sink's reply re-delivers
// the event after the time it names.
func testWire(t *testing.T, hc *hub.Client) {
	sink := &ceSink{t: t, deferred: "wire-pool", askedFor: map[string]time.Time{}}
	server := httptest.NewServer(sink)
	t.Cleanup(server.Close)
	snd, err := events.NewSender(server.URL, events.WithSigner(events.BearerToken("secret")), events.WithLogger(testbed.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	startSource(t, hc, snd, Config{})
	p, err := hc.CreateClusterPool(t.Context(), &v1alpha1.ClusterPool{
		ObjectMeta: metav1.ObjectMeta{Name: "wire-pool"},
		Spec:       v1alpha1.ClusterPoolSpec{Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: "eu-west", MaxClusters: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := changeID(events.TypePoolChanged, p.Name, p)
	deadline := time.Now().Add(waitLimit)
	var got []sent
	for got = sink.of(p.Name); len(got) < 2; got = sink.of(p.Name) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for a delivery and its re-delivery; got %s", ids(got))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range got {
		if s.e.ID() != id || s.e.Type() != events.TypePoolChanged || s.e.Source() != events.SourceOf(events.EventSource) {
			t.Errorf("received %s %s from %s, want %s %s", s.e.ID(), s.e.Type(), s.e.Source(), id, events.TypePoolChanged)
		}
		pl, err := events.Payload[events.PoolChanged](s.e)
		if err != nil || pl.ResourceVersion != p.ResourceVersion || pl.Generation != p.Generation {
			t.Errorf("payload %+v (%v), want generation %d, resourceVersion %s", pl, err, p.Generation, p.ResourceVersion)
		}
	}
	sink.mu.Lock()
	askedFor := sink.askedFor[id]
	sink.mu.Unlock()
	if got[1].at.Before(askedFor) {
		t.Errorf("re-delivered at %v, before the %v the reply asked for", got[1].at, askedFor)
	}
}
