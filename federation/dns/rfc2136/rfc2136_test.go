package rfc2136_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	fleetdns "github.com/fnfleet/fnfleet/federation/dns"
	"github.com/fnfleet/fnfleet/federation/dns/rfc2136"
	"github.com/fnfleet/fnfleet/test/dnstest"
)

const zone = "fleet.test."

// testTimeout bounds one test's calls, generous for a loaded CI machine.
const testTimeout = 2 * time.Minute

func newProvider(t testing.TB, b *dnstest.BIND, edit ...func(*rfc2136.Config)) *rfc2136.Provider {
	t.Helper()
	cfg := rfc2136.Config{
		Server:    b.Addr,
		Zone:      b.Zone,
		KeyName:   b.KeyName,
		Algorithm: b.Algorithm,
		Secret:    b.Secret,
	}
	for _, e := range edit {
		e(&cfg)
	}
	p, err := rfc2136.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rec(name, typ string, ttl uint32, targets ...string) fleetdns.Record {
	return fleetdns.Record{Name: name, Type: typ, TTL: ttl, Targets: targets}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// answers is what BIND answers to a real query of name and type: the
// name's own records of that type, as targets, sorted.
func answers(t testing.TB, b *dnstest.BIND, name string, qtype uint16) []string {
	t.Helper()
	var out []string
	for _, rr := range b.Query(t, name, qtype) {
		if rr.Header().Rrtype != qtype || !strings.EqualFold(rr.Header().Name, name) {
			continue
		}
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		case *dns.CNAME:
			out = append(out, v.Target)
		case *dns.TXT:
			out = append(out, strings.Join(v.Txt, ""))
		}
	}
	slices.Sort(out)
	return out
}

func wantAnswers(t testing.TB, b *dnstest.BIND, name string, qtype uint16, want ...string) {
	t.Helper()
	if got := answers(t, b, name, qtype); !slices.Equal(got, want) {
		t.Errorf("BIND answers %s %s with %q, want %q", name, dns.TypeToString[qtype], got, want)
	}
}

func wantRecords(t testing.TB, p *rfc2136.Provider, names []string, want ...fleetdns.Record) {
	t.Helper()
	got, err := p.Records(testContext(t), names)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, fleetdns.Record.Equal) {
		t.Errorf("Records(%v):\n got %v\nwant %v", names, got, want)
	}
}

