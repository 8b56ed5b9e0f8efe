// Command conformfn is the conformance handler as an Fn function binary.
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/internal/conformance"
)

func main() { fdk.Handle(conformance.Handler()) }
