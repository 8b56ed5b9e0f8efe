package fndeploy

import (
	"context"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// Deployer deploys and removes Fn apps on whichever Fn server it is given;
// it is how the fleet's deploy shell (control.FnApps) reaches each member's
// Fn. The zero value is ready.
type Deployer struct{}

// Apply deploys app to the Fn server at endpoint, its base URL, and returns
// the app's id there.
func (Deployer) Apply(ctx context.Context, endpoint string, app *v1alpha1.FnApp) (string, error) {
	d, err := Apply(ctx, endpoint, app)
	return d.AppID, err
}

// Remove deletes the Fn app called appName from the Fn server at endpoint;
// an app that is not there is success.
func (Deployer) Remove(ctx context.Context, endpoint, appName string) error {
	return Remove(ctx, endpoint, appName)
}
