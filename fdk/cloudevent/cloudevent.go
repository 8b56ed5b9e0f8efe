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
//	     or specversion, a malformed attribute or extension), or its
//	     X-Fnfleet-Signature cannot be read; the message names the problem
//	401  authentication is configured and the request does not satisfy it:
//	     no credentials, a signature older (or newer) than the window, a
//	     signature that does not match, a wrong bearer token
//	N    the handler returned an error wrapping *StatusError{Status: N}
//	     (see Errorf and WithStatus)
//	500  any other handler error, an invalid reply event, or an unreadable
//	     FNFLEET_EVENT_MAX_AGE
//
// Errors carry a JSON body {"message": "..."}; a refused event never
// reaches the handler. The reply carries exactly the reply event's
// datacontenttype as Content-Type, and none when it has none.
//
// Authentication: when FNFLEET_EVENT_HMAC_SECRET or FNFLEET_EVENT_TOKEN is
// in the function's config, every event must carry a signature
// (X-Fnfleet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>, see Sign
// and SignedContent) or Authorization: Bearer <token>, whichever is
// configured (either one when both are). A signature covers the
// timestamp, every context attribute and extension and the data of the
// decoded event, so it verifies the same in binary and structured mode
// and breaks when any of them changes; its timestamp must lie within
// FNFLEET_EVENT_MAX_AGE (default 5m) of the function's clock.
// FNFLEET_EVENT_HMAC_SECRET_PREVIOUS is accepted too, for rotation.
package cloudevent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

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
		auth, err := authenticatorFor(fc.Config())
		if err != nil {
			writeError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		refuse := func(err *authError) {
			if err.status == http.StatusUnauthorized && auth.token != "" {
				rw.Header().Set("WWW-Authenticate", `Bearer realm="fnfleet events"`)
			}
			writeError(rw, err.status, err.msg)
		}
		// Requests without credentials are refused before their body is
		// parsed; a signature covers the decoded event, so it is checked
		// after decoding.
		signature, aerr := auth.credentials(fc.Header())
		if aerr != nil {
			refuse(aerr)
			return
		}
		e, err := Decode(ctx, fc.Header(), body)
		if err != nil {
			writeError(rw, http.StatusBadRequest, err.Error())
			return
		}
		if signature != "" {
			if aerr := auth.verify(*e, signature, time.Now()); aerr != nil {
				refuse(aerr)
				return
			}
		}
		reply, err := fn(ctx, *e)
		if err != nil {
			status := StatusOf(err)
			slog.ErrorContext(ctx, "cloudevent: handler failed", "call_id", fc.CallID(),
				"event_id", e.ID(), "event_type", e.Type(), "status", status, "err", err.Error())
			writeError(rw, status, err.Error())
			return
		}
		WriteReply(ctx, rw, reply)
	})
}

// WriteReply answers a call with reply in binary mode (200), or 204 when
// reply is nil: how Handler answers, for a function that decodes events
// itself (Decode). An invalid reply, or one that cannot be encoded, is
// answered 500 with a message saying so.
func WriteReply(ctx context.Context, out io.Writer, reply *event.Event) {
	rw := responseWriter(out)
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
	if msg.ReadEncoding() == binding.EncodingStructured {
		stripped, err := checkStructured(body)
		if err != nil {
			return nil, err
		}
		if len(stripped) != len(body) {
			msg = cehttp.NewMessage(header, io.NopCloser(bytes.NewReader(stripped)))
		}
	}
	e, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return nil, &InvalidEventError{Reason: fmt.Sprintf("decoding: %v", err)}
	}
	if err := e.Validate(); err != nil {
		return nil, &InvalidEventError{Reason: validationMessage(err)}
	}
	if ct := e.DataContentType(); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(mt, "/") {
			return nil, &InvalidEventError{Reason: fmt.Sprintf("datacontenttype %q is not a type/subtype media type (RFC 2046)", ct)}
		}
	}
	return e, nil
}

// checkStructured checks what the SDK lets through in a structured event
// (JSON format, CloudEvents spec section 3): it returns the body without
// its top-level null members, which the format defines as absent
// attributes (the SDK would take a null datacontenttype for an empty
// one), and refuses non-string core attributes, empty optional ones,
// extension names other than [a-z0-9]+, extension values other than
// strings, booleans and integers, and data together with data_base64. The
// other members are kept byte for byte: a signature covers the data as
// sent.
func checkStructured(body []byte) ([]byte, error) {
	invalid := func(format string, args ...any) error {
		return &InvalidEventError{Reason: fmt.Sprintf(format, args...)}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, invalid("decoding: structured mode wants a JSON object")
	}
	out := make([]byte, 0, len(body))
	out = append(out, '{')
	hasNull, hasData := false, 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid("decoding: %v", err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalid("decoding %s: %v", name, err)
		}
		if string(raw) == "null" {
			hasNull = true
			continue
		}
		switch name {
		case "data", "data_base64":
			hasData++
		case "specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject", "time":
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, invalid("%s: must be a JSON string, not %s", name, raw)
			}
			if v == "" && name != "specversion" && name != "id" && name != "source" && name != "type" {
				return nil, invalid("%s: if present, must be a non-empty string", name)
			}
		default:
			if !validAttributeName(name) {
				return nil, invalid("extension name %q: must consist of lower-case letters and digits", name)
			}
			var v any
			_ = json.Unmarshal(raw, &v) // raw is valid JSON: Decode checked it
			switch v := v.(type) {
			case string, bool:
			case float64:
				if v != math.Trunc(v) || v < math.MinInt32 || v > math.MaxInt32 {
					return nil, invalid("extension %s: %s is not an integer (a 32-bit one); send a string for other numbers", name, raw)
				}
			default:
				return nil, invalid("extension %s: must be a string, boolean or integer, not %s", name, raw)
			}
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		key, _ := json.Marshal(name)
		out = append(append(append(out, key...), ':'), raw...)
	}
	if _, err := dec.Token(); err != nil {
		return nil, invalid("decoding: %v", err)
	}
	if hasData > 1 {
		return nil, invalid("data and data_base64: an event carries one or the other")
	}
	if !hasNull {
		return body, nil
	}
	return append(out, '}'), nil
}

func validAttributeName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
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
