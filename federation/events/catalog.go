package events

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// The event types. Each has exactly one sender and one payload struct; see
// Catalog.
const (
	TypeAppChanged        = "dev.fnfleet.app.changed"
	TypeAppDeleted        = "dev.fnfleet.app.deleted"
	TypeAppPlaced         = "dev.fnfleet.app.placed"
	TypeClusterChanged    = "dev.fnfleet.cluster.changed"
	TypeClusterReady      = "dev.fnfleet.cluster.ready"
	TypeClusterParked     = "dev.fnfleet.cluster.parked"
	TypeClusterFailed     = "dev.fnfleet.cluster.failed"
	TypePoolChanged       = "dev.fnfleet.pool.changed"
	TypeCapacityRequested = "dev.fnfleet.capacity.requested"
	TypeResyncDue         = "dev.fnfleet.resync.due"
	TypeReconcileDue      = "dev.fnfleet.reconcile.due"
	TypeParkingDue        = "dev.fnfleet.parking.due"
	TypeDNSDue            = "dev.fnfleet.dns.due"
	TypeEventDeferred     = "dev.fnfleet.event.deferred"
)

// The parties that send and handle events: the hub's two long-running
// sources and the Fn functions (by function name).
const (
	EventSource    = "event-source"
	Scheduler      = "scheduler"
	Placement      = "placement"
	Lifecycle      = "lifecycle"
	Parking        = "parking"
	Deploy         = "deploy"
	Reconcile      = "reconcile"
	DNS            = "dns"
	EventsFunction = "events"
)

// The schedules whose ticks are events; a tick's subject is its schedule.
const (
	ScheduleResync    = "resync"
	ScheduleReconcile = "reconcile"
	ScheduleParking   = "parking"
	ScheduleDNS       = "dns"
)

// Kinds of the objects a subject names.
const (
	KindFleetApp      = "FleetApp"
	KindMemberCluster = "MemberCluster"
	KindClusterPool   = "ClusterPool"
)

// Spec is one entry of the catalog.
type Spec struct {
	Type string
	// Source is the CloudEvents source of every event of the type: the
	// sender's, SourceOf(Sender).
	Source string
	// Subject says how the subject is formed: the key of the object the
	// event is about.
	Subject string
	// Object is the kind of that object, empty for a tick.
	Object string
	// Payload is a zero value of the payload struct (JSON).
	Payload any
	// Sender is the one party that sends the type.
	Sender string
	// Handlers are the functions the router hands the event to, in order.
	Handlers []string
	// When says when the event is sent.
	When string
}

// Subject forms.
const (
	subjectApp      = "`<namespace>/<name>` of the FleetApp"
	subjectCluster  = "`<name>` of the MemberCluster"
	subjectPool     = "`<name>` of the ClusterPool"
	subjectSchedule = "the schedule's name"
	subjectDeferred = "the deferred event's subject"
)

// SourceOf is the CloudEvents source of the events party sends.
func SourceOf(party string) string { return "/fnfleet/" + party }

