// Command parking is the fleet's parking function: it is the parking sweep: it sends the members whose should-it-run
// answer turned to lifecycle
// (see handlers.NewParking and docs/functions.md).
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/federation/handlers"
)

func main() { fdk.Handle(handlers.NewParking()) }
