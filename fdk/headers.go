package fdk

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// Header names of the Fn http-stream contract.
const (
	HeaderCallID        = "Fn-Call-Id"
	HeaderDeadline      = "Fn-Deadline"
	HeaderIntent        = "Fn-Intent"
	HeaderHTTPMethod    = "Fn-Http-Method"
	HeaderHTTPURL       = "Fn-Http-Request-Url"
	HeaderHTTPStatus    = "Fn-Http-Status"
	HeaderHTTPPrefix    = "Fn-Http-H-"
	HeaderFdkVersion    = "Fn-Fdk-Version"
	HeaderFdkRuntime    = "Fn-Fdk-Runtime"
	IntentHTTPRequest   = "httprequest"
	headerContentType   = "Content-Type"
	headerContentLength = "Content-Length"
)

// IncomingCall is what the FDK learns from the headers of one call.
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

// MapRequestHeaders turns the headers the Fn agent sent into what the
// caller sent. For an HTTP-trigger call every Fn-Http-H-<Name> header
// becomes <Name> and Content-Type is kept; the Fn-* bookkeeping headers
// are dropped. Any other call keeps its headers as they are.
func MapRequestHeaders(h http.Header) IncomingCall {
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

// MapResponseHeaders writes the handler's headers and status into dst, the
// headers of the container's 200 answer. For an HTTP-trigger call each
// header but Content-Type is renamed Fn-Http-H-<Name> (the agent strips the
// prefix again); otherwise headers are copied as they are. In both cases
// Fn-Http-Status carries status. Headers whose name or value could not be
// sent on the wire are dropped, so a handler cannot break the response.
func MapResponseHeaders(dst, src http.Header, status int, trigger bool) {
	mapResponseHeaders(dst, src, trigger)
	dst[HeaderHTTPStatus] = []string{strconv.Itoa(status)}
}

// mapResponseHeaders is MapResponseHeaders without the status. Value
// slices are shared with src when they need no filtering: nothing appends
// to them once the handler returned.
func mapResponseHeaders(dst, src http.Header, trigger bool) {
	for k, vs := range src {
		if !validHeaderName(k) {
			continue
		}
		ck := k
		if !isCanonical(k) {
			ck = textproto.CanonicalMIMEHeaderKey(k)
		}
		if ck == headerContentLength || ck == HeaderHTTPStatus {
			continue // the FDK sets these itself
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