// Catalog returns every event type, a fresh slice on each call. It is the
// one definition: the router, New, Payload and docs/events.md (checked by
// a test) all follow it.
func Catalog() []Spec {
	spec := func(typ, sender, subject, object string, payload any, when string, handlers ...string) Spec {
		return Spec{Type: typ, Source: SourceOf(sender), Subject: subject, Object: object,
			Payload: payload, Sender: sender, Handlers: handlers, When: when}
	}
	return []Spec{
		spec(TypeAppChanged, EventSource, subjectApp, KindFleetApp, AppChanged{},
			"a FleetApp was created or its spec changed (metadata.generation)", Placement),
		spec(TypeAppDeleted, EventSource, subjectApp, KindFleetApp, AppDeleted{},
			"a FleetApp is being deleted", DNS, Deploy, Lifecycle),
		spec(TypeAppPlaced, EventSource, subjectApp, KindFleetApp, AppPlaced{},
			"a FleetApp's placement decision changed (status.placement)", Deploy, Lifecycle, DNS),
		spec(TypeClusterChanged, EventSource, subjectCluster, KindMemberCluster, ClusterChanged{},
			"a MemberCluster's spec, a condition (Healthy...) or a phase other than Ready, Parked, Failed changed; never a heartbeat", Placement, Lifecycle, DNS),
		spec(TypeClusterReady, EventSource, subjectCluster, KindMemberCluster, ClusterReady{},
			"a MemberCluster's phase turned Ready", Reconcile, Placement, Deploy, DNS),
		spec(TypeClusterParked, EventSource, subjectCluster, KindMemberCluster, ClusterParked{},
			"a MemberCluster's phase turned Parked", Placement, DNS),
		spec(TypeClusterFailed, EventSource, subjectCluster, KindMemberCluster, ClusterFailed{},
			"a MemberCluster's phase turned Failed", Placement, DNS),
		spec(TypePoolChanged, EventSource, subjectPool, KindClusterPool, PoolChanged{},
			"a ClusterPool was created or its spec changed", Placement, Lifecycle),
		spec(TypeCapacityRequested, Placement, subjectApp, KindFleetApp, CapacityRequested{},
			"placement wrote a new status.capacityRequest (a follow-up, sent after the write)", Lifecycle),
		spec(TypeResyncDue, Scheduler, subjectSchedule, "", Tick{},
			"the resync schedule fired: repair what events missed", Placement, Deploy, Lifecycle),
		spec(TypeReconcileDue, Scheduler, subjectSchedule, "", Tick{},
			"the reconcile schedule fired: heartbeat, probes, capacity of every member", Reconcile),
		spec(TypeParkingDue, Scheduler, subjectSchedule, "", Tick{},
			"the parking schedule fired: the sweep of should-it-run answers", Parking),
		spec(TypeDNSDue, Scheduler, subjectSchedule, "", Tick{},
			"the dns schedule fired: probe the members serving apps with names, write what changed", DNS),
		spec(TypeEventDeferred, EventsFunction, subjectDeferred, "", Deferred{},
			"a handler must wait: the reply to an event, saying when to deliver it again", EventSource),
	}
}

// Lookup returns the catalog entry of typ.
func Lookup(typ string) (Spec, bool) {
	for _, s := range Catalog() {
		if s.Type == typ {
			return s, true
		}
	}
	return Spec{}, false
}

// AppChanged is the payload of dev.fnfleet.app.changed.
type AppChanged struct {
	Generation      int64  `json:"generation"`
	ResourceVersion string `json:"resourceVersion"`
}

// AppDeleted is the payload of dev.fnfleet.app.deleted.
type AppDeleted struct {
	// Clusters the app was placed on when last seen: where deploy removes
	// its Fn app, once DNS stopped sending traffic there.
	Clusters []string `json:"clusters,omitempty"`
}

// AppPlaced is the payload of dev.fnfleet.app.placed.
type AppPlaced struct {
	// Clusters the decision selects.
	Clusters        []string `json:"clusters"`
	ResourceVersion string   `json:"resourceVersion"`
}

// ClusterChanged is the payload of dev.fnfleet.cluster.changed.
type ClusterChanged struct {
	Generation      int64  `json:"generation"`
	ResourceVersion string `json:"resourceVersion"`
	// Changed names what changed: "spec", or a condition's type.
	Changed []string `json:"changed"`
}

// ClusterReady is the payload of dev.fnfleet.cluster.ready.
type ClusterReady struct {
	FnEndpoint      string `json:"fnEndpoint"`
	ResourceVersion string `json:"resourceVersion"`
}

// ClusterParked is the payload of dev.fnfleet.cluster.parked.
type ClusterParked struct {
	// Mode is the parking mode applied (Stop, ScaleToZero, Delete).
	Mode            string `json:"mode"`
	ResourceVersion string `json:"resourceVersion"`
}

// ClusterFailed is the payload of dev.fnfleet.cluster.failed.
type ClusterFailed struct {
	// From is the phase that failed.
	From            string `json:"from"`
	Message         string `json:"message"`
	ResourceVersion string `json:"resourceVersion"`
}

// PoolChanged is the payload of dev.fnfleet.pool.changed.
type PoolChanged struct {
	Generation      int64  `json:"generation"`
	ResourceVersion string `json:"resourceVersion"`
}

// CapacityRequested is the payload of dev.fnfleet.capacity.requested: a
// summary of the app's status.capacityRequest, which lifecycle reads.
type CapacityRequested struct {
	Replicas int32 `json:"replicas"`
	// Wake names parked clusters to unpark, in order.
	Wake []string `json:"wake,omitempty"`
	// Pool and Create name the MemberClusters placement created to be
	// provisioned.
	Pool            string   `json:"pool,omitempty"`
	Create          []string `json:"create,omitempty"`
	ResourceVersion string   `json:"resourceVersion"`
}

