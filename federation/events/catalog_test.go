package events_test

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/fnfleet/fnfleet/federation/events"
)

var at = time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)

// example returns a payload of spec's type with every field set, so that
// a field lost in a round trip shows.
func example(t *testing.T, s events.Spec) (subject string, payload any) {
	t.Helper()
	switch p := s.Payload.(type) {
	case events.AppChanged:
		return "shop/cart", events.AppChanged{Generation: 3, ResourceVersion: "101"}
	case events.AppDeleted:
		return "shop/cart", events.AppDeleted{Clusters: []string{"eu-1", "us-2"}}
	case events.AppPlaced:
		return "shop/cart", events.AppPlaced{Clusters: []string{"eu-1"}, ResourceVersion: "102"}
	case events.ClusterChanged:
		return "eu-1", events.ClusterChanged{Generation: 2, ResourceVersion: "201", Changed: []string{"spec", "Healthy"}}
	case events.ClusterReady:
		return "eu-1", events.ClusterReady{FnEndpoint: "http://127.0.1.2:8080", ResourceVersion: "202"}
	case events.ClusterParked:
		return "eu-1", events.ClusterParked{Mode: "Stop", ResourceVersion: "203"}
	case events.ClusterFailed:
		return "eu-1", events.ClusterFailed{From: "Provisioning", Message: "quota exceeded", ResourceVersion: "204"}
	case events.PoolChanged:
		return "local-eu-west", events.PoolChanged{Generation: 4, ResourceVersion: "301"}
	case events.CapacityRequested:
		return "shop/cart", events.CapacityRequested{Replicas: 2, Wake: []string{"eu-2"}, Pool: "local-eu-west",
			Create: []string{"local-eu-west-ab12-0"}, ResourceVersion: "103"}
	case events.Tick:
		sched := strings.TrimSuffix(strings.TrimPrefix(s.Type, "dev.fnfleet."), ".due")
		return sched, events.Tick{Schedule: sched, ScheduledAt: at, Missed: 1}
	case events.Deferred:
		return "eu-1", events.Deferred{EventID: "cluster.changed:eu-1@201", EventType: events.TypeClusterChanged,
			AskAgainAt: at.Add(30 * time.Second), Reason: "Provisioning"}
	default:
		t.Fatalf("no example payload for %s (%T): add one", s.Type, p)
		return "", nil
	}
}

func TestCatalogIsWellFormed(t *testing.T) {
	typeName := regexp.MustCompile(`^dev\.fnfleet\.[a-z]+\.[a-z]+$`)
	parties := map[string]bool{events.EventSource: true, events.Scheduler: true, events.Placement: true,
		events.Lifecycle: true, events.Parking: true, events.Deploy: true,
		events.Reconcile: true, events.DNS: true, events.EventsFunction: true}
	seen := map[string]bool{}
	for _, s := range events.Catalog() {
		if !typeName.MatchString(s.Type) {
			t.Errorf("%s: not dev.fnfleet.<noun>.<verb>", s.Type)
		}
		if seen[s.Type] {
			t.Errorf("%s: listed twice (one sender per type)", s.Type)
		}
		seen[s.Type] = true
		if !parties[s.Sender] || s.Source != events.SourceOf(s.Sender) {
			t.Errorf("%s: sender %q, source %q", s.Type, s.Sender, s.Source)
		}
		if len(s.Handlers) == 0 || s.Subject == "" || s.When == "" || reflect.TypeOf(s.Payload).Kind() != reflect.Struct {
			t.Errorf("%s: handlers %v, subject %q, when %q, payload %T: all must be set", s.Type, s.Handlers, s.Subject, s.When, s.Payload)
		}
		for _, h := range s.Handlers {
			if !parties[h] {
				t.Errorf("%s: unknown handler %q", s.Type, h)
			}
		}
	}
}

