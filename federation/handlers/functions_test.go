package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/fnproject/fn_go/clientv2"
	"github.com/fnproject/fn_go/clientv2/apps"
	"github.com/fnproject/fn_go/clientv2/fns"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	"github.com/fnfleet/fnfleet/federation/handlers"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/internal/fncontract"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// fleet is the one fleet this package's test shares: a real hub, a real
// in-process fnserver as the hub's Fn running every function as built,
// and app fnfleet deployed on it as handlers.App says.
type fleet struct {
	hub       *hub.Client
	fnURL     string
	bin       string // the built functions
	secret    []byte
	eventsURL string
}

const testVersion = "test"

func startFleet(t *testing.T) *fleet {
	t.Helper()
	ctx := t.Context()
	hubCluster := testbed.Start(t, local.ClusterSpec{Name: "hub", Region: "hub"})
	f := &fleet{hub: testbed.FleetAPI(t, hubCluster), secret: []byte("the fleet's event secret, 32 bytes at least")}

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "hub.kubeconfig")
	if err := os.WriteFile(kubeconfig, testbed.Kubeconfig(t, hubCluster), 0o600); err != nil {
		t.Fatal(err)
	}
	f.bin = buildFunctions(t)
	images := map[string]string{}
	for _, name := range handlers.Functions() {
		images[handlers.ImagePrefix+name+":"+testVersion] = filepath.Join(f.bin, name)
	}
	// The apps deploy puts on the members (whose Fn is this one).
	images["fnfleet/echo"] = filepath.Join(f.bin, "echo")

	// lifecycle's local provider works in a directory this test owns:
	// its watchdog and teardown (after the Fn server stops, cleanups
	// running last-first) delete what lifecycle created there, as
	// `fnfleet up` does for a fleet.
	bins, err := testbed.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	localWorkdir := testbed.Provider(t).Workdir()
	f.fnURL = testbed.FnServer(t, images)
	f.eventsURL = f.fnURL + "/t/" + handlers.AppName + handlers.EventsTrigger

	app := handlers.App(testVersion, map[string]string{
		handlers.ConfigHubKubeconfig: kubeconfig,
		handlers.ConfigFnAPIURL:      f.fnURL,
		handlers.ConfigEventsURL:     f.eventsURL,
		cloudevent.ConfigHMACSecret:  string(f.secret),
		handlers.ConfigLogLevel:      "debug",
		handlers.ConfigLocalWorkdir:  localWorkdir,
		handlers.ConfigBin:           filepath.Dir(bins.Kwokctl),
	})
	if _, err := fndeploy.Apply(ctx, f.fnURL, app); err != nil {
		t.Fatal(err)
	}
	return f
}

// buildFunctions builds every function in one go build, as `make build`
// does and with its flags, so that the build cache `make build` filled
// serves it (static -trimpath builds, as the images are, compile every
// package again: minutes on a CI machine).
func buildFunctions(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("go", "build", "-o", out+"/", "./functions/...")
	cmd.Dir = filepath.Join("..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./functions/...: %v\n%s", err, b)
	}
	return out
}

// invoke calls function fn the way `fn invoke fnfleet <fn>` does: fn_go
// finds the app and the function, and the body goes to the function's
// invoke endpoint annotation. It returns the function's status
// (Fn-Http-Status) and body.
func (f *fleet) invoke(t *testing.T, fn string, body string) (int, []byte) {
	t.Helper()
	return f.invokeApp(t, handlers.AppName, fn, body)
}

func (f *fleet) invokeApp(t *testing.T, name, fn string, body string) (int, []byte) {
	t.Helper()
	ctx := t.Context()
	c := clientv2.New(httptransport.New(strings.TrimPrefix(f.fnURL, "http://"), "/v2", []string{"http"}), strfmt.Default)
	as, err := c.Apps.ListApps(&apps.ListAppsParams{Context: ctx, Name: &name})
	if err != nil || len(as.Payload.Items) != 1 {
		t.Fatalf("list app %s: %v", name, err)
	}
	fs, err := c.Fns.ListFns(&fns.ListFnsParams{Context: ctx, AppID: &as.Payload.Items[0].ID, Name: &fn})
	if err != nil || len(fs.Payload.Items) != 1 {
		t.Fatalf("list function %s: %v", fn, err)
	}
	endpoint, _ := fs.Payload.Items[0].Annotations[fncontract.InvokeEndpointAnnotation].(string)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out bytes.Buffer
	if _, err := out.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	status := resp.StatusCode
	if s, err := strconv.Atoi(resp.Header.Get(fncontract.HeaderHTTPStatus)); err == nil {
		status = s
	}
	return status, out.Bytes()
}

