package coredns_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fnfleet/fnfleet/federation/dns"
	"github.com/fnfleet/fnfleet/federation/dns/coredns"
	"github.com/fnfleet/fnfleet/federation/dns/registry"
	"github.com/fnfleet/fnfleet/test/dnstest"
	"github.com/fnfleet/fnfleet/test/testbed"
)

const zone = "fleet.example.com."

// The registry lists the zone through it on a cold start and to verify.
var _ registry.Lister = (*coredns.Provider)(nil)

// server is a real etcd and a real CoreDNS answering zone from it.
type server struct {
	etcd string
	dns  *dnstest.CoreDNS
}

func startServer(t testing.TB) server {
	t.Helper()
	etcd := dnstest.StartEtcd(t)
	return server{etcd: etcd, dns: dnstest.StartCoreDNS(t, zone, etcd)}
}

func (s server) provider(t testing.TB) *coredns.Provider {
	t.Helper()
	p, err := coredns.New(t.Context(), coredns.Config{
		Endpoints: []string{s.etcd}, Zone: zone, Logger: testbed.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// answers are the answer section of a real query, one "name TYPE data" per
// record, sorted.
func (s server) answers(t testing.TB, name string, qtype uint16) []string {
	t.Helper()
	var out []string
	for _, rr := range s.dns.Query(t, name, qtype) {
		h := rr.Header()
		data := strings.TrimPrefix(rr.String(), h.String())
		out = append(out, fmt.Sprintf("%s %s %s", h.Name, mdns.TypeToString[h.Rrtype], data))
	}
	slices.Sort(out)
	return out
}

func (s server) wantAnswers(t testing.TB, name string, qtype uint16, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := s.answers(t, name, qtype); !slices.Equal(got, want) {
		t.Errorf("%s %s answers\n  %q\nwant\n  %q", name, mdns.TypeToString[qtype], got, want)
	}
}

func (s server) wantRcode(t testing.TB, name string, qtype uint16, rcode int) {
	t.Helper()
	if m := s.dns.Exchange(t, name, qtype); m.Rcode != rcode {
		t.Errorf("%s %s: rcode %s, want %s", name, mdns.TypeToString[qtype], mdns.RcodeToString[m.Rcode], mdns.RcodeToString[rcode])
	}
}

func rec(name, typ string, targets ...string) dns.Record {
	slices.Sort(targets)
	return dns.Record{Name: name + "." + zone, Type: typ, TTL: 60, Targets: targets}
}

func owner(name string) dns.Record {
	return rec("_fnfleet."+name, dns.TypeTXT, "heritage=fnfleet,owner=fleet,app="+name)
}

func fqdn(name string) string { return name + "." + zone }

func wantRecords(t *testing.T, p *coredns.Provider, names []string, want ...dns.Record) {
	t.Helper()
	got, err := p.Records(t.Context(), names)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, func(a, b dns.Record) int { return strings.Compare(a.Name+" "+a.Type, b.Name+" "+b.Type) })
	if !slices.EqualFunc(got, want, dns.Record.Equal) {
		t.Errorf("Records(%v) =\n  %v\nwant\n  %v", names, got, want)
	}
}

// TestPluginSubtree is the evidence for the key layout (see the package
// comment), from raw keys: plain SkyDNS records below a name are answered
// with every record below it, the ownership TXT and a child name's
// included, and a CNAME query, which reads only the name's own key, gets
// NXDOMAIN; with "group" set to each record's name, and a marker at the
// name's own key, the name answers exactly its own records; but a record
// at a child name's own key (as a CNAME copied there would be) is answered
// at the parent again. If CoreDNS changes this, the layout may change.
func TestPluginSubtree(t *testing.T) {
	s := startServer(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.etcd}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for key, value := range map[string]string{
		"plain/x1":         `{"host":"10.0.0.1","ttl":60}`,
		"plain/_fnfleet/o": `{"text":"owner","ttl":60}`,
		"plain/eu/y1":      `{"host":"10.9.9.9","ttl":60}`,

		"grouped":             `{"group":"grouped.fleet.example.com."}`,
		"grouped/@a":          `{"host":"10.0.0.1","ttl":60,"group":"grouped.fleet.example.com."}`,
		"grouped/_fnfleet":    `{"group":"_fnfleet.grouped.fleet.example.com."}`,
		"grouped/_fnfleet/@t": `{"text":"owner","ttl":60,"group":"_fnfleet.grouped.fleet.example.com."}`,
		"grouped/eu":          `{"group":"eu.grouped.fleet.example.com."}`,
		"grouped/eu/@a":       `{"host":"10.9.9.9","ttl":60,"group":"eu.grouped.fleet.example.com."}`,
		"childcname/@a":       `{"host":"10.0.0.1","ttl":60,"group":"childcname.fleet.example.com."}`,
		"childcname/eu":       `{"host":"world.fleet.example.com.","ttl":60,"group":"eu.childcname.fleet.example.com."}`,
		"world/@a":            `{"host":"10.0.0.9","ttl":60,"group":"world.fleet.example.com."}`,
	} {
		if _, err := cli.Put(t.Context(), dnstest.CoreDNSPrefix+"/com/example/fleet/"+key, value); err != nil {
			t.Fatal(err)
		}
	}
	plain, grouped, childcname, world := fqdn("plain"), fqdn("grouped"), fqdn("childcname"), fqdn("world")
	s.wantAnswers(t, plain, mdns.TypeA, plain+" A 10.0.0.1", plain+" A 10.9.9.9")
	s.wantAnswers(t, plain, mdns.TypeTXT, plain+` TXT "owner"`)
	s.wantRcode(t, plain, mdns.TypeCNAME, mdns.RcodeNameError)

	s.wantAnswers(t, grouped, mdns.TypeA, grouped+" A 10.0.0.1")
	s.wantAnswers(t, grouped, mdns.TypeTXT)
	s.wantRcode(t, grouped, mdns.TypeCNAME, mdns.RcodeSuccess)
	s.wantAnswers(t, "_fnfleet."+grouped, mdns.TypeTXT, "_fnfleet."+grouped+` TXT "owner"`)

	s.wantAnswers(t, childcname, mdns.TypeA, childcname+" A 10.0.0.1", childcname+" CNAME "+world, world+" A 10.0.0.9")
}

// TestCreateAnsweredExactly: each name answers its own records and no
// other's, though the ownership record and a child name live below it in
// etcd; a CNAME answers A queries with its target's addresses.
func TestCreateAnsweredExactly(t *testing.T) {
	s := startServer(t)
	p := s.provider(t)
	hello, world, eu := fqdn("hello"), fqdn("world"), fqdn("eu.hello")
	changes := dns.Changes{Create: []dns.Record{
		rec("hello", dns.TypeA, "10.0.0.1", "10.0.0.2"),
		rec("hello", dns.TypeAAAA, "2001:db8::1"),
		owner("hello"),
		rec("eu.hello", dns.TypeA, "10.9.9.9"),
		owner("eu.hello"),
		rec("world", dns.TypeCNAME, hello),
		owner("world"),
	}}
	if err := p.Apply(t.Context(), changes); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Reads != 1 || st.Txns != 1 {
		t.Errorf("7 record sets at 5 names took %+v, want 1 read and 1 transaction", st)
	}
	before := p.Stats()
	if err := p.Apply(t.Context(), dns.Changes{}); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st != before {
		t.Errorf("applying no changes went from %+v to %+v, want no request", before, st)
	}

	s.wantAnswers(t, hello, mdns.TypeA, hello+" A 10.0.0.1", hello+" A 10.0.0.2")
	s.wantAnswers(t, hello, mdns.TypeAAAA, hello+" AAAA 2001:db8::1")
	s.wantAnswers(t, hello, mdns.TypeTXT)
	s.wantAnswers(t, hello, mdns.TypeCNAME)
	s.wantRcode(t, hello, mdns.TypeCNAME, mdns.RcodeSuccess)
	s.wantAnswers(t, "_fnfleet."+hello, mdns.TypeTXT, "_fnfleet."+hello+` TXT "heritage=fnfleet,owner=fleet,app=hello"`)
	s.wantAnswers(t, "_fnfleet."+hello, mdns.TypeA)
	s.wantAnswers(t, eu, mdns.TypeA, eu+" A 10.9.9.9")
	s.wantAnswers(t, world, mdns.TypeA, world+" CNAME "+hello, hello+" A 10.0.0.1", hello+" A 10.0.0.2")
	// A CNAME query reads only the name's own key, which holds the
	// marker (see the package comment): NODATA, not the CNAME.
	s.wantAnswers(t, world, mdns.TypeCNAME)
	s.wantRcode(t, world, mdns.TypeCNAME, mdns.RcodeSuccess)
	s.wantRcode(t, fqdn("nothere"), mdns.TypeA, mdns.RcodeNameError)
	if ttl := s.dns.Query(t, hello, mdns.TypeA)[0].Header().Ttl; ttl != 60 {
		t.Errorf("TTL %d, want 60", ttl)
	}

	wantRecords(t, p, []string{hello, "_fnfleet." + hello, world, fqdn("nothere")},
		rec("hello", dns.TypeA, "10.0.0.1", "10.0.0.2"), rec("hello", dns.TypeAAAA, "2001:db8::1"),
		owner("hello"), rec("world", dns.TypeCNAME, hello))
}

// TestUpdateAndDelete: an update rewrites only the targets that changed; a
// name turns from addresses into a CNAME and back in one Apply each; a
// name deleted is NXDOMAIN and leaves no key behind.
func TestUpdateAndDelete(t *testing.T) {
	s := startServer(t)
	p := s.provider(t)
	hello, world := fqdn("hello"), fqdn("world")
	a12 := rec("hello", dns.TypeA, "10.0.0.1", "10.0.0.2")
	if err := p.Apply(t.Context(), dns.Changes{Create: []dns.Record{a12, owner("hello"), rec("world", dns.TypeA, "10.0.0.9"), owner("world")}}); err != nil {
		t.Fatal(err)
	}

	a23 := rec("hello", dns.TypeA, "10.0.0.2", "10.0.0.3")
	before := p.Stats()
	if err := p.Apply(t.Context(), dns.Changes{Update: []dns.Update{{Old: a12, New: a23}}}); err != nil {
		t.Fatal(err)
	}
	// 10.0.0.1's key deleted, 10.0.0.3's put; 10.0.0.2 and the marker kept.
	if d := p.Stats().Ops - before.Ops; d != 2 {
		t.Errorf("replacing one address of two wrote %d keys, want 2", d)
	}
	s.wantAnswers(t, hello, mdns.TypeA, hello+" A 10.0.0.2", hello+" A 10.0.0.3")

	cname := rec("hello", dns.TypeCNAME, world)
	if err := p.Apply(t.Context(), dns.Changes{Delete: []dns.Record{a23}, Create: []dns.Record{cname}}); err != nil {
		t.Fatal(err)
	}
	s.wantAnswers(t, hello, mdns.TypeA, hello+" CNAME "+world, world+" A 10.0.0.9")
	s.wantAnswers(t, hello, mdns.TypeAAAA)

	a4 := rec("hello", dns.TypeA, "10.0.0.4")
	if err := p.Apply(t.Context(), dns.Changes{Delete: []dns.Record{cname}, Create: []dns.Record{a4}}); err != nil {
		t.Fatal(err)
	}
	s.wantAnswers(t, hello, mdns.TypeA, hello+" A 10.0.0.4")
	s.wantAnswers(t, hello, mdns.TypeCNAME)
	s.wantRcode(t, hello, mdns.TypeCNAME, mdns.RcodeSuccess)

	if err := p.Apply(t.Context(), dns.Changes{Delete: []dns.Record{a4, owner("hello")}}); err != nil {
		t.Fatal(err)
	}
	s.wantRcode(t, hello, mdns.TypeA, mdns.RcodeNameError)
	s.wantRcode(t, "_fnfleet."+hello, mdns.TypeTXT, mdns.RcodeNameError)
	s.wantAnswers(t, world, mdns.TypeA, world+" A 10.0.0.9")
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.etcd}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(t.Context(), dnstest.CoreDNSPrefix+"/com/example/fleet/hello", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Errorf("%d keys left under hello after deleting every record: %v", resp.Count, resp.Kvs)
	}
}

// TestStaleOldConflicts: changes whose Old is not what the name holds
// leave that name alone and name it in a ConflictError; the other names of
// the same Apply are written.
func TestStaleOldConflicts(t *testing.T) {
	s := startServer(t)
	p := s.provider(t)
	hello, world, fresh, taken := fqdn("hello"), fqdn("world"), fqdn("fresh"), fqdn("taken")
	if err := p.Apply(t.Context(), dns.Changes{Create: []dns.Record{
		rec("hello", dns.TypeA, "10.0.0.1"), rec("world", dns.TypeA, "10.0.0.9"), rec("taken", dns.TypeA, "10.0.0.5"),
	}}); err != nil {
		t.Fatal(err)
	}
	err := p.Apply(t.Context(), dns.Changes{
		Create: []dns.Record{rec("fresh", dns.TypeA, "10.0.0.7"), rec("taken", dns.TypeA, "10.0.0.6")},
		Update: []dns.Update{
			{Old: rec("hello", dns.TypeA, "10.0.0.5"), New: rec("hello", dns.TypeA, "10.0.0.6")},
			{Old: rec("world", dns.TypeA, "10.0.0.9"), New: rec("world", dns.TypeA, "10.0.0.8")},
		},
		Delete: []dns.Record{rec("world", dns.TypeAAAA, "2001:db8::9")},
	})
	var conflict *dns.ConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, dns.ErrConflict) {
		t.Fatalf("Apply with stale expectations: %v, want a *dns.ConflictError", err)
	}
	if want := []string{hello, taken, world}; !slices.Equal(conflict.Names, want) {
		t.Errorf("conflicts at %v, want %v", conflict.Names, want)
	}
	s.wantAnswers(t, hello, mdns.TypeA, hello+" A 10.0.0.1")
	s.wantAnswers(t, taken, mdns.TypeA, taken+" A 10.0.0.5")
	// world's A update was fine, but its AAAA delete was not: nothing at
	// world is written.
	s.wantAnswers(t, world, mdns.TypeA, world+" A 10.0.0.9")
	s.wantAnswers(t, fresh, mdns.TypeA, fresh+" A 10.0.0.7")
}

