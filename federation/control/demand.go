package control

import (
	"slices"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// demand is what the FleetApps ask of one cluster. demandOn is the one
// count of "apps placed on a cluster" in fnfleet: lifecycle parks by it
// and records it (status.placedApps, and through parking.IdleClock
// status.idleSince), so the idle clock and the printed count can never
// disagree.
type demand struct {
	// placed is how many FleetApps place replicas on the cluster.
	placed int32
	// wanted: a capacity request names the cluster, to wake or to create.
	// A cluster a request asks to create is wanted as much as one it asks
	// to wake, until placement puts the app on it.
	wanted bool
}

func demandOn(apps []v1alpha1.FleetApp, cluster string) demand {
	var d demand
	for i := range apps {
		st := &apps[i].Status
		if slices.ContainsFunc(st.Placement, func(p v1alpha1.ClusterPlacement) bool { return p.Cluster == cluster }) {
			d.placed++
		}
		if r := st.CapacityRequest; r != nil && (slices.Contains(r.Wake, cluster) || slices.Contains(r.Create, cluster)) {
			d.wanted = true
		}
	}
	return d
}
