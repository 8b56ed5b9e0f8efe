package installer

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// storageClass names the static PersistentVolumes tests create: kwok
// clusters have no provisioner, so the chart's default claim is bound to a
// volume made by hand, as an administrator of such a cluster would.
const storageClass = "fnfleet-static"

// startClusters starts n clusters in parallel.
func startClusters(t testing.TB, n int) []*local.Cluster {
	t.Helper()
	return testbed.StartN(t, make([]local.ClusterSpec, n)...)
}

func clientset(t testing.TB, c *local.Cluster) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// createVolume makes a hostPath PersistentVolume of the test storage class
// (kwok nodes are fake: nothing is ever written to the path).
func createVolume(ctx context.Context, t testing.TB, cs kubernetes.Interface, name string) {
	t.Helper()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName:              storageClass,
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/fnfleet-test/" + name},
			},
		},
	}
	if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create volume %s: %v", name, err)
	}
}

// releaseSecrets lists Helm's release records of name in namespace.
func releaseSecrets(ctx context.Context, t testing.TB, cs kubernetes.Interface, namespace, name string) []corev1.Secret {
	t.Helper()
	list, err := cs.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=" + name})
	if err != nil {
		t.Fatalf("list release secrets: %v", err)
	}
	return list.Items
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func deployment(ctx context.Context, t testing.TB, cs kubernetes.Interface, namespace, name string) *appsv1.Deployment {
	t.Helper()
	d, err := cs.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get deployment %s/%s: %v", namespace, name, err)
	}
	return d
}

