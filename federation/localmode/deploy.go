package localmode

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// Deploy creates app in the hub and runs the placement shell for it, which
// places it on the members, deploys its Fn app to the data plane of every
// selected member and records the decision and its progress in the app's
// status. It returns the app as the hub then holds it; when a deploy failed,
// the app (its decision recorded) comes with the error.
//
// It stands in for the placement function, which later runs the same shell
// when the hub tells it the app changed.
func (f *Fleet) Deploy(ctx context.Context, app *v1alpha1.FleetApp) (*v1alpha1.FleetApp, error) {
	created, err := f.hub.CreateFleetApp(ctx, app)
	if err != nil {
		return nil, err
	}
	key := types.NamespacedName{Namespace: created.Namespace, Name: created.Name}
	placed, err := f.placement.Reconcile(ctx, key)
	if err != nil {
		return placed, err
	}
	if placed == nil {
		return nil, fmt.Errorf("FleetApp %s was deleted while it was placed", key)
	}
	return placed, nil
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
