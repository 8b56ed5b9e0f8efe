package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/fnfleet/fnfleet/fdk/fdktest"
	"github.com/fnfleet/fnfleet/federation/dns/vantage"
	"github.com/fnfleet/fnfleet/federation/handlers"
	"github.com/fnfleet/fnfleet/internal/fncontract"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// TestProbeFunction calls the probe function as Fn does (fdktest's agent,
// the handler in-process): it GETs an http(s) URL and answers what it
// found, and refuses other URLs, timeouts out of bounds, unknown fields and
// events, each with a 400 saying what to send.
func TestProbeFunction(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/t/hello/hello" {
			http.NotFound(w, r)
		}
	}))
	defer target.Close()
	a := fdktest.Start(t, handlers.NewProbe(), fdktest.Options{Logger: testbed.Logger(t)})
	call := func(t *testing.T, body string, header http.Header) (int, []byte) {
		t.Helper()
		r, err := a.Call(t.Context(), fdktest.Call{Body: []byte(body), ContentType: "application/json", Header: header})
		if err != nil {
			t.Fatal(err)
		}
		// Through /invoke, the function's own status is Fn-Http-Status.
		status, err := strconv.Atoi(r.Header.Get(fncontract.HeaderHTTPStatus))
		if err != nil {
			t.Fatalf("the function's answer has no %s: %v", fncontract.HeaderHTTPStatus, r.Header)
		}
		return status, r.Body
	}
	for _, c := range []struct {
		name, body string
		up         bool
		status     int
	}{
		{"up", `{"url":"` + target.URL + `/t/hello/hello","timeoutMs":2000}`, true, 200},
		{"down", `{"url":"` + target.URL + `/t/hello/gone"}`, false, 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := call(t, c.body, nil)
			var ans vantage.Answer
			if err := json.Unmarshal(body, &ans); err != nil || status != 200 || ans.Up != c.up || ans.Status != c.status || !strings.Contains(ans.Reason, "GET "+target.URL) {
				t.Errorf("probe answered %d %s (%v); want 200 with up %v, status %d and the GET as reason", status, body, err, c.up, c.status)
			}
		})
	}
	for _, c := range []struct{ name, body, says string }{
		{"a file URL", `{"url":"file:///etc/passwd"}`, "not an http(s) URL"},
		{"no host", `{"url":"http:///t/hello"}`, "not an http(s) URL"},
		{"no url", `{}`, "the request has no"},
		{"a timeout over 10 s", `{"url":"http://127.0.0.1:1/","timeoutMs":20000}`, "send 1 to 10000"},
		{"a negative timeout", `{"url":"http://127.0.0.1:1/","timeoutMs":-5}`, "send 1 to 10000"},
		{"an unknown field", `{"url":"http://127.0.0.1:1/","timeout":"2s"}`, "unknown field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := call(t, c.body, nil)
			if status != 400 || !strings.Contains(string(body), c.says) {
				t.Errorf("probe answered %d %s; want 400 saying %q", status, body, c.says)
			}
		})
	}
	t.Run("an event", func(t *testing.T) {
		h := http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {"1"}, "Ce-Source": {"test"}, "Ce-Type": {"dev.fnfleet.resync.due"}}
		if status, body := call(t, `{}`, h); status != 400 || !strings.Contains(string(body), "does not handle events") {
			t.Errorf("probe answered an event %d %s; want 400", status, body)
		}
	})
}
