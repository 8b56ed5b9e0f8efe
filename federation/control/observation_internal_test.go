package control

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/observe"
)

// These test the pure half of the shell (what it writes for a report);
// observation_test.go runs the whole on real clusters.

var (
	t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(ObservationResync)
)

func observed() *v1alpha1.MemberCluster {
	hb := metav1.NewTime(t0)
	return &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "eu", Generation: 4},
		Status: v1alpha1.MemberClusterStatus{
			Phase:               v1alpha1.PhaseReady,
			FnEndpoint:          "http://127.0.1.3:8080",
			KubeconfigSecretRef: &v1alpha1.SecretKeyRef{Namespace: "fnfleet-system", Name: "eu-kubeconfig"},
			Used:                corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")},
			LastHeartbeatTime:   &hb,
			Conditions: []metav1.Condition{
				{Type: v1alpha1.ClusterFnInstalled, Status: metav1.ConditionTrue, Reason: "Installed", LastTransitionTime: hb},
				{Type: v1alpha1.ClusterHealthy, Status: metav1.ConditionTrue, Reason: ReasonHealthy, LastTransitionTime: hb},
			},
		},
	}
}

func TestObservedStatusOfAFailedLook(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:6443: connection refused")
	for _, tc := range []struct {
		name      string
		rep       observe.Report
		reason    string
		msg       []string
		heartbeat time.Time
		usedCPU   string
	}{
		{
			name:   "apiserver and Fn down",
			rep:    observe.Report{APIServer: down, List: down, Fn: errors.New("connection refused")},
			reason: ReasonAPIServerNotReady,
			msg:    []string{"connection refused", "fnfleet-system/eu-kubeconfig", "Fn at http://127.0.1.3:8080"},
			// Not reached: the heartbeat and the usage keep their last values.
			heartbeat: t0, usedCPU: "3",
		},
		{
			name:      "Fn down",
			rep:       observe.Report{Fn: errors.New("GET /version answered 503"), Usage: observe.Usage(nil, nil)},
			reason:    ReasonFnNotAnswering,
			msg:       []string{"http://127.0.1.3:8080", "503", "app.kubernetes.io/name=fn"},
			heartbeat: t1, usedCPU: "0",
		},
		{
			name:      "listing refused",
			rep:       observe.Report{List: errors.New(`list pods: pods is forbidden`)},
			reason:    ReasonListFailed,
			msg:       []string{"forbidden", "listing nodes and pods"},
			heartbeat: t1, usedCPU: "3",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := observedStatus(observed(), &tc.rep, t1)
			if len(st.Conditions) != 1 {
				t.Fatalf("conditions %+v, want Healthy alone (the others are lifecycle's)", st.Conditions)
			}
			h := st.Conditions[0]
			if h.Type != v1alpha1.ClusterHealthy || h.Status != metav1.ConditionFalse || h.Reason != tc.reason || !h.LastTransitionTime.Time.Equal(t1) || h.ObservedGeneration != 4 {
				t.Errorf("Healthy = %+v, want False, %s, since %v, generation 4", h, tc.reason, t1)
			}
			for _, m := range tc.msg {
				if !strings.Contains(h.Message, m) {
					t.Errorf("message %q does not say %q", h.Message, m)
				}
			}
			if !st.LastHeartbeatTime.Time.Equal(tc.heartbeat) {
				t.Errorf("lastHeartbeatTime %v, want %v", st.LastHeartbeatTime, tc.heartbeat)
			}
			if q := st.Used[corev1.ResourceCPU]; q.Cmp(resource.MustParse(tc.usedCPU)) != 0 {
				t.Errorf("used cpu %s, want %s", q.String(), tc.usedCPU)
			}
			if st.Phase != "" || st.FnEndpoint != "" || st.KubeconfigSecretRef != nil {
				t.Errorf("lifecycle's fields in reconcile's apply: %+v", st)
			}
		})
	}
}