// TestApplyWritesWhatBINDAnswers: creates, updates and deletes of every
// type the fleet writes, checked by real queries, and read back by
// Records as written.
func TestApplyWritesWhatBINDAnswers(t *testing.T) {
	b := dnstest.StartBIND(t, zone)
	p := newProvider(t, b)
	ctx := testContext(t)

	// A TXT target longer than one character-string (255 bytes), with a
	// quote and a backslash, comes back whole.
	long := strings.Repeat("owner=fnfleet,app=default/hello;", 10) + `"quoted" \back`
	created := []fleetdns.Record{
		rec("hello.fleet.test.", fleetdns.TypeA, 60, "192.0.2.2", "192.0.2.1"),
		rec("hello.fleet.test.", fleetdns.TypeAAAA, 60, "2001:db8::1"),
		rec("_fnfleet.hello.fleet.test.", fleetdns.TypeTXT, 60, long, "second"),
		rec("eu.hello.fleet.test.", fleetdns.TypeCNAME, 30, "hello.fleet.test."),
	}
	if err := p.Apply(ctx, fleetdns.Changes{Create: created}); err != nil {
		t.Fatal(err)
	}
	wantAnswers(t, b, "hello.fleet.test.", dns.TypeA, "192.0.2.1", "192.0.2.2")
	wantAnswers(t, b, "hello.fleet.test.", dns.TypeAAAA, "2001:db8::1")
	wantAnswers(t, b, "eu.hello.fleet.test.", dns.TypeCNAME, "hello.fleet.test.")
	if got := answers(t, b, "_fnfleet.hello.fleet.test.", dns.TypeTXT); len(got) != 2 {
		t.Errorf("BIND answers %d TXT records, want 2: %q", len(got), got)
	}
	names := []string{"hello.fleet.test.", "_fnfleet.hello.fleet.test.", "eu.hello.fleet.test.", "absent.fleet.test."}
	wantRecords(t, p, names,
		rec("_fnfleet.hello.fleet.test.", fleetdns.TypeTXT, 60, long, "second"),
		rec("eu.hello.fleet.test.", fleetdns.TypeCNAME, 30, "hello.fleet.test."),
		rec("hello.fleet.test.", fleetdns.TypeA, 60, "192.0.2.1", "192.0.2.2"),
		rec("hello.fleet.test.", fleetdns.TypeAAAA, 60, "2001:db8::1"),
	)

	// An update replaces the whole set (TTL too); a delete removes it; a
	// name going from CNAME to A loses the CNAME first in the same message.
	err := p.Apply(ctx, fleetdns.Changes{
		Update: []fleetdns.Update{{
			Old: rec("hello.fleet.test.", fleetdns.TypeA, 60, "192.0.2.1", "192.0.2.2"),
			New: rec("hello.fleet.test.", fleetdns.TypeA, 120, "192.0.2.3"),
		}},
		Delete: []fleetdns.Record{
			rec("hello.fleet.test.", fleetdns.TypeAAAA, 60, "2001:db8::1"),
			rec("eu.hello.fleet.test.", fleetdns.TypeCNAME, 30, "hello.fleet.test."),
		},
		Create: []fleetdns.Record{rec("eu.hello.fleet.test.", fleetdns.TypeA, 30, "192.0.2.9")},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantAnswers(t, b, "hello.fleet.test.", dns.TypeA, "192.0.2.3")
	wantAnswers(t, b, "hello.fleet.test.", dns.TypeAAAA)
	wantAnswers(t, b, "eu.hello.fleet.test.", dns.TypeCNAME)
	wantAnswers(t, b, "eu.hello.fleet.test.", dns.TypeA, "192.0.2.9")
	wantRecords(t, p, names,
		rec("_fnfleet.hello.fleet.test.", fleetdns.TypeTXT, 60, long, "second"),
		rec("eu.hello.fleet.test.", fleetdns.TypeA, 30, "192.0.2.9"),
		rec("hello.fleet.test.", fleetdns.TypeA, 120, "192.0.2.3"),
	)

	if _, err := p.Records(ctx, []string{"hello.example.com."}); err == nil || !strings.Contains(err.Error(), "outside zone") {
		t.Errorf("Records of a name outside the zone: %v, want an error saying so", err)
	}
}

// TestHMACSHA512KeysSign: a key of the other algorithm offered signs
// updates BIND accepts.
func TestHMACSHA512KeysSign(t *testing.T) {
	b := dnstest.StartBIND(t, zone, dnstest.WithAlgorithm(v1alpha1.TSIGHMACSHA512))
	p := newProvider(t, b)
	if err := p.Apply(testContext(t), fleetdns.Changes{Create: []fleetdns.Record{rec("hello.fleet.test.", fleetdns.TypeA, 60, "192.0.2.1")}}); err != nil {
		t.Fatal(err)
	}
	wantAnswers(t, b, "hello.fleet.test.", dns.TypeA, "192.0.2.1")
}

// TestWrongKeyIsRefusedAndNothingWritten: an unknown key and a wrong
// secret are both refused with an error that says what to check.
func TestWrongKeyIsRefusedAndNothingWritten(t *testing.T) {
	b := dnstest.StartBIND(t, zone)
	ctx := testContext(t)
	for _, tc := range []struct {
		name string
		edit func(*rfc2136.Config)
	}{
		{"wrong secret", func(c *rfc2136.Config) { c.Secret = "d3Jvbmcgc2VjcmV0IGZvciB0aGUga2V5IDEyMzQ1Njc=" }},
		{"unknown key", func(c *rfc2136.Config) { c.KeyName = "other-key" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(t, b, tc.edit)
			err := p.Apply(ctx, fleetdns.Changes{Create: []fleetdns.Record{rec("hello.fleet.test.", fleetdns.TypeA, 60, "192.0.2.1")}})
			if !errors.Is(err, rfc2136.ErrRefused) {
				t.Fatalf("Apply with a wrong key: %v, want ErrRefused", err)
			}
			for _, want := range []string{"TSIG key", b.Addr, "check tsigKeyName", "secret"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error %q does not say %q", err, want)
				}
			}
			wantAnswers(t, b, "hello.fleet.test.", dns.TypeA)
		})
	}
}

// TestStaleOldIsAConflictAndTheRestIsWritten: an update whose Old is no
// longer what BIND holds is left alone and named; the other names of the
// same batch are written.
func TestStaleOldIsAConflictAndTheRestIsWritten(t *testing.T) {
	b := dnstest.StartBIND(t, zone)
	p := newProvider(t, b)
	ctx := testContext(t)
	a := rec("a.fleet.test.", fleetdns.TypeA, 60, "192.0.2.1")
	bRec := rec("b.fleet.test.", fleetdns.TypeA, 60, "192.0.2.2")
	if err := p.Apply(ctx, fleetdns.Changes{Create: []fleetdns.Record{a, bRec}}); err != nil {
		t.Fatal(err)
	}
	// Another writer holds a foreign CNAME at d: creating an A there is a
	// conflict too, not a write BIND would ignore.
	if err := p.Apply(ctx, fleetdns.Changes{Create: []fleetdns.Record{rec("d.fleet.test.", fleetdns.TypeCNAME, 60, "elsewhere.example.")}}); err != nil {
		t.Fatal(err)
	}

	before := p.Stats().Updates
	err := p.Apply(ctx, fleetdns.Changes{
		Update: []fleetdns.Update{
			{Old: rec("a.fleet.test.", fleetdns.TypeA, 60, "192.0.2.99"), New: rec("a.fleet.test.", fleetdns.TypeA, 60, "192.0.2.3")},
			{Old: bRec, New: rec("b.fleet.test.", fleetdns.TypeA, 60, "192.0.2.4")},
		},
		Create: []fleetdns.Record{
			rec("c.fleet.test.", fleetdns.TypeA, 60, "192.0.2.5"),
			rec("d.fleet.test.", fleetdns.TypeA, 60, "192.0.2.6"),
		},
	})
	var conflict *fleetdns.ConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, fleetdns.ErrConflict) {
		t.Fatalf("Apply with a stale Old: %v, want a *ConflictError", err)
	}
	if want := []string{"a.fleet.test.", "d.fleet.test."}; !slices.Equal(conflict.Names, want) {
		t.Errorf("conflict names %v, want %v", conflict.Names, want)
	}
	wantAnswers(t, b, "a.fleet.test.", dns.TypeA, "192.0.2.1")
	wantAnswers(t, b, "b.fleet.test.", dns.TypeA, "192.0.2.4")
	wantAnswers(t, b, "c.fleet.test.", dns.TypeA, "192.0.2.5")
	wantAnswers(t, b, "d.fleet.test.", dns.TypeA)
	wantAnswers(t, b, "d.fleet.test.", dns.TypeCNAME, "elsewhere.example.")
	// One batch refused whole, then each of its 4 names on its own.
	if got := p.Stats().Updates - before; got != 5 {
		t.Errorf("%d update messages, want 5 (the batch, then its 4 names one by one)", got)
	}
}

