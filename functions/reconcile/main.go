// Command reconcile is the fleet's reconcile function: it observes every member: heartbeat, health, capacity
// (see handlers.NewReconcile and docs/functions.md).
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/federation/handlers"
)

func main() { fdk.Handle(handlers.NewReconcile()) }
