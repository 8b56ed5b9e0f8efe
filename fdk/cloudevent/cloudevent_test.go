package cloudevent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

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

func TestEventAuthentication(t *testing.T) {
	const secret, token = "s3cret", "t0ken"
	opts := fdktest.Options{Config: map[string]string{
		cloudevent.ConfigHMACSecret: secret,
		cloudevent.ConfigToken:      token,
	}}
	signed := func(c fdktest.Call, sig string) fdktest.Call {
		c.Header = c.Header.Clone()
		c.Header.Set(cloudevent.SignatureHeader, sig)
		return c
	}
	bearer := func(c fdktest.Call, v string) fdktest.Call {
		c.Header = c.Header.Clone()
		c.Header.Set("Authorization", v)
		return c
	}
	ev := binaryEvent("a1", "fleet.tick", `{"n":1}`)
	cases := []struct {
		name string
		call fdktest.Call
		want int
	}{
		{"no credentials", ev, 401},
		{"valid signature", signed(ev, cloudevent.Sign([]byte(secret), ev.Body)), 200},
		{"signature over another body", signed(ev, cloudevent.Sign([]byte(secret), []byte("other"))), 401},
		{"signature with wrong secret", signed(ev, cloudevent.Sign([]byte("guess"), ev.Body)), 401},
		{"signature not hex", signed(ev, "sha256=zz"), 401},
		{"valid bearer token", bearer(ev, "Bearer "+token), 200},
		{"wrong bearer token", bearer(ev, "Bearer nope"), 401},
		{"basic auth is not bearer", bearer(ev, "Basic "+token), 401},
		{"trigger with valid signature", viaTrigger(signed(ev, cloudevent.Sign([]byte(secret), ev.Body))), 200},
		{"trigger without credentials", viaTrigger(ev), 401},
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
					if tc.want == 401 {
						if msg := message(t, r); !strings.Contains(msg, "unauthenticated") {
							t.Fatalf("message %q", msg)
						}
						if r.CallerHeader.Get("Www-Authenticate") == "" {
							t.Fatalf("401 without WWW-Authenticate: %v", r.CallerHeader)
						}
					}
				})
			}
		})
	}
}
