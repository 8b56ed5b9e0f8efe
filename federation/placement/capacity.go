package placement

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// need is how many replicas a cluster must hold to be a candidate: one when
// Divided, all of them when Duplicated.
func (p *policy) need() int64 {
	if p.divided {
		return 1
	}
	return int64(p.replicas)
}

// fit is the capacity filter on the snapshot s of a cluster that already
// runs prevReplicas of the app: those count as free room, so that an app
// does not push itself off a full cluster. It returns the rejection (or
// reasonNone), how many replicas fit and the Balance score.
func (p *policy) fit(s *snapshot, prevReplicas int32) (why Reason, fit, balance int64) {
	if !s.hasAlloc {
		return ReasonNoCapacityData, 0, 0
	}
	need := p.need()
	freeCPU := s.freeCPU + int64(prevReplicas)*p.cpuMilli
	fitCPU := clampFit(p.perCPU.div(freeCPU))
	if fitCPU < need {
		return ReasonLacksCPU, 0, 0
	}
	freeMem := s.freeMem + int64(prevReplicas)*p.memBytes
	fitMem := clampFit(p.perMem.div(freeMem))
	if fitMem < need {
		return ReasonLacksMemory, 0, 0
	}
	fitPods := int64(maxFit)
	if s.hasPods {
		fitPods = clampFit(s.freePods + int64(prevReplicas))
	}
	if fitPods < need {
		return ReasonLacksPods, 0, 0
	}
	balance = s.balance
	if prevReplicas > 0 {
		balance = balanceOf(freeCPU, s.allocCPU, freeMem, s.allocMem)
	}
	return reasonNone, min(fitCPU, fitMem, fitPods), balance
}

// balanceOf is the Balance score: the share of cpu and memory still free,
// the least utilised cluster scoring highest.
func balanceOf(freeCPU, allocCPU, freeMem, allocMem int64) int64 {
	if allocCPU > 0 && allocMem > 0 {
		return (min(freeCPU*100/allocCPU, 100) + min(freeMem*100/allocMem, 100)) / 2
	}
	return 0
}

func clampFit(v int64) int64 {
	return max(min(v, maxFit), 0)
}

