package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/hub"
)

// function is what every handler function shares: its shell, built once
// per process from the Fn config on the first call and kept while the
// process is hot, and the two ways it is called. A CloudEvent (binary
// mode: a ce-specversion header; structured: application/cloudevents+json)
// is answered 204, or 200 with a deferral (events.Defer) when a step asked
// to be called again; anything else is plain JSON (`fn invoke`), answered
// with JSON saying what was done. Neither checks a signature: a handler has
// no trigger and is reached only through the Fn API, behind the events
// function, which checked it.
type function[S any] struct {
	name  string
	build func(cfg config) (S, error)
	// event handles one event; it returns when to ask again (zero for
	// never) and why.
	event func(ctx context.Context, s S, e event.Event) (deferral, error)
	// json handles a JSON request; an answer with an error is still
	// written, with the error's status.
	json func(ctx context.Context, s S, body []byte) (any, error)

	mu    sync.Mutex
	shell S
	built bool
}

// deferral is a step's ask to be called again.
type deferral struct {
	at     time.Time
	reason string
}

// earlier keeps the earliest of two deferrals.
func (d deferral) earlier(o deferral) deferral {
	if d.at.IsZero() || (!o.at.IsZero() && o.at.Before(d.at)) {
		return o
	}
	return d
}

// Serve implements fdk.Handler.
func (f *function[S]) Serve(ctx context.Context, in io.Reader, out io.Writer) {
	fc := fdk.GetContext(ctx)
	body, err := io.ReadAll(in)
	if err != nil {
		writeError(out, http.StatusBadRequest, fmt.Sprintf("%s: reading the request: %v", f.name, err))
		return
	}
	s, err := f.shellFor(fc.Config())
	if err != nil {
		writeError(out, http.StatusInternalServerError, fmt.Sprintf("%s: %v", f.name, err))
		return
	}
	if isEvent(fc.Header()) {
		f.serveEvent(ctx, s, fc.Header(), body, out)
		return
	}
	answer, err := f.json(ctx, s, body)
	switch {
	case err != nil && answer == nil:
		writeError(out, cloudevent.StatusOf(err), err.Error())
	case err != nil:
		writeJSON(out, cloudevent.StatusOf(err), answer)
	default:
		writeJSON(out, http.StatusOK, answer)
	}
}

func (f *function[S]) serveEvent(ctx context.Context, s S, header http.Header, body []byte, out io.Writer) {
	e, err := cloudevent.Decode(ctx, header, body)
	if err != nil {
		writeError(out, http.StatusBadRequest, fmt.Sprintf("%s: %v", f.name, err))
		return
	}
	d, err := f.event(ctx, s, *e)
	if err != nil {
		status := cloudevent.StatusOf(err)
		slog.ErrorContext(ctx, "handler failed", "function", f.name, "event_id", e.ID(), "event_type", e.Type(),
			"subject", e.Subject(), "status", status, "err", err.Error())
		writeError(out, status, fmt.Sprintf("%s: %v", f.name, err))
		return
	}
	var reply *event.Event
	if !d.at.IsZero() {
		if reply, err = events.Defer(*e, d.at, d.reason); err != nil {
			writeError(out, http.StatusInternalServerError, fmt.Sprintf("%s: %v", f.name, err))
			return
		}
	}
	cloudevent.WriteReply(ctx, out, reply)
}

// shellFor returns the shell, building it on the first call that can.
// A build that fails is not kept: the next call tries again (the config is
// the process's, so it fails again until the app's config is fixed and Fn
// starts a new process).
func (f *function[S]) shellFor(cfg map[string]string) (S, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.built {
		return f.shell, nil
	}
	s, err := f.build(config(cfg))
	if err != nil {
		return s, err
	}
	f.shell, f.built = s, true
	return s, nil
}

// isEvent reports whether a request is a CloudEvent: binary mode has a
// ce-specversion header, structured mode (and batch, which Decode
// refuses) an application/cloudevents content type.
func isEvent(h http.Header) bool {
	if h.Get("Ce-Specversion") != "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && strings.HasPrefix(mt, "application/cloudevents")
}