// TestGuardedWrite: another writer changes names between Apply's read and
// its write. The transaction's guards fail; the names the other writer
// changed (an update, a create, a delete) are conflicts, and the rest of
// the same transaction is written on the next try.
func TestGuardedWrite(t *testing.T) {
	s := startServer(t)
	p, other := s.provider(t), s.provider(t)
	a1, b1, d1 := rec("a", dns.TypeA, "10.0.0.1"), rec("b", dns.TypeA, "10.0.0.1"), rec("d", dns.TypeA, "10.0.0.1")
	if err := p.Apply(t.Context(), dns.Changes{Create: []dns.Record{a1, b1, d1}}); err != nil {
		t.Fatal(err)
	}
	coredns.SetAfterRead(p, func() {
		coredns.SetAfterRead(p, nil)
		if err := other.Apply(t.Context(), dns.Changes{
			Update: []dns.Update{{Old: a1, New: rec("a", dns.TypeA, "10.0.0.3")}},
			Create: []dns.Record{rec("c", dns.TypeA, "10.0.0.3")},
			Delete: []dns.Record{d1},
		}); err != nil {
			t.Errorf("the other writer: %v", err)
		}
	})
	before := p.Stats()
	err := p.Apply(t.Context(), dns.Changes{
		Update: []dns.Update{
			{Old: a1, New: rec("a", dns.TypeA, "10.0.0.2")},
			{Old: b1, New: rec("b", dns.TypeA, "10.0.0.2")},
			{Old: d1, New: rec("d", dns.TypeA, "10.0.0.2")},
		},
		Create: []dns.Record{rec("c", dns.TypeA, "10.0.0.2")},
	})
	var conflict *dns.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("Apply overtaken by another writer: %v, want a *dns.ConflictError", err)
	}
	if want := []string{fqdn("a"), fqdn("c"), fqdn("d")}; !slices.Equal(conflict.Names, want) {
		t.Errorf("conflicts at %v, want %v", conflict.Names, want)
	}
	if st := p.Stats(); st.Txns-before.Txns != 2 || st.GuardsFailed-before.GuardsFailed != 1 {
		t.Errorf("stats went from %+v to %+v, want 2 transactions of which 1 failed its guards", before, st)
	}
	s.wantAnswers(t, fqdn("a"), mdns.TypeA, fqdn("a")+" A 10.0.0.3")
	s.wantAnswers(t, fqdn("b"), mdns.TypeA, fqdn("b")+" A 10.0.0.2")
	s.wantAnswers(t, fqdn("c"), mdns.TypeA, fqdn("c")+" A 10.0.0.3")
	s.wantRcode(t, fqdn("d"), mdns.TypeA, mdns.RcodeNameError)
}

