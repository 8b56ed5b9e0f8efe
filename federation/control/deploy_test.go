package control_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/fdk/fdktest"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	fleethub "github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// The hub client is the deploy shell's hub, and fndeploy's Deployer its
// way to the members' Fn.
var (
	_ control.DeployHub = (*fleethub.Client)(nil)
	_ control.FnApps    = fndeploy.Deployer{}
)

// TestDeployOnARealHub runs placement and deploy against a real hub, with
// three members whose Fn is a real Fn server running the echo function.
func TestDeployOnARealHub(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	h := testbed.FleetAPI(t, testbed.Start(t, local.ClusterSpec{Name: "hub"}))
	images := map[string]string{"fnfleet/echo:0.0.1": fdktest.Build(t, "github.com/fnfleet/fnfleet/functions/echo")}
	fns := map[string]*fnServer{}
	for _, m := range []struct{ name, region string }{{"eu", "eu-west"}, {"us", "us-east"}, {"ap", "ap-south"}} {
		fns[m.name] = startFnWith(t, images)
		serveMember(t, ctx, h, m.name, m.region, fns[m.name].url)
	}
	fn := &countingFn{}
	deploy, err := control.NewDeploy(control.DeployConfig{Hub: h, Fn: fn, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Placement on the injected clock, at which the members beat.
	placement, err := control.NewPlacement(control.PlacementConfig{Hub: h, Now: func() time.Time { return now }, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	hello := types.NamespacedName{Namespace: "default", Name: "hello"}
	createApp(t, ctx, h, hello.Name, "hello", "eu-west")
	place := func(t *testing.T, key types.NamespacedName) {
		t.Helper()
		if _, err := placement.Reconcile(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	var euAppID string

	t.Run("deployed to the placed member, whose trigger answers", func(t *testing.T) {
		place(t, hello)
		app, err := deploy.Reconcile(ctx, hello)
		if err != nil {
			t.Fatal(err)
		}
		recs := app.Status.Deployments
		if len(recs) != 1 || recs[0].Cluster != "eu" || recs[0].State != v1alpha1.DeploymentDeployed || recs[0].Endpoint != fns["eu"].url ||
			recs[0].AppID == "" || recs[0].Generation != app.Generation || recs[0].Time.IsZero() {
			t.Fatalf("deployments %+v, want eu Deployed at %s, generation %d, with its app id", recs, fns["eu"].url, app.Generation)
		}
		euAppID = recs[0].AppID
		if c := apimeta.FindStatusCondition(app.Status.Conditions, v1alpha1.AppDeployed); c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "deployed on 1 clusters (eu)") {
			t.Errorf("Deployed = %+v, want True naming eu", c)
		}
		if !slices.Contains(app.Finalizers, control.DeployFinalizer) {
			t.Errorf("finalizers %v, want %s", app.Finalizers, control.DeployFinalizer)
		}
		if got := invoke(t, ctx, fns["eu"].url, "hi"); got != "hi" {
			t.Errorf("echo on eu answered %q", got)
		}
	})

	t.Run("placement and deploy keep each other's fields", func(t *testing.T) {
		place(t, hello) // writes again: the decision is now "kept"
		app := getApp(t, ctx, h, hello)
		if len(app.Status.Deployments) != 1 || !apimeta.IsStatusConditionTrue(app.Status.Conditions, v1alpha1.AppDeployed) ||
			len(app.Status.Placement) != 1 || !apimeta.IsStatusConditionTrue(app.Status.Conditions, v1alpha1.AppPlaced) {
			t.Fatalf("status %+v; want placement's and deploy's fields both", app.Status)
		}
		pl, dp := ownedStatus(t, app, control.PlacementManager), ownedStatus(t, app, control.DeployManager)
		for _, f := range []string{"f:placement", "f:clustersPlaced", "f:explanation", "f:observedGeneration", `f:conditions/k:{"type":"Placed"}`} {
			if !pl[f] || dp[f] {
				t.Errorf("%s: owned by placement %v, by deploy %v; want placement only", f, pl[f], dp[f])
			}
		}
		for _, f := range []string{"f:deployments", `f:conditions/k:{"type":"Deployed"}`} {
			if !dp[f] || pl[f] {
				t.Errorf("%s: owned by deploy %v, by placement %v; want deploy only", f, dp[f], pl[f])
			}
		}
	})

	t.Run("a second call with nothing changed calls no Fn API and writes nothing", func(t *testing.T) {
		before, calls := getApp(t, ctx, h, hello), fn.calls()
		after, err := deploy.Reconcile(ctx, hello)
		if err != nil {
			t.Fatal(err)
		}
		if n := fn.calls() - calls; n != 0 || after.ResourceVersion != before.ResourceVersion {
			t.Errorf("%d Fn API calls, resourceVersion %s -> %s; want none and unchanged", n, before.ResourceVersion, after.ResourceVersion)
		}
	})

	t.Run("placement moves: it answers on the new member and is removed from the old", func(t *testing.T) {
		moveTo(t, ctx, h, hello, "us-east")
		place(t, hello)
		app, err := deploy.Reconcile(ctx, hello)
		if err != nil {
			t.Fatal(err)
		}
		if recs := app.Status.Deployments; len(recs) != 1 || recs[0].Cluster != "us" || recs[0].State != v1alpha1.DeploymentDeployed || recs[0].Generation != app.Generation {
			t.Fatalf("deployments %+v, want us alone, Deployed at generation %d", recs, app.Generation)
		}
		if got := invoke(t, ctx, fns["us"].url, "moved"); got != "moved" {
			t.Errorf("echo on us answered %q", got)
		}
		if code := status(t, ctx, fns["eu"].url+"/v2/apps/"+euAppID); code != http.StatusNotFound {
			t.Errorf("GET of the app on eu: %d, want 404", code)
		}
	})

	t.Run("a removal that fails is kept as Removing and done once the member's Fn is back", func(t *testing.T) {
		usAppID := getApp(t, ctx, h, hello).Status.Deployments[0].AppID
		fns["us"].stop()
		moveTo(t, ctx, h, hello, "ap-south")
		place(t, hello)
		app, err := deploy.Reconcile(ctx, hello)
		if err == nil || !strings.Contains(err.Error(), "remove from us") {
			t.Fatalf("error %v, want one naming the removal from us", err)
		}
		if app == nil {
			t.Fatal("no app returned with the error")
		}
		recs := app.Status.Deployments
		if len(recs) != 2 || recs[0].Cluster != "ap" || recs[0].State != v1alpha1.DeploymentDeployed ||
			recs[1].Cluster != "us" || recs[1].State != v1alpha1.DeploymentRemoving || recs[1].Message == "" || recs[1].AppID != usAppID {
			t.Fatalf("deployments %+v, want ap Deployed and us Removing with the error", recs)
		}
		if c := apimeta.FindStatusCondition(app.Status.Conditions, v1alpha1.AppDeployed); c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "removing from us") {
			t.Errorf("Deployed = %+v, want True (ap serves) naming the pending removal from us", c)
		}
		if got := invoke(t, ctx, fns["ap"].url, "ap"); got != "ap" {
			t.Errorf("echo on ap answered %q", got)
		}

		fns["us"].restart()
		app, err = deploy.Reconcile(ctx, hello)
		if err != nil {
			t.Fatal(err)
		}
		if recs := app.Status.Deployments; len(recs) != 1 || recs[0].Cluster != "ap" {
			t.Errorf("deployments %+v, want ap alone", recs)
		}
		if code := status(t, ctx, fns["us"].url+"/v2/apps/"+usAppID); code != http.StatusNotFound {
			t.Errorf("GET of the app on us: %d, want 404", code)
		}
	})

	crashed := types.NamespacedName{Namespace: "default", Name: "crashed"}
	t.Run("a call that dies between deploying and recording leaves a record to remove the app by", func(t *testing.T) {
		createApp(t, ctx, h, crashed.Name, "crashed", "")
		placeOn(t, ctx, h, crashed, "eu")
		callCtx, die := context.WithCancel(ctx)
		dying, err := control.NewDeploy(control.DeployConfig{Hub: h, Fn: dyingFn{die: die}, Logger: testbed.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dying.Reconcile(callCtx, crashed); err == nil {
			t.Fatal("the call that died after its Fn call returned no error")
		}
		if n := appsNamed(t, ctx, fns["eu"].url, "crashed"); n != 1 {
			t.Fatalf("eu holds %d apps called crashed, want the one the dying call put there", n)
		}
		recs := getApp(t, ctx, h, crashed).Status.Deployments
		if len(recs) != 1 || recs[0].Cluster != "eu" || recs[0].State != v1alpha1.DeploymentDeploying || recs[0].Endpoint != fns["eu"].url {
			t.Fatalf("deployments %+v, want the intent recorded before the Fn call: eu Deploying at %s", recs, fns["eu"].url)
		}

		// Placement drops eu before any other deploy ran: the intent is
		// what tells the next call that eu may hold the app.
		placeOn(t, ctx, h, crashed, "ap")
		app, err := deploy.Reconcile(ctx, crashed)
		if err != nil {
			t.Fatal(err)
		}
		if n := appsNamed(t, ctx, fns["eu"].url, "crashed"); n != 0 {
			t.Errorf("eu still holds app crashed: orphaned by the call that died")
		}
		if recs := app.Status.Deployments; len(recs) != 1 || recs[0].Cluster != "ap" || recs[0].State != v1alpha1.DeploymentDeployed {
			t.Errorf("deployments %+v, want ap Deployed alone", recs)
		}
	})

	multi := types.NamespacedName{Namespace: "default", Name: "multi"}
	t.Run("ten concurrent calls deploy once to each member", func(t *testing.T) {
		createApp(t, ctx, h, multi.Name, "multi", "")
		placeOn(t, ctx, h, multi, "ap", "eu", "us")
		applies := fn.applies.Load()
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for i := range errs {
			wg.Go(func() { _, errs[i] = deploy.Reconcile(ctx, multi) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		recs := getApp(t, ctx, h, multi).Status.Deployments
		if len(recs) != 3 || slices.ContainsFunc(recs, func(r v1alpha1.AppDeployment) bool { return r.State != v1alpha1.DeploymentDeployed }) {
			t.Errorf("deployments %+v, want one Deployed record per member", recs)
		}
		if n := fn.applies.Load() - applies; n != 3 {
			t.Errorf("%d Fn deploys for ten calls, want 3 (one per member)", n)
		}
		for name, s := range fns {
			if n := appsNamed(t, ctx, s.url, "multi"); n != 1 {
				t.Errorf("%s holds %d apps called multi, want 1", name, n)
			}
		}
	})

	solo := types.NamespacedName{Namespace: "default", Name: "solo"}
	t.Run("a member not serving is waited for; a member gone is forgotten", func(t *testing.T) {
		if _, err := h.CreateMemberCluster(ctx, &v1alpha1.MemberCluster{
			ObjectMeta: metav1.ObjectMeta{Name: "pending"},
			Spec:       v1alpha1.MemberClusterSpec{Provider: v1alpha1.ProviderSpec{Name: "static"}, Region: "eu-west"},
		}); err != nil {
			t.Fatal(err)
		}
		gone := startFnWith(t, images)
		serveMember(t, ctx, h, "gone", "eu-west", gone.url)
		createApp(t, ctx, h, solo.Name, "solo", "")
		placeOn(t, ctx, h, solo, "gone", "pending")
		app, err := deploy.Reconcile(ctx, solo)
		if err != nil {
			t.Fatal(err)
		}
		if recs := app.Status.Deployments; len(recs) != 1 || recs[0].Cluster != "gone" {
			t.Fatalf("deployments %+v, want gone's alone (pending has nothing to reach)", recs)
		}
		c := apimeta.FindStatusCondition(app.Status.Conditions, v1alpha1.AppDeployed)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "Waiting" || !strings.Contains(c.Message, "waits for pending") {
			t.Errorf("Deployed = %+v, want False, Waiting, naming pending", c)
		}

		// The member goes, its Fn with it, and the decision with it.
		if err := h.DeleteMemberCluster(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		gone.stop()
		placeOn(t, ctx, h, solo, "pending")
		removes := fn.removes.Load()
		app, err = deploy.Reconcile(ctx, solo)
		if err != nil {
			t.Fatal(err)
		}
		if recs := app.Status.Deployments; len(recs) != 0 || fn.removes.Load() != removes {
			t.Errorf("deployments %+v after %d removals; want none, with no call to a member that is gone", recs, fn.removes.Load()-removes)
		}
	})

	t.Run("a deleted app is removed from every member, then goes", func(t *testing.T) {
		for _, key := range []types.NamespacedName{hello, multi, solo} {
			if err := h.DeleteFleetApp(ctx, key.Namespace, key.Name); err != nil {
				t.Fatal(err)
			}
			if held := getApp(t, ctx, h, key); held.DeletionTimestamp == nil {
				t.Fatalf("%s went without deploy: finalizers %v", key, held.Finalizers)
			}
			app, err := deploy.Reconcile(ctx, key)
			if err != nil || app != nil {
				t.Fatalf("deploy of the deleted %s = %v, %v; want nil, nil", key, app, err)
			}
			if _, err := h.GetFleetApp(ctx, key.Namespace, key.Name); !apierrors.IsNotFound(err) {
				t.Errorf("%s after deploy let it go: %v, want NotFound", key, err)
			}
		}
		for name, s := range fns {
			for _, app := range []string{"hello", "multi"} {
				if n := appsNamed(t, ctx, s.url, app); n != 0 {
					t.Errorf("%s still holds app %s", name, app)
				}
			}
		}
	})
}

// serveMember creates a MemberCluster that serves Fn at endpoint, its
// status written as lifecycle and reconcile write it: Ready, with room
// for the test's apps and a heartbeat at the injected now.
func serveMember(t *testing.T, ctx context.Context, h *fleethub.Client, name, region, endpoint string) {
	t.Helper()
	want := member(name, region)
	mc, err := h.CreateMemberCluster(ctx, &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.MemberClusterSpec{Provider: v1alpha1.ProviderSpec{Name: "static"}, Region: region, Tier: 1, CostPerHour: want.Spec.CostPerHour},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := want.Status
	if mc, err = h.ApplyMemberClusterStatus(ctx, name, mc.ResourceVersion, lifecycleManager,
		&v1alpha1.MemberClusterStatus{Phase: v1alpha1.PhaseReady, FnEndpoint: endpoint}); err != nil {
		t.Fatal(err)
	}
	if _, err = h.ApplyMemberClusterStatus(ctx, name, mc.ResourceVersion, control.ReconcileManager, &v1alpha1.MemberClusterStatus{
		Allocatable: st.Allocatable, Used: st.Used, LastHeartbeatTime: st.LastHeartbeatTime, Conditions: st.Conditions,
	}); err != nil {
		t.Fatal(err)
	}
}

// createApp creates a FleetApp whose Fn app fnApp is the echo function at
// /echo, required in region (anywhere when empty).
func createApp(t *testing.T, ctx context.Context, h *fleethub.Client, name, fnApp, region string) *v1alpha1.FleetApp {
	t.Helper()
	app := &v1alpha1.FleetApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: v1alpha1.FleetAppSpec{
			App: v1alpha1.FnApp{Name: fnApp, Functions: []v1alpha1.Function{{
				Name: "echo", Image: "fnfleet/echo:0.0.1", MemoryMB: 128, TimeoutSeconds: 30,
				Triggers: []v1alpha1.Trigger{{Name: "echo", Type: "http", Source: "/echo"}},
			}}},
			Demand: v1alpha1.Demand{Replicas: 1, CPU: resource.MustParse("100m"), Memory: resource.MustParse("64Mi")},
		},
	}
	if region != "" {
		app.Spec.Placement.RequiredRegions = []string{region}
	}
	created, err := h.CreateFleetApp(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// placeOn writes the app's placement on clusters, as placement would
// decide it.
func placeOn(t *testing.T, ctx context.Context, h *fleethub.Client, key types.NamespacedName, clusters ...string) {
	t.Helper()
	st := &v1alpha1.FleetAppStatus{}
	for _, c := range clusters {
		st.Placement = append(st.Placement, v1alpha1.ClusterPlacement{Cluster: c, Replicas: 1})
	}
	app := getApp(t, ctx, h, key)
	if _, err := h.ApplyFleetAppStatus(ctx, key.Namespace, key.Name, app.ResourceVersion, control.PlacementManager, st); err != nil {
		t.Fatal(err)
	}
}

// moveTo changes the app's required region, as a person's kubectl apply.
func moveTo(t *testing.T, ctx context.Context, h *fleethub.Client, key types.NamespacedName, region string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"placement":{"requiredRegions":[%q]}}}`, region)
	if err := h.REST().Patch(types.MergePatchType).Namespace(key.Namespace).Resource("fleetapps").Name(key.Name).
		Body([]byte(patch)).Do(ctx).Error(); err != nil {
		t.Fatal(err)
	}
}

func getApp(t *testing.T, ctx context.Context, h *fleethub.Client, key types.NamespacedName) *v1alpha1.FleetApp {
	t.Helper()
	app, err := h.GetFleetApp(ctx, key.Namespace, key.Name)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// call sends a request and returns the answer's status and body.
func call(t *testing.T, ctx context.Context, method, url string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// status is the HTTP status of a GET of url.
func status(t *testing.T, ctx context.Context, url string) int {
	t.Helper()
	code, _ := call(t, ctx, http.MethodGet, url, nil)
	return code
}

// appsNamed counts the apps called name on the Fn server at base.
func appsNamed(t *testing.T, ctx context.Context, base, name string) int {
	t.Helper()
	code, body := call(t, ctx, http.MethodGet, base+"/v2/apps?name="+name, nil)
	var list struct {
		Items []struct{ Name string } `json:"items"`
	}
	if err := json.Unmarshal(body, &list); code != http.StatusOK || err != nil {
		t.Fatalf("list apps on %s: %d %s (%v)", base, code, body, err)
	}
	n := 0
	for _, a := range list.Items {
		if a.Name == name {
			n++
		}
	}
	return n
}

// countingFn is fndeploy's Deployer, counting the calls that reach a
// member's Fn API.
type countingFn struct {
	fndeploy.Deployer
	applies, removes atomic.Int64
}

func (c *countingFn) Apply(ctx context.Context, endpoint string, app *v1alpha1.FnApp) (string, error) {
	c.applies.Add(1)
	return c.Deployer.Apply(ctx, endpoint, app)
}

func (c *countingFn) Remove(ctx context.Context, endpoint, appName string) error {
	c.removes.Add(1)
	return c.Deployer.Remove(ctx, endpoint, appName)
}

func (c *countingFn) calls() int64 { return c.applies.Load() + c.removes.Load() }

// dyingFn deploys for real, then ends its caller's context, as a process
// killed right after its Fn call would: nothing after the call is
// recorded.
type dyingFn struct {
	fndeploy.Deployer
	die context.CancelFunc
}

func (d dyingFn) Apply(ctx context.Context, endpoint string, app *v1alpha1.FnApp) (string, error) {
	id, err := d.Deployer.Apply(ctx, endpoint, app)
	d.die()
	return id, errors.Join(err, context.Canceled)
}
