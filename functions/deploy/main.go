// Command deploy is the fleet's deploy function: it puts each FleetApp's Fn app on the members it is placed on
// (see handlers.NewDeploy and docs/functions.md).
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/federation/handlers"
)

func main() { fdk.Handle(handlers.NewDeploy()) }
