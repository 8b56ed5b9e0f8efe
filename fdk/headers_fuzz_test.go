package fdk_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/fnfleet/fnfleet/fdk"
)

// validName and validValue mirror what may appear on the wire.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
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
		in := http.Header{fdk.HeaderCallID: {"c1"}}
		if trigger {
			in.Set(fdk.HeaderIntent, fdk.IntentHTTPRequest)
			in.Set(fdk.HeaderHTTPMethod, "GET")
			in.Set(fdk.HeaderHTTPURL, "http://h/t/a/f?q=1")
			if canon == "Content-Type" {
				in[canon] = []string{value}
			} else {
				in[fdk.HeaderHTTPPrefix+canon] = []string{value}
			}
		} else {
			in[canon] = append(in[canon], value)
		}
		got := fdk.MapRequestHeaders(in)
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
		fdk.MapResponseHeaders(dst, src, status, trigger)
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
		if got := dst.Get(fdk.HeaderHTTPStatus); got != strconv.Itoa(status) {
			t.Fatalf("Fn-Http-Status %q, want %d", got, status)
		}
		canon := http.CanonicalHeaderKey(name)
		sendable := validName(name) && validValue(value) && canon != "Content-Length" && canon != fdk.HeaderHTTPStatus
		caller := http.Header{}
		for k, vs := range dst {
			switch {
			case !trigger, k == "Content-Type":
				caller[k] = vs
			case strings.HasPrefix(k, fdk.HeaderHTTPPrefix):
				caller[k[len(fdk.HeaderHTTPPrefix):]] = vs
			}
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
