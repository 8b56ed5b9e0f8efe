package lifecycle

import (
	"testing"
	"time"
)

// BenchmarkStep is one step of a Ready cluster with node autoscale and its
// conditions set: the most work a step does (autoscale reads quantities,
// every condition is rebuilt). Target: under 2 us.
func BenchmarkStep(b *testing.B) {
	mc := member("", 0, busy, scaledAgo(time.Minute))
	d := Step(Input{Cluster: mc, Observed: serving, Parking: runs, Now: now})
	d.Status.ApplyTo(&mc.Status)
	d = Step(Input{Cluster: mc, Observed: serving, Parking: runs, Now: now})
	d.Status.ApplyTo(&mc.Status)
	mc.Status.Phase = "Ready"
	in := Input{Cluster: mc, Observed: serving, Parking: runs, Now: now}
	b.ReportAllocs()
	for b.Loop() {
		d = Step(in)
	}
	if d.Status.Phase != "Ready" {
		b.Fatalf("benchmarked phase %s (%s)", d.Status.Phase, d.Message)
	}
}
