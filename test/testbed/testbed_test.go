package testbed_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// childEnv makes the test binary act as an owner process that a test kills;
// see TestWatchdogDeletesClustersOfAKilledOwner.
const childEnv = "FNFLEET_TESTBED_CHILD_WORKDIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		// runChild returns only if it could not create the cluster.
		fmt.Fprintln(os.Stderr, runChild(dir))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestClustersInParallelRunDeployments(t *testing.T) {
	t.Parallel()
	regions := []string{"eu-west", "us-east", "ap-south"}
	var specs []local.ClusterSpec
	for _, r := range regions {
		specs = append(specs, local.ClusterSpec{
			Region: r, Zone: r + "-1", Nodes: 2,
			NodeCapacity: local.Resources{CPU: "8", Memory: "16Gi", Pods: "50"},
			NodeLabels:   map[string]string{"fnfleet.dev/pool": "general"},
		})
	}
	clusters := testbed.StartN(t, specs...)

	for i, c := range clusters {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			client := kubernetes.NewForConfigOrDie(c.RESTConfig)

			nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(nodes.Items) != 2 {
				t.Fatalf("got %d nodes, want 2", len(nodes.Items))
			}
			for _, n := range nodes.Items {
				if got := n.Labels[corev1.LabelTopologyRegion]; got != regions[i] {
					t.Errorf("node %s region label %q, want %q", n.Name, got, regions[i])
				}
				if got := n.Labels["fnfleet.dev/pool"]; got != "general" {
					t.Errorf("node %s pool label %q, want general", n.Name, got)
				}
				if got := n.Status.Allocatable.Cpu().String(); got != "8" {
					t.Errorf("node %s allocatable cpu %s, want 8", n.Name, got)
				}
				if got := n.Status.Allocatable.Memory().String(); got != "16Gi" {
					t.Errorf("node %s allocatable memory %s, want 16Gi", n.Name, got)
				}
			}

			deploy := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
				Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](3),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{
							Name: "web", Image: "registry.invalid/web:1",
							Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
								corev1.ResourceCPU: resource.MustParse("500m"),
							}},
						}}},
					},
				},
			}
			if _, err := client.AppsV1().Deployments("default").Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, "deployment web Available", func(ctx context.Context) error {
				d, err := client.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
				if err != nil {
					return err
				}
				for _, c := range d.Status.Conditions {
					if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue && d.Status.AvailableReplicas == 3 {
						return nil
					}
				}
				return fmt.Errorf("available replicas %d/3", d.Status.AvailableReplicas)
			})
			pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
			if err != nil {
				t.Fatal(err)
			}
			if len(pods.Items) != 3 {
				t.Fatalf("got %d pods, want 3", len(pods.Items))
			}
			for _, p := range pods.Items {
				if p.Status.Phase != corev1.PodRunning {
					t.Errorf("pod %s phase %s, want Running", p.Name, p.Status.Phase)
				}
				if !strings.HasPrefix(p.Spec.NodeName, c.Name+"-node-") {
					t.Errorf("pod %s on node %q, want one of the cluster's kwok nodes", p.Name, p.Spec.NodeName)
				}
			}
		})
	}
}

func TestStoppedClusterStartsWithItsObjects(t *testing.T) {
	t.Parallel()
	p := testbed.Provider(t)
	ctx := t.Context()
	c, err := p.Create(ctx, local.ClusterSpec{Region: "eu-west"})
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(c.RESTConfig)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"},
		Data:       map[string]string{"parked": "yes"},
	}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := p.Stop(ctx, c.Name); err != nil {
		t.Fatal(err)
	}
	procs, err := c.Processes()
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 0 {
		t.Fatalf("stopped cluster still runs %v", procs)
	}
	if _, err := client.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{}); err == nil {
		t.Fatal("a stopped cluster answered a request")
	}

	if _, err := p.Start(ctx, c.Name); err != nil {
		t.Fatal(err)
	}
	got, err := client.CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("object lost across stop and start: %v", err)
	}
	if got.Data["parked"] != "yes" {
		t.Fatalf("object data %v, want parked=yes", got.Data)
	}
	assertComponents(t, c)
}

