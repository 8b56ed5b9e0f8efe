package dnstest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/dns"
)

// CoreDNSPrefix is the etcd path the CoreDNS of StartCoreDNS reads, the
// etcd plugin's default.
const CoreDNSPrefix = "/skydns"

// CoreDNS is a running CoreDNS (bin/coredns, as `make tools` builds it)
// answering one zone from etcd with its etcd plugin.
type CoreDNS struct {
	// Addr is host:port, UDP and TCP, on loopback.
	Addr string
	// Zone is the zone it is authoritative for, fully qualified.
	Zone string
}

// StartCoreDNS runs CoreDNS for zone, reading records under CoreDNSPrefix
// from the etcd at etcdEndpoint, until the test ends. It returns once the
// server answers the zone's SOA. The test fails, telling to run make tools,
// when bin/coredns is missing.
func StartCoreDNS(t testing.TB, zone, etcdEndpoint string) *CoreDNS {
	t.Helper()
	bin := toolBinary(t, "coredns")
	zone = dns.Fqdn(zone)
	for attempt := 1; ; attempt++ {
		dir := t.TempDir()
		addr := loopbackPort(t)
		conf := filepath.Join(dir, "Corefile")
		if err := os.WriteFile(conf, []byte(corefile(zone, addr, etcdEndpoint)), 0o600); err != nil {
			t.Fatalf("dnstest: write Corefile: %v", err)
		}
		s := spawnServer(t, "coredns", filepath.Join(dir, "coredns.log"), bin, "-conf", conf)
		c := &CoreDNS{Addr: addr, Zone: zone}
		err := s.waitUntil(c.answersSOA)
		if err == nil {
			return c
		}
		if errors.Is(err, errExited) && s.addrInUse() && attempt < startTries {
			continue
		}
		t.Fatalf("dnstest: CoreDNS on %s: %v\n%s", addr, err, s.logTail())
	}
}

// corefile serves zone on addr from etcd. log records every query, so a
// failed test's log shows what was asked and answered. no_apex_fallback:
// the fleet writes no records at a zone's apex, and without it an address
// query for the apex reads the whole zone from etcd.
func corefile(zone, addr, etcdEndpoint string) string {
	host, port, _ := net.SplitHostPort(addr) // addr is built by JoinHostPort
	return fmt.Sprintf(`%s:%s {
	bind %s
	errors
	log
	etcd {
		path %s
		endpoint %s
		no_apex_fallback
	}
}
`, zone, port, host, CoreDNSPrefix, etcdEndpoint)
}

func (c *CoreDNS) answersSOA() error {
	m, err := c.exchange(c.Zone, dns.TypeSOA)
	if err != nil {
		return err
	}
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) == 0 {
		return fmt.Errorf("SOA %s: %s with %d answers", c.Zone, dns.RcodeToString[m.Rcode], len(m.Answer))
	}
	return nil
}

// Exchange sends one real query for name and qtype and returns the reply,
// failing the test when none comes.
func (c *CoreDNS) Exchange(t testing.TB, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m, err := c.exchange(name, qtype)
	if err != nil {
		t.Fatalf("dnstest: query %s %s at %s: %v", name, dns.TypeToString[qtype], c.Addr, err)
	}
	return m
}

// Query is the answer section of a real query for name and qtype: empty
// for NXDOMAIN and for no records of that type. Any other rcode (SERVFAIL
// when CoreDNS cannot read etcd) fails the test.
func (c *CoreDNS) Query(t testing.TB, name string, qtype uint16) []dns.RR {
	t.Helper()
	m := c.Exchange(t, name, qtype)
	if m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError {
		t.Fatalf("dnstest: query %s %s at %s: %s", name, dns.TypeToString[qtype], c.Addr, dns.RcodeToString[m.Rcode])
	}
	return m.Answer
}

// exchange asks over UDP, and again over TCP when the answer was truncated
// (many addresses at one name).
func (c *CoreDNS) exchange(name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	client := &dns.Client{Net: "udp", Timeout: queryTimeout}
	m, _, err := client.Exchange(q, c.Addr)
	if err == nil && m.Truncated {
		client.Net = "tcp"
		m, _, err = client.Exchange(q, c.Addr)
	}
	return m, err
}
