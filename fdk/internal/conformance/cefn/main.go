// Command cefn is the CloudEvents conformance handler as an Fn function.
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/internal/conformance"
)

func main() { fdk.Handle(conformance.EventHandler()) }
