// Package cloudevent adapts typed CloudEvents handlers to fdk.Handler.
//
// A handler receives a decoded, validated event.Event, whether the event
// came in binary mode (ce-* headers, which arrive as Fn-Http-H-Ce-* through
// an HTTP trigger) or structured mode (Content-Type
// application/cloudevents+json), through /invoke or an HTTP trigger. A
// reply event goes back in binary mode.
//
// Statuses (delivered in Fn-Http-Status; the container itself answers 200,
// see package fdk):
//
//	200  the handler returned a reply event (binary mode)
//	204  the handler returned neither an event nor an error
//	400  the request is not a valid CloudEvent (batch mode, no ce-specversion
//	     and no structured Content-Type, bad JSON, missing id, source, type
//	     or specversion); the message names the problem
//	401  authentication is configured and the request does not satisfy it
//	N    the handler returned an error wrapping *StatusError{Status: N}
//	     (see Errorf and WithStatus)
//	500  any other handler error, or an invalid reply event
//
// Errors carry a JSON body {"message": "..."}.
//
// Authentication: when FNFLEET_EVENT_HMAC_SECRET or FNFLEET_EVENT_TOKEN is
// in the function's config, every event must carry X-Fnfleet-Signature: sha256=<hex HMAC-SHA256 of
// the request body> or Authorization: Bearer <token>, whichever is
// configured (either one when both are).
package cloudevent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/fnfleet/fnfleet/fdk"
)

// HandlerFunc handles one event. It returns the reply event, or nil for
// none, and an error that becomes the caller's status (see the package
// documentation).
type HandlerFunc func(ctx context.Context, e event.Event) (*event.Event, error)

// Handler returns an fdk.Handler that decodes, authenticates and validates
// each call as a CloudEvent and passes it to fn. Handler errors are logged
// with slog.Default().
func Handler(fn HandlerFunc) fdk.Handler {
	return fdk.HandlerFunc(func(ctx context.Context, in io.Reader, out io.Writer) {
		rw := responseWriter(out)
		fc := fdk.GetContext(ctx)
		body, err := io.ReadAll(in)
		if err != nil {
			writeError(rw, http.StatusBadRequest, fmt.Sprintf("reading the event: %v", err))
			return
		}
		auth := authenticatorFor(fc.Config())
		if err := auth.check(fc.Header(), body); err != nil {
			if auth.token != "" {
				rw.Header().Set("WWW-Authenticate", `Bearer realm="fnfleet events"`)
			}
			writeError(rw, http.StatusUnauthorized, err.Error())
			return
		}
		e, err := Decode(ctx, fc.Header(), body)
		if err != nil {
			writeError(rw, http.StatusBadRequest, err.Error())
			return
		}
		reply, err := fn(ctx, *e)
		if err != nil {
			status := StatusOf(err)
			slog.ErrorContext(ctx, "cloudevent: handler failed", "call_id", fc.CallID(),
				"event_id", e.ID(), "event_type", e.Type(), "status", status, "err", err.Error())
			writeError(rw, status, err.Error())
			return
		}
		if reply == nil {
			rw.WriteHeader(http.StatusNoContent)
			return
		}
		if err := reply.Validate(); err != nil {
			writeError(rw, http.StatusInternalServerError, "handler returned an invalid reply event: "+validationMessage(err))
			return
		}
		var buf bytes.Buffer
		staged := &stagedWriter{header: http.Header{}, body: &buf}
		if err := cehttp.WriteResponseWriter(binding.WithForceBinary(ctx), binding.ToMessage(reply), http.StatusOK, staged); err != nil {
			writeError(rw, http.StatusInternalServerError, fmt.Sprintf("encoding the reply event: %v", err))
			return
		}
		for k, vs := range staged.header {
			rw.Header()[k] = vs
		}
		rw.WriteHeader(http.StatusOK)
		_, _ = rw.Write(buf.Bytes())
	})
}

// StatusError is an error with the status the caller should see.
type StatusError struct {
	Status int
	Err    error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// WithStatus wraps err so that the caller sees status.
func WithStatus(status int, err error) error {
	if err == nil {
		return nil
	}
	return &StatusError{Status: status, Err: err}
}

// Errorf is fmt.Errorf with the status the caller should see.
func Errorf(status int, format string, args ...any) error {
	return &StatusError{Status: status, Err: fmt.Errorf(format, args...)}
}

// StatusOf returns the status err maps to: the Status of the first
// *StatusError in its chain when that is a valid 4xx or 5xx status, else
// 500.
func StatusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) && se.Status >= 400 && se.Status <= 599 {
		return se.Status
	}
	return http.StatusInternalServerError
}

// InvalidEventError is returned by Decode; its message names the problem.
type InvalidEventError struct{ Reason string }

func (e *InvalidEventError) Error() string { return "invalid CloudEvent: " + e.Reason }

// Decode reads a CloudEvent in binary or structured mode from the caller's
// headers and body and validates it. Every failure is an
// *InvalidEventError saying what was wrong.
func Decode(ctx context.Context, header http.Header, body []byte) (*event.Event, error) {
	msg := cehttp.NewMessage(header, io.NopCloser(bytes.NewReader(body)))
	switch msg.ReadEncoding() {
	case binding.EncodingBinary, binding.EncodingStructured:
	case binding.EncodingBatch:
		return nil, &InvalidEventError{Reason: "unsupported content mode: batch (application/cloudevents-batch+json); send one event per call"}
	default:
		if v := header.Get("Ce-Specversion"); v != "" {
			return nil, &InvalidEventError{Reason: fmt.Sprintf("unsupported specversion %q in ce-specversion; send 1.0", v)}
		}
		return nil, &InvalidEventError{Reason: fmt.Sprintf(
			"unsupported content mode: no ce-specversion header (binary mode) and Content-Type %q is not application/cloudevents+json (structured mode)",
			header.Get("Content-Type"))}
	}
	e, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return nil, &InvalidEventError{Reason: fmt.Sprintf("decoding: %v", err)}
	}
	if err := e.Validate(); err != nil {
		return nil, &InvalidEventError{Reason: validationMessage(err)}
	}
	return e, nil
}

// validationMessage renders the SDK's validation error in a stable order.
func validationMessage(err error) string {
	var ve event.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	parts := make([]string, 0, len(ve))
	for k, v := range ve {
		parts = append(parts, k+": "+v.Error())
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func writeError(rw http.ResponseWriter, status int, message string) {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Content-Length", strconv.Itoa(len(b)))
	rw.WriteHeader(status)
	_, _ = rw.Write(b)
}

// responseWriter returns out as an http.ResponseWriter: the FDK's output
// is one; a plain writer (a handler called directly in a unit test) gets
// headers and status dropped.
func responseWriter(out io.Writer) http.ResponseWriter {
	if rw, ok := out.(http.ResponseWriter); ok {
		return rw
	}
	return &stagedWriter{header: http.Header{}, body: out}
}

// stagedWriter collects an encoded reply so that a failed encoding can
// still be answered with an error.
type stagedWriter struct {
	header http.Header
	body   io.Writer
}

func (s *stagedWriter) Header() http.Header         { return s.header }
func (s *stagedWriter) WriteHeader(int)             {}
func (s *stagedWriter) Write(p []byte) (int, error) { return s.body.Write(p) }
