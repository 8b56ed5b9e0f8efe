package eventsource

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/events"
)

var t0 = metav1.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))

func cluster(rv string, edit ...func(*v1alpha1.MemberCluster)) *v1alpha1.MemberCluster {
	mc := &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "eu-1", ResourceVersion: rv, Generation: 1, Labels: map[string]string{"env": "prod"}},
		Spec:       v1alpha1.MemberClusterSpec{Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: "eu-west"},
		Status: v1alpha1.MemberClusterStatus{
			Phase:             v1alpha1.PhaseInstalling,
			LastHeartbeatTime: &t0,
			Conditions: []metav1.Condition{
				{Type: v1alpha1.ClusterHealthy, Status: metav1.ConditionTrue, Reason: "Answers", Message: "probe took 12ms", LastTransitionTime: t0},
			},
			Used: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
		},
	}
	for _, e := range edit {
		e(mc)
	}
	return mc
}

func app(rv string, edit ...func(*v1alpha1.FleetApp)) *v1alpha1.FleetApp {
	a := &v1alpha1.FleetApp{ObjectMeta: metav1.ObjectMeta{Name: "cart", Namespace: "shop", ResourceVersion: rv, Generation: 1}}
	for _, e := range edit {
		e(a)
	}
	return a
}

func pool(rv string, edit ...func(*v1alpha1.ClusterPool)) *v1alpha1.ClusterPool {
	p := &v1alpha1.ClusterPool{ObjectMeta: metav1.ObjectMeta{Name: "eu-pool", ResourceVersion: rv, Generation: 1}}
	for _, e := range edit {
		e(p)
	}
	return p
}

