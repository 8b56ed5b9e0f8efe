package observe_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/fnfleet/fnfleet/federation/observe"
)

func res(cpu, mem string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}}
	if cpu != "" {
		r.Requests[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		r.Requests[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	return r
}

func ctr(cpu, mem string) corev1.Container {
	return corev1.Container{Name: "c", Resources: res(cpu, mem)}
}

func sidecar(cpu, mem string) corev1.Container {
	c := ctr(cpu, mem)
	c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	return c
}

// pod is a Running app pod bound to node n1.
func pod(ns string, containers ...corev1.Container) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p"},
		Spec:       corev1.PodSpec{NodeName: "n1", Containers: containers},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

func TestPodRequestsCountsAsTheScheduler(t *testing.T) {
	withInit := func(p corev1.Pod, init ...corev1.Container) corev1.Pod {
		p.Spec.InitContainers = init
		return p
	}
	withOverhead := func(p corev1.Pod, cpu string) corev1.Pod {
		p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
		return p
	}
	withPodLevel := func(p corev1.Pod, cpu string) corev1.Pod {
		p.Spec.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}
		return p
	}
	for _, tc := range []struct {
		name     string
		pod      corev1.Pod
		cpu, mem string
	}{
		{"containers add up", pod("app", ctr("100m", "64Mi"), ctr("150m", "64Mi")), "250m", "128Mi"},
		{"no requests", pod("app", ctr("", "")), "0", "0"},
		{"a larger init container wins", withInit(pod("app", ctr("100m", "64Mi"), ctr("150m", "64Mi")), ctr("1", "32Mi"), ctr("500m", "256Mi")), "1", "256Mi"},
		{"a smaller init container does not count", withInit(pod("app", ctr("2", "1Gi")), ctr("1", "512Mi")), "2", "1Gi"},
		{"overhead is added", withOverhead(withInit(pod("app", ctr("250m", "")), ctr("500m", "")), "50m"), "550m", "0"},
		// A sidecar runs beside the containers and beside the init
		// containers after it: 200m+300m running; init after the
		// sidecar 1+0.2; the peak is 1.2.
		{"sidecars add to both sides", withInit(pod("app", ctr("300m", "")), sidecar("200m", ""), ctr("1", "")), "1200m", "0"},
		{"an init container before a sidecar runs alone", withInit(pod("app", ctr("300m", "")), ctr("400m", ""), sidecar("200m", "")), "500m", "0"},
		{"pod-level requests replace the containers' sum", withPodLevel(pod("app", ctr("100m", "64Mi")), "2"), "2", "64Mi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := observe.PodRequests(&tc.pod)
			if q := got[corev1.ResourceCPU]; q.Cmp(resource.MustParse(tc.cpu)) != 0 {
				t.Errorf("cpu %s, want %s", q.String(), tc.cpu)
			}
			if q := got[corev1.ResourceMemory]; q.Cmp(resource.MustParse(tc.mem)) != 0 {
				t.Errorf("memory %s, want %s", q.String(), tc.mem)
			}
		})
	}
}

func TestIsAppPod(t *testing.T) {
	ended := func(phase corev1.PodPhase) corev1.Pod {
		p := pod("app", ctr("1", ""))
		p.Status.Phase = phase
		return p
	}
	fn := pod("fn", ctr("1", ""))
	fn.Labels = map[string]string{"app.kubernetes.io/name": "fn"}
	otherChart := pod("app", ctr("1", ""))
	otherChart.Labels = map[string]string{"app.kubernetes.io/name": "fnord"}
	unbound := pod("app", ctr("1", ""))
	unbound.Spec.NodeName = ""
	unbound.Status.Phase = corev1.PodPending
	terminating := pod("app", ctr("1", ""))
	terminating.DeletionTimestamp = &metav1.Time{}

	for _, tc := range []struct {
		name string
		pod  corev1.Pod
		want bool
	}{
		{"a running app pod", pod("app", ctr("1", "")), true},
		{"a pending pod bound to a node", ended(corev1.PodPending), true},
		{"a terminating pod still holds its node", terminating, true},
		{"another chart's pod", otherChart, true},
		{"a Succeeded pod", ended(corev1.PodSucceeded), false},
		{"a Failed pod", ended(corev1.PodFailed), false},
		{"kube-system", pod("kube-system", ctr("1", "")), false},
		{"kube-public", pod("kube-public", ctr("1", "")), false},
		{"kube-node-lease", pod("kube-node-lease", ctr("1", "")), false},
		{"Fn's own pod", fn, false},
		{"a pod the scheduler has not bound", unbound, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := observe.IsAppPod(&tc.pod); got != tc.want {
				t.Errorf("IsAppPod = %v, want %v", got, tc.want)
			}
		})
	}
}

