package rfc2136_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	fleetdns "github.com/fnfleet/fnfleet/federation/dns"
	"github.com/fnfleet/fnfleet/test/dnstest"
)

// BenchmarkOneChangeAmong10000Names measures one changed name among
// 10,000 present in BIND, from Apply to BIND answering the new address to
// a real query; updates/op shows that the writes follow the change, not
// the zone's size.
//
//	go test -run '^$' -bench OneChangeAmong10000Names ./federation/dns/rfc2136/
func BenchmarkOneChangeAmong10000Names(b *testing.B) {
	const names = 10_000
	bind := dnstest.StartBIND(b, zone)
	p := newProvider(b, bind)
	ctx := context.Background()
	current := make([]fleetdns.Record, names)
	for i := range current {
		current[i] = rec(fmt.Sprintf("app-%d.fleet.test.", i), fleetdns.TypeA, 60, fmt.Sprintf("10.%d.%d.1", i/256, i%256))
	}
	if err := p.Apply(ctx, fleetdns.Changes{Create: current}); err != nil {
		b.Fatal(err)
	}
	before := p.Stats()

	op := 0
	for b.Loop() {
		i := op % names
		next := rec(current[i].Name, fleetdns.TypeA, 60, fmt.Sprintf("10.%d.%d.%d", i/256, i%256, 2+op/names%250))
		if err := p.Apply(ctx, fleetdns.Changes{Update: []fleetdns.Update{{Old: current[i], New: next}}}); err != nil {
			b.Fatal(err)
		}
		// BIND answers from the updated zone once the update's answer
		// is sent; the loop only guards against a server that does not.
		deadline := time.Now().Add(testTimeout)
		for !slices.Equal(answers(b, bind, next.Name, dns.TypeA), next.Targets) {
			if time.Now().After(deadline) {
				b.Fatalf("BIND does not answer %s with %v %v after the update", next.Name, next.Targets, testTimeout)
			}
		}
		current[i] = next
		op++
	}
	b.ReportMetric(float64(p.Stats().Updates-before.Updates)/float64(b.N), "updates/op")
}