func TestObservedStatusKeepsTheTransitionTimeWhileHealthy(t *testing.T) {
	rep := observe.Report{Usage: observe.Usage(nil, nil)}
	st := observedStatus(observed(), &rep, t1)
	h := apimeta.FindStatusCondition(st.Conditions, v1alpha1.ClusterHealthy)
	if h == nil || h.Status != metav1.ConditionTrue || !h.LastTransitionTime.Time.Equal(t0) {
		t.Errorf("Healthy = %+v, want True since %v (no transition)", h, t0)
	}
}

func TestDemandOn(t *testing.T) {
	app := func(clusters ...string) v1alpha1.FleetApp {
		var a v1alpha1.FleetApp
		for _, c := range clusters {
			a.Status.Placement = append(a.Status.Placement, v1alpha1.ClusterPlacement{Cluster: c, Replicas: 1})
		}
		return a
	}
	asking := app()
	asking.Status.CapacityRequest = &v1alpha1.CapacityRequest{Wake: []string{"ap"}, Create: []string{"sa"}}
	apps := []v1alpha1.FleetApp{app("eu", "us"), app("us"), app(), app("eu"), asking}
	for _, tc := range []struct {
		cluster string
		want    demand
	}{
		{"eu", demand{placed: 2}},
		{"us", demand{placed: 2}},
		{"ap", demand{wanted: true}},
		{"sa", demand{wanted: true}},
		{"af", demand{}},
	} {
		if got := demandOn(apps, tc.cluster); got != tc.want {
			t.Errorf("demandOn(%s) = %+v, want %+v", tc.cluster, got, tc.want)
		}
	}
}

func TestObservationWritesOnlyWhatChangedAndTheHeartbeatEveryThird(t *testing.T) {
	const beat = 200 * time.Second // a third of placement's 10 minutes
	healthy := observe.Report{Usage: observe.Usage(nil, nil)}
	// The status as the look at t0 left it (the apply merges Healthy in).
	written := func() *v1alpha1.MemberClusterStatus {
		mc := observed()
		st := observedStatus(mc, &healthy, t0)
		old := mc.Status
		old.Capacity, old.Allocatable, old.Used, old.Available = st.Capacity, st.Allocatable, st.Used, st.Available
		old.Ingress, old.LastHeartbeatTime = st.Ingress, st.LastHeartbeatTime
		apimeta.SetStatusCondition(&old.Conditions, st.Conditions[0])
		return &old
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		edit func(old *v1alpha1.MemberClusterStatus)
		want bool
	}{
		{name: "nothing new, heartbeat 30 s old", at: t0.Add(30 * time.Second), want: false},
		{name: "nothing new, heartbeat 199 s old", at: t0.Add(beat - time.Second), want: false},
		{name: "nothing new, heartbeat a third of the timeout old", at: t0.Add(beat), want: true},
		{name: "usage changed", at: t0.Add(30 * time.Second), want: true, edit: func(old *v1alpha1.MemberClusterStatus) {
			old.Used = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")}
		}},
		{name: "health changed", at: t0.Add(30 * time.Second), want: true, edit: func(old *v1alpha1.MemberClusterStatus) {
			c := apimeta.FindStatusCondition(old.Conditions, v1alpha1.ClusterHealthy)
			c.Status, c.Reason = metav1.ConditionFalse, ReasonFnNotAnswering
		}},
		{name: "no heartbeat yet", at: t0.Add(30 * time.Second), want: true, edit: func(old *v1alpha1.MemberClusterStatus) {
			old.LastHeartbeatTime = nil
		}},
		{name: "woken since the heartbeat", at: t0.Add(30 * time.Second), want: true, edit: func(old *v1alpha1.MemberClusterStatus) {
			since := metav1.NewTime(t0.Add(20 * time.Second))
			old.PhaseSince = &since
		}},
		{name: "heartbeat since the phase began", at: t0.Add(30 * time.Second), want: false, edit: func(old *v1alpha1.MemberClusterStatus) {
			since := metav1.NewTime(t0.Add(-time.Minute))
			old.PhaseSince = &since
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := written()
			if tc.edit != nil {
				tc.edit(old)
			}
			mc := observed()
			mc.Status = *old
			st := observedStatus(mc, &healthy, tc.at)
			if got := worthWriting(old, st, tc.at, beat); got != tc.want {
				t.Errorf("worthWriting = %v, want %v", got, tc.want)
			}
		})
	}
}
