package lifecycle

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// StatusOf reads back what ApplyTo wrote, whatever else the status holds
// and in whatever order its conditions come.
func TestStatusOfIsApplyToReadBack(t *testing.T) {
	mc := member("", 0, busy, scaledAgo(time.Minute))
	d := Step(Input{Cluster: mc, Observed: serving, Parking: runs, Now: now})
	d.Status.ApplyTo(&mc.Status)
	d = Step(Input{Cluster: mc, Observed: serving, Parking: runs, Now: now.Add(time.Minute)})
	st := mc.Status.DeepCopy()
	d.Status.ApplyTo(st)
	// Another writer's condition, first, and lifecycle's in reverse.
	healthy := metav1.Condition{Type: v1alpha1.ClusterHealthy, Status: metav1.ConditionTrue, Reason: "Healthy"}
	conds := []metav1.Condition{healthy}
	for i := len(st.Conditions) - 1; i >= 0; i-- {
		if st.Conditions[i].Type != v1alpha1.ClusterHealthy {
			conds = append(conds, st.Conditions[i])
		}
	}
	st.Conditions = conds

	got := StatusOf(st)
	if !reflect.DeepEqual(got, d.Status) {
		t.Fatalf("StatusOf = %+v\nwant the decision's %+v", got, d.Status)
	}
	var again v1alpha1.MemberClusterStatus
	got.ApplyTo(&again)
	if len(again.Conditions) != len(d.Status.Conditions) || again.Phase != d.Status.Phase {
		t.Errorf("ApplyTo(StatusOf) = %+v", again)
	}
}
