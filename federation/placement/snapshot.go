package placement

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// snapshot is what a decision reads from one cluster object that does not
// depend on the app: phase and health, heartbeat, tier, and cost and
// capacity as integers. Every decision reads clusters through snapshots. A
// Planner keeps them from one decision to the next and takes one again only
// when its object changes, as a scheduler does with its informer cache; a
// one-off Decide takes each afresh.
type snapshot struct {
	// version is the object version the snapshot was taken from; the zero
	// value matches no object.
	version objectVersion

	phase     clusterPhase
	unhealthy bool // condition Healthy is False
	// unobserved: a serving cluster whose last heartbeat is from before it
	// came up (status.phaseSince; a wake after a park, say). Its health,
	// heartbeat and usage describe the cluster as it was: it is capacity
	// on its way until reconcile has looked at it, never stale.
	unobserved bool
	noWake     bool // parked where a wake request is not honoured (see readConditions)
	hasHB      bool
	hb         time.Time // status.lastHeartbeatTime, when hasHB
	tier       int16

	// The cost and capacity are read the first time a decision needs them
	// (capRead): a cluster the filters reject before never has its resource
	// maps read, which is most of what reading a cluster costs.
	capRead             bool
	hasAlloc            bool // status.allocatable is not empty
	hasPods             bool // status.allocatable has pods
	cost                int64
	allocCPU, freeCPU   int64 // milli-cpu
	allocMem, freeMem   int64 // bytes
	allocPods, freePods int64
	balance             int64 // the Balance score with none of the app's replicas on the cluster

	// Label selector results for this object version: bit b of selKnown
	// says the Planner's selector b was evaluated, the same bit of selMatch
	// its result.
	selKnown, selMatch uint64
}

// objectVersion identifies one version of an API object. The API server
// changes resourceVersion on every write (spec, status, labels); UID and
// name tell another object at the same position apart. An object without a
// resourceVersion (built in memory, not read from the API) has no version.
type objectVersion struct {
	uid             types.UID
	name            string
	resourceVersion string
	generation      int64
}

type clusterPhase uint8

const (
	// phaseReady takes apps: Ready, and Scaling (Ready while its node
	// count changes).
	phaseReady clusterPhase = iota
	// phaseUnschedulable is a phaseReady cluster whose condition
	// Schedulable is False: it takes no new apps and its apps move. Kept
	// as a phase, so the filters test it in the phase switch they run
	// anyway.
	phaseUnschedulable
	// phaseParked can be woken: Parked, or Parking.
	phaseParked
	// phaseComing is capacity on its way: Pending, Provisioning,
	// Installing, Unparking, or a pool's cluster lifecycle has not yet
	// given a phase. It takes no apps yet, but counts against a shortfall.
	phaseComing
	phaseNotReady
)

// current reports whether s was taken from this version of c.
func (s *snapshot) current(c *v1alpha1.MemberCluster) bool {
	v := &s.version
	return c.ResourceVersion != "" && v.resourceVersion == c.ResourceVersion &&
		v.name == c.Name && v.uid == c.UID && v.generation == c.Generation
}

// take fills s from c, leaving cost and capacity to loadCapacity.
func (s *snapshot) take(c *v1alpha1.MemberCluster) {
	*s = snapshot{version: objectVersion{uid: c.UID, name: c.Name, resourceVersion: c.ResourceVersion, generation: c.Generation}}
	switch c.Status.Phase {
	case v1alpha1.PhaseReady, v1alpha1.PhaseScaling:
		s.phase = phaseReady
	case v1alpha1.PhaseParked, v1alpha1.PhaseParking:
		s.phase = phaseParked
	case v1alpha1.PhasePending, v1alpha1.PhaseProvisioning, v1alpha1.PhaseInstalling, v1alpha1.PhaseUnparking:
		s.phase = phaseComing
	case "":
		// Created from a pool, not yet seen by lifecycle: as Pending. A
		// cluster registered by hand without a phase is not ready.
		s.phase = phaseNotReady
		if c.Spec.PoolRef != nil {
			s.phase = phaseComing
		}
	default:
		s.phase = phaseNotReady
	}
	s.readConditions(c)
	if hb := c.Status.LastHeartbeatTime; hb != nil {
		s.hb, s.hasHB = hb.Time, true
		// A parked cluster's heartbeat stops with it: woken after a park
		// longer than the heartbeat timeout (10m), it would be filtered as
		// stale, yet not count as coming (it reports allocatable), and the
		// app would ask its pool for a second cluster.
		if since := c.Status.PhaseSince; since != nil && hb.Before(since) && (s.phase == phaseReady || s.phase == phaseUnschedulable) {
			s.unobserved, s.unhealthy = true, false
		}
	}
	s.tier = clampTier(c.Spec.Tier)
}

