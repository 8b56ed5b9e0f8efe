// Command lifecycle is the fleet's lifecycle function: it moves a MemberCluster one step through its lifecycle
// (see handlers.NewLifecycle and docs/functions.md).
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/federation/handlers"
)

func main() { fdk.Handle(handlers.NewLifecycle()) }
