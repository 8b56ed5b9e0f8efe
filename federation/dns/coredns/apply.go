package coredns

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fnfleet/fnfleet/federation/dns"
)

// Apply writes changes as the package comment says: one read and, for
// units still as expected, as few guarded transactions as etcd's limit of
// 128 operations allows, per 64 names. A unit is a name and its ownership
// name (dns.Group): it is read in one batch, planned as a whole (it holds
// only if every name of it does) and written in one transaction, so an
// ownership record is never written beside another writer's records.
func (p *Provider) Apply(ctx context.Context, changes dns.Changes) error {
	if changes.Empty() {
		return nil
	}
	byName, err := changesByName(changes)
	if err != nil {
		return err
	}
	names := changes.Names()
	// Every name is checked before the first batch is written, so that a
	// name outside the zone refuses the whole Apply, not what follows it.
	for _, name := range names {
		if _, err := p.newState(name); err != nil {
			return err
		}
	}
	var conflicts []string
	for _, batch := range unitBatches(names, maxTxnOps/readOpsPerName) {
		states, err := p.read(ctx, batch)
		if err != nil {
			return err
		}
		if p.afterRead != nil {
			p.afterRead()
		}
		c, err := p.applyBatch(ctx, states, byName)
		if err != nil {
			return err
		}
		conflicts = append(conflicts, c...)
	}
	if len(conflicts) > 0 {
		slices.Sort(conflicts)
		p.log.Info("names changed by another writer were left alone", "names", conflicts)
		return &dns.ConflictError{Names: conflicts}
	}
	p.log.Debug("applied", "names", len(names), "changes", changes.Len())
	return nil
}

// unitBatches orders names by unit (dns.Group) and cuts them into batches
// of at most size names that never split a unit (a unit is at most 2
// names, size is 64).
func unitBatches(names []string, size int) [][]string {
	ordered := slices.SortedFunc(slices.Values(names), func(a, b string) int {
		return cmp.Or(strings.Compare(dns.Group(a), dns.Group(b)), strings.Compare(a, b))
	})
	var batches [][]string
	var cur []string
	for unit := range units(ordered, func(name string) string { return name }) {
		if len(cur) > 0 && len(cur)+len(unit) > size {
			batches = append(batches, cur)
			cur = nil
		}
		cur = append(cur, unit...)
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return batches
}

// units yields the runs of xs whose names share a dns.Group: the units of
// xs when xs is ordered as unitBatches orders names (read, and the else
// branch of commit, keep that order).
func units[T any](xs []T, name func(T) string) iter.Seq[[]T] {
	return func(yield func([]T) bool) {
		for start := 0; start < len(xs); {
			end := start + 1
			for end < len(xs) && dns.Group(name(xs[end])) == dns.Group(name(xs[start])) {
				end++
			}
			if !yield(xs[start:end]) {
				return
			}
			start = end
		}
	}
}

func stateName(s *nameState) string { return s.name }

// applyBatch writes the units of states whose sets are as expected, and
// returns the names of those that are not.
func (p *Provider) applyBatch(ctx context.Context, states []*nameState, byName map[string]*nameChange) ([]string, error) {
	var conflicts []string
	pending := states
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > maxAttempts {
			for _, s := range pending {
				conflicts = append(conflicts, s.name)
			}
			break
		}
		var writes []unitWrite
		for unit := range units(pending, stateName) {
			w, holds, err := planUnit(unit, byName)
			if err != nil {
				return nil, err
			}
			switch {
			case !holds:
				for _, s := range unit {
					conflicts = append(conflicts, s.name)
				}
			case len(w.ops) > 0:
				writes = append(writes, w)
			}
		}
		txns, err := packTxns(writes)
		if err != nil {
			return nil, err
		}
		pending = nil
		for _, txn := range txns {
			reread, err := p.commit(ctx, txn)
			if err != nil {
				return nil, err
			}
			pending = append(pending, reread...)
		}
	}
	return conflicts, nil
}

// unitWrite is what one unit needs written, guarded by what was read of
// every name of it (of a name with nothing to write too: the unit holds
// only while all of it does).
type unitWrite struct {
	states []*nameState
	cmps   []clientv3.Cmp
	ops    []clientv3.Op
}

// planUnit plans every name of unit; the unit holds only if each does.
func planUnit(unit []*nameState, byName map[string]*nameChange) (unitWrite, bool, error) {
	var w unitWrite
	for _, s := range unit {
		cmps, ops, holds, err := byName[s.name].plan(s)
		if err != nil || !holds {
			return unitWrite{}, false, err
		}
		w.states = append(w.states, s)
		w.cmps = append(w.cmps, cmps...)
		w.ops = append(w.ops, ops...)
	}
	return w, true, nil
}

