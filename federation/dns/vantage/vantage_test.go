package vantage_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/dns/health"
	"github.com/fnfleet/fnfleet/federation/dns/vantage"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// vantageMember starts a member's Fn (in-process) that knows the probe
// function's image as bin/probe; nothing is deployed on it.
func vantageMember(t *testing.T) string {
	t.Helper()
	return testbed.FnServer(t, map[string]string{vantage.Image: testbed.Built(t, "probe")})
}

func newClient(t *testing.T) *vantage.Client {
	return vantage.New(vantage.Config{Logger: testbed.Logger(t)})
}

// TestClientDeploysAndAsks: the first Probe on a member deploys the probe
// function there and answers what it found; a member that lost the
// function gets it again; a member that cannot be reached has no answer.
func TestClientDeploysAndAsks(t *testing.T) {
	ctx := t.Context()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/t/hello/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer target.Close()
	fn := vantageMember(t)
	c := newClient(t)
	from := health.Vantage{Cluster: "member-b", FnAPI: fn}

	r, err := c.Probe(ctx, from, target.URL+"/t/hello/hello", 0)
	if err != nil || !r.Up || r.Status != 200 {
		t.Fatalf("Probe of an answering URL = %+v, %v; want up, 200", r, err)
	}
	r, err = c.Probe(ctx, from, target.URL+"/t/hello/down", 0)
	if err != nil || r.Up || r.Status != 503 || !strings.Contains(r.Reason, "503") {
		t.Fatalf("Probe of a failing URL = %+v, %v; want down, 503", r, err)
	}

	if err := fndeploy.Remove(ctx, fn, vantage.AppName); err != nil {
		t.Fatal(err)
	}
	if r, err = c.Probe(ctx, from, target.URL+"/t/hello/hello", 0); err != nil || !r.Up {
		t.Fatalf("Probe after the member lost the function = %+v, %v; want it deployed again and up", r, err)
	}

	checkMemory(t, testbed.Built(t, "probe"))

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if r, err := c.Probe(ctx, health.Vantage{Cluster: "member-gone", FnAPI: closed.URL}, target.URL+"/t/hello/hello", 0); err == nil ||
		!strings.Contains(err.Error(), "member-gone") {
		t.Errorf("Probe from an unreachable member = %+v, %v; want an error naming it", r, err)
	}
}

// TestHubCutOffDropsNothing is issue 17's split brain: the hub's probes go
// through a proxy, and cutting it (the hub alone loses the member) drops
// nothing while two other members (their probe functions, deployed by the
// client, bin/probe) still reach it; killing the member itself drops it,
// as the hub and the vantage points agree; and with the vantage points out
// of reach too, the hub holds.
func TestHubCutOffDropsNothing(t *testing.T) {
	member, spec := testbed.StartHelloMember(t)
	url, err := health.ProbeURL(member.URL, spec)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testbed.StartProxy(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	checker := func() *health.Checker {
		// A member's first answer after a restart is a function's cold
		// start: seconds on a loaded machine, and not what this is about.
		c, err := health.NewChecker(health.Config{Timeout: 30 * time.Second, ProxyURL: proxy.URL, Vantage: newClient(t), Logger: testbed.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	reachable := []health.Vantage{{Cluster: "member-b", FnAPI: vantageMember(t)}, {Cluster: "member-c", FnAPI: vantageMember(t)}}
	unreachable := []health.Vantage{{Cluster: "member-d", FnAPI: closed.URL}, {Cluster: "member-e", FnAPI: closed.URL}}
	// Listed too, and left out: a member does not vouch for itself.
	self := health.Vantage{Cluster: "member-a", FnAPI: member.URL}

	c := checker()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tick := func(vantages []health.Vantage, healthy bool, reason string) {
		t.Helper()
		now = now.Add(time.Second)
		target := health.Target{App: "default/hello", Cluster: "member-a", URL: url, Answering: true, Vantages: append(vantages, self)}
		v := c.Check(t.Context(), []health.Target{target}, now)[0]
		if !v.Probed || v.Healthy != healthy || !strings.Contains(v.Reason, reason) {
			t.Fatalf("at %s: %+v; want probed, healthy %v, reason saying %q", now.Format(time.TimeOnly), v, healthy, reason)
		}
	}

	tick(reachable, true, "")
	if proxy.Requests() == 0 {
		t.Fatal("the hub's probe did not go through the proxy")
	}
	proxy.Cut()
	tick(reachable, true, "proxyconnect")
	for range 3 {
		tick(reachable, true, "held: 2 of 2 vantage points reached still get an answer (member-b, member-c)")
	}
	// Cut off from the vantage points too: the hub may be the one cut
	// off, so it holds.
	tick(unreachable, true, "held: none of 2 vantage points could be asked")

	member.Kill()
	tick(reachable, false, "2 of 2 vantage points reached find it down too (member-b, member-c)")

	// A fresh checker (a restarted dns function) with a member only the
	// hub watches: it decides alone.
	member.Start()
	c = checker()
	tick(nil, true, "proxyconnect")
	tick(nil, false, "the hub decides alone")
}

// checkMemory holds the peak RSS (VmHWM) of the probe function's processes
// this test's Fn servers run (exe, children of this process) under the
// function's Fn memory limit.
func checkMemory(t *testing.T, exe string) {
	t.Helper()
	limitKB := int64(vantage.App().Functions[0].MemoryMB) << 10
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, d := range dirs {
		status, err := os.ReadFile(filepath.Join("/proc", d.Name(), "status"))
		if path, _ := os.Readlink(filepath.Join("/proc", d.Name(), "exe")); err != nil || path != exe {
			continue
		}
		var ppid, hwmKB int64
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "PPid:"); ok {
				ppid, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				hwmKB, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			}
		}
		if ppid != int64(os.Getpid()) {
			continue
		}
		seen++
		t.Logf("probe function (pid %s): peak RSS %d MiB, limit %d MB", d.Name(), hwmKB>>10, limitKB>>10)
		if hwmKB > limitKB {
			t.Errorf("probe function (pid %s): peak RSS %d KiB is over its %d MB limit", d.Name(), hwmKB, limitKB>>10)
		}
	}
	if seen == 0 {
		t.Error("no process of the probe function to measure")
	}
}