func TestDeleteLeavesNoProcess(t *testing.T) {
	t.Parallel()
	p := testbed.Provider(t)
	ctx := t.Context()
	c, err := p.Create(ctx, local.ClusterSpec{Name: "short-lived"})
	if err != nil {
		t.Fatal(err)
	}
	assertComponents(t, c)

	if err := p.Delete(ctx, c.Name); err != nil {
		t.Fatal(err)
	}
	procs, err := c.Processes()
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 0 {
		t.Fatalf("processes left after delete: %v", procs)
	}
	if _, err := os.Stat(c.Workdir); !os.IsNotExist(err) {
		t.Fatalf("cluster directory %s left after delete (stat: %v)", c.Workdir, err)
	}
	if names, err := p.List(); err != nil || len(names) != 0 {
		t.Fatalf("List after delete = %v, %v; want none", names, err)
	}
	if err := p.Delete(ctx, c.Name); err != nil {
		t.Fatalf("deleting a deleted cluster: %v", err)
	}
}

func TestInvalidSpecIsRefusedBeforeAnythingStarts(t *testing.T) {
	t.Parallel()
	p := testbed.Provider(t)
	_, err := p.Create(t.Context(), local.ClusterSpec{
		Name:         "Bad_Name",
		Nodes:        -1,
		NodeCapacity: local.Resources{CPU: "lots"},
	})
	if err == nil {
		t.Fatal("Create accepted an invalid spec")
	}
	for _, want := range []string{`cluster name "Bad_Name"`, "nodes -1 out of range", `node cpu "lots" is not a Kubernetes quantity`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if names, _ := p.List(); len(names) != 0 {
		t.Fatalf("an invalid spec left clusters %v", names)
	}
}

// TestWatchdogDeletesClustersOfAKilledOwner kills, with SIGKILL, a process
// that owns a cluster: no cleanup code of its own can run, yet the cluster
// must go away.
func TestWatchdogDeletesClustersOfAKilledOwner(t *testing.T) {
	t.Parallel()
	workdir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+workdir)
	cmd.Stderr = t.Output()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("owner process did not report its cluster: %v", err)
	}
	clusterDir, ok := strings.CutPrefix(strings.TrimSpace(line), "READY ")
	if !ok {
		t.Fatalf("owner process said %q", line)
	}
	if procs, _ := local.ProcessesUnder(clusterDir); len(procs) < len(local.Components()) {
		t.Fatalf("owner's cluster runs %v, want its %d components", procs, len(local.Components()))
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitFor(t, t.Context(), "the watchdog to delete the cluster", func(context.Context) error {
		procs, err := local.ProcessesUnder(clusterDir)
		if err != nil {
			return err
		}
		if len(procs) > 0 {
			return fmt.Errorf("still running: %v", procs)
		}
		if _, err := os.Stat(clusterDir); !os.IsNotExist(err) {
			return fmt.Errorf("directory %s still there", clusterDir)
		}
		return nil
	})
}

// runChild is the owner process of the watchdog test: it creates a cluster,
// reports it, and waits to be killed. It returns only on failure.
func runChild(workdir string) error {
	bins, err := testbed.Binaries()
	if err != nil {
		return err
	}
	p, err := local.New(local.Config{Binaries: bins, Workdir: workdir, OwnerPID: os.Getpid(),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return err
	}
	c, err := p.Create(context.Background(), local.ClusterSpec{Name: "orphan"})
	if err != nil {
		return err
	}
	fmt.Println("READY " + c.Workdir)
	select {}
}

func assertComponents(t *testing.T, c *local.Cluster) {
	t.Helper()
	procs, err := c.Processes()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range procs {
		names = append(names, p.Name)
	}
	for _, want := range local.Components() {
		if !slices.Contains(names, want) {
			t.Errorf("cluster %s runs %v, missing %s", c.Name, names, want)
		}
	}
}

// waitFor polls cond until it holds, failing the test after two minutes with
// cond's last complaint. It waits for state to converge; it asserts nothing
// about speed.
func waitFor(t *testing.T, ctx context.Context, what string, cond func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last error
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		last = cond(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last: %v)", what, err, last)
	}
}
