package events_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/fnfleet/fnfleet/federation/events"
)

func TestRoute(t *testing.T) {
	r := events.NewRouter()
	for _, s := range events.Catalog() {
		subject, payload := example(t, s)
		e, err := events.New(s.Type, "id-1", subject, at, payload)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Route(e)
		if err != nil || !slices.Equal(got, s.Handlers) {
			t.Errorf("Route(%s) = %v, %v; want %v", s.Type, got, err, s.Handlers)
		}
		got[0] = "changed by the caller" // a caller's slice is its own
	}
	want := map[string][]string{
		events.TypeAppChanged:        {events.Placement},
		events.TypeClusterChanged:    {events.Placement, events.Lifecycle, events.DNS},
		events.TypeCapacityRequested: {events.Lifecycle},
		events.TypeParkingDue:        {events.Parking},
		events.TypeReconcileDue:      {events.Reconcile},
	}
	for typ, handlers := range want {
		e := event.New()
		e.SetType(typ)
		e.SetSubject("x")
		if got, err := r.Route(e); err != nil || !slices.Equal(got, handlers) {
			t.Errorf("Route(%s) = %v, %v; want %v", typ, got, err, handlers)
		}
	}
}

func TestRouteRefuses(t *testing.T) {
	r := events.NewRouter()
	e := event.New()
	e.SetID("abc")
	e.SetType("dev.fnfleet.cluster.exploded")
	e.SetSubject("eu-1")
	_, err := r.Route(e)
	if !errors.Is(err, events.ErrUnknownType) || !strings.Contains(err.Error(), `"dev.fnfleet.cluster.exploded"`) {
		t.Errorf("Route of an unknown type = %v; want ErrUnknownType naming the type", err)
	}
	e.SetType(events.TypeClusterReady)
	e.SetSubject("")
	if _, err := r.Route(e); err == nil || !strings.Contains(err.Error(), "no subject") {
		t.Errorf("Route without a subject = %v", err)
	}
}

func TestDefer(t *testing.T) {
	e, err := events.New(events.TypeCapacityRequested, "capacity.requested:shop/cart@103", "shop/cart", at, events.CapacityRequested{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	next := at.Add(20 * time.Second)
	reply, err := events.Defer(e, next, "MemberCluster eu-1 is Provisioning")
	if err != nil {
		t.Fatal(err)
	}
	if err := reply.Validate(); err != nil {
		t.Fatal(err)
	}
	if reply.Subject() != "shop/cart" || reply.Source() != events.SourceOf(events.EventsFunction) {
		t.Errorf("reply subject %q, source %q", reply.Subject(), reply.Source())
	}
	got, err := events.AskAgainAt(reply)
	if err != nil || !got.Equal(next) {
		t.Errorf("AskAgainAt = %v, %v; want %v", got, err, next)
	}
	d, err := events.Payload[events.Deferred](*reply)
	if err != nil || d.EventID != e.ID() || d.EventType != e.Type() || d.Reason == "" {
		t.Errorf("deferral %+v, %v", d, err)
	}
	if got, err := events.AskAgainAt(nil); err != nil || !got.IsZero() {
		t.Errorf("AskAgainAt(nil) = %v, %v", got, err)
	}
	if got, err := events.AskAgainAt(&e); err != nil || !got.IsZero() {
		t.Errorf("AskAgainAt of a reply that is no deferral = %v, %v", got, err)
	}
}
