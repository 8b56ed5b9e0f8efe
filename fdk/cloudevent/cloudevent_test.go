package cloudevent_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/fdk/fdktest"
	"github.com/fnfleet/fnfleet/fdk/internal/conformance"
)

const cefnPkg = "github.com/fnfleet/fnfleet/fdk/internal/conformance/cefn"

func starters(t *testing.T) map[string]func(t *testing.T, opts fdktest.Options) *fdktest.Agent {
	bin := fdktest.Build(t, cefnPkg)
	return map[string]func(t *testing.T, opts fdktest.Options) *fdktest.Agent{
		"in-process": func(t *testing.T, opts fdktest.Options) *fdktest.Agent {
			return fdktest.Start(t, conformance.EventHandler(), opts)
		},
		"binary": func(t *testing.T, opts fdktest.Options) *fdktest.Agent {
			return fdktest.StartBinary(t, bin, opts)
		},
	}
}

func binaryEvent(id, typ string, data string) fdktest.Call {
	h := http.Header{}
	h.Set("Ce-Specversion", "1.0")
	if id != "" {
		h.Set("Ce-Id", id)
	}
	h.Set("Ce-Source", "/test")
	if typ != "" {
		h.Set("Ce-Type", typ)
	}
	return fdktest.Call{Header: h, ContentType: "application/json", Body: []byte(data)}
}

func structuredEvent(body string) fdktest.Call {
	return fdktest.Call{ContentType: "application/cloudevents+json", Body: []byte(body)}
}

func viaTrigger(c fdktest.Call) fdktest.Call {
	c.Trigger = &fdktest.Trigger{Method: "POST", URL: "http://fn.example/t/fleet/events"}
	return c
}

func message(t *testing.T, r *fdktest.Result) string {
	t.Helper()
	var m struct{ Message string }
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not a JSON message: %v", r.Body, err)
	}
	return m.Message
}

type eventCase struct {
	name       string
	call       fdktest.Call
	wantStatus int
	wantInMsg  string // for errors
	wantReply  string // reply ce-type for 200
}

func eventCases() []eventCase {
	valid := `{"specversion":"1.0","id":"s1","source":"/test","type":"fleet.app.changed","datacontenttype":"application/json","data":{"app":"a"}}`
	var cases []eventCase
	for _, via := range []struct {
		name string
		wrap func(fdktest.Call) fdktest.Call
	}{{"invoke", func(c fdktest.Call) fdktest.Call { return c }}, {"trigger", viaTrigger}} {
		add := func(name string, c fdktest.Call, status int, msg, reply string) {
			cases = append(cases, eventCase{via.name + "/" + name, via.wrap(c), status, msg, reply})
		}
		add("binary mode", binaryEvent("b1", "fleet.cluster.ready", `{"cluster":"c"}`), 200, "", "fleet.cluster.ready.reply")
		add("structured mode", structuredEvent(valid), 200, "", "fleet.app.changed.reply")
		add("binary missing id", binaryEvent("", "t", `{}`), 400, "id", "")
		add("binary missing type", binaryEvent("b2", "", `{}`), 400, "type", "")
		add("structured missing source", structuredEvent(`{"specversion":"1.0","id":"s2","type":"t"}`), 400, "source", "")
		add("structured missing specversion", structuredEvent(`{"id":"s3","source":"/x","type":"t"}`), 400, "specversion", "")
		add("bad JSON", structuredEvent(`{"specversion":"1.0",`), 400, "decoding", "")
		add("unsupported content mode", fdktest.Call{ContentType: "text/plain", Body: []byte("hi")}, 400, "unsupported content mode", "")
		add("batch mode", fdktest.Call{ContentType: "application/cloudevents-batch+json", Body: []byte("[" + valid + "]")}, 400, "batch", "")
		add("unknown specversion", func() fdktest.Call {
			c := binaryEvent("b3", "t", "{}")
			c.Header.Set("Ce-Specversion", "9.9")
			return c
		}(), 400, "specversion", "")
		add("handler status error", binaryEvent("b4", conformance.TypeFailStatus, "{}"), 409, "b4 conflicts", "")
		add("handler plain error", binaryEvent("b5", conformance.TypeFail, "{}"), 500, "handler failed", "")
		add("no reply", binaryEvent("b6", conformance.TypeNoReply, "{}"), 204, "", "")
		add("invalid reply", binaryEvent("b7", conformance.TypeBadReply, "{}"), 500, "invalid reply event", "")
	}
	return cases
}

