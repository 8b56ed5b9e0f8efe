package eventsource

import (
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/events"
)

// What a cluster.changed event names in its payload's changed list, besides
// condition types (Healthy, Parked, ...).
const (
	// WhatCreated: the object was first seen (created, or listed when the
	// source started).
	WhatCreated = "created"
	// WhatSpec: metadata.generation moved (the spec, taints included).
	WhatSpec = "spec"
	// WhatLabels: the labels FleetApps' clusterSelectors match changed.
	WhatLabels = "labels"
	// WhatPhase: the phase moved to one other than Ready, Parked, Failed.
	WhatPhase = "phase"
	// WhatEndpoint: status.fnEndpoint or status.ingress changed.
	WhatEndpoint = "endpoint"
	// WhatObserved: reconcile reached the cluster for the first time
	// since its phase began (the heartbeat passed status.phaseSince).
	// Placement does not place on a cluster that came up (created or
	// woken) before reconcile has looked at it, so this heartbeat, unlike
	// the others, can move a decision.
	WhatObserved = "observed"
	// WhatDeleting: a deletion was asked for (deletionTimestamp set).
	WhatDeleting = "deleting"
	// WhatDeleted: the object is gone from the hub.
	WhatDeleted = "deleted"
)

// Changes returns the catalog's event types (events.Type*) that a change of
// one FleetApp, MemberCluster or ClusterPool from old to new means, in the
// catalog's order: none when nothing a handler acts on changed. old is nil
// for an object first seen (created, or listed when the source starts), new
// is nil for one that is gone. Objects of different kinds, or both nil,
// mean nothing.
//
// Only what a handler acts on counts: a spec generation, labels, a phase, a
// condition's status or reason, the endpoints DNS publishes, a deletion,
// reconcile's first look at a cluster since its phase began (WhatObserved).
// Reconcile's later heartbeats (status.lastHeartbeatTime), usage and
// capacity, and bookkeeping (observedGeneration, phaseSince, failures,
// placedApps, idleSince) never do, so a quiet fleet sends nothing.
func Changes(old, new runtime.Object) []string {
	d := diff(old, new)
	return d.types
}

// change is what diff finds: the types, and for cluster.changed what
// changed, for cluster.failed the phase that failed.
type change struct {
	types []string
	what  []string // cluster.changed's payload
	from  v1alpha1.ClusterPhase
}

func (c *change) add(typ string) {
	if !slices.Contains(c.types, typ) {
		c.types = append(c.types, typ)
	}
}

func (c *change) changed(what ...string) {
	c.add(events.TypeClusterChanged)
	for _, w := range what {
		if !slices.Contains(c.what, w) {
			c.what = append(c.what, w)
		}
	}
}

// diff dispatches on the kind of whichever of old and new is set. A typed
// nil pointer counts as nil.
func diff(old, new runtime.Object) change {
	var c change
	switch n := new.(type) {
	case *v1alpha1.FleetApp:
		o, ok := old.(*v1alpha1.FleetApp)
		if old != nil && !ok {
			return c
		}
		appDiff(&c, o, n)
	case *v1alpha1.MemberCluster:
		o, ok := old.(*v1alpha1.MemberCluster)
		if old != nil && !ok {
			return c
		}
		clusterDiff(&c, o, n)
	case *v1alpha1.ClusterPool:
		o, ok := old.(*v1alpha1.ClusterPool)
		if old != nil && !ok {
			return c
		}
		poolDiff(&c, o, n)
	case nil:
		switch o := old.(type) {
		case *v1alpha1.FleetApp:
			appDiff(&c, o, nil)
		case *v1alpha1.MemberCluster:
			clusterDiff(&c, o, nil)
		case *v1alpha1.ClusterPool:
			poolDiff(&c, o, nil)
		}
	}
	slices.SortFunc(c.types, func(a, b string) int { return catalogIndex(a) - catalogIndex(b) })
	return c
}

// catalogIndex orders types as the catalog does, so Changes' result reads
// like the table in docs/events.md.
func catalogIndex(typ string) int {
	return slices.IndexFunc(events.Catalog(), func(s events.Spec) bool { return s.Type == typ })
}

// unchanged is a watch repeating what the cache has (a relist after the
// watch expired redelivers every object as an update).
func unchanged(old, new metav1.Object) bool {
	return old.GetResourceVersion() != "" && old.GetResourceVersion() == new.GetResourceVersion()
}

func deletionStarted(old, new metav1.Object) bool {
	return new.GetDeletionTimestamp() != nil && old.GetDeletionTimestamp() == nil
}

// appDiff: placement acts on the spec (generation); deploy, DNS and
// lifecycle act on the decision (status.placement) and on the app going
// away.
func appDiff(c *change, old, new *v1alpha1.FleetApp) {
	switch {
	case old == nil && new == nil:
	case new == nil:
		c.add(events.TypeAppDeleted)
	case old == nil:
		c.add(events.TypeAppChanged)
		// After a restart, deploy would otherwise not hear of a decision
		// made while the source was down: it is not on the resync tick.
		if len(new.Status.Placement) > 0 {
			c.add(events.TypeAppPlaced)
		}
		if new.DeletionTimestamp != nil {
			c.add(events.TypeAppDeleted)
		}
	case unchanged(old, new):
	default:
		if old.Generation != new.Generation {
			c.add(events.TypeAppChanged)
		}
		if !maps.Equal(placed(old), placed(new)) {
			c.add(events.TypeAppPlaced)
		}
		if deletionStarted(old, new) {
			c.add(events.TypeAppDeleted)
		}
	}
}

