package control_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	fleethub "github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/fnserver"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// The hub client is the observation shell's hub.
var _ control.ObservationHub = (*fleethub.Client)(nil)

const lifecycleManager = "fnfleet-lifecycle"

// TestObservationOnRealClusters runs the shell against a real hub, a real
// member (kwok plays its kubelet) and a real Fn server.
func TestObservationOnRealClusters(t *testing.T) {
	ctx := t.Context()
	clusters := testbed.StartN(t,
		local.ClusterSpec{Region: "hub"},
		local.ClusterSpec{Region: "eu-west", Nodes: 1, NodeCapacity: local.Resources{CPU: "4", Memory: "8Gi", Pods: "20"}},
	)
	hubCluster, memberCluster := clusters[0], clusters[1]
	h := testbed.FleetAPI(t, hubCluster)

	// The member's kubeconfig, as lifecycle stores it.
	const ns = "fnfleet-system"
	if err := h.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "eu-kubeconfig"},
		Data:       map[string][]byte{control.KubeconfigKey: testbed.Kubeconfig(t, memberCluster)},
	}
	if _, err := h.Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fn := startFn(t)

	if _, err := h.CreateMemberCluster(ctx, &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "eu"},
		Spec:       v1alpha1.MemberClusterSpec{Provider: v1alpha1.ProviderSpec{Name: "static"}, Region: "eu-west"},
	}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Truncate(time.Second) // metav1.Time keeps seconds
	installed := metav1.Condition{Type: v1alpha1.ClusterFnInstalled, Status: metav1.ConditionTrue, Reason: "Installed",
		Message: "Fn release fn revision 1 is ready", LastTransitionTime: metav1.NewTime(t0)}
	lifecycle := func(t *testing.T, phase v1alpha1.ClusterPhase, secretName string) {
		t.Helper()
		cur, err := h.GetMemberCluster(ctx, "eu")
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.ApplyMemberClusterStatus(ctx, "eu", cur.ResourceVersion, lifecycleManager, &v1alpha1.MemberClusterStatus{
			Phase:               phase,
			Conditions:          []metav1.Condition{installed},
			KubeconfigSecretRef: &v1alpha1.SecretKeyRef{Namespace: ns, Name: secretName},
			FnEndpoint:          fn.url,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	lifecycle(t, v1alpha1.PhaseReady, "eu-kubeconfig")

	// The member runs two app pods, a system pod and Fn's own pod.
	member := kubernetes.NewForConfigOrDie(memberCluster.RESTConfig)
	for _, name := range []string{"apps", "fn"} {
		if _, err := member.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	runPod(t, member, "apps", "web", nil, nil, req("250m", "128Mi"))
	// 100m + 150m running, a 500m init container before them: 500m.
	runPod(t, member, "apps", "batch", nil, []corev1.Container{{Name: "init", Image: "registry.invalid/init:1", Resources: req("500m", "")}},
		req("100m", "32Mi"), req("150m", "32Mi"))
	runPod(t, member, "kube-system", "dns", nil, nil, req("1", "1Gi"))
	runPod(t, member, "fn", "fn-server", map[string]string{"app.kubernetes.io/name": "fn"}, nil, req("2", "2Gi"))

	clock := t0
	shell, err := control.NewObservation(control.ObservationConfig{Hub: h, Now: func() time.Time { return clock }, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	observe := func(t *testing.T) *v1alpha1.MemberCluster {
		t.Helper()
		next, err := shell.Reconcile(ctx, "eu")
		if err != nil {
			t.Fatal(err)
		}
		if want := clock.Add(control.ObservationResync); !next.Equal(want) {
			t.Errorf("next look at %v, want %v", next, want)
		}
		got, err := h.GetMemberCluster(ctx, "eu")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("usage counts only app pods", func(t *testing.T) {
		got := observe(t)
		st := got.Status
		for _, c := range []struct {
			what  string
			l     corev1.ResourceList
			name  corev1.ResourceName
			value string
		}{
			// The nodes' 4 cpu, 8Gi, 20 pods less what dns and the Fn
			// server request (3 cpu, 3Gi, 2 pods) is what apps are
			// offered; web and batch use 750m, 192Mi and 2 pods of it.
			{"capacity", st.Capacity, corev1.ResourceCPU, "4"},
			{"allocatable", st.Allocatable, corev1.ResourceMemory, "5Gi"},
			{"used", st.Used, corev1.ResourceCPU, "750m"},
			{"used", st.Used, corev1.ResourceMemory, "192Mi"},
			{"used", st.Used, corev1.ResourcePods, "2"},
			{"available", st.Available, corev1.ResourceCPU, "250m"},
			{"available", st.Available, corev1.ResourcePods, "16"},
		} {
			if q := c.l[c.name]; q.Cmp(resource.MustParse(c.value)) != 0 {
				t.Errorf("%s %s = %s, want %s (the app pods web and batch as use, dns and Fn not offered to apps)", c.what, c.name, q.String(), c.value)
			}
		}
		healthy := apimeta.FindStatusCondition(st.Conditions, v1alpha1.ClusterHealthy)
		if healthy == nil || healthy.Status != metav1.ConditionTrue || healthy.Reason != control.ReasonHealthy || !healthy.LastTransitionTime.Time.Equal(clock) {
			t.Errorf("Healthy = %+v, want True, Healthy, since the injected now", healthy)
		}
		if hb := st.LastHeartbeatTime; hb == nil || !hb.Time.Equal(clock) {
			t.Errorf("lastHeartbeatTime %v, want %v", hb, clock)
		}
		lifecycleUntouched(t, got, fn.url)
	})

	t.Run("a dead Fn on a live apiserver", func(t *testing.T) {
		fn.stop()
		clock = t0.Add(time.Minute)
		got := observe(t)
		healthy := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ClusterHealthy)
		if healthy == nil || healthy.Status != metav1.ConditionFalse || healthy.Reason != control.ReasonFnNotAnswering ||
			!strings.Contains(healthy.Message, fn.url) || !healthy.LastTransitionTime.Time.Equal(clock) {
			t.Errorf("Healthy = %+v, want False, FnNotAnswering, naming %s, since now", healthy, fn.url)
		}
		// The apiserver answered: the heartbeat and the usage are fresh.
		if hb := got.Status.LastHeartbeatTime; hb == nil || !hb.Time.Equal(clock) {
			t.Errorf("lastHeartbeatTime %v, want %v", hb, clock)
		}
		if q := got.Status.Used[corev1.ResourceCPU]; q.Cmp(resource.MustParse("750m")) != 0 {
			t.Errorf("used cpu %s, want 750m", q.String())
		}
		lifecycleUntouched(t, got, fn.url)
	})

	t.Run("a Conflict is redone at the fresh resourceVersion", func(t *testing.T) {
		racing := &racingHub{Client: h, race: func() { lifecycle(t, v1alpha1.PhaseScaling, "eu-kubeconfig") }}
		shell, err := control.NewObservation(control.ObservationConfig{Hub: racing, Now: func() time.Time { return clock }, Logger: testbed.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		clock = t0.Add(5 * time.Minute)
		if _, err := shell.Reconcile(ctx, "eu"); err != nil {
			t.Fatal(err)
		}
		if racing.applies != 2 {
			t.Errorf("%d applies, want 2: refused at the version read, done at the one read again", racing.applies)
		}
		got, err := h.GetMemberCluster(ctx, "eu")
		if err != nil {
			t.Fatal(err)
		}
		if hb := got.Status.LastHeartbeatTime; got.Status.Phase != v1alpha1.PhaseScaling || hb == nil || !hb.Time.Equal(clock) {
			t.Errorf("phase %s, heartbeat %v; want lifecycle's Scaling and reconcile's %v", got.Status.Phase, hb, clock)
		}
	})

	t.Run("only Ready and Scaling clusters are looked at", func(t *testing.T) {
		lifecycle(t, v1alpha1.PhaseParked, "eu-kubeconfig")
		before, err := h.GetMemberCluster(ctx, "eu")
		if err != nil {
			t.Fatal(err)
		}
		clock = t0.Add(6 * time.Minute)
		if after := observe(t); after.ResourceVersion != before.ResourceVersion {
			t.Errorf("a Parked cluster was written: resourceVersion %s -> %s", before.ResourceVersion, after.ResourceVersion)
		}
	})

	t.Run("a dead apiserver", func(t *testing.T) {
		// The member's kubeconfig, pointed at a port nothing listens on.
		dead := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dead-kubeconfig"},
			Data:       map[string][]byte{control.KubeconfigKey: deadKubeconfig(t, testbed.Kubeconfig(t, memberCluster))},
		}
		if _, err := h.Secrets(ns).Create(ctx, dead, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		before, err := h.GetMemberCluster(ctx, "eu")
		if err != nil {
			t.Fatal(err)
		}
		lifecycle(t, v1alpha1.PhaseReady, "dead-kubeconfig")
		clock = t0.Add(7 * time.Minute)
		got := observe(t)
		healthy := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ClusterHealthy)
		if healthy == nil || healthy.Status != metav1.ConditionFalse || healthy.Reason != control.ReasonAPIServerNotReady ||
			!strings.Contains(healthy.Message, ns+"/dead-kubeconfig") || !strings.Contains(healthy.Message, fn.url) {
			t.Errorf("Healthy = %+v, want False, APIServerNotReady, naming the Secret and the dead Fn too", healthy)
		}
		// Not reached: the heartbeat and the usage are the last ones seen.
		if hb := got.Status.LastHeartbeatTime; hb == nil || !hb.Equal(before.Status.LastHeartbeatTime) {
			t.Errorf("lastHeartbeatTime %v, want kept at %v", hb, before.Status.LastHeartbeatTime)
		}
		if q := got.Status.Used[corev1.ResourceCPU]; q.Cmp(resource.MustParse("750m")) != 0 {
			t.Errorf("used cpu %s, want the last seen 750m", q.String())
		}
	})

	t.Run("a missing kubeconfig Secret is named", func(t *testing.T) {
		lifecycle(t, v1alpha1.PhaseReady, "gone")
		_, err := shell.Reconcile(ctx, "eu")
		if err == nil || !strings.Contains(err.Error(), "fnfleet-system/gone") {
			t.Errorf("error %v, want one naming Secret fnfleet-system/gone", err)
		}
	})

	t.Run("a deleted cluster", func(t *testing.T) {
		if err := h.DeleteMemberCluster(ctx, "eu"); err != nil {
			t.Fatal(err)
		}
		next, err := shell.Reconcile(ctx, "eu")
		if err != nil || !next.IsZero() {
			t.Errorf("Reconcile = %v, %v; want the zero time, nil", next, err)
		}
	})
}

// lifecycleUntouched checks that lifecycle's fields kept their values and
// their manager, and that reconcile owns its own fields and none of
// lifecycle's.
func lifecycleUntouched(t *testing.T, mc *v1alpha1.MemberCluster, fnURL string) {
	t.Helper()
	st := mc.Status
	if st.Phase != v1alpha1.PhaseReady || st.FnEndpoint != fnURL || st.KubeconfigSecretRef == nil || st.KubeconfigSecretRef.Name != "eu-kubeconfig" {
		t.Errorf("lifecycle's fields changed: phase %s, fnEndpoint %s, kubeconfigSecretRef %+v", st.Phase, st.FnEndpoint, st.KubeconfigSecretRef)
	}
	if c := apimeta.FindStatusCondition(st.Conditions, v1alpha1.ClusterFnInstalled); c == nil || c.Status != metav1.ConditionTrue || c.Reason != "Installed" {
		t.Errorf("FnInstalled = %+v, want lifecycle's True, Installed", c)
	}
	lc, rc := ownedStatus(t, mc, lifecycleManager), ownedStatus(t, mc, control.ReconcileManager)
	for _, f := range []string{"f:phase", "f:fnEndpoint", "f:kubeconfigSecretRef", `f:conditions/k:{"type":"FnInstalled"}`} {
		if !lc[f] || rc[f] {
			t.Errorf("%s: owned by lifecycle %v, by reconcile %v; want lifecycle only", f, lc[f], rc[f])
		}
	}
	for _, f := range []string{"f:capacity", "f:allocatable", "f:used", "f:available", "f:lastHeartbeatTime", `f:conditions/k:{"type":"Healthy"}`} {
		if !rc[f] || lc[f] {
			t.Errorf("%s: owned by reconcile %v, by lifecycle %v; want reconcile only", f, rc[f], lc[f])
		}
	}
}

// ownedStatus is the set of status fields manager owns on obj's status
// subresource: top-level field names, and conditions as
// f:conditions/<key>.
func ownedStatus(t *testing.T, obj metav1.Object, manager string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, e := range obj.GetManagedFields() {
		if e.Manager != manager || e.Subresource != "status" || e.FieldsV1 == nil {
			continue
		}
		var fields map[string]map[string]json.RawMessage
		if err := json.Unmarshal(e.FieldsV1.GetRawBytes(), &fields); err != nil {
			t.Fatalf("managedFields of %s: %v", manager, err)
		}
		for f, sub := range fields["f:status"] {
			out[f] = true
			if f != "f:conditions" {
				continue
			}
			var conds map[string]json.RawMessage
			if err := json.Unmarshal(sub, &conds); err != nil {
				t.Fatalf("managedFields of %s: conditions: %v", manager, err)
			}
			for k := range conds {
				out[f+"/"+k] = true
			}
		}
	}
	return out
}

func req(cpu, mem string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}
	if mem != "" {
		r.Requests[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	return r
}

// runPod creates a pod with a container per request and waits until kwok
// reports it Running.
func runPod(t *testing.T, c kubernetes.Interface, ns, name string, labels map[string]string, init []corev1.Container, reqs ...corev1.ResourceRequirements) {
	t.Helper()
	ctx := t.Context()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}, Spec: corev1.PodSpec{InitContainers: init}}
	for i, r := range reqs {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: "registry.invalid/app:1", Resources: r})
	}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			// The namespace's default ServiceAccount, which admission
			// requires, appears shortly after the namespace.
			_, last = c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
			return false, nil
		}
		last = fmt.Errorf("phase %s", got.Status.Phase)
		return got.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s Running: %v (%v)", ns, name, err, last)
	}
}

type fnServer struct {
	// t is the test the server lives for, whichever subtest restarts it.
	t      *testing.T
	url    string
	dir    string
	images map[string]string
	stop   func()
}

// startFn runs a real Fn server on a loopback port until stop or the end
// of the test.
func startFn(t *testing.T) *fnServer { return startFnWith(t, nil) }

// startFnWith runs a real Fn server that runs images (image -> binary).
func startFnWith(t *testing.T, images map[string]string) *fnServer {
	t.Helper()
	fs := &fnServer{t: t, dir: t.TempDir(), images: images}
	fs.start("127.0.0.1:0")
	return fs
}

// start serves on addr, with the data the server had before a stop.
func (fs *fnServer) start(addr string) {
	t := fs.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := fnserver.New(ctx, fnserver.Config{DataDir: fs.dir, Images: fs.images, Logger: testbed.Logger(t)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	stopped := false
	fs.url = "http://" + ln.Addr().String()
	fs.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Fn server: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("Fn server: %v", err)
		}
	}
	t.Cleanup(fs.stop)
}

// restart starts a stopped server again at the same address.
func (fs *fnServer) restart() { fs.start(strings.TrimPrefix(fs.url, "http://")) }

// racingHub is the real hub, with another writer that changes the
// MemberCluster between the shell's read and its first write.
type racingHub struct {
	*fleethub.Client
	race    func()
	applies int
}

func (r *racingHub) ApplyMemberClusterStatus(ctx context.Context, name, resourceVersion, manager string, st *v1alpha1.MemberClusterStatus) (*v1alpha1.MemberCluster, error) {
	r.applies++
	if r.race != nil {
		r.race()
		r.race = nil
	}
	return r.Client.ApplyMemberClusterStatus(ctx, name, resourceVersion, manager, st)
}

// deadKubeconfig is kubeconfig with its server moved to a loopback port
// that nothing listens on.
func deadKubeconfig(t *testing.T, kubeconfig []byte) []byte {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Clusters {
		c.Server = "https://" + addr
	}
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