func TestChanges(t *testing.T) {
	later := metav1.NewTime(t0.Add(30 * time.Second))
	latest := metav1.NewTime(t0.Add(time.Minute))
	placement := func(cs ...v1alpha1.ClusterPlacement) func(*v1alpha1.FleetApp) {
		return func(a *v1alpha1.FleetApp) { a.Status.Placement = cs }
	}
	phase := func(p v1alpha1.ClusterPhase) func(*v1alpha1.MemberCluster) {
		return func(mc *v1alpha1.MemberCluster) { mc.Status.Phase = p }
	}
	healthy := func(status metav1.ConditionStatus, reason, msg string) func(*v1alpha1.MemberCluster) {
		return func(mc *v1alpha1.MemberCluster) {
			mc.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ClusterHealthy, Status: status, Reason: reason, Message: msg, LastTransitionTime: later}}
		}
	}
	deleting := func(o metav1.Object) { o.SetDeletionTimestamp(&later) }

	tests := []struct {
		name     string
		old, new runtime.Object
		want     []string
		what     []string // cluster.changed's payload, when sent
	}{
		// FleetApp
		{name: "app created", new: app("1"), want: []string{events.TypeAppChanged}},
		{name: "app listed with a decision", new: app("1", placement(v1alpha1.ClusterPlacement{Cluster: "eu-1", Replicas: 2})),
			want: []string{events.TypeAppChanged, events.TypeAppPlaced}},
		{name: "app spec", old: app("1"), new: app("2", func(a *v1alpha1.FleetApp) { a.Generation = 2 }), want: []string{events.TypeAppChanged}},
		{name: "app placed", old: app("1"), new: app("2", placement(v1alpha1.ClusterPlacement{Cluster: "eu-1", Replicas: 2})),
			want: []string{events.TypeAppPlaced}},
		{name: "app's replicas moved", old: app("1", placement(v1alpha1.ClusterPlacement{Cluster: "eu-1", Replicas: 2})),
			new: app("2", placement(v1alpha1.ClusterPlacement{Cluster: "eu-1", Replicas: 3})), want: []string{events.TypeAppPlaced}},
		{name: "app's scores only", old: app("1", placement(v1alpha1.ClusterPlacement{Cluster: "eu-1", Replicas: 2, Score: 40, Reason: "cost 40"})),
			new: app("2", placement(v1alpha1.ClusterPlacement{Cluster: "eu-1", Replicas: 2, Score: 55, Reason: "kept"}))},
		{name: "app's explanation and conditions only", old: app("1"), new: app("2", func(a *v1alpha1.FleetApp) {
			a.Status.Explanation = "0/7 clusters fit"
			a.Status.ObservedGeneration = 1
			a.Status.Conditions = []metav1.Condition{{Type: v1alpha1.AppPlaced, Status: metav1.ConditionFalse}}
		})},
		{name: "app deleting", old: app("1"), new: app("2", func(a *v1alpha1.FleetApp) { deleting(a) }), want: []string{events.TypeAppDeleted}},
		{name: "app deleted", old: app("1"), want: []string{events.TypeAppDeleted}},
		{name: "app deleted, typed nil", old: app("1"), new: (*v1alpha1.FleetApp)(nil), want: []string{events.TypeAppDeleted}},
		{name: "app relisted unchanged", old: app("1"), new: app("1")},

		// MemberCluster
		{name: "cluster created", new: cluster("1"), want: []string{events.TypeClusterChanged}, what: []string{WhatCreated}},
		{name: "heartbeat", old: cluster("1"), new: cluster("2", func(mc *v1alpha1.MemberCluster) { mc.Status.LastHeartbeatTime = &later })},
		{name: "heartbeat, usage, capacity, probe message, bookkeeping", old: cluster("1"), new: cluster("2", healthy(metav1.ConditionTrue, "Answers", "probe took 31ms"),
			func(mc *v1alpha1.MemberCluster) {
				mc.Status.LastHeartbeatTime = &later
				mc.Status.Used = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")}
				mc.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}
				mc.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}
				mc.Status.ObservedGeneration, mc.Status.PlacedApps, mc.Status.Failures = 1, 3, 0
				mc.Status.IdleSince, mc.Status.PhaseSince = &later, &later
			})},
		{name: "first heartbeat since the phase began", old: cluster("1", phase(v1alpha1.PhaseReady), func(mc *v1alpha1.MemberCluster) { mc.Status.PhaseSince = &later }),
			new:  cluster("2", phase(v1alpha1.PhaseReady), func(mc *v1alpha1.MemberCluster) { mc.Status.PhaseSince, mc.Status.LastHeartbeatTime = &later, &latest }),
			want: []string{events.TypeClusterChanged}, what: []string{WhatObserved}},
		{name: "a heartbeat still older than the phase", old: cluster("1", phase(v1alpha1.PhaseReady), func(mc *v1alpha1.MemberCluster) { mc.Status.PhaseSince = &latest }),
			new: cluster("2", phase(v1alpha1.PhaseReady), func(mc *v1alpha1.MemberCluster) { mc.Status.PhaseSince, mc.Status.LastHeartbeatTime = &latest, &later })},
		{name: "cluster spec (taints)", old: cluster("1"), new: cluster("2", func(mc *v1alpha1.MemberCluster) {
			mc.Generation = 2
			mc.Spec.Taints = []v1alpha1.Taint{{Key: "gpu", Effect: v1alpha1.TaintNoSchedule}}
		}), want: []string{events.TypeClusterChanged}, what: []string{WhatSpec}},
		{name: "cluster labels", old: cluster("1"), new: cluster("2", func(mc *v1alpha1.MemberCluster) { mc.Labels = map[string]string{"env": "dev"} }),
			want: []string{events.TypeClusterChanged}, what: []string{WhatLabels}},
		{name: "finalizer added", old: cluster("1"), new: cluster("2", func(mc *v1alpha1.MemberCluster) { mc.Finalizers = []string{"fnfleet.dev/lifecycle"} })},
		{name: "to Ready", old: cluster("1"), new: cluster("2", phase(v1alpha1.PhaseReady)), want: []string{events.TypeClusterReady}},
		{name: "to Parked", old: cluster("1", phase(v1alpha1.PhaseParking)), new: cluster("2", phase(v1alpha1.PhaseParked)), want: []string{events.TypeClusterParked}},
		{name: "to Failed", old: cluster("1"), new: cluster("2", phase(v1alpha1.PhaseFailed)), want: []string{events.TypeClusterFailed}},
		{name: "to Scaling", old: cluster("1", phase(v1alpha1.PhaseReady)), new: cluster("2", phase(v1alpha1.PhaseScaling)),
			want: []string{events.TypeClusterChanged}, what: []string{WhatPhase}},
		{name: "Healthy turns False", old: cluster("1"), new: cluster("2", healthy(metav1.ConditionFalse, "Unreachable", "no answer")),
			want: []string{events.TypeClusterChanged}, what: []string{v1alpha1.ClusterHealthy}},
		{name: "a condition's reason", old: cluster("1"), new: cluster("2", healthy(metav1.ConditionTrue, "AnswersSlowly", "probe took 900ms")),
			want: []string{events.TypeClusterChanged}, what: []string{v1alpha1.ClusterHealthy}},
		{name: "a condition appears", old: cluster("1"), new: cluster("2", func(mc *v1alpha1.MemberCluster) {
			mc.Status.Conditions = append(slices.Clone(mc.Status.Conditions), metav1.Condition{Type: v1alpha1.ClusterFnInstalled, Status: metav1.ConditionTrue, Reason: "Installed"})
		}), want: []string{events.TypeClusterChanged}, what: []string{v1alpha1.ClusterFnInstalled}},
		{name: "a condition goes", old: cluster("1"), new: cluster("2", func(mc *v1alpha1.MemberCluster) { mc.Status.Conditions = nil }),
			want: []string{events.TypeClusterChanged}, what: []string{v1alpha1.ClusterHealthy}},
		{name: "endpoint published", old: cluster("1"), new: cluster("2", func(mc *v1alpha1.MemberCluster) {
			mc.Status.Ingress = []v1alpha1.IngressAddress{{IP: "10.0.0.7"}}
		}), want: []string{events.TypeClusterChanged}, what: []string{WhatEndpoint}},
		{name: "Ready with Fn installed, spec too", old: cluster("1"), new: cluster("2", phase(v1alpha1.PhaseReady), func(mc *v1alpha1.MemberCluster) {
			mc.Generation = 2
			mc.Status.FnEndpoint = "http://127.0.1.2:8080"
		}), want: []string{events.TypeClusterChanged, events.TypeClusterReady}, what: []string{WhatSpec, WhatEndpoint}},
		{name: "cluster deleting", old: cluster("1"), new: cluster("2", func(mc *v1alpha1.MemberCluster) { deleting(mc) }),
			want: []string{events.TypeClusterChanged}, what: []string{WhatDeleting}},
		{name: "cluster deleted", old: cluster("1"), want: []string{events.TypeClusterChanged}, what: []string{WhatDeleted}},
		{name: "cluster relisted unchanged", old: cluster("1"), new: cluster("1")},

		// ClusterPool
		{name: "pool created", new: pool("1"), want: []string{events.TypePoolChanged}},
		{name: "pool spec", old: pool("1"), new: pool("2", func(p *v1alpha1.ClusterPool) { p.Generation = 2 }), want: []string{events.TypePoolChanged}},
		{name: "pool status", old: pool("1"), new: pool("2", func(p *v1alpha1.ClusterPool) { p.Status.Clusters, p.Status.Ready = 3, 2 })},
		{name: "pool deleting", old: pool("1"), new: pool("2", func(p *v1alpha1.ClusterPool) { deleting(p) }), want: []string{events.TypePoolChanged}},
		{name: "pool deleted", old: pool("1"), want: []string{events.TypePoolChanged}},

		// Nonsense
		{name: "nothing", old: nil, new: nil},
		{name: "kinds differ", old: pool("1"), new: cluster("2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Changes(tt.old, tt.new); !slices.Equal(got, tt.want) {
				t.Errorf("Changes = %q, want %q", got, tt.want)
			}
			if got := diff(tt.old, tt.new).what; !slices.Equal(got, tt.what) {
				t.Errorf("cluster.changed names %q, want %q", got, tt.what)
			}
		})
	}
}

// TestChangesFailedNamesThePhaseThatFailed: cluster.failed's from.
func TestChangesFailedNamesThePhaseThatFailed(t *testing.T) {
	old := cluster("1", func(mc *v1alpha1.MemberCluster) { mc.Status.Phase = v1alpha1.PhaseProvisioning })
	c := diff(old, cluster("2", func(mc *v1alpha1.MemberCluster) { mc.Status.Phase = v1alpha1.PhaseFailed }))
	if c.from != v1alpha1.PhaseProvisioning {
		t.Errorf("from = %q, want Provisioning", c.from)
	}
}
