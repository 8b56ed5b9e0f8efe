package dns

import (
	"slices"
	"strings"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// Zone is one DNSZone as the planner needs it.
type Zone struct {
	// Name is the DNSZone object's name.
	Name string
	// Domain is the zone, fully qualified with its trailing dot.
	Domain string
	// TTL is the zone's default TTL, for apps that set none.
	TTL uint32
	// Provider is the provider's type, for messages ("rfc2136").
	Provider string
	// Capabilities says which strategies the provider can express.
	Capabilities Capabilities
}

// Member is one cluster the app is placed on or deployed to.
type Member struct {
	// Cluster is the MemberCluster name.
	Cluster string
	// Region and Zone of the cluster (Zone may be empty).
	Region, Zone string
	// IPs are its status.ingress[].ip (IPv4 and IPv6).
	IPs []string
	// Hostnames are its status.ingress[].hostname.
	Hostnames []string
	// Replicas placed on it (status.placement), the default weight.
	Replicas int32
	// Serving is true when the member may be in the app's answers: placed,
	// the app deployed there, the cluster Ready and healthy, and the app
	// healthy on it (the health verdict).
	Serving bool
	// Reason says why not, when !Serving (NotPlaced, NotDeployed,
	// ClusterNotReady, ProbeFailed, ...).
	Reason string
}

// App is one FleetApp with spec.dns.
type App struct {
	// Key is namespace/name.
	Key string
	// DNS is the app's spec.dns (defaults applied by the API server; an
	// empty Levels means every level, an empty Strategy RoundRobin).
	DNS v1alpha1.DNSSpec
	// PreferredRegions is placement.preferredRegions: Failover's order.
	PreferredRegions []string
	// Members are the clusters placed or deployed, in any order.
	Members []Member
}

// Input is everything a plan depends on.
type Input struct {
	Zones []Zone
	Apps  []App
	// Owners says which app holds each name today (name -> app key), as
	// the registry read it: when two apps claim a name, its holder keeps
	// it; otherwise the first app by key does.
	Owners map[string]string
}

// Result is the plan: every record set the fleet's names should hold, and
// what it means for each app.
type Result struct {
	// Records are every planned record set, sorted by Key, without the
	// ownership records (the registry adds those).
	Records []Record
	// Apps are the apps of the input, sorted by key.
	Apps []AppPlan
}

// AppPlan is one app's part of the plan, and its DNSReady condition.
type AppPlan struct {
	// App is namespace/name.
	App string
	// Zone is the DNSZone the hostname lies in ("" when none).
	Zone string
	// Name is the app's global name, fully qualified, once the app holds
	// its names: also when they answer nothing (NoHealthyMember), so that
	// the name's ownership can be kept meanwhile. "" when refused.
	Name string
	// TTL the app's records carry.
	TTL uint32
	// Ready, Reason and Message are the app's DNSReady condition: True
	// lists each name and what it answers; False says why (NoZone,
	// ZoneApex, NameConflict, StrategyUnsupported, NoHealthyMember, ...).
	Ready   bool
	Reason  string
	Message string
	// Names are the app's names and what each answers, sorted by name.
	Names []NameAnswer
	// Members say, for each member, whether the global name answers with
	// it, and why not; sorted by cluster.
	Members []MemberAnswer
	// Records are this app's record sets (also in Result.Records).
	Records []Record
}

// NameAnswer is one name and what it answers.
type NameAnswer struct {
	Name string
	// Type is A, AAAA, CNAME, or "A+AAAA" when it holds both.
	Type    string
	Targets []string
}

// MemberAnswer says whether the app's names answer with a member.
type MemberAnswer struct {
	Cluster   string
	Answering bool
	Reason    string
}

// Reasons of an app's DNSReady condition (AppPlan.Reason).
const (
	// ReasonAnswering: every name answers; the message lists them.
	ReasonAnswering = "Answering"
	// ReasonNoZone: the hostname lies in no DNSZone.
	ReasonNoZone = "NoZone"
	// ReasonZoneApex: the hostname is a zone's apex, which holds the
	// zone's SOA and NS records and cannot hold a CNAME.
	ReasonZoneApex = "ZoneApex"
	// ReasonInvalidHostname: the hostname is not a DNS name (a label over
	// 63 characters, the whole over 253, a character DNS names lack).
	ReasonInvalidHostname = "InvalidHostname"
	// ReasonNameConflict: another app holds one of the app's names; the
	// app publishes none.
	ReasonNameConflict = "NameConflict"
	// ReasonStrategyUnsupported: the zone's provider cannot express the
	// strategy; the names answer as RoundRobin meanwhile.
	ReasonStrategyUnsupported = "StrategyUnsupported"
	// ReasonNoHealthyMember: no member can answer; the app publishes no
	// record.
	ReasonNoHealthyMember = "NoHealthyMember"
)

// Reasons a member is out of the global name's answers
// (MemberAnswer.Reason), beside the member's own Member.Reason.
const (
	// ReasonNotServing: the member is not Serving and its input gave no
	// reason.
	ReasonNotServing = "NotServing"
	// ReasonNoAddress: the member serves but its ingress has neither an
	// address nor a hostname.
	ReasonNoAddress = "NoAddress"
	// ReasonNotPreferred: strategy Failover answers with an earlier
	// preferred region's members.
	ReasonNotPreferred = "NotPreferred"
	// ReasonHostnameIngress: the member's ingress is a hostname, and a
	// name answers with one CNAME target or with addresses, never both.
	ReasonHostnameIngress = "HostnameIngress"
)

// Plan computes the record sets of every app's names. It is pure: the
// same input gives the same plan, whatever the order of its zones, apps
// and members. A problem of one app (no zone, a name held by another
// app, no healthy member) is that app's DNSReady=False, never an error
// for the others.
func Plan(in Input) Result {
	zones := indexZones(in.Zones)
	ordered := make([]*App, len(in.Apps))
	for i := range in.Apps {
		ordered[i] = &in.Apps[i]
	}
	slices.SortFunc(ordered, func(a, b *App) int { return strings.Compare(a.Key, b.Key) })
	res := Result{Apps: make([]AppPlan, len(ordered))}
	apps := make([]appState, len(ordered))
	for i, a := range ordered {
		apps[i].in, apps[i].plan = a, &res.Apps[i]
		apps[i].locate(&zones)
	}
	grant(apps, in.Owners)

	n := 0
	for i := range apps {
		a := &apps[i]
		if a.plan.Reason == "" {
			a.answer()
		} else {
			a.refuseMembers()
		}
		n += len(a.plan.Records)
	}
	res.Records = make([]Record, 0, n)
	for i := range res.Apps {
		res.Records = append(res.Records, res.Apps[i].Records...)
	}
	slices.SortFunc(res.Records, compareRecords)
	return res
}

// compareRecords orders record sets by Key: name, type, set.
func compareRecords(a, b Record) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return strings.Compare(a.SetID, b.SetID)
}