// sender is a signed events.Sender to the events trigger.
func (f *fleet) sender(t *testing.T) *events.Sender {
	t.Helper()
	s, err := events.NewSender(f.eventsURL, events.WithSigner(f.signer(time.Now)), events.WithLogger(testbed.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fleet) signer(now func() time.Time) events.Signer {
	return func(r *http.Request, e event.Event, _ time.Time) error {
		sig, err := cloudevent.Sign(e, now(), f.secret)
		r.Header.Set(cloudevent.SignatureHeader, sig)
		return err
	}
}

func newEvent(t *testing.T, typ, id, subject string, payload any) event.Event {
	t.Helper()
	e, err := events.New(typ, id, subject, time.Now(), payload)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func fleetApp(name string, regions ...string) *v1alpha1.FleetApp {
	return &v1alpha1.FleetApp{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1alpha1.FleetAppSpec{
			App:       v1alpha1.FnApp{Name: name, Functions: []v1alpha1.Function{{Name: "echo", Image: "fnfleet/echo:0.0.1"}}},
			Demand:    v1alpha1.Demand{Replicas: 1, CPU: resource.MustParse("100m"), Memory: resource.MustParse("128Mi")},
			Placement: v1alpha1.PlacementPolicy{RequiredRegions: regions},
		},
	}
}

// readyMember registers a static member and writes its status as
// lifecycle and reconcile would: Ready, Fn at fnURL, room for apps,
// healthy and beating now.
func (f *fleet) readyMember(t *testing.T, name, region string) {
	t.Helper()
	ctx := t.Context()
	if _, err := f.hub.CreateMemberCluster(ctx, &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.MemberClusterSpec{Region: region, Tier: 1, Provider: v1alpha1.ProviderSpec{
			Name: "static", Config: map[string]string{"kubeconfigSecret": "fnfleet-system/" + name + "-kubeconfig"}}},
	}); err != nil {
		t.Fatal(err)
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	f.applyStatus(t, name, control.LifecycleManager, &v1alpha1.MemberClusterStatus{
		Phase: v1alpha1.PhaseReady, PhaseSince: &now, FnEndpoint: f.fnURL,
		Conditions: []metav1.Condition{{Type: v1alpha1.ClusterFnInstalled, Status: metav1.ConditionTrue, Reason: "Installed", LastTransitionTime: now}},
	})
	f.applyStatus(t, name, control.ReconcileManager, &v1alpha1.MemberClusterStatus{
		Allocatable:       corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi"), corev1.ResourcePods: resource.MustParse("110")},
		Used:              corev1.ResourceList{},
		Conditions:        []metav1.Condition{{Type: v1alpha1.ClusterHealthy, Status: metav1.ConditionTrue, Reason: control.ReasonHealthy, LastTransitionTime: now}},
		LastHeartbeatTime: &now,
	})
}

func (f *fleet) applyStatus(t *testing.T, name, manager string, st *v1alpha1.MemberClusterStatus) {
	t.Helper()
	mc, err := f.hub.GetMemberCluster(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.hub.ApplyMemberClusterStatus(t.Context(), name, mc.ResourceVersion, manager, st); err != nil {
		t.Fatal(err)
	}
}

// TestFunctions runs the built functions on a real hub and a real Fn
// server: one fleet for every case (a fleet costs ~10 s to start).
func TestFunctions(t *testing.T) {
	f := startFleet(t)
	ctx := t.Context()
	f.readyMember(t, "eu", "eu-west")
	f.readyMember(t, "us", "us-east")

	t.Run("refused events change nothing", func(t *testing.T) {
		if _, err := f.hub.CreateFleetApp(ctx, fleetApp("refused", "eu-west")); err != nil {
			t.Fatal(err)
		}
		before, err := f.hub.GetFleetApp(ctx, "default", "refused")
		if err != nil {
			t.Fatal(err)
		}
		e := newEvent(t, events.TypeAppChanged, "app.changed:default/refused@1", "default/refused", events.AppChanged{Generation: 1})
		send := func(t *testing.T, sign events.Signer, want int) {
			t.Helper()
			opts := []events.Option{events.WithRetries(0), events.WithLogger(testbed.Logger(t))}
			if sign != nil {
				opts = append(opts, events.WithSigner(sign))
			}
			s, err := events.NewSender(f.eventsURL, opts...)
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.Send(ctx, e)
			if err == nil || out.Status != want {
				t.Errorf("answered %d (%v), want %d", out.Status, err, want)
			}
		}
		t.Run("unsigned", func(t *testing.T) { send(t, nil, http.StatusUnauthorized) })
		t.Run("wrongly signed", func(t *testing.T) {
			send(t, func(r *http.Request, e event.Event, now time.Time) error {
				sig, err := cloudevent.Sign(e, now, []byte("not the fleet's secret"))
				r.Header.Set(cloudevent.SignatureHeader, sig)
				return err
			}, http.StatusUnauthorized)
		})
		t.Run("replayed outside the window", func(t *testing.T) {
			send(t, f.signer(func() time.Time { return time.Now().Add(-time.Hour) }), http.StatusUnauthorized)
		})
		t.Run("malformed", func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.eventsURL, strings.NewReader(`{"specversion":"1.0","id":`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/cloudevents+json")
			req.Header.Set(cloudevent.SignatureHeader, "t=1,v1=00")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("answered %d, want 400", resp.StatusCode)
			}
		})
		after, err := f.hub.GetFleetApp(ctx, "default", "refused")
		if err != nil {
			t.Fatal(err)
		}
		if after.ResourceVersion != before.ResourceVersion || len(after.Status.Placement) > 0 {
			t.Errorf("a refused event changed FleetApp default/refused: resourceVersion %s -> %s, placement %v",
				before.ResourceVersion, after.ResourceVersion, after.Status.Placement)
		}
	})

	t.Run("fn invoke placement prints the decision", func(t *testing.T) {
		if _, err := f.hub.CreateFleetApp(ctx, fleetApp("hello", "eu-west")); err != nil {
			t.Fatal(err)
		}
		status, body := f.invoke(t, handlers.Placement, `{"app":"default/hello"}`)
		var a handlers.PlacementAnswer
		if err := json.Unmarshal(body, &a); err != nil || status != http.StatusOK {
			t.Fatalf("placement answered %d %s (%v)", status, body, err)
		}
		if len(a.Placement) != 1 || a.Placement[0].Cluster != "eu" || a.Explanation == "" || a.Placed == nil || a.Placed.Status != metav1.ConditionTrue {
			t.Errorf("decision %s; want hello on eu, explained, Placed=True", body)
		}
		t.Logf("fn invoke fnfleet placement:\n%s", body)

		for _, bad := range []struct{ body, says string }{
			{`{"app":`, `{"app":"default/hello"}`},
			{`{}`, `"app"`},
			{`{"app":"hello"}`, "<namespace>/<name>"},
		} {
			status, body := f.invoke(t, handlers.Placement, bad.body)
			var m struct{ Message string }
			if err := json.Unmarshal(body, &m); err != nil || status != http.StatusBadRequest || !strings.Contains(m.Message, bad.says) {
				t.Errorf("%s: answered %d %s, want 400 saying %s", bad.body, status, body, bad.says)
			}
		}
	})

	t.Run("fn invoke deploy puts the app on its member", func(t *testing.T) {
		status, body := f.invoke(t, handlers.Deploy, `{"app":"default/hello"}`)
		var a handlers.DeployAnswer
		if err := json.Unmarshal(body, &a); err != nil || status != http.StatusOK {
			t.Fatalf("deploy answered %d %s (%v)", status, body, err)
		}
		if len(a.Deployments) != 1 || a.Deployments[0].Cluster != "eu" || a.Deployments[0].State != v1alpha1.DeploymentDeployed ||
			a.Deployed == nil || a.Deployed.Status != metav1.ConditionTrue {
			t.Errorf("deploy %s; want hello deployed on eu", body)
		}
		t.Logf("fn invoke fnfleet deploy:\n%s", body)
		// eu's Fn is this one: the app answers there.
		if status, body := f.invokeApp(t, "hello", "echo", "hi"); status != http.StatusOK || string(body) != "hi" {
			t.Errorf("hello's echo answered %d %q, want 200 hi", status, body)
		}
	})

	t.Run("a signed app.changed places the app", func(t *testing.T) {
		if _, err := f.hub.CreateFleetApp(ctx, fleetApp("by-event", "us-east")); err != nil {
			t.Fatal(err)
		}
		out, err := f.sender(t).Send(ctx, newEvent(t, events.TypeAppChanged, "app.changed:default/by-event@1", "default/by-event", events.AppChanged{Generation: 1}))
		if err != nil || out.Status != http.StatusNoContent {
			t.Fatalf("answered %d (%v), want 204", out.Status, err)
		}
		app, err := f.hub.GetFleetApp(ctx, "default", "by-event")
		if err != nil {
			t.Fatal(err)
		}
		if c := apimeta.FindStatusCondition(app.Status.Conditions, v1alpha1.AppPlaced); c == nil || c.Status != metav1.ConditionTrue ||
			len(app.Status.Placement) != 1 || app.Status.Placement[0].Cluster != "us" {
			t.Errorf("status %+v; want placed on us", app.Status)
		}
	})

	t.Run("lifecycle asks again for a cluster in motion", func(t *testing.T) {
		// A static cluster whose kubeconfig Secret is not there yet: it
		// waits in Provisioning.
		if _, err := f.hub.CreateMemberCluster(ctx, &v1alpha1.MemberCluster{
			ObjectMeta: metav1.ObjectMeta{Name: "coming"},
			Spec: v1alpha1.MemberClusterSpec{Region: "sa-east", Provider: v1alpha1.ProviderSpec{
				Name: "static", Config: map[string]string{"kubeconfigSecret": "fnfleet-system/coming-kubeconfig"}}},
		}); err != nil {
			t.Fatal(err)
		}
		status, body := f.invoke(t, handlers.Lifecycle, `{"cluster":"coming"}`)
		var a handlers.LifecycleAnswer
		if err := json.Unmarshal(body, &a); err != nil || status != http.StatusOK {
			t.Fatalf("lifecycle answered %d %s (%v)", status, body, err)
		}
		if a.AskAgainAt == nil || a.Phase == v1alpha1.PhaseReady || len(a.Conditions) == 0 {
			t.Errorf("answer %s; want a phase in motion, what the step did and when to ask again", body)
		}
		t.Logf("fn invoke fnfleet lifecycle:\n%s", body)

		out, err := f.sender(t).Send(ctx, newEvent(t, events.TypeClusterChanged, "cluster.changed:coming@1", "coming", events.ClusterChanged{Changed: []string{"spec"}}))
		if err != nil || out.Status != http.StatusOK || out.AskAgainAt.IsZero() || out.Reply == nil || out.Reply.Type() != events.TypeEventDeferred {
			t.Fatalf("answered %d with %v (%v); want 200 with a dev.fnfleet.event.deferred asking again", out.Status, out.Reply, err)
		}
		if wait := time.Until(out.AskAgainAt); wait > time.Minute {
			t.Errorf("asks again in %v; a cluster in motion is polled every 2 s", wait)
		}
	})

	var burst string // the cluster pool ap-burst makes
	t.Run("50 concurrent events create one cluster", func(t *testing.T) {
		pool := &v1alpha1.ClusterPool{ObjectMeta: metav1.ObjectMeta{Name: "ap-burst"}, Spec: v1alpha1.ClusterPoolSpec{
			Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: "ap-south", Nodes: 1, Tier: 1, MaxClusters: 3,
			NodeCapacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi")},
		}}
		if _, err := f.hub.CreateClusterPool(ctx, pool); err != nil {
			t.Fatal(err)
		}
		if _, err := f.hub.CreateFleetApp(ctx, fleetApp("burst", "ap-south")); err != nil {
			t.Fatal(err)
		}
		e := newEvent(t, events.TypeAppChanged, "app.changed:default/burst@1", "default/burst", events.AppChanged{Generation: 1})
		s := f.sender(t)
		var wg sync.WaitGroup
		errs := make([]error, 50)
		for i := range errs {
			wg.Go(func() {
				out, err := s.Send(ctx, e)
				if err == nil && out.Status >= 300 {
					err = fmt.Errorf("answered %d", out.Status)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("event %d: %v", i, err)
			}
		}
		list, err := f.hub.ListMemberClusters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var made []string
		for _, mc := range list.Items {
			if mc.Labels[control.PoolLabel] == "ap-burst" {
				made = append(made, mc.Name)
			}
		}
		if len(made) != 1 {
			t.Fatalf("pool ap-burst made %v, want exactly one cluster", made)
		}
		burst = made[0]
	})

	t.Run("lifecycle creates the pool's cluster and installs Fn", func(t *testing.T) {
		if burst == "" {
			t.Fatal("the case before made no cluster to bring up")
		}
		// No event source here re-delivers deferrals: the test asks
		// again when lifecycle says, as the event source would, until the
		// cluster is Ready or a generous deadline passes.
		deadline := time.Now().Add(5 * time.Minute)
		body := fmt.Sprintf(`{"cluster":%q}`, burst)
		for {
			status, out := f.invoke(t, handlers.Lifecycle, body)
			var a handlers.LifecycleAnswer
			if err := json.Unmarshal(out, &a); err != nil {
				t.Fatalf("lifecycle answered %d %s (%v)", status, out, err)
			}
			if a.Phase == v1alpha1.PhaseReady {
				t.Logf("fn invoke fnfleet lifecycle, Ready:\n%s", out)
				return
			}
			if a.Phase == v1alpha1.PhaseFailed || time.Now().After(deadline) {
				t.Fatalf("cluster %s not Ready: %s", burst, out)
			}
			wait := time.Second
			if a.AskAgainAt != nil {
				wait = min(max(time.Until(*a.AskAgainAt), 100*time.Millisecond), 5*time.Second)
			}
			select {
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			case <-time.After(wait):
			}
		}
	})

	t.Run("reconcile and parking answer with their summaries", func(t *testing.T) {
		status, body := f.invoke(t, handlers.Reconcile, `{}`)
		var r handlers.ReconcileAnswer
		if err := json.Unmarshal(body, &r); err != nil || status != http.StatusOK {
			t.Fatalf("reconcile answered %d %s (%v)", status, body, err)
		}
		if r.Looked < 4 || len(r.Members) != r.Looked {
			t.Errorf("reconcile %s; want every member looked at and listed", body)
		}
		t.Logf("fn invoke fnfleet reconcile:\n%s", body)

		// A member parked by hand is one whose answer turned: parking
		// sends it to lifecycle.
		mc, err := f.hub.GetMemberCluster(ctx, "us")
		if err != nil {
			t.Fatal(err)
		}
		mc.Spec.Parked = true
		if _, err := f.hub.UpdateMemberCluster(ctx, mc); err != nil {
			t.Fatal(err)
		}
		status, body = f.invoke(t, handlers.Parking, `{}`)
		var p handlers.ParkingAnswer
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("parking answered %d %s (%v)", status, body, err)
		}
		if len(p.Turned) != 1 || p.Turned[0].Cluster != "us" || p.Turned[0].Run || p.Lifecycle["us"] == nil {
			t.Errorf("parking answered %d %s; want us turned (parked by hand) and lifecycle's answer for it", status, body)
		}
		t.Logf("fn invoke fnfleet parking:\n%s", body)
	})

	t.Run("memory", func(t *testing.T) { checkMemory(t, f.bin) })
}

// checkMemory reads the peak RSS (VmHWM) of every function process still
// running and holds it under the function's memory limit.
func checkMemory(t *testing.T, bin string) {
	limits := map[string]int32{}
	for _, fn := range handlers.App(testVersion, nil).Functions {
		limits[fn.Name] = fn.MemoryMB
	}
	seen := map[string]bool{}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if _, ok := limits[filepath.Base(exe)]; err != nil || filepath.Dir(exe) != bin || !ok {
			continue
		}
		name := filepath.Base(exe)
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		var hwmKB int64
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				hwmKB, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			}
		}
		seen[name] = true
		t.Logf("function %s (pid %d): peak RSS %d MiB, limit %d MB", name, pid, hwmKB>>10, limits[name])
		if limit := int64(limits[name]) << 10; hwmKB > limit {
			t.Errorf("function %s: peak RSS %d KiB is over its %d MB limit", name, hwmKB, limits[name])
		}
	}
	for _, name := range handlers.Functions() {
		if !seen[name] {
			t.Errorf("no process of function %s to measure", name)
		}
	}
}
