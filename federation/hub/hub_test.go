package hub_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// TestApplyMemberClusterStatus checks, on a real apiserver, the two
// properties lifecycle and reconcile rely on to share one status: a write
// at a stale resourceVersion is refused, and each manager's fields
// (conditions included, merged by type) survive the other's writes.
func TestApplyMemberClusterStatus(t *testing.T) {
	ctx := t.Context()
	c := testbed.Start(t, local.ClusterSpec{Region: "hub"})
	h := testbed.FleetAPI(t, c)
	created, err := h.CreateMemberCluster(ctx, &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "eu"},
		Spec:       v1alpha1.MemberClusterSpec{Provider: v1alpha1.ProviderSpec{Name: "static"}, Region: "eu-west"},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := metav1.NewTime(time.Now().Truncate(time.Second))
	cond := func(typ, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: reason, LastTransitionTime: at}
	}

	byLifecycle, err := h.ApplyMemberClusterStatus(ctx, "eu", created.ResourceVersion, "fnfleet-lifecycle", &v1alpha1.MemberClusterStatus{
		Phase:      v1alpha1.PhaseReady,
		Conditions: []metav1.Condition{cond(v1alpha1.ClusterFnInstalled, "Installed")},
		FnEndpoint: "http://127.0.1.9:8080",
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a stale resourceVersion is a Conflict", func(t *testing.T) {
		_, err := h.ApplyMemberClusterStatus(ctx, "eu", created.ResourceVersion, "fnfleet-reconcile", &v1alpha1.MemberClusterStatus{
			Conditions: []metav1.Condition{cond(v1alpha1.ClusterHealthy, "Healthy")},
		})
		if !apierrors.IsConflict(err) {
			t.Fatalf("apply at resourceVersion %s after the object moved to %s: error %v, want a Conflict", created.ResourceVersion, byLifecycle.ResourceVersion, err)
		}
		got, err := h.GetMemberCluster(ctx, "eu")
		if err != nil {
			t.Fatal(err)
		}
		if apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ClusterHealthy) != nil {
			t.Errorf("the refused apply wrote Healthy: %+v", got.Status.Conditions)
		}
	})

	t.Run("two managers' fields coexist", func(t *testing.T) {
		cpu := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
		byReconcile, err := h.ApplyMemberClusterStatus(ctx, "eu", byLifecycle.ResourceVersion, "fnfleet-reconcile", &v1alpha1.MemberClusterStatus{
			Conditions: []metav1.Condition{cond(v1alpha1.ClusterHealthy, "Healthy")},
			Capacity:   cpu,
			PlacedApps: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		st := byReconcile.Status
		if apimeta.FindStatusCondition(st.Conditions, v1alpha1.ClusterFnInstalled) == nil || apimeta.FindStatusCondition(st.Conditions, v1alpha1.ClusterHealthy) == nil {
			t.Errorf("conditions %+v, want lifecycle's FnInstalled and reconcile's Healthy", st.Conditions)
		}
		if st.Phase != v1alpha1.PhaseReady || st.FnEndpoint != "http://127.0.1.9:8080" {
			t.Errorf("lifecycle's phase %q and fnEndpoint %q changed by reconcile's apply", st.Phase, st.FnEndpoint)
		}

		// Lifecycle writes again, naming only its own fields: reconcile's
		// stay.
		byLifecycle2, err := h.ApplyMemberClusterStatus(ctx, "eu", byReconcile.ResourceVersion, "fnfleet-lifecycle", &v1alpha1.MemberClusterStatus{
			Phase:      v1alpha1.PhaseScaling,
			Conditions: []metav1.Condition{cond(v1alpha1.ClusterFnInstalled, "Installed"), cond(v1alpha1.ClusterProvisioned, "Created")},
			FnEndpoint: "http://127.0.1.9:8080",
		})
		if err != nil {
			t.Fatal(err)
		}
		st = byLifecycle2.Status
		if h := apimeta.FindStatusCondition(st.Conditions, v1alpha1.ClusterHealthy); h == nil || h.Reason != "Healthy" {
			t.Errorf("reconcile's Healthy after lifecycle's write: %+v", h)
		}
		if q := st.Capacity[corev1.ResourceCPU]; q.Cmp(resource.MustParse("4")) != 0 || st.PlacedApps != 2 {
			t.Errorf("reconcile's capacity %v and placedApps %d after lifecycle's write, want 4 and 2", st.Capacity, st.PlacedApps)
		}
		if st.Phase != v1alpha1.PhaseScaling || apimeta.FindStatusCondition(st.Conditions, v1alpha1.ClusterProvisioned) == nil {
			t.Errorf("lifecycle's second write: phase %s, conditions %+v", st.Phase, st.Conditions)
		}

		// A field a manager leaves out of its next apply is removed, and
		// only that manager's.
		byReconcile2, err := h.ApplyMemberClusterStatus(ctx, "eu", byLifecycle2.ResourceVersion, "fnfleet-reconcile", &v1alpha1.MemberClusterStatus{
			Conditions: []metav1.Condition{cond(v1alpha1.ClusterHealthy, "Healthy")},
			Capacity:   cpu,
		})
		if err != nil {
			t.Fatal(err)
		}
		st = byReconcile2.Status
		if st.PlacedApps != 0 || len(st.Conditions) != 3 || st.Phase != v1alpha1.PhaseScaling {
			t.Errorf("after reconcile left placedApps out: placedApps %d, %d conditions, phase %s; want 0, 3, Scaling", st.PlacedApps, len(st.Conditions), st.Phase)
		}
	})
}
