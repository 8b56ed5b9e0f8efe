package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
)

// PoolManager names the pool shell in the Events it records.
const PoolManager = "fnfleet-pools"

// PoolHub is the part of the hub the pool shell reads and writes.
type PoolHub interface {
	GetClusterPool(ctx context.Context, name string) (*v1alpha1.ClusterPool, error)
	UpdateClusterPoolStatus(ctx context.Context, pool *v1alpha1.ClusterPool) (*v1alpha1.ClusterPool, error)
	// Warn records a Warning Event about a ClusterPool.
	Warn(ctx context.Context, obj metav1.Object, kind, component, reason, message string) error
}

// Pools is the shell that checks a ClusterPool's own spec where the API
// cannot: its hibernation windows, which CEL reads only as far as their
// shape (a zone shaped like an IANA name may not exist; a start may never
// happen). It writes the pool's WindowsValid condition, and records an
// Event when it turns False, so a bad window is seen when the pool is
// created, before any cluster of it exists. (The pool's clusters carry the
// same condition, written by lifecycle.) It is safe for concurrent use.
type Pools struct {
	hub PoolHub
	now func() time.Time
	log *slog.Logger
}

// NewPools returns the pool shell on h; now nil means time.Now, log nil
// slog.Default().
func NewPools(h PoolHub, now func() time.Time, log *slog.Logger) (*Pools, error) {
	if h == nil {
		return nil, errors.New("pool shell: a hub is required")
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Pools{hub: h, now: now, log: log}, nil
}

// Reconcile checks the pool called name and writes its WindowsValid
// condition when it changed, at the resourceVersion read (a Conflict reads
// again). It needs no call at a set time: only a change of the pool
// changes the answer. A pool that does not exist is not an error.
func (p *Pools) Reconcile(ctx context.Context, name string) (time.Time, error) {
	err := onConflict(func() error {
		pool, err := p.hub.GetClusterPool(ctx, name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		was := apimeta.FindStatusCondition(pool.Status.Conditions, v1alpha1.ConditionWindowsValid)
		if w := pool.Spec.Parking; was == nil && (w == nil || len(w.Windows) == 0) {
			return nil // no windows, and none before: nothing to say
		}
		status, reason, msg := lifecycle.WindowsValid(pool.Spec.Parking)
		ok := status == metav1.ConditionTrue
		conds := slices.Clone(pool.Status.Conditions)
		setCondition(&conds, v1alpha1.ConditionWindowsValid, ok, reason, msg, pool.Generation, p.now().Truncate(time.Second))
		now := apimeta.FindStatusCondition(conds, v1alpha1.ConditionWindowsValid)
		if was != nil && was.Status == now.Status && was.Reason == now.Reason && was.Message == now.Message && was.ObservedGeneration == now.ObservedGeneration {
			return nil
		}
		want := pool.DeepCopy()
		want.Status.Conditions = conds
		written, err := p.hub.UpdateClusterPoolStatus(ctx, want)
		if err != nil {
			return err
		}
		if !ok && (was == nil || was.Status != now.Status || was.Message != now.Message) {
			if err := p.hub.Warn(ctx, written, "ClusterPool", PoolManager, reason, msg); err != nil {
				p.log.Warn("record an Event", "pool", name, "err", err)
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("check ClusterPool %s: %w", name, err)
	}
	return time.Time{}, nil
}
