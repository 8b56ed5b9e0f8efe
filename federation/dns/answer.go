package dns

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// member is one Member as the planner reads it.
type member struct {
	in           *Member
	region, zone string // lower case
	// v4 and v6 are its addresses in canonical form, sorted, each once;
	// an entry that is no address is ignored.
	v4, v6 []string
	// host is its CNAME target: the least of its ingress hostnames, fully
	// qualified ("" when it has none).
	host string
	// out says why it can answer at no level ("" when it can).
	out string
	// used: the global name answers with it.
	used bool
}

func (m *member) hasAddress() bool { return len(m.v4)+len(m.v6) > 0 }

// readMembers reads the app's members, sorted by cluster: CNAME targets
// and the order of sets do not depend on the input's order.
func readMembers(in []Member) []member {
	ms := make([]member, len(in))
	for i := range in {
		ms[i] = readMember(&in[i])
	}
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.in.Cluster, b.in.Cluster) })
	return ms
}

func readMember(in *Member) member {
	m := member{in: in, region: strings.ToLower(in.Region), zone: strings.ToLower(in.Zone)}
	for _, s := range in.IPs {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		addr = addr.Unmap().WithZone("")
		if addr.Is4() {
			m.v4 = append(m.v4, canonical(s, addr))
		} else {
			m.v6 = append(m.v6, canonical(s, addr))
		}
	}
	// Sorting strings, not addresses: targets are sorted as strings
	// everywhere (Record.Targets), so that comparing two plans is
	// comparing slices.
	slices.Sort(m.v4)
	m.v4 = slices.Compact(m.v4)
	slices.Sort(m.v6)
	m.v6 = slices.Compact(m.v6)
	for _, h := range in.Hostnames {
		if h = fqdn(h); validName(h) && (m.host == "" || h < m.host) {
			m.host = h
		}
	}
	switch {
	case !in.Serving && in.Reason != "":
		m.out = in.Reason
	case !in.Serving:
		m.out = ReasonNotServing
	case !m.hasAddress() && m.host == "":
		m.out = ReasonNoAddress
	}
	return m
}

// canonical is addr as text, reusing s when it already is (an ingress
// address usually is: this spares an allocation per address).
func canonical(s string, addr netip.Addr) string {
	var buf [48]byte
	b := addr.AppendTo(buf[:0])
	if string(b) == s {
		return s
	}
	return string(b)
}

// answerMode is what a name answers with: the addresses of its members,
// or, when none has one, a CNAME to one member's hostname. A CNAME cannot
// share a name with any other record (RFC 1034 section 3.6.2), so a name
// never mixes the two.
type answerMode uint8

const (
	answerNone answerMode = iota
	answerAddresses
	answerHostname
)

func modeOf(ms []*member) answerMode {
	mode := answerNone
	for _, m := range ms {
		if m.hasAddress() {
			return answerAddresses
		}
		if m.host != "" {
			mode = answerHostname
		}
	}
	return mode
}

// set is what tells a weighted or geo record set apart; zero for plain
// DNS.
type set struct {
	id     string
	weight int32
	region string
}

// builder collects one app's record sets.
type builder struct {
	ttl     uint32
	records []Record
}

// group adds the record sets at name answering with ms (in mode), and
// marks the members answered with when mark is set.
func (b *builder) group(name string, ms []*member, mode answerMode, s set, mark bool) {
	rec := func(typ string, targets []string) {
		b.records = append(b.records, Record{Name: name, Type: typ, TTL: b.ttl, Targets: targets, SetID: s.id, Weight: s.weight, Region: s.region})
	}
	switch mode {
	case answerAddresses:
		if v4 := union(ms, func(m *member) []string { return m.v4 }); len(v4) > 0 {
			rec(TypeA, v4)
		}
		if v6 := union(ms, func(m *member) []string { return m.v6 }); len(v6) > 0 {
			rec(TypeAAAA, v6)
		}
		for _, m := range ms {
			m.used = m.used || (mark && m.hasAddress())
		}
	case answerHostname:
		// One CNAME target: the first member by cluster that has one.
		for _, m := range ms {
			if m.host != "" {
				rec(TypeCNAME, []string{m.host})
				m.used = m.used || mark
				break
			}
		}
	}
}