func envOf(d *appsv1.Deployment, name string) string {
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// TestOnClusters drives the installer against three real clusters: a
// concurrent install with the default persistent sqlite volume, then on one
// cluster re-apply, upgrade, refused values, drift repair and uninstall, on
// another an atomic rollback;
// and checks every API the chart can render against the real apiserver.
func TestOnClusters(t *testing.T) {
	clusters := startClusters(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	in := New(testbed.Logger(t))
	values := func() map[string]any {
		return map[string]any{"persistence": map[string]any{"storageClass": storageClass}}
	}

	results := make([]Result, len(clusters))
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		createVolume(ctx, t, clientset(t, c), "fn-data")
		wg.Go(func() {
			results[i], errs[i] = in.Apply(ctx, Target{RESTConfig: c.RESTConfig}, Release{Values: values(), Timeout: 3 * time.Minute})
		})
	}
	wg.Wait()
	for i, c := range clusters {
		if errs[i] != nil {
			t.Fatalf("install on %s: %v", c.Name, errs[i])
		}
		if results[i].Outcome != Installed || results[i].Revision != 1 {
			t.Errorf("%s: result %+v, want installed revision 1", c.Name, results[i])
		}
		cs := clientset(t, c)
		if d := deployment(ctx, t, cs, "fn", "fn"); !available(d) {
			t.Errorf("%s: deployment not Available after install: %+v", c.Name, d.Status)
		}
		pvc, err := cs.CoreV1().PersistentVolumeClaims("fn").Get(ctx, "fn-data", metav1.GetOptions{})
		if err != nil || pvc.Status.Phase != corev1.ClaimBound {
			t.Errorf("%s: claim fn-data not bound: %v %v", c.Name, err, pvc.Status.Phase)
		}
		if !strings.Contains(results[i].Notes, "fn create context") {
			t.Errorf("%s: notes = %q", c.Name, results[i].Notes)
		}
	}

	c := clusters[0]
	cs := clientset(t, c)
	target := Target{KubeconfigPath: c.KubeconfigPath} // the CLI's path, for variety
	gen := deployment(ctx, t, cs, "fn", "fn").Generation

	t.Run("reapply is a no-op", func(t *testing.T) {
		res, err := in.Apply(ctx, target, Release{Values: values()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Unchanged || res.Revision != 1 {
			t.Errorf("result %+v, want unchanged revision 1", res)
		}
		if n := len(releaseSecrets(ctx, t, cs, "fn", "fn")); n != 1 {
			t.Errorf("%d release records, want 1", n)
		}
		if g := deployment(ctx, t, cs, "fn", "fn").Generation; g != gen {
			t.Errorf("deployment generation %d -> %d: a no-op changed it", gen, g)
		}
	})

	upgraded := values()
	upgraded["logLevel"] = "debug"
	t.Run("upgrade changes a value", func(t *testing.T) {
		res, err := in.Apply(ctx, target, Release{Values: upgraded, Timeout: 3 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Upgraded || res.Revision != 2 {
			t.Errorf("result %+v, want upgraded revision 2", res)
		}
		d := deployment(ctx, t, cs, "fn", "fn")
		if got := envOf(d, "FN_LOG_LEVEL"); got != "debug" {
			t.Errorf("FN_LOG_LEVEL = %q after upgrade, want debug", got)
		}
		if !available(d) {
			t.Error("deployment not Available after upgrade")
		}
		again, err := in.Apply(ctx, target, Release{Values: upgraded})
		if err != nil || again.Outcome != Unchanged || again.Revision != 2 {
			t.Errorf("re-apply after upgrade: %+v, %v; want unchanged revision 2", again, err)
		}
	})

	t.Run("bad values are refused before anything is applied", func(t *testing.T) {
		before := deployment(ctx, t, cs, "fn", "fn").Generation
		for _, bad := range []map[string]any{
			{"mode": "half"},
			{"server": map[string]any{"replicas": 3}}, // sqlite allows one server
		} {
			if _, err := in.Apply(ctx, target, Release{Values: bad}); err == nil {
				t.Errorf("upgrade with %v accepted", bad)
			}
		}
		if n := len(releaseSecrets(ctx, t, cs, "fn", "fn")); n != 2 {
			t.Errorf("%d release records after refused upgrades, want 2", n)
		}
		if g := deployment(ctx, t, cs, "fn", "fn").Generation; g != before {
			t.Errorf("deployment changed by a refused upgrade (generation %d -> %d)", before, g)
		}

		_, err := in.Apply(ctx, target, Release{Name: "refused", Namespace: "refused", Values: map[string]any{"service": map[string]any{"type": "External"}}})
		if err == nil || !strings.Contains(err.Error(), "/service/type") {
			t.Fatalf("install with a bad service type: %v, want a schema error naming /service/type", err)
		}
		if _, err := cs.CoreV1().Namespaces().Get(ctx, "refused", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("namespace of a refused install exists (err %v)", err)
		}
		all, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=refused"})
		if err != nil || len(all.Items) != 0 {
			t.Errorf("release records of a refused install: %d (err %v)", len(all.Items), err)
		}
	})

	t.Run("a failed upgrade is rolled back", func(t *testing.T) {
		// A release without a volume rolls with maxUnavailable 0: the stuck
		// upgrade never takes the running pod away, so the rollback is quick.
		// (With the sqlite volume the Recreate strategy would make the
		// rollback wait for a new pod, whose start on a loaded kwok cluster
		// can take longer than any reasonable test timeout.)
		c := clusters[1]
		cs := clientset(t, c)
		target := Target{RESTConfig: c.RESTConfig}
		base := map[string]any{"persistence": map[string]any{"enabled": false}}
		rel := Release{Name: "rb", Namespace: "rb", Values: base, Timeout: 3 * time.Minute}
		if _, err := in.Apply(ctx, target, rel); err != nil {
			t.Fatal(err)
		}
		stuck := rel
		stuck.Values = map[string]any{"persistence": map[string]any{"enabled": false},
			"server": map[string]any{"nodeSelector": map[string]any{"fnfleet.dev/no-such-node": "true"}}}
		stuck.Timeout = 20 * time.Second
		_, err := in.Apply(ctx, target, stuck)
		if err == nil || !strings.Contains(err.Error(), "rolled back") {
			t.Fatalf("upgrade to an unschedulable pod: %v, want an error saying it was rolled back", err)
		}
		if want := "waiting for Deployment rb/rb-fn to be ready: timed out after 20s"; !strings.Contains(err.Error(), want) {
			t.Errorf("upgrade error %q does not say %q", err, want)
		}
		res, err := in.Apply(ctx, target, rel)
		if err != nil {
			t.Fatal(err)
		}
		// Revision 2 failed; revision 3 is the rollback to revision 1's chart and values.
		if res.Outcome != Unchanged || res.Revision != 3 {
			t.Errorf("after rollback: %+v, want the revision 1 values deployed as revision 3", res)
		}
		d := deployment(ctx, t, cs, "rb", "rb-fn")
		if len(d.Spec.Template.Spec.NodeSelector) != 0 || !available(d) {
			t.Errorf("deployment after rollback: nodeSelector %v, available %v", d.Spec.Template.Spec.NodeSelector, available(d))
		}
	})

	t.Run("a deleted object is recreated", func(t *testing.T) {
		if err := cs.CoreV1().Services("fn").Delete(ctx, "fn", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		res, err := in.Apply(ctx, target, Release{Values: upgraded})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Upgraded || res.Revision != 3 {
			t.Errorf("result %+v, want upgraded revision 3", res)
		}
		if _, err := cs.CoreV1().Services("fn").Get(ctx, "fn", metav1.GetOptions{}); err != nil {
			t.Errorf("service not recreated: %v", err)
		}
	})

	t.Run("every rendered API is served", func(t *testing.T) {
		testServedAPIs(t, c)
	})

	t.Run("uninstall leaves nothing", func(t *testing.T) {
		res, err := in.Uninstall(ctx, target, Release{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Uninstalled {
			t.Errorf("outcome %s", res.Outcome)
		}
		if n := len(releaseSecrets(ctx, t, cs, "fn", "fn")); n != 0 {
			t.Errorf("%d release records left", n)
		}
		sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=fn"}
		left := map[string]int{}
		if l, err := cs.AppsV1().Deployments("fn").List(ctx, sel); err == nil {
			left["deployments"] = len(l.Items)
		}
		if l, err := cs.AppsV1().ReplicaSets("fn").List(ctx, sel); err == nil {
			left["replicasets"] = len(l.Items)
		}
		if l, err := cs.CoreV1().Pods("fn").List(ctx, sel); err == nil {
			left["pods"] = len(l.Items)
		}
		if l, err := cs.CoreV1().Services("fn").List(ctx, sel); err == nil {
			left["services"] = len(l.Items)
		}
		if l, err := cs.CoreV1().PersistentVolumeClaims("fn").List(ctx, sel); err == nil {
			left["claims"] = len(l.Items)
		}
		if l, err := cs.CoreV1().ServiceAccounts("fn").List(ctx, sel); err == nil {
			left["serviceaccounts"] = len(l.Items)
		}
		if l, err := cs.PolicyV1().PodDisruptionBudgets("fn").List(ctx, sel); err == nil {
			left["pdbs"] = len(l.Items)
		}
		for kind, n := range left {
			if n != 0 {
				t.Errorf("%d %s left after uninstall", n, kind)
			}
		}
		if len(left) != 7 {
			t.Errorf("could not list every kind: %v", left)
		}
		again, err := in.Uninstall(ctx, target, Release{})
		if err != nil || again.Outcome != NotInstalled {
			t.Errorf("second uninstall: %+v, %v; want not installed", again, err)
		}
	})
}

// testServedAPIs renders the chart with every optional part switched on, in
// both modes, and asks the cluster's discovery whether it serves each
// object's apiVersion and kind.
func testServedAPIs(t *testing.T, c *local.Cluster) {
	cs := clientset(t, c)
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.Major != "1" || v.Minor != "37" {
		t.Fatalf("test cluster runs %s, want 1.37", v.GitVersion)
	}
	combos := []map[string]any{
		nil,
		{"mode": "split", "ui": map[string]any{"enabled": true},
			"ingress": map[string]any{"enabled": true, "className": "nginx", "host": "fn.example.com", "tls": map[string]any{"enabled": true, "secretName": "t"}}},
		{"docker": map[string]any{"mode": "host"}, "service": map[string]any{"type": "LoadBalancer"},
			"database": map[string]any{"type": "mysql", "existingSecret": map[string]any{"name": "db"}}},
	}
	seen := map[schema.GroupVersionKind]bool{}
	for _, values := range combos {
		r := render(t, values)
		for _, key := range r.order {
			seen[r.objs[key].GroupVersionKind()] = true
		}
	}
	var kinds []string
	for gvk := range seen {
		kinds = append(kinds, gvk.Kind)
		list, err := cs.Discovery().ServerResourcesForGroupVersion(gvk.GroupVersion().String())
		if err != nil {
			t.Errorf("%s: group version not served: %v", gvk, err)
			continue
		}
		if !slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Kind == gvk.Kind && !strings.Contains(r.Name, "/") }) {
			t.Errorf("%s: kind not served by %s", gvk, v.GitVersion)
		}
	}
	slices.Sort(kinds)
	want := []string{"Deployment", "Ingress", "PersistentVolumeClaim", "PodDisruptionBudget", "Service", "ServiceAccount", "StatefulSet"}
	if !slices.Equal(kinds, want) {
		t.Errorf("checked kinds %v, want %v", kinds, want)
	}
}

// BenchmarkInstall measures Apply from nothing to a ready release: on one
// cluster, and on five clusters at once. Each sub-benchmark starts its own
// clusters before the timer, so either can be run alone
// (-bench 'Install/clusters=1'); each iteration's release is uninstalled
// with the timer stopped. Persistence is off so that the figure is the
// installer's and the workload's, not a volume binder's.
func BenchmarkInstall(b *testing.B) {
	ctx := context.Background()
	in := New(slog.New(slog.DiscardHandler))
	rel := Release{Values: map[string]any{"persistence": map[string]any{"enabled": false}}, Timeout: 2 * time.Minute}
	for _, n := range []int{1, 5} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			cs := startClusters(b, n) // once: b.Loop runs this function once
			for b.Loop() {
				errs := make([]error, len(cs))
				var wg sync.WaitGroup
				for i, c := range cs {
					wg.Go(func() {
						res, err := in.Apply(ctx, Target{RESTConfig: c.RESTConfig}, rel)
						if err == nil && res.Outcome != Installed {
							err = fmt.Errorf("outcome %s, want installed", res.Outcome)
						}
						errs[i] = err
					})
				}
				wg.Wait()
				b.StopTimer()
				for i, c := range cs {
					if errs[i] != nil {
						b.Fatalf("install on %s: %v", c.Name, errs[i])
					}
					if _, err := in.Uninstall(ctx, Target{RESTConfig: c.RESTConfig}, rel); err != nil {
						b.Fatalf("uninstall on %s: %v", c.Name, err)
					}
				}
				b.StartTimer()
			}
		})
	}
}
