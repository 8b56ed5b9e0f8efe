package scheduler

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values of the metrics.
const (
	resultDelivered    = "delivered"
	resultNotDelivered = "not-delivered"
	// reasonOverlap: the tick came while the previous tick's send still
	// ran.
	reasonOverlap = "overlap"
	// reasonLate: the scheduler woke after later ticks were due too (a
	// suspended machine, a long pause), and sent only the latest.
	reasonLate = "late"
)

type metrics struct {
	sent          *prometheus.CounterVec
	missed        *prometheus.CounterVec
	lastDelivered *prometheus.GaugeVec
}

// newMetrics makes the metrics, every series of every schedule at zero (so
// that rate() and absent() work from the start), registered on reg unless
// it is nil.
func newMetrics(reg prometheus.Registerer, schedules []string) (metrics, error) {
	m := metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fnfleet_scheduler_ticks_sent_total",
			Help: "Ticks whose send is over, by schedule and result (delivered, not-delivered: a dead letter).",
		}, []string{"schedule", "result"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fnfleet_scheduler_ticks_missed_total",
			Help: "Ticks not sent, by schedule and reason (overlap: the previous tick's send still ran; late: the scheduler woke after a later tick was due).",
		}, []string{"schedule", "reason"}),
		lastDelivered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fnfleet_scheduler_last_delivered_tick_timestamp_seconds",
			Help: "Scheduled time of the schedule's last tick delivered, in Unix seconds: alert when it falls behind the schedule.",
		}, []string{"schedule"}),
	}
	for _, name := range schedules {
		m.sent.WithLabelValues(name, resultDelivered)
		m.sent.WithLabelValues(name, resultNotDelivered)
		m.missed.WithLabelValues(name, reasonOverlap)
		m.missed.WithLabelValues(name, reasonLate)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sent, m.missed, m.lastDelivered} {
		if err := reg.Register(c); err != nil {
			return metrics{}, fmt.Errorf("scheduler: register its metrics: %w", err)
		}
	}
	return m, nil
}
