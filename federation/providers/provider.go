// Package providers is the one small interface behind which every cluster
// provider (local, capi, static) sits. Calls return quickly and progress is
// observed, so the same lifecycle machine drives a 6-second local cluster
// and a 15-minute cloud one: a call starts or changes something, Observe
// says how far it got.
//
// Every call is idempotent and safe to repeat after a crash: creating a
// cluster that exists, deleting one that is gone, parking one that is
// parked all succeed. Any process may operate a cluster another process
// created (state lives with the provider: on disk, in the hub, in a cloud),
// so a short-lived function call can drive a cluster for its whole life.
package providers

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
)

// Cluster is what a provider is told about one cluster: the MemberCluster's
// name and the shape the fleet wants (from its ClusterPool, or its own
// spec for a cluster registered by hand).
type Cluster struct {
	// Name is the MemberCluster's name; a provider derives its own names
	// (kwokctl cluster, CAPI Cluster object) from it, deterministically.
	Name         string
	Region, Zone string
	// Nodes is the worker count; NodeCapacity each worker's capacity.
	Nodes        int32
	NodeCapacity corev1.ResourceList
	NodeLabels   map[string]string
	// Config is spec.provider.config (never credentials).
	Config map[string]string
}

// State is what a provider reports about a cluster now. The zero value
// means the provider has no such cluster.
type State struct {
	Exists   bool
	Progress lifecycle.Progress
	// Message says more, e.g. a provider's error while creating.
	Message string
	// Nodes is the worker count the provider sees.
	Nodes int32
	// KubeconfigReady is whether Kubeconfig would succeed now.
	KubeconfigReady bool
}

// Provider creates, observes, parks, wakes, scales and deletes clusters.
type Provider interface {
	// Create starts creating c. A cluster of that name that exists already
	// (in any progress) is success.
	Create(ctx context.Context, c Cluster) error
	// Observe reports how far c has got.
	Observe(ctx context.Context, c Cluster) (State, error)
	// Kubeconfig returns an admin kubeconfig for c, once the cluster serves.
	// The caller stores it in a Secret of the hub; it is never logged.
	Kubeconfig(ctx context.Context, c Cluster) ([]byte, error)
	// Park parks c with mode; a parked cluster is success.
	Park(ctx context.Context, c Cluster, mode v1alpha1.ParkingMode) error
	// Unpark starts a parked c again; a running one is success.
	Unpark(ctx context.Context, c Cluster) error
	// ScaleNodes sets c's worker count to n.
	ScaleNodes(ctx context.Context, c Cluster, n int32) error
	// Delete deletes c for good; a cluster that is gone is success.
	Delete(ctx context.Context, c Cluster) error
}

// ErrUnsupported is wrapped by a call the provider cannot do (a create on
// static, ScaleToZero on local), with a message saying what to do instead.
var ErrUnsupported = errors.New("not supported by this provider")

// FnValuer is implemented by a provider whose clusters need values of
// their own for charts/fn (beyond a LoadBalancer Service, which every
// cluster gets): the local provider runs Fn's data plane outside the
// cluster, on the Service's port and with its own database.
type FnValuer interface {
	FnValues(c Cluster) map[string]any
}