// TestTwoWritersLoseNothing: two providers create the same name with
// different addresses at once, round after round: exactly one wins each
// time, the other is told of the conflict, and each one's other name of
// the same message is written.
func TestTwoWritersLoseNothing(t *testing.T) {
	b := dnstest.StartBIND(t, zone)
	writers := []*rfc2136.Provider{newProvider(t, b), newProvider(t, b)}
	ctx := testContext(t)
	const rounds = 30
	for round := range rounds {
		shared := fmt.Sprintf("shared-%d.fleet.test.", round)
		errs := make([]error, len(writers))
		var wg sync.WaitGroup
		for i, w := range writers {
			wg.Go(func() {
				errs[i] = w.Apply(ctx, fleetdns.Changes{Create: []fleetdns.Record{
					rec(shared, fleetdns.TypeA, 60, fmt.Sprintf("192.0.2.%d", i+1)),
					rec(fmt.Sprintf("own-%d-%d.fleet.test.", round, i), fleetdns.TypeA, 60, fmt.Sprintf("198.51.100.%d", i+1)),
				}})
			})
		}
		wg.Wait()
		var winners []int
		for i, err := range errs {
			var conflict *fleetdns.ConflictError
			switch {
			case err == nil:
				winners = append(winners, i)
			case errors.As(err, &conflict) && slices.Equal(conflict.Names, []string{shared}):
			default:
				t.Fatalf("round %d, writer %d: %v, want success or a conflict at %s", round, i, err, shared)
			}
			wantAnswers(t, b, fmt.Sprintf("own-%d-%d.fleet.test.", round, i), dns.TypeA, fmt.Sprintf("198.51.100.%d", i+1))
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d writers succeeded at %s, want exactly 1", round, len(winners), shared)
		}
		wantAnswers(t, b, shared, dns.TypeA, fmt.Sprintf("192.0.2.%d", winners[0]+1))
	}
}

