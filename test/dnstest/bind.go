// Package dnstest gives tests a real authoritative DNS server, the way
// httptest gives them an HTTP server: StartBIND runs Debian's BIND9 on a
// free loopback port, serving one zone that accepts TSIG-signed dynamic
// updates (RFC 2136), and stops it when the test ends.
//
// BIND comes from `make tools` (it installs bind9 through apt-get when
// named is missing).
//
// StartCoreDNS runs CoreDNS (bin/coredns, built by `make tools`) serving a
// zone from etcd with its etcd plugin; StartEtcd runs the etcd for it.
package dnstest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

const (
	// keyName is the TSIG key BIND grants updates to.
	keyName = "fnfleet-key"
	// startTimeout bounds one start of named; it takes ~0.1 s, the rest is
	// room for a loaded 2-core CI machine.
	startTimeout = 30 * time.Second
	// startTries: a free port found by binding and closing it can be taken
	// by another process before named binds it; another port is tried.
	startTries = 5
	// queryTimeout bounds one query of Query and of the start-up check.
	queryTimeout = 5 * time.Second
	// logTail is how many of named's last log lines a failure prints.
	logTail = 100
)

// BIND is a running named serving Zone at Addr.
type BIND struct {
	// Addr is "127.0.0.1:PORT" (UDP and TCP).
	Addr string
	// Zone is the zone served, fully qualified.
	Zone string
	// KeyName, Algorithm and Secret (base64, as tsig-keygen prints it)
	// are the TSIG key the zone grants every update in it to.
	KeyName   string
	Algorithm v1alpha1.TSIGAlgorithm
	Secret    string

	dir string
}

// Option changes how StartBIND sets up the server.
type Option func(*BIND)

// WithAlgorithm makes the key's algorithm a rather than hmac-sha256.
func WithAlgorithm(a v1alpha1.TSIGAlgorithm) Option {
	return func(b *BIND) { b.Algorithm = a }
}

// StartBIND starts named serving zone (fully qualified, e.g.
// "fleet.test.") with only its SOA and NS records, and stops it when the
// test ends, printing its log if the test failed.
func StartBIND(t testing.TB, zone string, opts ...Option) *BIND {
	t.Helper()
	if !dns.IsFqdn(zone) {
		t.Fatalf("dnstest: zone %q must be fully qualified, with its trailing dot", zone)
	}
	named := namedPath()
	if named == "" {
		t.Fatal("BIND9 not installed: run make tools (it installs bind9 through apt)")
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	b := &BIND{
		Zone:      strings.ToLower(zone),
		KeyName:   keyName,
		Algorithm: v1alpha1.TSIGHMACSHA256,
		Secret:    base64.StdEncoding.EncodeToString(secret),
		dir:       t.TempDir(),
	}
	for _, o := range opts {
		o(b)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "zone.db"), []byte(b.zoneFile()), 0o644); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range startTries {
		p, err := b.start(named)
		if err == nil {
			t.Cleanup(func() {
				p.stop()
				if t.Failed() {
					t.Logf("dnstest: named's log (last %d lines):\n%s", logTail, b.logTail())
				}
			})
			return b
		}
		lastErr = err
		if !errors.Is(err, errAddressInUse) {
			break
		}
	}
	t.Fatalf("dnstest: %v\nnamed's log (last %d lines):\n%s", lastErr, logTail, b.logTail())
	return nil
}

// namedPath finds named: on PATH, or in /usr/sbin where Debian puts it
// (not on a non-root user's PATH).
func namedPath() string {
	if p, err := exec.LookPath("named"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/named"); err == nil {
		return "/usr/sbin/named"
	}
	return ""
}

var errAddressInUse = errors.New("address in use")

// process is a running named; exited is closed when it has exited, with
// Wait's result in err.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// stop ends named and waits for it: SIGTERM lets it finish writing its
// journal, SIGKILL after 5 s.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// start runs named on a free port and waits until it answers for the zone.
func (b *BIND) start(named string) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	b.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	conf := filepath.Join(b.dir, "named.conf")
	if err := os.WriteFile(conf, []byte(b.config(port)), 0o644); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(b.dir, "named.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	// -g: foreground, everything logged to stderr, from before the config
	// is read (-f would send start-up errors to syslog).
	cmd := exec.Command(named, "-g", "-c", conf)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// named must not outlive a test binary that dies without cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start named: %w", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()

	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			// named exits when it cannot listen: another process took the
			// port between freePort and now.
			if strings.Contains(b.log(), "unable to listen on any configured interfaces") {
				return nil, fmt.Errorf("port %d: %w", port, errAddressInUse)
			}
			return nil, fmt.Errorf("named exited at start: %w", p.err)
		default:
		}
		if b.answersSOA() {
			return p, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("named did not answer for %s at %s within %v", b.Zone, b.Addr, startTimeout)
}

// answersSOA reports whether named answers authoritatively for the zone.
func (b *BIND) answersSOA() bool {
	c := dns.Client{Net: "tcp", Timeout: time.Second}
	m := new(dns.Msg)
	m.SetQuestion(b.Zone, dns.TypeSOA)
	r, _, err := c.Exchange(m, b.Addr)
	return err == nil && r.Rcode == dns.RcodeSuccess && r.Authoritative && len(r.Answer) == 1
}

// freePort finds a loopback port free for both TCP and UDP.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return port, nil
	}
	return 0, errors.New("no loopback port free for both TCP and UDP")
}

func (b *BIND) config(port int) string {
	return fmt.Sprintf(`options {
	directory %[1]q;
	pid-file "named.pid";
	session-keyfile "session.key";
	listen-on port %[2]d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
};
// No rndc: the test stops named by signal, and the control port is
// shared by every named on the machine.
controls { };
key %[3]q {
	algorithm %[4]s;
	secret %[5]q;
};
zone %[6]q {
	type primary;
	file "zone.db";
	update-policy { grant %[3]s zonesub ANY; };
	allow-transfer { key %[3]s; };
};
`, b.dir, port, b.KeyName, b.Algorithm, b.Secret, b.Zone)
}

func (b *BIND) zoneFile() string {
	return fmt.Sprintf(`$ORIGIN %[1]s
$TTL 60
@	SOA	ns.%[1]s hostmaster.%[1]s 1 3600 600 86400 60
@	NS	ns.%[1]s
ns	A	127.0.0.1
`, b.Zone)
}

// log is what named has printed so far.
func (b *BIND) log() string {
	out, _ := os.ReadFile(filepath.Join(b.dir, "named.log"))
	return string(out)
}

// logTail is the end of the log: named logs a line per record updated, and
// a benchmark writes 10,000.
func (b *BIND) logTail() string {
	lines := strings.Split(strings.TrimSpace(b.log()), "\n")
	return strings.Join(lines[max(0, len(lines)-logTail):], "\n")
}

// Query asks BIND for name's records of type qtype over TCP and returns
// the answer section (for a name holding a CNAME, the CNAME and what it
// leads to within the zone). It fails the test unless BIND answers
// NOERROR or NXDOMAIN. Call it from the test's goroutine.
func (b *BIND) Query(t testing.TB, name string, qtype uint16) []dns.RR {
	t.Helper()
	c := dns.Client{Net: "tcp", Timeout: queryTimeout}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := c.Exchange(m, b.Addr)
	if err != nil {
		t.Fatalf("dnstest: query %s %s at %s: %v", name, dns.TypeToString[qtype], b.Addr, err)
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		t.Fatalf("dnstest: query %s %s at %s: %s", name, dns.TypeToString[qtype], b.Addr, dns.RcodeToString[r.Rcode])
	}
	return r.Answer
}
