package dns

import (
	"fmt"
	"slices"
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
		if i+1 == len(records) || i+1 < len(records) && records[i+1].Name != l.name {
			// One record set: its targets as they are (most names).
			r := &records[i]
			out = append(out, NameAnswer{Name: l.name, Type: r.Type, Targets: slices.Clip(r.Targets)})
			continue
		}
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
	const leftOut = "left out "
	m := capped{noun: "names"}
	size := 0
	for i, a := range answers {
		size += answerLen(a, i, note) + 2
	}
	for _, o := range omitted {
		size += len(leftOut) + len(o) + 2
	}
	m.b.Grow(min(size, maxMessage))
	for i, a := range answers {
		m.add(answerLen(a, i, note), func(b *strings.Builder) {
			b.WriteString(a.Name)
			b.WriteByte(' ')
			b.WriteString(a.Type)
			b.WriteByte(' ')
			for j, t := range a.Targets {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(t)
			}
			if i == 0 && note != "" {
				b.WriteString(" (")
				b.WriteString(note)
				b.WriteByte(')')
			}
		})
	}
	for _, o := range omitted {
		m.add(len(leftOut)+len(o), func(b *strings.Builder) {
			b.WriteString(leftOut)
			b.WriteString(o)
		})
	}
	return m.String()
}

// answerLen is the length of a's entry in answersMessage; the global
// name's (i == 0) carries the strategy's note.
func answerLen(a NameAnswer, i int, note string) int {
	n := len(a.Name) + len(a.Type) + 2 + max(len(a.Targets)-1, 0)
	for _, t := range a.Targets {
		n += len(t)
	}
	if i == 0 && note != "" {
		n += len(note) + 3
	}
	return n
}

// noMemberMessage says that no member can answer for the app, and why each
// is out.
func noMemberMessage(app string, ms []member) string {
	if len(ms) == 0 {
		return "no member serves " + app + ": it is placed on no cluster yet, so its names answer nothing"
	}
	const noAddress = " (its ingress has no address and no hostname)"
	m := capped{sep: ", ", noun: "members"}
	m.b.WriteString("no member serves " + app + ", so its names answer nothing: ")
	for i := range ms {
		x := &ms[i]
		n := len(x.in.Cluster) + 1 + len(x.out)
		if x.out == ReasonNoAddress {
			n += len(noAddress)
		}
		m.add(n, func(b *strings.Builder) {
			b.WriteString(x.in.Cluster)
			b.WriteByte(' ')
			b.WriteString(x.out)
			if x.out == ReasonNoAddress {
				b.WriteString(noAddress)
			}
		})
	}
	return m.String()
}

// capped builds a message of entries under maxMessage, ending in "... and
// N more names" when some do not fit.
type capped struct {
	b       strings.Builder
	sep     string // "; " when empty
	noun    string // what the entries are
	added   int
	dropped int
}

// add writes an entry of size bytes, unless it or an earlier one does not
// fit.
func (c *capped) add(size int, write func(*strings.Builder)) {
	// 32 bytes keep room for the "... and N more" tail.
	if c.dropped > 0 || c.b.Len()+len(c.separator())+size > maxMessage-32 {
		c.dropped++
		return
	}
	if c.added > 0 {
		c.b.WriteString(c.separator())
	}
	write(&c.b)
	c.added++
}

func (c *capped) separator() string {
	if c.sep == "" {
		return "; "
	}
	return c.sep
}

func (c *capped) String() string {
	if c.dropped > 0 {
		fmt.Fprintf(&c.b, "%s... and %d more %s", c.separator(), c.dropped, c.noun)
	}
	return c.b.String()
}
