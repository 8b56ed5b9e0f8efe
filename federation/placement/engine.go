package placement

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

const (
	// unknownLatencyMs is assumed for a client region with no measurement
	// to a cluster in another region; it scores 0.
	unknownLatencyMs = 300
	// preferNoSchedulePenalty is taken off the score of a cluster per
	// untolerated PreferNoSchedule taint.
	preferNoSchedulePenalty = 25
	// maxFit bounds per-cluster replica counts so sums never overflow.
	maxFit = 1 << 24
)

// cand is one cluster that passed every filter. Cands live in one slice per
// decision and refer to clusters by index: nothing is copied.
type cand struct {
	cost   int64 // milli-units per hour
	idx    int32
	fit    int32 // replicas the cluster can take (free capacity / request)
	group  int32
	tier   int16 // spec.tier, validated to 0-99
	score  int16
	weight uint8                  // static weight, validated to 1-100
	taints uint8                  // untolerated PreferNoSchedule taints
	scores [numPrioritizers]uint8 // balance and latency set by consider, the rest by score
	inPrev bool
}

type group struct {
	key    string
	sketch uint32
	start  int // first position in run.order
	size   int // candidates in the group
	top    int // how many of them are sorted best-first
	next   int // next unpicked position (relative to start)
	count  int // clusters picked
}

// run is the state of one decision; it lives on Decide's stack and its
// slices are allocated once per call.
type run struct {
	app      *v1alpha1.FleetApp
	clusters []v1alpha1.MemberCluster
	opts     Options
	p        policy
	sel      labelMatcher
	prev     map[string]int32
	cands    []cand
	groups   []group
	order    []int32 // candidate indices, bucketed by group
	picked   []int32 // candidate indices chosen
	counts   [numReasons]int32
	d        *Decision
}

// Decide places app on clusters. prev is the previous decision (normally
// app.Status.Placement); a still-valid previous decision is kept unless the
// new one scores more than spec.placement.rebalanceThreshold points better.
// It returns an error only for a policy it cannot apply (for example an
// invalid label selector); a fleet that cannot hold the app is a decision
// with a capacity request, not an error.
func Decide(app *v1alpha1.FleetApp, clusters []v1alpha1.MemberCluster, prev []v1alpha1.ClusterPlacement, opts Options) (*Decision, error) {
	var p Planner
	return p.Decide(app, clusters, prev, opts)
}

// Planner makes decisions like Decide, reusing its scratch memory from one
// decision to the next, which spares the garbage collector most of a
// decision's bytes when a process decides often. The zero value is ready;
// a Planner serves one goroutine at a time. Decisions it returned stay
// valid: they share no memory with the scratch.
type Planner struct {
	cands  []cand
	order  []int32
	groups []group
}

// Decide is the package's Decide with p's scratch memory.
func (pl *Planner) Decide(app *v1alpha1.FleetApp, clusters []v1alpha1.MemberCluster, prev []v1alpha1.ClusterPlacement, opts Options) (*Decision, error) {
	if app == nil {
		return nil, errors.New("placement: no FleetApp given")
	}
	r := run{app: app, clusters: clusters, opts: opts}
	var err error
	if r.p, err = parsePolicy(app, len(clusters)); err != nil {
		return nil, fmt.Errorf("placement: %w", err)
	}
	if r.sel, err = compileSelector(app.Spec.Placement.ClusterSelector); err != nil {
		return nil, fmt.Errorf("placement: fleetapp %s/%s: spec.placement.clusterSelector: %w", app.Namespace, app.Name, err)
	}
	if len(prev) > 0 {
		r.prev = make(map[string]int32, len(prev))
		for _, pp := range prev {
			r.prev[pp.Cluster] = pp.Replicas
		}
	}
	r.d = &Decision{Total: len(clusters), clusters: clusters}
	r.d.Rejected = make([]Rejection, 0, len(clusters))
	if cap(pl.cands) < len(clusters) {
		pl.cands = make([]cand, 0, len(clusters))
	}
	r.cands, r.order, r.groups = pl.cands[:0], pl.order[:0], pl.groups[:0]
	defer func() {
		clear(r.groups) // drop the references to the clusters' strings
		pl.cands, pl.order, pl.groups = r.cands[:0], r.order[:0], r.groups[:0]
	}()

	for i := range clusters {
		r.consider(int32(i))
	}
	r.d.Fit = len(r.cands)
	r.score()
	r.selectClusters()
	r.divide()
	r.shortfall()
	if r.d.Unplaced > 0 || r.d.MissingClusters > 0 {
		r.d.Capacity = r.capacityRequest()
	}
	r.d.Explanation = r.explain()
	return r.d, nil
}

