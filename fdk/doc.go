// Package fdk is fnfleet's Go function development kit for the Fn
// http-stream contract.
//
// A function is a Handler. Its main is usually one line:
//
//	func main() { fdk.Handle(fdk.HandlerFunc(myHandler)) }
//
// The API follows fdk-go (Handler, HandlerFunc, Handle, HandleContext,
// HTTPHandler, GetContext, SetHeader, AddHeader, WriteStatus) so that Go
// developers who know Fn feel at home. Beyond fdk-go, the FDK:
//
//   - answers 502 with a JSON {"message": ...} when a handler panics and keeps
//     serving;
//   - answers 504 when the Fn-Deadline passes, at the deadline, even if the
//     handler keeps running (the late handler writes into a discarded buffer);
//   - shuts down gracefully on SIGTERM and removes its socket and symlink;
//   - is testable: Serve returns errors instead of exiting, and takes its
//     environment as a value (see package fdk/fdktest).
//
// Status mapping: the container itself only ever answers 200, 502 (panic)
// or 504 (deadline), because the Fn agent treats any other status as an
// invalid function response and kills the container. The status a handler
// writes with WriteStatus travels in the Fn-Http-Status response header,
// which Fn turns into the caller's status for HTTP-trigger calls; for plain
// /invoke calls the caller sees 200 and the Fn-Http-Status header verbatim.
//
// CloudEvents handlers live in package fdk/cloudevent so that functions
// which do not need them do not pay for the dependency at start-up.
package fdk