// placed is the decision as deploy and DNS act on it: cluster -> replicas.
// A placement's score and reason are explanation: placement rewrites them
// when the fleet moves, and nothing acts on them.
func placed(app *v1alpha1.FleetApp) map[string]int32 {
	m := make(map[string]int32, len(app.Status.Placement))
	for _, p := range app.Status.Placement {
		m[p.Cluster] = p.Replicas
	}
	return m
}

// clusterDiff: placement, lifecycle and DNS act on a cluster's spec, its
// labels (clusterSelectors), its phase, its conditions and its endpoints.
//
// Usage and capacity (status.used, allocatable, available, capacity) are
// left out on purpose, although placement reads them: used moves with
// every pod an app starts or stops, so reconcile would make one event per
// busy cluster per tick (every 30 s: 2,880 a day for each of them), which
// is the heartbeat noise the issue forbids. What changes capacity for
// good goes through lifecycle, whose phase moves (Ready -> Scaling ->
// Ready, Parked, Unparking) send events; and the resync tick has placement
// look at every app anyway, which bounds how late a drift is noticed.
func clusterDiff(c *change, old, new *v1alpha1.MemberCluster) {
	switch {
	case old == nil && new == nil:
	case new == nil:
		c.changed(WhatDeleted)
	case old == nil:
		// cluster.changed reaches placement, lifecycle and DNS: the
		// handlers of cluster.ready, parked and failed, and lifecycle,
		// which must look at a cluster it has not seen (one to provision,
		// one waiting in a phase).
		c.changed(WhatCreated)
		if new.DeletionTimestamp != nil {
			c.changed(WhatDeleting)
		}
	case unchanged(old, new):
	default:
		if old.Generation != new.Generation {
			c.changed(WhatSpec)
		}
		if !maps.Equal(old.Labels, new.Labels) {
			c.changed(WhatLabels)
		}
		if deletionStarted(old, new) {
			c.changed(WhatDeleting)
		}
		if op, np := old.Status.Phase, new.Status.Phase; op != np {
			switch np {
			case v1alpha1.PhaseReady:
				c.add(events.TypeClusterReady)
			case v1alpha1.PhaseParked:
				c.add(events.TypeClusterParked)
			case v1alpha1.PhaseFailed:
				c.add(events.TypeClusterFailed)
				c.from = op
			default:
				c.changed(WhatPhase)
			}
		}
		if cs := conditionsChanged(old.Status.Conditions, new.Status.Conditions); len(cs) > 0 {
			c.changed(cs...)
		}
		if unobserved(&old.Status) && !unobserved(&new.Status) {
			c.changed(WhatObserved)
		}
		// DNS publishes the endpoints; they change when Fn's service is
		// (re)published, not on a heartbeat.
		if old.Status.FnEndpoint != new.Status.FnEndpoint || !slices.Equal(old.Status.Ingress, new.Status.Ingress) {
			c.changed(WhatEndpoint)
		}
	}
}

// unobserved reports whether reconcile has not reached the cluster since
// its phase began: no heartbeat, or one older than status.phaseSince (as
// placement reads it).
func unobserved(st *v1alpha1.MemberClusterStatus) bool {
	hb := st.LastHeartbeatTime
	return st.PhaseSince != nil && (hb == nil || hb.Before(st.PhaseSince))
}

// conditionsChanged returns the types of the conditions that appeared,
// went, or changed status or reason, sorted. A message, a transition time
// or an observedGeneration alone is not a change: messages carry figures
// (a probe's latency, a retry's time) that move on every write, and
// handlers act on status and reason (placement reads Parked's reason
// WakeTimedOut).
func conditionsChanged(old, new []metav1.Condition) []string {
	type sr struct {
		status metav1.ConditionStatus
		reason string
	}
	index := func(cs []metav1.Condition) map[string]sr {
		m := make(map[string]sr, len(cs))
		for _, c := range cs {
			m[c.Type] = sr{c.Status, c.Reason}
		}
		return m
	}
	o, n := index(old), index(new)
	var out []string
	for t, v := range n {
		if ov, ok := o[t]; !ok || ov != v {
			out = append(out, t)
		}
	}
	for t := range o {
		if _, ok := n[t]; !ok {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// poolDiff: placement and lifecycle act on a pool's spec (what a new
// cluster would be, maxClusters) and on the pool going away (no more
// clusters from it). Its status counts clusters, whose own events already
// say what changed.
func poolDiff(c *change, old, new *v1alpha1.ClusterPool) {
	switch {
	case old == nil && new == nil:
	case new == nil, old == nil:
		c.add(events.TypePoolChanged)
	case unchanged(old, new):
	case old.Generation != new.Generation, deletionStarted(old, new):
		c.add(events.TypePoolChanged)
	}
}
