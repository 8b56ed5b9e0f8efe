package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/hub"
)

// The hub client finds the objects of a dead letter.
var _ events.Objects = (*hub.Client)(nil)

// eventsAPI is the hub's Events API: it keeps what Create gets.
type eventsAPI struct {
	mu      sync.Mutex
	created []*corev1.Event
}

func (a *eventsAPI) Events(namespace string) corev1client.EventInterface {
	return eventsIn{api: a, ns: namespace}
}

// eventsIn implements Create; the other methods are the nil interface's,
// so a call to one fails the test with a panic.
type eventsIn struct {
	corev1client.EventInterface
	api *eventsAPI
	ns  string
}

func (e eventsIn) Create(_ context.Context, ev *corev1.Event, _ metav1.CreateOptions) (*corev1.Event, error) {
	if ev.Namespace != e.ns {
		return nil, errors.New("namespace of the Event and of the request differ")
	}
	e.api.mu.Lock()
	defer e.api.mu.Unlock()
	e.api.created = append(e.api.created, ev)
	return ev, nil
}

// objects is a hub with one FleetApp and one MemberCluster.
type objects struct{}

func (objects) GetFleetApp(_ context.Context, ns, name string) (*v1alpha1.FleetApp, error) {
	if ns != "shop" || name != "cart" {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "fnfleet.dev", Resource: "fleetapps"}, name)
	}
	return &v1alpha1.FleetApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "app-uid", ResourceVersion: "9"}}, nil
}

func (objects) GetMemberCluster(_ context.Context, name string) (*v1alpha1.MemberCluster, error) {
	if name != "eu-1" {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "fnfleet.dev", Resource: "memberclusters"}, name)
	}
	return &v1alpha1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: name, UID: "mc-uid", ResourceVersion: "8"}}, nil
}

func (objects) GetClusterPool(context.Context, string) (*v1alpha1.ClusterPool, error) {
	return nil, errors.New("the hub is unreachable")
}

func deadLetter(t *testing.T, typ, subject string, payload any) *events.DeadLetter {
	t.Helper()
	e, err := events.New(typ, "id-1", subject, at, payload)
	if err != nil {
		t.Fatal(err)
	}
	return &events.DeadLetter{Event: e, Sink: "http://hub-fn:8080/t/fnfleet/events", Reason: events.ReasonExhausted,
		Attempts: 11, Status: 503, Err: &events.StatusError{Status: 503, Message: "busy"}}
}

func TestRecordDeadLettersLeavesAnEventOnTheObject(t *testing.T) {
	api := &eventsAPI{}
	rec := events.RecordDeadLetters(api, objects{}, "fnfleet-event-source")
	ctx := t.Context()
	if err := rec.Record(ctx, deadLetter(t, events.TypeCapacityRequested, "shop/cart", events.CapacityRequested{})); err != nil {
		t.Fatal(err)
	}
	if err := rec.Record(ctx, deadLetter(t, events.TypeClusterReady, "eu-1", events.ClusterReady{})); err != nil {
		t.Fatal(err)
	}
	if err := rec.Record(ctx, deadLetter(t, events.TypeClusterFailed, "gone-1", events.ClusterFailed{})); err != nil {
		t.Fatal(err)
	}
	if err := rec.Record(ctx, deadLetter(t, events.TypeParkingDue, "parking", events.Tick{})); err != nil {
		t.Fatal(err)
	}
	err := rec.Record(ctx, deadLetter(t, events.TypePoolChanged, "pool-a", events.PoolChanged{}))
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("a pool the hub cannot read: %v, want the read's error", err)
	}

	want := []struct{ ns, kind, name, uid string }{
		{"shop", events.KindFleetApp, "cart", "app-uid"},
		{"default", events.KindMemberCluster, "eu-1", "mc-uid"},
		{"default", events.KindMemberCluster, "gone-1", ""}, // deleted: recorded without a UID
		{"default", events.KindClusterPool, "pool-a", ""},   // the tick left none
	}
	if len(api.created) != len(want) {
		t.Fatalf("%d Events, want %d", len(api.created), len(want))
	}
	for i, w := range want {
		ev := api.created[i]
		io := ev.InvolvedObject
		if ev.Namespace != w.ns || io.Kind != w.kind || io.Name != w.name || string(io.UID) != w.uid ||
			io.APIVersion != "fnfleet.dev/v1alpha1" || ev.Type != corev1.EventTypeWarning || ev.Reason != events.ReasonNotDelivered ||
			ev.Source.Component != "fnfleet-event-source" {
			t.Errorf("Event %d: %+v", i, ev)
		}
		if !strings.Contains(ev.Message, "after 11 attempts (exhausted): status 503: busy") {
			t.Errorf("Event %d message %q", i, ev.Message)
		}
	}
}

