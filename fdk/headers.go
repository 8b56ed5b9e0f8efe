package fdk

import "github.com/fnfleet/fnfleet/internal/fncontract"

// Header names of the Fn http-stream contract, for handlers and their tests
// that read or set them (the FDK maps them itself; see the package
// documentation).
const (
	HeaderCallID      = fncontract.HeaderCallID
	HeaderDeadline    = fncontract.HeaderDeadline
	HeaderIntent      = fncontract.HeaderIntent
	HeaderHTTPMethod  = fncontract.HeaderHTTPMethod
	HeaderHTTPURL     = fncontract.HeaderHTTPURL
	HeaderHTTPStatus  = fncontract.HeaderHTTPStatus
	HeaderHTTPPrefix  = fncontract.HeaderHTTPPrefix
	HeaderFdkVersion  = fncontract.HeaderFdkVersion
	HeaderFdkRuntime  = fncontract.HeaderFdkRuntime
	IntentHTTPRequest = fncontract.IntentHTTPRequest
)

// Headers the FDK sets on its own answers, in canonical form so that they
// can be assigned to an http.Header directly.
const (
	headerContentType   = "Content-Type"
	headerContentLength = "Content-Length"
)
