package localmode

import (
	"context"
	"fmt"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/placement"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
)

// Deploy creates app in the hub, places it on the members with the placement
// engine, deploys its Fn app to the data plane of every selected member and
// records the decision and its progress in the app's status.
//
// It is the local stand-in for the placement function, which later reacts to
// hub events; the decision itself is the same placement.Decide.
func (f *Fleet) Deploy(ctx context.Context, app *v1alpha1.FleetApp) (*v1alpha1.FleetApp, error) {
	c, err := hub.New(f.Hub.RESTConfig)
	if err != nil {
		return nil, err
	}
	created, err := c.CreateFleetApp(ctx, app)
	if err != nil {
		return nil, err
	}
	members, err := c.ListMemberClusters(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	d, err := placement.Decide(created, members.Items, created.Status.Placement, placement.Options{Now: now, HeartbeatTimeout: 10 * time.Minute})
	if err != nil {
		return nil, fmt.Errorf("place %s: %w", created.Name, err)
	}
	st := &created.Status
	st.Placement = d.Placements()
	st.ClustersPlaced = int32(len(st.Placement))
	st.Explanation = d.Explanation
	st.CapacityRequest = d.Capacity
	st.ObservedGeneration = created.Generation
	setCondition(st, v1alpha1.AppPlaced, d.Unplaced == 0, "Decided", d.Explanation, now)

	var deployErr error
	for _, p := range st.Placement {
		m := f.Member(p.Cluster)
		if m == nil {
			deployErr = fmt.Errorf("placed on %s, which is not a member of this fleet", p.Cluster)
			break
		}
		if _, deployErr = fndeploy.Apply(ctx, m.FnURL, &created.Spec.App); deployErr != nil {
			break
		}
	}
	if deployErr != nil {
		setCondition(st, v1alpha1.AppDeployed, false, "DeployFailed", deployErr.Error(), now)
	} else {
		setCondition(st, v1alpha1.AppDeployed, true, "Deployed", fmt.Sprintf("Fn app %s deployed on %d clusters", created.Spec.App.Name, len(st.Placement)), now)
	}
	// The decision is recorded even when a deploy failed, so nothing is
	// lost and the next attempt starts from it.
	updated, err := c.UpdateFleetAppStatus(ctx, created)
	if err != nil {
		return nil, err
	}
	if deployErr != nil {
		return updated, fmt.Errorf("deploy %s: %w", created.Name, deployErr)
	}
	return updated, nil
}

// Member returns the member called name, or nil.
func (f *Fleet) Member(name string) *Member {
	for _, m := range f.Members {
		if m.Spec.Name == name {
			return m
		}
	}
	return nil
}

func setCondition(st *v1alpha1.FleetAppStatus, typ string, ok bool, reason, msg string, now time.Time) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: st.ObservedGeneration, LastTransitionTime: metav1.NewTime(now),
	})
}
