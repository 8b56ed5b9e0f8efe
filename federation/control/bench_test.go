package control_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
)

// BenchmarkLocalClusterLifecycle is one local cluster's life as the
// lifecycle shell drives it, one caller stepping every 100 ms: a
// MemberCluster from a pool to Ready with Fn installed and answering
// (targets: under 15 s), a park by hand to Parked (under 3 s), the wake
// to Ready (under 10 s), and what a parked cluster leaves running (0
// processes). Run with FNFLEET_BIN set:
//
//	go test -run '^$' -bench BenchmarkLocalClusterLifecycle -benchtime 5x ./federation/control/
func BenchmarkLocalClusterLifecycle(b *testing.B) {
	bed := newBed(b)
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Minute)
	defer cancel()
	pool, err := bed.hub.CreateClusterPool(ctx, localPool("bench", 1000))
	if err != nil {
		b.Fatal(err)
	}
	l := bed.lifecycle(b, bed.driver, nil)
	var toReady, toParked, toAwake time.Duration
	parkedProcs, n := 0, 0
	for b.Loop() {
		name := fmt.Sprintf("bench-%d", n)
		n++
		start := time.Now()
		if _, err := bed.hub.CreateMemberCluster(ctx, control.MemberFromPool(name, pool, nil)); err != nil {
			b.Fatal(err)
		}
		drive(b, ctx, bed, l, name, 1, phaseIs(v1alpha1.PhaseReady))
		toReady += time.Since(start)

		setParked(b, ctx, bed, name, true)
		start = time.Now()
		drive(b, ctx, bed, l, name, 1, phaseIs(v1alpha1.PhaseParked))
		toParked += time.Since(start)
		procs, err := bed.local.ProcessesOf(name)
		if err != nil {
			b.Fatal(err)
		}
		parkedProcs += len(procs)

		setParked(b, ctx, bed, name, false)
		start = time.Now()
		requestWake(b, ctx, bed, name)
		drive(b, ctx, bed, l, name, 1, phaseIs(v1alpha1.PhaseReady))
		toAwake += time.Since(start)

		if err := bed.hub.DeleteMemberCluster(ctx, name); err != nil {
			b.Fatal(err)
		}
		drive(b, ctx, bed, l, name, 1, func(mc *v1alpha1.MemberCluster) bool { return mc == nil })
	}
	b.ReportMetric(toReady.Seconds()/float64(n), "s-request-to-ready")
	b.ReportMetric(toParked.Seconds()/float64(n), "s-park")
	b.ReportMetric(toAwake.Seconds()/float64(n), "s-unpark-to-ready")
	b.ReportMetric(float64(parkedProcs)/float64(n), "procs-parked")
}