// TestConcurrentWriters: two providers (two fleets' dns functions, or one
// run twice) update overlapping names at once, from the same read, each to
// its own addresses: at every name exactly one wins, a name only one of
// them writes is always written, and what won is what CoreDNS answers.
func TestConcurrentWriters(t *testing.T) {
	s := startServer(t)
	writers := []*coredns.Provider{s.provider(t), s.provider(t)}
	names := []string{"a", "b", "c", "d", "e", "f"}
	// Writer 0 writes a-d, writer 1 c-f: both write c and d.
	windows := [][]int{{0, 1, 2, 3}, {2, 3, 4, 5}}
	var current []dns.Record
	for _, n := range names {
		current = append(current, rec(n, dns.TypeA, "10.0.0.1"))
	}
	if err := writers[0].Apply(t.Context(), dns.Changes{Create: current}); err != nil {
		t.Fatal(err)
	}
	const rounds = 20
	for round := range rounds {
		errs := make([]error, len(writers))
		planned := make([]map[int]dns.Record, len(writers))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w, p := range writers {
			planned[w] = map[int]dns.Record{}
			var changes dns.Changes
			for _, i := range windows[w] {
				next := rec(names[i], dns.TypeA, fmt.Sprintf("10.%d.%d.%d", w+1, round, i))
				planned[w][i] = next
				changes.Update = append(changes.Update, dns.Update{Old: current[i], New: next})
			}
			wg.Go(func() {
				<-start
				errs[w] = p.Apply(context.Background(), changes)
			})
		}
		close(start)
		wg.Wait()

		lost := make([]map[string]bool, len(writers))
		for w, err := range errs {
			lost[w] = map[string]bool{}
			var conflict *dns.ConflictError
			switch {
			case errors.As(err, &conflict):
				for _, n := range conflict.Names {
					lost[w][n] = true
				}
			case err != nil:
				t.Fatalf("round %d, writer %d: %v", round, w, err)
			}
		}
		for i, n := range names {
			var winners []int
			for w := range writers {
				if _, wrote := planned[w][i]; wrote && !lost[w][fqdn(n)] {
					winners = append(winners, w)
				}
			}
			if len(winners) != 1 {
				t.Fatalf("round %d: %d writers won %s, want exactly 1 (errors %v)", round, len(winners), n, errs)
			}
			current[i] = planned[winners[0]][i]
			s.wantAnswers(t, fqdn(n), mdns.TypeA, fqdn(n)+" A "+current[i].Targets[0])
		}
	}
	var all []string
	for _, n := range names {
		all = append(all, fqdn(n))
	}
	wantRecords(t, writers[1], all, current...)
	for w, p := range writers {
		t.Logf("writer %d: %+v", w, p.Stats())
	}
}

