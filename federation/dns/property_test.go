package dns_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/dns"
)

var (
	propRegions = []string{"us-east", "eu-west", "ap-south", "US-West"}
	propReasons = []string{"ProbeFailed", "NotDeployed", "ClusterNotReady", ""}
	strategies  = []v1alpha1.DNSStrategy{"", v1alpha1.DNSRoundRobin, v1alpha1.DNSFailover, v1alpha1.DNSWeighted, v1alpha1.DNSGeo}
)

// randomZones always has fleet.example.com., and sometimes its parent, a
// child that swallows the us-east names of apps in it, a second object
// for one domain, and providers that answer by weight or region.
func randomZones(rng *rand.Rand) []dns.Zone {
	caps := func() dns.Capabilities { return dns.Capabilities{Weighted: rng.IntN(2) == 0, Geo: rng.IntN(2) == 0} }
	zones := []dns.Zone{{Name: "fleet", Domain: "fleet.example.com.", TTL: uint32(1 + rng.IntN(300)), Provider: "rfc2136", Capabilities: caps()}}
	if rng.IntN(2) == 0 {
		zones = append(zones, dns.Zone{Name: "example", Domain: "example.com", TTL: 300, Provider: "coredns", Capabilities: caps()})
	}
	if rng.IntN(4) == 0 {
		zones = append(zones, dns.Zone{Name: "east", Domain: "us-east.fleet.example.com.", TTL: 30, Provider: "externaldns", Capabilities: caps()})
	}
	if rng.IntN(6) == 0 {
		zones = append(zones, dns.Zone{Name: "fleet-2", Domain: "fleet.example.com.", TTL: 5, Provider: "externaldns", Capabilities: caps()})
	}
	return zones
}

// randomMembers draws members of every kind: IPv4, IPv6, both, hostname
// only, no address, addresses that are not, zones and none.
func randomMembers(rng *rand.Rand, n int) []dns.Member {
	pool := rng.Perm(50)[:n]
	ms := make([]dns.Member, n)
	for i, c := range pool {
		region := propRegions[c%len(propRegions)]
		m := dns.Member{Cluster: fmt.Sprintf("c%02d", c), Region: region, Replicas: int32(rng.IntN(600)), Serving: rng.IntN(3) > 0}
		if rng.IntN(3) > 0 {
			m.Zone = strings.ToLower(region) + "-1" + string(rune('a'+c%2))
		}
		switch rng.IntN(7) {
		case 0, 1, 2:
			m.IPs = []string{fmt.Sprintf("10.0.%d.%d", c, 1+rng.IntN(2))}
		case 3:
			m.IPs = []string{fmt.Sprintf("2001:db8::%x", c), fmt.Sprintf("10.0.%d.1", c), fmt.Sprintf("::ffff:10.1.%d.1", c)}
		case 4:
			m.Hostnames = []string{fmt.Sprintf("lb-%d.example.net", c)}
		case 5:
			m.IPs = []string{"not-an-ip"}
		}
		if !m.Serving {
			m.Reason = propReasons[rng.IntN(len(propReasons))]
		}
		ms[i] = m
	}
	return ms
}

