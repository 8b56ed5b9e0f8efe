package placement

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

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
	snaps    []snapshot // nil without a cache
	keyGroup []int32    // interned group key -> group, -1 if none yet
	selBit   uint64     // the selector's bit in snapshot memos; 0: no memo
	selEpoch uint64
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
	return p.decide(app, clusters, prev, opts, false)
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

	rejected []Rejection

	// The snapshot cache; see snapshot.
	snaps    []snapshot       // per input position
	keys     map[string]int32 // interned group keys
	keyNames []string         // and by number - 1
	keyGroup []int32          // scratch for run.keyGroup
	sels     []labelMatcher   // selectors with a memo bit, by bit
	selEpoch uint64
}

// Decide is the package's Decide with p's scratch memory. It also keeps a
// snapshot of each cluster object it reads (phase, health, capacity, cost
// and tier as integers), keyed by the object's UID, name, resourceVersion
// and generation, and reads the object's resource maps again only when that
// version changes. Cluster objects must not be modified without changing
// their resourceVersion (objects from the API never are); objects without a
// resourceVersion are read afresh every time.
func (pl *Planner) Decide(app *v1alpha1.FleetApp, clusters []v1alpha1.MemberCluster, prev []v1alpha1.ClusterPlacement, opts Options) (*Decision, error) {
	return pl.decide(app, clusters, prev, opts, true)
}