// decodeJSON reads a JSON request into v, refusing unknown fields; an
// empty body is {}. Errors are 400s that show an example.
func decodeJSON(body []byte, v any, example string) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return cloudevent.Errorf(http.StatusBadRequest, "the request is not the JSON this function reads (%v); send JSON like %s", err, example)
	}
	if dec.More() {
		return cloudevent.Errorf(http.StatusBadRequest, "the request holds more than one JSON value; send one, like %s", example)
	}
	return nil
}

// missing is the 400 for a request without a field it needs.
func missing(field, example string) error {
	return cloudevent.Errorf(http.StatusBadRequest, "the request has no %q; send JSON like %s", field, example)
}

// notHandled is the 400 for an event type the function does not handle:
// the router sent it elsewhere, so a sender sent it here by hand.
func notHandled(fn string, e event.Event) error {
	return cloudevent.Errorf(http.StatusBadRequest, "%s does not handle events of type %s (docs/events.md lists who does); send it to the events trigger", fn, e.Type())
}

// hubError is the status of a failed read or write of the hub: 503, which
// every sender retries (the hub restarting, a Conflict lost five times).
func hubError(err error) error {
	if err == nil {
		return nil
	}
	var se *cloudevent.StatusError
	if errors.As(err, &se) {
		return err
	}
	return cloudevent.WithStatus(http.StatusServiceUnavailable, err)
}

// writeJSON answers v as indented JSON, for a person reading `fn invoke`'s
// output (no \u003c for "<").
func writeJSON(out io.Writer, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		writeError(out, http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	fdk.SetHeader(out, "Content-Type", "application/json")
	fdk.WriteStatus(out, status)
	_, _ = out.Write(b.Bytes())
}

// writeError answers {"message": ...}, as cloudevent.Handler and Fn do.
func writeError(out io.Writer, status int, message string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Message string `json:"message"`
	}{message})
	fdk.SetHeader(out, "Content-Type", "application/json")
	fdk.WriteStatus(out, status)
	_, _ = out.Write(b.Bytes())
}

// fanOut runs step for every name (and its index), at most fanOutLimit at
// a time, and returns each one's error by index.
func fanOut(ctx context.Context, names []string, step func(ctx context.Context, i int, name string) error) []error {
	errs := make([]error, len(names))
	sem := make(chan struct{}, fanOutLimit)
	var wg sync.WaitGroup
	for i, name := range names {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = step(ctx, i, name)
		}()
	}
	wg.Wait()
	return errs
}

// forEveryApp runs step for every FleetApp, fanOutLimit at a time; the
// apps that failed make one 503 naming them.
func forEveryApp(ctx context.Context, h *hub.Client, step func(ctx context.Context, key types.NamespacedName) error) error {
	list, err := h.ListFleetApps(ctx)
	if err != nil {
		return hubError(fmt.Errorf("list FleetApps: %w", err))
	}
	keys := make([]string, len(list.Items))
	for i := range list.Items {
		keys[i] = list.Items[i].Namespace + "/" + list.Items[i].Name
	}
	var failed []error
	for i, err := range fanOut(ctx, keys, func(ctx context.Context, i int, _ string) error {
		return step(ctx, types.NamespacedName{Namespace: list.Items[i].Namespace, Name: list.Items[i].Name})
	}) {
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", keys[i], err))
		}
	}
	if len(failed) > 0 {
		return hubError(fmt.Errorf("%d of %d FleetApps: %w", len(failed), len(keys), errors.Join(failed...)))
	}
	return nil
}

// appExample is what placement and deploy read.
const appExample = `{"app":"default/hello"}`

// readApp reads placement's and deploy's JSON request: the FleetApp's key.
func readApp(body []byte) (types.NamespacedName, error) {
	var req struct {
		App string `json:"app"`
	}
	if err := decodeJSON(body, &req, appExample); err != nil {
		return types.NamespacedName{}, err
	}
	if req.App == "" {
		return types.NamespacedName{}, missing("app", appExample)
	}
	return appKey(req.App)
}

// appKey reads "<namespace>/<name>".
func appKey(s string) (types.NamespacedName, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return types.NamespacedName{}, cloudevent.Errorf(http.StatusBadRequest, "app %q is not <namespace>/<name>; send JSON like %s", s, appExample)
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

// appNotFound is a JSON call's 404 for a FleetApp that does not exist.
func appNotFound(key types.NamespacedName) error {
	return cloudevent.Errorf(http.StatusNotFound, "FleetApp %s not found: apply it first (kubectl get fleetapps -A lists them)", key)
}