// TestAnsweredAtOnce: the etcd plugin reads etcd on every query, and
// CoreDNS caches nothing without the cache plugin, so the first query
// after Apply returns answers the change, a name that was NXDOMAIN
// included (no negative caching either).
func TestAnsweredAtOnce(t *testing.T) {
	s := startServer(t)
	p := s.provider(t)
	hello := fqdn("hello")
	s.wantRcode(t, hello, mdns.TypeA, mdns.RcodeNameError)
	old := rec("hello", dns.TypeA, "10.0.0.1")
	if err := p.Apply(t.Context(), dns.Changes{Create: []dns.Record{old}}); err != nil {
		t.Fatal(err)
	}
	s.wantAnswers(t, hello, mdns.TypeA, hello+" A 10.0.0.1")
	for i := range 20 {
		next := rec("hello", dns.TypeA, fmt.Sprintf("10.0.1.%d", i))
		if err := p.Apply(t.Context(), dns.Changes{Update: []dns.Update{{Old: old, New: next}}}); err != nil {
			t.Fatal(err)
		}
		s.wantAnswers(t, hello, mdns.TypeA, hello+" A "+next.Targets[0])
		old = next
	}
}

// TestRefusesWhatItCannotExpress: weighted and geo sets, and targets the
// plugin would answer as another type, are refused before anything is
// written, with why.
func TestRefusesWhatItCannotExpress(t *testing.T) {
	s := startServer(t)
	p := s.provider(t)
	if c := p.Capabilities(); c.Weighted || c.Geo {
		t.Errorf("capabilities %+v, want neither weighted nor geo", c)
	}
	weighted := rec("hello", dns.TypeA, "10.0.0.1")
	weighted.SetID, weighted.Weight = "member-1", 10
	geo := rec("hello", dns.TypeA, "10.0.0.1")
	geo.SetID, geo.Region = "eu", "eu"
	outside := rec("hello", dns.TypeA, "10.0.0.1")
	outside.Name = "hello.example.net."
	for _, tc := range []struct {
		r    dns.Record
		says string
	}{
		{weighted, "weighted or geo"},
		{geo, "weighted or geo"},
		{rec("hello", dns.TypeA, "lb.example.net."), "not a valid A target"},
		{rec("hello", dns.TypeAAAA, "10.0.0.1"), "not a valid AAAA target"},
		{rec("hello", dns.TypeCNAME, "a.example.net.", "b.example.net."), "not a valid CNAME target"},
		{rec("hello", dns.TypeCNAME, "lb.example.net"), "not a valid CNAME target"},
		{rec("hello", "MX", "mail.example.net."), "not one the fleet writes"},
		{outside, "not in zone"},
		{rec("Hello", dns.TypeA, "10.0.0.1"), "lower case"},
	} {
		err := p.Apply(t.Context(), dns.Changes{Create: []dns.Record{tc.r, rec("fine", dns.TypeA, "10.0.0.2")}})
		if err == nil || errors.Is(err, dns.ErrConflict) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Apply(%v): %v, want an error saying %q", tc.r, err, tc.says)
		}
	}
	if st := p.Stats(); st.Txns != 0 {
		t.Errorf("refused changes sent %d transactions, want none", st.Txns)
	}
	s.wantRcode(t, fqdn("fine"), mdns.TypeA, mdns.RcodeNameError)
}

