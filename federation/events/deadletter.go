package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// Reason says why an event ended as a dead letter.
type Reason string

const (
	// ReasonRejected: the sink answered a status never retried (400, 401,
	// 403, and every other status outside 2xx and the retried ones).
	ReasonRejected Reason = "rejected"
	// ReasonExhausted: every attempt failed with a retried status or a
	// network error.
	ReasonExhausted Reason = "exhausted"
	// ReasonTooLongToWait: the sink's Retry-After asks for a longer wait
	// than the sender allows (WithMaxRetryAfter).
	ReasonTooLongToWait Reason = "too-long-to-wait"
	// ReasonCancelled: the caller's context ended, or its deadline comes
	// before the next attempt would.
	ReasonCancelled Reason = "cancelled"
	// ReasonInvalid: the event could not be validated, encoded or signed;
	// it was never sent.
	ReasonInvalid Reason = "invalid"
)

// DeadLetter is an event the sender gave up on. It is also the error Send
// returns, so errors.As(err, &dl) finds it.
type DeadLetter struct {
	Event    event.Event
	Sink     string
	Reason   Reason
	Attempts int
	// Status is the last HTTP status; 0 when the last attempt got none.
	Status int
	// Err is the last failure: a network error, a *StatusError, a
	// context's error.
	Err error
}

func (d *DeadLetter) Error() string {
	return fmt.Sprintf("event %s (%s, subject %s) not delivered to %s after %d attempts (%s): %v",
		d.Event.ID(), d.Event.Type(), d.Event.Subject(), d.Sink, d.Attempts, d.Reason, d.Err)
}

func (d *DeadLetter) Unwrap() error { return d.Err }

// StatusError is a sink's answer outside 2xx.
type StatusError struct {
	Status int
	// Message is the start of the body (at most 4 KiB).
	Message string
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("status %d", e.Status)
	}
	return fmt.Sprintf("status %d: %s", e.Status, e.Message)
}

// DeadLetters records dead letters. Record is called once per dead letter
// with a context that outlives the caller's cancellation (10 s), and must
// be safe for concurrent use.
type DeadLetters interface {
	Record(ctx context.Context, dl *DeadLetter) error
}

// AllDeadLetters records each dead letter in every one of all, and joins
// their errors.
func AllDeadLetters(all ...DeadLetters) DeadLetters { return allDeadLetters(all) }

type allDeadLetters []DeadLetters

func (a allDeadLetters) Record(ctx context.Context, dl *DeadLetter) error {
	var errs []error
	for _, d := range a {
		errs = append(errs, d.Record(ctx, dl))
	}
	return errors.Join(errs...)
}

// maxLoggedData bounds the payload a dead letter's log line carries: the
// catalog's payloads are under 1 KiB; a runaway one should not flood the
// log.
const maxLoggedData = 4 << 10

// LogDeadLetters writes each dead letter as one structured line at level
// Error, with everything needed to send the event again (docs/events.md,
// "Reading a dead letter").
func LogDeadLetters(log *slog.Logger) DeadLetters { return logDeadLetters{log: log} }

type logDeadLetters struct{ log *slog.Logger }

func (l logDeadLetters) Record(ctx context.Context, dl *DeadLetter) error {
	data := dl.Event.Data()
	if len(data) > maxLoggedData {
		data = data[:maxLoggedData]
	}
	errText := ""
	if dl.Err != nil {
		errText = dl.Err.Error()
	}
	l.log.ErrorContext(ctx, "event not delivered",
		"event_id", dl.Event.ID(), "event_type", dl.Event.Type(), "event_source", dl.Event.Source(),
		"event_subject", dl.Event.Subject(), "event_time", dl.Event.Time(),
		"sink", dl.Sink, "reason", string(dl.Reason), "attempts", dl.Attempts, "status", dl.Status,
		"err", errText, "data", string(data))
	return nil
}

// CountDeadLetters counts dead letters in fnfleet_events_dead_letters_total
// {type, reason}, registered on reg. The labels are bounded (13 types, 5
// reasons); the subject is not a label, it would grow with the fleet.
func CountDeadLetters(reg prometheus.Registerer) (DeadLetters, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fnfleet_events_dead_letters_total",
		Help: "Events the sender gave up on, by type and reason (rejected, exhausted, too-long-to-wait, cancelled, invalid).",
	}, []string{"type", "reason"})
	if err := reg.Register(c); err != nil {
		return nil, fmt.Errorf("register the dead-letter counter: %w", err)
	}
	return countDeadLetters{c: c}, nil
}

