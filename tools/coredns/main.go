// Command coredns is CoreDNS with only the plugins the fleet's DNS uses:
// the etcd plugin answers the zone from the records the coredns provider
// (federation/dns/coredns) writes, bind keeps the server on the address
// the Corefile names, errors and log say what went wrong. Leaving out the
// other ~60 plugins (kubernetes, the cloud DNS APIs, ...) keeps the build
// at about a minute on 2 cores and the binary small.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	// Each plugin registers its Corefile directive when imported.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/etcd"
	_ "github.com/coredns/coredns/plugin/log"
)

func main() {
	// The order is the order a query passes through the plugins, as in
	// CoreDNS' own plugin.cfg: bind (setup only), errors and log wrap what
	// follows, etcd answers. A directive missing here is refused in a
	// Corefile even when its package is linked in.
	dnsserver.Directives = []string{"bind", "errors", "log", "etcd"}
	coremain.Run()
}
