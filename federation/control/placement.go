package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/placement"
)

// AppHub is the part of the hub the placement shell reads and writes.
type AppHub interface {
	GetFleetApp(ctx context.Context, namespace, name string) (*v1alpha1.FleetApp, error)
	ListMemberClusters(ctx context.Context) (*v1alpha1.MemberClusterList, error)
	// ListClusterPools lists the pools placement may ask clusters of.
	ListClusterPools(ctx context.Context) (*v1alpha1.ClusterPoolList, error)
	// ApplyFleetAppStatus applies st's fields as manager, at the
	// resourceVersion read.
	ApplyFleetAppStatus(ctx context.Context, namespace, name, resourceVersion, manager string, st *v1alpha1.FleetAppStatus) (*v1alpha1.FleetApp, error)
	// CreateMemberCluster creates the clusters a capacity request names.
	CreateMemberCluster(ctx context.Context, mc *v1alpha1.MemberCluster) (*v1alpha1.MemberCluster, error)
}

// PlacementManager is placement's field manager on FleetApp status: it
// owns placement, clustersPlaced, explanation, capacityRequest,
// observedGeneration and the Placed condition.
const PlacementManager = "fnfleet-placement"

// PlacementConfig is what a Placement works with.
type PlacementConfig struct {
	Hub AppHub
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HeartbeatTimeout is how old a member's heartbeat may be before
	// placement treats it as unreachable; 0 means 10 minutes.
	HeartbeatTimeout time.Duration
	// Logger receives a debug line per decision written (the decision
	// itself is in the status); nil means slog.Default().
	Logger *slog.Logger
}

// defaultHeartbeatTimeout: reconcile (a later issue) beats every minute or
// so; ten missed beats is a member that is gone, not one that is slow.
const defaultHeartbeatTimeout = 10 * time.Minute

// Placement is the shell of the placement function: it places one FleetApp
// on the member clusters and asks for the capacity it lacks. It only
// decides: Deploy puts the Fn app where the decision says. It is safe for
// concurrent use; calls for the same app converge on one status.
type Placement struct {
	hub  AppHub
	now  func() time.Time
	opts placement.Options
	log  *slog.Logger

	// planner keeps its snapshot cache across calls, as the long-lived
	// placement function will; it serves one decision at a time.
	mu      sync.Mutex
	planner placement.Planner
}

// NewPlacement returns the placement shell for cfg.
func NewPlacement(cfg PlacementConfig) (*Placement, error) {
	if cfg.Hub == nil {
		return nil, errors.New("placement shell: a hub is required")
	}
	p := &Placement{hub: cfg.Hub, now: cfg.Now, log: cfg.Logger}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.opts.HeartbeatTimeout = cfg.HeartbeatTimeout
	if p.opts.HeartbeatTimeout == 0 {
		p.opts.HeartbeatTimeout = defaultHeartbeatTimeout
	}
	return p, nil
}

// Reconcile places the FleetApp key, creates the clusters its capacity
// request names, and applies placement's fields of its status (the
// placement, the explanation, the capacity request, the observed
// generation and the Placed condition) as PlacementManager, so deploy's
// fields are left alone. It writes only when those fields changed, with
// the resourceVersion it read; on a Conflict it reads again and redoes the
// step.
//
// It returns the FleetApp as the hub now holds it. A decision is recorded
// even when a cluster could not be requested; the error then says what
// failed, so the caller retries. A FleetApp that no longer exists is not
// an error: Reconcile returns nil, nil; one being deleted is left as it is
// (deploy removes it from its members).
func (p *Placement) Reconcile(ctx context.Context, key types.NamespacedName) (*v1alpha1.FleetApp, error) {
	return reconcileApp(ctx, "place", key, p.step)
}

// step is one read-decide-act-write pass. err is an I/O error (a Conflict
// among them); outcome is a failure the pass recorded in the status.
func (p *Placement) step(ctx context.Context, key types.NamespacedName) (app *v1alpha1.FleetApp, outcome, err error) {
	read, err := p.hub.GetFleetApp(ctx, key.Namespace, key.Name)
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if read.DeletionTimestamp != nil {
		// No new decision, and no capacity, for an app on its way out.
		return read, nil, nil
	}
	members, err := p.hub.ListMemberClusters(ctx)
	if err != nil {
		return nil, nil, err
	}
	pools, err := p.hub.ListClusterPools(ctx)
	if err != nil {
		return nil, nil, err
	}
	now := p.now()
	have := placementStatus(&read.Status)
	want := placementStatus(&read.Status)
	d, err := p.decide(read, members.Items, pools.Items, now)
	if err != nil {
		// A policy placement cannot apply: the previous placement stays
		// (its Fn apps still serve), and the condition says why nothing
		// new was decided.
		setCondition(&want.Conditions, v1alpha1.AppPlaced, false, "InvalidPolicy", err.Error(), read.Generation, now)
		outcome = err
	} else {
		recordDecision(&want, d, read.Generation, now)
		outcome = p.requestClusters(ctx, read, want.CapacityRequest, pools.Items)
	}

	if equality.Semantic.DeepEqual(have, want) {
		return read, outcome, nil
	}
	written, err := p.hub.ApplyFleetAppStatus(ctx, key.Namespace, key.Name, read.ResourceVersion, PlacementManager, &want)
	if err != nil {
		return nil, nil, err
	}
	p.log.Debug("placed FleetApp", "app", key.String(), "clusters", len(want.Placement), "explanation", want.Explanation)
	return written, outcome, nil
}