func node(cpu, mem, pods, allocCPU string) corev1.Node {
	return corev1.Node{Status: corev1.NodeStatus{
		Capacity: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem),
			corev1.ResourcePods: resource.MustParse(pods), "ephemeral-storage": resource.MustParse("100Gi"),
		},
		Allocatable: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(allocCPU), corev1.ResourceMemory: resource.MustParse(mem),
			corev1.ResourcePods: resource.MustParse(pods),
		},
	}}
}

func TestUsage(t *testing.T) {
	fnPod := pod("fn", ctr("500m", "512Mi"))
	fnPod.Labels = map[string]string{"app.kubernetes.io/name": "fn"}
	done := pod("app", ctr("4", "4Gi"))
	done.Status.Phase = corev1.PodSucceeded
	nodes := []corev1.Node{node("4", "8Gi", "110", "3800m"), node("4", "8Gi", "110", "3800m")}

	type want struct{ capCPU, allocCPU, usedCPU, usedMem, usedPods, freeCPU, freeMem, freePods string }
	for _, tc := range []struct {
		name  string
		nodes []corev1.Node
		pods  []corev1.Pod
		want  want
	}{
		{
			// What the system and Fn request (2500m, 1536Mi, 2 pods) is
			// not offered to apps: allocatable is the nodes' less that.
			name:  "only app pods are use",
			nodes: nodes,
			pods:  []corev1.Pod{pod("app", ctr("1", "1Gi")), pod("other", ctr("250m", "256Mi")), pod("kube-system", ctr("2", "1Gi")), fnPod, done},
			want:  want{"8", "5100m", "1250m", "1280Mi", "2", "3850m", "13568Mi", "216"},
		},
		{
			// Fn installed and nothing else: the cluster is idle. Navarkos
			// read this as busy and never parked it.
			name:  "a cluster with only Fn uses nothing",
			nodes: nodes,
			pods:  []corev1.Pod{fnPod, pod("kube-system", ctr("2", "1Gi"))},
			want:  want{"8", "5100m", "0", "0", "0", "5100m", "14848Mi", "218"},
		},
		{
			name:  "no nodes",
			nodes: nil,
			pods:  nil,
			want:  want{"0", "0", "0", "0", "0", "0", "0", "0"},
		},
		{
			name:  "more requested than allocatable leaves nothing free",
			nodes: nodes[:1],
			pods:  []corev1.Pod{pod("app", ctr("5", "1Gi"))},
			want:  want{"4", "3800m", "5", "1Gi", "1", "0", "7Gi", "109"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := observe.Usage(tc.nodes, tc.pods)
			check := func(what string, l corev1.ResourceList, name corev1.ResourceName, want string) {
				t.Helper()
				q, ok := l[name]
				if !ok {
					t.Errorf("%s has no %s", what, name)
					return
				}
				if q.Cmp(resource.MustParse(want)) != 0 {
					t.Errorf("%s %s = %s, want %s", what, name, q.String(), want)
				}
			}
			check("capacity", got.Capacity, corev1.ResourceCPU, tc.want.capCPU)
			check("allocatable", got.Allocatable, corev1.ResourceCPU, tc.want.allocCPU)
			check("used", got.Used, corev1.ResourceCPU, tc.want.usedCPU)
			check("used", got.Used, corev1.ResourceMemory, tc.want.usedMem)
			check("used", got.Used, corev1.ResourcePods, tc.want.usedPods)
			check("available", got.Available, corev1.ResourceCPU, tc.want.freeCPU)
			check("available", got.Available, corev1.ResourceMemory, tc.want.freeMem)
			check("available", got.Available, corev1.ResourcePods, tc.want.freePods)
			for _, l := range []corev1.ResourceList{got.Capacity, got.Allocatable, got.Used, got.Available} {
				if len(l) != 3 {
					t.Errorf("resource list %v, want exactly cpu, memory and pods", l)
				}
			}
		})
	}
}