// packTxns groups writes into transactions within etcd's limit on
// compares, success ops and (the re-read of every name) failure ops; a
// unit is never split.
func packTxns(writes []unitWrite) ([][]unitWrite, error) {
	var txns [][]unitWrite
	var cur []unitWrite
	var cmps, ops, names int
	for _, w := range writes {
		if len(w.cmps) > maxTxnOps || len(w.ops) > maxTxnOps {
			return nil, fmt.Errorf("coredns: %s (with its ownership name) needs %d etcd operations, more than the %d of one transaction: fewer records at one name", dns.Group(w.states[0].name), max(len(w.cmps), len(w.ops)), maxTxnOps)
		}
		if cmps+len(w.cmps) > maxTxnOps || ops+len(w.ops) > maxTxnOps || (names+len(w.states))*readOpsPerName > maxTxnOps {
			txns = append(txns, cur)
			cur, cmps, ops, names = nil, 0, 0, 0
		}
		cur = append(cur, w)
		cmps += len(w.cmps)
		ops += len(w.ops)
		names += len(w.states)
	}
	if len(cur) > 0 {
		txns = append(txns, cur)
	}
	return txns, nil
}

// commit sends one transaction. When its guards fail it returns its names
// as read again by the transaction's else branch, at the revision that
// failed them, unit by unit in the order of txn.
func (p *Provider) commit(ctx context.Context, txn []unitWrite) ([]*nameState, error) {
	var cmps []clientv3.Cmp
	var ops, reads []clientv3.Op
	var states []*nameState
	for _, w := range txn {
		cmps = append(cmps, w.cmps...)
		ops = append(ops, w.ops...)
		for _, s := range w.states {
			reads = append(reads, s.readOps()...)
			states = append(states, s)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	p.txns.Add(1)
	resp, err := p.client.Txn(ctx).If(cmps...).Then(ops...).Else(reads...).Commit()
	if err != nil {
		return nil, fmt.Errorf("coredns: write %d names to etcd at %v (what was written is unknown; read the names again): %w", len(states), p.cfg.Endpoints, err)
	}
	if resp.Succeeded {
		p.ops.Add(int64(len(ops)))
		return nil, nil
	}
	p.failed.Add(1)
	fillStates(states, resp)
	return states, nil
}

// nameChange is what one Apply changes at one name, at most one change
// per type.
type nameChange struct {
	name    string
	creates []dns.Record
	updates []dns.Update
	deletes []dns.Record
	touched map[string]bool
}

// changesByName checks every record is one this provider can write, and
// groups the changes by name.
func changesByName(c dns.Changes) (map[string]*nameChange, error) {
	byName := make(map[string]*nameChange)
	// add checks r and returns the change at its name, taking r's type.
	add := func(r dns.Record) (*nameChange, error) {
		if err := writable(r); err != nil {
			return nil, err
		}
		nc := byName[r.Name]
		if nc == nil {
			nc = &nameChange{name: r.Name, touched: make(map[string]bool)}
			byName[r.Name] = nc
		}
		if nc.touched[r.Type] {
			return nil, fmt.Errorf("coredns: two changes to the %s records of %s in one Apply", r.Type, r.Name)
		}
		nc.touched[r.Type] = true
		return nc, nil
	}
	for _, r := range c.Create {
		nc, err := add(r)
		if err != nil {
			return nil, err
		}
		nc.creates = append(nc.creates, r)
	}
	for _, u := range c.Update {
		if u.Old.Key() != u.New.Key() {
			return nil, fmt.Errorf("coredns: an update replaces %s %s with %s %s: a record set's name and type cannot change", u.Old.Name, u.Old.Type, u.New.Name, u.New.Type)
		}
		nc, err := add(u.New)
		if err != nil {
			return nil, err
		}
		nc.updates = append(nc.updates, u)
	}
	for _, r := range c.Delete {
		nc, err := add(r)
		if err != nil {
			return nil, err
		}
		nc.deletes = append(nc.deletes, r)
	}
	return byName, nil
}

// errWeightedGeo is returned for a record set the etcd plugin cannot
// answer as asked.
var errWeightedGeo = errors.New("the coredns provider cannot express weighted or geo record sets (CoreDNS' etcd plugin answers every record at a name): use strategy RoundRobin or Failover, or the externaldns provider with a provider that has weights or geolocation")

// writable checks that r is a record set the etcd plugin answers as r
// says: it decides a record's type from its data, so an A target that is
// not an IPv4 address would be answered as something else.
func writable(r dns.Record) error {
	if r.Name != strings.ToLower(r.Name) {
		return fmt.Errorf("coredns: %s: names are written in lower case (CoreDNS looks them up so)", r)
	}
	if r.SetID != "" || r.Weight != 0 || r.Region != "" {
		return fmt.Errorf("coredns: %s: %w", r, errWeightedGeo)
	}
	if len(r.Targets) == 0 {
		return fmt.Errorf("coredns: %s %s has no targets: delete the set instead", r.Name, r.Type)
	}
	for _, target := range r.Targets {
		ip := net.ParseIP(target)
		var ok bool
		switch r.Type {
		case dns.TypeA:
			ok = ip != nil && ip.To4() != nil
		case dns.TypeAAAA:
			ok = ip != nil && ip.To4() == nil
		case dns.TypeCNAME:
			_, isName := mdns.IsDomainName(target)
			ok = ip == nil && isName && mdns.IsFqdn(target) && len(r.Targets) == 1
		case dns.TypeTXT:
			ok = target != ""
		default:
			return fmt.Errorf("coredns: %s: type %s is not one the fleet writes (A, AAAA, CNAME, TXT)", r, r.Type)
		}
		if !ok {
			return fmt.Errorf("coredns: %s: %q is not a valid %s target (A: IPv4, AAAA: IPv6, CNAME: one fully qualified name, TXT: non-empty)", r, target, r.Type)
		}
	}
	return nil
}

// plan checks that the name's sets in s are what the change expects and
// says what to write and under which guards; holds is false when another
// writer left them otherwise.
func (c *nameChange) plan(s *nameState) (cmps []clientv3.Cmp, ops []clientv3.Op, holds bool, err error) {
	sets, err := s.sets()
	if err != nil {
		return nil, nil, false, fmt.Errorf("coredns: %w", err)
	}
	want := make(map[string]dns.Record, len(sets))
	for typ, r := range sets {
		want[typ] = r
	}
	for _, r := range c.creates {
		if _, ok := sets[r.Type]; ok {
			return nil, nil, false, nil
		}
		want[r.Type] = r
	}
	for _, u := range c.updates {
		if !sameSet(sets[u.Old.Type], u.Old) {
			return nil, nil, false, nil
		}
		want[u.New.Type] = u.New
	}
	for _, r := range c.deletes {
		if !sameSet(sets[r.Type], r) {
			return nil, nil, false, nil
		}
		delete(want, r.Type)
	}
	return s.guards(), c.writes(s, want), true, nil
}

// sameSet compares a set read with one expected, whose targets may not
// be sorted.
func sameSet(read, expected dns.Record) bool {
	expected.Targets = slices.Sorted(slices.Values(expected.Targets))
	return read.Name != "" && read.Equal(expected)
}

// guards hold while the name's own keys are as read: its key and each
// leaf at the ModRevision read (0 for a key that was absent, so a key
// deleted meanwhile fails too), and no leaf of the fleet's written since.
func (s *nameState) guards() []clientv3.Cmp {
	var exactRev int64
	if s.exact != nil {
		exactRev = s.exact.ModRevision
	}
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(s.key), "=", exactRev),
		clientv3.Compare(clientv3.ModRevision(s.dir()+leafMark).WithRange(s.dir()+leafMarkEnd), "<", s.rev+1),
	}
	for _, kv := range s.leaves {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(string(kv.Key)), "=", kv.ModRevision))
	}
	return cmps
}

