package rfc2136_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/miekg/dns"

	fleetdns "github.com/fnfleet/fnfleet/federation/dns"
	"github.com/fnfleet/fnfleet/federation/dns/rfc2136"
	"github.com/fnfleet/fnfleet/test/dnstest"
)

// owned is a Create of an A at name with its ownership TXT at
// _fnfleet.<name>, as the registry writes a name it takes.
func owned(name, addr string) []fleetdns.Record {
	return []fleetdns.Record{
		rec(name, fleetdns.TypeA, 60, addr),
		rec(fleetdns.OwnerName(name), fleetdns.TypeTXT, 60, "owner=fnfleet,app=default/hello"),
	}
}

// TestAForeignRecordKeepsTheOwnershipRecordOut: another writer holds an A
// at taken; creating an A there with its ownership TXT at
// _fnfleet.taken is a conflict naming both, and neither is written: an
// ownership TXT beside the foreign A would make the registry overwrite
// it. Both fail together from the other side too (a foreign TXT at the
// ownership name), and a free name in the same Apply is written whole.
func TestAForeignRecordKeepsTheOwnershipRecordOut(t *testing.T) {
	b := dnstest.StartBIND(t, zone)
	ctx := testContext(t)
	const taken, txtTaken, free = "taken.fleet.test.", "txt-taken.fleet.test.", "free.fleet.test."
	foreign := newProvider(t, b)
	err := foreign.Apply(ctx, fleetdns.Changes{Create: []fleetdns.Record{
		rec(taken, fleetdns.TypeA, 300, "203.0.113.7"),
		rec(fleetdns.OwnerName(txtTaken), fleetdns.TypeTXT, 300, "someone else"),
	}})
	if err != nil {
		t.Fatal(err)
	}

	p := newProvider(t, b)
	var create []fleetdns.Record
	create = append(create, owned(taken, "192.0.2.1")...)
	create = append(create, owned(txtTaken, "192.0.2.2")...)
	create = append(create, owned(free, "192.0.2.3")...)
	err = p.Apply(ctx, fleetdns.Changes{Create: create})
	var conflict *fleetdns.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("Apply beside foreign records: %v, want a *ConflictError", err)
	}
	want := []string{fleetdns.OwnerName(taken), fleetdns.OwnerName(txtTaken), taken, txtTaken}
	if !slices.Equal(conflict.Names, want) {
		t.Errorf("conflict names %v, want %v", conflict.Names, want)
	}

	wantAnswers(t, b, taken, dns.TypeA, "203.0.113.7")
	wantAnswers(t, b, fleetdns.OwnerName(taken), dns.TypeTXT)
	wantAnswers(t, b, txtTaken, dns.TypeA)
	wantAnswers(t, b, fleetdns.OwnerName(txtTaken), dns.TypeTXT, "someone else")
	wantAnswers(t, b, free, dns.TypeA, "192.0.2.3")
	wantAnswers(t, b, fleetdns.OwnerName(free), dns.TypeTXT, "owner=fnfleet,app=default/hello")
	// One batch refused whole, then each of its 3 units on its own, a
	// name and its ownership name in one message.
	if got := p.Stats().Updates; got != 4 {
		t.Errorf("%d update messages, want 4 (the batch, then its 3 units one by one)", got)
	}
}

// TestANameAndItsOwnershipNameAreOneBatchSlot: names and their ownership
// names are written together, and a batch counts them as one: 3 pairs
// in batches of 2 take 2 messages.
func TestANameAndItsOwnershipNameAreOneBatchSlot(t *testing.T) {
	b := dnstest.StartBIND(t, zone)
	p := newProvider(t, b, func(c *rfc2136.Config) { c.BatchNames = 2 })
	var create []fleetdns.Record
	for i := range 3 {
		create = append(create, owned(fmt.Sprintf("app-%d.fleet.test.", i), fmt.Sprintf("192.0.2.%d", i+1))...)
	}
	if err := p.Apply(testContext(t), fleetdns.Changes{Create: create}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		name := fmt.Sprintf("app-%d.fleet.test.", i)
		wantAnswers(t, b, name, dns.TypeA, fmt.Sprintf("192.0.2.%d", i+1))
		wantAnswers(t, b, fleetdns.OwnerName(name), dns.TypeTXT, "owner=fnfleet,app=default/hello")
	}
	if got := p.Stats().Updates; got != 2 {
		t.Errorf("%d update messages for 3 names and their ownership names in batches of 2, want 2", got)
	}
}