// capacityRequest says how to get what the decision lacks. Clusters on
// their way (provisioning, installing, unparking) count first: they are
// not asked for again. Then it wakes parked clusters that would pass every
// filter, best tier first and cheapest within a tier, only as many as
// cover the shortfall (never a whole tier, as Navarkos did); then it
// creates clusters from the best fitting pool for what is still missing.
func (r *decider) capacityRequest() *v1alpha1.CapacityRequest {
	p := &r.p
	req := &v1alpha1.CapacityRequest{Replicas: r.d.Unplaced, Clusters: r.d.MissingClusters}
	if r.d.Unplaced > 0 {
		req.CPU, req.Memory = quantities(p, r.d.Unplaced)
	}
	need := p.need()
	type offer struct {
		idx    int32
		coming bool
		tier   int32
		cost   int64
		fit    int64
		group  string
	}
	var avail []offer
	bestTier := int32(math.MaxInt32)
	for i := range r.clusters {
		c, s := &r.clusters[i], r.snapshot(int32(i))
		if !r.matches(c, s) {
			continue
		}
		if why, _ := r.admits(c.Spec.Region, c.Spec.Provider.Name, c.Spec.Zone, c.Spec.Taints, false); why != reasonNone {
			continue
		}
		if p.static && r.staticWeight(c) == 0 {
			continue
		}
		tier := int32(s.tier) // validated to 0-99 by the API, so as written
		bestTier = min(bestTier, tier)
		// A Ready cluster whose capacity is not reported yet, or not since
		// it came up (lifecycle marks it Ready one observation before
		// reconcile reads its nodes), is capacity on its way too: asking
		// for another cluster in that gap would create one the app never
		// needs.
		s.loadCapacity(c)
		coming := s.phase == phaseComing || (s.phase == phaseReady && (!s.hasAlloc || s.unobserved))
		if s.unhealthy || (s.phase != phaseParked && !coming) {
			continue
		}
		if s.phase == phaseParked && (s.noWake || c.Spec.Parked) {
			continue // a wake would not be honoured: the app goes elsewhere
		}
		fit := r.offers(c, s)
		if fit < need {
			continue
		}
		avail = append(avail, offer{idx: int32(i), coming: coming, tier: tier, cost: s.cost, fit: fit, group: r.groupKey(c)})
	}
	// Capacity on its way first, then wakes; each best tier, cheapest and
	// then by name.
	slices.SortFunc(avail, func(a, b offer) int {
		return cmp.Or(trueFirst(a.coming, b.coming),
			byTierCostName(a.tier, b.tier, a.cost, b.cost, r.clusters[a.idx].Name, r.clusters[b.idx].Name))
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
	wakeTier := int32(-1)
	taken := make([]bool, len(avail))
	take := func(i int) {
		taken[i] = true
		clustersLeft--
		replicasLeft -= avail[i].fit
		if avail[i].coming {
			r.coming = append(r.coming, avail[i].idx)
		} else {
			req.Wake = append(req.Wake, r.clusters[avail[i].idx].Name)
			if wakeTier < 0 {
				wakeTier = avail[i].tier
			}
		}
		if !slices.Contains(usedGroups, avail[i].group) {
			usedGroups = append(usedGroups, avail[i].group)
			groupsLeft--
		}
	}
	// Missing groups first: they can only be filled from new groups.
	for i := range avail {
		if groupsLeft <= 0 {
			break
		}
		if !slices.Contains(usedGroups, avail[i].group) {
			take(i)
		}
	}
	for i := range avail {
		if clustersLeft <= 0 && replicasLeft <= 0 {
			break
		}
		if !taken[i] {
			take(i)
		}
	}
	switch {
	case wakeTier >= 0:
		req.Tier = wakeTier
	case bestTier != math.MaxInt32:
		req.Tier = bestTier
	default:
		req.Tier = 1
	}
	if clustersLeft > 0 || replicasLeft > 0 || groupsLeft > 0 {
		req.CreateCount = int32(max(clustersLeft, groupsLeft, 1))
		req.CreateRegions = r.createRegions(usedGroups)
		r.createFromPool(req, usedGroups, groupsLeft > 0, replicasLeft, wakeTier < 0)
	}
	return req
}

// byTierCostName is the order in which capacity is asked for: best (lowest)
// tier, then cheapest, then name, so that the order is total.
func byTierCostName(tierA, tierB int32, costA, costB int64, nameA, nameB string) int {
	return cmp.Or(cmp.Compare(tierA, tierB), cmp.Compare(costA, costB), strings.Compare(nameA, nameB))
}

// trueFirst orders true before false.
func trueFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// offers is how many replicas a cluster that runs nothing yet (parked, or
// on its way) will hold: its allocatable when it reports one, else what
// its pool's clusters are made with, else what one cluster must hold.
func (r *decider) offers(c *v1alpha1.MemberCluster, s *snapshot) int64 {
	p := &r.p
	s.loadCapacity(c)
	if s.hasAlloc {
		fit := min(s.allocCPU/p.cpuMilli, s.allocMem/p.memBytes)
		if s.hasPods {
			fit = min(fit, s.allocPods)
		}
		return fit
	}
	if c.Spec.PoolRef != nil {
		for i := range r.opts.Pools {
			if pool := &r.opts.Pools[i]; pool.Name == c.Spec.PoolRef.Name {
				return p.poolFit(&pool.Spec)
			}
		}
	}
	return p.need()
}

// createRegions suggests where new clusters go: the preferred regions the
// residency rules allow, else the exact required regions; empty means
// anywhere the policy allows. With region spread, used regions come last.
func (r *decider) createRegions(usedGroups []string) []string {
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

// quantities returns total cpu and memory for n replicas as API quantities.
func quantities(p *policy, n int32) (*resource.Quantity, *resource.Quantity) {
	cpu := resource.NewMilliQuantity(p.cpuMilli*int64(n), resource.DecimalSI)
	mem := resource.NewQuantity(p.memBytes*int64(n), resource.BinarySI)
	return cpu, mem
}
