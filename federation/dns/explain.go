package dns

import (
	"slices"
	"strconv"
	"strings"
)

// maxMessage bounds a DNSReady message. The API allows 32 KiB, but the
// message is read in kubectl describe, and 10,000 apps' statuses are read
// on every list: 4 KiB holds about 50 names.
const maxMessage = 4096

// nameAnswers say what each of the app's names answers, in the levels'
// order; records are the app's, sorted.
func nameAnswers(levels []level, records []Record) []NameAnswer {
	out := make([]NameAnswer, 0, len(levels))
	for _, l := range levels {
		i, _ := slices.BinarySearchFunc(records, l.name, func(r Record, name string) int { return strings.Compare(r.Name, name) })
		var a, aaaa, cname []string
		sets := false
		for ; i < len(records) && records[i].Name == l.name; i++ {
			r := &records[i]
			switch r.Type {
			case TypeA:
				a = append(a, r.Targets...)
			case TypeAAAA:
				aaaa = append(aaaa, r.Targets...)
			case TypeCNAME:
				cname = append(cname, r.Targets...)
			}
			sets = sets || r.SetID != ""
		}
		if sets {
			// Weighted and geo sets may repeat a member (geo's default
			// set holds them all).
			slices.Sort(a)
			a = slices.Compact(a)
			slices.Sort(aaaa)
			aaaa = slices.Compact(aaaa)
			slices.Sort(cname)
			cname = slices.Compact(cname)
		}
		ans := NameAnswer{Name: l.name}
		switch {
		case len(cname) > 0:
			ans.Type, ans.Targets = TypeCNAME, cname
		case len(a) > 0 && len(aaaa) > 0:
			ans.Type, ans.Targets = TypeA+"+"+TypeAAAA, append(a, aaaa...)
		case len(a) > 0:
			ans.Type, ans.Targets = TypeA, a
		default:
			ans.Type, ans.Targets = TypeAAAA, aaaa
		}
		out = append(out, ans)
	}
	return out
}

// answersMessage lists each name and what it answers, global first, e.g.
// "hello.fleet.example.com. A 127.0.1.1,127.0.1.2; hello.eu-west.fleet.example.com.
// CNAME hello.fleet.example.com.", then the names left out and why.
func answersMessage(answers []NameAnswer, note string, omitted []string) string {
	m := capped{b: make([]byte, 0, 128*len(answers)), noun: "names"}
	for i, a := range answers {
		m.add(func(b []byte) []byte {
			b = append(b, a.Name...)
			b = append(b, ' ')
			b = append(b, a.Type...)
			b = append(b, ' ')
			for j, t := range a.Targets {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, t...)
			}
			if i == 0 && note != "" {
				b = append(b, " ("...)
				b = append(b, note...)
				b = append(b, ')')
			}
			return b
		})
	}
	for _, o := range omitted {
		m.add(func(b []byte) []byte { return append(append(b, "left out "...), o...) })
	}
	return m.String()
}

// noMemberMessage says that no member can answer for the app, and why each
// is out.
func noMemberMessage(app string, ms []member) string {
	if len(ms) == 0 {
		return "no member serves " + app + ": it is placed on no cluster yet, so its names answer nothing"
	}
	m := capped{b: append(make([]byte, 0, 64+32*len(ms)), "no member serves "+app+", so its names answer nothing: "...)}
	m.sep, m.noun, m.mark = ", ", "members", len(m.b)
	for i := range ms {
		x := &ms[i]
		m.add(func(b []byte) []byte {
			b = append(append(append(b, x.in.Cluster...), ' '), x.out...)
			if x.out == ReasonNoAddress {
				b = append(b, " (its ingress has no address and no hostname)"...)
			}
			return b
		})
	}
	return m.String()
}

// capped builds a message of entries under maxMessage, ending in "... and
// N more names" when some do not fit.
type capped struct {
	b []byte
	// mark is where the first entry starts (no separator before it).
	mark    int
	sep     string // "; " when empty
	noun    string // what the entries are
	dropped int
}

func (c *capped) add(entry func([]byte) []byte) {
	if c.dropped > 0 {
		c.dropped++
		return
	}
	before := len(c.b)
	if before > c.mark {
		c.b = append(c.b, c.separator()...)
	}
	c.b = entry(c.b)
	// 32 bytes keep room for the "... and N more" tail.
	if len(c.b) > maxMessage-32 {
		c.b = c.b[:before]
		c.dropped = 1
	}
}

func (c *capped) separator() string {
	if c.sep == "" {
		return "; "
	}
	return c.sep
}

func (c *capped) String() string {
	if c.dropped > 0 {
		c.b = append(c.b, c.separator()...)
		c.b = append(c.b, "... and "...)
		c.b = strconv.AppendInt(c.b, int64(c.dropped), 10)
		c.b = append(append(c.b, " more "...), c.noun...)
	}
	return string(c.b)
}
