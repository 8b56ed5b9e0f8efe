package fdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/fdktest"
	"github.com/fnfleet/fnfleet/fdk/internal/conformance"
)

const conformfnPkg = "github.com/fnfleet/fnfleet/fdk/internal/conformance/conformfn"

var conformanceOpts = fdktest.Options{
	AppID:  "app-1",
	FnID:   "fn-1",
	Config: map[string]string{"GREETING": "hello", "FN_FN_ID": "overridden-by-agent"},
}

// starters run the same table in this process and against a built binary,
// because the contract is about what a real container does.
func starters(t *testing.T) map[string]func(t *testing.T) *fdktest.Agent {
	bin := fdktest.Build(t, conformfnPkg)
	return map[string]func(t *testing.T) *fdktest.Agent{
		"in-process": func(t *testing.T) *fdktest.Agent {
			return fdktest.Start(t, conformance.Handler(), conformanceOpts)
		},
		"binary": func(t *testing.T) *fdktest.Agent {
			return fdktest.StartBinary(t, bin, conformanceOpts)
		},
	}
}

type conformanceCase struct {
	name  string
	call  fdktest.Call
	check func(t *testing.T, a *fdktest.Agent, r *fdktest.Result)
}

func mode(m string, kv ...string) http.Header {
	h := http.Header{conformance.ModeHeader: {m}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func decodeReport(t *testing.T, r *fdktest.Result) conformance.Report {
	t.Helper()
	var rep conformance.Report
	if err := json.Unmarshal(r.Body, &rep); err != nil {
		t.Fatalf("decoding report %q: %v", r.Body, err)
	}
	return rep
}

func wantStatus(t *testing.T, r *fdktest.Result, container, caller int) {
	t.Helper()
	if r.Status != container || r.CallerStatus != caller {
		t.Fatalf("status: container %d caller %d, want %d and %d (body %q)", r.Status, r.CallerStatus, container, caller, r.Body)
	}
}

func wantMessage(t *testing.T, r *fdktest.Result, substr string) {
	t.Helper()
	var m struct{ Message string }
	if err := json.Unmarshal(r.Body, &m); err != nil || !strings.Contains(m.Message, substr) {
		t.Fatalf("body %q: want JSON message containing %q (err %v)", r.Body, substr, err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
}

func echoAfter(t *testing.T, a *fdktest.Agent) {
	t.Helper()
	r, err := a.Call(context.Background(), fdktest.Call{Body: []byte("still serving")})
	if err != nil {
		t.Fatalf("call after failure: %v", err)
	}
	if r.Status != http.StatusOK || string(r.Body) != "still serving" {
		t.Fatalf("call after failure: %d %q, want 200 and the echo: the container must be reusable", r.Status, r.Body)
	}
}

func conformanceCases() []conformanceCase {
	bigBody := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	deadline := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	return []conformanceCase{
		{
			name: "invoke echoes body and content type with FDK headers",
			call: fdktest.Call{Body: []byte(`{"a":1}`), ContentType: "application/json"},
			check: func(t *testing.T, _ *fdktest.Agent, r *fdktest.Result) {
				wantStatus(t, r, 200, 200)
				if string(r.Body) != `{"a":1}` || r.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("echo: %q %q", r.Body, r.Header.Get("Content-Type"))
				}
				if v := r.Header.Get(fdk.HeaderFdkVersion); v != "fnfleet-fdk-go/"+fdk.Version {
					t.Fatalf("Fn-Fdk-Version %q", v)
				}
				if v := r.Header.Get(fdk.HeaderFdkRuntime); !strings.HasPrefix(v, "go/go1.") {
					t.Fatalf("Fn-Fdk-Runtime %q", v)
				}
				if v := r.Header.Get(fdk.HeaderHTTPStatus); v != "200" {
					t.Fatalf("Fn-Http-Status %q, want 200", v)
				}
			},
		},
		{
			name: "whole 1 MiB body arrives",
			call: fdktest.Call{Body: bigBody, ContentType: "application/octet-stream"},
			check: func(t *testing.T, _ *fdktest.Agent, r *fdktest.Result) {
				wantStatus(t, r, 200, 200)
				if !bytes.Equal(r.Body, bigBody) {
					t.Fatalf("echoed %d bytes, want %d identical", len(r.Body), len(bigBody))
				}
			},
		},
		{
			name: "empty body",
			call: fdktest.Call{},
			check: func(t *testing.T, _ *fdktest.Agent, r *fdktest.Result) {
				wantStatus(t, r, 200, 200)
				if len(r.Body) != 0 {
					t.Fatalf("body %q, want empty", r.Body)
				}
			},
		},
		{
			name: "invoke context keeps headers as they are",
			call: fdktest.Call{
				Header: mode("context", "X-Caller", "me", "Fn-Http-H-Looks-Mapped", "no"), CallID: "01CALL",
				ContentType: "text/plain", Body: []byte("hi"), Deadline: deadline,
			},
			check: func(t *testing.T, _ *fdktest.Agent, r *fdktest.Result) {
				wantStatus(t, r, 200, 200)
				rep := decodeReport(t, r)
				if rep.CallID != "01CALL" || rep.AppID != "app-1" || rep.FnID != "fn-1" || rep.AppName != "" || rep.FnName != "" {
					t.Fatalf("ids: %+v", rep)
				}
				if rep.HTTP {
					t.Fatal("an /invoke call must not have an HTTPContext")
				}
				if rep.Header.Get("X-Caller") != "me" || rep.Header.Get("Fn-Http-H-Looks-Mapped") != "no" || rep.Header.Get(fdk.HeaderCallID) != "01CALL" {
					t.Fatalf("headers not kept as they are: %v", rep.Header)
				}
				if rep.ContentType != "text/plain" || rep.Body != "hi" {
					t.Fatalf("content type %q body %q", rep.ContentType, rep.Body)
				}
				if !rep.HasDeadline || !rep.Deadline.Equal(deadline) {
					t.Fatalf("context deadline %v (set %v), want Fn-Deadline %v", rep.Deadline, rep.HasDeadline, deadline)
				}
				if rep.Config["GREETING"] != "hello" || rep.Config["FN_FN_ID"] != "fn-1" || rep.Config["FN_FORMAT"] != "http-stream" {
					t.Fatalf("config: %v", rep.Config)
				}
			},
		},
		{
			name: "trigger context maps Fn-Http-* in",
			call: fdktest.Call{
				Header: mode("context", "X-Caller", "me", "Ce-Id", "42"), ContentType: "application/json",
				Trigger: &fdktest.Trigger{Method: "PUT", URL: "http://fn.example/t/app/fn?x=1&y=2"},
			},
			check: func(t *testing.T, _ *fdktest.Agent, r *fdktest.Result) {
				wantStatus(t, r, 200, 200)
				rep := decodeReport(t, r)
				if !rep.HTTP || rep.RequestMethod != "PUT" || rep.RequestURL != "http://fn.example/t/app/fn?x=1&y=2" {
					t.Fatalf("HTTP context: %+v", rep)
				}
				if rep.Header.Get("X-Caller") != "me" || rep.Header.Get("Ce-Id") != "42" || rep.ContentType != "application/json" {
					t.Fatalf("caller headers: %v", rep.Header)
				}
				for k := range rep.Header {
					if strings.HasPrefix(k, "Fn-") {
						t.Fatalf("Fn bookkeeping header %s leaked into caller headers %v", k, rep.Header)
					}
				}
			},
		},
		{
			name: "trigger maps headers and status out",
			call: fdktest.Call{Header: mode("headers", conformance.StatusHeader, "404"), Trigger: &fdktest.Trigger{}},
			check: func(t *testing.T, _ *fdktest.Agent, r *fdktest.Result) {
				wantStatus(t, r, 200, 404)
				if r.Header.Get("Fn-Http-H-X-Single") != "one" || r.Header.Get("X-Single") != "" {
					t.Fatalf("container headers not prefixed: %v", r.Header)
				}
				if got := r.CallerHeader.Values("X-Multi"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
					t.Fatalf("caller X-Multi %v, want [a b]", got)
				}
				if r.CallerHeader.Get("Content-Type") != "text/plain" || r.CallerHeader.Get("X-Single") != "one" {
					t.Fatalf("caller headers %v", r.CallerHeader)
				}
			},
		},
		{
			name: "invoke keeps handler headers verbatim and reports status in Fn-Http-Status",
			call: fdktest.Call{Header: mode("headers", conformance.StatusHeader, "404")},
			check: func(t *testing.T, _ *fdktest.Agent, r *fdktest.Result) {
				wantStatus(t, r, 200, 200)
				if r.Header.Get("X-Single") != "one" || r.Header.Get(fdk.HeaderHTTPStatus) != "404" {
					t.Fatalf("headers %v", r.Header)
				}
			},
		},
		{
			name: "HTTPHandler through a trigger",
			call: fdktest.Call{
				Header: mode("http", "X-Caller", "me"), Body: []byte("payload"),
				Trigger: &fdktest.Trigger{Method: "PATCH", URL: "http://fn.example/t/app/items/7?full=true"},
			},
			check: func(t *testing.T, _ *fdktest.Agent, r *fdktest.Result) {
				wantStatus(t, r, 200, http.StatusCreated)
				var got map[string]string
				if err := json.Unmarshal(r.Body, &got); err != nil {
					t.Fatal(err)
				}
				want := map[string]string{"method": "PATCH", "path": "/t/app/items/7", "query": "full=true", "header": "me", "body": "payload"}
				for k, v := range want {
					if got[k] != v {
						t.Fatalf("%s = %q, want %q (all %v)", k, got[k], v, got)
					}
				}
				if r.CallerHeader.Get("X-Http-Handler") != "yes" {
					t.Fatalf("caller headers %v", r.CallerHeader)
				}
			},
		},
		{
			name: "HTTPHandler through invoke",
			call: fdktest.Call{Header: mode("http"), Body: []byte("x")},
			check: func(t *testing.T, _ *fdktest.Agent, r *fdktest.Result) {
				wantStatus(t, r, 200, 200)
				if !strings.Contains(string(r.Body), `"method":"POST"`) || !strings.Contains(string(r.Body), `"path":"/"`) {
					t.Fatalf("body %s", r.Body)
				}
				if r.Header.Get(fdk.HeaderHTTPStatus) != "201" {
					t.Fatalf("Fn-Http-Status %q, want 201", r.Header.Get(fdk.HeaderHTTPStatus))
				}
			},
		},
		{
			name: "panic answers 502 with a JSON message and the process keeps serving",
			call: fdktest.Call{Header: mode("panic")},
			check: func(t *testing.T, a *fdktest.Agent, r *fdktest.Result) {
				wantStatus(t, r, http.StatusBadGateway, http.StatusBadGateway)
				wantMessage(t, r, "conformance panic")
				echoAfter(t, a)
			},
		},
		{
			// The handler sleeps far past the deadline; fdktest gives up 2 s
			// after Fn-Deadline, so only an answer at the deadline passes.
			name: "deadline answers 504 while the handler still runs",
			call: fdktest.Call{
				Header:   mode("sleep", conformance.SleepHeader, "30s"),
				Deadline: time.Now().Add(time.Second),
			},
			check: func(t *testing.T, a *fdktest.Agent, r *fdktest.Result) {
				wantStatus(t, r, http.StatusGatewayTimeout, http.StatusGatewayTimeout)
				wantMessage(t, r, "timed out")
				echoAfter(t, a)
			},
		},
	}
}

func TestConformance(t *testing.T) {
	for name, start := range starters(t) {
		t.Run(name, func(t *testing.T) {
			a := start(t)
			for _, tc := range conformanceCases() {
				t.Run(tc.name, func(t *testing.T) {
					r, err := a.Call(context.Background(), tc.call)
					if err != nil {
						t.Fatalf("call: %v", err)
					}
					tc.check(t, a, r)
				})
			}
		})
	}
}

// countingReader reports whether the FDK consumed the body to its end
// before answering.
type countingReader struct {
	r   io.Reader
	eof atomic.Bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		c.eof.Store(true)
	}
	return n, err
}

// A handler that ignores its input must still not be answered before the
// whole request arrived. The body is far larger than the socket buffers,
// so an early answer would return while the client was still sending.
func TestWholeBodyReadBeforeAnswer(t *testing.T) {
	for name, start := range starters(t) {
		t.Run(name, func(t *testing.T) {
			a := start(t)
			body := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte("x"), 16<<20))}
			r, err := a.Call(context.Background(), fdktest.Call{Header: mode("headers"), BodyReader: body})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 || !body.eof.Load() {
				t.Fatalf("status %d, body fully sent %v: the FDK answered before reading the request", r.Status, body.eof.Load())
			}
		})
	}
}