func TestLogDeadLetters(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	dl := deadLetter(t, events.TypeClusterReady, "eu-1", events.ClusterReady{FnEndpoint: "http://x"})
	if err := events.LogDeadLetters(log).Record(t.Context(), dl); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	want := map[string]any{
		"level": "ERROR", "msg": "event not delivered", "event_id": "id-1", "event_type": events.TypeClusterReady,
		"event_source": "/fnfleet/event-source", "event_subject": "eu-1", "reason": "exhausted", "attempts": 11.0,
		"status": 503.0, "err": "status 503: busy", "data": `{"fnEndpoint":"http://x","resourceVersion":""}`,
		"sink": "http://hub-fn:8080/t/fnfleet/events", "event_time": "2026-03-01T12:30:00Z",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
}

func TestCountDeadLetters(t *testing.T) {
	reg := prometheus.NewRegistry()
	count, err := events.CountDeadLetters(reg)
	if err != nil {
		t.Fatal(err)
	}
	dl := deadLetter(t, events.TypeClusterReady, "eu-1", events.ClusterReady{})
	for range 3 {
		_ = count.Record(t.Context(), dl)
	}
	dl = deadLetter(t, events.TypeClusterReady, "eu-2", events.ClusterReady{})
	dl.Reason = events.ReasonRejected
	_ = count.Record(t.Context(), dl)
	want := map[string]float64{"dev.fnfleet.cluster.ready exhausted": 3, "dev.fnfleet.cluster.ready rejected": 1}
	if got := deadLetterCounts(t, reg); !maps.Equal(got, want) {
		t.Errorf("counted %v, want %v", got, want)
	}
	if _, err := events.CountDeadLetters(reg); err == nil {
		t.Error("registering the counter twice on one registry: no error")
	}
}

// TestSenderDeadLettersOnce sends through a sender whose dead letters go
// to all three sinks: one line, one count, one Event per failed event.
func TestSenderDeadLettersOnce(t *testing.T) {
	var buf bytes.Buffer
	reg := prometheus.NewRegistry()
	count, err := events.CountDeadLetters(reg)
	if err != nil {
		t.Fatal(err)
	}
	api := &eventsAPI{}
	all := events.AllDeadLetters(events.LogDeadLetters(slog.New(slog.NewJSONHandler(&buf, nil))), count,
		events.RecordDeadLetters(api, objects{}, "fnfleet-event-source"))
	f := newFixture(t, []answer{{status: 500}, {status: 403, body: "forbidden"}}, events.WithDeadLetters(all))
	if _, err := f.sender.Send(t.Context(), readyEvent(t, "e1")); err == nil {
		t.Fatal("a 403: no error")
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("%d log lines, want 1: %s", n, buf.String())
	}
	if got, want := deadLetterCounts(t, reg), map[string]float64{"dev.fnfleet.cluster.ready rejected": 1}; !maps.Equal(got, want) {
		t.Errorf("counted %v, want %v", got, want)
	}
	if len(api.created) != 1 || !strings.Contains(api.created[0].Message, "after 2 attempts (rejected): status 403: forbidden") {
		t.Errorf("Events %+v", api.created)
	}
}

// deadLetterCounts reads fnfleet_events_dead_letters_total from reg, by
// "<type> <reason>".
func deadLetterCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "fnfleet_events_dead_letters_total" {
			t.Errorf("unexpected metric %s", f.GetName())
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["type"]+" "+labels["reason"]] = m.GetCounter().GetValue()
		}
	}
	return got
}
