package testbed_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// BenchmarkClustersReady measures the time from asking for N clusters to all
// of them serving with Ready nodes (binaries already built), and the resident
// memory of one running cluster.
//
//	go test -run '^$' -bench ClustersReady -benchtime 3x ./test/testbed/
func BenchmarkClustersReady(b *testing.B) {
	for _, n := range []int{1, 3, 5} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			p := testbed.Provider(b)
			specs := make([]local.ClusterSpec, n)
			for i := range specs {
				specs[i] = local.ClusterSpec{Region: fmt.Sprintf("region-%d", i)}
			}
			var rss int64
			for b.Loop() {
				clusters, err := p.CreateAll(context.Background(), specs)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				for _, c := range clusters {
					m, err := c.ResidentMemory()
					if err != nil {
						b.Fatal(err)
					}
					rss += m
				}
				if err := p.DeleteAll(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(rss)/float64(b.N*n)/(1<<20), "MiB-rss/cluster")
		})
	}
}
