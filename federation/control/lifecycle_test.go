package control_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	fleethub "github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/observe"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/installer"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// These tests drive the lifecycle shell on real parts: a kwok hub holding
// the fnfleet API, member clusters of the local provider (kwokctl's binary
// runtime and a detached fn-server data plane each), Helm installing
// charts/fn on them.

// bed is a hub and a local provider for members.
type bed struct {
	hub           *fleethub.Client
	hubKubeconfig []byte
	driver        *local.Driver
	local         *local.Provider
	bins          local.Binaries
}

func newBed(t testing.TB) *bed {
	t.Helper()
	h := testbed.Start(t, local.ClusterSpec{Name: "hub"})
	client := testbed.FleetAPI(t, h)
	bins, err := testbed.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	p := testbed.Provider(t)
	return &bed{hub: client, hubKubeconfig: testbed.Kubeconfig(t, h), driver: local.NewDriver(p), local: p, bins: bins}
}

func (b *bed) lifecycle(t testing.TB, p providers.Provider, clock func() time.Time) *control.Lifecycle {
	t.Helper()
	l, err := control.NewLifecycle(control.LifecycleConfig{
		Hub: b.hub, Providers: map[string]providers.Provider{"local": p},
		Installer: installer.New(testbed.Logger(t)), Now: clock, Logger: testbed.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func localPool(name string, maxClusters int32) *v1alpha1.ClusterPool {
	return &v1alpha1.ClusterPool{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ClusterPoolSpec{
			Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: "eu-west", Zone: "eu-west-a", Nodes: 1,
			NodeCapacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi")},
			CostPerHour:  ptr(resource.MustParse("0.20")), Tier: 1, MaxClusters: maxClusters,
			Labels: map[string]string{"env": "test"},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// drive calls Reconcile for name until done says the MemberCluster is
// where the test wants it (nil: the object is gone), from workers callers
// at once, and returns the last object read.
func drive(t testing.TB, ctx context.Context, b *bed, l *control.Lifecycle, name string, callers int, done func(*v1alpha1.MemberCluster) bool) *v1alpha1.MemberCluster {
	t.Helper()
	callCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for callCtx.Err() == nil {
				_, _ = l.Reconcile(callCtx, name) // failures are in the status
				select {
				case <-callCtx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	last := ""
	for {
		mc, err := b.hub.GetMemberCluster(ctx, name)
		switch {
		case apierrors.IsNotFound(err):
			if done(nil) {
				return nil
			}
		case err != nil && ctx.Err() == nil:
			t.Fatal(err)
		case err == nil:
			if p := string(mc.Status.Phase); p != last {
				t.Logf("%s: %s", name, p)
				last = p
			}
			if done(mc) {
				return mc
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not there in time; last status %+v", name, mc.Status)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func phaseIs(p v1alpha1.ClusterPhase) func(*v1alpha1.MemberCluster) bool {
	return func(mc *v1alpha1.MemberCluster) bool { return mc != nil && mc.Status.Phase == p }
}

// A MemberCluster from a pool, driven by ten callers at once, becomes one
// cluster with one Helm release of charts/fn and an answering Fn; parked,
// nothing of it runs; woken, the Fn app deployed before answers again;
// deleted, nothing is left.
func TestLifecycleCreatesInstallsParksWakesDeletes(t *testing.T) {
	b := newBed(t)
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	pool, err := b.hub.CreateClusterPool(ctx, localPool("eu-small", 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.hub.CreateMemberCluster(ctx, control.MemberFromPool("eu-small-1", pool, nil)); err != nil {
		t.Fatal(err)
	}
	l := b.lifecycle(t, b.driver, nil)

	mc := drive(t, ctx, b, l, "eu-small-1", 10, phaseIs(v1alpha1.PhaseReady))
	fn := apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ClusterFnInstalled)
	if fn == nil || fn.Status != metav1.ConditionTrue || !strings.Contains(fn.Message, "release fn revision 1") {
		t.Errorf("FnInstalled %+v, want True naming release fn revision 1 (one install for ten callers)", fn)
	}
	if names, _ := b.local.List(); !slices.Equal(names, []string{"eu-small-1"}) {
		t.Errorf("local clusters %v, want one", names)
	}
	kwokLog, _ := os.ReadFile(filepath.Join(b.local.Workdir(), "logs", "eu-small-1.kwokctl.log"))
	if n := strings.Count(string(kwokLog), "create cluster"); n != 1 {
		t.Errorf("kwokctl create ran %d times, want 1", n)
	}
	ref := mc.Status.KubeconfigSecretRef
	if ref == nil || ref.Name != "eu-small-1-kubeconfig" {
		t.Fatalf("kubeconfigSecretRef %+v", ref)
	}
	secret, err := b.hub.Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil || !strings.Contains(string(secret.Data[ref.Key]), "server:") {
		t.Fatalf("kubeconfig Secret: %v", err)
	}
	if p, _ := b.hub.GetClusterPool(ctx, "eu-small"); !slices.Contains(p.Status.Admitted, "eu-small-1") {
		t.Errorf("pool admitted %v, want the cluster", p.Status.Admitted)
	}
	endpoint := mc.Status.FnEndpoint
	if !strings.HasPrefix(endpoint, "http://127.0.1.") {
		t.Fatalf("fnEndpoint %q, want the data plane's loopback address", endpoint)
	}
	app := echoApp(b)
	if _, err := (fndeploy.Deployer{}).Apply(ctx, endpoint, app); err != nil {
		t.Fatal(err)
	}
	if got := invoke(t, ctx, endpoint, "before parking"); got != "before parking" {
		t.Errorf("echo answered %q", got)
	}

	// A person parks it by hand.
	setParked(t, ctx, b, "eu-small-1", true)
	start := time.Now()
	drive(t, ctx, b, l, "eu-small-1", 1, phaseIs(v1alpha1.PhaseParked))
	t.Logf("Ready -> Parked in %v", time.Since(start))
	if procs, err := b.local.ProcessesOf("eu-small-1"); err != nil || len(procs) > 0 {
		t.Errorf("parked cluster runs %v (%v)", procs, err)
	}
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(endpoint, "http://"), time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("the data plane still listens at %s after parking", endpoint)
	}

	// Cleared, the usual rules decide again: idle, it stays parked until
	// an app's capacity request asks to wake it.
	setParked(t, ctx, b, "eu-small-1", false)
	start = time.Now()
	requestWake(t, ctx, b, "eu-small-1")
	mc = drive(t, ctx, b, l, "eu-small-1", 1, phaseIs(v1alpha1.PhaseReady))
	t.Logf("Parked -> Ready in %v", time.Since(start))
	if mc.Status.FnEndpoint != endpoint {
		t.Errorf("endpoint after the wake %q, want the same %q", mc.Status.FnEndpoint, endpoint)
	}
	if got := invoke(t, ctx, endpoint, "after the wake"); got != "after the wake" {
		t.Errorf("echo answered %q after the wake", got)
	}

	if err := b.hub.DeleteMemberCluster(ctx, "eu-small-1"); err != nil {
		t.Fatal(err)
	}
	drive(t, ctx, b, l, "eu-small-1", 1, func(mc *v1alpha1.MemberCluster) bool { return mc == nil })
	if names, _ := b.local.List(); len(names) != 0 {
		t.Errorf("local clusters %v after delete, want none", names)
	}
	if _, err := b.hub.Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("kubeconfig Secret after delete: %v, want NotFound", err)
	}
	if p, _ := b.hub.GetClusterPool(ctx, "eu-small"); slices.Contains(p.Status.Admitted, "eu-small-1") {
		t.Errorf("pool still admits the deleted cluster: %v", p.Status.Admitted)
	}
}

// A provider whose create fails sends the cluster to Failed with the
// provider's words; it is retried after a backoff that doubles; and it is
// deleted when asked, from Failed.
func TestLifecycleBrokenProviderFailsRetriesAndDeletes(t *testing.T) {
	b := newBed(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// A kwokctl whose creates fail as a broken one's would; the rest it
	// leaves to the real one.
	broken := filepath.Join(t.TempDir(), "kwokctl")
	script := "#!/bin/sh\ncase \"$*\" in *'create cluster'*) echo 'etcd: address already in use' >&2; exit 3;; esac\nexec " + b.bins.Kwokctl + " \"$@\"\n"
	if err := os.WriteFile(broken, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	bins := b.bins
	bins.Kwokctl = broken
	p, err := local.New(local.Config{Binaries: bins, Workdir: t.TempDir(), Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	pool, err := b.hub.CreateClusterPool(ctx, localPool("broken", 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.hub.CreateMemberCluster(ctx, control.MemberFromPool("broken-1", pool, nil)); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	l := b.lifecycle(t, local.NewDriver(p), clock.now)

	failed := func(n int32) func(*v1alpha1.MemberCluster) bool {
		return func(mc *v1alpha1.MemberCluster) bool {
			return mc.Status.Phase == v1alpha1.PhaseFailed && mc.Status.Failures == n
		}
	}
	mc := drive(t, ctx, b, l, "broken-1", 1, failed(1))
	c := apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ClusterProvisioned)
	if c == nil || c.Reason != lifecycle.ReasonProvisionFailed || !strings.Contains(c.Message, "address already in use") || !strings.Contains(c.Message, "retry 1 at") {
		t.Fatalf("Provisioned %+v; want ProvisionFailed with kwokctl's words and the retry", c)
	}
	// Before the backoff (10s) nothing is retried.
	next, err := l.Reconcile(ctx, "broken-1")
	if err != nil {
		t.Fatal(err)
	}
	if wait := next.Sub(mc.Status.PhaseSince.Time); wait != 10*time.Second {
		t.Errorf("first retry due %v after the failure, want 10s", wait)
	}
	if again, _ := b.hub.GetMemberCluster(ctx, "broken-1"); again.Status.Phase != v1alpha1.PhaseFailed || again.ResourceVersion != mc.ResourceVersion {
		t.Errorf("a call within the backoff changed the cluster: %s", again.Status.Phase)
	}
	// After it, the create is retried and fails again; the next wait is
	// twice as long.
	clock.advance(11 * time.Second)
	mc = drive(t, ctx, b, l, "broken-1", 1, failed(2))
	next, _ = l.Reconcile(ctx, "broken-1")
	if wait := next.Sub(mc.Status.PhaseSince.Time); wait != 20*time.Second {
		t.Errorf("second retry due %v after the failure, want 20s", wait)
	}

	if err := b.hub.DeleteMemberCluster(ctx, "broken-1"); err != nil {
		t.Fatal(err)
	}
	drive(t, ctx, b, l, "broken-1", 1, func(mc *v1alpha1.MemberCluster) bool { return mc == nil })
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// refusing is a provider that has no clusters and creates none.
type refusing struct{}

var errRefused = errors.New("refused by the test provider")

func (refusing) Create(context.Context, providers.Cluster) error { return errRefused }
func (refusing) Observe(context.Context, providers.Cluster) (providers.State, error) {
	return providers.State{}, nil
}
func (refusing) Kubeconfig(context.Context, providers.Cluster) ([]byte, error) {
	return nil, errRefused
}
func (refusing) Park(context.Context, providers.Cluster, v1alpha1.ParkingMode) error {
	return errRefused
}
func (refusing) Unpark(context.Context, providers.Cluster) error            { return errRefused }
func (refusing) ScaleNodes(context.Context, providers.Cluster, int32) error { return errRefused }
func (refusing) Delete(context.Context, providers.Cluster) error            { return nil }

func setParked(t testing.TB, ctx context.Context, b *bed, name string, parked bool) {
	t.Helper()
	for {
		mc, err := b.hub.GetMemberCluster(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		mc.Spec.Parked = parked
		_, err = b.hub.UpdateMemberCluster(ctx, mc)
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
}

// requestWake plays placement asking to wake name: a FleetApp whose
// capacity request names it.
func requestWake(t testing.TB, ctx context.Context, b *bed, name string) {
	t.Helper()
	app := demoApp()
	app.Name, app.Generation = "wants-"+name, 0
	created, err := b.hub.CreateFleetApp(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	request := &v1alpha1.FleetAppStatus{CapacityRequest: &v1alpha1.CapacityRequest{Replicas: 1, Wake: []string{name}}}
	if _, err := b.hub.ApplyFleetAppStatus(ctx, created.Namespace, created.Name, created.ResourceVersion, control.PlacementManager, request); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.hub.DeleteFleetApp(context.Background(), created.Namespace, created.Name) })
}

func echoApp(b *bed) *v1alpha1.FnApp {
	echo := filepath.Join(filepath.Dir(b.bins.Kwokctl), "echo")
	return &v1alpha1.FnApp{Name: "hello", Functions: []v1alpha1.Function{{
		Name: "echo", Image: "file://" + echo, MemoryMB: 128, TimeoutSeconds: 30,
		Triggers: []v1alpha1.Trigger{{Name: "echo", Type: "http", Source: "/echo"}},
	}}}
}

// invoke calls the echo function through its trigger and returns the answer.
func invoke(t *testing.T, ctx context.Context, endpoint, body string) string {
	t.Helper()
	code, out := call(t, ctx, http.MethodPost, endpoint+"/t/hello/echo", strings.NewReader(body))
	if code != http.StatusOK {
		t.Fatalf("invoke: %d: %s", code, out)
	}
	return string(out)
}

// childEnv makes the test binary a lifecycle caller that a test kills; see
// TestLifecycleFinishesAfterItsCallerIsKilled.
const childEnv = "FNFLEET_LIFECYCLE_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		// runChild returns only when it cannot run.
		fmt.Fprintln(os.Stderr, runChild(spec))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// runChild drives one cluster's lifecycle until it kills itself at a crash
// point. spec is "<hub kubeconfig>:<provider workdir>:<cluster>:<point>",
// point "create" (the phase Provisioning is persisted, the create not
// started) or "install" (Helm's release is pending).
func runChild(spec string) error {
	parts := strings.SplitN(spec, ":", 4)
	if len(parts) != 4 {
		return fmt.Errorf("child spec %q", spec)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", parts[0])
	if err != nil {
		return err
	}
	h, err := fleethub.New(cfg)
	if err != nil {
		return err
	}
	bins, err := testbed.Binaries()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	p, err := local.New(local.Config{Binaries: bins, Workdir: parts[1], Logger: log})
	if err != nil {
		return err
	}
	d := local.NewDriver(p)
	l, err := control.NewLifecycle(control.LifecycleConfig{
		Hub: h, Providers: map[string]providers.Provider{"local": d},
		Installer: installer.New(log), Logger: log,
	})
	if err != nil {
		return err
	}
	name, point := parts[2], parts[3]
	control.SetCrashPoint(l, func(at string) {
		switch {
		case point == "create" && at == "before create",
			point == "install" && at == "installing" && pending(context.Background(), d, name):
			fmt.Fprintf(os.Stderr, "child: killed %s\n", at)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	})
	for {
		if _, err := l.Reconcile(context.Background(), name); err != nil {
			log.Warn("reconcile", "err", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A caller killed with SIGKILL at the worst moments leaves work that the
// next caller finishes, without doing anything twice: killed once the
// phase Provisioning is recorded and before the create starts, the next
// caller creates the cluster; killed while Helm's release is pending, the
// next caller recovers the release (once the dead installer's lease has
// lapsed). Each time: one cluster, one kwokctl create, one deployed
// release, Fn answering, Ready.
func TestLifecycleFinishesAfterItsCallerIsKilled(t *testing.T) {
	b := newBed(t)
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	pool, err := b.hub.CreateClusterPool(ctx, localPool("kill", 2))
	if err != nil {
		t.Fatal(err)
	}
	hubKubeconfig := filepath.Join(t.TempDir(), "hub.kubeconfig")
	if err := os.WriteFile(hubKubeconfig, b.hubKubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	killAt := func(t *testing.T, name, point string) {
		t.Helper()
		child := exec.Command(self, "-test.run=^$")
		child.Env = append(os.Environ(), childEnv+"="+hubKubeconfig+":"+b.local.Workdir()+":"+name+":"+point)
		child.Stderr = t.Output()
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		// The child kills itself at its point; a child that ends any
		// other way, or not in time, fails the test.
		done := make(chan error, 1)
		go func() { done <- child.Wait() }()
		select {
		case err := <-done:
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child ended with %v, want killed at %s", err, point)
			}
		case <-ctx.Done():
			_ = child.Process.Kill()
			t.Fatalf("child did not reach its crash point %s in time (then: %v)", point, <-done)
		}
	}
	recovered := func(t *testing.T, name string) {
		t.Helper()
		l := b.lifecycle(t, b.driver, nil)
		mc := drive(t, ctx, b, l, name, 1, phaseIs(v1alpha1.PhaseReady))
		kwokLog, _ := os.ReadFile(filepath.Join(b.local.Workdir(), "logs", name+".kwokctl.log"))
		if n := strings.Count(string(kwokLog), "create cluster"); n != 1 {
			t.Errorf("kwokctl create ran %d times, want 1", n)
		}
		if st := releaseState(t, ctx, b.driver, name); !st.Deployed {
			t.Errorf("release %+v, want deployed", st)
		}
		if err := observe.FnAnswers(ctx, http.DefaultClient, mc.Status.FnEndpoint); err != nil {
			t.Errorf("Fn after the recovery: %v", err)
		}
		procs, err := b.local.ProcessesOf(name)
		if err != nil {
			t.Fatal(err)
		}
		if n := countNamed(procs, "fnfleet"); n != 1 {
			t.Errorf("%d data planes run for %s, want 1: %v", n, name, procs)
		}
	}

	t.Run("after Provisioning is recorded, before the create", func(t *testing.T) {
		if _, err := b.hub.CreateMemberCluster(ctx, control.MemberFromPool("kill-1", pool, nil)); err != nil {
			t.Fatal(err)
		}
		killAt(t, "kill-1", "create")
		mc, err := b.hub.GetMemberCluster(ctx, "kill-1")
		if err != nil {
			t.Fatal(err)
		}
		if names, _ := b.local.List(); mc.Status.Phase != v1alpha1.PhaseProvisioning || slices.Contains(names, "kill-1") {
			t.Fatalf("at the kill: phase %s, local clusters %v; want Provisioning recorded and nothing created", mc.Status.Phase, names)
		}
		recovered(t, "kill-1")
	})
	t.Run("while Helm's release is pending", func(t *testing.T) {
		if _, err := b.hub.CreateMemberCluster(ctx, control.MemberFromPool("kill-2", pool, nil)); err != nil {
			t.Fatal(err)
		}
		killAt(t, "kill-2", "install")
		if st := releaseState(t, ctx, b.driver, "kill-2"); !st.Pending {
			t.Fatalf("at the kill: release %+v, want pending", st)
		}
		recovered(t, "kill-2")
	})
}

// countNamed counts the processes whose executable is called name.
func countNamed(procs []local.Process, name string) int {
	n := 0
	for _, p := range procs {
		if p.Name == name {
			n++
		}
	}
	return n
}

// pending is whether the Fn release on the cluster is pending.
func pending(ctx context.Context, d *local.Driver, name string) bool {
	st, err := releaseOf(ctx, d, name)
	return err == nil && st.Pending
}

func releaseState(t *testing.T, ctx context.Context, d *local.Driver, name string) installer.State {
	t.Helper()
	st, err := releaseOf(ctx, d, name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// releaseOf reads the Fn release on the cluster, as Helm recorded it.
func releaseOf(ctx context.Context, d *local.Driver, name string) (installer.State, error) {
	cfg, err := memberConfig(ctx, d, name)
	if err != nil {
		return installer.State{}, err
	}
	return installer.New(slog.New(slog.DiscardHandler)).Status(ctx, installer.Target{RESTConfig: cfg}, installer.Release{})
}

// memberConfig is a client configuration for the local cluster name.
func memberConfig(ctx context.Context, d *local.Driver, name string) (*rest.Config, error) {
	kubeconfig, err := d.Kubeconfig(ctx, providers.Cluster{Name: name})
	if err != nil {
		return nil, err
	}
	return clientcmd.RESTConfigFromKubeConfig(kubeconfig)
}

// A hibernation window parks a cluster even with apps on it, in two
// steps: some minutes before it opens the cluster stops taking apps
// (Schedulable False, so placement moves them), and when it opens the
// cluster parks.
func TestLifecycleWindowMakesUnschedulableThenParks(t *testing.T) {
	b := newBed(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	clock := &fakeClock{t: time.Now().UTC().Truncate(time.Minute)}
	opens := clock.now().Add(8 * time.Minute)
	poolSpec := localPool("nightly", 2)
	poolSpec.Spec.Parking = &v1alpha1.ParkingPolicy{Windows: []v1alpha1.ParkingWindow{{
		Start: fmt.Sprintf("%d %d * * *", opens.Minute(), opens.Hour()), Duration: metav1.Duration{Duration: time.Hour}, TimeZone: "UTC",
	}}}
	pool, err := b.hub.CreateClusterPool(ctx, poolSpec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.hub.CreateMemberCluster(ctx, control.MemberFromPool("nightly-1", pool, nil)); err != nil {
		t.Fatal(err)
	}
	l := b.lifecycle(t, b.driver, clock.now)
	schedulable := func(mc *v1alpha1.MemberCluster) *metav1.Condition {
		return apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ClusterSchedulable)
	}
	mc := drive(t, ctx, b, l, "nightly-1", 1, phaseIs(v1alpha1.PhaseReady))
	if c := schedulable(mc); c != nil && c.Status == metav1.ConditionFalse {
		t.Fatalf("Schedulable %+v 8 minutes before the window, want not False", c)
	}

	clock.advance(4 * time.Minute) // the window opens in 4 minutes
	mc = drive(t, ctx, b, l, "nightly-1", 1, func(mc *v1alpha1.MemberCluster) bool {
		c := schedulable(mc)
		return c != nil && c.Status == metav1.ConditionFalse
	})
	if c := schedulable(mc); mc.Status.Phase != v1alpha1.PhaseReady || c.Reason != "HibernationWindowAhead" || !strings.Contains(c.Message, "opens in 4m") {
		t.Errorf("before the window: phase %s, Schedulable %+v; want Ready, unschedulable, saying when it opens", mc.Status.Phase, c)
	}

	clock.advance(4*time.Minute + 30*time.Second) // the window is open
	mc = drive(t, ctx, b, l, "nightly-1", 1, phaseIs(v1alpha1.PhaseParked))
	if c := apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ClusterParked); c == nil || c.Reason != "HibernationWindow" {
		t.Errorf("Parked %+v, want reason HibernationWindow", c)
	}
	if procs, err := b.local.ProcessesOf("nightly-1"); err != nil || len(procs) > 0 {
		t.Errorf("parked cluster runs %v (%v)", procs, err)
	}
}

// Node autoscale end to end: apps requesting more than 80% of a cluster's
// cpu (as observation reports it) make lifecycle scale it up one node
// through the provider, and the cluster is Ready again with NodesScaled;
// once they are gone, and the cooldown (5m) has passed, it scales down
// again.
func TestLifecycleScalesNodesOnUse(t *testing.T) {
	b := newBed(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	spec := localPool("grow", 2)
	spec.Spec.NodeAutoscale = &v1alpha1.NodeAutoscale{MinNodes: 1, MaxNodes: 3}
	pool, err := b.hub.CreateClusterPool(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.hub.CreateMemberCluster(ctx, control.MemberFromPool("grow-1", pool, nil)); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now().UTC().Truncate(time.Second)}
	l := b.lifecycle(t, b.driver, clock.now)
	obs, err := control.NewObservation(control.ObservationConfig{Hub: b.hub, Now: clock.now, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	drive(t, ctx, b, l, "grow-1", 1, phaseIs(v1alpha1.PhaseReady))

	cfg, err := memberConfig(ctx, b.driver, "grow-1")
	if err != nil {
		t.Fatal(err)
	}
	member, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// 7 of the node's 8 cpus: 87.5%, past the default 80%.
	runPod(t, member, "default", "busy", nil, nil, req("3", ""), req("4", ""))

	scaledTo := func(n int32) *v1alpha1.MemberCluster {
		t.Helper()
		for {
			if _, err := obs.Reconcile(ctx, "grow-1"); err != nil {
				t.Logf("observe: %v", err)
			}
			if _, err := l.Reconcile(ctx, "grow-1"); err != nil {
				t.Logf("lifecycle: %v", err)
			}
			mc, err := b.hub.GetMemberCluster(ctx, "grow-1")
			if err != nil {
				t.Fatal(err)
			}
			c := apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ClusterNodesScaled)
			if mc.Status.Phase == v1alpha1.PhaseReady && mc.Status.DesiredNodes == n && c != nil && c.Status == metav1.ConditionTrue {
				return mc
			}
			select {
			case <-ctx.Done():
				t.Fatalf("not scaled to %d nodes in time: %+v", n, mc.Status)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	mc := scaledTo(2)
	// Observation reports where the Fn Service answers: the data plane's
	// address, as the endpoint has it.
	if ing := mc.Status.Ingress; len(ing) != 1 || !strings.Contains(mc.Status.FnEndpoint, "//"+ing[0].IP+":") {
		t.Errorf("ingress %+v, want the address of fnEndpoint %s", ing, mc.Status.FnEndpoint)
	}
	if mc.Status.DesiredNodes != 2 || mc.Status.LastScaleTime == nil {
		t.Errorf("desiredNodes %d, lastScaleTime %v; want 2 and set", mc.Status.DesiredNodes, mc.Status.LastScaleTime)
	}
	nodes, err := member.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 2 {
		t.Errorf("member has %d nodes (%v), want 2", len(nodes.Items), err)
	}

	// The apps leave: nothing is requested. Within the cooldown the count
	// holds; after it, one node goes.
	if err := member.CoreV1().Pods("default").Delete(ctx, "busy", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Minute)
	if _, err := obs.Reconcile(ctx, "grow-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reconcile(ctx, "grow-1"); err != nil {
		t.Fatal(err)
	}
	if mc, _ := b.hub.GetMemberCluster(ctx, "grow-1"); mc.Status.Phase != v1alpha1.PhaseReady || mc.Status.DesiredNodes != 2 {
		t.Errorf("within the cooldown: phase %s, desiredNodes %d; want Ready, 2", mc.Status.Phase, mc.Status.DesiredNodes)
	}
	clock.advance(5 * time.Minute)
	scaledTo(1)
	nodes, err = member.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 1 {
		t.Errorf("member has %d nodes (%v) after the scale-down, want 1", len(nodes.Items), err)
	}
}