// writes are the puts and deletes that turn the name's keys into want, for
// the types the change touches: a leaf per target, and the name's own key
// (the marker while any set is left). Keys already
// holding what they should are not rewritten, and the sets of other types
// (another writer's among them) are left alone.
func (c *nameChange) writes(s *nameState, want map[string]dns.Record) []clientv3.Op {
	leaves := make(map[string]string)
	for typ := range c.touched {
		r, ok := want[typ]
		if !ok {
			continue
		}
		for _, target := range r.Targets {
			leaves[leafKey(s.dir(), typ, target)] = recordService(r, target).encode()
		}
	}
	var ops []clientv3.Op
	for _, kv := range s.leaves {
		key := string(kv.Key)
		value, wanted := leaves[key]
		switch {
		case wanted && value == string(kv.Value):
			delete(leaves, key)
		case !wanted && c.touched[keyType(kv)]:
			ops = append(ops, clientv3.OpDelete(key))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(leaves)) {
		ops = append(ops, clientv3.OpPut(key, leaves[key]))
	}
	// The name's key is the fleet's while it is absent, the marker, or a
	// record of a type the change rewrites anyway.
	if typ := keyType(s.exact); typ == "" || c.touched[typ] {
		var value string
		if len(want) > 0 {
			value = markerService(s.name).encode()
		}
		switch {
		case value == "" && s.exact != nil:
			ops = append(ops, clientv3.OpDelete(s.key))
		case value != "" && (s.exact == nil || string(s.exact.Value) != value):
			ops = append(ops, clientv3.OpPut(s.key, value))
		}
	}
	return ops
}

// keyType is the type of the record kv holds ("" for a marker or nothing).
// plan has decoded every key of the name before, so an error cannot come.
func keyType(kv *mvccpb.KeyValue) string {
	if kv == nil {
		return ""
	}
	svc, _ := decodeService(kv)
	return svc.recordType()
}
