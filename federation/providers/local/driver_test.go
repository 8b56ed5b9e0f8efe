package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// awaitProgress polls Observe until c reports want, and returns how long
// that took.
func awaitProgress(t testing.TB, ctx context.Context, d providers.Provider, c providers.Cluster, want lifecycle.Progress) (providers.State, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		st, err := d.Observe(ctx, c)
		if err != nil {
			t.Fatalf("observe %s: %v", c.Name, err)
		}
		if st.Progress == want {
			return st, time.Since(start)
		}
		if st.Progress == lifecycle.ProgressFailed {
			t.Fatalf("cluster %s failed: %s", c.Name, st.Message)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("cluster %s not %s in time; last: %+v", c.Name, want, st)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Ten calls at once, each with a provider of its own on the same work
// directory (as ten function calls would have), make one cluster; then the
// cluster goes through its life: running, scaled, parked with nothing left
// running, unparked with its objects, deleted.
func TestDriverLifecycle(t *testing.T) {
	p := testbed.Provider(t)
	bins, err := testbed.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	c := providers.Cluster{Name: "c1", Region: "eu-west", Zone: "eu-west-a", Nodes: 2,
		NodeCapacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")},
		NodeLabels:   map[string]string{"pool": "p1"}}

	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			other, err := local.New(local.Config{Binaries: bins, Workdir: p.Workdir(), Logger: testbed.Logger(t)})
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = local.NewDriver(other).Create(ctx, c)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent creates: %v", err)
	}
	d := local.NewDriver(p)
	st, took := awaitProgress(t, ctx, d, c, lifecycle.ProgressRunning)
	t.Logf("create -> Running in %v", took)
	if !st.Exists || !st.KubeconfigReady || st.Nodes != 2 {
		t.Errorf("running state %+v, want it to exist with a kubeconfig and 2 nodes", st)
	}
	log, err := os.ReadFile(filepath.Join(p.Workdir(), "logs", "c1.kwokctl.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "create cluster"); n != 1 {
		t.Errorf("kwokctl create ran %d times, want 1", n)
	}
	if names, _ := p.List(); len(names) != 1 {
		t.Errorf("clusters %v, want one", names)
	}
	if err := d.Create(ctx, c); err != nil {
		t.Errorf("create of a running cluster: %v", err)
	}

	client := clientFor(t, ctx, d, c)
	node, err := client.CoreV1().Nodes().Get(ctx, "c1-node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Labels[corev1.LabelTopologyRegion] != "eu-west" || node.Labels["pool"] != "p1" || node.Status.Capacity.Cpu().String() != "4" {
		t.Errorf("node %s lacks the spec's labels or capacity: %v %v", node.Name, node.Labels, node.Status.Capacity)
	}
	if err := d.ScaleNodes(ctx, c, 3); err != nil {
		t.Fatal(err)
	}
	if st, _ := awaitProgress(t, ctx, d, c, lifecycle.ProgressRunning); st.Nodes != 3 {
		t.Errorf("after scaling to 3: %d nodes", st.Nodes)
	}
	if err := d.ScaleNodes(ctx, c, 1); err != nil {
		t.Fatal(err)
	}
	if st, _ := awaitProgress(t, ctx, d, c, lifecycle.ProgressRunning); st.Nodes != 1 {
		t.Errorf("after scaling to 1: %d nodes", st.Nodes)
	}
	// The data plane: an Fn server on the cluster's own address, which the
	// cluster's Fn Service publishes as its load balancer.
	addr := stateAddr(t, p.Workdir(), "c1")
	fnURL := "http://" + net.JoinHostPort(addr, "8080")
	awaitFn(t, ctx, fnURL)
	resp, err := http.Post(fnURL+"/v2/apps", "application/json", strings.NewReader(`{"name":"kept-app"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create app on the data plane: %s", resp.Status)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "fn", Namespace: "default", Labels: map[string]string{"app.kubernetes.io/name": "fn"}},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 8080}}},
	}
	if _, err := client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitProgress(t, ctx, d, c, lifecycle.ProgressRunning)
	if got, err := client.CoreV1().Services("default").Get(ctx, "fn", metav1.GetOptions{}); err != nil ||
		len(got.Status.LoadBalancer.Ingress) != 1 || got.Status.LoadBalancer.Ingress[0].IP != addr {
		t.Errorf("Fn service does not publish %s: %v %v", addr, got.Status.LoadBalancer, err)
	}

	keep := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, keep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := d.Park(ctx, c, v1alpha1.ParkingScaleToZero); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("park with ScaleToZero: %v, want ErrUnsupported", err)
	}
	start := time.Now()
	if err := d.Park(ctx, c, v1alpha1.ParkingStop); err != nil {
		t.Fatal(err)
	}
	t.Logf("park in %v", time.Since(start))
	if st, _ := awaitProgress(t, ctx, d, c, lifecycle.ProgressStopped); st.KubeconfigReady {
		t.Errorf("parked cluster claims a usable kubeconfig")
	}
	if procs, err := p.ProcessesOf("c1"); err != nil || len(procs) > 0 {
		t.Errorf("parked cluster runs %v (%v)", procs, err)
	}
	for name, port := range statePorts(t, p.Workdir(), "c1") {
		if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			_ = conn.Close()
			who, _ := exec.Command("ss", "-ltnpH", fmt.Sprintf("sport = :%d", port)).CombinedOutput()
			t.Errorf("port %s %d still listens on a parked cluster: %s", name, port, who)
		}
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "8080"), time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("the data plane still listens on %s after parking", addr)
	}
	if t.Failed() {
		out, _ := exec.Command("ss", "-ltnpa").CombinedOutput()
		t.Logf("sockets: %s", out)
	}
	if err := d.Park(ctx, c, v1alpha1.ParkingStop); err != nil {
		t.Errorf("park of a parked cluster: %v", err)
	}

	start = time.Now()
	if err := d.Unpark(ctx, c); err != nil {
		t.Fatal(err)
	}
	_, took = awaitProgress(t, ctx, d, c, lifecycle.ProgressRunning)
	t.Logf("unpark -> Running in %v (unpark call %v)", took, time.Since(start)-took)
	if err := d.Unpark(ctx, c); err != nil {
		t.Errorf("unpark of a running cluster: %v", err)
	}
	client = clientFor(t, ctx, d, c)
	if got, err := client.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{}); err != nil || got.Data["k"] != "v" {
		t.Errorf("object from before parking: %v %v", got, err)
	}

	awaitFn(t, ctx, fnURL)
	resp, err = http.Get(fnURL + "/v2/apps")
	if err != nil {
		t.Fatal(err)
	}
	apps, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(apps), `"kept-app"`) {
		t.Errorf("app from before parking is gone: %s", apps)
	}

	if err := d.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(local.DefaultAddrDir, addr)); err == nil {
		t.Errorf("address %s still allocated after delete", addr)
	}
	if st, err := d.Observe(ctx, c); err != nil || st.Exists {
		t.Errorf("after delete: %+v %v", st, err)
	}
	if err := d.Delete(ctx, c); err != nil {
		t.Errorf("delete of a deleted cluster: %v", err)
	}
}

func clientFor(t *testing.T, ctx context.Context, d providers.Provider, c providers.Cluster) *kubernetes.Clientset {
	t.Helper()
	kubeconfig, err := d.Kubeconfig(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// awaitFn waits for the Fn server at url to answer /version.
func awaitFn(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	for {
		resp, err := http.Get(url + "/version")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Fn server at %s does not answer: %v", url, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stateAddr reads the data plane address the provider allocated for name.
func stateAddr(t *testing.T, workdir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(workdir, "state", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Addr string `json:"addr"`
	}
	if err := json.Unmarshal(data, &s); err != nil || !strings.HasPrefix(s.Addr, "127.0.1.") {
		t.Fatalf("state file records address %q (%v), want 127.0.1.N", s.Addr, err)
	}
	return s.Addr
}

// statePorts reads the component ports the provider recorded for name.
func statePorts(t *testing.T, workdir, name string) map[string]uint32 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(workdir, "state", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Ports map[string]uint32 `json:"ports"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Ports) != 6 {
		t.Fatalf("state file records ports %v, want 6", s.Ports)
	}
	return s.Ports
}
