package fndeploy

import (
	"context"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// Deployer deploys Fn apps with Apply to whichever Fn server it is given;
// it is how the fleet's shells (control.Deployer) reach each member's Fn.
// The zero value is ready.
type Deployer struct{}

// Deploy deploys app to the Fn server at endpoint, its base URL.
func (Deployer) Deploy(ctx context.Context, endpoint string, app *v1alpha1.FnApp) error {
	_, err := Apply(ctx, endpoint, app)
	return err
}
