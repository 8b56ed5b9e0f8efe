package fncontract_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/fnfleet/fnfleet/internal/fncontract"
)

// validName and validValue mirror what may appear on the wire.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validValue(s string) bool {
	for _, c := range []byte(s) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// What the agent does to a caller's header on the way in, then the FDK's
// mapping, must give the caller's header back (trigger), or leave the
// headers untouched (invoke).
func FuzzRequestHeaderMapping(f *testing.F) {
	f.Add("X-Caller", "me", true)
	f.Add("content-type", "application/json", true)
	f.Add("ce-id", "42", true)
	f.Add("Fn-Http-H-Nested", "v", true)
	f.Add("Fn-Http-H-", "empty name", true)
	f.Add("Authorization", "Bearer x", false)
	f.Add("x", "", true)
	f.Fuzz(func(t *testing.T, name, value string, trigger bool) {
		if !validName(name) || !validValue(value) {
			return // nothing the agent could send
		}
		canon := http.CanonicalHeaderKey(name)
		in := http.Header{fncontract.HeaderCallID: {"c1"}}
		if trigger {
			in.Set(fncontract.HeaderIntent, fncontract.IntentHTTPRequest)
			in.Set(fncontract.HeaderHTTPMethod, "GET")
			in.Set(fncontract.HeaderHTTPURL, "http://h/t/a/f?q=1")
			if canon == "Content-Type" {
				in[canon] = []string{value}
			} else {
				in[fncontract.HeaderHTTPPrefix+canon] = []string{value}
			}
		} else {
			in[canon] = append(in[canon], value)
		}
		got := fncontract.RequestFromAgent(in)
		if got.Trigger != trigger || got.CallID != "c1" {
			t.Fatalf("trigger %v call id %q", got.Trigger, got.CallID)
		}
		if !trigger {
			if got.Header.Get(canon) != in.Get(canon) || len(got.Header) != len(in) {
				t.Fatalf("invoke headers changed: %v -> %v", in, got.Header)
			}
			return
		}
		if got.Method != "GET" || got.URL != "http://h/t/a/f?q=1" {
			t.Fatalf("method %q url %q", got.Method, got.URL)
		}
		if vs := got.Header[canon]; len(vs) != 1 || vs[0] != value {
			t.Fatalf("caller header %s = %q, want [%q] (all %v)", canon, vs, value, got.Header)
		}
		for k := range got.Header {
			if k != canon && strings.HasPrefix(k, "Fn-") {
				t.Fatalf("bookkeeping header %s leaked: %v", k, got.Header)
			}
		}
	})
}

// The agent's mapping in (RequestToFunction), then the function's
// (RequestFromAgent), must give the caller's header back, whatever its
// name, unless it is hop-by-hop, which the agent drops.
func FuzzRequestRoundTrip(f *testing.F) {
	f.Add("X-Caller", "me", true)
	f.Add("content-type", "application/json", true)
	f.Add("Fn-Http-H-Nested", "v", true)
	f.Add("Fn-Intent", "httprequest", true)
	f.Add("Connection", "close", false)
	f.Add("Authorization", "Bearer x", false)
	f.Fuzz(func(t *testing.T, name, value string, trigger bool) {
		if !validName(name) || !validValue(value) {
			return
		}
		canon := http.CanonicalHeaderKey(name)
		if !trigger && strings.HasPrefix(canon, "Fn-") {
			return // through /invoke an Fn-* header is the agent's own as well
		}
		var trig *fncontract.Trigger
		if trigger {
			trig = &fncontract.Trigger{Method: "POST", URL: "http://h/t/a/f"}
		}
		sent := fncontract.RequestToFunction(http.Header{name: {value}}, trig)
		sent.Set(fncontract.HeaderCallID, "c1")
		got := fncontract.RequestFromAgent(sent)
		hop := false
		switch canon {
		case "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Trailers", "Transfer-Encoding", "Upgrade":
			hop = true
		}
		switch vs := got.Header[canon]; {
		case hop && vs != nil:
			t.Fatalf("hop-by-hop %s reached the function: %v", canon, sent)
		case !hop && (len(vs) != 1 || vs[0] != value):
			t.Fatalf("caller header %s = %q, want [%q] (sent %v)", canon, vs, value, sent)
		}
		if got.Trigger != trigger || got.CallID != "c1" || (trigger && (got.Method != "POST" || got.URL != "http://h/t/a/f")) {
			t.Fatalf("call %+v from %v", got, sent)
		}
	})
}

// The FDK's mapping out, then what the agent does on the way back, must
// deliver every sendable handler header and the status to the caller, and
// never put an unsendable header on the wire.
func FuzzResponseHeaderMapping(f *testing.F) {
	f.Add("X-Out", "v", 404, true)
	f.Add("content-type", "text/plain", 200, true)
	f.Add("Fn-Http-Status", "500", 201, true)
	f.Add("Content-Length", "99", 200, false)
	f.Add("Bad Name", "v", 200, true)
	f.Add("X-Split", "a\r\nInjected: 1", 200, true)
	f.Add("Fn-Http-H-Twice", "v", 200, true)
	f.Fuzz(func(t *testing.T, name, value string, status int, trigger bool) {
		src := http.Header{name: {value}}
		dst := http.Header{}
		fncontract.ResponseToAgent(dst, src, trigger)
		if dst[fncontract.HeaderHTTPStatus] != nil || dst["Content-Length"] != nil {
			t.Fatalf("the mapping set what the FDK sets itself: %v", dst)
		}
		dst[fncontract.HeaderHTTPStatus] = []string{strconv.Itoa(status)} // as the FDK does
		for k, vs := range dst {
			if !validName(k) {
				t.Fatalf("unsendable header name %q", k)
			}
			for _, v := range vs {
				if !validValue(v) {
					t.Fatalf("unsendable value %q for %s", v, k)
				}
			}
		}
		if got := dst.Get(fncontract.HeaderHTTPStatus); got != strconv.Itoa(status) {
			t.Fatalf("Fn-Http-Status %q, want %d", got, status)
		}
		canon := http.CanonicalHeaderKey(name)
		sendable := validName(name) && validValue(value) && canon != "Content-Length" && canon != fncontract.HeaderHTTPStatus
		callerStatus, caller, err := fncontract.ResponseToCaller(dst, trigger)
		switch {
		case !trigger && (callerStatus != 200 || err != nil):
			t.Fatalf("/invoke caller status %d (%v), want 200", callerStatus, err)
		case trigger && status >= 100 && status <= 999 && (callerStatus != status || err != nil):
			t.Fatalf("trigger caller status %d (%v), want %d", callerStatus, err, status)
		case trigger && (status < 100 || status > 999) && (callerStatus != 200 || err == nil):
			t.Fatalf("trigger caller status %d (%v) for Fn-Http-Status %d, want 200 and an error", callerStatus, err, status)
		}
		if sendable {
			if vs := caller[canon]; len(vs) != 1 || vs[0] != value {
				t.Fatalf("caller sees %s = %q, want [%q] (container headers %v)", canon, vs, value, dst)
			}
		} else if len(dst) != 1 {
			t.Fatalf("unsendable header %q: %q leaked: %v", name, value, dst)
		}
	})
}
