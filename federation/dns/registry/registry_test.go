package registry

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/dns"
)

// zone is an in-memory provider for the registry's own logic (the
// providers are tested against real servers in their packages). It
// honours the Apply contract: a change whose old state does not hold
// leaves its name and its ownership name alone and is reported.
type zone struct {
	mu      sync.Mutex
	sets    map[dns.Key]dns.Record
	applies int
	reads   int
}

func newZone(recs ...dns.Record) *zone {
	z := &zone{sets: map[dns.Key]dns.Record{}}
	for _, r := range recs {
		z.sets[r.Key()] = r
	}
	return z
}

func (z *zone) Capabilities() dns.Capabilities { return dns.Capabilities{} }

func (z *zone) Records(_ context.Context, names []string) ([]dns.Record, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.reads++
	var out []dns.Record
	for _, r := range z.sets {
		if slices.Contains(names, r.Name) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (z *zone) Apply(_ context.Context, ch dns.Changes) error {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.applies++
	bad := map[string]bool{}
	for _, r := range ch.Create {
		if _, ok := z.sets[r.Key()]; ok {
			bad[dns.Group(r.Name)] = true
		}
	}
	for _, u := range ch.Update {
		if cur, ok := z.sets[u.Old.Key()]; !ok || !cur.Equal(u.Old) {
			bad[dns.Group(u.Old.Name)] = true
		}
	}
	for _, r := range ch.Delete {
		if cur, ok := z.sets[r.Key()]; !ok || !cur.Equal(r) {
			bad[dns.Group(r.Name)] = true
		}
	}
	for _, r := range ch.Create {
		if !bad[dns.Group(r.Name)] {
			z.sets[r.Key()] = r
		}
	}
	for _, u := range ch.Update {
		if !bad[dns.Group(u.Old.Name)] {
			z.sets[u.New.Key()] = u.New
		}
	}
	for _, r := range ch.Delete {
		if !bad[dns.Group(r.Name)] {
			delete(z.sets, r.Key())
		}
	}
	if len(bad) > 0 {
		return &dns.ConflictError{Names: slices.Sorted(maps.Keys(bad))}
	}
	return nil
}

func (z *zone) get(name, typ string) (dns.Record, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	r, ok := z.sets[dns.Key{Name: name, Type: typ}]
	return r, ok
}

func a(name string, ips ...string) dns.Record {
	return dns.Record{Name: name, Type: dns.TypeA, TTL: 30, Targets: ips}
}

func want(app, name string, ips ...string) Name {
	return Name{Name: name, App: app, TTL: 30, Records: []dns.Record{a(name, ips...)}}
}

func TestSyncWritesOnlyDifferencesAndOwnsEachNameOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	z := newZone()
	reg, err := New(Config{Provider: z, Owner: "fleet-a"})
	if err != nil {
		t.Fatal(err)
	}
	hello := want("default/hello", "hello.fleet.example.com.", "127.0.1.1", "127.0.1.2")
	res, err := reg.Sync(ctx, []Name{hello}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 2 || res.Names != 1 || res.Records != 2 {
		t.Fatalf("first sync: %+v, want 2 record sets written (A and one ownership TXT) for 1 name", res)
	}
	own, ok := z.get("_fnfleet.hello.fleet.example.com.", dns.TypeTXT)
	if !ok || own.Targets[0] != "heritage=fnfleet,owner=fleet-a,app=default/hello" {
		t.Fatalf("ownership record = %+v (present %v)", own, ok)
	}

	applies, reads := z.applies, z.reads
	res, err = reg.Sync(ctx, []Name{hello}, nil, now.Add(2*time.Second))
	if err != nil || res.Written != 0 || z.applies != applies || z.reads != reads {
		t.Fatalf("unchanged sync: %+v, %v; applies %d -> %d, reads %d -> %d: want no read and no write", res, err, applies, z.applies, reads, z.reads)
	}

	moved := want("default/hello", "hello.fleet.example.com.", "127.0.1.2")
	if res, err = reg.Sync(ctx, []Name{moved}, nil, now.Add(4*time.Second)); err != nil || res.Written != 1 {
		t.Fatalf("one address gone: %+v, %v: want exactly 1 record set written", res, err)
	}
	if got, _ := z.get("hello.fleet.example.com.", dns.TypeA); !slices.Equal(got.Targets, []string{"127.0.1.2"}) {
		t.Fatalf("A = %v", got.Targets)
	}

	if res, err = reg.Sync(ctx, nil, nil, now.Add(6*time.Second)); err != nil || res.Written != 2 || res.Names != 0 {
		t.Fatalf("app gone: %+v, %v: want its A and its ownership record deleted", res, err)
	}
	if _, ok := z.get("_fnfleet.hello.fleet.example.com.", dns.TypeTXT); ok {
		t.Fatal("ownership record left behind")
	}
}

func TestSyncLeavesForeignNamesAloneAndReportsThem(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	handMade := a("www.fleet.example.com.", "192.0.2.1")
	otherFleet := a("api.fleet.example.com.", "192.0.2.2")
	otherOwner := dns.Record{Name: "_fnfleet.api.fleet.example.com.", Type: dns.TypeTXT, TTL: 30,
		Targets: []string{"heritage=fnfleet,owner=fleet-b,app=default/api"}}
	z := newZone(handMade, otherFleet, otherOwner)
	reg, err := New(Config{Provider: z, Owner: "fleet-a"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := reg.Sync(ctx, []Name{
		want("default/www", "www.fleet.example.com.", "127.0.1.1"),
		want("default/api", "api.fleet.example.com.", "127.0.1.1"),
		want("default/ok", "ok.fleet.example.com.", "127.0.1.1"),
	}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Conflicts["default/www"]; len(got) != 1 || got[0] != "www.fleet.example.com. is held by records without an ownership record" {
		t.Errorf("www conflicts = %q", got)
	}
	if got := res.Conflicts["default/api"]; len(got) != 1 || got[0] != "api.fleet.example.com. is held by fleet fleet-b" {
		t.Errorf("api conflicts = %q", got)
	}
	if got, _ := z.get("www.fleet.example.com.", dns.TypeA); !got.Equal(handMade) {
		t.Errorf("hand-made record changed: %+v", got)
	}
	if got, _ := z.get("api.fleet.example.com.", dns.TypeA); !got.Equal(otherFleet) {
		t.Errorf("another fleet's record changed: %+v", got)
	}
	if _, ok := z.get("ok.fleet.example.com.", dns.TypeA); !ok || res.Names != 1 {
		t.Errorf("the free name was not written (names owned %d)", res.Names)
	}
}

func TestSyncRereadsANameAnotherWriterChanged(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	z := newZone()
	reg, err := New(Config{Provider: z, Owner: "fleet-a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Sync(ctx, []Name{want("default/hello", "hello.fleet.example.com.", "127.0.1.1")}, nil, now); err != nil {
		t.Fatal(err)
	}
	// Someone edits our name behind the cache's back.
	z.mu.Lock()
	z.sets[dns.Key{Name: "hello.fleet.example.com.", Type: dns.TypeA}] = a("hello.fleet.example.com.", "203.0.113.9")
	z.mu.Unlock()

	next := want("default/hello", "hello.fleet.example.com.", "127.0.1.2")
	res, err := reg.Sync(ctx, []Name{next}, nil, now.Add(2*time.Second))
	if err != nil || res.Written != 0 {
		t.Fatalf("sync over a changed record: %+v, %v; want nothing written and no error (the name is read again next time)", res, err)
	}
	if got, _ := z.get("hello.fleet.example.com.", dns.TypeA); !slices.Equal(got.Targets, []string{"203.0.113.9"}) {
		t.Fatalf("the conflicting write overwrote the other writer: %v", got.Targets)
	}
	// The next sync reads the name again and writes from what is there.
	if _, err := reg.Sync(ctx, []Name{next}, nil, now.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _ := z.get("hello.fleet.example.com.", dns.TypeA); !slices.Equal(got.Targets, []string{"127.0.1.2"}) {
		t.Fatalf("after the re-read: %v", got.Targets)
	}
}

func TestAClaimThatLosesARaceIsReportedAndLeavesNothing(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	z := newZone()
	reg, _ := New(Config{Provider: z, Owner: "fleet-a"})
	if _, err := reg.Sync(ctx, nil, nil, now); err != nil { // cold: reads the empty zone
		t.Fatal(err)
	}
	// Another writer takes the name after the registry read the zone.
	theirs := a("race.fleet.example.com.", "203.0.113.1")
	z.mu.Lock()
	z.sets[theirs.Key()] = theirs
	z.mu.Unlock()
	res, err := reg.Sync(ctx, []Name{want("default/race", "race.fleet.example.com.", "127.0.1.1")}, nil, now.Add(2*time.Second))
	if err != nil || len(res.Conflicts["default/race"]) != 1 {
		t.Fatalf("lost race: %+v, %v; want the app told, no error", res, err)
	}
	if _, ok := z.get("_fnfleet.race.fleet.example.com.", dns.TypeTXT); ok {
		t.Fatal("an ownership record was written beside another writer's record")
	}
	res, err = reg.Sync(ctx, []Name{want("default/race", "race.fleet.example.com.", "127.0.1.1")}, nil, now.Add(4*time.Second))
	if err != nil || len(res.Conflicts["default/race"]) != 1 || !strings.Contains(res.Conflicts["default/race"][0], "without an ownership record") {
		t.Fatalf("next sync: %+v, %v; want the name read again and reported as held by another", res, err)
	}
	if got, _ := z.get("race.fleet.example.com.", dns.TypeA); !got.Equal(theirs) {
		t.Fatalf("their record changed: %+v", got)
	}
}

func TestAColdRegistryFindsItsNamesFromWhatItIsTold(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	z := newZone()
	first, _ := New(Config{Provider: z, Owner: "fleet-a"})
	if _, err := first.Sync(ctx, []Name{want("default/old", "old.fleet.example.com.", "127.0.1.1")}, nil, now); err != nil {
		t.Fatal(err)
	}
	// A new process (the dns function restarted) no longer wants the name,
	// and learns of it from the app's status.
	second, _ := New(Config{Provider: z, Owner: "fleet-a"})
	res, err := second.Sync(ctx, nil, []string{"old.fleet.example.com."}, now.Add(time.Minute))
	if err != nil || !res.Verified || res.Written != 2 {
		t.Fatalf("cold sync: %+v, %v: want the old name's 2 record sets deleted", res, err)
	}
	if len(z.sets) != 0 {
		t.Fatalf("left in the zone: %v", z.sets)
	}
}
