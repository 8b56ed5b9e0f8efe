// Package e2e runs fnfleet end to end on real parts: clusters from the local
// provider, the management functions on the hub's Fn (fnfleet fn-server)
// driven by the event source and the scheduler, Fn installed with the
// installer, process data planes, reached over real sockets.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/localmode"
	"github.com/fnfleet/fnfleet/test/testbed"
)

const idleTTL = 5 * time.Second

// TestLocalFleetCreatesParksAndWakesAClusterForAnApp is what `make run`
// shows, asserted, done by the management functions alone: a fleet with
// pools and no member; an app that must run in us-east gets a cluster
// created from the us-east pool, Fn installed and the app deployed, and
// answers there, and its name (hello.fnfleet.internal) answers with that
// member's address from the fleet's DNS server and leads to the app; its
// region changed, it answers on a cluster of the new region and is removed
// from the old, its name following, and back; deleted, it is removed from
// its member and its name from the zone before it goes, and its cluster
// parks after the idle TTL; applied again, the parked cluster is woken
// (not a new one created) and the app and its name answer again; spread
// over two clusters, a hung member leaves its name's answers and returns.
// fleet.json follows the member throughout.
func TestLocalFleetCreatesParksAndWakesAClusterForAnApp(t *testing.T) {
	bins, err := testbed.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	exes := buildAll(t)
	echo := filepath.Join(exes, "echo")
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	workdir := t.TempDir()
	fleet, err := localmode.Up(ctx, localmode.Config{
		Binaries: bins,
		Fnfleet:  filepath.Join(exes, "fnfleet"),
		Workdir:  workdir,
		Pools:    []*v1alpha1.ClusterPool{pool("local-eu-west", "eu-west", "0.40"), pool("local-us-east", "us-east", "0.55")},
		Images:   map[string]string{"fnfleet/echo:0.0.1": echo},
		Logger:   testbed.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = fleet.Close()
		}
	})
	hc := fleet.HubClient

	if _, err := hc.CreateFleetApp(ctx, app()); err != nil {
		t.Fatal(err)
	}
	placed := awaitApp(t, ctx, fleet, "deployed on a new cluster", deployed)
	name := placed.Status.Placement[0].Cluster
	mc, err := hc.GetMemberCluster(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if mc.Spec.PoolRef == nil || mc.Spec.PoolRef.Name != "local-us-east" || mc.Spec.Region != "us-east" {
		t.Fatalf("app placed on %s (pool %v, region %s), want a cluster of local-us-east", name, mc.Spec.PoolRef, mc.Spec.Region)
	}
	if mc.Status.Phase != v1alpha1.PhaseReady {
		t.Errorf("%s phase %s, want Ready", name, mc.Status.Phase)
	}
	m := awaitMember(t, ctx, fleet, name, func(m localmode.FleetMember) bool { return m.FnURL != "" && m.Phase == "Ready" })
	if !strings.HasPrefix(m.FnURL, "http://127.0.1.") || m.Region != "us-east" || m.Pool != "local-us-east" {
		t.Errorf("fleet.json lists %+v, want its loopback data plane, region us-east, pool local-us-east", m)
	}
	testbed.AssertEchoes(t, ctx, m.FnURL+"/t/hello/echo", "hello us-east")

	// Its name: the dns function probed the app's trigger there and wrote
	// the name; it answers with the member's address and leads to the app.
	addr := addrOf(t, m.FnURL)
	awaitAnswers(t, ctx, fleet, appHost, 100*time.Millisecond, addr, func(a []string) bool { return slices.Equal(a, []string{addr}) })
	awaitApp(t, ctx, fleet, "DNSReady with "+addr, dnsSays([]string{addr}, map[string]bool{name: true}))
	client, byName := viaName(t, fleet, m.FnURL, appHost)
	testbed.AssertEchoesVia(t, ctx, client, byName, "hello by name")

	// Its region changed: placed on a cluster of the eu-west pool, it
	// answers there and is removed from the us-east cluster; changed back,
	// the reverse.
	moved := setRegion(t, ctx, fleet, "eu-west")
	eu := awaitMember(t, ctx, fleet, moved, func(m localmode.FleetMember) bool { return m.FnURL != "" && m.Phase == "Ready" })
	if eu.Pool != "local-eu-west" {
		t.Fatalf("moved to %s of pool %q, want a cluster of local-eu-west", moved, eu.Pool)
	}
	testbed.AssertEchoes(t, ctx, eu.FnURL+"/t/hello/echo", "hello eu-west")
	euAddr := addrOf(t, eu.FnURL)
	awaitAnswers(t, ctx, fleet, appHost, 100*time.Millisecond, "only "+euAddr, func(a []string) bool { return slices.Equal(a, []string{euAddr}) })
	// setRegion waited for the us-east record to go, which deploy drops
	// only once the Fn app is removed there; the cluster itself, idle
	// since, may be parked by now (its idle TTL is 5 s).
	assertNotHeld(t, ctx, m.FnURL, "hello")
	if back := setRegion(t, ctx, fleet, "us-east"); back != name {
		t.Fatalf("moved back to %s, want the us-east cluster %s", back, name)
	}
	testbed.AssertEchoes(t, ctx, m.FnURL+"/t/hello/echo", "hello us-east")
	assertNotHeld(t, ctx, eu.FnURL, "hello")
	awaitAnswers(t, ctx, fleet, appHost, 100*time.Millisecond, "only "+addr, func(a []string) bool { return slices.Equal(a, []string{addr}) })

	// Deleted: deploy removes it from its member before the FleetApp goes
	// (its finalizer), then the cluster parks once idle for its TTL,
	// keeping its name and address.
	if err := hc.DeleteFleetApp(ctx, "default", "hello"); err != nil {
		t.Fatal(err)
	}
	awaitGone(t, ctx, fleet)
	assertNotHeld(t, ctx, m.FnURL, "hello")
	// The dns function's finalizer let the app go only once its names were
	// out of the zone.
	if got, err := fleet.LookupA(ctx, appHost); err != nil || len(got) != 0 {
		t.Errorf("%s answers %v (%v) after its app is gone, want nothing", appHost, got, err)
	}
	awaitMember(t, ctx, fleet, name, func(m localmode.FleetMember) bool { return m.Phase == string(v1alpha1.PhaseParked) })
	if resp, err := http.Get(m.FnURL); err == nil {
		resp.Body.Close()
		t.Errorf("%s is parked but its data plane still answers at %s", name, m.FnURL)
	}

	// Applied again: the parked cluster is woken, none is created.
	if _, err := hc.CreateFleetApp(ctx, app()); err != nil {
		t.Fatal(err)
	}
	again := awaitApp(t, ctx, fleet, "deployed again", deployed)
	if got := again.Status.Placement[0].Cluster; got != name {
		t.Errorf("app placed on %s after the wake, want the woken %s", got, name)
	}
	mcs, err := hc.ListMemberClusters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := slices.IndexFunc(mcs.Items, func(mc v1alpha1.MemberCluster) bool { return mc.Spec.Region == "us-east" && mc.Name != name }); n >= 0 || len(mcs.Items) != 2 {
		t.Errorf("hub has %d MemberClusters, want the us-east one woken and the eu-west one", len(mcs.Items))
	}
	woken := awaitMember(t, ctx, fleet, name, func(m localmode.FleetMember) bool { return m.Phase == "Ready" && m.FnURL != "" })
	if woken.FnURL != m.FnURL {
		t.Errorf("woken %s answers at %s, want its address kept, %s", name, woken.FnURL, m.FnURL)
	}
	testbed.AssertEchoes(t, ctx, woken.FnURL+"/t/hello/echo", "hello us-east")
	awaitAnswers(t, ctx, fleet, appHost, 100*time.Millisecond, "only "+addr, func(a []string) bool { return slices.Equal(a, []string{addr}) })

	t.Run("a hung member leaves the name's answers and returns", func(t *testing.T) {
		assertHungMemberLeavesTheName(t, ctx, fleet)
	})

	closed = true
	if err := fleet.Close(); err != nil {
		t.Fatal(err)
	}
	if left := testbed.ProcessesNaming(workdir); len(left) > 0 {
		t.Fatalf("processes left after Close: %v", left)
	}
	if resp, err := http.Get(m.FnURL); err == nil {
		resp.Body.Close()
		t.Errorf("%s data plane still answers after Close", name)
	}
}