// TestCredentials: with authentication on in etcd, the provider writes
// with the user it is given and New fails, saying what to check, without.
func TestCredentials(t *testing.T) {
	etcd := dnstest.StartEtcd(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := t.Context()
	for _, step := range []func() error{
		func() error { _, err := cli.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cli.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatalf("enable etcd authentication: %v", err)
		}
	}
	cfg := coredns.Config{Endpoints: []string{etcd}, Zone: zone, Timeout: 10 * time.Second, Logger: testbed.Logger(t)}
	if p, err := coredns.New(ctx, cfg); err == nil {
		p.Close()
		t.Fatal("New without credentials succeeded against an etcd with authentication on")
	} else if !strings.Contains(err.Error(), "credentials") {
		t.Errorf("New without credentials: %v, want it to say to check the credentials", err)
	}
	cfg.Username, cfg.Password = "root", "rootpw"
	p, err := coredns.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Apply(ctx, dns.Changes{Create: []dns.Record{rec("hello", dns.TypeA, "10.0.0.1")}}); err != nil {
		t.Fatal(err)
	}
	wantRecords(t, p, []string{fqdn("hello")}, rec("hello", dns.TypeA, "10.0.0.1"))
}

// TestList: the whole zone, read in pages at one revision, is what Records
// says of each name, another writer's plain SkyDNS record included (at the
// name above it and at its own, as CoreDNS answers it).
func TestList(t *testing.T) {
	s := startServer(t)
	p := s.provider(t)
	var all []dns.Record
	var names []string
	// 700 names and their ownership names: 2,800 keys, three pages.
	for i := range 700 {
		n := fmt.Sprintf("app-%d", i)
		all = append(all, rec(n, dns.TypeA, fmt.Sprintf("10.0.%d.%d", i/256, i%256)), owner(n))
		names = append(names, fqdn(n), "_fnfleet."+fqdn(n))
	}
	all = append(all, rec("world", dns.TypeCNAME, fqdn("app-1")), rec("deep.world", dns.TypeTXT, "a", "b"))
	names = append(names, fqdn("world"), fqdn("deep.world"))
	if err := p.Apply(t.Context(), dns.Changes{Create: all}); err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.etcd}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(t.Context(), dnstest.CoreDNSPrefix+"/com/example/fleet/foreign/x1", `{"host":"10.9.9.9"}`); err != nil {
		t.Fatal(err)
	}
	names = append(names, fqdn("foreign"), fqdn("x1.foreign"))

	before := p.Stats()
	listed, err := p.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if reads := p.Stats().Reads - before.Reads; reads != 3 {
		t.Errorf("listing 2,807 keys took %d reads, want 3 pages", reads)
	}
	read, err := p.Records(t.Context(), names)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(listed, read, dns.Record.Equal) {
		t.Errorf("List returned %d record sets, Records of every name %d", len(listed), len(read))
	}
	if want := len(all) + 2; len(listed) != want {
		t.Errorf("List returned %d record sets, want %d", len(listed), want)
	}
}

