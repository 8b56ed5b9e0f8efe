package fnserver_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/fnproject/fn_go/clientv2/triggers"
	"github.com/fnproject/fn_go/modelsv2"

	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/fnserver"
	"github.com/fnfleet/fnfleet/internal/fncontract"
)

// conformanceEvents are the valid single events of the CloudEvents
// project's conformance suite (its JSON format cases and its HTTP sample
// event), re-expressed as structured-mode bodies, plus JSON and binary
// data with a content type.
var conformanceEvents = []struct{ name, json string }{
	{"minimal", `{"specversion":"1.0","id":"minimal","type":"io.cloudevents.test","source":"https://cloudevents.io"}`},
	{"minimal, optional attributes null", `{"specversion":"1.0","id":"minimal","type":"io.cloudevents.test","source":"https://cloudevents.io",
		"datacontenttype":null,"dataschema":null,"subject":null,"time":null}`},
	{"all core attributes", `{"specversion":"1.0","id":"allCore","type":"io.cloudevents.test","source":"https://cloudevents.io",
		"datacontenttype":"text/plain","dataschema":"https://cloudevents.io/dataschema","subject":"tests","time":"2018-04-05T17:31:00Z"}`},
	{"time UTC", `{"specversion":"1.0","id":"minimalWithTime","type":"io.cloudevents.test","source":"https://cloudevents.io","time":"2018-04-05T17:31:00Z"}`},
	{"time to nanoseconds", `{"specversion":"1.0","id":"minimalWithTime","type":"io.cloudevents.test","source":"https://cloudevents.io","time":"2018-04-05T17:31:00.000000000Z"}`},
	{"time positive offset", `{"specversion":"1.0","id":"minimalWithTime","type":"io.cloudevents.test","source":"https://cloudevents.io","time":"2018-04-05T18:31:00+01:00"}`},
	{"time negative offset", `{"specversion":"1.0","id":"minimalWithTime","type":"io.cloudevents.test","source":"https://cloudevents.io","time":"2018-04-05T16:31:00-01:00"}`},
	{"relative source", `{"id":"minimalWithRelativeSource","specversion":"1.0","type":"io.cloudevents.test","source":"#fragment"}`},
	{"simple text data", `{"specversion":"1.0","id":"simpleTextData","type":"io.cloudevents.test","source":"https://cloudevents.io",
		"datacontenttype":"text/plain","data":"Simple text"}`},
	{"all extension types", `{"specversion":"1.0","id":"allExtensionTypes","type":"io.cloudevents.test","source":"https://cloudevents.io",
		"extinteger":10,"extboolean":true,"extstring":"text","exturi":"https://cloudevents.io","exturiref":"//authority/path",
		"exttimestamp":"2023-03-31T15:12:00Z","extbinary":"TWE="}`},
	// The HTTP sample: JSON data without datacontenttype, which the JSON
	// format allows (the data is then JSON).
	{"JSON data without datacontenttype", `{"specversion":"1.0","type":"com.example.someevent","time":"2018-04-05T03:56:24Z",
		"id":"4321-4321-4321","source":"/mycontext/subcontext","comexampleextension1":"value",
		"comexampleextension2":"{\"othervalue\": 5}","data":{"world":"hello"}}`},
	{"JSON data", `{"specversion":"1.0","id":"json","type":"io.cloudevents.test","source":"/s","datacontenttype":"application/json; charset=utf-8",
		"data":{"a":[1,2,{"b":null}]}}`},
	{"binary data", `{"specversion":"1.0","id":"bin","type":"io.cloudevents.test","source":"/s","datacontenttype":"application/octet-stream",
		"data_base64":"AAEC/w=="}`},
}

