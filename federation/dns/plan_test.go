package dns_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/dns"
)

var fleetZone = dns.Zone{Name: "fleet", Domain: "fleet.example.com.", TTL: 60, Provider: "rfc2136"}

func serving(cluster, region, zone string, ips ...string) dns.Member {
	return dns.Member{Cluster: cluster, Region: region, Zone: zone, IPs: ips, Serving: true, Replicas: 1}
}

func app(key, host string, ms ...dns.Member) dns.App {
	return dns.App{Key: key, DNS: v1alpha1.DNSSpec{Hostname: host}, Members: ms}
}

// records renders r one set a line, for comparing with want.
func records(r []dns.Record) string {
	var b strings.Builder
	for _, x := range r {
		b.WriteString(x.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func lines(s ...string) string {
	if len(s) == 0 {
		return ""
	}
	return strings.Join(s, "\n") + "\n"
}

func plan1(t *testing.T, zones []dns.Zone, a dns.App) dns.AppPlan {
	t.Helper()
	res := dns.Plan(dns.Input{Zones: zones, Apps: []dns.App{a}})
	if len(res.Apps) != 1 {
		t.Fatalf("%d app plans, want 1", len(res.Apps))
	}
	if got, want := records(res.Records), records(res.Apps[0].Records); got != want {
		t.Fatalf("Result.Records\n%s differ from the app's\n%s", got, want)
	}
	return res.Apps[0]
}

func members(p dns.AppPlan) string {
	var out []string
	for _, m := range p.Members {
		s := m.Cluster
		if m.Answering {
			s += "+"
		} else {
			s += "-" + m.Reason
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestZoneChoice(t *testing.T) {
	example := dns.Zone{Name: "example", Domain: "Example.COM", TTL: 300, Provider: "coredns"}
	tests := []struct {
		name, host  string
		zones       []dns.Zone
		zone        string
		reason      string
		msgContains []string
	}{
		{name: "longest zone wins", host: "hello.fleet.example.com", zones: []dns.Zone{example, fleetZone}, zone: "fleet", reason: dns.ReasonAnswering},
		{name: "label boundary", host: "hello.myfleet.example.com", zones: []dns.Zone{fleetZone, example}, zone: "example", reason: dns.ReasonAnswering},
		{name: "no zone", host: "hello.other.org", zones: []dns.Zone{fleetZone, example}, reason: dns.ReasonNoZone,
			msgContains: []string{"hello.other.org.", `"fleet" fleet.example.com.`, `"example" example.com.`}},
		{name: "no zone at all", host: "hello.other.org", reason: dns.ReasonNoZone, msgContains: []string{"hello.other.org.", "there is none"}},
		{name: "suffix without boundary", host: "hellofleet.example.com", zones: []dns.Zone{fleetZone}, reason: dns.ReasonNoZone},
		{name: "apex", host: "fleet.example.com", zones: []dns.Zone{fleetZone}, zone: "fleet", reason: dns.ReasonZoneApex,
			msgContains: []string{"apex", "SOA"}},
		{name: "upper case and trailing dot", host: "Hello.Fleet.Example.com.", zones: []dns.Zone{fleetZone}, zone: "fleet", reason: dns.ReasonAnswering},
		{name: "label over 63", host: strings.Repeat("a", 64) + ".fleet.example.com", zones: []dns.Zone{fleetZone}, reason: dns.ReasonInvalidHostname},
		{name: "two objects, one domain: first by name", host: "hello.example.com",
			zones: []dns.Zone{{Name: "z2", Domain: "example.com."}, {Name: "z1", Domain: "example.com."}}, zone: "z1", reason: dns.ReasonAnswering},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := plan1(t, tc.zones, app("default/hello", tc.host, serving("a", "us-east", "", "127.0.1.1")))
			if p.Zone != tc.zone || p.Reason != tc.reason {
				t.Fatalf("zone %q reason %s (%s), want zone %q reason %s", p.Zone, p.Reason, p.Message, tc.zone, tc.reason)
			}
			for _, s := range tc.msgContains {
				if !strings.Contains(p.Message, s) {
					t.Errorf("message %q lacks %q", p.Message, s)
				}
			}
			if tc.reason != dns.ReasonAnswering {
				if len(p.Records) > 0 || len(p.Names) > 0 || p.Ready {
					t.Errorf("refused app publishes %v (ready %v)", p.Records, p.Ready)
				}
				if got := members(p); got != "a-"+tc.reason {
					t.Errorf("members %s, want a-%s", got, tc.reason)
				}
			}
		})
	}
}

func TestLevelsAndRecords(t *testing.T) {
	tests := []struct {
		name    string
		app     dns.App
		records string
		members string
	}{{
		name: "every level; empty levels point one level up",
		app: app("default/hello", "hello.fleet.example.com",
			serving("a", "us-east", "us-east-1a", "127.0.1.1"),
			dns.Member{Cluster: "b", Region: "eu-west", Zone: "eu-west-1a", IPs: []string{"127.0.2.1"}, Reason: "ProbeFailed"},
			dns.Member{Cluster: "c", Region: "us-east", Zone: "us-east-1b", IPs: []string{"127.0.1.2"}}),
		records: lines(
			"hello.eu-west-1a.eu-west.fleet.example.com. 60 CNAME hello.eu-west.fleet.example.com.",
			"hello.eu-west.fleet.example.com. 60 CNAME hello.fleet.example.com.",
			"hello.fleet.example.com. 60 A 127.0.1.1",
			"hello.us-east-1a.us-east.fleet.example.com. 60 A 127.0.1.1",
			"hello.us-east-1b.us-east.fleet.example.com. 60 CNAME hello.us-east.fleet.example.com.",
			"hello.us-east.fleet.example.com. 60 A 127.0.1.1"),
		members: "a+ b-ProbeFailed c-NotServing",
	}, {
		name: "region level off: an empty zone points to the global name",
		app: func() dns.App {
			a := app("default/hello", "hello.fleet.example.com",
				serving("a", "us-east", "us-east-1a", "127.0.1.1"),
				dns.Member{Cluster: "b", Region: "us-east", Zone: "us-east-1b", Reason: "NotDeployed"})
			a.DNS.Levels = []v1alpha1.DNSLevel{v1alpha1.DNSGlobal, v1alpha1.DNSZoneLevel}
			a.DNS.TTL = 20
			return a
		}(),
		records: lines(
			"hello.fleet.example.com. 20 A 127.0.1.1",
			"hello.us-east-1a.us-east.fleet.example.com. 20 A 127.0.1.1",
			"hello.us-east-1b.us-east.fleet.example.com. 20 CNAME hello.fleet.example.com."),
		members: "a+ b-NotDeployed",
	}, {
		name: "global only",
		app: func() dns.App {
			a := app("default/hello", "hello.fleet.example.com", serving("a", "us-east", "us-east-1a", "127.0.1.1"))
			a.DNS.Levels = []v1alpha1.DNSLevel{v1alpha1.DNSGlobal}
			return a
		}(),
		records: lines("hello.fleet.example.com. 60 A 127.0.1.1"),
		members: "a+",
	}, {
		name: "IPv4 and IPv6 apart, canonical, each once; not addresses ignored; no address: out",
		app: app("default/hello", "Hello.fleet.example.com",
			serving("a", "", "", "::ffff:127.0.1.1", "2001:DB8::1", "127.0.1.2", "bogus"),
			serving("b", "", "", "127.0.1.1", "2001:db8::1"),
			serving("c", "", "")),
		records: lines(
			"hello.fleet.example.com. 60 A 127.0.1.1,127.0.1.2",
			"hello.fleet.example.com. 60 AAAA 2001:db8::1"),
		members: "a+ b+ c-NoAddress",
	}, {
		name: "hostname ingress alone: a CNAME to the first by cluster; beside addresses: left out",
		app: app("default/hello", "hello.fleet.example.com",
			dns.Member{Cluster: "lb-b", Region: "eu-west", Hostnames: []string{"LB-B.elb.example.net"}, Serving: true},
			dns.Member{Cluster: "lb-a", Region: "eu-west", Hostnames: []string{"z.example.net", "lb-a.elb.example.net."}, Serving: true},
			serving("ip", "us-east", "", "127.0.1.1")),
		records: lines(
			"hello.eu-west.fleet.example.com. 60 CNAME lb-a.elb.example.net.",
			"hello.fleet.example.com. 60 A 127.0.1.1",
			"hello.us-east.fleet.example.com. 60 A 127.0.1.1"),
		members: "ip+ lb-a-HostnameIngress lb-b-HostnameIngress",
	}, {
		name: "hostname ingress only",
		app: app("default/hello", "hello.fleet.example.com",
			dns.Member{Cluster: "lb-b", Hostnames: []string{"lb-b.example.net"}, Serving: true},
			dns.Member{Cluster: "lb-a", Hostnames: []string{"lb-a.example.net"}, Serving: true}),
		records: lines("hello.fleet.example.com. 60 CNAME lb-a.example.net."),
		members: "lb-a+ lb-b-HostnameIngress",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := plan1(t, []dns.Zone{fleetZone}, tc.app)
			if got := records(p.Records); got != tc.records {
				t.Errorf("records\n%swant\n%s", got, tc.records)
			}
			if got := members(p); got != tc.members {
				t.Errorf("members %s, want %s", got, tc.members)
			}
			if !p.Ready || p.Reason != dns.ReasonAnswering {
				t.Errorf("ready %v %s (%s), want Answering", p.Ready, p.Reason, p.Message)
			}
		})
	}
}

func TestNamesAndMessage(t *testing.T) {
	p := plan1(t, []dns.Zone{fleetZone}, app("default/hello", "hello.fleet.example.com",
		serving("a", "us-east", "", "127.0.1.1"),
		serving("b", "eu-west", "", "127.0.2.1", "::2"),
		dns.Member{Cluster: "c", Region: "ap-south", Reason: "ClusterNotReady"}))
	want := "hello.fleet.example.com. A+AAAA 127.0.1.1,127.0.2.1,::2; " +
		"hello.ap-south.fleet.example.com. CNAME hello.fleet.example.com.; " +
		"hello.eu-west.fleet.example.com. A+AAAA 127.0.2.1,::2; " +
		"hello.us-east.fleet.example.com. A 127.0.1.1"
	if p.Message != want {
		t.Errorf("message\n%s\nwant\n%s", p.Message, want)
	}
	var names []string
	for _, n := range p.Names {
		names = append(names, fmt.Sprint(n.Name, " ", n.Type, " ", n.Targets))
	}
	wantNames := []string{
		"hello.ap-south.fleet.example.com. CNAME [hello.fleet.example.com.]",
		"hello.eu-west.fleet.example.com. A+AAAA [127.0.2.1 ::2]",
		"hello.fleet.example.com. A+AAAA [127.0.1.1 127.0.2.1 ::2]",
		"hello.us-east.fleet.example.com. A [127.0.1.1]",
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("names\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(wantNames, "\n"))
	}
	if p.TTL != 60 || p.Zone != "fleet" {
		t.Errorf("ttl %d zone %q, want the zone's 60 and fleet", p.TTL, p.Zone)
	}
}

func TestMessageCapped(t *testing.T) {
	var ms []dns.Member
	for i := range 300 {
		ms = append(ms, serving(fmt.Sprintf("c%03d", i), fmt.Sprintf("region-%03d", i), "", fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)))
	}
	p := plan1(t, []dns.Zone{fleetZone}, app("default/hello", "hello.fleet.example.com", ms...))
	if len(p.Message) > 4096 {
		t.Errorf("message of %d bytes, want at most 4096", len(p.Message))
	}
	if !strings.HasSuffix(p.Message, "more names") || !strings.Contains(p.Message, "; ... and ") {
		t.Errorf("message does not say how many names it leaves out: ...%s", p.Message[len(p.Message)-80:])
	}
	if len(p.Names) != 301 {
		t.Errorf("%d names, want 301 (the cap is the message's only)", len(p.Names))
	}
}

func TestNamesLeftOut(t *testing.T) {
	long := strings.Repeat("r", 63)
	// hostname of 60 labels' worth: adding a 63-character region label
	// passes 253 characters.
	host := strings.Repeat("abcdefghi.", 18) + "fleet.example.com"
	child := dns.Zone{Name: "east", Domain: "us-east.fleet.example.com.", TTL: 60}
	tests := []struct {
		name    string
		host    string
		member  dns.Member
		zones   []dns.Zone
		names   int
		message []string
	}{
		{name: "over 253 characters", host: host, member: serving("a", long, "", "127.0.1.1"), zones: []dns.Zone{fleetZone},
			names: 1, message: []string{"left out abcdefghi.", "longer than 253 characters"}},
		{name: "region not a label", host: "hello.fleet.example.com", member: serving("a", long+"x", "z", "127.0.1.1"), zones: []dns.Zone{fleetZone},
			names: 1, message: []string{"the region is not a DNS label"}},
		{name: "zone not a label", host: "hello.fleet.example.com", member: serving("a", "us-east", "a.b", "127.0.1.1"), zones: []dns.Zone{fleetZone},
			names: 2, message: []string{`zone "a.b"`, "not a DNS label"}},
		{name: "inside a child zone", host: "hello.fleet.example.com", member: serving("a", "us-east", "z", "127.0.1.1"), zones: []dns.Zone{fleetZone, child},
			names: 1, message: []string{`hello.us-east.fleet.example.com.: inside DNSZone "east" (us-east.fleet.example.com.), not "fleet"`,
				`hello.z.us-east.fleet.example.com.: inside DNSZone "east"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := plan1(t, tc.zones, app("default/hello", tc.host, tc.member))
			if len(p.Names) != tc.names || !p.Ready {
				t.Errorf("%d names (ready %v), want %d: %s", len(p.Names), p.Ready, tc.names, p.Message)
			}
			for _, s := range tc.message {
				if !strings.Contains(p.Message, s) {
					t.Errorf("message %q lacks %q", p.Message, s)
				}
			}
		})
	}
}

func TestNoHealthyMember(t *testing.T) {
	p := plan1(t, []dns.Zone{fleetZone}, app("default/hello", "hello.fleet.example.com",
		dns.Member{Cluster: "a", Region: "us-east", IPs: []string{"127.0.1.1"}, Reason: "ProbeFailed"},
		dns.Member{Cluster: "b", Region: "us-east", Serving: true},
		dns.Member{Cluster: "c", Region: "eu-west", IPs: []string{"127.0.2.1"}}))
	if p.Ready || p.Reason != dns.ReasonNoHealthyMember || len(p.Records) > 0 || len(p.Names) > 0 {
		t.Fatalf("ready %v %s, %d records, want NoHealthyMember and none", p.Ready, p.Reason, len(p.Records))
	}
	if p.Name != "hello.fleet.example.com." {
		t.Errorf("Name = %q: an app that holds its names says its global name even when it answers nothing", p.Name)
	}
	want := "no member serves default/hello, so its names answer nothing: a ProbeFailed, b NoAddress (its ingress has no address and no hostname), c NotServing"
	if p.Message != want {
		t.Errorf("message\n%s\nwant\n%s", p.Message, want)
	}
	p = plan1(t, []dns.Zone{fleetZone}, app("default/hello", "hello.fleet.example.com"))
	if p.Reason != dns.ReasonNoHealthyMember || !strings.Contains(p.Message, "placed on no cluster") {
		t.Errorf("no member: %s %s", p.Reason, p.Message)
	}
}

func TestFailover(t *testing.T) {
	fleet := []dns.Member{
		serving("us-1", "us-east", "", "127.0.1.1"),
		serving("us-2", "us-east", "", "127.0.1.2"),
		serving("eu-1", "eu-west", "", "127.0.2.1"),
		serving("ap-1", "ap-south", "", "127.0.3.1"),
	}
	down := func(ms []dns.Member, clusters ...string) []dns.Member {
		out := slices.Clone(ms)
		for i := range out {
			if slices.Contains(clusters, out[i].Cluster) {
				out[i].Serving, out[i].Reason = false, "ProbeFailed"
			}
		}
		return out
	}
	tests := []struct {
		name      string
		preferred []string
		members   []dns.Member
		global    string
		answers   string
		note      string
	}{
		{name: "first preferred region", preferred: []string{"us-east", "eu-west"}, members: fleet,
			global: "127.0.1.1,127.0.1.2", answers: "ap-1-NotPreferred eu-1-NotPreferred us-1+ us-2+", note: "(Failover to preferred region us-east)"},
		{name: "next preferred region when the first has none", preferred: []string{"us-east", "eu-west"}, members: down(fleet, "us-1", "us-2"),
			global: "127.0.2.1", answers: "ap-1-NotPreferred eu-1+ us-1-ProbeFailed us-2-ProbeFailed", note: "(Failover to preferred region eu-west)"},
		{name: "every member when no preferred region serves", preferred: []string{"us-east"}, members: down(fleet, "us-1", "us-2"),
			global: "127.0.2.1,127.0.3.1", answers: "ap-1+ eu-1+ us-1-ProbeFailed us-2-ProbeFailed", note: "(Failover: no preferred region serves, every member)"},
		{name: "no preferred regions", members: fleet,
			global: "127.0.1.1,127.0.1.2,127.0.2.1,127.0.3.1", answers: "ap-1+ eu-1+ us-1+ us-2+", note: "(Failover without preferredRegions: every member)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := app("default/hello", "hello.fleet.example.com", tc.members...)
			a.DNS.Strategy = v1alpha1.DNSFailover
			a.PreferredRegions = tc.preferred
			p := plan1(t, []dns.Zone{fleetZone}, a)
			want := "hello.fleet.example.com. 60 A " + tc.global
			if !strings.Contains(records(p.Records), want+"\n") {
				t.Errorf("records\n%swant %s", records(p.Records), want)
			}
			if got := members(p); got != tc.answers {
				t.Errorf("members %s, want %s", got, tc.answers)
			}
			if !strings.Contains(p.Message, tc.note) {
				t.Errorf("message %q lacks %q", p.Message, tc.note)
			}
			// Region names answer with their own members whatever the
			// strategy.
			if !strings.Contains(records(p.Records), "hello.ap-south.fleet.example.com. 60 A 127.0.3.1\n") {
				t.Errorf("ap-south's name does not answer with its member:\n%s", records(p.Records))
			}
		})
	}
}

func TestWeighted(t *testing.T) {
	weighted := dns.Zone{Name: "ext", Domain: "fleet.example.com.", TTL: 60, Provider: "externaldns", Capabilities: dns.Capabilities{Weighted: true}}
	a := app("default/hello", "hello.fleet.example.com",
		dns.Member{Cluster: "a", Region: "us-east", IPs: []string{"127.0.1.1"}, Replicas: 510, Serving: true},
		dns.Member{Cluster: "b", Region: "us-east", IPs: []string{"127.0.1.2"}, Replicas: 1, Serving: true},
		dns.Member{Cluster: "c", Region: "eu-west", IPs: []string{"127.0.2.1", "::3"}, Replicas: 7, Serving: true},
		dns.Member{Cluster: "d", Region: "eu-west", IPs: []string{"127.0.2.2"}, Replicas: 7, Serving: true},
		dns.Member{Cluster: "e", Region: "ap-south", IPs: []string{"127.0.3.1"}, Replicas: 7, Serving: true})
	a.DNS.Levels = []v1alpha1.DNSLevel{v1alpha1.DNSGlobal}
	a.DNS.Strategy = v1alpha1.DNSWeighted
	a.DNS.Weights = []v1alpha1.DNSWeight{{Region: "eu-west", Weight: 5}, {Cluster: "d", Weight: 0}}
	p := plan1(t, []dns.Zone{weighted}, a)
	// a, b and e weigh their replicas scaled by 255/510, rounded up (510
	// -> 255, 1 -> 1, 7 -> 4); c its region's 5, d its own 0 (the
	// cluster's entry wins).
	want := lines(
		`hello.fleet.example.com. 60 A 127.0.1.1 (set a weight 255 region "")`,
		`hello.fleet.example.com. 60 A 127.0.1.2 (set b weight 1 region "")`,
		`hello.fleet.example.com. 60 A 127.0.2.1 (set c weight 5 region "")`,
		`hello.fleet.example.com. 60 A 127.0.2.2 (set d weight 0 region "")`,
		`hello.fleet.example.com. 60 A 127.0.3.1 (set e weight 4 region "")`,
		`hello.fleet.example.com. 60 AAAA ::3 (set c weight 5 region "")`)
	if got := records(p.Records); got != want {
		t.Errorf("records\n%swant\n%s", got, want)
	}
	if !p.Ready || !strings.Contains(p.Message, "hello.fleet.example.com. A+AAAA 127.0.1.1,127.0.1.2,127.0.2.1,127.0.2.2,127.0.3.1,::3 (Weighted a=255 b=1 c=5 d=0 e=4)") {
		t.Errorf("message %q", p.Message)
	}
}

func TestGeo(t *testing.T) {
	geo := dns.Zone{Name: "ext", Domain: "fleet.example.com.", TTL: 60, Provider: "externaldns", Capabilities: dns.Capabilities{Geo: true}}
	a := app("default/hello", "hello.fleet.example.com",
		serving("a", "us-east", "", "127.0.1.1"),
		serving("b", "us-east", "", "127.0.1.2"),
		serving("c", "eu-west", "", "127.0.2.1"),
		dns.Member{Cluster: "d", Region: "ap-south", IPs: []string{"127.0.3.1"}, Reason: "ProbeFailed"})
	a.DNS.Strategy = v1alpha1.DNSGeo
	p := plan1(t, []dns.Zone{geo}, a)
	want := lines(
		"hello.ap-south.fleet.example.com. 60 CNAME hello.fleet.example.com.",
		"hello.eu-west.fleet.example.com. 60 A 127.0.2.1",
		`hello.fleet.example.com. 60 A 127.0.1.1,127.0.1.2,127.0.2.1 (set default weight 0 region "*")`,
		`hello.fleet.example.com. 60 A 127.0.2.1 (set eu-west weight 0 region "eu-west")`,
		`hello.fleet.example.com. 60 A 127.0.1.1,127.0.1.2 (set us-east weight 0 region "us-east")`,
		"hello.us-east.fleet.example.com. 60 A 127.0.1.1,127.0.1.2")
	if got := records(p.Records); got != want {
		t.Errorf("records\n%swant\n%s", got, want)
	}
	if !p.Ready || !strings.Contains(p.Message, "hello.fleet.example.com. A 127.0.1.1,127.0.1.2,127.0.2.1 (Geo eu-west,us-east and default)") {
		t.Errorf("message %q", p.Message)
	}
}

func TestStrategyUnsupported(t *testing.T) {
	for _, tc := range []struct {
		strategy v1alpha1.DNSStrategy
		message  string
	}{
		{v1alpha1.DNSWeighted, `strategy Weighted needs a provider that answers by weight; zone "fleet" (rfc2136) cannot: use RoundRobin or Failover, or a DNSZone of type externaldns with weighted: true; answering as RoundRobin meanwhile: hello.fleet.example.com. A 127.0.1.1,127.0.2.1`},
		{v1alpha1.DNSGeo, `strategy Geo needs a provider that answers by the caller's region; zone "fleet" (rfc2136) cannot: use RoundRobin or Failover, or a DNSZone of type externaldns with geo: true; answering as RoundRobin meanwhile: hello.fleet.example.com. A 127.0.1.1,127.0.2.1`},
	} {
		t.Run(string(tc.strategy), func(t *testing.T) {
			a := app("default/hello", "hello.fleet.example.com", serving("a", "us-east", "", "127.0.1.1"), serving("b", "eu-west", "", "127.0.2.1"))
			a.DNS.Strategy = tc.strategy
			a.DNS.Levels = []v1alpha1.DNSLevel{v1alpha1.DNSGlobal}
			p := plan1(t, []dns.Zone{fleetZone}, a)
			if p.Ready || p.Reason != dns.ReasonStrategyUnsupported || p.Message != tc.message {
				t.Errorf("ready %v %s\n%s\nwant StrategyUnsupported\n%s", p.Ready, p.Reason, p.Message, tc.message)
			}
			if got, want := records(p.Records), lines("hello.fleet.example.com. 60 A 127.0.1.1,127.0.2.1"); got != want {
				t.Errorf("records\n%swant (RoundRobin)\n%s", got, want)
			}
			if got := members(p); got != "a+ b+" {
				t.Errorf("members %s, want both answering", got)
			}
		})
	}
}

func TestConflicts(t *testing.T) {
	member := serving("a", "us-east", "", "127.0.1.1")
	global := func(key, host string) dns.App {
		a := app(key, host, member)
		a.DNS.Levels = []v1alpha1.DNSLevel{v1alpha1.DNSGlobal}
		return a
	}
	tests := []struct {
		name    string
		apps    []dns.App
		owners  map[string]string
		refused map[string]string // app -> message part
	}{{
		name:    "one hostname, two apps: the first by key",
		apps:    []dns.App{global("ns/b", "hello.fleet.example.com"), global("ns/a", "hello.fleet.example.com")},
		refused: map[string]string{"ns/b": "hello.fleet.example.com. (Global level) is app ns/a's name (the first app by key): ns/b publishes none of its names"},
	}, {
		name:    "the holder keeps its name",
		apps:    []dns.App{global("ns/b", "hello.fleet.example.com"), global("ns/a", "hello.fleet.example.com")},
		owners:  map[string]string{"hello.fleet.example.com.": "ns/b"},
		refused: map[string]string{"ns/a": "is app ns/b's name (it holds the name)"},
	}, {
		name: "a region name against another app's hostname: the loser publishes none",
		apps: []dns.App{
			app("ns/a", "hello.fleet.example.com", member),
			global("ns/b", "hello.us-east.fleet.example.com")},
		owners:  map[string]string{"hello.us-east.fleet.example.com.": "ns/b"},
		refused: map[string]string{"ns/a": "hello.us-east.fleet.example.com. (Region level) is app ns/b's name (it holds the name)"},
	}, {
		name: "a loser does not block a third app",
		// b loses hello.us-east to its holder c, so publishes none, and
		// d, after b by key, gets hello.
		apps: []dns.App{
			app("ns/b", "hello.fleet.example.com", member),
			global("ns/c", "hello.us-east.fleet.example.com"),
			global("ns/d", "hello.fleet.example.com")},
		owners:  map[string]string{"hello.us-east.fleet.example.com.": "ns/c"},
		refused: map[string]string{"ns/b": "is app ns/c's name"},
	}, {
		name: "holders claiming each other's names: the first by key",
		// a's region name is b's hostname, b's region name is a's zone
		// name; each holds one of them.
		apps: []dns.App{
			app("ns/a", "hello.fleet.example.com", member, serving("b", "eu", "us-east", "127.0.2.1")),
			app("ns/b", "hello.us-east.fleet.example.com", serving("b", "eu", "", "127.0.2.1"))},
		owners:  map[string]string{"hello.us-east.fleet.example.com.": "ns/b", "hello.us-east.eu.fleet.example.com.": "ns/a"},
		refused: map[string]string{"ns/b": "hello.us-east.fleet.example.com. (Global level) is app ns/a's name (the first app by key)"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := dns.Plan(dns.Input{Zones: []dns.Zone{fleetZone}, Apps: tc.apps, Owners: tc.owners})
			holders := map[string]string{}
			for _, p := range res.Apps {
				want, refused := tc.refused[p.App]
				switch {
				case refused && (p.Reason != dns.ReasonNameConflict || !strings.Contains(p.Message, want) || len(p.Records) > 0):
					t.Errorf("%s: %s %q with %d records, want NameConflict saying %q and none", p.App, p.Reason, p.Message, len(p.Records), want)
				case !refused && p.Reason != dns.ReasonAnswering:
					t.Errorf("%s: %s %q, want Answering", p.App, p.Reason, p.Message)
				}
				for _, r := range p.Records {
					if h, ok := holders[r.Name]; ok && h != p.App {
						t.Errorf("%s is both %s's and %s's", r.Name, h, p.App)
					}
					holders[r.Name] = p.App
				}
			}
		})
	}
}
