package conformance

import (
	"context"
	"errors"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/cloudevent"
)

// Event types the event handler treats specially; any other type gets a
// reply of type <type>.reply carrying the same data.
const (
	TypeFailStatus = "test.fail.status" // returns a 409 StatusError
	TypeFail       = "test.fail"        // returns a plain error
	TypeNoReply    = "test.noreply"     // returns neither event nor error
	TypeBadReply   = "test.badreply"    // returns a reply without source
)

// EventHandler returns the CloudEvents conformance handler.
func EventHandler() fdk.Handler {
	return cloudevent.Handler(func(_ context.Context, e event.Event) (*event.Event, error) {
		switch e.Type() {
		case TypeFailStatus:
			return nil, cloudevent.Errorf(http.StatusConflict, "event %s conflicts", e.ID())
		case TypeFail:
			return nil, errors.New("handler failed")
		case TypeNoReply:
			return nil, nil
		}
		reply := event.New()
		reply.SetID(e.ID() + "-reply")
		reply.SetType(e.Type() + ".reply")
		if e.Type() != TypeBadReply {
			reply.SetSource("/conformance")
		}
		reply.SetExtension("inreplyto", e.ID())
		if err := reply.SetData(e.DataContentType(), e.Data()); err != nil {
			return nil, err
		}
		return &reply, nil
	})
}

// EchoEventHandler returns a CloudEvents handler that replies with the
// event it received, unchanged: what reaches the caller is what the FDK
// decoded and encodes again, every attribute, extension and datum.
func EchoEventHandler() fdk.Handler {
	return cloudevent.Handler(func(_ context.Context, e event.Event) (*event.Event, error) {
		return &e, nil
	})
}
