// Package fncontract is the Fn container contract (format http-stream) as
// fnfleet honours it, written once for both of its sides: the function's
// (the FDK) and the agent's (fdktest and the process-based Fn server). It
// holds the header names, the mapping of requests and responses between
// caller, agent and function, the agent's connection to a function's socket
// and the annotations through which an Fn server publishes endpoints.
//
// The four mappings, in the order a call crosses them:
//
//	caller --RequestToFunction--> function --RequestFromAgent--> handler
//	caller <--ResponseToCaller--- function <--ResponseToAgent--- handler
//
// The socket handshake lives in the subpackage socket, which does not
// import net/http (a function's start-up baseline must not pay for it).
// docs/fn-contract.md describes the contract in prose.
package fncontract

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// Header names of the contract.
const (
	HeaderCallID     = "Fn-Call-Id"
	HeaderDeadline   = "Fn-Deadline"
	HeaderIntent     = "Fn-Intent"
	HeaderHTTPMethod = "Fn-Http-Method"
	HeaderHTTPURL    = "Fn-Http-Request-Url"
	HeaderHTTPStatus = "Fn-Http-Status"
	// HeaderHTTPPrefix prefixes each caller header of an HTTP-trigger call
	// on its way to the function, and each handler header on its way back.
	HeaderHTTPPrefix = "Fn-Http-H-"
	HeaderFdkVersion = "Fn-Fdk-Version"
	HeaderFdkRuntime = "Fn-Fdk-Runtime"
	// IntentHTTPRequest is the Fn-Intent of an HTTP-trigger call.
	IntentHTTPRequest = "httprequest"

	headerContentType   = "Content-Type"
	headerContentLength = "Content-Length"
)

// The annotations through which an Fn server publishes endpoints: an fn's
// <base>/invoke/<fn id>, an HTTP trigger's <base>/t/<app>/<source>.
const (
	InvokeEndpointAnnotation = "fnproject.io/fn/invokeEndpoint"
	HTTPEndpointAnnotation   = "fnproject.io/trigger/httpEndpoint"
)

// StripHopByHop removes the connection-level headers from h, which the
// agent forwards neither to the function nor back.
func StripHopByHop(h http.Header) {
	for k := range h {
		if isHopByHop(textproto.CanonicalMIMEHeaderKey(k)) {
			delete(h, k)
		}
	}
}

