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
	bins, err := testbed.Binaries()
	if err != nil {
		b.Fatal(err)
	}
	exes := buildAll(b)
	ctx := b.Context()
	warm := pool("bench-us-east", "us-east", "0.55")
	warm.Spec.Parking.IdleTTL = &metav1.Duration{Duration: time.Hour}
	fleet, err := localmode.Up(ctx, localmode.Config{
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
	// The first app makes the us-east cluster and keeps it serving.
	answering(b, ctx, fleet, "anchor", "us-east")

	b.Run("existing", func(b *testing.B) {
		i := 0
		perApp(b, func() time.Duration {
			i++
			return answering(b, ctx, fleet, fmt.Sprintf("existing-%d", i), "us-east")
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
			return answering(b, ctx, fleet, "created-"+region, region)
		})
	})
}

// perApp runs apply b.N times and reports the p50 and the longest of the
// durations it returns.
func perApp(b *testing.B, apply func() time.Duration) {
	var took []time.Duration
	for b.Loop() {
		took = append(took, apply())
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[(len(took)-1)/2])/float64(time.Millisecond), "ms-p50")
	b.ReportMetric(float64(took[len(took)-1])/float64(time.Millisecond), "ms-max")
}

// answering creates an echo app called name in region and returns how long
// it took from the create to its trigger answering on its member.
func answering(tb testing.TB, ctx context.Context, fleet *localmode.Fleet, name, region string) time.Duration {
	tb.Helper()
	a := app()
	a.Name, a.Spec.App.Name = name, name
	a.Spec.Demand.Replicas = 1
	a.Spec.Placement.RequiredRegions = []string{region}
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
			tb.Fatalf("app %s not answering in %s (trigger %q); members %+v", name, region, trigger, fleet.Members())
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
