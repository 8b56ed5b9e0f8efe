package dns

import (
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

// Plan computes the record sets of every app's names. It is pure: the
// same input gives the same plan.
func Plan(in Input) Result {
	_ = in
	return Result{}
}
