package observe

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Resources is what a cluster's nodes offer and what its apps request, in
// cpu, memory and pods: the four resource lists of a MemberCluster's status.
type Resources struct {
	// Capacity is the sum over all nodes.
	Capacity corev1.ResourceList
	// Allocatable is what the nodes offer apps: the sum of their
	// allocatable less what the platform's pods (system namespaces, Fn's
	// own) request, which apps can never have.
	Allocatable corev1.ResourceList
	// Used is the sum of the requests of the app pods on nodes (see
	// IsAppPod); its pods entry is their number.
	Used corev1.ResourceList
	// Available is Allocatable minus Used, never below zero.
	Available corev1.ResourceList
}

// counted are the resources a MemberCluster's status reports; placement
// fits apps by cpu and memory and pod slots, and nothing else.
func counted() [3]corev1.ResourceName {
	return [...]corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods}
}

// isSystemNamespace is whether ns holds Kubernetes' own pods, which are no
// app's use.
func isSystemNamespace(ns string) bool {
	switch ns {
	case "kube-system", "kube-public", "kube-node-lease":
		return true
	}
	return false
}

// Usage sums nodes and the app pods among pods into Resources. It is pure:
// the caller lists nodes and pods (all namespaces) and passes them in.
//
// Used counts only app pods, so that a cluster carrying no app reads as
// using nothing and can be seen idle and parked. Navarkos counted every
// pod, Fn's own among them, so a cluster with Fn installed never looked
// idle and was never parked.
func Usage(nodes []corev1.Node, pods []corev1.Pod) Resources {
	r := Resources{Capacity: zero(), Allocatable: zero(), Used: zero(), Available: zero()}
	for i := range nodes {
		addCounted(r.Capacity, nodes[i].Status.Capacity)
		addCounted(r.Allocatable, nodes[i].Status.Allocatable)
	}
	platform := zero()
	var apps, others int64
	for i := range pods {
		p := &pods[i]
		switch {
		case IsAppPod(p):
			apps++
			addCounted(r.Used, PodRequests(p))
		case holdsResources(p):
			others++
			addCounted(platform, PodRequests(p))
		}
	}
	r.Used[corev1.ResourcePods] = *resource.NewQuantity(apps, resource.DecimalSI)
	platform[corev1.ResourcePods] = *resource.NewQuantity(others, resource.DecimalSI)
	for _, name := range counted() {
		r.Allocatable[name] = floorSub(r.Allocatable[name], platform[name])
		r.Available[name] = floorSub(r.Allocatable[name], r.Used[name])
	}
	return r
}

// floorSub is a-b, or zero when b is larger: more requested than
// allocatable happens only while nodes go away under their pods, and
// "nothing free" is what placement needs to hear then, not a negative
// amount.
func floorSub(a, b resource.Quantity) resource.Quantity {
	d := a.DeepCopy()
	d.Sub(b)
	if d.Sign() < 0 {
		return *resource.NewQuantity(0, d.Format)
	}
	return d
}

// holdsResources is whether p holds resources on a node: bound to one and
// not ended.
func holdsResources(p *corev1.Pod) bool {
	return p.Spec.NodeName != "" && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// IsAppPod reports whether p is an app's use of the cluster: bound to a
// node (the scheduler counts a pod against a node only once it is bound
// there), not ended (Succeeded or Failed pods hold no resources), not in a
// system namespace and not one of Fn's own pods.
func IsAppPod(p *corev1.Pod) bool {
	return holdsResources(p) && !isSystemNamespace(p.Namespace) && p.Labels[fnLabel] != fnValue
}

// PodRequests is the cpu and memory p requests as the scheduler counts it:
// per resource, the larger of what its containers run with together and
// what its largest init container needs alone, plus the pod's overhead.
// Sidecars (init containers with restartPolicy Always) keep running, so
// they add to both sides; pod-level requests (spec.resources), where set,
// replace the containers' sum.
func PodRequests(p *corev1.Pod) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		var running, sidecars, initPeak resource.Quantity
		for _, c := range p.Spec.Containers {
			running.Add(c.Resources.Requests[name])
		}
		for _, c := range p.Spec.InitContainers {
			req := c.Resources.Requests[name]
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				sidecars.Add(req)
				// A sidecar starts while later init containers run, so
				// the peak includes it from here on.
				req = sidecars.DeepCopy()
			} else {
				req.Add(sidecars)
			}
			if req.Cmp(initPeak) > 0 {
				initPeak = req
			}
		}
		running.Add(sidecars)
		if p.Spec.Resources != nil {
			if q, ok := p.Spec.Resources.Requests[name]; ok {
				running = q.DeepCopy()
			}
		}
		if initPeak.Cmp(running) > 0 {
			running = initPeak
		}
		running.Add(p.Spec.Overhead[name])
		out[name] = running
	}
	return out
}

func zero() corev1.ResourceList {
	l := corev1.ResourceList{}
	for _, name := range counted() {
		l[name] = resource.Quantity{Format: resource.DecimalSI}
	}
	return l
}

// addCounted adds the counted resources of more to sum.
func addCounted(sum, more corev1.ResourceList) {
	for _, name := range counted() {
		q, ok := more[name]
		if !ok {
			continue
		}
		total := sum[name]
		total.Add(q)
		sum[name] = total
	}
}