// Tick is the payload of the dev.fnfleet.<schedule>.due types.
type Tick struct {
	Schedule    string    `json:"schedule"`
	ScheduledAt time.Time `json:"scheduledAt"`
	// Missed counts the ticks of the schedule not sent since the last one
	// (the scheduler was down, or a run was still going).
	Missed int `json:"missed"`
}

// Deferred is the payload of dev.fnfleet.event.deferred: the handler of
// the event EventID must wait, and asks for it again at AskAgainAt.
type Deferred struct {
	EventID    string    `json:"eventId"`
	EventType  string    `json:"eventType"`
	AskAgainAt time.Time `json:"askAgainAt"`
	Reason     string    `json:"reason,omitempty"`
}

// New returns the event typ about subject with payload, whose type must be
// the catalog's for typ; its source is the catalog's, its data JSON.
func New(typ, id, subject string, at time.Time, payload any) (event.Event, error) {
	s, ok := Lookup(typ)
	if !ok {
		return event.Event{}, fmt.Errorf("new event: type %q: %w", typ, ErrUnknownType)
	}
	if got, want := reflect.TypeOf(payload), reflect.TypeOf(s.Payload); got != want {
		return event.Event{}, fmt.Errorf("new event %s: payload is %v, the catalog says %v", typ, got, want)
	}
	if id == "" || subject == "" {
		return event.Event{}, fmt.Errorf("new event %s: id %q and subject %q must both be set", typ, id, subject)
	}
	e := event.New(event.CloudEventsVersionV1)
	e.SetType(typ)
	e.SetID(id)
	e.SetSource(s.Source)
	e.SetSubject(subject)
	if !at.IsZero() {
		e.SetTime(at)
	}
	if err := e.SetData(event.ApplicationJSON, payload); err != nil {
		return event.Event{}, fmt.Errorf("new event %s: encode payload: %w", typ, err)
	}
	return e, nil
}

// Payload decodes e's data as T, which must be the catalog's payload for
// e's type: Payload[ClusterReady](e).
func Payload[T any](e event.Event) (T, error) {
	var p T
	s, ok := Lookup(e.Type())
	if !ok {
		return p, fmt.Errorf("payload of event %s: type %q: %w", e.ID(), e.Type(), ErrUnknownType)
	}
	if got, want := reflect.TypeOf(p), reflect.TypeOf(s.Payload); got != want {
		return p, fmt.Errorf("payload of event %s: asked for %v, the catalog says %s carries %v", e.ID(), got, e.Type(), want)
	}
	if err := e.DataAs(&p); err != nil {
		return p, fmt.Errorf("payload of event %s (%s): %w", e.ID(), e.Type(), err)
	}
	return p, nil
}

// TickID is the id of schedule's tick scheduled at at: the same for every
// scheduler replica and every repeat, so a receiver that saw it can drop a
// second one. Cron schedules have whole seconds, hence RFC 3339 in UTC.
func TickID(schedule string, at time.Time) string {
	return schedule + "@" + at.UTC().Format(time.RFC3339)
}

// ChangeID is the id of an event about the object subject at
// resourceVersion: the event source seeing the same change twice (a
// relist, a restart) sends the same id.
func ChangeID(typ, subject, resourceVersion string) string {
	return strings.TrimPrefix(typ, "dev.fnfleet.") + ":" + subject + "@" + resourceVersion
}

// ObjectRef names the object an event is about.
type ObjectRef struct {
	Kind      string
	Namespace string // empty for a cluster-scoped object
	Name      string
}

// ObjectOf returns the object e is about, from its type and subject; a
// deferral is about its event's object. False for a tick or an unknown
// type.
func ObjectOf(e event.Event) (ObjectRef, bool) {
	typ := e.Type()
	if typ == TypeEventDeferred {
		d, err := Payload[Deferred](e)
		if err != nil {
			return ObjectRef{}, false
		}
		typ = d.EventType
	}
	s, ok := Lookup(typ)
	if !ok || s.Object == "" || e.Subject() == "" {
		return ObjectRef{}, false
	}
	ref := ObjectRef{Kind: s.Object, Name: e.Subject()}
	if s.Object == KindFleetApp {
		ns, name, ok := strings.Cut(e.Subject(), "/")
		if !ok || ns == "" || name == "" {
			return ObjectRef{}, false
		}
		ref.Namespace, ref.Name = ns, name
	}
	return ref, true
}
