package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/localmode"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// BenchmarkApplyToAnswering measures, on a local fleet whose control loop
// runs as Fn functions (localmode.Up: the hub, its Fn running app fnfleet,
// the event source and the scheduler as processes of their own), the time
// from a FleetApp's create to its trigger answering on its member:
//
//   - existing: a cluster of the app's region already serves Fn; the way
//     is the event source, events, placement, the event source again
//     (the decision), events, deploy, the member's Fn;
//   - created: the fleet has no cluster in the app's region, and a pool
//     there makes one: placement asks, lifecycle creates a kwok cluster
//     with its data plane, installs Fn with Helm, and deploy deploys.
//
// Each iteration applies a new app (an Fn app of its own) and polls its
// trigger every 10 ms; ms-p50 and ms-max are per app.
func BenchmarkApplyToAnswering(b *testing.B) {
	fleet := servingFleet(b)
	ctx := b.Context()
	// The first app makes the us-east cluster and keeps it serving.
	answering(b, ctx, fleet, echoApp("anchor", "us-east"))

	b.Run("existing", func(b *testing.B) {
		i := 0
		perApp(b, func() time.Duration {
			i++
			return answering(b, ctx, fleet, echoApp(fmt.Sprintf("existing-%d", i), "us-east"))
		})
	})
	b.Run("created", func(b *testing.B) {
		i := 0
		perApp(b, func() time.Duration {
			i++
			region := fmt.Sprintf("bench-%d", i)
			p := pool("bench-"+region, region, "0.40")
			if _, err := fleet.HubClient.CreateClusterPool(ctx, p); err != nil {
				b.Fatal(err)
			}
			return answering(b, ctx, fleet, echoApp("created-"+region, region))
		})
	})
}

// BenchmarkPlacedToDNSAnswering measures, on a local fleet with a
// cluster serving Fn in us-east, the time from a new app's placement to
// the fleet's DNS server (CoreDNS, the zone the dns function writes)
// answering A for the app's own name. The way is the event source
// (the decision), deploy, the dns function (its probe of the app's
// trigger on the member, the plan, one etcd transaction), CoreDNS.
//
// Each iteration creates an app with its own hostname, polls the app
// until status.placement is written (ms-*: from the first time it is
// seen, at most one poll late) and CoreDNS every 10 ms until it answers;
// ms-*-from-create is from the create.
func BenchmarkPlacedToDNSAnswering(b *testing.B) {
	fleet := servingFleet(b)
	ctx := b.Context()
	answering(b, ctx, fleet, echoApp("anchor", "us-east"))

	var fromPlaced, fromCreate []time.Duration
	i := 0
	for b.Loop() {
		i++
		a := echoApp(fmt.Sprintf("named-%d", i), "us-east")
		host := hostnamed(a)
		created, placed, answered := dnsAnswering(b, ctx, fleet, a, host)
		fromPlaced = append(fromPlaced, answered.Sub(placed))
		fromCreate = append(fromCreate, answered.Sub(created))
	}
	reportLatency(b, "", fromPlaced)
	reportLatency(b, "-from-create", fromCreate)
}

