package externaldns

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"

	"github.com/fnfleet/fnfleet/federation/dns"
)

// endpoint is one entry of a DNSEndpoint's spec.endpoints, as external-dns'
// endpoint.Endpoint marshals it (v0.23.0). It is declared here rather than
// imported: external-dns' module needs Go 1.27 and brings its providers'
// SDKs along.
type endpoint struct {
	DNSName          string            `json:"dnsName,omitempty"`
	Targets          []string          `json:"targets,omitempty"`
	RecordType       string            `json:"recordType,omitempty"`
	SetIdentifier    string            `json:"setIdentifier,omitempty"`
	RecordTTL        int64             `json:"recordTTL,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
	ProviderSpecific []property        `json:"providerSpecific,omitempty"`
}

type property struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// hashLen hex digits (40 bits) of SHA-256 tell apart names that read the
// same once made a valid object name (a.b.zone and a-b.zone); the
// annotation holding the full name catches the rest.
const hashLen = 10

// maxObjectName is the longest object name the apiserver takes (a DNS-1123
// subdomain).
const maxObjectName = 253

// ObjectName is the name of the DNSEndpoint that holds the record sets of
// unit, a name and its ownership name: ObjectName(dns.Group(name)) for
// the object holding the sets at name. It is unit (fully qualified,
// trailing dot) in lower-case letters, digits and dashes, cut to fit, and
// a hash of the whole unit name.
func ObjectName(name string) string {
	hash := shortHash(name)
	prefix := readable(strings.TrimSuffix(name, "."), maxObjectName-1-hashLen)
	if prefix == "" {
		return hash
	}
	return prefix + "-" + hash
}

// ZoneLabelValue is the value of ZoneLabel for zone: the zone without its
// trailing dot where that is a valid label value (up to 63 characters),
// else a readable prefix and a hash.
func ZoneLabelValue(zone string) string {
	v := strings.TrimSuffix(zone, ".")
	if len(content.IsLabelValue(v)) == 0 {
		return v
	}
	const maxLabelValue = 63
	prefix := readable(v, maxLabelValue-1-hashLen)
	if prefix == "" {
		return shortHash(zone)
	}
	return prefix + "-" + shortHash(zone)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:hashLen]
}

// readable keeps lower-case letters and digits, turns every run of anything
// else into one dash, and cuts the result to at most max bytes without a
// dash at either end.
func readable(s string, max int) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(c)
			continue
		}
		dash = true
	}
	out := b.String()
	if len(out) > max {
		out = out[:max]
	}
	return strings.Trim(out, "-")
}

// check says why the provider cannot write r, or nil.
func (p *Provider) check(r dns.Record) error {
	if err := p.inZone(r.Name); err != nil {
		return err
	}
	if len(r.Targets) == 0 {
		return fmt.Errorf("%s %s has no targets", r.Name, r.Type)
	}
	switch r.Type {
	case dns.TypeA, dns.TypeAAAA:
		family := "IPv6"
		if r.Type == dns.TypeA {
			family = "IPv4"
		}
		for _, t := range r.Targets {
			ip, err := netip.ParseAddr(t)
			if err != nil || ip.Is4() != (r.Type == dns.TypeA) || ip.Is4In6() || ip.Zone() != "" {
				return fmt.Errorf("%s %s: %q is not an %s address", r.Name, r.Type, t, family)
			}
		}
	case dns.TypeCNAME:
		if len(r.Targets) != 1 || !strings.HasSuffix(r.Targets[0], ".") {
			return fmt.Errorf("%s CNAME needs exactly one fully qualified target, got %q", r.Name, r.Targets)
		}
	case dns.TypeTXT:
		for _, t := range r.Targets {
			if err := checkTXT(t); err != nil {
				return fmt.Errorf("%s TXT: %w", r.Name, err)
			}
		}
	default:
		return fmt.Errorf("%s: record type %q is not one the fleet writes (A, AAAA, CNAME, TXT)", r.Name, r.Type)
	}
	switch {
	case r.SetID == "" && (r.Weight != 0 || r.Region != ""):
		return fmt.Errorf("%s %s: a weight or region needs a set identifier", r.Name, r.Type)
	case r.SetID == "":
		return nil
	case r.Region != "" && r.Weight != 0:
		return fmt.Errorf("%s %s set %s: a record set answers by weight or by region, not both", r.Name, r.Type, r.SetID)
	case r.Region != "":
		if !p.caps.Geo {
			return fmt.Errorf("%s %s set %s: the zone's provider does not answer by region; set geo in the DNSZone's externaldns block only when the provider behind external-dns does (Route53 geolocation)", r.Name, r.Type, r.SetID)
		}
		if _, ok := p.geo[r.Region]; !ok {
			return fmt.Errorf("%s %s set %s: region %q has no geolocation for the provider behind external-dns (externaldns.Config.GeoProperties, e.g. aws/geolocation-continent-code=EU): which callers a fleet region means is never guessed", r.Name, r.Type, r.SetID, r.Region)
		}
	default:
		if !p.caps.Weighted {
			return fmt.Errorf("%s %s set %s: the zone's provider does not answer by weight; set weighted in the DNSZone's externaldns block only when the provider behind external-dns does (Route53)", r.Name, r.Type, r.SetID)
		}
		if r.Weight < 0 || r.Weight > 255 {
			return fmt.Errorf("%s %s set %s: weight %d is outside 0-255", r.Name, r.Type, r.SetID, r.Weight)
		}
	}
	return nil
}

// maxTXTString is the most a TXT character-string holds (RFC 1035 3.3).
const maxTXTString = 255

// checkTXT refuses the TXT strings whose quoting external-dns' providers
// disagree on: bytes outside printable ASCII are escaped in decimal by RFC
// 1035 servers and in octal by Route53, and a DNSEndpoint cannot say which.
func checkTXT(s string) error {
	if len(s) > maxTXTString {
		return fmt.Errorf("a string of %d bytes is longer than %d", len(s), maxTXTString)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return fmt.Errorf("%q holds byte %#x: only printable ASCII is written", s, s[i])
		}
	}
	return nil
}

// endpointOf is r as external-dns reads it: the name without its trailing
// dot, a CNAME's target likewise (as external-dns' sources write them),
// each TXT string quoted (as RFC 1035 zone files and Route53 take it, and
// as external-dns' own TXT registry writes), and for a set identifier the
// provider-specific properties of the set's routing (see the package
// comment).
func (p *Provider) endpointOf(r dns.Record) endpoint {
	ep := endpoint{
		DNSName:       strings.TrimSuffix(r.Name, "."),
		RecordType:    r.Type,
		RecordTTL:     int64(r.TTL),
		SetIdentifier: r.SetID,
		Targets:       make([]string, len(r.Targets)),
	}
	for i, t := range r.Targets {
		switch r.Type {
		case dns.TypeCNAME:
			t = strings.TrimSuffix(t, ".")
		case dns.TypeTXT:
			t = quoteTXT(t)
		}
		ep.Targets[i] = t
	}
	switch {
	case r.SetID == "":
	case r.Region != "":
		ep.ProviderSpecific = append(ep.ProviderSpecific, property{Name: RegionProperty, Value: r.Region})
		for name, value := range p.geo[r.Region] {
			ep.ProviderSpecific = append(ep.ProviderSpecific, property{Name: name, Value: value})
		}
		slices.SortFunc(ep.ProviderSpecific, func(a, b property) int { return cmp.Compare(a.Name, b.Name) })
	default:
		ep.ProviderSpecific = []property{{Name: WeightProperty, Value: strconv.Itoa(int(r.Weight))}}
	}
	return ep
}

// recordOf reads ep back as a record set; ok is false for the record types
// the fleet does not write, which it leaves alone.
func (p *Provider) recordOf(ep endpoint) (r dns.Record, ok bool, err error) {
	r = dns.Record{
		Name:  canonical(ep.DNSName),
		Type:  ep.RecordType,
		SetID: ep.SetIdentifier,
	}
	switch r.Type {
	case dns.TypeA, dns.TypeAAAA, dns.TypeCNAME, dns.TypeTXT:
	default:
		return dns.Record{}, false, nil
	}
	if ep.RecordTTL < 0 || ep.RecordTTL > math.MaxUint32 {
		return dns.Record{}, false, fmt.Errorf("%s %s: recordTTL %d is out of range", r.Name, r.Type, ep.RecordTTL)
	}
	r.TTL = uint32(ep.RecordTTL)
	for _, t := range ep.Targets {
		switch r.Type {
		case dns.TypeCNAME:
			t = canonical(t)
		case dns.TypeTXT:
			t = unquoteTXT(t)
		}
		r.Targets = append(r.Targets, t)
	}
	slices.Sort(r.Targets)
	location := map[string]string{}
	for _, prop := range ep.ProviderSpecific {
		switch prop.Name {
		case WeightProperty:
			w, err := strconv.ParseInt(prop.Value, 10, 32)
			if err != nil {
				return dns.Record{}, false, fmt.Errorf("%s %s set %s: %s %q is not a number", r.Name, r.Type, r.SetID, WeightProperty, prop.Value)
			}
			r.Weight = int32(w)
		case RegionProperty:
			r.Region = prop.Value
		default:
			location[prop.Name] = prop.Value
		}
	}
	// A Geo set written before its region's location was configured
	// otherwise reads back without its region: it no longer equals the
	// planned set, and the registry rewrites it with the location now
	// configured.
	if r.Region != "" && !maps.Equal(location, p.geo[r.Region]) {
		r.Region = ""
	}
	return r, true, nil
}

// canonical is a DNS name as the contract spells it: lower case, trailing
// dot.
func canonical(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, ".")) + "."
}

// quoteTXT writes s as one quoted character-string; checkTXT has made sure
// only '"' and '\' need escaping, which every provider escapes the same way.
func quoteTXT(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// unquoteTXT reads what quoteTXT wrote; a target written by hand without
// quotes (as external-dns' docs show TXT targets) is taken as it is.
func unquoteTXT(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
