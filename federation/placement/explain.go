package placement

import (
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// capacityRequest says how to get what the decision lacks: wake parked
// clusters that would pass every filter, best tier first and cheapest
// within a tier, only as many as cover the shortfall (never a whole tier,
// as Navarkos did); then create clusters for what is still missing.
func (r *run) capacityRequest() *v1alpha1.CapacityRequest {
	p := &r.p
	req := &v1alpha1.CapacityRequest{Replicas: r.d.Unplaced, Clusters: r.d.MissingClusters}
	if r.d.Unplaced > 0 {
		req.CPU, req.Memory = quantities(p, r.d.Unplaced)
	}
	need := int64(1)
	if !p.divided {
		need = int64(p.replicas)
	}
	type parked struct {
		idx   int32
		tier  int32
		cost  int64
		fit   int64
		group string
	}
	var ps []parked
	bestTier := int32(math.MaxInt32)
	for i := range r.clusters {
		c := &r.clusters[i]
		if why, _ := r.staticFilters(c, false); why != reasonNone {
			continue
		}
		if p.static && r.staticWeight(c) == 0 {
			continue
		}
		bestTier = min(bestTier, c.Spec.Tier)
		if (c.Status.Phase != v1alpha1.PhaseParked && c.Status.Phase != v1alpha1.PhaseParking) || unhealthy(c) {
			continue
		}
		// A parked cluster runs nothing: its allocatable is what it offers.
		// Without capacity data, assume it holds what one cluster must.
		fit := need
		if a := c.Status.Allocatable; len(a) > 0 {
			cpu, mem := a[corev1.ResourceCPU], a[corev1.ResourceMemory]
			fit = min(cpu.MilliValue()/p.cpuMilli, mem.Value()/p.memBytes)
			if pods, ok := a[corev1.ResourcePods]; ok {
				fit = min(fit, pods.Value())
			}
		}
		if fit < need {
			continue
		}
		var cost int64
		if c.Spec.CostPerHour != nil {
			cost = c.Spec.CostPerHour.MilliValue()
		}
		ps = append(ps, parked{idx: int32(i), tier: c.Spec.Tier, cost: cost, fit: fit, group: r.groupKey(c)})
	}
	slices.SortFunc(ps, func(a, b parked) int {
		switch {
		case a.tier != b.tier:
			return int(a.tier - b.tier)
		case a.cost != b.cost:
			if a.cost < b.cost {
				return -1
			}
			return 1
		}
		return strings.Compare(r.clusters[a.idx].Name, r.clusters[b.idx].Name)
	})

	usedGroups := make([]string, 0, len(r.d.Selected))
	for _, s := range r.d.Selected {
		if k := r.groupKey(&r.clusters[s.Cluster]); !slices.Contains(usedGroups, k) {
			usedGroups = append(usedGroups, k)
		}
	}
	groupsLeft := int64(max(p.minGroups-len(usedGroups), 0))
	clustersLeft := int64(r.d.MissingClusters)
	replicasLeft := int64(0)
	if p.divided {
		replicasLeft = int64(r.d.Unplaced)
	}
	taken := make([]bool, len(ps))
	take := func(i int) {
		taken[i] = true
		clustersLeft--
		replicasLeft -= ps[i].fit
		req.Wake = append(req.Wake, r.clusters[ps[i].idx].Name)
		if !slices.Contains(usedGroups, ps[i].group) {
			usedGroups = append(usedGroups, ps[i].group)
			groupsLeft--
		}
	}
	// Missing groups first: they can only be filled from new groups.
	for i := range ps {
		if groupsLeft <= 0 {
			break
		}
		if !slices.Contains(usedGroups, ps[i].group) {
			take(i)
		}
	}
	for i := range ps {
		if clustersLeft <= 0 && replicasLeft <= 0 {
			break
		}
		if !taken[i] {
			take(i)
		}
	}
	if len(req.Wake) > 0 {
		req.Tier = ps[slices.Index(taken, true)].tier
	} else if bestTier != math.MaxInt32 {
		req.Tier = bestTier
	} else {
		req.Tier = 1
	}
	if clustersLeft > 0 || replicasLeft > 0 || groupsLeft > 0 {
		req.CreateCount = int32(max(clustersLeft, groupsLeft, 1))
		req.CreateRegions = r.createRegions(usedGroups)
	}
	return req
}

// createRegions suggests where new clusters go: the preferred regions the
// residency rules allow, else the exact required regions; empty means
// anywhere the policy allows. With region spread, used regions come last.
func (r *run) createRegions(usedGroups []string) []string {
	pl := &r.app.Spec.Placement
	var out []string
	for _, reg := range pl.PreferredRegions {
		if !strings.HasSuffix(reg, "*") && (len(pl.RequiredRegions) == 0 || matchAny(pl.RequiredRegions, reg)) {
			out = append(out, reg)
		}
	}
	if len(out) == 0 {
		for _, reg := range pl.RequiredRegions {
			if !strings.HasSuffix(reg, "*") {
				out = append(out, reg)
			}
		}
	}
	if r.p.topology == topoRegion {
		slices.SortStableFunc(out, func(a, b string) int {
			ua, ub := slices.Contains(usedGroups, a), slices.Contains(usedGroups, b)
			switch {
			case ua == ub:
				return 0
			case ub:
				return -1
			}
			return 1
		})
	}
	return out
}

// explain renders the decision in one line, kube-scheduler style:
// "0/7 clusters fit: 3 outside eu-*, 2 tainted, 2 lack 2Gi memory".
func (r *run) explain() string {
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
		}
	}
	return string(b)
}

// appendReasons writes "3 outside eu-*, 2 tainted", most common first.
func (r *run) appendReasons(b []byte) []byte {
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

func (r *run) appendPhrase(b []byte, why Reason) []byte {
	pl := &r.app.Spec.Placement
	need := int64(1)
	if !r.p.divided {
		need = int64(r.p.replicas)
	}
	switch why {
	case ReasonNotReady:
		return append(b, "not ready"...)
	case ReasonParked:
		return append(b, "parked"...)
	case ReasonUnhealthy:
		return append(b, "unhealthy"...)
	case ReasonStale:
		return append(b, "without recent heartbeat"...)
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