// checkStatus asserts the documented mapping: the container answers 200
// and the status travels in Fn-Http-Status, which a trigger caller sees.
func checkStatus(t *testing.T, c fdktest.Call, r *fdktest.Result, want int) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("container status %d, want 200 (the agent accepts only 200/502/504); body %q", r.Status, r.Body)
	}
	if got := r.Header.Get(fdk.HeaderHTTPStatus); got != strconv.Itoa(want) {
		t.Fatalf("Fn-Http-Status %q, want %d; body %q", got, want, r.Body)
	}
	if c.Trigger != nil && r.CallerStatus != want {
		t.Fatalf("caller status %d, want %d", r.CallerStatus, want)
	}
}

func TestEvents(t *testing.T) {
	for name, start := range starters(t) {
		t.Run(name, func(t *testing.T) {
			a := start(t, fdktest.Options{})
			for _, tc := range eventCases() {
				t.Run(tc.name, func(t *testing.T) {
					r, err := a.Call(context.Background(), tc.call)
					if err != nil {
						t.Fatal(err)
					}
					checkStatus(t, tc.call, r, tc.wantStatus)
					h := r.CallerHeader
					switch tc.wantStatus {
					case 200:
						if h.Get("Ce-Type") != tc.wantReply || h.Get("Ce-Source") != "/conformance" || h.Get("Ce-Specversion") != "1.0" || h.Get("Ce-Inreplyto") == "" {
							t.Fatalf("reply is not a binary-mode event: %v", h)
						}
						if h.Get("Content-Type") != "application/json" || !strings.Contains(string(r.Body), `"`) {
							t.Fatalf("reply data %q (%s)", r.Body, h.Get("Content-Type"))
						}
					case 204:
						if len(r.Body) != 0 {
							t.Fatalf("body %q, want none", r.Body)
						}
					default:
						if msg := message(t, r); !strings.Contains(msg, tc.wantInMsg) {
							t.Fatalf("message %q does not name %q", msg, tc.wantInMsg)
						}
					}
				})
			}
		})
	}
}