// invalidConformanceEvents are the suite's invalid single events (JSON
// format) that an HTTP caller can send; each must be refused with 400 and
// a message naming what is wrong.
var invalidConformanceEvents = []struct{ name, json, inMsg string }{
	{"no specversion", `{"id":"invalid","type":"io.cloudevents.test","source":"https://cloudevents.io"}`, "specversion"},
	{"no id", `{"specversion":"1.0","type":"io.cloudevents.test","source":"https://cloudevents.io"}`, "id"},
	{"no type", `{"specversion":"1.0","id":"invalid","source":"https://cloudevents.io"}`, "type"},
	{"no source", `{"specversion":"1.0","id":"invalid","type":"io.cloudevents.test"}`, "source"},
	{"time garbage", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","time":"lunchtime"}`, "lunchtime"},
	{"time to minute", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","time":"2018-04-05T18:31Z"}`, "RFC3339"},
	{"time offset X", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","time":"2018-04-05T18:31:00X"}`, "RFC3339"},
	{"time offset out of range", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","time":"2018-04-05T18:31:00+25:00"}`, "RFC3339"},
	{"time offset not integer", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","time":"2018-04-05T18:31:00+xx:00"}`, "RFC3339"},
	{"time offset hour only", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","time":"2018-04-05T18:31:00+05"}`, "RFC3339"},
	{"empty id", `{"id":"","specversion":"1.0","type":"t","source":"/s"}`, "id"},
	{"empty type", `{"id":"invalid","specversion":"1.0","type":"","source":"/s"}`, "type"},
	{"empty source", `{"id":"invalid","specversion":"1.0","type":"t","source":""}`, "uri"},
	{"empty specversion", `{"id":"invalid","specversion":"","type":"t","source":"/s"}`, "specversion"},
	{"unknown specversion", `{"id":"invalid","specversion":"0.9","type":"t","source":"/s"}`, "specversion"},
	{"datacontenttype not RFC 2046", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","datacontenttype":"xyz"}`, "datacontenttype"},
	{"empty datacontenttype", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","datacontenttype":""}`, "datacontenttype"},
	{"empty dataschema", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","dataschema":""}`, "dataschema"},
	{"empty subject", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","subject":""}`, "subject"},
	{"numeric id", `{"id":25,"specversion":"1.0","type":"t","source":"/s"}`, "id: must be a JSON string"},
	{"object id", `{"id":{"xyz":"abc"},"specversion":"1.0","type":"t","source":"/s"}`, "id: must be a JSON string"},
	{"capitalized extension", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","MyExtension":"bad"}`, "MyExtension"},
	{"punctuated extension", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","my.extension":"bad"}`, "my.extension"},
	{"non-integer extension value", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","myextension":1.5}`, "myextension"},
	{"data and data_base64", `{"id":"invalid","specversion":"1.0","type":"t","source":"/s","data":"text","data_base64":"eyAieHl6IjogMTIzIH0="}`, "data_base64"},
}

// ceRequest is one event as a caller sends it.
type ceRequest struct {
	header http.Header
	body   []byte
}

// encodeEvent writes e in binary or structured mode, as the SDK's senders do.
func encodeEvent(t *testing.T, e *event.Event, structured bool) ceRequest {
	t.Helper()
	ctx := binding.WithForceBinary(context.Background())
	if structured {
		ctx = binding.WithForceStructured(context.Background())
	}
	req, err := http.NewRequest("POST", "http://unused/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(e), req); err != nil {
		t.Fatalf("encoding %s: %v", e.ID(), err)
	}
	var body []byte
	if req.Body != nil { // nil for an event without data
		if body, err = io.ReadAll(req.Body); err != nil {
			t.Fatal(err)
		}
	}
	return ceRequest{header: req.Header, body: body}
}

func decodeStructured(t *testing.T, body string) *event.Event {
	t.Helper()
	e, err := cloudevent.Decode(context.Background(), http.Header{"Content-Type": {"application/cloudevents+json"}}, []byte(body))
	if err != nil {
		t.Fatalf("conformance event does not decode: %v", err)
	}
	return e
}

// sameEvent compares two events attribute by attribute, extensions and
// data included, by their canonical (signed) form.
func sameEvent(t *testing.T, got, want *event.Event) {
	t.Helper()
	g, err := cloudevent.SignedContent(*got, 0)
	if err != nil {
		t.Fatal(err)
	}
	w, err := cloudevent.SignedContent(*want, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Fatalf("event came back changed:\ngot  %q\nwant %q", g, w)
	}
}

// ceEndpoints starts a server with the event echo function behind /invoke
// and an HTTP trigger, with the given app config.
func ceEndpoints(t *testing.T, config map[string]string) map[string]string {
	t.Helper()
	ts := start(t, fnserver.Config{})
	app := ts.mkApp(t, "events", config)
	fn := ts.mkFn(t, app.ID, &modelsv2.Fn{Name: "ceecho", Image: fileImage(bins.ceecho)})
	tr, err := ts.client.Triggers.CreateTrigger(triggers.NewCreateTriggerParams().WithBody(&modelsv2.Trigger{
		Name: "ceecho", AppID: app.ID, FnID: fn.ID, Type: "http", Source: "/events"}))
	if err != nil {
		t.Fatalf("create trigger: %v", err)
	}
	return map[string]string{
		"invoke":  invokeURL(t, fn),
		"trigger": tr.Payload.Annotations[fncontract.HTTPEndpointAnnotation].(string),
	}
}

// callerStatus is the function's status as the caller of path sees it:
// in Fn-Http-Status through /invoke (which answers 200), as the status
// through a trigger.
func callerStatus(path string, r reply) int {
	if path == "invoke" && r.status == http.StatusOK {
		n, _ := strconv.Atoi(r.header.Get(fncontract.HeaderHTTPStatus))
		return n
	}
	return r.status
}

// TestCloudEventsConformance sends the conformance events through the fn
// server to an FDK function that replies with the event it got: every
// attribute, extension and datum must come back, with exactly the event's
// content type, and no Content-Type at all when it has none.
func TestCloudEventsConformance(t *testing.T) {
	urls := ceEndpoints(t, nil)
	for _, path := range []string{"invoke", "trigger"} {
		for _, mode := range []string{"binary", "structured"} {
			for _, tc := range conformanceEvents {
				t.Run(path+"/"+mode+"/"+tc.name, func(t *testing.T) {
					want := decodeStructured(t, tc.json)
					req := ceRequest{header: http.Header{"Content-Type": {"application/cloudevents+json"}}, body: []byte(tc.json)}
					if mode == "binary" {
						req = encodeEvent(t, want, false)
					}
					r := do(t, "POST", urls[path], string(req.body), req.header)
					if got := callerStatus(path, r); got != http.StatusOK {
						t.Fatalf("status %d, body %q", got, r.body)
					}
					ct, hasCT := r.header["Content-Type"]
					switch {
					case want.DataContentType() == "" && hasCT:
						t.Fatalf("reply carries Content-Type %q; the event has no datacontenttype", ct)
					case want.DataContentType() != "" && (len(ct) != 1 || ct[0] != want.DataContentType()):
						t.Fatalf("reply Content-Type %q, want exactly %q", ct, want.DataContentType())
					}
					got, err := cloudevent.Decode(context.Background(), r.header, []byte(r.body))
					if err != nil {
						t.Fatalf("reply is not a CloudEvent: %v (%v)", err, r.header)
					}
					sameEvent(t, got, want)
				})
			}
		}
		for _, tc := range invalidConformanceEvents {
			t.Run(path+"/invalid/"+tc.name, func(t *testing.T) {
				r := do(t, "POST", urls[path], tc.json, http.Header{"Content-Type": {"application/cloudevents+json"}})
				if got := callerStatus(path, r); got != http.StatusBadRequest {
					t.Fatalf("status %d, want 400; body %q", got, r.body)
				}
				if msg := message(t, r); !strings.Contains(msg, tc.inMsg) {
					t.Fatalf("message %q does not name %q", msg, tc.inMsg)
				}
			})
		}
	}
}

// TestSignedCloudEvents checks signatures end to end: an event signed
// once verifies through /invoke and a trigger, binary and structured; a
// changed attribute or an old signature is refused.
func TestSignedCloudEvents(t *testing.T) {
	const secret = "fleet-secret"
	urls := ceEndpoints(t, map[string]string{cloudevent.ConfigHMACSecret: secret})
	e := decodeStructured(t, conformanceEvents[10].json) // extensions, time and JSON data
	valid, err := cloudevent.Sign(*e, time.Now(), []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	old, err := cloudevent.Sign(*e, time.Now().Add(-cloudevent.DefaultMaxAge-time.Minute), []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"invoke", "trigger"} {
		for _, mode := range []string{"binary", "structured"} {
			send := func(sig string, change func(http.Header)) (int, reply) {
				req := encodeEvent(t, e, mode == "structured")
				req.header.Set(cloudevent.SignatureHeader, sig)
				if change != nil {
					change(req.header)
				}
				r := do(t, "POST", urls[path], string(req.body), req.header)
				return callerStatus(path, r), r
			}
			t.Run(path+"/"+mode, func(t *testing.T) {
				if st, r := send(valid, nil); st != http.StatusOK || r.header.Get("Ce-Id") != e.ID() {
					t.Fatalf("signed event: status %d, %q", st, r.body)
				}
				if st, r := send(old, nil); st != http.StatusUnauthorized || !strings.Contains(message(t, r), "window") {
					t.Fatalf("replayed event: status %d, %q", st, r.body)
				}
				if mode == "binary" {
					st, r := send(valid, func(h http.Header) { h.Set("Ce-Type", "com.example.otherevent") })
					if st != http.StatusUnauthorized || !strings.Contains(message(t, r), "does not match") {
						t.Fatalf("changed ce-type: status %d, %q", st, r.body)
					}
				}
			})
		}
	}
}
