package installer

import (
	"context"
	"errors"
	"fmt"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// State is what a cluster holds of one release, as Helm recorded it.
type State struct {
	Release, Namespace string
	// Revision is the last revision; 0 when the release does not exist.
	Revision int
	// Status is Helm's status of the last revision ("deployed",
	// "pending-install", "failed", ...); empty when there is none.
	Status string
	// Deployed: the last revision is deployed. Pending: an install,
	// upgrade or rollback of it is under way or was cut short (Apply
	// recovers one left by a dead writer).
	Deployed, Pending bool
}

// Status reads the state of rel on the target cluster without changing
// anything: one list of the release's Secrets.
func (in *Installer) Status(ctx context.Context, target Target, rel Release) (State, error) {
	rel = rel.withDefaults()
	st := State{Release: rel.Name, Namespace: rel.Namespace}
	rc, err := target.restConfig()
	if err != nil {
		return st, err
	}
	cfg, err := in.configure(ctx, rc, rel.Namespace, in.log.With("release", rel.Name, "namespace", rel.Namespace))
	if err != nil {
		return st, err
	}
	last, err := cfg.Releases.Last(rel.Name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read release %s/%s: %w", rel.Namespace, rel.Name, err)
	}
	st.Revision, st.Status = last.Version, last.Info.Status.String()
	st.Deployed = last.Info.Status == release.StatusDeployed
	st.Pending = last.Info.Status.IsPending()
	return st, nil
}