func randomInput(rng *rand.Rand) dns.Input {
	hosts := []string{"app0.fleet.example.com", "app1.fleet.example.com", "app2.fleet.example.com", "app0.us-east.fleet.example.com",
		"app3.fleet.example.com", "app4.fleet.example.com", "app3.fleet.example.com", "app4.fleet.example.com", "svc.example.com", "x.other.org", "fleet.example.com", "App1.Fleet.example.com."}
	in := dns.Input{Zones: randomZones(rng), Owners: map[string]string{}}
	n := 1 + rng.IntN(12)
	for i := range n {
		a := dns.App{Key: fmt.Sprintf("ns/app-%02d", i), DNS: v1alpha1.DNSSpec{
			Hostname: hosts[rng.IntN(len(hosts))],
			Strategy: strategies[rng.IntN(len(strategies))],
			TTL:      int32(rng.IntN(3) * 30),
		}}
		if rng.IntN(2) == 0 {
			a.DNS.Levels = []v1alpha1.DNSLevel{v1alpha1.DNSGlobal}
			if rng.IntN(2) == 0 {
				a.DNS.Levels = append(a.DNS.Levels, v1alpha1.DNSRegion)
			}
			if rng.IntN(2) == 0 {
				a.DNS.Levels = append(a.DNS.Levels, v1alpha1.DNSZoneLevel)
			}
		}
		if rng.IntN(3) == 0 {
			a.DNS.Weights = []v1alpha1.DNSWeight{{Region: "eu-west", Weight: 3}, {Cluster: "c07", Weight: 200}}
		}
		for range rng.IntN(3) {
			a.PreferredRegions = append(a.PreferredRegions, propRegions[rng.IntN(len(propRegions))])
		}
		a.Members = randomMembers(rng, rng.IntN(6))
		in.Apps = append(in.Apps, a)
	}
	// Owners: some names held by some apps (some of them not the app the
	// name would go to, some not claiming it at all).
	for range rng.IntN(4) {
		h := fqdnOf(hosts[rng.IntN(len(hosts))])
		if rng.IntN(2) == 0 {
			h = strings.Replace(h, ".fleet.", ".us-east.fleet.", 1)
		}
		in.Owners[h] = fmt.Sprintf("ns/app-%02d", rng.IntN(n))
	}
	return in
}