// buildAll builds fnfleet and every function (the fleet's and echo) in one
// go build, as `make build` does, and returns their directory.
func buildAll(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+"/", "github.com/fnfleet/fnfleet/cmd/fnfleet", "github.com/fnfleet/fnfleet/functions/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, out)
	}
	return dir
}

func pool(name, region, cost string) *v1alpha1.ClusterPool {
	c := resource.MustParse(cost)
	return &v1alpha1.ClusterPool{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ClusterPoolSpec{
			Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: region, Zone: region + "-a",
			Nodes: 2, Tier: 1, CostPerHour: &c,
			NodeCapacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Parking:      &v1alpha1.ParkingPolicy{Mode: v1alpha1.ParkingStop, IdleTTL: &metav1.Duration{Duration: idleTTL}},
			MaxClusters:  2,
		},
	}
}

// app must run in us-east, where the fleet has no cluster at first; its
// name is appHost.
func app() *v1alpha1.FleetApp {
	return &v1alpha1.FleetApp{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: v1alpha1.FleetAppSpec{
			App: v1alpha1.FnApp{Name: "hello", Functions: []v1alpha1.Function{{
				Name: "echo", Image: "fnfleet/echo:0.0.1",
				Triggers: []v1alpha1.Trigger{{Name: "echo", Type: "http", Source: "/echo"}},
			}}},
			Demand:    v1alpha1.Demand{Replicas: 2, CPU: resource.MustParse("250m"), Memory: resource.MustParse("256Mi")},
			Placement: v1alpha1.PlacementPolicy{RequiredRegions: []string{"us-east"}},
			DNS:       &v1alpha1.DNSSpec{Hostname: strings.TrimSuffix(appHost, ".")},
		},
	}
}

