package dns_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/dns"
)

// BenchmarkPlan10000Apps plans the figure of 10,000 names (here
// 10,000 apps, each at three levels): 50 members in 5 regions of 2 zones,
// each app on 2 or 3 of them, one member in 10 down for the app.
func BenchmarkPlan10000Apps(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	fleet := make([]dns.Member, 50)
	for i := range fleet {
		region := fmt.Sprintf("region-%d", i%5)
		fleet[i] = dns.Member{Cluster: fmt.Sprintf("member-%02d", i), Region: region, Zone: fmt.Sprintf("%s%c", region, 'a'+i/5%2),
			IPs: []string{fmt.Sprintf("10.0.%d.1", i)}, Replicas: 3}
		if i%10 == 0 {
			fleet[i].IPs = append(fleet[i].IPs, fmt.Sprintf("2001:db8::%x", i))
		}
	}
	in := dns.Input{Zones: []dns.Zone{{Name: "fleet", Domain: "fleet.example.com.", TTL: 60, Provider: "rfc2136"}}}
	for i := range 10000 {
		a := dns.App{Key: fmt.Sprintf("default/app-%05d", i), DNS: v1alpha1.DNSSpec{Hostname: fmt.Sprintf("app-%05d.fleet.example.com", i)}}
		for _, j := range rng.Perm(len(fleet))[:2+rng.IntN(2)] {
			m := fleet[j]
			m.Serving = rng.IntN(10) > 0
			if !m.Serving {
				m.Reason = "ProbeFailed"
			}
			a.Members = append(a.Members, m)
		}
		in.Apps = append(in.Apps, a)
	}
	b.ReportAllocs()
	var res dns.Result
	for b.Loop() {
		res = dns.Plan(in)
	}
	b.ReportMetric(float64(len(res.Records)), "records")
}
