package health_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/dns/health"
	"github.com/fnfleet/fnfleet/test/testbed"
)

func TestProbeURL(t *testing.T) {
	app := func(probePath string, triggers ...string) v1alpha1.FleetAppSpec {
		s := v1alpha1.FleetAppSpec{App: v1alpha1.FnApp{Name: "hello", Functions: []v1alpha1.Function{{Name: "quiet"}, {Name: "loud"}}}}
		for i, src := range triggers {
			s.App.Functions[1].Triggers = append(s.App.Functions[1].Triggers, v1alpha1.Trigger{Name: "t" + string(rune('0'+i)), Source: src})
		}
		if probePath != "" {
			s.DNS = &v1alpha1.DNSSpec{Hostname: "hello.fleet.example.com", ProbePath: probePath}
		}
		return s
	}
	for _, c := range []struct {
		name, endpoint string
		spec           v1alpha1.FleetAppSpec
		want, err      string
	}{
		{"the first trigger's source", "http://127.0.1.2:8080", app("", "/hello", "/other"), "http://127.0.1.2:8080/t/hello/hello", ""},
		{"the probe path over the trigger", "http://127.0.1.2:8080/", app("/healthz?deep=1", "/hello"), "http://127.0.1.2:8080/t/hello/healthz?deep=1", ""},
		{"an endpoint with a path", "https://fn.example.com/member-a", app("", "/hello"), "https://fn.example.com/member-a/t/hello/hello", ""},
		{"no trigger and no probe path", "http://127.0.1.2:8080", app(""), "", "set spec.dns.probePath"},
		{"not an endpoint", "127.0.1.2:8080", app("", "/hello"), "", "want http(s)://host:port"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := health.ProbeURL(c.endpoint, c.spec)
			if got != c.want || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
				t.Errorf("ProbeURL = %q, %v; want %q and an error saying %q", got, err, c.want, c.err)
			}
		})
	}
}

// TestProberAgainstARealServer: 2xx is up, a 503 and a 3xx are down with
// the status as the reason, a server that hangs is down after the
// timeout, a refused connection is down saying so, and a probe cut short
// by its caller is no verdict at all.
func TestProberAgainstARealServer(t *testing.T) {
	var mode atomic.Value
	mode.Store("ok")
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "ok":
			_, _ = w.Write([]byte("hello"))
		case "503":
			http.Error(w, "draining", http.StatusServiceUnavailable)
		case "redirect":
			http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
		case "hang":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	p, err := health.NewProber(health.Config{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	url := srv.URL + "/t/hello/hello"
	for _, c := range []struct {
		mode   string
		up     bool
		status int
		reason string
	}{
		{"ok", true, 200, "GET " + url + ": 200 OK"},
		{"503", false, 503, "GET " + url + ": 503 Service Unavailable"},
		{"redirect", false, 302, "GET " + url + ": 302 Found"},
		{"hang", false, 0, "GET " + url + ": timeout after 300ms"},
		{"ok", true, 200, "GET " + url + ": 200 OK"},
	} {
		mode.Store(c.mode)
		r, err := p.Probe(ctx, url, 0)
		if err != nil || r.Up != c.up || r.Status != c.status || r.Reason != c.reason {
			t.Errorf("%s: Probe = %+v, %v; want up %v, status %d, reason %q", c.mode, r, err, c.up, c.status, c.reason)
		}
	}

	// A probe's own timeout overrides the prober's.
	mode.Store("hang")
	if r, err := p.Probe(ctx, url, 100*time.Millisecond); err != nil || r.Up || !strings.HasSuffix(r.Reason, "timeout after 100ms") {
		t.Errorf("Probe with its own timeout = %+v, %v; want down after 100ms", r, err)
	}

	// The caller's context ending is no verdict: nothing was learned.
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if r, err := p.Probe(cctx, url, 10*time.Second); err == nil {
		t.Errorf("Probe cut short by its caller = %+v, no error; want an error, not a verdict", r)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if r, err := p.Probe(ctx, closed.URL+"/t/hello/hello", 0); err != nil || r.Up || !strings.Contains(r.Reason, "connection refused") {
		t.Errorf("Probe of a closed port = %+v, %v; want down, connection refused", r, err)
	}
}

// TestProberGoesThroughItsProxy: with ProxyURL set, every probe goes through
// the proxy (a loopback target included), and with the proxy cut the
// probes fail although the target still answers.
func TestProberGoesThroughItsProxy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) }))
	defer srv.Close()
	proxy := testbed.StartProxy(t)
	p, err := health.NewProber(health.Config{ProxyURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := p.Probe(t.Context(), srv.URL+"/t/hello/hello", 0); err != nil || !r.Up || proxy.Requests() != 1 {
		t.Fatalf("Probe through the proxy = %+v, %v, proxy saw %d requests; want up through the proxy", r, err, proxy.Requests())
	}
	proxy.Cut()
	if r, err := p.Probe(t.Context(), srv.URL+"/t/hello/hello", 0); err != nil || r.Up || !strings.Contains(r.Reason, "connection refused") {
		t.Errorf("Probe through a cut proxy = %+v, %v; want down, connection refused", r, err)
	}
	if _, err := health.NewProber(health.Config{ProxyURL: "127.0.0.1:3128"}); err == nil {
		t.Error("NewProber took a proxy URL without a scheme")
	}
}
