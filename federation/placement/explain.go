package placement

import (
	"strconv"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// explain renders the decision in one line, kube-scheduler style:
// "0/7 clusters fit: 3 outside eu-*, 2 tainted, 2 lack 2Gi memory".
func (r *decider) explain() string {
	d := r.d
	b := make([]byte, 0, 256)
	b = strconv.AppendInt(b, int64(d.Fit), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(d.Total), 10)
	b = append(b, " clusters fit"...)
	if len(d.Rejected) > 0 {
		if d.Fit == 0 {
			b = append(b, ": "...)
		} else {
			b = append(b, " ("...)
		}
		b = r.appendReasons(b)
		if d.Fit > 0 {
			b = append(b, ')')
		}
	}
	if len(d.Selected) > 0 {
		b = append(b, "; "...)
		if r.p.divided {
			b = append(b, "placed "...)
			b = appendCount(b, int64(d.Placed()), "replica")
			b = append(b, " on "...)
		} else {
			b = appendCount(b, int64(r.p.replicas), "replica")
			b = append(b, " each on "...)
		}
		b = appendCount(b, int64(len(d.Selected)), "cluster")
		b = append(b, ": "...)
		const shown = 5
		for i, s := range d.Selected {
			if i == shown {
				b = append(b, " +"...)
				b = strconv.AppendInt(b, int64(len(d.Selected)-shown), 10)
				b = append(b, " more"...)
				break
			}
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, r.clusters[s.Cluster].Name...)
			if r.p.divided {
				b = append(b, '=')
				b = strconv.AppendInt(b, int64(s.Replicas), 10)
			}
		}
		if d.Kept {
			b = append(b, " (kept)"...)
		}
	}
	if d.Unplaced > 0 {
		b = appendCount(append(b, "; short "...), int64(d.Unplaced), "replica")
	}
	if d.MissingClusters > 0 && len(d.Selected) > 0 {
		b = appendCount(append(b, "; spread needs "...), int64(d.MissingClusters), "more cluster")
	}
	if c := d.Capacity; c != nil {
		if len(c.Wake) > 0 {
			b = append(b, "; wake "...)
			for i, n := range c.Wake {
				if i > 0 {
					b = append(b, ", "...)
				}
				b = append(b, n...)
			}
		}
		for i, ci := range r.coming {
			if i == 0 {
				b = append(b, "; waiting for "...)
			} else {
				b = append(b, ", "...)
			}
			cl := &r.clusters[ci]
			phase := cl.Status.Phase
			if phase == "" {
				phase = v1alpha1.PhasePending
			}
			b = append(append(append(append(b, cl.Name...), " ("...), phase...), ')')
		}
		if c.CreateCount > 0 {
			b = appendCount(append(b, "; create "...), int64(c.CreateCount), "cluster")
			if len(c.CreateRegions) > 0 {
				b = append(b, " in "...)
				for i, reg := range c.CreateRegions {
					if i > 0 {
						b = append(b, ", "...)
					}
					b = append(b, reg...)
				}
			}
			b = append(b, " (tier "...)
			b = strconv.AppendInt(b, int64(c.Tier), 10)
			b = append(b, ')')
			if c.Pool != "" {
				b = append(append(append(b, " from pool "...), c.Pool...), ": "...)
				for i, n := range c.Create {
					if i > 0 {
						b = append(b, ", "...)
					}
					b = append(b, n...)
				}
			}
		}
		switch n := &r.pools; {
		case n.full != "":
			b = append(append(append(b, "; pool "...), n.full...), " full ("...)
			b = strconv.AppendInt(b, int64(n.count), 10)
			b = append(b, '/')
			b = strconv.AppendInt(b, int64(n.max), 10)
			b = append(b, " clusters)"...)
		case n.none:
			b = append(b, "; no pool fits"...)
		}
	}
	return string(b)
}

// appendReasons writes "3 outside eu-*, 2 tainted", most common first.
func (r *decider) appendReasons(b []byte) []byte {
	var order [numReasons]Reason
	n := 0
	for why, c := range r.counts {
		if c > 0 {
			order[n] = Reason(why)
			n++
		}
	}
	// Insertion sort: at most numReasons entries, by count then code.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && r.counts[order[j]] > r.counts[order[j-1]]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	for i, why := range order[:n] {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, int64(r.counts[why]), 10)
		b = append(b, ' ')
		b = r.appendPhrase(b, why)
	}
	return b
}

func (r *decider) appendPhrase(b []byte, why Reason) []byte {
	pl := &r.app.Spec.Placement
	need := r.p.need()
	switch why {
	case ReasonNotReady:
		return append(b, "not ready"...)
	case ReasonParked:
		return append(b, "parked"...)
	case ReasonUnschedulable:
		return append(b, "unschedulable"...)
	case ReasonUnhealthy:
		return append(b, "unhealthy"...)
	case ReasonStale:
		return append(b, "without recent heartbeat"...)
	case ReasonNotObserved:
		return append(b, "not yet observed after coming up"...)
	case ReasonSelector:
		return append(b, "not matching selector"...)
	case ReasonRegion:
		return appendList(append(b, "outside "...), pl.RequiredRegions)
	case ReasonProvider:
		return appendList(append(b, "not on "...), pl.RequiredProviders)
	case ReasonZone:
		return appendList(append(b, "outside zones "...), pl.RequiredZones)
	case ReasonTainted:
		return append(b, "tainted"...)
	case ReasonNoStaticWeight:
		return append(b, "without static weight"...)
	case ReasonNoCapacityData:
		return append(b, "without capacity data"...)
	case ReasonLacksCPU:
		return append(appendCPU(append(b, "lack "...), need*r.p.cpuMilli), " cpu"...)
	case ReasonLacksMemory:
		return append(appendMemory(append(b, "lack "...), need*r.p.memBytes), " memory"...)
	case ReasonLacksPods:
		return append(strconv.AppendInt(append(b, "lack "...), need, 10), " pods"...)
	}
	return append(b, why.String()...)
}

func appendList(b []byte, items []string) []byte {
	for i, s := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s...)
	}
	return b
}

// appendCount writes "1 replica" or "3 replicas".
func appendCount(b []byte, n int64, noun string) []byte {
	b = strconv.AppendInt(b, n, 10)
	b = append(b, ' ')
	b = append(b, noun...)
	if n != 1 {
		b = append(b, 's')
	}
	return b
}

// appendCPU writes a cpu amount the way Kubernetes prints it.
func appendCPU(b []byte, milli int64) []byte {
	if milli%1000 == 0 {
		return strconv.AppendInt(b, milli/1000, 10)
	}
	b = strconv.AppendInt(b, milli, 10)
	return append(b, 'm')
}

// appendMemory writes a byte amount with the largest exact binary suffix.
func appendMemory(b []byte, bytes int64) []byte {
	suffixes := [...]string{"Ki", "Mi", "Gi", "Ti", "Pi"}
	unit := ""
	for _, s := range suffixes {
		if bytes == 0 || bytes%1024 != 0 {
			break
		}
		bytes /= 1024
		unit = s
	}
	b = strconv.AppendInt(b, bytes, 10)
	return append(b, unit...)
}
