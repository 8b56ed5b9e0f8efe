// Command ceecho is an Fn function that replies to each CloudEvent with
// the event itself (conformance.EchoEventHandler).
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/internal/conformance"
)

func main() { fdk.Handle(conformance.EchoEventHandler()) }