// signedEvent is the event the authentication tests sign: every kind of
// attribute (time, subject, an extension) is covered by the signature.
func signedEvent() event.Event {
	e := event.New()
	e.SetID("a1")
	e.SetSource("/fleet/controller")
	e.SetType("fleet.tick")
	e.SetSubject("cluster/c1")
	e.SetTime(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	e.SetExtension("cluster", "c1")
	e.SetExtension("attempt", 3)
	_ = e.SetData("application/json", json.RawMessage(`{"n": 1}`))
	return e
}

// encode writes e as a sender does, in binary or structured mode.
func encode(t *testing.T, e event.Event, structured bool) fdktest.Call {
	t.Helper()
	ctx := binding.WithForceBinary(context.Background())
	if structured {
		ctx = binding.WithForceStructured(context.Background())
	}
	req, err := http.NewRequest("POST", "http://fn.example/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		t.Fatalf("encoding the event: %v", err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	c := fdktest.Call{Header: req.Header.Clone(), ContentType: req.Header.Get("Content-Type"), Body: body}
	c.Header.Del("Content-Type")
	return c
}

func withHeader(c fdktest.Call, k, v string) fdktest.Call {
	c.Header = c.Header.Clone()
	c.Header.Set(k, v)
	return c
}

func TestEventAuthentication(t *testing.T) {
	const secret, previous, token = "s3cret", "old-s3cret", "t0ken"
	opts := fdktest.Options{Config: map[string]string{
		cloudevent.ConfigHMACSecret:         secret,
		cloudevent.ConfigHMACPreviousSecret: previous,
		cloudevent.ConfigToken:              token,
		cloudevent.ConfigMaxAge:             "2m",
	}}
	e := signedEvent()
	now := time.Now()
	sign := func(e event.Event, at time.Time, secrets ...string) string {
		t.Helper()
		keys := make([][]byte, len(secrets))
		for i, s := range secrets {
			keys[i] = []byte(s)
		}
		h, err := cloudevent.Sign(e, at, keys...)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	valid := sign(e, now, secret) // signed once, sent in both modes
	binary, structured := encode(t, e, false), encode(t, e, true)
	signed := func(c fdktest.Call, sig string) fdktest.Call { return withHeader(c, cloudevent.SignatureHeader, sig) }
	otherType := e.Clone()
	otherType.SetType("fleet.cluster.delete")

	type authCase struct {
		name   string
		call   fdktest.Call
		want   int
		inMsg  string
		wwwAut bool
	}
	cases := []authCase{
		{"no credentials", binary, 401, "no X-Fnfleet-Signature header and no bearer token", true},
		{"valid signature, binary", signed(binary, valid), 200, "", false},
		{"same signature, structured", signed(structured, valid), 200, "", false},
		{"same signature, via trigger", viaTrigger(signed(binary, valid)), 200, "", false},
		{"signed with the previous secret", signed(binary, sign(e, now, previous)), 200, "", false},
		{"new and old secret during rotation", signed(structured, sign(e, now, "next", secret)), 200, "", false},
		{"ce-type header changed", withHeader(signed(binary, valid), "Ce-Type", "fleet.cluster.delete"), 401, "signature does not match", true},
		{"ce-type changed, re-encoded structured", signed(encode(t, otherType, true), valid), 401, "signature does not match", true},
		{"extension header changed", withHeader(signed(binary, valid), "Ce-Cluster", "c2"), 401, "signature does not match", true},
		{"extension header added", withHeader(signed(binary, valid), "Ce-Priority", "high"), 401, "signature does not match", true},
		{"data changed", func() fdktest.Call { c := signed(binary, valid); c.Body = []byte(`{"n": 2}`); return c }(), 401, "signature does not match", true},
		{"content type changed", func() fdktest.Call { c := signed(binary, valid); c.ContentType = "text/plain"; return c }(), 401, "signature does not match", true},
		{"timestamp changed", signed(binary, strings.Replace(valid, "t=", "t=1", 1)), 401, "", true},
		{"replayed after the window", signed(binary, sign(e, now.Add(-2*time.Minute-5*time.Second), secret)), 401, "past the 120 s window", true},
		{"from the future", signed(binary, sign(e, now.Add(10*time.Minute), secret)), 401, "in the future", true},
		{"wrong secret", signed(binary, sign(e, now, "guess")), 401, "signature does not match", true},
		{"retired body-only form", signed(binary, "sha256=00"), 401, "retired", true},
		{"signature without t", signed(binary, strings.SplitN(valid, ",", 2)[1]), 400, "no t=", false},
		{"signature without v1", signed(binary, strings.SplitN(valid, ",", 2)[0]), 400, "no v1=", false},
		{"signature not hex", signed(binary, "t=1,v1=zz"), 400, "v1= is not 64 hex digits", false},
		{"signed but malformed event", signed(withHeader(binary, "Ce-Id", ""), valid), 400, "id", false},
		{"valid bearer token", withHeader(binary, "Authorization", "Bearer "+token), 200, "", false},
		{"wrong bearer token", withHeader(binary, "Authorization", "Bearer nope"), 401, "bearer token does not match", true},
		{"basic auth is not bearer", withHeader(binary, "Authorization", "Basic "+token), 401, "bearer token does not match", true},
		{"trigger without credentials", viaTrigger(binary), 401, "no X-Fnfleet-Signature", true},
	}
	for name, start := range starters(t) {
		t.Run(name, func(t *testing.T) {
			a := start(t, opts)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					r, err := a.Call(context.Background(), tc.call)
					if err != nil {
						t.Fatal(err)
					}
					checkStatus(t, tc.call, r, tc.want)
					if tc.want == 200 {
						if got := r.CallerHeader.Get("Ce-Type"); got != "fleet.tick.reply" {
							t.Fatalf("reply ce-type %q", got)
						}
						return
					}
					msg := message(t, r)
					if !strings.Contains(msg, tc.inMsg) {
						t.Fatalf("message %q does not say %q", msg, tc.inMsg)
					}
					if strings.Contains(msg, secret) || strings.Contains(msg, previous) || strings.Contains(msg, token) {
						t.Fatalf("message %q leaks a secret", msg)
					}
					if got := r.CallerHeader.Get("Www-Authenticate") != ""; got != tc.wwwAut {
						t.Fatalf("WWW-Authenticate set: %v, want %v (%v)", got, tc.wwwAut, r.CallerHeader)
					}
				})
			}
		})
	}
}

