// Package autoscale decides a cluster's node count from what its pods
// request: one pure function of the policy (MemberCluster
// spec.nodeAutoscale), the node count, the usage reconcile measured and the
// time of the last change. Lifecycle asks it while a cluster is Ready and
// scales through the provider when the answer differs from the count.
package autoscale

import (
	"math"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// DefaultCooldown is how long after a change the count is held: a cloud
// node joins in 3-5 minutes and reconcile refreshes usage every minute, so
// after 5m the last step shows in the usage before the next is decided.
const DefaultCooldown = 5 * time.Minute

// Defaults of the API's optional fields, for policies built without the
// apiserver's defaulting (ScaleDownPercent 0 is valid: never scale down).
const (
	defaultScaleUpPercent = 80
	defaultStep           = 1
)

// Usage is what the pods of a cluster request against what its nodes offer.
type Usage struct {
	CPURequestedMilli, CPUAllocatableMilli int64
	MemoryRequested, MemoryAllocatable     int64 // bytes
}

// UsageOf reads a MemberCluster's usage from the status reconcile writes
// (used and allocatable).
func UsageOf(st *v1alpha1.MemberClusterStatus) Usage {
	var u Usage
	if q, ok := st.Used[corev1.ResourceCPU]; ok {
		u.CPURequestedMilli = q.MilliValue()
	}
	if q, ok := st.Allocatable[corev1.ResourceCPU]; ok {
		u.CPUAllocatableMilli = q.MilliValue()
	}
	if q, ok := st.Used[corev1.ResourceMemory]; ok {
		u.MemoryRequested = q.Value()
	}
	if q, ok := st.Allocatable[corev1.ResourceMemory]; ok {
		u.MemoryAllocatable = q.Value()
	}
	return u
}

// Input is what the decision depends on.
type Input struct {
	Policy *v1alpha1.NodeAutoscale // nil: the count is never changed
	Nodes  int32                   // the node count now
	Usage  Usage
	// LastScale is when the count last changed; zero when never.
	LastScale time.Time
	Now       time.Time
	// Cooldown after a change; 0 means DefaultCooldown.
	Cooldown time.Duration
}

// Decision is the node count to have, and why.
type Decision struct {
	// Nodes is the count to have; equal to Input.Nodes to keep it.
	Nodes int32
	// Reason says why, for a person.
	Reason string
	// NextCheck is when a cooldown holding the count ends; zero otherwise.
	NextCheck time.Time
}

// Decide applies the policy: up by step when requested cpu or memory passes
// scaleUpPercent of allocatable, down by step when both are below
// scaleDownPercent and the nodes left would not pass scaleUpPercent (else
// the next decision would add the node back), within minNodes and
// maxNodes, and not within the cooldown of the last change. A count outside
// the bounds is brought inside at once: the bounds are the person's intent.
func Decide(in Input) Decision {
	p := in.Policy
	if p == nil {
		return Decision{Nodes: in.Nodes, Reason: "no nodeAutoscale policy"}
	}
	up, down, step := p.ScaleUpPercent, p.ScaleDownPercent, p.Step
	if up <= 0 {
		up = defaultScaleUpPercent
	}
	if step <= 0 {
		step = defaultStep
	}
	switch {
	case in.Nodes < p.MinNodes:
		return Decision{Nodes: p.MinNodes, Reason: nodes(in.Nodes) + " below minNodes " + strconv.Itoa(int(p.MinNodes))}
	case in.Nodes > p.MaxNodes:
		return Decision{Nodes: p.MaxNodes, Reason: nodes(in.Nodes) + " above maxNodes " + strconv.Itoa(int(p.MaxNodes))}
	}
	u := in.Usage
	if u.CPUAllocatableMilli <= 0 || u.MemoryAllocatable <= 0 {
		return Decision{Nodes: in.Nodes, Reason: "no allocatable cpu and memory reported yet"}
	}
	cooldown := in.Cooldown
	if cooldown <= 0 {
		cooldown = DefaultCooldown
	}
	if !in.LastScale.IsZero() && in.Now.Before(in.LastScale.Add(cooldown)) {
		end := in.LastScale.Add(cooldown)
		return Decision{Nodes: in.Nodes, Reason: "in the cooldown of the last scaling, until " + end.UTC().Format(time.TimeOnly), NextCheck: end}
	}
	cpu := percent(u.CPURequestedMilli, u.CPUAllocatableMilli)
	mem := percent(u.MemoryRequested, u.MemoryAllocatable)
	usage := "cpu " + strconv.Itoa(int(math.Round(cpu))) + "%, memory " + strconv.Itoa(int(math.Round(mem))) + "% requested"
	switch {
	case cpu > float64(up) || mem > float64(up):
		if in.Nodes >= p.MaxNodes {
			return Decision{Nodes: in.Nodes, Reason: usage + ", above " + strconv.Itoa(int(up)) + "%, but at maxNodes"}
		}
		return Decision{Nodes: min(in.Nodes+step, p.MaxNodes), Reason: usage + ", above " + strconv.Itoa(int(up)) + "%"}
	case cpu < float64(down) && mem < float64(down) && in.Nodes > p.MinNodes:
		to := max(in.Nodes-step, p.MinNodes)
		// Node allocatable scales with the count (one shape per cluster).
		shrink := float64(in.Nodes) / float64(to)
		if cpu*shrink > float64(up) || mem*shrink > float64(up) {
			return Decision{Nodes: in.Nodes, Reason: usage + ", below " + strconv.Itoa(int(down)) + "%, but " + nodes(to) + " would pass " + strconv.Itoa(int(up)) + "%"}
		}
		return Decision{Nodes: to, Reason: usage + ", below " + strconv.Itoa(int(down)) + "%"}
	}
	return Decision{Nodes: in.Nodes, Reason: usage + ", within " + strconv.Itoa(int(down)) + "-" + strconv.Itoa(int(up)) + "%"}
}

func percent(part, whole int64) float64 {
	return float64(part) * 100 / float64(whole)
}

func nodes(n int32) string {
	if n == 1 {
		return "1 node"
	}
	return strconv.Itoa(int(n)) + " nodes"
}
