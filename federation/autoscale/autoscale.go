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
	v := decide(in)
	return Decision{Nodes: v.nodes, Reason: v.reason(in), NextCheck: v.next}
}

// Count is Decide without the Reason. Lifecycle asks on every step of a
// Ready cluster and needs the reason only when the count changes; building
// it is 1-2 string allocations, about half the cost of a Ready step.
func Count(in Input) (nodes int32, nextCheck time.Time) {
	v := decide(in)
	return v.nodes, v.next
}

// rule is which branch of the policy decided.
type rule uint8

const (
	ruleNoPolicy rule = iota
	ruleBelowMin
	ruleAboveMax
	ruleNoCapacity
	ruleCooldown
	ruleUpAtMax
	ruleUp
	ruleDownWouldPass
	ruleDown
	ruleWithin
)

// verdict is a decision with what its reason is made of, so the reason is
// built only when asked for.
type verdict struct {
	nodes    int32
	next     time.Time
	rule     rule
	up, down int32   // the thresholds in force
	to       int32   // the count a scale-down would leave
	cpu, mem float64 // percent requested
}

func decide(in Input) verdict {
	p := in.Policy
	if p == nil {
		return verdict{nodes: in.Nodes, rule: ruleNoPolicy}
	}
	v := verdict{nodes: in.Nodes, up: p.ScaleUpPercent, down: p.ScaleDownPercent}
	step := p.Step
	if v.up <= 0 {
		v.up = defaultScaleUpPercent
	}
	if step <= 0 {
		step = defaultStep
	}
	switch {
	case in.Nodes < p.MinNodes:
		v.nodes, v.rule = p.MinNodes, ruleBelowMin
		return v
	case in.Nodes > p.MaxNodes:
		v.nodes, v.rule = p.MaxNodes, ruleAboveMax
		return v
	}
	u := in.Usage
	if u.CPUAllocatableMilli <= 0 || u.MemoryAllocatable <= 0 {
		v.rule = ruleNoCapacity
		return v
	}
	cooldown := in.Cooldown
	if cooldown <= 0 {
		cooldown = DefaultCooldown
	}
	if !in.LastScale.IsZero() && in.Now.Before(in.LastScale.Add(cooldown)) {
		v.next, v.rule = in.LastScale.Add(cooldown), ruleCooldown
		return v
	}
	v.cpu = percent(u.CPURequestedMilli, u.CPUAllocatableMilli)
	v.mem = percent(u.MemoryRequested, u.MemoryAllocatable)
	up, down := float64(v.up), float64(v.down)
	switch {
	case v.cpu > up || v.mem > up:
		if in.Nodes >= p.MaxNodes {
			v.rule = ruleUpAtMax
			return v
		}
		v.nodes, v.rule = min(in.Nodes+step, p.MaxNodes), ruleUp
		return v
	case v.cpu < down && v.mem < down && in.Nodes > p.MinNodes:
		v.to = max(in.Nodes-step, p.MinNodes)
		// Node allocatable scales with the count (one shape per cluster).
		shrink := float64(in.Nodes) / float64(v.to)
		if v.cpu*shrink > up || v.mem*shrink > up {
			v.rule = ruleDownWouldPass
			return v
		}
		v.nodes, v.rule = v.to, ruleDown
		return v
	}
	v.rule = ruleWithin
	return v
}

// reason says why, for a person.
func (v verdict) reason(in Input) string {
	switch v.rule {
	case ruleNoPolicy:
		return "no nodeAutoscale policy"
	case ruleBelowMin:
		return nodes(in.Nodes) + " below minNodes " + strconv.Itoa(int(in.Policy.MinNodes))
	case ruleAboveMax:
		return nodes(in.Nodes) + " above maxNodes " + strconv.Itoa(int(in.Policy.MaxNodes))
	case ruleNoCapacity:
		return "no allocatable cpu and memory reported yet"
	case ruleCooldown:
		return "in the cooldown of the last scaling, until " + v.next.UTC().Format(time.TimeOnly)
	}
	usage := "cpu " + strconv.Itoa(int(math.Round(v.cpu))) + "%, memory " + strconv.Itoa(int(math.Round(v.mem))) + "% requested"
	up, down := strconv.Itoa(int(v.up)), strconv.Itoa(int(v.down))
	switch v.rule {
	case ruleUpAtMax:
		return usage + ", above " + up + "%, but at maxNodes"
	case ruleUp:
		return usage + ", above " + up + "%"
	case ruleDownWouldPass:
		return usage + ", below " + down + "%, but " + nodes(v.to) + " would pass " + up + "%"
	case ruleDown:
		return usage + ", below " + down + "%"
	}
	return usage + ", within " + down + "-" + up + "%"
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
