// Command events is the fleet's events function: it is the fleet's CloudEvents entry point: it checks an event's
// signature and hands it to its handler functions through Fn
// (see handlers.NewEvents and docs/functions.md).
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/federation/handlers"
)

func main() { fdk.Handle(handlers.NewEvents()) }