func deployed(a *v1alpha1.FleetApp) bool {
	c := apimeta.FindStatusCondition(a.Status.Conditions, v1alpha1.AppDeployed)
	return len(a.Status.Placement) == 1 && c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == a.Generation
}

// awaitApp waits for the FleetApp hello to satisfy ok; the deadline only
// bounds a failing test.
func awaitApp(t *testing.T, ctx context.Context, fleet *localmode.Fleet, what string, ok func(*v1alpha1.FleetApp) bool) *v1alpha1.FleetApp {
	t.Helper()
	var last string
	for {
		a, err := fleet.HubClient.GetFleetApp(ctx, "default", "hello")
		if err == nil && ok(a) {
			return a
		}
		if err == nil {
			last = fmt.Sprintf("%s %+v", a.Status.Explanation, a.Status.Conditions)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("FleetApp hello not %s: %s; members %+v", what, last, fleet.Members())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func awaitMember(t *testing.T, ctx context.Context, fleet *localmode.Fleet, name string, ok func(localmode.FleetMember) bool) localmode.FleetMember {
	t.Helper()
	for {
		// fleet.json, as another program would read it.
		f, err := localmode.ReadFleetFile(fleet.FleetFile)
		if err != nil {
			t.Fatal(err)
		}
		if f.Hub.Kubeconfig != fleet.Hub.KubeconfigPath {
			t.Fatalf("fleet.json names hub kubeconfig %q, want %q", f.Hub.Kubeconfig, fleet.Hub.KubeconfigPath)
		}
		if i := slices.IndexFunc(f.Members, func(m localmode.FleetMember) bool { return m.Name == name }); i >= 0 && ok(f.Members[i]) {
			return f.Members[i]
		}
		select {
		case <-ctx.Done():
			t.Fatalf("member %s not as wanted in fleet.json: %+v", name, f.Members)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// setRegion makes the app hello require region, as kubectl apply would,
// and returns the cluster it is then deployed on, once it is.
func setRegion(t *testing.T, ctx context.Context, fleet *localmode.Fleet, region string) string {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"placement":{"requiredRegions":[%q]}}}`, region)
	if err := fleet.HubClient.REST().Patch(types.MergePatchType).Namespace("default").Resource("fleetapps").Name("hello").
		Body([]byte(patch)).Do(ctx).Error(); err != nil {
		t.Fatal(err)
	}
	a := awaitApp(t, ctx, fleet, "deployed in "+region, func(a *v1alpha1.FleetApp) bool {
		if !deployed(a) || len(a.Status.Deployments) != 1 {
			return false // still removing from the cluster it left
		}
		mc, err := fleet.HubClient.GetMemberCluster(ctx, a.Status.Placement[0].Cluster)
		return err == nil && mc.Spec.Region == region
	})
	return a.Status.Placement[0].Cluster
}

// awaitGone waits for the FleetApp hello to be gone from the hub.
func awaitGone(t *testing.T, ctx context.Context, fleet *localmode.Fleet) {
	t.Helper()
	for {
		_, err := fleet.HubClient.GetFleetApp(ctx, "default", "hello")
		if apierrors.IsNotFound(err) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("FleetApp hello not gone after its deletion: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// assertNotHeld fails if the Fn API at base holds an app called name. A
// data plane that does not answer (its cluster parked) holds nothing that
// serves.
func assertNotHeld(t *testing.T, ctx context.Context, base, name string) {
	t.Helper()
	n, err := appsNamed(ctx, base, name)
	if err != nil {
		t.Logf("%s not asked: %v", base, err)
		return
	}
	if n != 0 {
		t.Errorf("the Fn API at %s still holds app %s", base, name)
	}
}

// appsNamed counts the Fn apps called name on the Fn API at base.
func appsNamed(ctx context.Context, base, name string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/apps?name="+name, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("list apps at %s: %s", base, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return 0, fmt.Errorf("list apps at %s: %w", base, err)
	}
	n := 0
	for _, a := range list.Items {
		if a.Name == name {
			n++
		}
	}
	return n, nil
}
