package rfc2136

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	fleetdns "github.com/fnfleet/fnfleet/federation/dns"
)

const (
	// maxUpdateBytes bounds an update message before compression: a DNS
	// message over TCP holds 65,535 bytes, less the TSIG record (~100).
	maxUpdateBytes = 60_000
	// tsigFudge is the clock skew the server tolerates between signing
	// and checking, in seconds (RFC 8945 recommends 300).
	tsigFudge = 300
)

// unitUpdate is what one update message carries for one unit, a name and
// its ownership name (fleetdns.Group): their prerequisites and updates,
// kept together so that the unit's changes are applied all or not at all.
// Sent apart, an ownership TXT created at _fnfleet.X while the Create at X
// failed on a foreign A would make the registry take that A for its own.
type unitUpdate struct {
	// names are the unit's names the changes touch, sorted.
	names []string
	// frag holds the unit's prerequisites (Answer) and updates (Ns).
	frag *dns.Msg
}

// Apply writes the changes in update messages of up to BatchNames units
// (a name and its ownership name), each change guarded by a prerequisite
// (RFC 2136 2.4): a Create holds only if the name has no record set of
// that type, an Update or Delete only if the set is exactly its Old
// records. A server applies a message all or nothing, so when a message's
// prerequisites fail, its units are sent again one a message to find
// which failed; the error then is a *fleetdns.ConflictError naming every
// name of those units, the rest written.
func (p *Provider) Apply(ctx context.Context, changes fleetdns.Changes) error {
	updates, err := p.updatesByUnit(changes)
	if err != nil {
		return err
	}
	var conflicts []string
	for _, batch := range p.batches(updates) {
		failed, err := p.send(ctx, batch)
		if err != nil {
			return err
		}
		if !failed {
			continue
		}
		if len(batch) == 1 {
			conflicts = append(conflicts, batch[0].names...)
			continue
		}
		p.log.Info("prerequisites failed in a batch: sending its units one by one to find which", "units", len(batch))
		for _, u := range batch {
			failed, err := p.send(ctx, []unitUpdate{u})
			if err != nil {
				return err
			}
			if failed {
				conflicts = append(conflicts, u.names...)
			}
		}
	}
	if len(conflicts) > 0 {
		slices.Sort(conflicts)
		p.log.Info("records changed by another writer: left alone", "names", conflicts)
		return &fleetdns.ConflictError{Names: conflicts}
	}
	return nil
}

// updatesByUnit turns the changes into each unit's prerequisites and
// updates, sorted by the unit's name.
func (p *Provider) updatesByUnit(c fleetdns.Changes) ([]unitUpdate, error) {
	byName := map[string]map[string]change{}
	add := func(ch change) error {
		r := ch.record()
		if r.SetID != "" || r.Weight != 0 || r.Region != "" {
			return fmt.Errorf("rfc2136: %s %s is a weighted or geo record set (%q): plain DNS cannot express it", r.Name, r.Type, r.SetID)
		}
		if _, err := rrtypeOf(*r); err != nil {
			return err
		}
		name, err := p.inZone(r.Name)
		if err != nil {
			return err
		}
		if ch.old != nil && ch.new != nil && ch.old.Key() != ch.new.Key() {
			return fmt.Errorf("rfc2136: an update turns %s %s into %s %s: delete the one and create the other", ch.old.Name, ch.old.Type, ch.new.Name, ch.new.Type)
		}
		if byName[name] == nil {
			byName[name] = map[string]change{}
		}
		if _, dup := byName[name][r.Type]; dup {
			return fmt.Errorf("rfc2136: more than one change of %s %s", name, r.Type)
		}
		byName[name][r.Type] = ch
		return nil
	}
	for i := range c.Create {
		if err := add(change{new: &c.Create[i]}); err != nil {
			return nil, err
		}
	}
	for i := range c.Update {
		if err := add(change{old: &c.Update[i].Old, new: &c.Update[i].New}); err != nil {
			return nil, err
		}
	}
	for i := range c.Delete {
		if err := add(change{old: &c.Delete[i]}); err != nil {
			return nil, err
		}
	}
	// By unit, then by name: a unit's names are next to each other.
	names := slices.SortedFunc(maps.Keys(byName), func(a, b string) int {
		return cmp.Or(strings.Compare(fleetdns.Group(a), fleetdns.Group(b)), strings.Compare(a, b))
	})
	var out []unitUpdate
	for _, name := range names {
		frag, err := p.fragment(name, byName[name])
		if err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || fleetdns.Group(out[n-1].names[0]) != fleetdns.Group(name) {
			out = append(out, unitUpdate{frag: new(dns.Msg)})
		}
		u := &out[len(out)-1]
		u.names = append(u.names, name)
		u.frag.Answer = append(u.frag.Answer, frag.Answer...)
		u.frag.Ns = append(u.frag.Ns, frag.Ns...)
	}
	return out, nil
}

// change is one record set's change: Create (no old), Update, or Delete
// (no new).
type change struct {
	old, new *fleetdns.Record
}

func (c change) record() *fleetdns.Record {
	if c.new != nil {
		return c.new
	}
	return c.old
}

