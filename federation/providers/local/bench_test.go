package local_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// BenchmarkDriver measures the local provider's lifecycle through the
// provider interface, as the lifecycle shell drives it (Observe polled
// every 100 ms). Run with -benchtime=1x: one iteration is a whole cluster.
func BenchmarkDriver(b *testing.B) {
	p := testbed.Provider(b)
	d := local.NewDriver(p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	b.Run("request-to-running", func(b *testing.B) {
		for i := range b.N {
			c := providers.Cluster{Name: fmt.Sprintf("bench-create-%d", i), Nodes: 1}
			if err := d.Create(ctx, c); err != nil {
				b.Fatal(err)
			}
			awaitProgress(b, ctx, d, c, lifecycle.ProgressRunning)
			b.StopTimer()
			if err := d.Delete(ctx, c); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})

	c := providers.Cluster{Name: "bench-park", Nodes: 1}
	if err := d.Create(ctx, c); err != nil {
		b.Fatal(err)
	}
	awaitProgress(b, ctx, d, c, lifecycle.ProgressRunning)
	b.Run("park", func(b *testing.B) {
		for range b.N {
			if err := d.Park(ctx, c, v1alpha1.ParkingStop); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			procs, err := p.ProcessesOf(c.Name)
			if err != nil {
				b.Fatal(err)
			}
			var rss int64
			for _, proc := range procs {
				rss += proc.RSS
			}
			b.ReportMetric(float64(len(procs)), "parked-procs")
			b.ReportMetric(float64(rss), "parked-rss-bytes")
			if err := d.Unpark(ctx, c); err != nil {
				b.Fatal(err)
			}
			awaitProgress(b, ctx, d, c, lifecycle.ProgressRunning)
			b.StartTimer()
		}
	})
	b.Run("unpark-to-running", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			if err := d.Park(ctx, c, v1alpha1.ParkingStop); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := d.Unpark(ctx, c); err != nil {
				b.Fatal(err)
			}
			awaitProgress(b, ctx, d, c, lifecycle.ProgressRunning)
		}
	})
}