// TestABatchOf1000NamesTakesOneMessagePer100: writes follow the changes:
// 1,000 names take ceil(1000/BatchNames) update messages, and reading
// them back takes four queries a name.
func TestABatchOf1000NamesTakesOneMessagePer100(t *testing.T) {
	b := dnstest.StartBIND(t, zone)
	p := newProvider(t, b)
	ctx := testContext(t)
	var create []fleetdns.Record
	var names []string
	for i := range 1000 {
		name := fmt.Sprintf("app-%d.fleet.test.", i)
		names = append(names, name)
		create = append(create, rec(name, fleetdns.TypeA, 60, fmt.Sprintf("10.0.%d.%d", i/256, i%256)))
	}
	if err := p.Apply(ctx, fleetdns.Changes{Create: create}); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Stats().Updates, int64((1000+rfc2136.DefaultBatchNames-1)/rfc2136.DefaultBatchNames); got != want {
		t.Errorf("%d update messages for 1,000 names, want %d", got, want)
	}
	got, err := p.Records(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1000 {
		t.Fatalf("Records found %d record sets, want 1000", len(got))
	}
	if q := p.Stats().Queries; q != 4000 {
		t.Errorf("%d queries to read 1,000 names, want 4,000", q)
	}
	wantAnswers(t, b, "app-999.fleet.test.", dns.TypeA, "10.0.3.231")

	// Nothing changed, nothing sent.
	if err := p.Apply(ctx, fleetdns.Changes{}); err != nil || p.Stats().Updates != 10 {
		t.Errorf("Apply of no changes: %v, %d update messages in all, want none sent", err, p.Stats().Updates)
	}
}

// TestRecordsFailsWhenTheStateIsUnknown: a server that refuses the
// query, or none at all, is an error, never an empty zone.
func TestRecordsFailsWhenTheStateIsUnknown(t *testing.T) {
	b := dnstest.StartBIND(t, zone)
	ctx := testContext(t)

	notServed := newProvider(t, b, func(c *rfc2136.Config) { c.Zone = "other.test." })
	if got, err := notServed.Records(ctx, []string{"hello.other.test."}); err == nil {
		t.Errorf("Records of a zone BIND does not serve: %v and no error", got)
	}
	err := notServed.Apply(ctx, fleetdns.Changes{Create: []fleetdns.Record{rec("hello.other.test.", fleetdns.TypeA, 60, "192.0.2.1")}})
	if err == nil {
		t.Error("Apply to a zone BIND does not serve succeeded")
	}

	nobody := newProvider(t, b, func(c *rfc2136.Config) { c.Server = "127.0.0.1:1"; c.Timeout = time.Second })
	if got, err := nobody.Records(ctx, []string{"hello.fleet.test."}); err == nil {
		t.Errorf("Records with no server: %v and no error", got)
	}
}

// TestApplyRefusesWhatPlainDNSCannotExpress: weighted and geo record
// sets are refused before anything is sent, and Capabilities says so.
func TestApplyRefusesWhatPlainDNSCannotExpress(t *testing.T) {
	p, err := rfc2136.New(rfc2136.Config{Server: "127.0.0.1:53", Zone: zone, KeyName: "k", Secret: "c2VjcmV0"})
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Capabilities(); c.Weighted || c.Geo {
		t.Errorf("Capabilities %+v, want neither weighted nor geo", c)
	}
	weighted := rec("hello.fleet.test.", fleetdns.TypeA, 60, "192.0.2.1")
	weighted.SetID, weighted.Weight = "member-1", 10
	for _, c := range []fleetdns.Changes{
		{Create: []fleetdns.Record{weighted}},
		{Create: []fleetdns.Record{rec("hello.example.com.", fleetdns.TypeA, 60, "192.0.2.1")}},
		{Create: []fleetdns.Record{rec("hello.fleet.test.", fleetdns.TypeA, 60, "2001:db8::1")}},
		{Create: []fleetdns.Record{rec("hello.fleet.test.", "MX", 60, "mail.fleet.test.")}},
		{Create: []fleetdns.Record{
			rec("hello.fleet.test.", fleetdns.TypeA, 60, "192.0.2.1"),
			rec("hello.fleet.test.", fleetdns.TypeCNAME, 60, "x.fleet.test."),
		}},
	} {
		if err := p.Apply(context.Background(), c); err == nil {
			t.Errorf("Apply(%v) succeeded, want refused", c)
		}
	}
	if s := p.Stats(); s.Updates != 0 {
		t.Errorf("%d update messages sent for refused changes, want 0", s.Updates)
	}
}

// TestNewSaysWhatIsWrong: each bad setting is named in the error.
func TestNewSaysWhatIsWrong(t *testing.T) {
	good := rfc2136.Config{Server: "127.0.0.1:53", Zone: zone, KeyName: "fnfleet-key", Secret: "c2VjcmV0"}
	for _, tc := range []struct {
		edit func(*rfc2136.Config)
		want string
	}{
		{func(c *rfc2136.Config) { c.Server = "127.0.0.1" }, "host:port"},
		{func(c *rfc2136.Config) { c.Zone = "fleet.test" }, "fully qualified"},
		{func(c *rfc2136.Config) { c.KeyName = "" }, "tsigKeyName"},
		{func(c *rfc2136.Config) { c.Algorithm = "hmac-md5" }, "hmac-sha256"},
		{func(c *rfc2136.Config) { c.Secret = "not base64!" }, "not valid base64"},
		{func(c *rfc2136.Config) { c.Secret = "" }, "secret"},
		{func(c *rfc2136.Config) { c.BatchNames = -1 }, "negative"},
	} {
		cfg := good
		tc.edit(&cfg)
		if _, err := rfc2136.New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v): %v, want an error saying %q", cfg, err, tc.want)
		}
	}
	good.Algorithm = "hmac-sha512"
	if _, err := rfc2136.New(good); err != nil {
		t.Errorf("New with hmac-sha512: %v", err)
	}
}