// TestPayloadRoundTrip builds every type with New, encodes it as JSON
// (the structured wire form) and back, and decodes its payload.
func TestPayloadRoundTrip(t *testing.T) {
	for _, s := range events.Catalog() {
		t.Run(s.Type, func(t *testing.T) {
			subject, payload := example(t, s)
			e, err := events.New(s.Type, "id-1", subject, at, payload)
			if err != nil {
				t.Fatal(err)
			}
			if e.Source() != s.Source || e.DataContentType() != event.ApplicationJSON || !e.Time().Equal(at) {
				t.Errorf("source %q, content type %q, time %v", e.Source(), e.DataContentType(), e.Time())
			}
			wire, err := e.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var back event.Event
			if err := back.UnmarshalJSON(wire); err != nil {
				t.Fatal(err)
			}
			got := reflect.New(reflect.TypeOf(s.Payload))
			if err := back.DataAs(got.Interface()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Elem().Interface(), payload) {
				t.Errorf("payload after the round trip:\n got %+v\nwant %+v", got.Elem().Interface(), payload)
			}
		})
	}
}

func TestPayloadChecksTheCatalog(t *testing.T) {
	e, err := events.New(events.TypeClusterReady, "id-1", "eu-1", at, events.ClusterReady{FnEndpoint: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := events.Payload[events.ClusterReady](e); err != nil || p.FnEndpoint != "http://x" {
		t.Errorf("Payload = %+v, %v", p, err)
	}
	if _, err := events.Payload[events.ClusterParked](e); err == nil {
		t.Error("Payload of the wrong struct: no error")
	}
	if _, err := events.New(events.TypeClusterReady, "id-1", "eu-1", at, events.ClusterParked{}); err == nil {
		t.Error("New with another type's payload: no error")
	}
	if _, err := events.New(events.TypeClusterReady, "id-1", "", at, events.ClusterReady{}); err == nil {
		t.Error("New without a subject: no error")
	}
	if _, err := events.New("dev.fnfleet.cluster.exploded", "id-1", "eu-1", at, events.ClusterReady{}); !errors.Is(err, events.ErrUnknownType) {
		t.Errorf("New of an unknown type = %v, want ErrUnknownType", err)
	}
}

func TestIDs(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	if a, b := events.TickID("parking", at), events.TickID("parking", at.In(berlin)); a != b || a != "parking@2026-03-01T12:30:00Z" {
		t.Errorf("TickID = %q and %q, want both parking@2026-03-01T12:30:00Z", a, b)
	}
	if events.TickID("parking", at) == events.TickID("parking", at.Add(time.Minute)) {
		t.Error("two scheduled times share a TickID")
	}
	if got := events.ChangeID(events.TypeClusterReady, "eu-1", "202"); got != "cluster.ready:eu-1@202" {
		t.Errorf("ChangeID = %q", got)
	}
}

func TestObjectOf(t *testing.T) {
	mk := func(typ, subject string, payload any) event.Event {
		e, err := events.New(typ, "id", subject, at, payload)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	cases := []struct {
		e    event.Event
		want events.ObjectRef
		ok   bool
	}{
		{mk(events.TypeAppPlaced, "shop/cart", events.AppPlaced{}), events.ObjectRef{Kind: events.KindFleetApp, Namespace: "shop", Name: "cart"}, true},
		{mk(events.TypeClusterReady, "eu-1", events.ClusterReady{}), events.ObjectRef{Kind: events.KindMemberCluster, Name: "eu-1"}, true},
		{mk(events.TypePoolChanged, "pool-a", events.PoolChanged{}), events.ObjectRef{Kind: events.KindClusterPool, Name: "pool-a"}, true},
		{mk(events.TypeEventDeferred, "shop/cart", events.Deferred{EventType: events.TypeCapacityRequested}), events.ObjectRef{Kind: events.KindFleetApp, Namespace: "shop", Name: "cart"}, true},
		{mk(events.TypeParkingDue, "parking", events.Tick{}), events.ObjectRef{}, false},
		{mk(events.TypeAppChanged, "no-namespace", events.AppChanged{}), events.ObjectRef{}, false},
	}
	for _, c := range cases {
		got, ok := events.ObjectOf(c.e)
		if got != c.want || ok != c.ok {
			t.Errorf("ObjectOf(%s %s) = %+v, %v; want %+v, %v", c.e.Type(), c.e.Subject(), got, ok, c.want, c.ok)
		}
	}
}
