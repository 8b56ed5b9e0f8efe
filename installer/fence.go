package installer

import (
	"context"
	"errors"
	"fmt"

	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// errLeaseLost is the cause with which a call's context ends once another
// process has taken over its release's lease (see lease.go).
var errLeaseLost = errors.New("another process took over the release's installer lease")

// fenced refuses a write of a call whose lease is lost. Without it, a
// process that stalled past its lease and then resumed would see its Helm
// action fail and, the action being atomic, undo it: uninstall or roll back
// the release by name, destroying what the process that recovered it has
// since done. A cancelled context alone (Ctrl-C) is no reason to refuse:
// the undo of one's own failed action is then wanted.
func fenced(ctx context.Context) error {
	if cause := context.Cause(ctx); errors.Is(cause, errLeaseLost) {
		return fmt.Errorf("refusing to write: %w", cause)
	}
	return nil
}

// Writes to the cluster's objects, fenced.

func (c *waitingClient) Create(resources kube.ResourceList) (*kube.Result, error) {
	if err := fenced(c.ctx); err != nil {
		return nil, err
	}
	return c.Client.Create(resources)
}

func (c *waitingClient) Update(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	if err := fenced(c.ctx); err != nil {
		return nil, err
	}
	return c.Client.Update(original, target, force)
}

func (c *waitingClient) UpdateThreeWayMerge(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	if err := fenced(c.ctx); err != nil {
		return nil, err
	}
	return c.Client.UpdateThreeWayMerge(original, target, force)
}

func (c *waitingClient) Delete(resources kube.ResourceList) (*kube.Result, []error) {
	if err := fenced(c.ctx); err != nil {
		return nil, []error{err}
	}
	return c.Client.Delete(resources)
}

func (c *waitingClient) DeleteWithPropagationPolicy(resources kube.ResourceList, policy metav1.DeletionPropagation) (*kube.Result, []error) {
	if err := fenced(c.ctx); err != nil {
		return nil, []error{err}
	}
	return c.Client.DeleteWithPropagationPolicy(resources, policy)
}

// fencedDriver is Helm's release storage with its writes fenced: the
// release records are the other half of what an undo would destroy.
type fencedDriver struct {
	driver.Driver
	ctx context.Context
}

func (d fencedDriver) Create(key string, rls *release.Release) error {
	if err := fenced(d.ctx); err != nil {
		return err
	}
	return d.Driver.Create(key, rls)
}

func (d fencedDriver) Update(key string, rls *release.Release) error {
	if err := fenced(d.ctx); err != nil {
		return err
	}
	return d.Driver.Update(key, rls)
}

func (d fencedDriver) Delete(key string) (*release.Release, error) {
	if err := fenced(d.ctx); err != nil {
		return nil, err
	}
	return d.Driver.Delete(key)
}