// isHopByHop reports whether a canonical header name is connection-level
// (RFC 9110 section 7.6.1, plus the Trailers spelling some clients send).
func isHopByHop(canonical string) bool {
	switch canonical {
	case "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Trailers", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// Trigger is the caller's side of a call through an HTTP trigger.
type Trigger struct {
	Method string
	// URL is the full URL the caller used, query included.
	URL string
}

// RequestToFunction returns the headers the agent sends the function for a
// call whose caller sent caller (which it does not change). Hop-by-hop
// headers are dropped. Through /invoke (t == nil) the rest pass as they
// are; through an HTTP trigger every header but Content-Type is renamed
// Fn-Http-H-<Name>, and Fn-Http-Method, Fn-Http-Request-Url and
// Fn-Intent: httprequest are added. Fn-Call-Id and Fn-Deadline are the
// agent's to set.
func RequestToFunction(caller http.Header, t *Trigger) http.Header {
	out := make(http.Header, len(caller)+5)
	for k, vs := range caller {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if isHopByHop(ck) {
			continue
		}
		if t != nil && ck != headerContentType {
			ck = HeaderHTTPPrefix + ck
		}
		out[ck] = append(out[ck], vs...)
	}
	if t != nil {
		out[HeaderHTTPMethod] = []string{t.Method}
		out[HeaderHTTPURL] = []string{t.URL}
		out[HeaderIntent] = []string{IntentHTTPRequest}
	}
	return out
}

// IncomingCall is what a function learns from the headers of one call.
type IncomingCall struct {
	// Header holds the caller's headers: un-prefixed for HTTP-trigger
	// calls, as sent for /invoke calls.
	Header http.Header
	// Trigger is true when the call came through an HTTP trigger
	// (Fn-Intent: httprequest).
	Trigger bool
	// Method and URL are the caller's, for HTTP-trigger calls.
	Method, URL string
	CallID      string
}

// RequestFromAgent turns the headers the agent sent into what the caller
// sent. For an HTTP-trigger call every Fn-Http-H-<Name> header becomes
// <Name> and Content-Type is kept; the Fn-* bookkeeping headers are
// dropped. Any other call keeps its headers as they are.
func RequestFromAgent(h http.Header) IncomingCall {
	in := IncomingCall{CallID: h.Get(HeaderCallID)}
	if !strings.EqualFold(h.Get(HeaderIntent), IntentHTTPRequest) {
		in.Header = h
		return in
	}
	in.Trigger = true
	in.Method = h.Get(HeaderHTTPMethod)
	in.URL = h.Get(HeaderHTTPURL)
	caller := make(http.Header, len(h))
	for k, vs := range h {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		switch {
		case ck == headerContentType:
			caller[ck] = append(caller[ck], vs...)
		case len(ck) > len(HeaderHTTPPrefix) && strings.HasPrefix(ck, HeaderHTTPPrefix):
			name := ck[len(HeaderHTTPPrefix):]
			caller[name] = append(caller[name], vs...)
		}
	}
	in.Header = caller
	return in
}

// ResponseToAgent writes the handler's headers src into dst, the headers of
// the function's 200 answer. For an HTTP-trigger call each header but
// Content-Type is renamed Fn-Http-H-<Name> (the agent strips the prefix
// again); otherwise headers are copied as they are. The handler's
// Content-Length and Fn-Http-Status are dropped: the function sets them
// itself, Fn-Http-Status to the handler's status. Headers whose name or
// value could not be sent on the wire are dropped too, so a handler cannot
// break the response. Value slices are shared with src when they need no
// filtering: nothing appends to them once the handler returned.
func ResponseToAgent(dst, src http.Header, trigger bool) {
	for k, vs := range src {
		if !validHeaderName(k) {
			continue
		}
		ck := k
		if !isCanonical(k) {
			ck = textproto.CanonicalMIMEHeaderKey(k)
		}
		if ck == headerContentLength || ck == HeaderHTTPStatus {
			continue
		}
		name := ck
		if trigger && ck != headerContentType {
			name = HeaderHTTPPrefix + ck
		}
		if allValid(vs) && dst[name] == nil {
			dst[name] = vs
			continue
		}
		for _, v := range vs {
			if validHeaderValue(v) {
				dst[name] = append(dst[name], v)
			}
		}
	}
}

// KeepContentType makes h, the headers of an answer about to be written
// by net/http, carry exactly the Content-Type it holds: none when it holds
// none. net/http otherwise sniffs one from the first 512 bytes of the
// body (a JSON CloudEvent without datacontenttype would reach its caller
// as "text/plain; charset=utf-8"); a present key with no value stops that
// and writes no header.
func KeepContentType(h http.Header) {
	if _, ok := h[headerContentType]; !ok {
		h[headerContentType] = nil
	}
}

// ResponseToCaller returns the status and headers the caller receives for
// the function's 200 answer with headers h (which it does not change).
// Through /invoke that is 200 and h as it is. Through an HTTP trigger it is
// the status in Fn-Http-Status (200 when absent), the Fn-Http-H-<Name>
// headers as <Name> and Content-Type; the rest is dropped (Fn-Call-Id is
// the agent's to set). An Fn-Http-Status outside 100-999 leaves the status
// 200 and is reported with an error, which the agent may ignore, as the Fn
// server does, or treat as a broken function.
func ResponseToCaller(h http.Header, trigger bool) (int, http.Header, error) {
	if !trigger {
		return http.StatusOK, h, nil
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		switch {
		case k == headerContentType:
			out[k] = vs
		case len(k) > len(HeaderHTTPPrefix) && strings.HasPrefix(k, HeaderHTTPPrefix):
			out[k[len(HeaderHTTPPrefix):]] = vs
		}
	}
	status := http.StatusOK
	var err error
	if s := h.Get(HeaderHTTPStatus); s != "" {
		n, perr := strconv.Atoi(s)
		if perr == nil && n >= 100 && n <= 999 {
			status = n
		} else {
			err = fmt.Errorf("Fn-Http-Status %q is not a status code", s)
		}
	}
	return status, out, err
}

// isCanonical reports whether k is already in canonical MIME header form,
// the common case for keys set through http.Header methods.
func isCanonical(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case upper && c >= 'a' && c <= 'z', !upper && c >= 'A' && c <= 'Z':
			return false
		}
		upper = c == '-'
	}
	return true
}

func allValid(vs []string) bool {
	for _, v := range vs {
		if !validHeaderValue(v) {
			return false
		}
	}
	return true
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v holds no control characters other
// than horizontal tab (a CR or LF would split the header).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
