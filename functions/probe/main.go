// Command probe is the vantage point's function, deployed on every member's Fn: it probes a URL for
// the hub (see handlers.NewProbe, package federation/dns/vantage and docs/dns-health.md).
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/federation/handlers"
)

func main() { fdk.Handle(handlers.NewProbe()) }