// dnsAnswering creates a, whose name is host, and returns when it was
// created, when its placement was first seen (polled every 10 ms) and
// when CoreDNS first answered A for host (asked every 10 ms).
func dnsAnswering(b *testing.B, ctx context.Context, fleet *localmode.Fleet, a *v1alpha1.FleetApp, host string) (created, placed, answered time.Time) {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	created = time.Now()
	if _, err := fleet.HubClient.CreateFleetApp(ctx, a); err != nil {
		b.Fatal(err)
	}
	for {
		if placed.IsZero() {
			if got, err := fleet.HubClient.GetFleetApp(ctx, a.Namespace, a.Name); err == nil && len(got.Status.Placement) > 0 {
				placed = time.Now()
			}
		}
		if addrs, err := fleet.LookupA(ctx, host); err == nil && len(addrs) > 0 {
			if placed.IsZero() {
				b.Fatalf("%s answers %v before its app's placement was seen", host, addrs)
			}
			return created, placed, time.Now()
		}
		select {
		case <-ctx.Done():
			b.Fatalf("%s does not answer (placed: %v); members %+v", host, !placed.IsZero(), fleet.Members())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// BenchmarkMemberHungToDNSDrop measures, on a local fleet with an app
// on two serving clusters and a name, the time from one member's Fn
// hanging (SIGSTOP: its socket still accepts, nothing answers) to the
// fleet's DNS server no longer answering with its address. The way is the
// dns function's probes timing out twice (hysteresis), the other member's
// probe function agreeing (the vantage point), one etcd transaction.
//
// Each iteration hangs one of the two (in turn), asks CoreDNS every 50 ms,
// then continues it and waits, untimed, until the name answers both again.
func BenchmarkMemberHungToDNSDrop(b *testing.B) {
	fleet := servingFleet(b)
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Minute)
	defer cancel()
	a := echoApp("spread", "us-east")
	a.Spec.Demand.Replicas = 2
	a.Spec.Placement.Spread = &v1alpha1.SpreadPolicy{MinClusters: 2}
	host := hostnamed(a)
	if _, err := fleet.HubClient.CreateFleetApp(ctx, a); err != nil {
		b.Fatal(err)
	}
	two := func(got []string) bool { return len(got) == 2 }
	both := awaitAnswers(b, ctx, fleet, host, 100*time.Millisecond, "two addresses", two)

	i := 0
	perApp(b, func() time.Duration {
		addr, other := both[i%2], both[(i+1)%2]
		i++
		hung := memberAt(b, fleet, addr)
		if err := fleet.HangDataPlane(hung); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		awaitAnswers(b, ctx, fleet, host, 50*time.Millisecond, "only "+other, func(got []string) bool { return slices.Equal(got, []string{other}) })
		took := time.Since(start)
		b.StopTimer()
		if err := fleet.ResumeDataPlane(hung); err != nil {
			b.Fatal(err)
		}
		awaitAnswers(b, ctx, fleet, host, 100*time.Millisecond, "both again", func(got []string) bool { return slices.Equal(got, both) })
		b.StartTimer()
		return took
	})
}

// servingFleet starts a local fleet (localmode.Up) whose one pool,
// bench-us-east, makes up to 2 clusters in us-east that do not park while
// the benchmark runs (idle TTL 1 h).
func servingFleet(b *testing.B) *localmode.Fleet {
	bins, err := testbed.Binaries()
	if err != nil {
		b.Fatal(err)
	}
	exes := buildAll(b)
	warm := pool("bench-us-east", "us-east", "0.55")
	warm.Spec.Parking.IdleTTL = &metav1.Duration{Duration: time.Hour}
	fleet, err := localmode.Up(b.Context(), localmode.Config{
		Binaries: bins, Fnfleet: filepath.Join(exes, "fnfleet"), Workdir: b.TempDir(),
		Pools:  []*v1alpha1.ClusterPool{warm},
		Images: map[string]string{"fnfleet/echo:0.0.1": filepath.Join(exes, "echo")},
		Logger: testbed.Logger(b),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := fleet.Close(); err != nil {
			b.Error(err)
		}
	})
	return fleet
}

// perApp runs apply b.N times and reports the p50 and the longest of the
// durations it returns.
func perApp(b *testing.B, apply func() time.Duration) {
	var took []time.Duration
	for b.Loop() {
		took = append(took, apply())
	}
	reportLatency(b, "", took)
}

// reportLatency reports the p50 and the longest of took as ms-p50<suffix>
// and ms-max<suffix>.
func reportLatency(b *testing.B, suffix string, took []time.Duration) {
	slices.Sort(took)
	b.ReportMetric(float64(took[(len(took)-1)/2])/float64(time.Millisecond), "ms-p50"+suffix)
	b.ReportMetric(float64(took[len(took)-1])/float64(time.Millisecond), "ms-max"+suffix)
}

// echoApp is app() called name, with one replica, required in region,
// and no DNS name.
func echoApp(name, region string) *v1alpha1.FleetApp {
	a := app()
	a.Name, a.Spec.App.Name = name, name
	a.Spec.Demand.Replicas = 1
	a.Spec.Placement.RequiredRegions = []string{region}
	a.Spec.DNS = nil
	return a
}

// answering creates a, an echo app, and returns how long it took from the
// create to its trigger answering on its member.
func answering(tb testing.TB, ctx context.Context, fleet *localmode.Fleet, a *v1alpha1.FleetApp) time.Duration {
	tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	start := time.Now()
	if _, err := fleet.HubClient.CreateFleetApp(ctx, a); err != nil {
		tb.Fatal(err)
	}
	var trigger string
	for {
		if trigger == "" {
			trigger = triggerOf(ctx, fleet, a)
		}
		if trigger != "" && answers(ctx, trigger) {
			return time.Since(start)
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("app %s not answering in %v (trigger %q); members %+v", a.Name, a.Spec.Placement.RequiredRegions, trigger, fleet.Members())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// triggerOf is the app's trigger URL on the member it is placed on, once
// placed there and the member serves; "" until then.
func triggerOf(ctx context.Context, fleet *localmode.Fleet, a *v1alpha1.FleetApp) string {
	got, err := fleet.HubClient.GetFleetApp(ctx, a.Namespace, a.Name)
	if err != nil || len(got.Status.Placement) == 0 {
		return ""
	}
	mc, err := fleet.HubClient.GetMemberCluster(ctx, got.Status.Placement[0].Cluster)
	if err != nil || mc.Status.FnEndpoint == "" {
		return ""
	}
	return mc.Status.FnEndpoint + "/t/" + a.Spec.App.Name + "/echo"
}

func answers(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("ping"))
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