type countDeadLetters struct{ c *prometheus.CounterVec }

func (c countDeadLetters) Record(_ context.Context, dl *DeadLetter) error {
	c.c.WithLabelValues(dl.Event.Type(), string(dl.Reason)).Inc()
	return nil
}

// Objects finds the object an event is about, for its UID: kubectl
// describe lists only the Events whose involvedObject.uid is the object's.
// *hub.Client has these methods.
type Objects interface {
	GetFleetApp(ctx context.Context, namespace, name string) (*v1alpha1.FleetApp, error)
	GetMemberCluster(ctx context.Context, name string) (*v1alpha1.MemberCluster, error)
	GetClusterPool(ctx context.Context, name string) (*v1alpha1.ClusterPool, error)
}

// ReasonNotDelivered is the reason of the Kubernetes Event a dead letter
// leaves on its object.
const ReasonNotDelivered = "EventNotDelivered"

// maxEventMessage is the longest message the apiserver keeps on an Event
// (1 KiB; longer ones are truncated by the recorder in client-go too).
const maxEventMessage = 1024

// RecordDeadLetters leaves a Warning Event on the object each dead letter
// is about: in the FleetApp's namespace, or in default for a cluster-scoped
// MemberCluster or ClusterPool (where hub.Client.Warn puts them, and
// kubectl describe looks). A tick is about no object and leaves none. An
// object that cannot be read (deleted, say) still gets its Event, without
// a UID: kubectl get events shows it, kubectl describe does not.
//
// events is the hub's core API (a clientset's CoreV1()); objects is the
// hub; component names the sender ("fnfleet-event-source").
func RecordDeadLetters(events corev1client.EventsGetter, objects Objects, component string) DeadLetters {
	return recordDeadLetters{events: events, objects: objects, component: component}
}

type recordDeadLetters struct {
	events    corev1client.EventsGetter
	objects   Objects
	component string
}

func (r recordDeadLetters) Record(ctx context.Context, dl *DeadLetter) error {
	ref, ok := ObjectOf(dl.Event)
	if !ok {
		return nil
	}
	uid, rv, lookupErr := r.lookup(ctx, ref)
	ns := ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	msg := dl.Error()
	if len(msg) > maxEventMessage {
		msg = msg[:maxEventMessage-3] + "..."
	}
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: ref.Name + ".", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: v1alpha1.GroupVersion().String(), Kind: ref.Kind,
			Namespace: ref.Namespace, Name: ref.Name, UID: uid, ResourceVersion: rv,
		},
		Reason: ReasonNotDelivered, Message: msg, Type: corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: r.component},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "fnfleet.dev/" + r.component, ReportingInstance: r.component,
	}
	if _, err := r.events.Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("record Event %s on %s %s: %w", ReasonNotDelivered, ref.Kind, ref.Name, errors.Join(err, lookupErr))
	}
	return lookupErr
}

// lookup returns the object's UID and resourceVersion; a missing object
// is not an error.
func (r recordDeadLetters) lookup(ctx context.Context, ref ObjectRef) (types.UID, string, error) {
	if r.objects == nil {
		return "", "", nil
	}
	var meta *metav1.ObjectMeta
	var err error
	switch ref.Kind {
	case KindFleetApp:
		var app *v1alpha1.FleetApp
		if app, err = r.objects.GetFleetApp(ctx, ref.Namespace, ref.Name); app != nil {
			meta = &app.ObjectMeta
		}
	case KindMemberCluster:
		var mc *v1alpha1.MemberCluster
		if mc, err = r.objects.GetMemberCluster(ctx, ref.Name); mc != nil {
			meta = &mc.ObjectMeta
		}
	case KindClusterPool:
		var pool *v1alpha1.ClusterPool
		if pool, err = r.objects.GetClusterPool(ctx, ref.Name); pool != nil {
			meta = &pool.ObjectMeta
		}
	}
	switch {
	case apierrors.IsNotFound(err):
		return "", "", nil
	case err != nil:
		return "", "", fmt.Errorf("read %s %s for its dead letter's Event: %w", ref.Kind, ref.Name, err)
	case meta == nil:
		return "", "", nil
	}
	return meta.UID, meta.ResourceVersion, nil
}
