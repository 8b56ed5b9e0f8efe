package localmode

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/installer"
)

// localPoll is how often lifecycle looks again at a local member in
// motion.
const localPoll = 2 * time.Second

// newShells builds the shells the loop drives, on the hub and the local
// provider's driver.
func newShells(hc *hub.Client, driver *local.Driver, log *slog.Logger) (Shells, error) {
	placement, err := control.NewPlacement(control.PlacementConfig{Hub: hc, Logger: log})
	if err != nil {
		return Shells{}, err
	}
	deploy, err := control.NewDeploy(control.DeployConfig{Hub: hc, Fn: fndeploy.Deployer{}, Logger: log})
	if err != nil {
		return Shells{}, err
	}
	lifecycle, err := control.NewLifecycle(control.LifecycleConfig{
		Hub:       hc,
		Providers: map[string]providers.Provider{"local": driver},
		Installer: installer.New(log),
		// A local cluster serves about 6-10 s after its create and
		// wakes in under a second; the default 10 s poll, sized for
		// cloud clusters, would make each step wait for the next
		// poll. 2 s costs a flock and a /readyz per member in motion.
		Machine: lifecycle.Options{Poll: localPoll},
		Logger:  log,
	})
	if err != nil {
		return Shells{}, err
	}
	observation, err := control.NewObservation(control.ObservationConfig{Hub: hc, Logger: log})
	if err != nil {
		return Shells{}, err
	}
	pools, err := control.NewPools(hc, nil, log)
	if err != nil {
		return Shells{}, err
	}
	return Shells{
		Placement: PlacementReconcile(placement), Deploy: DeployReconcile(deploy),
		Lifecycle: lifecycle.Reconcile, Observation: observation.Reconcile, Pools: pools.Reconcile,
	}, nil
}

// PlacementReconcile adapts the placement shell to the loop: the key is a
// FleetApp's "namespace/name", and placement needs no call at a set time
// (a member's change, or the resync, calls it again).
func PlacementReconcile(p *control.Placement) Reconcile {
	return appReconcile("placement", p.Reconcile)
}

// DeployReconcile adapts the deploy shell to the loop, as
// PlacementReconcile does the placement shell.
func DeployReconcile(d *control.Deploy) Reconcile {
	return appReconcile("deploy", d.Reconcile)
}

// appReconcile adapts a shell of FleetApps to the loop's keys.
func appReconcile(shell string, reconcile func(context.Context, types.NamespacedName) (*v1alpha1.FleetApp, error)) Reconcile {
	return func(ctx context.Context, key string) (time.Time, error) {
		ns, name, err := cache.SplitMetaNamespaceKey(key)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: key %q: %w", shell, key, err)
		}
		_, err = reconcile(ctx, types.NamespacedName{Namespace: ns, Name: name})
		return time.Time{}, err
	}
}
