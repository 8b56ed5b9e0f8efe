package health_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/dns/health"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// slowLoad is the probe timeout of tests whose members must answer: a
// function's cold start after a member's restart takes milliseconds on an
// idle machine, and seconds on a loaded one; a timeout is not what these
// tests are about.
const slowLoad = 30 * time.Second

// helloOn starts a member running app hello (testbed.StartHelloMember)
// and returns it with the app's probe URL there.
func helloOn(t *testing.T) (*testbed.FnProcess, string) {
	t.Helper()
	member, spec := testbed.StartHelloMember(t)
	url, err := health.ProbeURL(member.URL, spec)
	if err != nil {
		t.Fatal(err)
	}
	return member, url
}

// ticker calls Check as the dns function's tick would, a second apart on
// the clock it passes.
type ticker struct {
	t   *testing.T
	c   *health.Checker
	now time.Time
}

func (k *ticker) tick(targets ...health.Target) []health.Verdict {
	k.t.Helper()
	k.now = k.now.Add(time.Second)
	return k.c.Check(k.t.Context(), targets, k.now)
}

// expect ticks once and checks the one target's verdict.
func (k *ticker) expect(target health.Target, healthy, changed bool, reason string) {
	k.t.Helper()
	v := k.tick(target)[0]
	if v.Healthy != healthy || v.Changed != changed || !v.Probed || !strings.Contains(v.Reason, reason) {
		k.t.Fatalf("at %s: verdict %+v; want probed, healthy %v, changed %v, reason saying %q", k.now.Format(time.TimeOnly), v, healthy, changed, reason)
	}
}

