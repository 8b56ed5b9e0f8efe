package rfc2136

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	fleetdns "github.com/fnfleet/fnfleet/federation/dns"
)

// types are the record types the fleet writes, by wire code.
var types = map[string]uint16{
	fleetdns.TypeA:     dns.TypeA,
	fleetdns.TypeAAAA:  dns.TypeAAAA,
	fleetdns.TypeCNAME: dns.TypeCNAME,
	fleetdns.TypeTXT:   dns.TypeTXT,
}

// rrtypeOf is the wire type of r's type, if the fleet writes that type.
func rrtypeOf(r fleetdns.Record) (uint16, error) {
	t, ok := types[r.Type]
	if !ok {
		return 0, fmt.Errorf("rfc2136: %s: type %q is not one the fleet writes (A, AAAA, CNAME, TXT)", r.Name, r.Type)
	}
	return t, nil
}

// txtChunk is the most bytes one character-string of a TXT record holds
// (RFC 1035 3.3.14: a length byte, then the bytes).
const txtChunk = 255

// rrs are the records of set r as class IN records with the given TTL
// (0 in a prerequisite).
func rrs(r fleetdns.Record, ttl uint32) ([]dns.RR, error) {
	rrtype, err := rrtypeOf(r)
	if err != nil {
		return nil, err
	}
	if len(r.Targets) == 0 {
		return nil, fmt.Errorf("rfc2136: %s %s has no targets", r.Name, r.Type)
	}
	if r.Type == fleetdns.TypeCNAME && len(r.Targets) > 1 {
		return nil, fmt.Errorf("rfc2136: %s CNAME has %d targets; a name has at most one (RFC 1034)", r.Name, len(r.Targets))
	}
	out := make([]dns.RR, 0, len(r.Targets))
	for _, target := range r.Targets {
		hdr := dns.RR_Header{Name: r.Name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
		rr, err := rrOf(hdr, target)
		if err != nil {
			return nil, fmt.Errorf("rfc2136: %s %s target %q: %w", r.Name, r.Type, target, err)
		}
		out = append(out, rr)
	}
	return out, nil
}

func rrOf(hdr dns.RR_Header, target string) (dns.RR, error) {
	switch hdr.Rrtype {
	case dns.TypeA:
		addr, err := netip.ParseAddr(target)
		if err != nil || !addr.Is4() {
			return nil, errors.New("not an IPv4 address")
		}
		return &dns.A{Hdr: hdr, A: addr.AsSlice()}, nil
	case dns.TypeAAAA:
		addr, err := netip.ParseAddr(target)
		if err != nil || !addr.Is6() || addr.Is4In6() || addr.Zone() != "" {
			return nil, errors.New("not an IPv6 address")
		}
		return &dns.AAAA{Hdr: hdr, AAAA: addr.AsSlice()}, nil
	case dns.TypeCNAME:
		if _, ok := dns.IsDomainName(target); !ok || !dns.IsFqdn(target) {
			return nil, errors.New("not a fully qualified name")
		}
		return &dns.CNAME{Hdr: hdr, Target: strings.ToLower(target)}, nil
	default: // TXT
		return &dns.TXT{Hdr: hdr, Txt: txtStrings(target)}, nil
	}
}

// target is rr's data as a Record target: an address as netip prints it,
// a CNAME's target lower-cased, a TXT record's strings joined.
func target(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.A:
		a, _ := netip.AddrFromSlice(v.A.To4())
		return a.String()
	case *dns.AAAA:
		a, _ := netip.AddrFromSlice(v.AAAA)
		return a.String()
	case *dns.CNAME:
		return strings.ToLower(v.Target)
	case *dns.TXT:
		var b strings.Builder
		for _, s := range v.Txt {
			b.WriteString(txtUnescape(s))
		}
		return b.String()
	}
	return rr.String()
}

// txtStrings splits a TXT target into character-strings of at most 255
// bytes, in miekg/dns's form, where a backslash starts an escape.
func txtStrings(target string) []string {
	var out []string
	for len(target) > txtChunk {
		out = append(out, strings.ReplaceAll(target[:txtChunk], `\`, `\\`))
		target = target[txtChunk:]
	}
	return append(out, strings.ReplaceAll(target, `\`, `\\`))
}

// txtUnescape undoes the escapes miekg/dns puts into a TXT string it
// reads: \X for a quote or backslash, \DDD for an unprintable byte.
func txtUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			b.WriteByte((s[i+1]-'0')*100 + (s[i+2]-'0')*10 + (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
