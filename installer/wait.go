package installer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"helm.sh/helm/v3/pkg/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/resource"
)

// waitInterval is how often readiness is checked while Helm waits. Helm v3
// checks every 2 s, which on a cluster that runs a release in about a
// second doubles the install time. A check costs one or two GETs per
// pending object, so 250 ms stays cheap even for a fleet installing at once.
const waitInterval = 250 * time.Millisecond

// checkTimeout bounds one round of checks; a round that takes longer (an
// apiserver that accepts connections but does not answer) counts as a
// transient failure.
const checkTimeout = 10 * time.Second

// waitingClient is Helm's Kubernetes client with its waits replaced: the
// same readiness rules (Helm's ReadyChecker), checked every waitInterval,
// ended by the call's context as well as by the timeout, and reported as
// progress (which object is awaited) instead of Helm's debug lines.
// Everything else, including every optional interface Helm's actions look
// for, comes from the embedded client.
type waitingClient struct {
	*kube.Client
	ctx context.Context
	log *slog.Logger
}

var _ kube.InterfaceExt = (*waitingClient)(nil)

// Wait waits until every resource is ready (Jobs are not awaited).
func (c *waitingClient) Wait(resources kube.ResourceList, timeout time.Duration) error {
	return c.waitReady(resources, timeout, false)
}

// WaitWithJobs waits until every resource is ready and every Job complete.
func (c *waitingClient) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	return c.waitReady(resources, timeout, true)
}

func (c *waitingClient) waitReady(resources kube.ResourceList, timeout time.Duration, jobs bool) error {
	cs, err := c.Factory.KubernetesClientSet()
	if err != nil {
		return fmt.Errorf("client for the readiness checks: %w", err)
	}
	checker := kube.NewReadyChecker(cs, nil, kube.PausedAsReady(true), kube.CheckJobs(jobs))
	var awaited *resource.Info
	return c.poll(timeout, func(ctx context.Context) (*resource.Info, error) {
		for _, info := range resources {
			ready, err := checker.IsReady(ctx, info)
			if err != nil || !ready {
				if info != awaited {
					c.log.Info("waiting for readiness", "object", describe(info))
					awaited = info
				}
				return info, err
			}
		}
		return nil, nil
	}, "ready")
}

// WaitForDelete waits until every resource is gone.
func (c *waitingClient) WaitForDelete(resources kube.ResourceList, timeout time.Duration) error {
	return c.poll(timeout, func(context.Context) (*resource.Info, error) {
		for _, info := range resources {
			switch err := info.Get(); {
			case err == nil:
				return info, nil
			case !apierrors.IsNotFound(err):
				return info, err
			}
		}
		return nil, nil
	}, "deleted")
}

// poll runs check every waitInterval until it reports no pending object,
// returns an error that retrying cannot fix, or the timeout or the call's
// context ends. Transient errors (the server unreachable, overloaded or
// failing) are retried: a control plane that restarts mid-install is not a
// failed release. Each check runs under the call's context, not the
// timeout, so that the check running when time is up completes and the
// error names what was still pending rather than a cancelled request.
func (c *waitingClient) poll(timeout time.Duration, check func(context.Context) (*resource.Info, error), state string) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(waitInterval)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(c.ctx, checkTimeout)
		pending, err := check(ctx)
		cancel()
		switch {
		case pending == nil && err == nil:
			return nil
		case c.ctx.Err() != nil:
			return fmt.Errorf("waiting for %s to be %s: %w", describe(pending), state, c.ctx.Err())
		case err != nil && !transient(err):
			return fmt.Errorf("waiting for %s to be %s: %w", describe(pending), state, err)
		}
		select {
		case <-c.ctx.Done():
			return fmt.Errorf("waiting for %s to be %s: %w", describe(pending), state, c.ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("waiting for %s to be %s: %w", describe(pending), state,
				errors.Join(fmt.Errorf("timed out after %s", timeout), err))
		case <-tick.C:
		}
	}
}

// transient reports whether err may go away on its own, by Helm's rule:
// no HTTP status (a network error, or a round of checks that timed out),
// 429, or a 5xx other than 501.
func transient(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true
	}
	code := int(status.Status().Code)
	return code == 0 || code == http.StatusTooManyRequests || (code >= 500 && code != http.StatusNotImplemented)
}

// describe names an object as "Kind namespace/name".
func describe(info *resource.Info) string {
	kind := "object"
	if info.Mapping != nil {
		kind = info.Mapping.GroupVersionKind.Kind
	} else if info.Object != nil {
		if k := info.Object.GetObjectKind().GroupVersionKind().Kind; k != "" {
			kind = k
		}
	}
	if info.Namespace == "" {
		return kind + " " + info.Name
	}
	return kind + " " + info.Namespace + "/" + info.Name
}