// TestForeignRecordHoldsTheUnit: another writer's plain SkyDNS record at a
// name (put by hand, as a zone's other tools do) makes the Create there a
// conflict, and the ownership record at _fnfleet.<name>, though nothing is
// there, is not written either: the registry would take the foreign record
// beside it for the fleet's and overwrite it. The other unit of the Apply
// is written.
func TestForeignRecordHoldsTheUnit(t *testing.T) {
	s := startServer(t)
	p := s.provider(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.etcd}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	takenKey := dnstest.CoreDNSPrefix + "/com/example/fleet/taken"
	if _, err := cli.Put(t.Context(), takenKey, `{"host":"10.9.9.9","ttl":300}`); err != nil {
		t.Fatal(err)
	}
	before, err := cli.Get(t.Context(), takenKey)
	if err != nil {
		t.Fatal(err)
	}

	taken, fresh := fqdn("taken"), fqdn("fresh")
	err = p.Apply(t.Context(), dns.Changes{Create: []dns.Record{
		rec("taken", dns.TypeA, "10.0.0.1"), owner("taken"), rec("fresh", dns.TypeA, "10.0.0.2"), owner("fresh"),
	}})
	var conflict *dns.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("Apply beside a foreign record: %v, want a *dns.ConflictError", err)
	}
	if want := []string{"_fnfleet." + taken, taken}; !slices.Equal(conflict.Names, want) {
		t.Errorf("conflicts at %v, want %v", conflict.Names, want)
	}

	after, err := cli.Get(t.Context(), takenKey, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Kvs) != 1 || string(after.Kvs[0].Key) != takenKey || after.Kvs[0].ModRevision != before.Kvs[0].ModRevision {
		t.Errorf("keys at and below taken after the Apply: %v, want only the foreign record as put (revision %d)", after.Kvs, before.Kvs[0].ModRevision)
	}
	s.wantAnswers(t, taken, mdns.TypeA, taken+" A 10.9.9.9")
	s.wantRcode(t, "_fnfleet."+taken, mdns.TypeTXT, mdns.RcodeNameError)
	wantRecords(t, p, []string{taken, "_fnfleet." + taken, fresh, "_fnfleet." + fresh},
		dns.Record{Name: taken, Type: dns.TypeA, TTL: 300, Targets: []string{"10.9.9.9"}},
		rec("fresh", dns.TypeA, "10.0.0.2"), owner("fresh"))
}

