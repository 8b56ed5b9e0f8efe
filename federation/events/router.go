package events

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// ErrUnknownType is the error for an event type not in the catalog. The
// events function answers it 400, which no sender retries: an unknown type
// is a sender's mistake (or a newer sender than this router), and
// repeating it would not help.
var ErrUnknownType = errors.New("event type not in the catalog (docs/events.md)")

// Router hands each event type to its handlers, as the catalog says. It is
// immutable and safe for concurrent use.
type Router struct {
	routes map[string][]string
}

// NewRouter returns the catalog's router.
func NewRouter() *Router {
	cat := Catalog()
	r := &Router{routes: make(map[string][]string, len(cat))}
	for _, s := range cat {
		r.routes[s.Type] = s.Handlers
	}
	return r
}

// Route returns the names of the functions that handle e, in order. An
// unknown type wraps ErrUnknownType; an event without a subject is
// refused, since every handler reads the object it names.
func (r *Router) Route(e event.Event) ([]string, error) {
	handlers, ok := r.routes[e.Type()]
	if !ok {
		return nil, fmt.Errorf("route event %s: type %q: %w", e.ID(), e.Type(), ErrUnknownType)
	}
	if e.Subject() == "" {
		return nil, fmt.Errorf("route event %s (%s): no subject; it names the object the event is about", e.ID(), e.Type())
	}
	return append([]string(nil), handlers...), nil
}

// Defer returns the reply with which a handler of e asks for e again at
// at (control.Lifecycle.Reconcile's next): a dev.fnfleet.event.deferred
// event about e's subject. The events function answers it (200, binary
// mode); the Sender returns its time as Outcome.AskAgainAt, and the event
// source delivers e again then. Through a broker, the reply goes to the
// broker and the event source's trigger on the type receives it.
func Defer(e event.Event, at time.Time, reason string) (*event.Event, error) {
	id := e.ID() + "/deferred@" + at.UTC().Format(time.RFC3339Nano)
	reply, err := New(TypeEventDeferred, id, e.Subject(), time.Time{},
		Deferred{EventID: e.ID(), EventType: e.Type(), AskAgainAt: at, Reason: reason})
	if err != nil {
		return nil, fmt.Errorf("defer event %s: %w", e.ID(), err)
	}
	return &reply, nil
}

// AskAgainAt returns the time a reply asks for its event again: zero for
// no reply or a reply that is not a deferral.
func AskAgainAt(reply *event.Event) (time.Time, error) {
	if reply == nil || reply.Type() != TypeEventDeferred {
		return time.Time{}, nil
	}
	d, err := Payload[Deferred](*reply)
	if err != nil {
		return time.Time{}, err
	}
	return d.AskAgainAt, nil
}
