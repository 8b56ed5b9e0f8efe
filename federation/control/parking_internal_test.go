package control

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/parking"
)

func TestSweepFindsTheAnswersThatTurned(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	long, recent := metav1.NewTime(now.Add(-time.Hour)), metav1.NewTime(now.Add(-time.Minute))
	member := func(name string, phase v1alpha1.ClusterPhase, idleSince *metav1.Time) v1alpha1.MemberCluster {
		return v1alpha1.MemberCluster{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Status:     v1alpha1.MemberClusterStatus{Phase: phase, PhaseSince: &long, IdleSince: idleSince},
		}
	}
	manual := member("by-hand", v1alpha1.PhaseReady, nil)
	manual.Spec.Parked = true
	deleting := member("deleting", v1alpha1.PhaseReady, &long)
	deleting.DeletionTimestamp = &recent
	members := []v1alpha1.MemberCluster{
		member("busy", v1alpha1.PhaseReady, nil),              // an app placed: runs, stays
		member("idle", v1alpha1.PhaseReady, &long),            // idle an hour, TTL 20m: park
		member("idle-recent", v1alpha1.PhaseScaling, &recent), // within its TTL: runs, stays
		member("wanted", v1alpha1.PhaseParked, &long),         // a wake request names it: wake
		member("asleep", v1alpha1.PhaseParked, &long),         // nothing asks for it: stays parked
		member("creating", v1alpha1.PhaseProvisioning, nil),   // in motion: lifecycle's
		manual,   // spec.parked: park
		deleting, // being deleted: lifecycle's
	}
	apps := []v1alpha1.FleetApp{{Status: v1alpha1.FleetAppStatus{
		Placement:       []v1alpha1.ClusterPlacement{{Cluster: "busy", Replicas: 1}},
		CapacityRequest: &v1alpha1.CapacityRequest{Wake: []string{"wanted"}},
	}}}

	got := sweep(members, apps, now, parking.Options{})
	if got.Checked != 6 {
		t.Errorf("checked %d members, want the 6 at rest", got.Checked)
	}
	want := map[string]bool{"idle": false, "wanted": true, "by-hand": false}
	if len(got.Turned) != len(want) {
		t.Fatalf("turned %+v, want %v", got.Turned, want)
	}
	for _, turn := range got.Turned {
		run, ok := want[turn.Cluster]
		if !ok || turn.Run != run || turn.Reason == "" || turn.Message == "" {
			t.Errorf("turned %+v, want run=%v with a reason (of %v)", turn, run, want)
		}
	}
}