// TestGuardOvertakenOnOneNameOfTheUnit: another writer writes one name of
// a unit between Apply's read and its write (an A record at x; another
// fleet's ownership record at _fnfleet.y). The guards fail, and on the
// re-read each unit is conflicts as a whole: neither our ownership record
// at _fnfleet.x nor our A record at y is written; z, in the same
// transaction, is written on the next try.
func TestGuardOvertakenOnOneNameOfTheUnit(t *testing.T) {
	s := startServer(t)
	p, other := s.provider(t), s.provider(t)
	theirs := rec("_fnfleet.y", dns.TypeTXT, "heritage=fnfleet,owner=other-fleet,app=y")
	coredns.SetAfterRead(p, func() {
		coredns.SetAfterRead(p, nil)
		if err := other.Apply(t.Context(), dns.Changes{Create: []dns.Record{rec("x", dns.TypeA, "10.9.9.9"), theirs}}); err != nil {
			t.Errorf("the other writer: %v", err)
		}
	})
	before := p.Stats()
	err := p.Apply(t.Context(), dns.Changes{Create: []dns.Record{
		rec("x", dns.TypeA, "10.0.0.1"), owner("x"),
		rec("y", dns.TypeA, "10.0.0.2"), owner("y"),
		rec("z", dns.TypeA, "10.0.0.3"), owner("z"),
	}})
	var conflict *dns.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("Apply overtaken by another writer: %v, want a *dns.ConflictError", err)
	}
	x, y, z := fqdn("x"), fqdn("y"), fqdn("z")
	if want := []string{"_fnfleet." + x, "_fnfleet." + y, x, y}; !slices.Equal(conflict.Names, want) {
		t.Errorf("conflicts at %v, want %v", conflict.Names, want)
	}
	if st := p.Stats(); st.Txns-before.Txns != 2 || st.GuardsFailed-before.GuardsFailed != 1 {
		t.Errorf("stats went from %+v to %+v, want 2 transactions of which 1 failed its guards", before, st)
	}
	s.wantAnswers(t, x, mdns.TypeA, x+" A 10.9.9.9")
	s.wantRcode(t, "_fnfleet."+x, mdns.TypeTXT, mdns.RcodeNameError)
	// y holds only the other fleet's _fnfleet.y below it: no A (NOERROR,
	// an empty non-terminal).
	s.wantAnswers(t, y, mdns.TypeA)
	s.wantAnswers(t, "_fnfleet."+y, mdns.TypeTXT, `_fnfleet.`+y+` TXT "`+theirs.Targets[0]+`"`)
	wantRecords(t, p, []string{x, "_fnfleet." + x, y, "_fnfleet." + y, z, "_fnfleet." + z},
		rec("x", dns.TypeA, "10.9.9.9"), theirs, rec("z", dns.TypeA, "10.0.0.3"), owner("z"))
}