func TestEventAuthenticationConfig(t *testing.T) {
	e := signedEvent()
	for _, tc := range []struct {
		name   string
		config map[string]string
		call   fdktest.Call
		want   int
		inMsg  string
	}{
		{"max age not a duration", map[string]string{cloudevent.ConfigHMACSecret: "k", cloudevent.ConfigMaxAge: "5"}, encode(t, e, false), 500, cloudevent.ConfigMaxAge},
		{"default window refuses 6 minutes", map[string]string{cloudevent.ConfigHMACSecret: "k"},
			withHeader(encode(t, e, false), cloudevent.SignatureHeader, mustSign(t, e, time.Now().Add(-6*time.Minute), "k")), 401, "past the 300 s window"},
		{"default window accepts 4 minutes", map[string]string{cloudevent.ConfigHMACSecret: "k"},
			withHeader(encode(t, e, false), cloudevent.SignatureHeader, mustSign(t, e, time.Now().Add(-4*time.Minute), "k")), 200, ""},
		{"wider window accepts 6 minutes", map[string]string{cloudevent.ConfigHMACSecret: "k", cloudevent.ConfigMaxAge: "10m"},
			withHeader(encode(t, e, false), cloudevent.SignatureHeader, mustSign(t, e, time.Now().Add(-6*time.Minute), "k")), 200, ""},
		{"only the secret configured, no signature", map[string]string{cloudevent.ConfigHMACSecret: "k"}, encode(t, e, false), 401, "no X-Fnfleet-Signature header;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := fdktest.Start(t, conformance.EventHandler(), fdktest.Options{Config: tc.config})
			r, err := a.Call(context.Background(), tc.call)
			if err != nil {
				t.Fatal(err)
			}
			checkStatus(t, tc.call, r, tc.want)
			if tc.want != 200 {
				if msg := message(t, r); !strings.Contains(msg, tc.inMsg) {
					t.Fatalf("message %q does not say %q", msg, tc.inMsg)
				}
			}
		})
	}
}

func mustSign(t *testing.T, e event.Event, at time.Time, secret string) string {
	t.Helper()
	h, err := cloudevent.Sign(e, at, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A reply event without datacontenttype leaves the function with no
// Content-Type at all (net/http would sniff text/plain from JSON data);
// with one, exactly that one.
func TestReplyContentType(t *testing.T) {
	bin := fdktest.Build(t, "github.com/fnfleet/fnfleet/fdk/internal/conformance/ceecho")
	a := fdktest.StartBinary(t, bin, fdktest.Options{})
	for _, tc := range []struct{ name, contentType string }{
		{"none", ""},
		{"JSON with parameter", "application/json; charset=utf-8"},
		{"text", "text/plain"},
	} {
		for _, trigger := range []bool{false, true} {
			t.Run(tc.name+"/trigger="+strconv.FormatBool(trigger), func(t *testing.T) {
				c := binaryEvent("ct", "fleet.ct", `{"world":"hello"}`)
				c.ContentType = tc.contentType
				if trigger {
					c = viaTrigger(c)
				}
				r, err := a.Call(context.Background(), c)
				if err != nil {
					t.Fatal(err)
				}
				checkStatus(t, c, r, 200)
				got, ok := r.Header["Content-Type"]
				if tc.contentType == "" && ok {
					t.Fatalf("function answered Content-Type %q for an event without datacontenttype", got)
				}
				if tc.contentType != "" && (len(got) != 1 || got[0] != tc.contentType) {
					t.Fatalf("function answered Content-Type %q, want exactly %q", got, tc.contentType)
				}
			})
		}
	}
}
