// Command dns is the fleet's dns function: it keeps every app's names answering with the members
// that serve it and are healthy (see handlers.NewDNS and docs/dns.md).
package main

import (
	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/federation/handlers"
)

func main() { fdk.Handle(handlers.NewDNS()) }
