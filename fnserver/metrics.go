package fnserver

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// callMetrics count calls by entry point (invoke, trigger) and status.
type callMetrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newCallMetrics(reg prometheus.Registerer) (callMetrics, error) {
	m := callMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fnhost_calls_total", Help: "Function calls by entry point and HTTP status.",
		}, []string{"entry", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fnhost_call_duration_seconds",
			Help:    "Function call latency, including any process start.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 20),
		}, []string{"entry"}),
	}
	for _, c := range []prometheus.Collector{m.calls, m.duration} {
		if err := reg.Register(c); err != nil {
			return callMetrics{}, fmt.Errorf("register call metrics: %w", err)
		}
	}
	return m, nil
}

func (m callMetrics) observe(entry string, status int, began time.Time) {
	m.calls.WithLabelValues(entry, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(entry).Observe(time.Since(began).Seconds())
}
