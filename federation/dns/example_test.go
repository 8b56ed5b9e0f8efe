package dns_test

import (
	"fmt"
	"strings"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/dns"
)

// An app on three clusters in two regions, one of which fails its probe:
// the global and us-east names answer with the two that serve, eu-west's
// names fall back to the level above.
func ExamplePlan() {
	in := dns.Input{
		Zones: []dns.Zone{{Name: "fleet", Domain: "fleet.example.com.", TTL: 60, Provider: "rfc2136"}},
		Apps: []dns.App{{
			Key: "default/hello",
			DNS: v1alpha1.DNSSpec{Hostname: "hello.fleet.example.com", TTL: 30},
			Members: []dns.Member{
				{Cluster: "iad", Region: "us-east", Zone: "us-east-1a", IPs: []string{"127.0.1.1"}, Serving: true},
				{Cluster: "iad-2", Region: "us-east", Zone: "us-east-1b", IPs: []string{"127.0.1.2", "::1"}, Serving: true},
				{Cluster: "fra", Region: "eu-west", Zone: "eu-west-1a", IPs: []string{"127.0.2.1"}, Reason: "ProbeFailed"},
			},
		}},
	}
	p := dns.Plan(in)
	for _, r := range p.Records {
		fmt.Println(r)
	}
	app := p.Apps[0]
	fmt.Println(app.Ready, app.Reason)
	fmt.Println(app.Message)
	for _, m := range app.Members {
		fmt.Println(strings.TrimSpace(fmt.Sprintln(m.Cluster, m.Answering, m.Reason)))
	}
	// Output:
	// hello.eu-west-1a.eu-west.fleet.example.com. 30 CNAME hello.eu-west.fleet.example.com.
	// hello.eu-west.fleet.example.com. 30 CNAME hello.fleet.example.com.
	// hello.fleet.example.com. 30 A 127.0.1.1,127.0.1.2
	// hello.fleet.example.com. 30 AAAA ::1
	// hello.us-east-1a.us-east.fleet.example.com. 30 A 127.0.1.1
	// hello.us-east-1b.us-east.fleet.example.com. 30 A 127.0.1.2
	// hello.us-east-1b.us-east.fleet.example.com. 30 AAAA ::1
	// hello.us-east.fleet.example.com. 30 A 127.0.1.1,127.0.1.2
	// hello.us-east.fleet.example.com. 30 AAAA ::1
	// true Answering
	// hello.fleet.example.com. A+AAAA 127.0.1.1,127.0.1.2,::1; hello.eu-west.fleet.example.com. CNAME hello.fleet.example.com.; hello.eu-west-1a.eu-west.fleet.example.com. CNAME hello.eu-west.fleet.example.com.; hello.us-east.fleet.example.com. A+AAAA 127.0.1.1,127.0.1.2,::1; hello.us-east-1a.us-east.fleet.example.com. A 127.0.1.1; hello.us-east-1b.us-east.fleet.example.com. A+AAAA 127.0.1.2,::1
	// fra false ProbeFailed
	// iad true
	// iad-2 true
}
