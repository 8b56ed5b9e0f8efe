package proc

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	starts    prometheus.Counter
	kills     *prometheus.CounterVec
	coldStart prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, running func() int) (metrics, error) {
	m := metrics{
		starts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fnhost_process_starts_total", Help: "Function processes started.",
		}),
		kills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fnhost_process_kills_total", Help: "Function processes stopped by the host, by reason.",
		}, []string{"reason"}),
		coldStart: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "fnhost_process_start_seconds",
			Help:    "Time from process start to its socket being ready.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	if reg == nil {
		return m, nil
	}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "fnhost_processes", Help: "Function processes running.",
	}, func() float64 { return float64(running()) })
	for _, c := range []prometheus.Collector{m.starts, m.kills, m.coldStart, gauge} {
		if err := reg.Register(c); err != nil {
			return metrics{}, fmt.Errorf("register process metrics: %w", err)
		}
	}
	return m, nil
}
