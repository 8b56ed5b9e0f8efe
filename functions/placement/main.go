// Command placement is the fleet's placement function: it places FleetApps on the member clusters
// (see handlers.NewPlacement and docs/functions.md).
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/federation/handlers"
)

func main() { fdk.Handle(handlers.NewPlacement()) }
