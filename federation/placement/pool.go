package placement

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// poolNote is what the explanation says about pools: the fitting pool
// whose maxClusters held the request back (full), or that no pool fits.
type poolNote struct {
	full           string // the pool that is full; "" none
	count, max     int32  // its clusters (existing and requested) and maxClusters
	none, searched bool   // no pool fits; pools were given
}

// poolFit is how many replicas of the app one new cluster of the pool
// holds: per-node capacity times nodes. A pool that does not say what a
// node offers is assumed to hold what one cluster must, as a parked
// cluster without capacity data is.
func (p *policy) poolFit(spec *v1alpha1.ClusterPoolSpec) int64 {
	nodes := int64(max(spec.Nodes, 1)) // the API's default is 1
	fit, known := int64(maxFit), false
	if q, ok := spec.NodeCapacity[corev1.ResourceCPU]; ok {
		fit, known = min(fit, q.MilliValue()*nodes/p.cpuMilli), true
	}
	if q, ok := spec.NodeCapacity[corev1.ResourceMemory]; ok {
		fit, known = min(fit, q.Value()*nodes/p.memBytes), true
	}
	if q, ok := spec.NodeCapacity[corev1.ResourcePods]; ok {
		fit, known = min(fit, q.Value()*nodes), true
	}
	if !known {
		return p.need()
	}
	return fit
}

// createFromPool completes req with the pool to create from and the names
// of the clusters to create: the best pool whose clusters would pass every
// filter and hold what one cluster must (in a group the spread still lacks
// first, when newGroup; then best tier, cheapest, by name) and that has room
// under its maxClusters. It counts the pool's MemberClusters (spec.poolRef)
// and never asks for more than maxClusters leaves: a full pool is said in
// the explanation. With setTier (no cluster woken), req.Tier is the pool's.
func (r *decider) createFromPool(req *v1alpha1.CapacityRequest, usedGroups []string, newGroup bool, replicasLeft int64, setTier bool) {
	pools := r.opts.Pools
	if len(pools) == 0 {
		return
	}
	r.pools.searched = true
	p := &r.p
	type fitting struct {
		idx      int
		fit      int64
		cost     int64
		newGroup bool
	}
	var fits []fitting
	for i := range pools {
		spec := &pools[i].Spec
		if !r.sel.matches(spec.Labels) {
			continue
		}
		if why, _ := r.admits(spec.Region, spec.Provider.Name, spec.Zone, spec.Taints, false); why != reasonNone {
			continue
		}
		if p.static && !slices.ContainsFunc(r.app.Spec.Placement.ReplicaDivision.StaticWeights, func(w v1alpha1.StaticWeight) bool {
			return w.Region != "" && w.Region == spec.Region
		}) {
			continue
		}
		fit := p.poolFit(spec)
		if fit < p.need() {
			continue
		}
		var cost int64
		if spec.CostPerHour != nil {
			cost = spec.CostPerHour.MilliValue()
		}
		fits = append(fits, fitting{idx: i, fit: fit, cost: cost, newGroup: !slices.Contains(usedGroups, p.groupKey(spec.Region, spec.Zone, spec.Provider.Name, spec.Labels))})
	}
	if len(fits) == 0 {
		r.pools.none = true
		return
	}
	slices.SortFunc(fits, func(a, b fitting) int {
		pa, pb := &pools[a.idx], &pools[b.idx]
		return cmp.Or(trueFirst(newGroup && a.newGroup, newGroup && b.newGroup),
			byTierCostName(pa.Spec.Tier, pb.Spec.Tier, a.cost, b.cost, pa.Name, pb.Name))
	})
	want := int64(req.CreateCount)
	for _, f := range fits {
		pool := &pools[f.idx]
		// Enough clusters for the replicas still short, as the pool
		// makes them.
		n := max(want, (replicasLeft+f.fit-1)/f.fit)
		members := r.poolMembers(pool.Name)
		room := int64(max(pool.Spec.MaxClusters-members, 0))
		if room < n && r.pools.full == "" {
			r.pools.full, r.pools.max = pool.Name, pool.Spec.MaxClusters
			r.pools.count = members + int32(min(room, n))
		}
		if room == 0 {
			continue // full: the next pool that fits
		}
		req.CreateCount = int32(n)
		req.Pool = pool.Name
		req.Create = r.clusterNames(pool.Name, int(min(room, n)))
		if setTier {
			req.Tier = pool.Spec.Tier
		}
		return
	}
}

// poolMembers counts the MemberClusters created from pool, in any phase:
// a parked or failed one can run again, so it holds its place.
func (r *decider) poolMembers(pool string) int32 {
	var n int32
	for i := range r.clusters {
		if ref := r.clusters[i].Spec.PoolRef; ref != nil && ref.Name == pool {
			n++
		}
	}
	return n
}

// clusterNames returns n names for clusters of pool for the app, the
// lowest slots whose name no MemberCluster has: the same input gives the
// same names, so two decisions at once ask for the same clusters, and one
// that exists already (created for an earlier request) is not asked for
// again.
func (r *decider) clusterNames(pool string, n int) []string {
	prefix := clusterNamePrefix(pool, r.app)
	var taken []string
	for i := range r.clusters {
		if name := r.clusters[i].Name; strings.HasPrefix(name, prefix) {
			taken = append(taken, name)
		}
	}
	out := make([]string, 0, n)
	for slot := 0; len(out) < n; slot++ {
		if name := prefix + strconv.Itoa(slot); !slices.Contains(taken, name) {
			out = append(out, name)
		}
	}
	return out
}

// maxNameLen is the longest cluster name: a DNS-1123 label, because the
// name becomes a provider's cluster name (kwokctl's, a Cluster API
// Cluster's, which must be a label).
const maxNameLen = 63

// clusterNamePrefix is "<pool>-<app>-" with <app> the first 8 hex digits
// of sha256 of the app's UID (its namespace/name when it has none, as an
// object built in memory): a slot number of at most 4 digits (maxClusters
// is at most 1,000) completes a DNS-1123 label. A pool name with dots, or
// too long to fit, is shortened to a label and gets 4 hex digits of its own
// hash, so two pools never share a prefix.
func clusterNamePrefix(pool string, app *v1alpha1.FleetApp) string {
	id := string(app.UID)
	if id == "" {
		id = app.Namespace + "/" + app.Name
	}
	appHash := sha256.Sum256([]byte(id))
	suffix := "-" + hex.EncodeToString(appHash[:4]) + "-"
	const slotDigits = 4
	room := maxNameLen - len(suffix) - slotDigits
	if len(pool) <= room && !strings.Contains(pool, ".") {
		return pool + suffix
	}
	poolHash := sha256.Sum256([]byte(pool))
	tag := "-" + hex.EncodeToString(poolHash[:2])
	short := strings.ReplaceAll(pool, ".", "-")
	short = strings.TrimRight(short[:min(len(short), room-len(tag))], "-")
	return short + tag + suffix
}
