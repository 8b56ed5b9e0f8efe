package placement

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// snapshot is what a decision reads from a cluster object that does not
// depend on the app: phase and health, heartbeat, capacity as integers,
// cost and tier. A Planner keeps one per cluster and recomputes it only when
// the object changes, as a scheduler does with its informer cache: the
// resource maps and quantities are then read once per object version instead
// of once per decision.
//
// An object is the same version when its UID, name, resourceVersion and
// generation are unchanged; the API server changes resourceVersion on every
// write (spec, status, labels). Objects without a resourceVersion (built in
// memory, not read from the API) are never cached.
type snapshot struct {
	uid  types.UID
	name string
	rv   string
	gen  int64

	hb    time.Time // status.lastHeartbeatTime, when hasHB
	hasHB bool

	phase     snapPhase
	unhealthy bool
	capRead   bool // the fields below are read (see readCapacity)
	hasAlloc  bool // status.allocatable is not empty
	hasPods   bool // status.allocatable has pods
	tier      int16
	cost      int64 // milli-units per hour

	allocCPU, usedCPU   int64 // milli-cpu
	allocMem, usedMem   int64 // bytes
	allocPods, usedPods int64

	// For an app not yet on the cluster: free cpu and memory, replicas
	// the pods allow, the balance score; and, for the last demand seen
	// (memoCPU milli-cpu, memoMem bytes per replica), the replicas cpu and
	// memory allow.
	freeCPU, freeMem int64
	fitPods, balance int64
	memoCPU, memoMem int64
	memoFitCPU       int64
	memoFitMem       int64

	// spec.region, zone and provider name, interned by the Planner when
	// first used as a group key (0: not yet): the group of a cluster is then
	// found without comparing strings.
	regionID, zoneID, providerID int32

	// Selector results memoised for this object version: bit b of
	// selKnown says the Planner's selector b was evaluated, the same bit of
	// selMatch its result. Valid only while selEpoch is the Planner's.
	selEpoch           uint64
	selKnown, selMatch uint64
}

const (
	// maxSelectors is how many selectors a Planner memoises per cluster;
	// a new one beyond that starts a new epoch, forgetting the others.
	maxSelectors = 64
	// maxKeys bounds the interned group keys; beyond, the table and the
	// snapshots are dropped and rebuilt.
	maxKeys = 1 << 16
)

type snapPhase uint8

const (
	snapReady snapPhase = iota
	snapParked
	snapNotReady
)

// same reports whether s was taken from this version of c.
func (s *snapshot) same(c *v1alpha1.MemberCluster) bool {
	return s.rv != "" && s.rv == c.ResourceVersion && s.name == c.Name && s.uid == c.UID && s.gen == c.Generation
}

// take fills s from c.
func (pl *Planner) take(s *snapshot, c *v1alpha1.MemberCluster) {
	// A new version of the cluster the snapshot was taken from keeps the
	// interned group keys that did not change.
	same := s.rv != "" && s.name == c.Name && s.uid == c.UID
	region, zone, provider := s.regionID, s.zoneID, s.providerID
	*s = snapshot{uid: c.UID, name: c.Name, rv: c.ResourceVersion, gen: c.Generation}
	if same {
		s.regionID = pl.keep(region, c.Spec.Region)
		s.zoneID = pl.keep(zone, c.Spec.Zone)
		s.providerID = pl.keep(provider, c.Spec.Provider.Name)
	}
	switch c.Status.Phase {
	case v1alpha1.PhaseReady:
		s.phase = snapReady
	case v1alpha1.PhaseParked, v1alpha1.PhaseParking:
		s.phase = snapParked
	default:
		s.phase = snapNotReady
	}
	s.unhealthy = unhealthy(c)
	if hb := c.Status.LastHeartbeatTime; hb != nil {
		s.hb, s.hasHB = hb.Time, true
	}
	s.tier = clampTier(c.Spec.Tier)
}

