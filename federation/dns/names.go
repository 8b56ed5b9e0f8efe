package dns

import (
	"slices"
	"strings"
)

// DNS limits (RFC 1035 section 2.3.4): a name of 255 octets on the wire is
// 253 characters of text without the trailing dot; a label holds 63.
const (
	maxName  = 253
	maxLabel = 63
)

// zoneIndex finds the zone a name lies in by walking the name's suffixes,
// one map lookup per label, instead of trying every zone: the first hit is
// the longest zone, which is the one that holds the name when zones nest
// (the parent delegates the child's names away).
type zoneIndex struct {
	byDomain map[string]*Zone
	// parents are the domains with another zone inside them: only names
	// of those zones can fall into a child zone, so only they are looked
	// up again.
	parents map[string]bool
	// sorted by domain, then name, for messages and for a deterministic
	// choice when two DNSZones name one domain (the first by name wins).
	sorted []*Zone
}

func indexZones(in []Zone) zoneIndex {
	x := zoneIndex{byDomain: make(map[string]*Zone, len(in)), parents: map[string]bool{}, sorted: make([]*Zone, len(in))}
	zones := make([]Zone, len(in))
	for i, z := range in {
		z.Domain = fqdn(z.Domain)
		zones[i] = z
		x.sorted[i] = &zones[i]
	}
	slices.SortFunc(x.sorted, func(a, b *Zone) int {
		if c := strings.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, z := range x.sorted {
		if _, dup := x.byDomain[z.Domain]; !dup {
			x.byDomain[z.Domain] = z
		}
	}
	for d := range x.byDomain {
		for s := parentDomain(d); s != ""; s = parentDomain(s) {
			if x.byDomain[s] != nil {
				x.parents[s] = true
			}
		}
	}
	return x
}

// find returns the longest zone that name (fully qualified) ends in at a
// label boundary, or nil.
func (x *zoneIndex) find(name string) *Zone {
	for s := name; s != ""; s = parentDomain(s) {
		if z := x.byDomain[s]; z != nil {
			return z
		}
	}
	return nil
}

// parentDomain strips name's first label: "a.b." -> "b.", "b." -> ".",
// "." -> "".
func parentDomain(name string) string {
	if name == "." || name == "" {
		return ""
	}
	i := strings.IndexByte(name, '.')
	if i == len(name)-1 {
		return "."
	}
	return name[i+1:]
}

// relative is name without its zone's domain ("hello" for
// hello.fleet.example.com. in fleet.example.com.); "" for the apex.
func relative(name, domain string) string {
	if domain == "." {
		return strings.TrimSuffix(name, ".")
	}
	return strings.TrimSuffix(strings.TrimSuffix(name, domain), ".")
}

// fqdn is name in lower case with its trailing dot, the form every name in
// a plan has (DNS compares names case-insensitively; providers and the
// ownership registry compare strings).
func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// validLabel reports whether l can be one label of a name: 1 to 63 letters,
// digits, '-' or '_' (no dot: a region "a.b" would make two labels, and
// its names could then collide with another level's).
func validLabel(l string) bool {
	if l == "" || len(l) > maxLabel {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// validName reports whether every label of the fully qualified name is
// valid and the whole fits 253 characters.
func validName(name string) bool {
	if len(name)-1 > maxName {
		return false
	}
	for rest := strings.TrimSuffix(name, "."); ; {
		l, after, more := strings.Cut(rest, ".")
		if !validLabel(l) {
			return false
		}
		if !more {
			return true
		}
		rest = after
	}
}

// levelName is rel.<labels...>.domain, e.g. hello.us-east.fleet.example.com.
func levelName(rel, domain string, labels ...string) string {
	n := len(rel) + len(domain) + 1
	for _, l := range labels {
		n += len(l) + 1
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(rel)
	for _, l := range labels {
		b.WriteByte('.')
		b.WriteString(l)
	}
	if domain != "." {
		b.WriteByte('.')
	}
	b.WriteString(domain)
	return b.String()
}
