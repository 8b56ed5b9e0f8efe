package registry_test

import (
	"fmt"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/fnfleet/fnfleet/federation/dns"
	"github.com/fnfleet/fnfleet/federation/dns/coredns"
	"github.com/fnfleet/fnfleet/federation/dns/registry"
	"github.com/fnfleet/fnfleet/test/dnstest"
)

// BenchmarkSyncAmong10000Names is the issue's figure "10,000 names
// present: one change applied and served (< 1 s), writes per cycle
// proportional to changes, 0 when nothing changed", through the registry
// the dns function uses, on a real etcd and CoreDNS.
//
//	FNFLEET_BIN=$PWD/bin go test -run '^$' -bench SyncAmong10000Names -benchtime 200x ./federation/dns/registry/
func BenchmarkSyncAmong10000Names(b *testing.B) {
	const names, zone = 10000, "fleet.test."
	etcd := dnstest.StartEtcd(b)
	server := dnstest.StartCoreDNS(b, zone, etcd)
	p, err := coredns.New(b.Context(), coredns.Config{Endpoints: []string{etcd}, Zone: zone})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := registry.New(registry.Config{Provider: p, Owner: "fnfleet"})
	if err != nil {
		b.Fatal(err)
	}
	want := make([]registry.Name, names)
	for i := range want {
		want[i] = name(i, fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	start := time.Now()
	res, err := reg.Sync(b.Context(), want, nil, now)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("first sync: %d names, %d record sets written in %v", res.Names, res.Written, time.Since(start).Round(time.Millisecond))

	b.Run("unchanged", func(b *testing.B) {
		written := 0
		for b.Loop() {
			res, err := reg.Sync(b.Context(), want, nil, now)
			if err != nil {
				b.Fatal(err)
			}
			written += res.Written
		}
		b.ReportMetric(float64(written)/float64(b.N), "writes/op")
	})

	b.Run("one-change", func(b *testing.B) {
		op, written := 0, 0
		for b.Loop() {
			i := op * 7919 % names // a prime stride: every op another name
			addr := fmt.Sprintf("10.1.%d.%d", op/256%256, op%256)
			want[i] = name(i, addr)
			res, err := reg.Sync(b.Context(), want, nil, now)
			if err != nil {
				b.Fatal(err)
			}
			written += res.Written
			for served := false; !served; {
				for _, rr := range server.Query(b, want[i].Name, mdns.TypeA) {
					served = served || rr.(*mdns.A).A.String() == addr
				}
			}
			op++
		}
		b.ReportMetric(float64(written)/float64(b.N), "writes/op")
	})
}

func name(i int, addr string) registry.Name {
	n := fmt.Sprintf("app-%d.fleet.test.", i)
	return registry.Name{Name: n, App: fmt.Sprintf("default/app-%d", i), TTL: 30,
		Records: []dns.Record{{Name: n, Type: dns.TypeA, TTL: 30, Targets: []string{addr}}}}
}
