package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/hub"
)

// clusterExample is what lifecycle reads.
const clusterExample = `{"cluster":"us-east-1"}`

type lifecycleShell struct {
	lifecycle *control.Lifecycle
	pools     *control.Pools
	hub       *hub.Client
}

// NewLifecycle returns the lifecycle function: one step of a
// MemberCluster's lifecycle (control.Lifecycle). JSON:
// {"cluster":"<name>"}, answered with the phase, the conditions and when
// to ask again. Events: cluster.* steps that cluster; app.placed and
// app.deleted the clusters in the payload and in the app's placement;
// capacity.requested the clusters to wake and create; pool.changed the
// pool (its windows) and its members; resync.due every member. A step
// that must wait (a cluster in motion) answers with a deferral.
func NewLifecycle() fdk.Handler {
	return &function[*lifecycleShell]{name: Lifecycle, build: buildLifecycle, event: lifecycleEvent, json: lifecycleJSON}
}

func buildLifecycle(cfg config) (*lifecycleShell, error) {
	h, rc, log, err := cfg.hub(Lifecycle)
	if err != nil {
		return nil, err
	}
	l, err := cfg.lifecycleShell(h, rc, log)
	if err != nil {
		return nil, err
	}
	pools, err := control.NewPools(h, nil, log)
	if err != nil {
		return nil, err
	}
	return &lifecycleShell{lifecycle: l, pools: pools, hub: h}, nil
}

// LifecycleAnswer is lifecycle's answer to a JSON call: where the step
// left the cluster.
type LifecycleAnswer struct {
	Cluster string                `json:"cluster"`
	Phase   v1alpha1.ClusterPhase `json:"phase"`
	// Conditions say what the step found and did, one line each.
	Conditions []string `json:"conditions"`
	// AskAgainAt is when the cluster wants its next step (a poll while in
	// motion, a retry after a failure); absent at rest.
	AskAgainAt *time.Time `json:"askAgainAt,omitempty"`
	Error      string     `json:"error,omitempty"`
}

func lifecycleJSON(ctx context.Context, s *lifecycleShell, body []byte) (any, error) {
	var req struct {
		Cluster string `json:"cluster"`
	}
	if err := decodeJSON(body, &req, clusterExample); err != nil {
		return nil, err
	}
	if req.Cluster == "" {
		return nil, missing("cluster", clusterExample)
	}
	d, stepErr := s.step(ctx, req.Cluster)
	mc, err := s.hub.GetMemberCluster(ctx, req.Cluster)
	if apierrors.IsNotFound(err) {
		return nil, cloudevent.Errorf(http.StatusNotFound, "MemberCluster %s not found (kubectl get memberclusters lists them)", req.Cluster)
	}
	if err != nil {
		return nil, hubError(errors.Join(stepErr, fmt.Errorf("read MemberCluster %s: %w", req.Cluster, err)))
	}
	a := &LifecycleAnswer{Cluster: mc.Name, Phase: mc.Status.Phase, Conditions: []string{}}
	for _, c := range mc.Status.Conditions {
		a.Conditions = append(a.Conditions, fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message))
	}
	if !d.at.IsZero() {
		at := d.at.UTC()
		a.AskAgainAt = &at
	}
	if stepErr != nil {
		a.Error = stepErr.Error()
	}
	return a, stepErr
}

// step moves one cluster one step. A failure the step recorded (the phase
// went to Failed, a condition says what failed) is not an error here: its
// retry is the deferral, at lifecycle's backoff. An error is what kept the
// step from running or recording (the hub), answered 503.
func (s *lifecycleShell) step(ctx context.Context, cluster string) (deferral, error) {
	next, err := s.lifecycle.Reconcile(ctx, cluster)
	if err != nil && next.IsZero() {
		return deferral{}, hubError(err)
	}
	reason := "lifecycle of MemberCluster " + cluster + " is in motion"
	if err != nil {
		reason = err.Error()
	}
	if next.IsZero() || !next.Before(time.Now().Add(lifecycleResync)) {
		return deferral{}, nil
	}
	return deferral{at: next, reason: reason}, nil
}

func lifecycleEvent(ctx context.Context, s *lifecycleShell, e event.Event) (deferral, error) {
	clusters, err := s.clustersOf(ctx, e)
	if err != nil {
		return deferral{}, err
	}
	var (
		d      deferral
		failed []error
	)
	names := slices.Compact(slices.Sorted(slices.Values(clusters)))
	results := make([]deferral, len(names))
	for i, err := range fanOut(ctx, names, func(ctx context.Context, i int, name string) error {
		var err error
		results[i], err = s.step(ctx, name)
		return err
	}) {
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", names[i], err))
		}
	}
	for _, r := range results {
		d = d.earlier(r)
	}
	if len(failed) > 0 {
		return deferral{}, hubError(errors.Join(failed...))
	}
	return d, nil
}

// clustersOf names the clusters an event is about, per the catalog.
func (s *lifecycleShell) clustersOf(ctx context.Context, e event.Event) ([]string, error) {
	switch e.Type() {
	case events.TypeClusterChanged, events.TypeClusterReady, events.TypeClusterParked, events.TypeClusterFailed:
		return []string{e.Subject()}, nil
	case events.TypeAppPlaced, events.TypeAppDeleted:
		var clusters []string
		if e.Type() == events.TypeAppPlaced {
			p, err := events.Payload[events.AppPlaced](e)
			if err != nil {
				return nil, cloudevent.WithStatus(http.StatusBadRequest, err)
			}
			clusters = p.Clusters
		} else {
			p, err := events.Payload[events.AppDeleted](e)
			if err != nil {
				return nil, cloudevent.WithStatus(http.StatusBadRequest, err)
			}
			clusters = p.Clusters
		}
		key, err := appKey(e.Subject())
		if err != nil {
			return nil, err
		}
		app, err := s.hub.GetFleetApp(ctx, key.Namespace, key.Name)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, hubError(fmt.Errorf("read FleetApp %s: %w", key, err))
		default:
			for _, p := range app.Status.Placement {
				clusters = append(clusters, p.Cluster)
			}
		}
		return clusters, nil
	case events.TypeCapacityRequested:
		p, err := events.Payload[events.CapacityRequested](e)
		if err != nil {
			return nil, cloudevent.WithStatus(http.StatusBadRequest, err)
		}
		return append(slices.Clone(p.Wake), p.Create...), nil
	case events.TypePoolChanged:
		if _, err := s.pools.Reconcile(ctx, e.Subject()); err != nil {
			return nil, hubError(err)
		}
		return s.members(ctx, func(mc *v1alpha1.MemberCluster) bool {
			return mc.Spec.PoolRef != nil && mc.Spec.PoolRef.Name == e.Subject()
		})
	case events.TypeResyncDue:
		return s.members(ctx, func(*v1alpha1.MemberCluster) bool { return true })
	}
	return nil, notHandled(Lifecycle, e)
}

func (s *lifecycleShell) members(ctx context.Context, keep func(*v1alpha1.MemberCluster) bool) ([]string, error) {
	list, err := s.hub.ListMemberClusters(ctx)
	if err != nil {
		return nil, hubError(fmt.Errorf("list MemberClusters: %w", err))
	}
	var names []string
	for i := range list.Items {
		if keep(&list.Items[i]) {
			names = append(names, list.Items[i].Name)
		}
	}
	return names, nil
}