// TestCheckerMemberKilledAndBack: a real member's data plane killed leaves
// the answers on the second failed probe, and returns on the second
// answered one once it runs again.
func TestCheckerMemberKilledAndBack(t *testing.T) {
	member, url := helloOn(t)
	c, err := health.NewChecker(health.Config{Timeout: slowLoad, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	k := &ticker{t: t, c: c, now: t0}
	target := health.Target{App: "default/hello", Cluster: "member-a", URL: url}

	k.expect(target, true, true, "") // placed: in on its first answer
	k.expect(target, true, false, "")
	member.Kill()
	k.expect(target, true, false, "connection refused")
	k.expect(target, false, true, "connection refused")
	k.expect(target, false, false, "connection refused")
	member.Start()
	k.expect(target, false, false, "connection refused")
	k.expect(target, true, true, "")
}

// TestCheckerMemberHung: a member whose data plane hangs (it accepts
// connections and never answers) leaves on the second timed out probe. The
// app's status says it answers, as after a dns function's restart.
func TestCheckerMemberHung(t *testing.T) {
	member, url := helloOn(t)
	c, err := health.NewChecker(health.Config{Timeout: 500 * time.Millisecond, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	k := &ticker{t: t, c: c, now: t0}
	target := health.Target{App: "default/hello", Cluster: "member-a", URL: url, Answering: true}
	member.Hang()
	defer member.Resume()
	k.expect(target, true, false, "timeout after 500ms")
	k.expect(target, false, true, "timeout after 500ms")
}

// TestCheckerFlappingNeverDrops: a member killed and started again between
// every two ticks (up, down, up, ...) stays in the answers throughout.
func TestCheckerFlappingNeverDrops(t *testing.T) {
	member, url := helloOn(t)
	c, err := health.NewChecker(health.Config{Timeout: slowLoad, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	k := &ticker{t: t, c: c, now: t0}
	target := health.Target{App: "default/hello", Cluster: "member-a", URL: url, Answering: true}
	for range 4 {
		k.expect(target, true, false, "")
		member.Kill()
		k.expect(target, true, false, "connection refused")
		member.Start()
	}
	k.expect(target, true, false, "")
}

// counting is a real HTTP server standing for many members' apps: it
// answers every path 200 and counts the probes of each.
func counting(t *testing.T) (*httptest.Server, func(path string) int64) {
	var mu sync.Mutex
	seen := map[string]int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, func(path string) int64 {
		mu.Lock()
		defer mu.Unlock()
		return seen[path]
	}
}

// TestCheckerBoundsProbesPerCall: with more targets than MaxProbes, each
// call probes MaxProbes of them, least recently probed first, so every
// target is probed within ceil(targets/MaxProbes) calls; the others keep
// their state (here: seeded from the status) and say they were not probed.
func TestCheckerBoundsProbesPerCall(t *testing.T) {
	srv, probes := counting(t)
	c, err := health.NewChecker(health.Config{MaxProbes: 2, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var targets []health.Target
	for i := range 5 {
		targets = append(targets, health.Target{App: "default/hello", Cluster: fmt.Sprint("m", i), URL: fmt.Sprint(srv.URL, "/t/hello/", i), Answering: i%2 == 0})
	}
	k := &ticker{t: t, c: c, now: t0}
	for call := 1; call <= 6; call++ {
		verdicts := k.tick(targets...)
		n := 0
		for i, v := range verdicts {
			if v.Cluster != targets[i].Cluster {
				t.Fatalf("verdict %d is for %s, target %d is %s: verdicts must be in the targets' order", i, v.Cluster, i, targets[i].Cluster)
			}
			if v.Probed {
				n++
			} else if !v.Changed && v.Healthy != targets[i].Answering && probes(fmt.Sprint("/t/hello/", i)) == 0 {
				t.Errorf("call %d: %s, never probed, is healthy %v; its status says answering %v", call, v.Cluster, v.Healthy, targets[i].Answering)
			}
		}
		if n != 2 {
			t.Fatalf("call %d probed %d targets, want MaxProbes (2)", call, n)
		}
		if call == 3 {
			for i := range targets {
				if got := probes(fmt.Sprint("/t/hello/", i)); got < 1 || got > 2 {
					t.Errorf("after 3 calls of 2 probes, target %d was probed %d times; want each once, one of them twice", i, got)
				}
			}
		}
	}
	for i := range targets {
		if got := probes(fmt.Sprint("/t/hello/", i)); got < 2 || got > 3 {
			t.Errorf("after 6 calls of 2 probes, target %d was probed %d times; want 2 or 3 (round-robin)", i, got)
		}
	}
}

// TestConcurrentChecksProbeATargetOnce: a Check that finds a target's probe
// in flight (another call's) does not probe it again, so one failure is
// never counted twice.
func TestConcurrentChecksProbeATargetOnce(t *testing.T) {
	var arrived atomic.Int64
	got := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == 1 {
			close(got)
		}
		<-release
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c, err := health.NewChecker(health.Config{Timeout: slowLoad, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	target := health.Target{App: "default/hello", Cluster: "member-a", URL: srv.URL + "/t/hello/hello", Answering: true}
	first := make(chan health.Verdict)
	go func() { first <- c.Check(context.Background(), []health.Target{target}, t0)[0] }()
	<-got
	second := c.Check(t.Context(), []health.Target{target}, t0.Add(time.Second))[0]
	close(release)
	v := <-first
	if second.Probed || !second.Healthy {
		t.Errorf("the second, concurrent Check: %+v; want healthy, not probed (the first call's probe was in flight)", second)
	}
	if !v.Probed || !v.Healthy || v.Changed || arrived.Load() != 1 {
		t.Errorf("the first Check: %+v after %d probes; want one probe, one failure counted, still healthy", v, arrived.Load())
	}
}

// TestCheckerForgetsTargetsItNoLongerSees: a target no Check listed for
// ForgetAfter is forgotten; listed again, it starts afresh from its status.
func TestCheckerForgetsTargetsItNoLongerSees(t *testing.T) {
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	c, err := health.NewChecker(health.Config{ForgetAfter: time.Minute, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	gone := health.Target{App: "default/hello", Cluster: "member-a", URL: srv.URL + "/t/hello/hello"}
	other := health.Target{App: "default/other", Cluster: "member-a", URL: srv.URL + "/t/other/other"}
	if v := c.Check(t.Context(), []health.Target{gone}, t0)[0]; !v.Healthy {
		t.Fatalf("first Check: %+v, want healthy", v)
	}
	down.Store(true)
	// Remembered: one failure keeps it.
	if v := c.Check(t.Context(), []health.Target{gone}, t0.Add(30*time.Second))[0]; !v.Healthy {
		t.Fatalf("within ForgetAfter: %+v, want still healthy after one failure", v)
	}
	c.Check(t.Context(), []health.Target{other}, t0.Add(2*time.Minute))
	// Forgotten, and its status says it does not answer: a failure keeps it out.
	if v := c.Check(t.Context(), []health.Target{gone}, t0.Add(2*time.Minute+time.Second))[0]; v.Healthy {
		t.Errorf("after ForgetAfter: %+v; want a fresh state, out after its first failure", v)
	}
}