func (r *run) reject(i int32, why Reason) {
	r.d.Rejected = append(r.d.Rejected, Rejection{Cluster: i, Reason: why})
	r.counts[why]++
}

// consider runs the filters on cluster i, cheapest first, and records it as
// a candidate or a rejection.
func (r *run) consider(i int32) {
	c := &r.clusters[i]
	switch c.Status.Phase {
	case v1alpha1.PhaseReady:
	case v1alpha1.PhaseParked, v1alpha1.PhaseParking:
		r.reject(i, ReasonParked)
		return
	default:
		r.reject(i, ReasonNotReady)
		return
	}
	if unhealthy(c) {
		r.reject(i, ReasonUnhealthy)
		return
	}
	if hb := c.Status.LastHeartbeatTime; hb != nil && r.opts.HeartbeatTimeout > 0 && !r.opts.Now.IsZero() &&
		r.opts.Now.Sub(hb.Time) > r.opts.HeartbeatTimeout {
		r.reject(i, ReasonStale)
		return
	}
	var prevReplicas int32
	inPrev := false
	if r.prev != nil {
		prevReplicas, inPrev = r.prev[c.Name]
	}
	why, taints := r.staticFilters(c, inPrev)
	if why != reasonNone {
		r.reject(i, why)
		return
	}
	var weight int32
	if r.p.static {
		if weight = r.staticWeight(c); weight == 0 {
			r.reject(i, ReasonNoStaticWeight)
			return
		}
	}

	alloc, used := c.Status.Allocatable, c.Status.Used
	if len(alloc) == 0 {
		r.reject(i, ReasonNoCapacityData)
		return
	}
	p := &r.p
	need := int64(1)
	if !p.divided {
		need = int64(p.replicas)
	}
	// Each resource is read only if the previous one fits: a map lookup is
	// most of what a cluster costs.
	aq := alloc[corev1.ResourceCPU]
	uq := used[corev1.ResourceCPU]
	allocCPU := aq.MilliValue()
	freeCPU := allocCPU - uq.MilliValue() + int64(prevReplicas)*p.cpuMilli
	fitCPU := clampFit(freeCPU / p.cpuMilli)
	if fitCPU < need {
		r.reject(i, ReasonLacksCPU)
		return
	}
	aq = alloc[corev1.ResourceMemory]
	uq = used[corev1.ResourceMemory]
	allocMem := aq.Value()
	freeMem := allocMem - uq.Value() + int64(prevReplicas)*p.memBytes
	fitMem := clampFit(freeMem / p.memBytes)
	if fitMem < need {
		r.reject(i, ReasonLacksMemory)
		return
	}
	fitPods := int64(maxFit)
	if aq, ok := alloc[corev1.ResourcePods]; ok {
		uq = used[corev1.ResourcePods]
		fitPods = clampFit(aq.Value() - uq.Value() + int64(prevReplicas))
	}
	if fitPods < need {
		r.reject(i, ReasonLacksPods)
		return
	}
	fit := min(fitCPU, fitMem, fitPods)

	// Balance: the share of cpu and memory still free, the least utilised
	// cluster scoring highest.
	var balance int64
	if allocCPU > 0 && allocMem > 0 {
		balance = (min(freeCPU*100/allocCPU, 100) + min(freeMem*100/allocMem, 100)) / 2
	}
	var cost int64
	if c.Spec.CostPerHour != nil {
		cost = c.Spec.CostPerHour.MilliValue()
	}
	r.cands = append(r.cands, cand{
		cost:   cost,
		idx:    i,
		fit:    int32(fit),
		tier:   int16(min(max(c.Spec.Tier, 0), math.MaxInt16)),
		group:  r.groupOf(c),
		weight: uint8(min(weight, math.MaxUint8)),
		taints: uint8(min(taints, math.MaxUint8)),
		inPrev: inPrev,
	})
	k := &r.cands[len(r.cands)-1]
	k.scores[prioBalance] = uint8(max(balance, 0))
	if len(r.app.Spec.Placement.ClientRegions) > 0 {
		lat := min(r.meanLatency(c), unknownLatencyMs)
		k.scores[prioLatency] = uint8(100 - lat*100/unknownLatencyMs)
	}
}