// readConditions reads the conditions placement acts on, in one pass,
// after the phase.
func (s *snapshot) readConditions(c *v1alpha1.MemberCluster) {
	for j := range c.Status.Conditions {
		cd := &c.Status.Conditions[j]
		switch cd.Type {
		case v1alpha1.ClusterHealthy:
			s.unhealthy = cd.Status == metav1.ConditionFalse
		case v1alpha1.ClusterSchedulable:
			if cd.Status == metav1.ConditionFalse && s.phase == phaseReady {
				s.phase = phaseUnschedulable
			}
		case v1alpha1.ClusterParked:
			// Parked clusters a wake request would not bring back:
			// one whose last wake did not finish within its resume
			// timeout (15m), so the app goes elsewhere rather than
			// wait on a second wake; and one parked by a hibernation
			// window or by hand, which parking keeps parked whatever
			// is asked.
			switch cd.Reason {
			case reasonWakeTimedOut, reasonWindow, reasonManual:
				s.noWake = true
			}
		}
	}
}

// Reasons of the Parked condition (lifecycle.ReasonWakeTimedOut,
// parking.ReasonWindow, parking.ReasonManual); placement reads the
// condition, not the packages, so that the pure cores stay apart.
const (
	reasonWakeTimedOut = "WakeTimedOut"
	reasonWindow       = "HibernationWindow"
	reasonManual       = "ParkedByHand"
)

// loadCapacity reads the cost and capacity of c into s, once per snapshot.
func (s *snapshot) loadCapacity(c *v1alpha1.MemberCluster) {
	if s.capRead {
		return
	}
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
	s.freeCPU = s.allocCPU - q.MilliValue()
	q = alloc[corev1.ResourceMemory]
	s.allocMem = q.Value()
	q = used[corev1.ResourceMemory]
	s.freeMem = s.allocMem - q.Value()
	if q, ok := alloc[corev1.ResourcePods]; ok {
		s.hasPods = true
		s.allocPods = q.Value()
		q = used[corev1.ResourcePods]
		s.freePods = s.allocPods - q.Value()
	}
	s.balance = balanceOf(s.freeCPU, s.allocCPU, s.freeMem, s.allocMem)
}

// maxSelectors is how many label selectors a Planner memoises per cluster
// (one bit each in snapshot.selKnown); a new one beyond that forgets them
// all and starts over.
const maxSelectors = 64

// Planner makes decisions like Decide for a long-lived caller (the
// placement function keeps one across calls). It keeps the snapshot of each
// cluster object it read, and its scratch memory, from one decision to the
// next: a cluster whose object has not changed is not read again, and the
// garbage collector is spared most of a decision's bytes. The zero value is
// ready; a Planner serves one goroutine at a time.
//
// Snapshots are found by position in clusters (the API server lists in name
// order) and belong to one object version: UID, name, resourceVersion and
// generation. A cluster at another position, a new version or an object
// without a resourceVersion is read afresh. Cluster objects must therefore
// not be modified without a new resourceVersion (objects from the API never
// are).
type Planner struct {
	snaps     []snapshot     // by position in clusters
	selectors []labelMatcher // the selectors with a memo bit, by bit

	// Scratch of one decision. Decisions share no memory with it, so those
	// returned earlier stay valid.
	cands    []cand
	order    []int32
	groups   []group
	rejected []Rejection
}

// snapshots returns the snapshots kept for n clusters, by position; the
// decision takes again those whose object is not the version they were
// taken from.
func (pl *Planner) snapshots(n int) []snapshot {
	if cap(pl.snaps) < n {
		grown := make([]snapshot, n)
		copy(grown, pl.snaps)
		pl.snaps = grown
	}
	if len(pl.snaps) > n {
		clear(pl.snaps[n:]) // release the strings of clusters no longer listed
	}
	pl.snaps = pl.snaps[:n]
	return pl.snaps
}

// selectorBit returns the memo bit of selector m. Equal compiled selectors
// (the same requirements in the same order) share a bit, so every app with
// the same selector reuses the results.
func (pl *Planner) selectorBit(m *labelMatcher) uint64 {
	for i := range pl.selectors {
		if pl.selectors[i].equal(m) {
			return 1 << i
		}
	}
	if len(pl.selectors) == maxSelectors {
		clear(pl.selectors)
		pl.selectors = pl.selectors[:0]
		for i := range pl.snaps {
			pl.snaps[i].selKnown, pl.snaps[i].selMatch = 0, 0
		}
	}
	pl.selectors = append(pl.selectors, m.clone())
	return 1 << (len(pl.selectors) - 1)
}