// TestUnitBatches: Apply's batches (64 names, the names' reads within
// etcd's 128 operations) never part a name from its ownership name, where
// sorted names would: "_fnfleet.*" sorts before every name.
func TestUnitBatches(t *testing.T) {
	var names []string
	for i := range 100 {
		n := fqdn(fmt.Sprintf("app-%03d", i))
		names = append(names, n)
		if i%3 != 0 {
			names = append(names, "_fnfleet."+n)
		}
	}
	batches := coredns.UnitBatches(names, 64)
	batchOf := map[string]int{}
	for i, b := range batches {
		if len(b) > 64 {
			t.Errorf("batch %d holds %d names, more than 64", i, len(b))
		}
		for _, n := range b {
			if _, twice := batchOf[n]; twice {
				t.Errorf("%s is in two batches", n)
			}
			batchOf[n] = i
		}
	}
	if len(batchOf) != len(names) {
		t.Errorf("batches hold %d names, want %d", len(batchOf), len(names))
	}
	for _, n := range names {
		if g := dns.Group(n); batchOf[n] != batchOf[g] {
			t.Errorf("%s is in batch %d, %s in batch %d", n, batchOf[n], g, batchOf[g])
		}
	}
	if len(batches) != 3 {
		t.Errorf("%d names in %d batches, want 3", len(names), len(batches))
	}
}
