package dnstest_test

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/fnfleet/fnfleet/test/dnstest"
)

// TestStartBINDAnswersForItsZone: the server started answers real queries
// for its zone and refuses unsigned updates.
func TestStartBINDAnswersForItsZone(t *testing.T) {
	b := dnstest.StartBIND(t, "fleet.test.")
	soa := b.Query(t, "fleet.test.", dns.TypeSOA)
	if len(soa) != 1 || soa[0].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("SOA query answered %v", soa)
	}
	glue := b.Query(t, "ns.fleet.test.", dns.TypeA)
	if len(glue) != 1 || glue[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Fatalf("ns.fleet.test. A answered %v, want 127.0.0.1", glue)
	}
	if got := b.Query(t, "absent.fleet.test.", dns.TypeA); len(got) != 0 {
		t.Fatalf("absent.fleet.test. A answered %v, want nothing", got)
	}

	m := new(dns.Msg)
	m.SetUpdate("fleet.test.")
	m.Insert([]dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "unsigned.fleet.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{192, 0, 2, 1}}})
	r, err := dns.Exchange(m, b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeRefused {
		t.Errorf("an unsigned update was answered %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	if got := b.Query(t, "unsigned.fleet.test.", dns.TypeA); len(got) != 0 {
		t.Errorf("the unsigned update was written: %v", got)
	}
}