const reasonNone = numReasons

// unhealthy reports whether the cluster's Healthy condition is False.
func unhealthy(c *v1alpha1.MemberCluster) bool {
	for j := range c.Status.Conditions {
		if cd := &c.Status.Conditions[j]; cd.Type == v1alpha1.ClusterHealthy && cd.Status == metav1.ConditionFalse {
			return true
		}
	}
	return false
}

// staticFilters are the filters that depend only on the cluster's spec and
// labels: selector, residency and taints. The capacity request reuses them
// for parked clusters. It also returns the untolerated PreferNoSchedule
// taints, which cost score.
func (r *run) staticFilters(c *v1alpha1.MemberCluster, inPrev bool) (Reason, int32) {
	pl := &r.app.Spec.Placement
	if !r.sel.all() && !r.sel.matches(c.Labels) {
		return ReasonSelector, 0
	}
	if len(pl.RequiredRegions) > 0 && !matchAny(pl.RequiredRegions, c.Spec.Region) {
		return ReasonRegion, 0
	}
	if len(pl.RequiredProviders) > 0 && !slices.Contains(pl.RequiredProviders, c.Spec.Provider.Name) {
		return ReasonProvider, 0
	}
	if len(pl.RequiredZones) > 0 && !matchAny(pl.RequiredZones, c.Spec.Zone) {
		return ReasonZone, 0
	}
	var soft int32
	for j := range c.Spec.Taints {
		t := &c.Spec.Taints[j]
		if tolerated(pl.Tolerations, t) {
			continue
		}
		switch t.Effect {
		case v1alpha1.TaintPreferNoSchedule:
			soft++
		case v1alpha1.TaintNoSchedule:
			// As on Kubernetes nodes, NoSchedule keeps new placements off
			// but lets those already there stay.
			if !inPrev {
				return ReasonTainted, 0
			}
		default:
			return ReasonTainted, 0
		}
	}
	return reasonNone, soft
}

func clampFit(v int64) int64 {
	return max(min(v, maxFit), 0)
}

// matchAny reports whether v is one of patterns; a pattern ending in '*'
// matches by prefix.
func matchAny(patterns []string, v string) bool {
	for _, p := range patterns {
		if matchPattern(p, v) {
			return true
		}
	}
	return false
}

func matchPattern(p, v string) bool {
	if n := len(p); n > 0 && p[n-1] == '*' {
		return strings.HasPrefix(v, p[:n-1])
	}
	return p == v
}

func tolerated(ts []v1alpha1.Toleration, t *v1alpha1.Taint) bool {
	for i := range ts {
		tl := &ts[i]
		if tl.Effect != "" && tl.Effect != t.Effect {
			continue
		}
		if tl.Key == "" && tl.Operator == v1alpha1.TolerationExists {
			return true
		}
		if tl.Key != t.Key {
			continue
		}
		if tl.Operator == v1alpha1.TolerationExists || tl.Value == t.Value {
			return true
		}
	}
	return false
}

func (r *run) staticWeight(c *v1alpha1.MemberCluster) int32 {
	for _, w := range r.app.Spec.Placement.ReplicaDivision.StaticWeights {
		if (w.Cluster != "" && w.Cluster == c.Name) || (w.Region != "" && w.Region == c.Spec.Region) {
			return w.Weight
		}
	}
	return 0
}