// readCapacity fills the capacity and cost of s from c, the first time a
// decision needs them for this object version: a cluster the filters reject
// earlier never has its resource maps read.
func (s *snapshot) readCapacity(c *v1alpha1.MemberCluster) {
	s.capRead = true
	if c.Spec.CostPerHour != nil {
		s.cost = c.Spec.CostPerHour.MilliValue()
	}
	alloc, used := c.Status.Allocatable, c.Status.Used
	if len(alloc) == 0 {
		return
	}
	s.hasAlloc = true
	q := alloc[corev1.ResourceCPU]
	s.allocCPU = q.MilliValue()
	q = used[corev1.ResourceCPU]
	s.usedCPU = q.MilliValue()
	q = alloc[corev1.ResourceMemory]
	s.allocMem = q.Value()
	q = used[corev1.ResourceMemory]
	s.usedMem = q.Value()
	if q, ok := alloc[corev1.ResourcePods]; ok {
		s.hasPods = true
		s.allocPods = q.Value()
		q = used[corev1.ResourcePods]
		s.usedPods = q.Value()
	}
	s.freeCPU, s.freeMem = s.allocCPU-s.usedCPU, s.allocMem-s.usedMem
	s.fitPods = maxFit
	if s.hasPods {
		s.fitPods = clampFit(s.allocPods - s.usedPods)
	}
	s.balance = balanceOf(s.freeCPU, s.allocCPU, s.freeMem, s.allocMem)
}

// intern returns the number of group key k, from 1.
func (pl *Planner) intern(k string) int32 {
	if id, ok := pl.keys[k]; ok {
		return id
	}
	if pl.keys == nil {
		pl.keys = make(map[string]int32)
	}
	id := int32(len(pl.keys) + 1)
	pl.keys[k] = id
	pl.keyNames = append(pl.keyNames, k)
	return id
}

// keep returns id if it is the interned number of k, else 0.
func (pl *Planner) keep(id int32, k string) int32 {
	if id > 0 && int(id) <= len(pl.keyNames) && pl.keyNames[id-1] == k {
		return id
	}
	return 0
}

// selectorBit returns the memo bit of selector m and the epoch it is valid
// in. Equal compiled selectors (same requirements in the same order) share a
// bit, so every app with the same selector reuses the results.
func (pl *Planner) selectorBit(m *labelMatcher) (uint64, uint64) {
	if pl.selEpoch == 0 {
		pl.selEpoch = 1 // snapshots start at 0: nothing memoised
	}
	for i := range pl.sels {
		if pl.sels[i].equal(m) {
			return 1 << i, pl.selEpoch
		}
	}
	if len(pl.sels) == maxSelectors {
		clear(pl.sels)
		pl.sels = pl.sels[:0]
		pl.selEpoch++
	}
	pl.sels = append(pl.sels, m.clone())
	return 1 << (len(pl.sels) - 1), pl.selEpoch
}

// matchMemo is r.sel.matches(c.Labels), memoised in the snapshot of c.
func (r *run) matchMemo(c *v1alpha1.MemberCluster, s *snapshot) bool {
	if r.selBit == 0 {
		return r.sel.matches(c.Labels)
	}
	if s.selEpoch != r.selEpoch {
		s.selEpoch, s.selKnown, s.selMatch = r.selEpoch, 0, 0
	}
	if s.selKnown&r.selBit != 0 {
		return s.selMatch&r.selBit != 0
	}
	m := r.sel.matches(c.Labels)
	s.selKnown |= r.selBit
	if m {
		s.selMatch |= r.selBit
	}
	return m
}

// snapshots returns the cached snapshots for clusters, position by
// position, refreshing those whose object changed. A snapshot is found when
// a cluster comes at the same position as in the previous decision (lists
// from the API server come ordered by name); a cluster at another position is
// read again. Entries for objects without a resourceVersion are left unset.
func (pl *Planner) snapshots(clusters []v1alpha1.MemberCluster) []snapshot {
	n := len(clusters)
	if len(pl.keys) > maxKeys {
		pl.keys, pl.keyNames = nil, nil
		clear(pl.snaps)
	}
	if cap(pl.snaps) < n {
		grown := make([]snapshot, n)
		copy(grown, pl.snaps)
		pl.snaps = grown
	}
	if len(pl.snaps) > n {
		clear(pl.snaps[n:]) // release the names of clusters no longer listed
	}
	pl.snaps = pl.snaps[:n]
	return pl.snaps
}