// placementStatus is a copy of the part of st that placement owns.
func placementStatus(st *v1alpha1.FleetAppStatus) v1alpha1.FleetAppStatus {
	out := v1alpha1.FleetAppStatus{
		Placement: slices.Clone(st.Placement), ClustersPlaced: st.ClustersPlaced, Explanation: st.Explanation,
		ObservedGeneration: st.ObservedGeneration,
	}
	if r := st.CapacityRequest; r != nil {
		out.CapacityRequest = r.DeepCopy()
	}
	if c := apimeta.FindStatusCondition(st.Conditions, v1alpha1.AppPlaced); c != nil {
		out.Conditions = []metav1.Condition{*c}
	}
	return out
}

func (p *Placement) decide(app *v1alpha1.FleetApp, members []v1alpha1.MemberCluster, pools []v1alpha1.ClusterPool, now time.Time) (*placement.Decision, error) {
	opts := p.opts
	opts.Now, opts.Pools = now, pools
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.planner.Decide(app, members, app.Status.Placement, opts)
}

// recordDecision writes d into st, for the spec generation it was made for.
func recordDecision(st *v1alpha1.FleetAppStatus, d *placement.Decision, generation int64, now time.Time) {
	st.Placement = d.Placements()
	st.ClustersPlaced = int32(len(st.Placement))
	st.Explanation = d.Explanation
	st.CapacityRequest = d.Capacity
	st.ObservedGeneration = generation
	setCondition(&st.Conditions, v1alpha1.AppPlaced, d.Unplaced == 0, "Decided", d.Explanation, generation, now)
}

// requestClusters creates the MemberClusters the app's capacity request
// names, from its pool, for lifecycle to provision. A name that exists is
// success: the names derive from the app's UID and a slot, so a repeated or
// concurrent decision asks for the same clusters. The pool's maxClusters is
// held by lifecycle's admission (a cluster beyond it stays Pending), since
// several apps may ask at once.
func (p *Placement) requestClusters(ctx context.Context, app *v1alpha1.FleetApp, r *v1alpha1.CapacityRequest, pools []v1alpha1.ClusterPool) error {
	if r == nil || len(r.Create) == 0 {
		return nil
	}
	i := slices.IndexFunc(pools, func(pl v1alpha1.ClusterPool) bool { return pl.Name == r.Pool })
	if i < 0 {
		return fmt.Errorf("capacity request names ClusterPool %q, which is gone", r.Pool)
	}
	var errs []error
	for _, name := range r.Create {
		_, err := p.hub.CreateMemberCluster(ctx, MemberFromPool(name, &pools[i], app))
		switch {
		case err == nil:
			p.log.Info("requested cluster", "cluster", name, "pool", r.Pool, "app", app.Namespace+"/"+app.Name)
		case apierrors.IsAlreadyExists(err):
		default:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Labels and annotations of a cluster placement requested.
const (
	// PoolLabel names the pool a MemberCluster was made from.
	PoolLabel = "fnfleet.dev/pool"
	// RequestedByAnnotation names the FleetApp whose capacity request made
	// the cluster, for a person reading it.
	RequestedByAnnotation = "fnfleet.dev/requested-by"
)

// MemberFromPool is the MemberCluster called name that pool makes: the
// pool's provider, place, price, tier, parking and autoscale policy, its
// labels, and the finalizer that holds the object until the cluster
// itself is deleted.
func MemberFromPool(name string, pool *v1alpha1.ClusterPool, app *v1alpha1.FleetApp) *v1alpha1.MemberCluster {
	labels := maps.Clone(pool.Spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[PoolLabel] = pool.Name
	mc := &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Finalizers: []string{Finalizer}},
		Spec: v1alpha1.MemberClusterSpec{
			Provider: *pool.Spec.Provider.DeepCopy(), Region: pool.Spec.Region, Zone: pool.Spec.Zone,
			Tier: pool.Spec.Tier, Taints: slices.Clone(pool.Spec.Taints),
			PoolRef: &v1alpha1.ClusterPoolReference{Name: pool.Name},
		},
	}
	if app != nil {
		mc.Annotations = map[string]string{RequestedByAnnotation: app.Namespace + "/" + app.Name}
	}
	if c := pool.Spec.CostPerHour; c != nil {
		cost := c.DeepCopy()
		mc.Spec.CostPerHour = &cost
	}
	if pool.Spec.Parking != nil {
		mc.Spec.Parking = pool.Spec.Parking.DeepCopy()
	}
	if pool.Spec.NodeAutoscale != nil {
		mc.Spec.NodeAutoscale = pool.Spec.NodeAutoscale.DeepCopy()
	}
	return mc
}
