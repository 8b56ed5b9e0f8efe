package localmode

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	miekg "github.com/miekg/dns"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// The local fleet's DNS: CoreDNS (bin/coredns, as `make tools` builds it)
// serving Zone from its own etcd, both supervised on loopback. The dns
// function writes the apps' names into that etcd (DNSZone ZoneName, type
// coredns), and `dig @127.0.0.1 -p PORT hello.fnfleet.internal` asks
// CoreDNS.
const (
	// Zone is the local fleet's DNS zone. .internal is reserved for
	// private use (ICANN, 2024): it can never shadow a public name.
	Zone = "fnfleet.internal."
	// ZoneName is the DNSZone object that names it.
	ZoneName = "local"
	// dnsDir holds the DNS etcd's data and the Corefile.
	dnsDir = "dns"
	// dnsTTL is the local zone's default TTL: short, so that a name's
	// change is seen at once by a resolver in front of CoreDNS.
	dnsTTL = 5
	// dnsStartTimeout bounds the wait for CoreDNS to answer the zone's
	// SOA: etcd and CoreDNS each start in well under a second.
	dnsStartTimeout = time.Minute
)

// FleetDNS is the local DNS server in the fleet file.
type FleetDNS struct {
	// Addr is CoreDNS' host:port (UDP and TCP).
	Addr string `json:"addr"`
	// Zone is the zone it serves, fully qualified.
	Zone string `json:"zone"`
	// Etcd is the etcd client URL the records are written to.
	Etcd string `json:"etcd"`
}

// startDNS starts the DNS etcd and CoreDNS, supervised, waits until the
// zone answers, and applies the DNSZone for it.
func (f *Fleet) startDNS(ctx context.Context, workdir string, etcd, coredns string) error {
	dir := filepath.Join(workdir, dnsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("local fleet: %w", err)
	}
	client, err := freeAddr()
	if err != nil {
		return err
	}
	peer, err := freeAddr()
	if err != nil {
		return err
	}
	etcdURL, peerURL := "http://"+client, "http://"+peer
	err = f.supervise("dns-etcd", etcd, []string{"--name", "dns", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "dns=" + peerURL, "--log-level", "warn"},
		func(ff *FleetFile, pid int) { ff.PIDs.DNSEtcd = pid })
	if err != nil {
		return err
	}
	addr, err := freeUDPAndTCP()
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(addr)
	corefile := filepath.Join(dir, "Corefile")
	// no_apex_fallback: the fleet writes nothing at the zone's apex, and
	// without it an address query for the apex reads the whole zone.
	conf := fmt.Sprintf("%s:%s {\n\tbind %s\n\terrors\n\tetcd {\n\t\tpath /skydns\n\t\tendpoint %s\n\t\tno_apex_fallback\n\t}\n}\n", Zone, port, host, etcdURL)
	if err := os.WriteFile(corefile, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("local fleet: %w", err)
	}
	if err := f.supervise("dns", coredns, []string{"-conf", corefile},
		func(ff *FleetFile, pid int) { ff.PIDs.DNS = pid }); err != nil {
		return err
	}
	if err := awaitZone(ctx, addr, Zone); err != nil {
		return err
	}
	f.DNSAddr = addr
	if err := f.update(func(ff *FleetFile) { ff.DNS = &FleetDNS{Addr: addr, Zone: Zone, Etcd: etcdURL} }); err != nil {
		return err
	}
	_, err = f.HubClient.CreateDNSZone(ctx, &v1alpha1.DNSZone{
		ObjectMeta: metav1.ObjectMeta{Name: ZoneName},
		Spec: v1alpha1.DNSZoneSpec{Zone: Zone, TTL: dnsTTL, Provider: v1alpha1.DNSProvider{
			Type: v1alpha1.DNSProviderCoreDNS, CoreDNS: &v1alpha1.CoreDNSProvider{EtcdEndpoints: []string{etcdURL}},
		}},
	})
	return err
}

// freeUDPAndTCP returns a loopback address whose port is free for both
// UDP and TCP now (DNS answers on both).
func freeUDPAndTCP() (string, error) {
	for range 20 {
		addr, err := freeAddr()
		if err != nil {
			return "", err
		}
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue // taken for UDP: try another
		}
		if err := pc.Close(); err != nil {
			return "", fmt.Errorf("local fleet: %w", err)
		}
		return addr, nil
	}
	return "", fmt.Errorf("local fleet: no loopback port free for both UDP and TCP after 20 tries")
}

// awaitZone asks addr for zone's SOA every 50 ms until it answers, for up
// to dnsStartTimeout.
func awaitZone(ctx context.Context, addr, zone string) error {
	q := new(miekg.Msg)
	q.SetQuestion(zone, miekg.TypeSOA)
	c := &miekg.Client{Timeout: time.Second}
	err := await(ctx, dnsStartTimeout, func(ctx context.Context) error {
		in, _, err := c.ExchangeContext(ctx, q, addr)
		if err != nil {
			return err
		}
		if in.Rcode != miekg.RcodeSuccess {
			return fmt.Errorf("answered %s", miekg.RcodeToString[in.Rcode])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("local fleet: CoreDNS does not answer for %s at %s: read logs/dns.log and logs/dns-etcd.log: %w", zone, addr, err)
	}
	return nil
}

// LookupA asks the fleet's DNS server for host's A records and returns
// their addresses, sorted; none when the name does not exist. No cache
// stands in between: it is what CoreDNS answers now.
func (f *Fleet) LookupA(ctx context.Context, host string) ([]string, error) {
	q := new(miekg.Msg)
	q.SetQuestion(miekg.Fqdn(host), miekg.TypeA)
	c := &miekg.Client{Timeout: time.Second}
	in, _, err := c.ExchangeContext(ctx, q, f.DNSAddr)
	if err != nil {
		return nil, fmt.Errorf("ask the fleet's DNS server %s for %s: %w", f.DNSAddr, host, err)
	}
	var out []string
	for _, rr := range in.Answer {
		if a, ok := rr.(*miekg.A); ok {
			out = append(out, a.A.String())
		}
	}
	slices.Sort(out)
	return out, nil
}

// Dialer returns a dialer whose names are resolved by the fleet's DNS
// server, as a caller whose resolver points at it: an HTTP client
// dialing through it reaches an app by its name in Zone.
func (f *Fleet) Dialer() *net.Dialer {
	return &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, f.DNSAddr)
	}}}
}

// HangDataPlane stops member name's Fn with SIGSTOP: it still accepts
// connections but answers nothing, as a hung server would, and lifecycle
// sees it running, so nothing restarts it until ResumeDataPlane.
func (f *Fleet) HangDataPlane(name string) error {
	return f.driver.HangDataPlane(name)
}

// ResumeDataPlane continues member name's Fn after HangDataPlane.
func (f *Fleet) ResumeDataPlane(name string) error {
	return f.driver.ResumeDataPlane(name)
}