func (pl *Planner) decide(app *v1alpha1.FleetApp, clusters []v1alpha1.MemberCluster, prev []v1alpha1.ClusterPlacement, opts Options, cache bool) (*Decision, error) {
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
	if cache {
		// Rejections go to scratch first, then to a slice of their size.
		if cap(pl.rejected) < len(clusters) {
			pl.rejected = make([]Rejection, 0, len(clusters))
		}
		r.d.Rejected = pl.rejected[:0]
	} else {
		r.d.Rejected = make([]Rejection, 0, len(clusters))
	}
	if cap(pl.cands) < len(clusters) {
		pl.cands = make([]cand, 0, len(clusters))
	}
	r.cands, r.order, r.groups = pl.cands[:0], pl.order[:0], pl.groups[:0]
	if cache {
		r.snaps = pl.snapshots(clusters)
		r.keyGroup = pl.keyGroup[:0]
		if !r.sel.all() {
			r.selBit, r.selEpoch = pl.selectorBit(&r.sel)
		}
	}
	defer func() {
		clear(r.groups) // drop the references to the clusters' strings
		pl.cands, pl.order, pl.groups = r.cands[:0], r.order[:0], r.groups[:0]
		if cache {
			pl.keyGroup = r.keyGroup[:0]
		}
	}()

	for i := range clusters {
		r.consider(pl, int32(i))
	}
	if cache {
		pl.rejected = r.d.Rejected[:0]
		r.d.Rejected = append([]Rejection{}, r.d.Rejected...)
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
// a candidate or a rejection. With a snapshot cache (a Planner) it reads the
// cluster's phase, health, capacity, cost and tier from the snapshot of the
// object's current version; without, straight from the object, each
// resource only if the previous one fits.
func (r *run) consider(pl *Planner, i int32) {
	c := &r.clusters[i]
	var s *snapshot
	if r.snaps != nil && c.ResourceVersion != "" {
		s = &r.snaps[i]
		if !s.same(c) {
			pl.take(s, c)
		}
	}
	var ph snapPhase
	if s != nil {
		ph = s.phase
	} else {
		ph = phaseOf(c)
	}
	switch ph {
	case snapReady:
	case snapParked:
		r.reject(i, ReasonParked)
		return
	default:
		r.reject(i, ReasonNotReady)
		return
	}
	if s != nil {
		if s.unhealthy {
			r.reject(i, ReasonUnhealthy)
			return
		}
		if s.hasHB && r.stale(s.hb) {
			r.reject(i, ReasonStale)
			return
		}
	} else {
		if unhealthy(c) {
			r.reject(i, ReasonUnhealthy)
			return
		}
		if hb := c.Status.LastHeartbeatTime; hb != nil && r.stale(hb.Time) {
			r.reject(i, ReasonStale)
			return
		}
	}
	var prevReplicas int32
	inPrev := false
	if r.prev != nil {
		prevReplicas, inPrev = r.prev[c.Name]
	}
	if !r.sel.all() {
		var match bool
		if s != nil {
			match = r.matchMemo(c, s)
		} else {
			match = r.sel.matches(c.Labels)
		}
		if !match {
			r.reject(i, ReasonSelector)
			return
		}
	}
	why, taints := r.specFilters(c, inPrev)
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

	var fit, balance, cost int64
	var tier int16
	var group int32
	if s != nil {
		if !s.capRead {
			s.readCapacity(c)
		}
		why, fit, balance = r.p.capacity(s, prevReplicas)
		cost, tier = s.cost, s.tier
		if why == reasonNone {
			group = r.groupOfSnap(pl, c, s)
		}
	} else {
		why, fit, balance = r.p.readCapacity(c, prevReplicas)
		if c.Spec.CostPerHour != nil {
			cost = c.Spec.CostPerHour.MilliValue()
		}
		tier = clampTier(c.Spec.Tier)
		if why == reasonNone {
			group = r.groupOf(c)
		}
	}
	if why != reasonNone {
		r.reject(i, why)
		return
	}
	r.cands = append(r.cands, cand{
		cost:   cost,
		idx:    i,
		fit:    int32(fit),
		tier:   tier,
		group:  group,
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

func phaseOf(c *v1alpha1.MemberCluster) snapPhase {
	switch c.Status.Phase {
	case v1alpha1.PhaseReady:
		return snapReady
	case v1alpha1.PhaseParked, v1alpha1.PhaseParking:
		return snapParked
	}
	return snapNotReady
}

// stale reports whether a heartbeat at hb is older than the timeout.
func (r *run) stale(hb time.Time) bool {
	return r.opts.HeartbeatTimeout > 0 && !r.opts.Now.IsZero() && r.opts.Now.Sub(hb) > r.opts.HeartbeatTimeout
}

func clampTier(t int32) int16 {
	return int16(min(max(t, 0), math.MaxInt16))
}

// need is how many replicas a cluster must hold to be a candidate: one when
// Divided, all of them when Duplicated.
func (p *policy) need() int64 {
	if p.divided {
		return 1
	}
	return int64(p.replicas)
}

// readCapacity is the capacity filter read from the object: each resource
// is read only if the previous one fits, since a map lookup is most of what
// a cluster costs. It returns the rejection (or reasonNone), how many
// replicas fit and the balance score.
func (p *policy) readCapacity(c *v1alpha1.MemberCluster, prevReplicas int32) (why Reason, fit, balance int64) {
	alloc, used := c.Status.Allocatable, c.Status.Used
	if len(alloc) == 0 {
		return ReasonNoCapacityData, 0, 0
	}
	need := p.need()
	aq := alloc[corev1.ResourceCPU]
	uq := used[corev1.ResourceCPU]
	allocCPU := aq.MilliValue()
	freeCPU := allocCPU - uq.MilliValue() + int64(prevReplicas)*p.cpuMilli
	fitCPU := clampFit(freeCPU / p.cpuMilli)
	if fitCPU < need {
		return ReasonLacksCPU, 0, 0
	}
	aq = alloc[corev1.ResourceMemory]
	uq = used[corev1.ResourceMemory]
	allocMem := aq.Value()
	freeMem := allocMem - uq.Value() + int64(prevReplicas)*p.memBytes
	fitMem := clampFit(freeMem / p.memBytes)
	if fitMem < need {
		return ReasonLacksMemory, 0, 0
	}
	fitPods := int64(maxFit)
	if aq, ok := alloc[corev1.ResourcePods]; ok {
		uq = used[corev1.ResourcePods]
		fitPods = clampFit(aq.Value() - uq.Value() + int64(prevReplicas))
	}
	if fitPods < need {
		return ReasonLacksPods, 0, 0
	}
	return reasonNone, min(fitCPU, fitMem, fitPods), balanceOf(freeCPU, allocCPU, freeMem, allocMem)
}

// capacity is readCapacity on a snapshot.
func (p *policy) capacity(s *snapshot, prevReplicas int32) (why Reason, fit, balance int64) {
	if !s.hasAlloc {
		return ReasonNoCapacityData, 0, 0
	}
	need := p.need()
	if prevReplicas == 0 {
		// The app is not on the cluster: what is free does not depend on
		// it, and what fits only on its demand per replica.
		if s.memoCPU != p.cpuMilli || s.memoMem != p.memBytes {
			s.memoCPU, s.memoMem = p.cpuMilli, p.memBytes
			s.memoFitCPU = clampFit(s.freeCPU / p.cpuMilli)
			s.memoFitMem = clampFit(s.freeMem / p.memBytes)
		}
		switch {
		case s.memoFitCPU < need:
			return ReasonLacksCPU, 0, 0
		case s.memoFitMem < need:
			return ReasonLacksMemory, 0, 0
		case s.fitPods < need:
			return ReasonLacksPods, 0, 0
		}
		return reasonNone, min(s.memoFitCPU, s.memoFitMem, s.fitPods), s.balance
	}
	freeCPU := s.freeCPU + int64(prevReplicas)*p.cpuMilli
	fitCPU := clampFit(freeCPU / p.cpuMilli)
	if fitCPU < need {
		return ReasonLacksCPU, 0, 0
	}
	freeMem := s.freeMem + int64(prevReplicas)*p.memBytes
	fitMem := clampFit(freeMem / p.memBytes)
	if fitMem < need {
		return ReasonLacksMemory, 0, 0
	}
	fitPods := int64(maxFit)
	if s.hasPods {
		fitPods = clampFit(s.allocPods - s.usedPods + int64(prevReplicas))
	}
	if fitPods < need {
		return ReasonLacksPods, 0, 0
	}
	return reasonNone, min(fitCPU, fitMem, fitPods), balanceOf(freeCPU, s.allocCPU, freeMem, s.allocMem)
}

// balanceOf is the Balance score: the share of cpu and memory still free,
// the least utilised cluster scoring highest.
func balanceOf(freeCPU, allocCPU, freeMem, allocMem int64) int64 {
	if allocCPU > 0 && allocMem > 0 {
		return (min(freeCPU*100/allocCPU, 100) + min(freeMem*100/allocMem, 100)) / 2
	}
	return 0
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
	if !r.sel.all() && !r.sel.matches(c.Labels) {
		return ReasonSelector, 0
	}
	return r.specFilters(c, inPrev)
}

// specFilters are staticFilters without the selector.
func (r *run) specFilters(c *v1alpha1.MemberCluster, inPrev bool) (Reason, int32) {
	pl := &r.app.Spec.Placement
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
	return r.groupOfKey(r.groupKey(c))
}

func (r *run) groupOfKey(key string) int32 {
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

// groupOfSnap is groupOf for a cluster with a snapshot: its group key is
// interned, so the group is found by index instead of by comparing strings.
func (r *run) groupOfSnap(pl *Planner, c *v1alpha1.MemberCluster, s *snapshot) int32 {
	var id *int32
	switch r.p.topology {
	case topoRegion:
		id = &s.regionID
	case topoZone:
		id = &s.zoneID
	case topoProvider:
		id = &s.providerID
	default:
		return r.groupOf(c)
	}
	if *id == 0 {
		*id = pl.intern(r.groupKey(c))
	}
	return r.groupOfID(*id, c)
}

func (r *run) groupOfID(id int32, c *v1alpha1.MemberCluster) int32 {
	for int(id) >= len(r.keyGroup) {
		r.keyGroup = append(r.keyGroup, -1)
	}
	if g := r.keyGroup[id]; g >= 0 {
		r.groups[g].size++
		return g
	}
	// First in this decision: find or make the group by its key, which
	// clusters read without a snapshot share.
	g := r.groupOfKey(r.groupKey(c))
	r.keyGroup[id] = g
	return g
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
	// Divisions by the same numbers for every candidate: by multiplication.
	costDiv, tierDiv, sumDiv := newDivider(maxCost-minCost), newDivider(int64(maxTier)-int64(minTier)), newDivider(int64(r.p.weightSum))
	for i := range r.cands {
		k := &r.cands[i]
		var s [numPrioritizers]int64
		s[prioCost] = 100
		if maxCost > minCost {
			s[prioCost] = costDiv.div((maxCost - k.cost) * 100)
		}
		s[prioTier] = 100
		if maxTier > minTier {
			s[prioTier] = tierDiv.div(int64(maxTier-k.tier) * 100)
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
			sum = sumDiv.div(sum)
		}
		k.score = int16(max(sum-int64(k.taints)*preferNoSchedulePenalty, 0))
	}
}

// divider divides by a fixed d. For a dividend and divisor below 2^32 it
// multiplies by a precomputed inverse, which is exact in that range
// (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019)
// and several times cheaper than a division; otherwise it divides.
type divider struct {
	m uint64 // 0: divide
	d int64
}

func newDivider(d int64) divider {
	if d <= 1 || d >= 1<<32 {
		return divider{d: d}
	}
	return divider{m: ^uint64(0)/uint64(d) + 1, d: d}
}

func (v divider) div(n int64) int64 {
	if v.m != 0 && uint64(n) < 1<<32 {
		q, _ := bits.Mul64(v.m, uint64(n))
		return int64(q)
	}
	return n / v.d
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
