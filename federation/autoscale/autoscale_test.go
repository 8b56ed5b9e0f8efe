package autoscale

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

var now = time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)

// usage at cpu% and mem% of 4 nodes of 4 cpu and 16Gi each.
func usage(cpuPct, memPct int64) Usage {
	return Usage{
		CPURequestedMilli: 16000 * cpuPct / 100, CPUAllocatableMilli: 16000,
		MemoryRequested: (64 << 30) * memPct / 100, MemoryAllocatable: 64 << 30,
	}
}

func TestDecide(t *testing.T) {
	pol := &v1alpha1.NodeAutoscale{ScaleUpPercent: 80, ScaleDownPercent: 30, Step: 1, MinNodes: 2, MaxNodes: 6}
	for _, tc := range []struct {
		name   string
		in     Input
		want   int32
		next   time.Time
		reason string
	}{
		{name: "no policy keeps the count", in: Input{Nodes: 3}, want: 3, reason: "no nodeAutoscale policy"},
		{name: "cpu above 80% adds a step", in: Input{Policy: pol, Nodes: 4, Usage: usage(81, 10)}, want: 5, reason: "cpu 81%, memory 10% requested, above 80%"},
		{name: "memory above 80% adds a step", in: Input{Policy: pol, Nodes: 4, Usage: usage(10, 90)}, want: 5},
		{name: "exactly 80% holds", in: Input{Policy: pol, Nodes: 4, Usage: usage(80, 80)}, want: 4, reason: "within 30-80%"},
		{name: "at maxNodes holds", in: Input{Policy: pol, Nodes: 6, Usage: usage(95, 95)}, want: 6, reason: "but at maxNodes"},
		{name: "a step past maxNodes stops at it", in: Input{Policy: &v1alpha1.NodeAutoscale{ScaleUpPercent: 80, Step: 3, MinNodes: 1, MaxNodes: 6}, Nodes: 5, Usage: usage(90, 10)}, want: 6},
		{name: "both below 30% removes a step", in: Input{Policy: pol, Nodes: 4, Usage: usage(20, 29)}, want: 3, reason: "below 30%"},
		{name: "one above 30% holds", in: Input{Policy: pol, Nodes: 4, Usage: usage(20, 31)}, want: 4},
		{name: "at minNodes holds", in: Input{Policy: pol, Nodes: 2, Usage: usage(1, 1)}, want: 2},
		{name: "a removal that would pass 80% holds", in: Input{Policy: &v1alpha1.NodeAutoscale{ScaleUpPercent: 50, ScaleDownPercent: 45, Step: 2, MinNodes: 1, MaxNodes: 6}, Nodes: 4, Usage: usage(40, 40)},
			want: 4, reason: "but 2 nodes would pass 50%"},
		{name: "below minNodes is raised at once, cooldown or not", in: Input{Policy: pol, Nodes: 1, LastScale: now.Add(-time.Minute)}, want: 2, reason: "1 node below minNodes 2"},
		{name: "above maxNodes is lowered at once", in: Input{Policy: pol, Nodes: 9}, want: 6},
		{name: "cooldown holds and says until when", in: Input{Policy: pol, Nodes: 4, Usage: usage(95, 95), LastScale: now.Add(-4 * time.Minute)},
			want: 4, next: now.Add(time.Minute), reason: "until 12:01:00"},
		{name: "after the cooldown it scales", in: Input{Policy: pol, Nodes: 4, Usage: usage(95, 95), LastScale: now.Add(-5 * time.Minute)}, want: 5},
		{name: "a custom cooldown", in: Input{Policy: pol, Nodes: 4, Usage: usage(95, 95), LastScale: now.Add(-5 * time.Minute), Cooldown: 10 * time.Minute},
			want: 4, next: now.Add(5 * time.Minute)},
		{name: "no capacity data holds", in: Input{Policy: pol, Nodes: 4}, want: 4, reason: "no allocatable"},
		{name: "zero fields take the API defaults", in: Input{Policy: &v1alpha1.NodeAutoscale{MinNodes: 1, MaxNodes: 5}, Nodes: 2, Usage: usage(85, 0)}, want: 3},
		{name: "scaleDownPercent 0 never scales down", in: Input{Policy: &v1alpha1.NodeAutoscale{MinNodes: 1, MaxNodes: 5}, Nodes: 2, Usage: usage(0, 0)}, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Now = now
			d := Decide(in)
			if d.Nodes != tc.want || !d.NextCheck.Equal(tc.next) || !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("Decide = %+v, want %d nodes, next %v, reason with %q", d, tc.want, tc.next, tc.reason)
			}
		})
	}
}

// TestNoFlapping: once the count settles, the same usage never moves it
// back and forth.
func TestNoFlapping(t *testing.T) {
	pol := &v1alpha1.NodeAutoscale{ScaleUpPercent: 80, ScaleDownPercent: 30, Step: 1, MinNodes: 1, MaxNodes: 20}
	for requested := int64(0); requested <= 40000; requested += 250 { // millicores, nodes of 1 cpu
		n, last, direction := int32(10), time.Time{}, int32(0)
		at := now
		for range 50 {
			u := Usage{CPURequestedMilli: requested, CPUAllocatableMilli: int64(n) * 1000, MemoryRequested: 1, MemoryAllocatable: 1 << 30}
			d := Decide(Input{Policy: pol, Nodes: n, Usage: u, LastScale: last, Now: at})
			if d.Nodes != n {
				move := d.Nodes - n
				if direction != 0 && (move > 0) != (direction > 0) {
					t.Fatalf("%dm requested: direction changed at %d nodes (%s)", requested, n, d.Reason)
				}
				n, last, direction = d.Nodes, at, move
			}
			at = at.Add(DefaultCooldown)
		}
	}
}

func TestUsageOf(t *testing.T) {
	st := &v1alpha1.MemberClusterStatus{
		Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi")},
		Used:        corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m"), corev1.ResourceMemory: resource.MustParse("4Gi")},
	}
	want := Usage{CPURequestedMilli: 1500, CPUAllocatableMilli: 8000, MemoryRequested: 4 << 30, MemoryAllocatable: 32 << 30}
	if got := UsageOf(st); got != want {
		t.Errorf("UsageOf = %+v, want %+v", got, want)
	}
}

// TestCountIsDecide: Count is Decide's count and cooldown end over a grid of
// policies, counts, usages and last changes.
func TestCountIsDecide(t *testing.T) {
	pols := []*v1alpha1.NodeAutoscale{
		nil,
		{ScaleUpPercent: 80, ScaleDownPercent: 30, Step: 1, MinNodes: 2, MaxNodes: 6},
		{ScaleUpPercent: 50, ScaleDownPercent: 45, Step: 2, MinNodes: 1, MaxNodes: 6},
		{MinNodes: 1, MaxNodes: 5},
	}
	for _, pol := range pols {
		for n := int32(0); n <= 8; n++ {
			for _, pct := range []int64{0, 20, 40, 80, 95} {
				for _, ago := range []time.Duration{0, time.Minute, 10 * time.Minute} {
					in := Input{Policy: pol, Nodes: n, Usage: usage(pct, 100-pct), Now: now}
					if ago > 0 {
						in.LastScale = now.Add(-ago)
					}
					d := Decide(in)
					nodes, next := Count(in)
					if nodes != d.Nodes || !next.Equal(d.NextCheck) {
						t.Errorf("Count(%+v) = %d, %v; Decide = %+v", in, nodes, next, d)
					}
				}
			}
		}
	}
}