// union is the sorted, deduplicated addresses of ms; one member's slice
// is used as it is, clipped so that an append never writes into it.
func union(ms []*member, of func(*member) []string) []string {
	var out []string
	shared := true
	for _, m := range ms {
		a := of(m)
		switch {
		case len(a) == 0:
		case out == nil:
			out = slices.Clip(a)
		default:
			if shared {
				out = slices.Clone(out)
				shared = false
			}
			out = append(out, a...)
		}
	}
	if !shared {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}

// answer plans the records of an app that holds its names.
func (a *appState) answer() {
	a.plan.Name = a.levels[0].name
	ms := readMembers(a.in.Members)
	serving := make([]*member, 0, len(ms))
	for i := range ms {
		if ms[i].out == "" {
			serving = append(serving, &ms[i])
		}
	}
	strategy, unsupported := a.strategy()
	global, note := a.globalMembers(strategy, serving)
	if len(global) == 0 {
		a.plan.Reason, a.plan.Message = ReasonNoHealthyMember, noMemberMessage(a.in.Key, ms)
		if unsupported != "" {
			a.plan.Message += "; " + unsupported
		}
		a.setMembers(ms, global)
		return
	}
	b := builder{ttl: a.plan.TTL, records: make([]Record, 0, len(a.levels)+1)}
	mode := modeOf(global)
	name := a.levels[0].name
	switch strategy {
	case v1alpha1.DNSWeighted:
		w := weights(a.in.DNS.Weights, global)
		var nb strings.Builder
		nb.WriteString("Weighted")
		for i, m := range global {
			b.group(name, global[i:i+1], mode, set{id: m.in.Cluster, weight: w[i]}, true)
			fmt.Fprintf(&nb, " %s=%d", m.in.Cluster, w[i])
		}
		note = nb.String()
	case v1alpha1.DNSGeo:
		regions := regionsOf(global)
		for _, r := range regions {
			b.group(name, inPlace(global, r, ""), mode, set{id: r, region: r}, true)
		}
		b.group(name, global, mode, set{id: "default", region: "*"}, true)
		note = "Geo " + strings.Join(regions, ",") + " and default"
	default:
		b.group(name, global, mode, set{}, true)
	}
	for _, l := range a.levels[1:] {
		local := inPlace(serving, l.region, l.zone)
		if len(local) == 0 {
			b.records = append(b.records, Record{Name: l.name, Type: TypeCNAME, TTL: b.ttl, Targets: []string{a.levels[l.above].name}})
			continue
		}
		b.group(l.name, local, modeOf(local), set{}, false)
	}
	slices.SortFunc(b.records, compareRecords)
	a.plan.Records = b.records
	answers := nameAnswers(a.levels, b.records)
	a.plan.Names = slices.Clone(answers)
	slices.SortFunc(a.plan.Names, func(x, y NameAnswer) int { return strings.Compare(x.Name, y.Name) })
	a.setMembers(ms, global)
	a.plan.Ready, a.plan.Reason = true, ReasonAnswering
	a.plan.Message = answersMessage(answers, note, a.omitted)
	if unsupported != "" {
		a.plan.Ready, a.plan.Reason = false, ReasonStrategyUnsupported
		a.plan.Message = unsupported + "; answering as RoundRobin meanwhile: " + a.plan.Message
	}
}

// strategy is the strategy the app's names answer by, and, when the zone
// cannot express the one asked for, why (the names then answer as
// RoundRobin, so they keep working).
func (a *appState) strategy() (v1alpha1.DNSStrategy, string) {
	s, caps := a.in.DNS.Strategy, a.zone.Capabilities
	cannot := func(needs, setting string) string {
		return fmt.Sprintf("strategy %s needs a provider that answers %s; zone %q (%s) cannot: use RoundRobin or Failover, or a DNSZone of type externaldns with %s: true",
			s, needs, a.zone.Name, a.zone.Provider, setting)
	}
	switch s {
	case "", v1alpha1.DNSRoundRobin:
		return v1alpha1.DNSRoundRobin, ""
	case v1alpha1.DNSFailover:
		return s, ""
	case v1alpha1.DNSWeighted:
		if caps.Weighted {
			return s, ""
		}
		return v1alpha1.DNSRoundRobin, cannot("by weight", "weighted")
	case v1alpha1.DNSGeo:
		if caps.Geo {
			return s, ""
		}
		return v1alpha1.DNSRoundRobin, cannot("by the caller's region", "geo")
	}
	return v1alpha1.DNSRoundRobin, fmt.Sprintf("strategy %q is none of RoundRobin, Failover, Weighted, Geo", s)
}

// globalMembers are the members the global name answers with under the
// strategy, and for Failover a note on the choice, for the message. Region
// and zone names need no strategy: each answers with its own members.
func (a *appState) globalMembers(strategy v1alpha1.DNSStrategy, serving []*member) ([]*member, string) {
	if strategy != v1alpha1.DNSFailover {
		return serving, ""
	}
	for _, r := range a.in.PreferredRegions {
		if ms := inPlace(serving, strings.ToLower(r), ""); len(ms) > 0 {
			return ms, "Failover to preferred region " + strings.ToLower(r)
		}
	}
	if len(a.in.PreferredRegions) == 0 {
		return serving, "Failover without preferredRegions: every member"
	}
	return serving, "Failover: no preferred region serves, every member"
}

// inPlace are the members of ms in region (and zone, when not empty).
func inPlace(ms []*member, region, zone string) []*member {
	var out []*member
	for _, m := range ms {
		if m.region == region && (zone == "" || m.zone == zone) {
			out = append(out, m)
		}
	}
	return out
}

// regionsOf are the regions of ms, sorted, each once.
func regionsOf(ms []*member) []string {
	rs := make([]string, 0, len(ms))
	for _, m := range ms {
		rs = append(rs, m.region)
	}
	slices.Sort(rs)
	return slices.Compact(rs)
}

// maxWeight is the largest weight a weighted record set carries (Route53's
// and external-dns' range is 0-255).
const maxWeight = 255

// weights are the members' weights: the spec's entry for the cluster,
// else for its region, else the replicas placed on it, scaled down to
// 0-255 when some member has more, so that the shares stay in proportion.
func weights(spec []v1alpha1.DNSWeight, ms []*member) []int32 {
	w := make([]int32, len(ms))
	var most int64
	byReplicas := make([]bool, len(ms))
	for i, m := range ms {
		cluster, region := -1, -1
		for j, s := range spec {
			if s.Cluster != "" && s.Cluster == m.in.Cluster && cluster < 0 {
				cluster = j
			}
			if s.Region != "" && strings.ToLower(s.Region) == m.region && region < 0 {
				region = j
			}
		}
		switch {
		case cluster >= 0:
			w[i] = min(max(spec[cluster].Weight, 0), maxWeight)
		case region >= 0:
			w[i] = min(max(spec[region].Weight, 0), maxWeight)
		default:
			byReplicas[i] = true
			most = max(most, int64(m.in.Replicas))
		}
	}
	for i, m := range ms {
		if !byReplicas[i] {
			continue
		}
		r := max(int64(m.in.Replicas), 0)
		if most > maxWeight {
			// Round up, so that a member with replicas never weighs 0.
			r = (r*maxWeight + most - 1) / most
		}
		w[i] = int32(r)
	}
	return w
}

// setMembers says for each member whether the global name answers with
// it, and why not.
func (a *appState) setMembers(ms []member, global []*member) {
	a.plan.Members = make([]MemberAnswer, len(ms))
	for i := range ms {
		m := &ms[i]
		ans := MemberAnswer{Cluster: m.in.Cluster, Answering: m.used}
		switch {
		case m.used:
		case m.out != "":
			ans.Reason = m.out
		case slices.Contains(global, m):
			// A candidate left unused: its hostname could not share the
			// name with addresses, or with another member's CNAME.
			ans.Reason = ReasonHostnameIngress
		default:
			ans.Reason = ReasonNotPreferred
		}
		a.plan.Members[i] = ans
	}
}

// refuseMembers says, for an app that publishes nothing, that no member
// is answered with: its own reason, else the app's.
func (a *appState) refuseMembers() {
	ms := readMembers(a.in.Members)
	a.plan.Members = make([]MemberAnswer, len(ms))
	for i, m := range ms {
		reason := m.out
		if reason == "" {
			reason = a.plan.Reason
		}
		a.plan.Members[i] = MemberAnswer{Cluster: m.in.Cluster, Reason: reason}
	}
}