// fragment is one name's part of an update message: its prerequisites
// (Answer) and updates (Ns), by type of record set changed.
func (p *Provider) fragment(name string, changes map[string]change) (*dns.Msg, error) {
	frag := new(dns.Msg)
	frag.SetUpdate(p.zone)
	var removes, inserts []dns.RR
	// kept: the types the name holds after the changes.
	var kept []string
	// readTypes' fixed order: same changes, same message.
	for _, t := range readTypes {
		ch, ok := changes[t]
		if !ok {
			continue
		}
		rrset := []dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: types[t]}}}
		if ch.old == nil {
			frag.RRsetNotUsed(rrset) // RFC 2136 2.4.3: RRset does not exist
		} else {
			old, err := rrs(*ch.old, 0)
			if err != nil {
				return nil, err
			}
			frag.Used(old) // RFC 2136 2.4.2: RRset exists, exactly these records
			removes = append(removes, rrset...)
		}
		if ch.new != nil {
			n, err := rrs(*ch.new, ch.new.TTL)
			if err != nil {
				return nil, err
			}
			inserts = append(inserts, n...)
			kept = append(kept, t)
		}
	}
	// A CNAME cannot share its name (RFC 1034 3.6.2), and BIND answers
	// success to an update that would make it share while ignoring the
	// record added. So the types a name keeps also require the other
	// side's absence: a foreign record there is then a conflict, not a
	// write that silently did not happen.
	var excluded []string
	switch {
	case slices.Contains(kept, fleetdns.TypeCNAME) && len(kept) > 1:
		return nil, fmt.Errorf("rfc2136: the changes leave a CNAME beside other records at %s (RFC 1034 3.6.2)", name)
	case slices.Contains(kept, fleetdns.TypeCNAME):
		excluded = []string{fleetdns.TypeA, fleetdns.TypeAAAA, fleetdns.TypeTXT}
	case len(kept) > 0:
		excluded = []string{fleetdns.TypeCNAME}
	}
	for _, t := range excluded {
		if _, changed := changes[t]; !changed {
			frag.RRsetNotUsed([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: types[t]}}})
		}
	}
	// Removals first (RFC 2136 3.4.2 applies updates in order): a name
	// going from A to CNAME must lose its A before it may take the CNAME.
	frag.RemoveRRset(removes)
	frag.Insert(inserts)
	return frag, nil
}

// batches groups the units' updates into messages of at most batchNames
// units and maxUpdateBytes; a unit is never split.
func (p *Provider) batches(updates []unitUpdate) [][]unitUpdate {
	var out [][]unitUpdate
	var batch []unitUpdate
	size := 0
	for _, u := range updates {
		n := u.frag.Len()
		if len(batch) > 0 && (len(batch) == p.batchNames || size+n > maxUpdateBytes) {
			out = append(out, batch)
			batch, size = nil, 0
		}
		batch = append(batch, u)
		size += n
	}
	if len(batch) > 0 {
		out = append(out, batch)
	}
	return out
}

// send sends one signed update message carrying the batch's units and
// reports whether its prerequisites failed (nothing written). Any other
// answer than success is an error.
func (p *Provider) send(ctx context.Context, batch []unitUpdate) (prereqFailed bool, err error) {
	m := new(dns.Msg)
	m.SetUpdate(p.zone)
	for _, u := range batch {
		m.Answer = append(m.Answer, u.frag.Answer...)
		m.Ns = append(m.Ns, u.frag.Ns...)
	}
	m.SetTsig(p.keyFQDN, p.algorithm, tsigFudge, time.Now().Unix())
	p.updates.Add(1)
	r, _, err := p.client.ExchangeContext(ctx, m, p.server)
	if r == nil {
		return false, fmt.Errorf("rfc2136: send the update of %s to %s: %w (what was written is unknown)", describe(batch), p.server, err)
	}
	p.log.Debug("update", "units", len(batch), "first", batch[0].names[0], "rcode", dns.RcodeToString[r.Rcode])
	switch r.Rcode {
	case dns.RcodeSuccess:
		if err != nil {
			// The server says it wrote, but its answer does not carry
			// our key's signature.
			return false, fmt.Errorf("rfc2136: the answer of %s to the update of %s failed its check: %w (the update may be written)", p.server, describe(batch), err)
		}
		return false, nil
	case dns.RcodeNXRrset, dns.RcodeYXRrset, dns.RcodeNameError, dns.RcodeYXDomain:
		return true, nil
	case dns.RcodeNotAuth, dns.RcodeRefused:
		// NOTAUTH with a TSIG error: the key is unknown (BADKEY), the
		// secret or algorithm wrong (BADSIG) or the clocks apart
		// (BADTIME). REFUSED: the key is not granted updates there.
		why := dns.RcodeToString[r.Rcode]
		if t := r.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
			why = dns.RcodeToString[int(t.Error)]
		} else if r.Rcode == dns.RcodeNotAuth {
			return false, fmt.Errorf("rfc2136: %s is not authoritative for zone %s (NOTAUTH): check the server address and zone", p.server, p.zone)
		}
		return false, fmt.Errorf("rfc2136: TSIG key %s %w by %s (%s) for zone %s: check tsigKeyName, tsigAlgorithm and the secret, and that the server grants the key updates in the zone; this update was not written",
			p.keyName, ErrRefused, p.server, why, p.zone)
	default:
		return false, fmt.Errorf("rfc2136: %s answered %s to the update of %s in zone %s: check that it is the zone's primary server and its log",
			p.server, dns.RcodeToString[r.Rcode], describe(batch), p.zone)
	}
}

// describe names a batch in messages: "100 units (a.fleet.test. ...)".
func describe(batch []unitUpdate) string {
	if len(batch) == 1 {
		return strings.Join(batch[0].names, " and ")
	}
	return fmt.Sprintf("%d units (%s ...)", len(batch), batch[0].names[0])
}
