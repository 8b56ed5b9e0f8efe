package dns

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// appState is one app while it is planned.
type appState struct {
	in *App
	// plan is the app's entry in the Result, filled in place.
	plan *AppPlan
	zone *Zone
	// levels are the names the app claims, global first, then each
	// region followed by its zones, in order: the order the message lists
	// them in. Names in one app never repeat: global, region and zone
	// names have 0, 1 and 2 labels between the hostname's relative part
	// and the zone, and a region or zone is one label.
	levels []level
	// omitted says which names were left out, and why.
	omitted []string
}

// level is one of an app's names.
type level struct {
	kind         v1alpha1.DNSLevel
	name         string
	region, zone string
	// above is the index in levels of the name an empty level's CNAME
	// points to (-1 for the global name): the region's name, or the
	// global name when the region level is off or left out.
	above int
}

// fail makes the app publish nothing, for reason.
func (a *appState) fail(reason, message string) {
	a.plan.Reason, a.plan.Message = reason, message
	a.levels = nil
}

// locate finds the app's zone and the names it claims.
func (a *appState) locate(zones *zoneIndex) {
	a.plan.App = a.in.Key
	host := fqdn(a.in.DNS.Hostname)
	if !validName(host) {
		a.fail(ReasonInvalidHostname, fmt.Sprintf("hostname %q is not a DNS name: labels of 1-63 letters, digits, '-' or '_', at most 253 characters in all", a.in.DNS.Hostname))
		return
	}
	z := zones.find(host)
	if z == nil {
		a.fail(ReasonNoZone, noZoneMessage(host, zones.sorted))
		return
	}
	a.zone = z
	a.plan.Zone = z.Name
	a.plan.TTL = z.TTL
	if a.in.DNS.TTL > 0 {
		a.plan.TTL = uint32(a.in.DNS.TTL)
	}
	if host == z.Domain {
		a.fail(ReasonZoneApex, fmt.Sprintf("hostname %s is the apex of DNSZone %q, which holds the zone's SOA and NS records and cannot also hold a CNAME: choose a name inside it, e.g. hello.%s", host, z.Name, z.Domain))
		return
	}
	regionOn, zoneOn := levelsOn(a.in.DNS.Levels)
	if !regionOn && !zoneOn {
		a.levels = []level{{kind: v1alpha1.DNSGlobal, name: host, above: -1}}
		return
	}
	places := make([]place, 0, len(a.in.Members))
	for i := range a.in.Members {
		m := &a.in.Members[i]
		if m.Region != "" {
			places = append(places, place{strings.ToLower(m.Region), strings.ToLower(m.Zone)})
		}
	}
	slices.SortFunc(places, comparePlaces)
	places = slices.Compact(places)
	// At most a region and a zone name per place.
	a.levels = make([]level, 1, 1+2*len(places))
	a.levels[0] = level{kind: v1alpha1.DNSGlobal, name: host, above: -1}
	rel := relative(host, z.Domain)
	regionAt := -1
	for i, p := range places {
		newRegion := i == 0 || places[i-1].region != p.region
		if !validLabel(p.region) {
			if newRegion {
				a.omitted = append(a.omitted, fmt.Sprintf("region %q's names: the region is not a DNS label", p.region))
			}
			continue
		}
		if newRegion {
			regionAt = 0
			if regionOn {
				regionAt = a.addLevel(zones, level{kind: v1alpha1.DNSRegion, name: levelName(rel, z.Domain, p.region), region: p.region})
			}
		}
		if !zoneOn || p.zone == "" {
			continue
		}
		if !validLabel(p.zone) {
			a.omitted = append(a.omitted, fmt.Sprintf("zone %q's name in region %s: the zone is not a DNS label", p.zone, p.region))
			continue
		}
		a.addLevel(zones, level{kind: v1alpha1.DNSZoneLevel, name: levelName(rel, z.Domain, p.zone, p.region), region: p.region, zone: p.zone, above: regionAt})
	}
}

// addLevel adds l to the app's names unless DNS cannot hold it there, and
// returns its index (0, the global name's, when it is left out, so that
// the levels below point there instead).
func (a *appState) addLevel(zones *zoneIndex, l level) int {
	if len(l.name)-1 > maxName {
		a.omitted = append(a.omitted, fmt.Sprintf("%s: longer than %d characters", l.name, maxName))
		return 0
	}
	// A name inside a child zone is served by that zone's servers: written
	// into the parent, it would never be answered.
	if zones.parents[a.zone.Domain] {
		if in := zones.find(l.name); in != a.zone {
			a.omitted = append(a.omitted, fmt.Sprintf("%s: inside DNSZone %q (%s), not %q", l.name, in.Name, in.Domain, a.zone.Name))
			return 0
		}
	}
	a.levels = append(a.levels, l)
	return len(a.levels) - 1
}

// place is a member's region and zone, lower case.
type place struct{ region, zone string }

func comparePlaces(a, b place) int {
	if c := strings.Compare(a.region, b.region); c != 0 {
		return c
	}
	return strings.Compare(a.zone, b.zone)
}

// levelsOn says whether the region and zone levels are on; an empty list
// means every level (the API's default). The global level is always on:
// the hostname is the app's name.
func levelsOn(levels []v1alpha1.DNSLevel) (region, zone bool) {
	if len(levels) == 0 {
		return true, true
	}
	return slices.Contains(levels, v1alpha1.DNSRegion), slices.Contains(levels, v1alpha1.DNSZoneLevel)
}

// noZoneMessage names the hostname and the zones there are.
func noZoneMessage(host string, zones []*Zone) string {
	if len(zones) == 0 {
		return fmt.Sprintf("hostname %s lies in no DNSZone, and there is none: create a DNSZone for its domain", host)
	}
	// 20 zones keep the message readable; a fleet with more lists them
	// with kubectl get dnszones.
	const shown = 20
	var b strings.Builder
	fmt.Fprintf(&b, "hostname %s lies in no DNSZone (there are ", host)
	for i, z := range zones {
		if i == shown {
			fmt.Fprintf(&b, " and %d more", len(zones)-shown)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q %s", z.Name, z.Domain)
	}
	b.WriteString("): choose a hostname inside one of them, or create a DNSZone for its domain")
	return b.String()
}