func fqdnOf(s string) string {
	s = strings.ToLower(s)
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// shuffled is in with its zones, apps and members in another order.
func shuffled(rng *rand.Rand, in dns.Input) dns.Input {
	out := dns.Input{Zones: slices.Clone(in.Zones), Apps: slices.Clone(in.Apps), Owners: in.Owners}
	rng.Shuffle(len(out.Zones), func(i, j int) { out.Zones[i], out.Zones[j] = out.Zones[j], out.Zones[i] })
	rng.Shuffle(len(out.Apps), func(i, j int) { out.Apps[i], out.Apps[j] = out.Apps[j], out.Apps[i] })
	for i := range out.Apps {
		ms := slices.Clone(out.Apps[i].Members)
		rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		out.Apps[i].Members = ms
	}
	return out
}

// zoneOf is an independent statement of the zone rule: the longest
// domain the name ends in at a label boundary (ties: the first by name).
func zoneOf(zones []dns.Zone, name string) (dns.Zone, bool) {
	var best dns.Zone
	found := false
	for _, z := range zones {
		d := fqdnOf(z.Domain)
		if name != d && !strings.HasSuffix(name, "."+d) {
			continue
		}
		if !found || len(d) > len(fqdnOf(best.Domain)) || (d == fqdnOf(best.Domain) && z.Name < best.Name) {
			best, found = z, true
		}
	}
	return best, found
}

// where says which members a name may answer with: global: all; region
// level: that region's; zone level: that zone's.
type where struct {
	global       bool
	region, zone string
}

func levelsOf(a dns.App, zone dns.Zone) map[string]where {
	host := fqdnOf(a.DNS.Hostname)
	domain := fqdnOf(zone.Domain)
	rel := strings.TrimSuffix(host, "."+domain)
	out := map[string]where{host: {global: true}}
	for _, m := range a.Members {
		r, z := strings.ToLower(m.Region), strings.ToLower(m.Zone)
		out[rel+"."+r+"."+domain] = where{region: r}
		if z != "" {
			out[rel+"."+z+"."+r+"."+domain] = where{region: r, zone: z}
		}
	}
	return out
}

func sameAddress(a, b string) bool {
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	return err1 == nil && err2 == nil && x.Unmap() == y.Unmap()
}

func isAddress(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func hasAddress(m dns.Member, target string) bool {
	return slices.ContainsFunc(m.IPs, func(ip string) bool { return sameAddress(ip, target) })
}

func keyLess(a, b dns.Key) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Type != b.Type {
		return a.Type < b.Type
	}
	return a.SetID < b.SetID
}

func TestProperties(t *testing.T) {
	answered, conflicts, failovers, sets := 0, 0, 0, 0
	for seed := range uint64(600) {
		rng := rand.New(rand.NewPCG(seed, 17))
		in := randomInput(rng)
		res := dns.Plan(in)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d: "+format, append([]any{seed}, args...)...)
		}

		// Same input in another order: same plan.
		if again := dns.Plan(shuffled(rng, in)); !reflect.DeepEqual(res, again) {
			fail("the plan changed when the input's order did:\n%+v\n%+v", res, again)
		}

		apps := map[string]dns.App{}
		for _, a := range in.Apps {
			apps[a.Key] = a
		}
		if len(res.Apps) != len(in.Apps) || !slices.IsSortedFunc(res.Apps, func(a, b dns.AppPlan) int { return strings.Compare(a.App, b.App) }) {
			fail("%d app plans for %d apps, or not sorted by key", len(res.Apps), len(in.Apps))
		}
		var all []dns.Record
		nameApp := map[string]string{}
		for _, p := range res.Apps {
			a := apps[p.App]
			all = append(all, p.Records...)
			if p.Ready != (p.Reason == dns.ReasonAnswering) {
				fail("%s: ready %v with reason %s", p.App, p.Ready, p.Reason)
			}
			publishes := p.Reason == dns.ReasonAnswering || p.Reason == dns.ReasonStrategyUnsupported
			if publishes != (len(p.Records) > 0) {
				fail("%s: %s with %d records", p.App, p.Reason, len(p.Records))
			}
			switch p.Reason {
			case dns.ReasonAnswering:
				answered++
			case dns.ReasonNameConflict:
				conflicts++
			}
			if len(p.Members) != len(a.Members) {
				fail("%s: %d member answers for %d members", p.App, len(p.Members), len(a.Members))
			}
			if !publishes {
				continue
			}
			zone, ok := zoneOf(in.Zones, fqdnOf(a.DNS.Hostname))
			if !ok || zone.Name != p.Zone {
				fail("%s: zone %q, want %q", p.App, p.Zone, zone.Name)
			}
			levels := levelsOf(a, zone)
			types := map[string][]string{}
			for _, r := range p.Records {
				if r.Name != strings.ToLower(r.Name) || !strings.HasSuffix(r.Name, ".") {
					fail("%s: name %q not lower case with its trailing dot", p.App, r.Name)
				}
				// Every name lies in the app's zone, and no zone inside it
				// takes it away.
				if in, _ := zoneOf(in.Zones, r.Name); in.Name != p.Zone {
					fail("%s: %s lies in zone %q, the app's is %q", p.App, r.Name, in.Name, p.Zone)
				}
				// No name in two apps.
				if other, ok := nameApp[r.Name]; ok && other != p.App {
					fail("%s is both %s's and %s's", r.Name, other, p.App)
				}
				nameApp[r.Name] = p.App
				if !slices.IsSorted(r.Targets) || len(slices.Compact(slices.Clone(r.Targets))) != len(r.Targets) || len(r.Targets) == 0 {
					fail("%s: targets %v not sorted, unique and present", p.App, r.Targets)
				}
				if r.SetID != "" {
					sets++
				}
				types[r.Name] = append(types[r.Name], r.Type)
				lv, ok := levels[r.Name]
				if !ok {
					fail("%s: %s is none of the app's names", p.App, r.Name)
				}
				if r.Type != dns.TypeA && r.Type != dns.TypeAAAA {
					continue
				}
				// Every address is a serving member's, of that level.
				for _, target := range r.Targets {
					if !slices.ContainsFunc(a.Members, func(m dns.Member) bool {
						return m.Serving && hasAddress(m, target) &&
							(lv.global || strings.ToLower(m.Region) == lv.region && (lv.zone == "" || strings.ToLower(m.Zone) == lv.zone))
					}) {
						fail("%s: %s %s answers %s, no serving member of %+v has it", p.App, r.Name, r.Type, target, lv)
					}
				}
			}
			// A name is never both a CNAME and addresses, nor two CNAMEs
			// of plain DNS.
			for name, ts := range types {
				if slices.Contains(ts, dns.TypeCNAME) && (slices.Contains(ts, dns.TypeA) || slices.Contains(ts, dns.TypeAAAA)) {
					fail("%s: %s holds a CNAME and addresses: %v", p.App, name, ts)
				}
			}
			global := fqdnOf(a.DNS.Hostname)
			if len(types[global]) == 0 {
				fail("%s publishes, but not at its hostname %s", p.App, global)
			}
			// No serving member: nothing at the global name.
			if !slices.ContainsFunc(a.Members, func(m dns.Member) bool { return m.Serving }) {
				fail("%s: records %v without a serving member", p.App, p.Records)
			}
			// Failover never answers with a member outside the first
			// preferred region that has a member able to answer.
			if a.DNS.Strategy == v1alpha1.DNSFailover {
				failovers++
				first := ""
				for _, r := range a.PreferredRegions {
					if slices.ContainsFunc(a.Members, func(m dns.Member) bool {
						return m.Serving && strings.EqualFold(m.Region, r) && (len(m.Hostnames) > 0 || slices.ContainsFunc(m.IPs, isAddress))
					}) {
						first = strings.ToLower(r)
						break
					}
				}
				for _, ma := range p.Members {
					m := a.Members[slices.IndexFunc(a.Members, func(m dns.Member) bool { return m.Cluster == ma.Cluster })]
					if first != "" && ma.Answering && strings.ToLower(m.Region) != first {
						fail("%s: Failover answers with %s in %s while %s serves", p.App, m.Cluster, m.Region, first)
					}
				}
			}
			// A member said to answer has its address or hostname at the
			// global name.
			for _, ma := range p.Members {
				if !ma.Answering {
					continue
				}
				m := a.Members[slices.IndexFunc(a.Members, func(m dns.Member) bool { return m.Cluster == ma.Cluster })]
				if !m.Serving || !slices.ContainsFunc(p.Records, func(r dns.Record) bool {
					return r.Name == global && slices.ContainsFunc(r.Targets, func(t string) bool {
						return hasAddress(m, t) || slices.ContainsFunc(m.Hostnames, func(h string) bool { return fqdnOf(h) == t })
					})
				}) {
					fail("%s: member %s answering, but the global name does not hold it: %v", p.App, m.Cluster, p.Records)
				}
			}
		}
		// Result.Records: the apps' record sets, sorted by key, each once.
		for i := 1; i < len(res.Records); i++ {
			if !keyLess(res.Records[i-1].Key(), res.Records[i].Key()) {
				fail("Result.Records not sorted by key, each once: %v after %v", res.Records[i].Key(), res.Records[i-1].Key())
			}
		}
		slices.SortFunc(all, func(a, b dns.Record) int {
			if keyLess(a.Key(), b.Key()) {
				return -1
			}
			return 1
		})
		if !reflect.DeepEqual(all, res.Records) && len(all)+len(res.Records) > 0 {
			fail("Result.Records are not the apps' record sets")
		}
	}
	t.Logf("%d answering apps, %d conflicts, %d failover apps, %d weighted or geo sets", answered, conflicts, failovers, sets)
	// The generator reaches every case the properties speak of.
	if answered < 300 || conflicts < 50 || failovers < 50 || sets < 100 {
		t.Errorf("weak generator: %d answering apps, %d conflicts, %d failover apps, %d weighted or geo sets", answered, conflicts, failovers, sets)
	}
}
