package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/fninvoke"
)

// eventsFunction is the events function: the fleet's one CloudEvents
// entry point.
type eventsFunction struct {
	router *events.Router
	handle fdk.Handler // cloudevent.Handler over route

	mu sync.Mutex
	fn *fninvoke.Client // built on the first call
}

// NewEvents returns the events function. It authenticates each event
// (cloudevent.Handler: unsigned or wrongly signed -> 401, a timestamp
// outside the window -> 401, malformed -> 400; nothing changes), routes it
// (events.Router) and hands it, in binary mode with the same attributes,
// to each of its handler functions in turn through the hub's Fn API
// (ConfigFnAPIURL), so each handler keeps its own limits. It answers with
// the outcome: a handler's failure (5xx over 4xx, naming the handler),
// else the earliest deferral (dev.fnfleet.event.deferred), else 204. It
// refuses to run without an event secret or token: an open entry point
// would let anyone drive the fleet.
func NewEvents() fdk.Handler {
	f := &eventsFunction{router: events.NewRouter()}
	f.handle = cloudevent.Handler(f.route)
	return f
}

// Serve implements fdk.Handler.
func (f *eventsFunction) Serve(ctx context.Context, in io.Reader, out io.Writer) {
	cfg := config(fdk.GetContext(ctx).Config())
	if cfg[cloudevent.ConfigHMACSecret] == "" && cfg[cloudevent.ConfigToken] == "" {
		_, err := cfg.need(cloudevent.ConfigHMACSecret, "the shared secret events are signed with (or set "+cloudevent.ConfigToken+")")
		writeError(out, http.StatusInternalServerError, "events: "+err.Error())
		return
	}
	if _, err := f.invoker(cfg); err != nil {
		writeError(out, http.StatusInternalServerError, "events: "+err.Error())
		return
	}
	f.handle.Serve(ctx, in, out)
}

func (f *eventsFunction) invoker(cfg config) (*fninvoke.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fn == nil {
		fn, err := cfg.invoker()
		if err != nil {
			return nil, err
		}
		f.fn = fn
	}
	return f.fn, nil
}

// handlerOutcome is what one handler function answered.
type handlerOutcome struct {
	name   string
	status int // 0: no answer
	err    error
	wait   deferral
}

// route hands e to its handlers and combines their outcomes.
func (f *eventsFunction) route(ctx context.Context, e event.Event) (*event.Event, error) {
	handlers, err := f.router.Route(e)
	if err != nil {
		return nil, cloudevent.WithStatus(http.StatusBadRequest, err)
	}
	header, body, err := binaryMode(ctx, e)
	if err != nil {
		return nil, cloudevent.WithStatus(http.StatusBadRequest, err)
	}
	f.mu.Lock()
	fn := f.fn
	f.mu.Unlock()
	outcomes := make([]handlerOutcome, 0, len(handlers))
	for _, name := range handlers {
		outcomes = append(outcomes, forward(ctx, fn, name, e, header, body))
	}
	return combine(e, outcomes)
}

// binaryMode encodes e as a binary-mode request: ce-* headers and the data
// as the body.
func binaryMode(ctx context.Context, e event.Event) (http.Header, []byte, error) {
	req := &http.Request{Header: http.Header{}}
	if err := cehttp.WriteRequest(binding.WithForceBinary(ctx), binding.ToMessage(&e), req); err != nil {
		return nil, nil, fmt.Errorf("encode event %s in binary mode: %w", e.ID(), err)
	}
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, nil, fmt.Errorf("encode event %s: %w", e.ID(), err)
		}
	}
	return req.Header, body, nil
}

// maxMessage bounds a handler's error message quoted in the answer.
const maxMessage = 1 << 10

// forward calls handler fn name with the event and reads its outcome.
func forward(ctx context.Context, fn *fninvoke.Client, name string, e event.Event, header http.Header, body []byte) handlerOutcome {
	o := handlerOutcome{name: name}
	a, err := fn.Invoke(ctx, AppName, name, header, body)
	if err != nil {
		// The hub's Fn API did not answer, or does not know the function
		// (yet): a retry may find it.
		o.status, o.err = http.StatusBadGateway, err
		return o
	}
	o.status = a.Status
	if a.Status < 200 || a.Status > 299 {
		o.err = errors.New(messageOf(a.Body))
		return o
	}
	if a.Status == http.StatusNoContent || a.Header.Get("Ce-Specversion") == "" {
		return o
	}
	reply, err := cloudevent.Decode(ctx, a.Header, a.Body)
	if err != nil {
		slog.WarnContext(ctx, "events: a handler's reply is not an event; taken as done", "function", name, "event_id", e.ID(), "err", err.Error())
		return o
	}
	at, err := events.AskAgainAt(reply)
	if err != nil {
		slog.WarnContext(ctx, "events: a handler's reply is not a readable deferral; taken as done", "function", name, "event_id", e.ID(), "err", err.Error())
		return o
	}
	o.wait = deferral{at: at, reason: name + ": " + reasonOf(reply)}
	return o
}

// messageOf is the message of an error answer: its JSON "message", else
// its text, bounded.
func messageOf(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		msg = m.Message
	}
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "..."
	}
	return msg
}

func reasonOf(reply *event.Event) string {
	d, err := events.Payload[events.Deferred](*reply)
	if err != nil {
		return ""
	}
	return d.Reason
}

// combine is the events function's answer: a failure wins (a 5xx over a
// 4xx: the sender retries a 5xx, and the handlers are idempotent, so the
// ones that succeeded run again harmlessly), then the earliest deferral.
func combine(e event.Event, outcomes []handlerOutcome) (*event.Event, error) {
	var (
		worst   *handlerOutcome
		msgs    []string
		earlier deferral
	)
	for i := range outcomes {
		o := &outcomes[i]
		if o.err != nil {
			msgs = append(msgs, fmt.Sprintf("handler %s answered %d: %v", o.name, o.status, o.err))
			if worst == nil || (o.status >= 500 && worst.status < 500) {
				worst = o
			}
			continue
		}
		earlier = earlier.earlier(o.wait)
	}
	if worst != nil {
		return nil, cloudevent.Errorf(worst.status, "event %s (%s): %s", e.ID(), e.Type(), strings.Join(msgs, "; "))
	}
	if earlier.at.IsZero() {
		return nil, nil
	}
	return events.Defer(e, earlier.at, earlier.reason)
}