// meanLatency is the mean round trip from the app's client regions to the
// cluster: measured when status.latencies has it, 0 inside the same region,
// unknownLatencyMs otherwise.
func (r *run) meanLatency(c *v1alpha1.MemberCluster) int32 {
	regions := r.app.Spec.Placement.ClientRegions
	if len(regions) == 0 {
		return 0
	}
	var sum int64
	for _, src := range regions {
		ms := int64(unknownLatencyMs)
		if src == c.Spec.Region {
			ms = 0
		}
		for _, l := range c.Status.Latencies {
			if l.Region == src {
				ms = int64(l.Milliseconds)
				break
			}
		}
		sum += ms
	}
	return int32(sum / int64(len(regions)))
}

func (r *run) groupKey(c *v1alpha1.MemberCluster) string {
	switch r.p.topology {
	case topoZone:
		return c.Spec.Zone
	case topoProvider:
		return c.Spec.Provider.Name
	case topoLabel:
		return c.Labels[r.p.labelKey]
	}
	return c.Spec.Region
}

// sketch is a cheap fingerprint that rules out most unequal group keys
// before comparing strings.
func sketch(s string) uint32 {
	n := len(s)
	if n == 0 {
		return 0
	}
	return uint32(n) | uint32(s[0])<<8 | uint32(s[n-1])<<16 | uint32(s[n/2])<<24
}

func (r *run) groupOf(c *v1alpha1.MemberCluster) int32 {
	key := r.groupKey(c)
	sk := sketch(key)
	for g := range r.groups {
		if r.groups[g].sketch == sk && r.groups[g].key == key {
			r.groups[g].size++
			return int32(g)
		}
	}
	if cap(r.groups) == 0 {
		r.groups = make([]group, 0, 16)
	}
	r.groups = append(r.groups, group{key: key, sketch: sk, size: 1})
	return int32(len(r.groups) - 1)
}

// score gives each candidate its per-prioritizer scores and weighted score.
// Cost and tier are normalised over the candidates: the cheapest (or best
// tier) scores 100, the dearest (or worst) 0.
func (r *run) score() {
	if len(r.cands) == 0 {
		return
	}
	minCost, maxCost := int64(math.MaxInt64), int64(math.MinInt64)
	minTier, maxTier := int16(math.MaxInt16), int16(math.MinInt16)
	for i := range r.cands {
		k := &r.cands[i]
		minCost, maxCost = min(minCost, k.cost), max(maxCost, k.cost)
		minTier, maxTier = min(minTier, k.tier), max(maxTier, k.tier)
	}
	pl := &r.app.Spec.Placement
	w := &r.p.weights
	for i := range r.cands {
		k := &r.cands[i]
		var s [numPrioritizers]int64
		s[prioCost] = 100
		if maxCost > minCost {
			s[prioCost] = (maxCost - k.cost) * 100 / (maxCost - minCost)
		}
		s[prioTier] = 100
		if maxTier > minTier {
			s[prioTier] = int64(maxTier-k.tier) * 100 / int64(maxTier-minTier)
		}
		s[prioBalance] = int64(k.scores[prioBalance])
		s[prioLatency] = int64(k.scores[prioLatency])
		if n := len(pl.PreferredRegions); n > 0 {
			region := r.clusters[k.idx].Spec.Region
			for j, pr := range pl.PreferredRegions {
				if matchPattern(pr, region) {
					s[prioLocality] = 100 - int64(j)*100/int64(n)
					break
				}
			}
		}
		var sum int64
		for j := range s {
			k.scores[j] = uint8(s[j])
			sum += s[j] * int64(w[j])
		}
		if r.p.weightSum > 0 {
			sum /= int64(r.p.weightSum)
		}
		k.score = int16(max(sum-int64(k.taints)*preferNoSchedulePenalty, 0))
	}
}

// better orders candidates: higher score, then lower tier, then cheaper,
// then name, so that the order is total and decisions deterministic.
func (r *run) better(a, b int32) bool {
	ka, kb := &r.cands[a], &r.cands[b]
	if ka.score != kb.score {
		return ka.score > kb.score
	}
	if ka.tier != kb.tier {
		return ka.tier < kb.tier
	}
	if ka.cost != kb.cost {
		return ka.cost < kb.cost
	}
	return r.clusters[ka.idx].Name < r.clusters[kb.idx].Name
}

func (r *run) cmp(a, b int32) int {
	if a == b {
		return 0
	}
	if r.better(a, b) {
		return -1
	}
	return 1
}
