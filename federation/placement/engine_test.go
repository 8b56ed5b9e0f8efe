package placement

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// names returns the selected cluster names, in decision order.
func names(d *Decision) []string {
	var out []string
	for _, s := range d.Selected {
		out = append(out, d.name(s.Cluster))
	}
	return out
}

// replicas maps selected cluster name to replicas.
func replicas(d *Decision) map[string]int32 {
	out := map[string]int32{}
	for _, s := range d.Selected {
		out[d.name(s.Cluster)] = s.Replicas
	}
	return out
}

// rejections maps rejected cluster name to reason.
func rejections(d *Decision) map[string]Reason {
	out := map[string]Reason{}
	for _, r := range d.Rejected {
		out[d.name(r.Cluster)] = r.Reason
	}
	return out
}

func mustDecide(t *testing.T, a *v1alpha1.FleetApp, fleet []v1alpha1.MemberCluster, prev []v1alpha1.ClusterPlacement, opts Options) *Decision {
	t.Helper()
	d, err := Decide(a, fleet, prev, opts)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return d
}

func TestFilters(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tainted := func(c v1alpha1.MemberCluster, effect v1alpha1.TaintEffect) v1alpha1.MemberCluster {
		c.Spec.Taints = []v1alpha1.Taint{{Key: "gpu", Value: "true", Effect: effect}}
		return c
	}
	tests := []struct {
		name    string
		cluster v1alpha1.MemberCluster
		policy  func(*v1alpha1.FleetApp)
		opts    Options
		want    Reason // reasonNone: the cluster is selected
	}{
		{name: "ready", cluster: cluster("c", "eu-1", 8, 8), want: reasonNone},
		{name: "provisioning", cluster: withPhase(cluster("c", "eu-1", 8, 8), v1alpha1.PhaseProvisioning), want: ReasonNotReady},
		{name: "failed", cluster: withPhase(cluster("c", "eu-1", 8, 8), v1alpha1.PhaseFailed), want: ReasonNotReady},
		{name: "parked", cluster: withPhase(cluster("c", "eu-1", 8, 8), v1alpha1.PhaseParked), want: ReasonParked},
		{name: "unhealthy", cluster: func() v1alpha1.MemberCluster {
			c := cluster("c", "eu-1", 8, 8)
			c.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ClusterHealthy, Status: metav1.ConditionFalse}}
			return c
		}(), want: ReasonUnhealthy},
		{name: "healthy condition true", cluster: func() v1alpha1.MemberCluster {
			c := cluster("c", "eu-1", 8, 8)
			c.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ClusterHealthy, Status: metav1.ConditionTrue}}
			return c
		}(), want: reasonNone},
		{name: "stale heartbeat", cluster: func() v1alpha1.MemberCluster {
			c := cluster("c", "eu-1", 8, 8)
			c.Status.LastHeartbeatTime = &metav1.Time{Time: now.Add(-10 * time.Minute)}
			return c
		}(), opts: Options{Now: now, HeartbeatTimeout: 5 * time.Minute}, want: ReasonStale},
		{name: "fresh heartbeat", cluster: func() v1alpha1.MemberCluster {
			c := cluster("c", "eu-1", 8, 8)
			c.Status.LastHeartbeatTime = &metav1.Time{Time: now.Add(-time.Minute)}
			return c
		}(), opts: Options{Now: now, HeartbeatTimeout: 5 * time.Minute}, want: reasonNone},
		{name: "selector mismatch", cluster: cluster("c", "eu-1", 8, 8), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.ClusterSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"env": "staging"}}
		}, want: ReasonSelector},
		{name: "selector expression NotIn", cluster: cluster("c", "eu-1", 8, 8), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.ClusterSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "env", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"prod"}}}}
		}, want: ReasonSelector},
		{name: "selector expression Exists", cluster: cluster("c", "eu-1", 8, 8), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.ClusterSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "env", Operator: metav1.LabelSelectorOpExists}}}
		}, want: reasonNone},
		{name: "selector expression DoesNotExist", cluster: cluster("c", "eu-1", 8, 8), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.ClusterSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "env", Operator: metav1.LabelSelectorOpDoesNotExist}}}
		}, want: ReasonSelector},
		{name: "region glob matches", cluster: cluster("c", "eu-1", 8, 8), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.RequiredRegions = []string{"eu-*"}
		}, want: reasonNone},
		{name: "outside regions", cluster: cluster("c", "us-1", 8, 8), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.RequiredRegions = []string{"eu-*", "uk-1"}
		}, want: ReasonRegion},
		{name: "outside providers", cluster: cluster("c", "eu-1", 8, 8), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.RequiredProviders = []string{"capi"}
		}, want: ReasonProvider},
		{name: "outside zones", cluster: cluster("c", "eu-1", 8, 8), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.RequiredZones = []string{"eu-1b"}
		}, want: ReasonZone},
		{name: "NoSchedule taint", cluster: tainted(cluster("c", "eu-1", 8, 8), v1alpha1.TaintNoSchedule), want: ReasonTainted},
		{name: "NoExecute taint", cluster: tainted(cluster("c", "eu-1", 8, 8), v1alpha1.TaintNoExecute), want: ReasonTainted},
		{name: "PreferNoSchedule taint only lowers the score", cluster: tainted(cluster("c", "eu-1", 8, 8), v1alpha1.TaintPreferNoSchedule), want: reasonNone},
		{name: "tolerated by Equal", cluster: tainted(cluster("c", "eu-1", 8, 8), v1alpha1.TaintNoSchedule), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.Tolerations = []v1alpha1.Toleration{{Key: "gpu", Operator: v1alpha1.TolerationEqual, Value: "true"}}
		}, want: reasonNone},
		{name: "Equal with another value does not tolerate", cluster: tainted(cluster("c", "eu-1", 8, 8), v1alpha1.TaintNoSchedule), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.Tolerations = []v1alpha1.Toleration{{Key: "gpu", Operator: v1alpha1.TolerationEqual, Value: "false"}}
		}, want: ReasonTainted},
		{name: "tolerated by Exists", cluster: tainted(cluster("c", "eu-1", 8, 8), v1alpha1.TaintNoExecute), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.Tolerations = []v1alpha1.Toleration{{Key: "gpu", Operator: v1alpha1.TolerationExists}}
		}, want: reasonNone},
		{name: "toleration of another effect", cluster: tainted(cluster("c", "eu-1", 8, 8), v1alpha1.TaintNoExecute), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.Tolerations = []v1alpha1.Toleration{{Key: "gpu", Operator: v1alpha1.TolerationExists, Effect: v1alpha1.TaintNoSchedule}}
		}, want: ReasonTainted},
		{name: "empty key Exists tolerates everything", cluster: tainted(cluster("c", "eu-1", 8, 8), v1alpha1.TaintNoExecute), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.Tolerations = []v1alpha1.Toleration{{Operator: v1alpha1.TolerationExists}}
		}, want: reasonNone},
		{name: "lacks cpu", cluster: cluster("c", "eu-1", 0, 8), want: ReasonLacksCPU},
		{name: "lacks memory", cluster: cluster("c", "eu-1", 8, 0), want: ReasonLacksMemory},
		{name: "lacks pods", cluster: func() v1alpha1.MemberCluster {
			c := cluster("c", "eu-1", 8, 8)
			c.Status.Used = resources(0, 0, 500)
			return c
		}(), want: ReasonLacksPods},
		{name: "duplicated needs room for every replica", cluster: cluster("c", "eu-1", 2, 8), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Demand.Replicas = 5 // 2.5 cpu
		}, want: ReasonLacksCPU},
		{name: "divided needs room for one replica", cluster: cluster("c", "eu-1", 1, 8), policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Demand.Replicas = 5
			divided(a)
		}, want: reasonNone},
		{name: "no capacity data", cluster: func() v1alpha1.MemberCluster {
			c := cluster("c", "eu-1", 8, 8)
			c.Status.Allocatable = nil
			return c
		}(), want: ReasonNoCapacityData},
		{name: "no static weight", cluster: cluster("c", "eu-1", 8, 8), policy: func(a *v1alpha1.FleetApp) {
			divided(a).Spec.Placement.ReplicaDivision.Weighting = v1alpha1.WeightStatic
			a.Spec.Placement.ReplicaDivision.StaticWeights = []v1alpha1.StaticWeight{{Region: "us-1", Weight: 1}}
		}, want: ReasonNoStaticWeight},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := app(1)
			if tc.policy != nil {
				tc.policy(a)
			}
			d := mustDecide(t, a, []v1alpha1.MemberCluster{tc.cluster}, nil, tc.opts)
			if tc.want == reasonNone {
				if len(d.Selected) != 1 || len(d.Rejected) != 0 {
					t.Fatalf("want the cluster selected, got selected %v rejected %v (%s)", names(d), d.Rejected, d.Explanation)
				}
				return
			}
			if len(d.Selected) != 0 || len(d.Rejected) != 1 || d.Rejected[0].Reason != tc.want {
				t.Fatalf("want rejection %v, got selected %v rejected %v (%s)", tc.want, names(d), d.Rejected, d.Explanation)
			}
		})
	}
}

func TestExplanationLikeKubeScheduler(t *testing.T) {
	a := app(1)
	a.Spec.Demand.Memory = resource.MustParse("2Gi")
	a.Spec.Placement.RequiredRegions = []string{"eu-*"}
	taint := []v1alpha1.Taint{{Key: "dedicated", Value: "ml", Effect: v1alpha1.TaintNoSchedule}}
	fleet := []v1alpha1.MemberCluster{
		cluster("us-a", "us-1", 8, 8), cluster("us-b", "us-2", 8, 8), cluster("ap-a", "ap-1", 8, 8),
		cluster("eu-t1", "eu-1", 8, 8), cluster("eu-t2", "eu-2", 8, 8),
		cluster("eu-small1", "eu-1", 8, 1), cluster("eu-small2", "eu-2", 8, 1),
	}
	fleet[3].Spec.Taints, fleet[4].Spec.Taints = taint, taint
	d := mustDecide(t, a, fleet, nil, Options{})
	want := "0/7 clusters fit: 3 outside eu-*, 2 tainted, 2 lack 2Gi memory; short 1 replica; create 1 cluster (tier 1)"
	if d.Explanation != want {
		t.Fatalf("explanation\n got %q\nwant %q", d.Explanation, want)
	}
	if d.Capacity == nil || d.Capacity.CreateCount != 1 || len(d.Capacity.Wake) != 0 {
		t.Fatalf("want a request to create one cluster, got %+v", d.Capacity)
	}
}

func TestExplanationWhenPlaced(t *testing.T) {
	a := divided(app(6))
	a.Spec.Placement.ClusterSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	fleet := []v1alpha1.MemberCluster{
		cluster("a", "eu-1", 2, 8), cluster("b", "eu-1", 1, 8), cluster("c", "eu-1", 8, 8),
		withPhase(cluster("d", "eu-1", 8, 8), v1alpha1.PhaseParked),
	}
	fleet[2].Labels = map[string]string{"env": "dev"}
	d := mustDecide(t, a, fleet, nil, Options{})
	want := "2/4 clusters fit (1 parked, 1 not matching selector); placed 6 replicas on 2 clusters: a=4, b=2"
	if d.Explanation != want {
		t.Fatalf("explanation\n got %q\nwant %q", d.Explanation, want)
	}
}

func TestPrioritizers(t *testing.T) {
	only := func(name v1alpha1.PrioritizerName) func(*v1alpha1.FleetApp) {
		return func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.Prioritizers = []v1alpha1.Prioritizer{{Name: name, Weight: 100}}
		}
	}
	tests := []struct {
		name   string
		fleet  []v1alpha1.MemberCluster
		policy func(*v1alpha1.FleetApp)
		want   string
	}{
		{name: "cost prefers the cheapest", policy: only(v1alpha1.PrioritizeCost), fleet: []v1alpha1.MemberCluster{
			withCost(cluster("dear", "eu-1", 8, 8), "2.5"), withCost(cluster("cheap", "eu-1", 8, 8), "0.25"), withCost(cluster("mid", "eu-1", 8, 8), "1"),
		}, want: "cheap"},
		{name: "tier prefers the lowest", policy: only(v1alpha1.PrioritizeTier), fleet: []v1alpha1.MemberCluster{
			withTier(cluster("t3", "eu-1", 8, 8), 3), withTier(cluster("t1", "eu-1", 8, 8), 1), withTier(cluster("t2", "eu-1", 8, 8), 2),
		}, want: "t1"},
		{name: "balance prefers the least utilised", policy: only(v1alpha1.PrioritizeBalance), fleet: []v1alpha1.MemberCluster{
			cluster("busy", "eu-1", 4, 16), cluster("idle", "eu-1", 60, 240), cluster("half", "eu-1", 32, 128),
		}, want: "idle"},
		{name: "locality prefers the first preferred region", policy: func(a *v1alpha1.FleetApp) {
			only(v1alpha1.PrioritizeLocality)(a)
			a.Spec.Placement.PreferredRegions = []string{"eu-2", "eu-1"}
		}, fleet: []v1alpha1.MemberCluster{
			cluster("one", "eu-1", 8, 8), cluster("two", "eu-2", 8, 8), cluster("three", "eu-3", 8, 8),
		}, want: "two"},
		{name: "latency prefers the lowest measured round trip", policy: func(a *v1alpha1.FleetApp) {
			only(v1alpha1.PrioritizeLatency)(a)
			a.Spec.Placement.ClientRegions = []string{"us-1"}
		}, fleet: func() []v1alpha1.MemberCluster {
			f := []v1alpha1.MemberCluster{cluster("far", "ap-1", 8, 8), cluster("near", "eu-1", 8, 8), cluster("unknown", "sa-1", 8, 8)}
			f[0].Status.Latencies = []v1alpha1.RegionLatency{{Region: "us-1", Milliseconds: 180}}
			f[1].Status.Latencies = []v1alpha1.RegionLatency{{Region: "us-1", Milliseconds: 70}}
			return f
		}(), want: "near"},
		{name: "latency: same region counts as near without a measurement", policy: func(a *v1alpha1.FleetApp) {
			only(v1alpha1.PrioritizeLatency)(a)
			a.Spec.Placement.ClientRegions = []string{"us-1"}
		}, fleet: func() []v1alpha1.MemberCluster {
			f := []v1alpha1.MemberCluster{cluster("far", "ap-1", 8, 8), cluster("local", "us-1", 8, 8)}
			f[0].Status.Latencies = []v1alpha1.RegionLatency{{Region: "us-1", Milliseconds: 80}}
			return f
		}(), want: "local"},
		{name: "untolerated PreferNoSchedule loses", fleet: func() []v1alpha1.MemberCluster {
			f := []v1alpha1.MemberCluster{withCost(cluster("a-cheap-tainted", "eu-1", 8, 8), "0.19"), withCost(cluster("b", "eu-1", 8, 8), "0.2"),
				withCost(cluster("c-dear", "eu-1", 8, 8), "1")}
			f[0].Spec.Taints = []v1alpha1.Taint{{Key: "spot", Effect: v1alpha1.TaintPreferNoSchedule}}
			return f
		}(), policy: only(v1alpha1.PrioritizeCost), want: "b"},
		{name: "ties go to the name", fleet: []v1alpha1.MemberCluster{
			cluster("zz", "eu-1", 8, 8), cluster("aa", "eu-1", 8, 8), cluster("mm", "eu-1", 8, 8),
		}, want: "aa"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := app(1)
			if tc.policy != nil {
				tc.policy(a)
			}
			d := mustDecide(t, a, tc.fleet, nil, Options{})
			if got := names(d); len(got) != 1 || got[0] != tc.want {
				t.Fatalf("want %s, got %v (%s)", tc.want, got, d.Explanation)
			}
		})
	}
}

func TestWeightedSum(t *testing.T) {
	a := app(1)
	a.Spec.Placement.Prioritizers = []v1alpha1.Prioritizer{{Name: v1alpha1.PrioritizeCost, Weight: 30}, {Name: v1alpha1.PrioritizeTier, Weight: 70}}
	fleet := []v1alpha1.MemberCluster{
		withTier(withCost(cluster("cheap-t2", "eu-1", 8, 8), "0.1"), 2),
		withTier(withCost(cluster("dear-t1", "eu-1", 8, 8), "1.1"), 1),
	}
	d := mustDecide(t, a, fleet, nil, Options{})
	if got := names(d); got[0] != "dear-t1" {
		t.Fatalf("tier weighs 70, cost 30: want dear-t1, got %v", got)
	}
	if d.Selected[0].Score != 70 {
		t.Fatalf("score = %d, want 70 (tier 100 x 70 + cost 0 x 30) / 100", d.Selected[0].Score)
	}
	p := d.Placements()
	if p[0].Cluster != "dear-t1" || p[0].Score != 70 || !strings.Contains(p[0].Reason, "tier 100") || !strings.Contains(p[0].Reason, "cost 0") {
		t.Fatalf("placement = %+v", p[0])
	}
}

func TestSpread(t *testing.T) {
	regional := func() []v1alpha1.MemberCluster {
		// eu-1 has the three cheapest clusters; eu-2 and eu-3 cost more.
		return []v1alpha1.MemberCluster{
			withCost(cluster("eu1-a", "eu-1", 8, 8), "0.1"), withCost(cluster("eu1-b", "eu-1", 8, 8), "0.2"),
			withCost(cluster("eu1-c", "eu-1", 8, 8), "0.3"), withCost(cluster("eu2-a", "eu-2", 8, 8), "0.5"),
			withCost(cluster("eu2-b", "eu-2", 8, 8), "0.6"), withCost(cluster("eu3-a", "eu-3", 8, 8), "0.9"),
		}
	}
	cost := []v1alpha1.Prioritizer{{Name: v1alpha1.PrioritizeCost, Weight: 100}}
	tests := []struct {
		name   string
		spread v1alpha1.SpreadPolicy
		want   []string
	}{
		{name: "min clusters take the best", spread: v1alpha1.SpreadPolicy{MinClusters: 2}, want: []string{"eu1-a", "eu1-b"}},
		{name: "min groups spread over regions", spread: v1alpha1.SpreadPolicy{MinClusters: 2, MinGroups: 2, TopologyKey: "region"},
			want: []string{"eu1-a", "eu2-a"}},
		{name: "three groups", spread: v1alpha1.SpreadPolicy{MinClusters: 3, MinGroups: 3}, want: []string{"eu1-a", "eu2-a", "eu3-a"}},
		{name: "max groups keep extra clusters in used groups", spread: v1alpha1.SpreadPolicy{MinClusters: 4, MinGroups: 2, MaxGroups: 2},
			want: []string{"eu1-a", "eu1-b", "eu1-c", "eu2-a"}},
		{name: "max skew 1 balances groups", spread: v1alpha1.SpreadPolicy{MinClusters: 4, MinGroups: 2, MaxGroups: 2, MaxSkew: 1},
			want: []string{"eu1-a", "eu1-b", "eu2-a", "eu2-b"}},
		{name: "max clusters caps min clusters", spread: v1alpha1.SpreadPolicy{MinClusters: 1, MaxClusters: 1}, want: []string{"eu1-a"}},
		{name: "zone topology", spread: v1alpha1.SpreadPolicy{MinClusters: 2, MinGroups: 2, TopologyKey: "zone"},
			want: []string{"eu1-a", "eu2-a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := app(1)
			a.Spec.Placement.Prioritizers = cost
			sp := tc.spread
			a.Spec.Placement.Spread = &sp
			d := mustDecide(t, a, regional(), nil, Options{})
			got := names(d)
			slices.Sort(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v (%s)", got, tc.want, d.Explanation)
			}
		})
	}

	t.Run("label topology", func(t *testing.T) {
		a := app(1)
		a.Spec.Placement.Prioritizers = cost
		a.Spec.Placement.Spread = &v1alpha1.SpreadPolicy{MinClusters: 2, MinGroups: 2, TopologyKey: "rack"}
		fleet := regional()
		for i := range fleet {
			fleet[i].Labels = map[string]string{"rack": "r1"}
		}
		fleet[5].Labels["rack"] = "r2"
		d := mustDecide(t, a, fleet, nil, Options{})
		if got := names(d); !slices.Contains(got, "eu3-a") || !slices.Contains(got, "eu1-a") {
			t.Fatalf("want eu1-a and the only r2 cluster eu3-a, got %v", got)
		}
	})

	t.Run("too few groups asks for clusters in new regions", func(t *testing.T) {
		a := app(1)
		a.Spec.Placement.Spread = &v1alpha1.SpreadPolicy{MinClusters: 2, MinGroups: 4}
		a.Spec.Placement.PreferredRegions = []string{"eu-1", "eu-4"}
		d := mustDecide(t, a, regional(), nil, Options{})
		if len(d.Selected) != 3 || d.MissingClusters != 1 || d.Capacity == nil || d.Capacity.CreateCount != 1 {
			t.Fatalf("want 3 groups used and one more cluster requested, got %v missing %d capacity %+v", names(d), d.MissingClusters, d.Capacity)
		}
		if d.Capacity.CreateRegions[0] != "eu-4" {
			t.Fatalf("want the unused preferred region first, got %v", d.Capacity.CreateRegions)
		}
	})
}

func TestDivision(t *testing.T) {
	t.Run("duplicated runs every replica on every cluster", func(t *testing.T) {
		a := app(3)
		a.Spec.Placement.Spread = &v1alpha1.SpreadPolicy{MinClusters: 2}
		d := mustDecide(t, a, []v1alpha1.MemberCluster{cluster("a", "eu-1", 8, 8), cluster("b", "eu-1", 8, 8)}, nil, Options{})
		if got := replicas(d); !reflect.DeepEqual(got, map[string]int32{"a": 3, "b": 3}) {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("free capacity shares by room", func(t *testing.T) {
		a := divided(app(12))
		a.Spec.Placement.Spread = &v1alpha1.SpreadPolicy{MinClusters: 3}
		// Room for 8, 4 and 4 replicas of 500m.
		fleet := []v1alpha1.MemberCluster{cluster("a", "eu-1", 4, 100), cluster("b", "eu-1", 2, 100), cluster("c", "eu-1", 2, 100)}
		d := mustDecide(t, a, fleet, nil, Options{})
		if got := replicas(d); !reflect.DeepEqual(got, map[string]int32{"a": 6, "b": 3, "c": 3}) {
			t.Fatalf("got %v (%s)", got, d.Explanation)
		}
	})
	t.Run("free capacity adds clusters until the replicas fit", func(t *testing.T) {
		a := divided(app(10))
		fleet := []v1alpha1.MemberCluster{
			withCost(cluster("a", "eu-1", 2, 100), "0.1"), withCost(cluster("b", "eu-1", 2, 100), "0.2"),
			withCost(cluster("c", "eu-1", 2, 100), "0.3"), withCost(cluster("d", "eu-1", 2, 100), "0.4"),
		}
		a.Spec.Placement.Prioritizers = []v1alpha1.Prioritizer{{Name: v1alpha1.PrioritizeCost, Weight: 100}}
		d := mustDecide(t, a, fleet, nil, Options{})
		// a, b and c each have room for 4: three clusters, shared 4/3/3.
		if got := replicas(d); !reflect.DeepEqual(got, map[string]int32{"a": 4, "b": 3, "c": 3}) {
			t.Fatalf("got %v (%s)", got, d.Explanation)
		}
	})
	t.Run("static weights", func(t *testing.T) {
		a := divided(app(10))
		a.Spec.Placement.Spread = &v1alpha1.SpreadPolicy{MinClusters: 2}
		a.Spec.Placement.ReplicaDivision.Weighting = v1alpha1.WeightStatic
		a.Spec.Placement.ReplicaDivision.StaticWeights = []v1alpha1.StaticWeight{{Cluster: "a", Weight: 3}, {Region: "eu-2", Weight: 2}}
		fleet := []v1alpha1.MemberCluster{cluster("a", "eu-1", 8, 100), cluster("b", "eu-2", 8, 100), cluster("c", "eu-3", 8, 100)}
		d := mustDecide(t, a, fleet, nil, Options{})
		if got := replicas(d); !reflect.DeepEqual(got, map[string]int32{"a": 6, "b": 4}) {
			t.Fatalf("got %v (%s)", got, d.Explanation)
		}
		if rejections(d)["c"] != ReasonNoStaticWeight {
			t.Fatalf("c has no weight: want it rejected, got %v", d.Rejected)
		}
	})
	t.Run("static weights are capped by room", func(t *testing.T) {
		a := divided(app(10))
		a.Spec.Placement.Spread = &v1alpha1.SpreadPolicy{MinClusters: 2}
		a.Spec.Placement.ReplicaDivision.Weighting = v1alpha1.WeightStatic
		a.Spec.Placement.ReplicaDivision.StaticWeights = []v1alpha1.StaticWeight{{Cluster: "a", Weight: 9}, {Cluster: "b", Weight: 1}}
		fleet := []v1alpha1.MemberCluster{cluster("a", "eu-1", 2, 100), cluster("b", "eu-2", 8, 100)}
		d := mustDecide(t, a, fleet, nil, Options{})
		if got := replicas(d); !reflect.DeepEqual(got, map[string]int32{"a": 4, "b": 6}) {
			t.Fatalf("got %v (%s)", got, d.Explanation)
		}
	})
	t.Run("not enough room leaves replicas unplaced and asks for them", func(t *testing.T) {
		a := divided(app(10))
		fleet := []v1alpha1.MemberCluster{cluster("a", "eu-1", 2, 100), cluster("b", "eu-1", 1, 100)}
		d := mustDecide(t, a, fleet, nil, Options{})
		if d.Placed() != 6 || d.Unplaced != 4 || d.Capacity == nil || d.Capacity.Replicas != 4 {
			t.Fatalf("placed %d unplaced %d capacity %+v", d.Placed(), d.Unplaced, d.Capacity)
		}
		if d.Capacity.CPU.String() != "2" || d.Capacity.Memory.String() != "2Gi" {
			t.Fatalf("want 2 cpu and 2Gi for 4 replicas, got %s %s", d.Capacity.CPU.String(), d.Capacity.Memory.String())
		}
	})
}

// Navarkos parity: clusters have priority tiers; the best tier fills
// first; when the fleet is short, fnfleet wakes the cheapest parked cluster
// of the best tier (Navarkos woke the whole tier).
func TestNavarkosParity(t *testing.T) {
	t.Run("best tier fills first", func(t *testing.T) {
		a := divided(app(8))
		fleet := []v1alpha1.MemberCluster{
			withTier(withCost(cluster("t2-cheap", "eu-1", 8, 100), "0.1"), 2),
			withTier(withCost(cluster("t1-a", "eu-1", 2, 100), "1"), 1),
			withTier(withCost(cluster("t1-b", "eu-1", 2, 100), "1"), 1),
		}
		d := mustDecide(t, a, fleet, nil, Options{})
		if got := replicas(d); !reflect.DeepEqual(got, map[string]int32{"t1-a": 4, "t1-b": 4}) {
			t.Fatalf("tier 1 has room for 8: want it all there, got %v (%s)", got, d.Explanation)
		}
	})
	t.Run("next tier takes the overflow", func(t *testing.T) {
		a := divided(app(10))
		fleet := []v1alpha1.MemberCluster{
			withTier(cluster("t2", "eu-1", 8, 100), 2),
			withTier(cluster("t1-a", "eu-1", 2, 100), 1),
			withTier(cluster("t1-b", "eu-1", 2, 100), 1),
		}
		d := mustDecide(t, a, fleet, nil, Options{})
		got := replicas(d)
		if got["t1-a"] == 0 || got["t1-b"] == 0 || got["t2"] == 0 || d.Placed() != 10 {
			t.Fatalf("want both tier 1 clusters and t2 for the rest, got %v (%s)", got, d.Explanation)
		}
	})
	t.Run("wake the cheapest parked cluster of the best tier, not the tier", func(t *testing.T) {
		a := divided(app(4))
		fleet := []v1alpha1.MemberCluster{
			withTier(withPhase(withCost(cluster("t1-dear", "eu-1", 8, 100), "2"), v1alpha1.PhaseParked), 1),
			withTier(withPhase(withCost(cluster("t1-cheap", "eu-1", 8, 100), "1"), v1alpha1.PhaseParked), 1),
			withTier(withPhase(withCost(cluster("t1-mid", "eu-1", 8, 100), "1.5"), v1alpha1.PhaseParked), 1),
			withTier(withPhase(withCost(cluster("t2-cheapest", "eu-1", 8, 100), "0.1"), v1alpha1.PhaseParked), 2),
		}
		d := mustDecide(t, a, fleet, nil, Options{})
		if d.Capacity == nil || !reflect.DeepEqual(d.Capacity.Wake, []string{"t1-cheap"}) || d.Capacity.CreateCount != 0 || d.Capacity.Tier != 1 {
			t.Fatalf("want to wake t1-cheap only, got %+v (%s)", d.Capacity, d.Explanation)
		}
		if !strings.HasSuffix(d.Explanation, "; wake t1-cheap") {
			t.Fatalf("explanation %q should end with the wake", d.Explanation)
		}
	})
	t.Run("wake as many as the shortfall needs", func(t *testing.T) {
		a := divided(app(12))
		parked := func(name, cost string, freeCPU int64) v1alpha1.MemberCluster {
			c := withPhase(withCost(cluster(name, "eu-1", 0, 100), cost), v1alpha1.PhaseParked)
			c.Status.Allocatable = resources(freeCPU*1000, 100, 500)
			c.Status.Used = nil
			return c
		}
		fleet := []v1alpha1.MemberCluster{
			cluster("running", "eu-1", 2, 100), // room for 4 of 12
			parked("p-a", "1", 2), parked("p-b", "2", 2), parked("p-c", "3", 2), parked("p-d", "4", 2),
		}
		d := mustDecide(t, a, fleet, nil, Options{})
		if d.Unplaced != 8 || d.Capacity == nil || !reflect.DeepEqual(d.Capacity.Wake, []string{"p-a", "p-b"}) {
			t.Fatalf("8 replicas short, 4 per parked cluster: want p-a and p-b, got %+v", d.Capacity)
		}
	})
	t.Run("parked clusters that would not pass the filters are not woken", func(t *testing.T) {
		a := app(1)
		a.Spec.Placement.RequiredRegions = []string{"eu-1"}
		fleet := []v1alpha1.MemberCluster{
			withPhase(withCost(cluster("us", "us-1", 8, 8), "0.1"), v1alpha1.PhaseParked),
			withPhase(withCost(cluster("eu", "eu-1", 8, 8), "5"), v1alpha1.PhaseParked),
		}
		d := mustDecide(t, a, fleet, nil, Options{})
		if d.Capacity == nil || !reflect.DeepEqual(d.Capacity.Wake, []string{"eu"}) {
			t.Fatalf("want eu woken, got %+v", d.Capacity)
		}
	})
}

func TestStability(t *testing.T) {
	fleet := func() []v1alpha1.MemberCluster {
		return []v1alpha1.MemberCluster{withCost(cluster("old", "eu-1", 8, 8), "1.00"), withCost(cluster("new", "eu-1", 8, 8), "0.95"), withCost(cluster("dear", "eu-1", 8, 8), "2")}
	}
	a := app(2)
	a.Spec.Placement.Prioritizers = []v1alpha1.Prioritizer{{Name: v1alpha1.PrioritizeCost, Weight: 100}}
	a.Spec.Placement.RebalanceThreshold = 10
	prev := []v1alpha1.ClusterPlacement{{Cluster: "old", Replicas: 2}}

	t.Run("keeps a valid previous decision under the threshold", func(t *testing.T) {
		d := mustDecide(t, a, fleet(), prev, Options{})
		if got := names(d); !reflect.DeepEqual(got, []string{"old"}) || !d.Kept {
			t.Fatalf("want old kept, got %v kept=%v", got, d.Kept)
		}
		if !strings.Contains(d.Explanation, "(kept)") {
			t.Fatalf("explanation should say kept: %q", d.Explanation)
		}
	})
	t.Run("moves when the gain passes the threshold", func(t *testing.T) {
		f := fleet()
		q := resource.MustParse("1.90")
		f[0].Spec.CostPerHour = &q
		d := mustDecide(t, a, f, prev, Options{})
		if got := names(d); !reflect.DeepEqual(got, []string{"new"}) || d.Kept {
			t.Fatalf("want new, got %v kept=%v", got, d.Kept)
		}
	})
	t.Run("moves when the previous cluster is no longer valid", func(t *testing.T) {
		f := fleet()
		f[0].Spec.Taints = []v1alpha1.Taint{{Key: "drain", Effect: v1alpha1.TaintNoExecute}}
		d := mustDecide(t, a, f, prev, Options{})
		if got := names(d); !reflect.DeepEqual(got, []string{"new"}) || d.Kept {
			t.Fatalf("want new, got %v kept=%v", got, d.Kept)
		}
	})
	t.Run("NoSchedule lets the previous placement stay", func(t *testing.T) {
		f := fleet()
		f[0].Spec.Taints = []v1alpha1.Taint{{Key: "cordon", Effect: v1alpha1.TaintNoSchedule}}
		d := mustDecide(t, a, f, prev, Options{})
		if got := names(d); !reflect.DeepEqual(got, []string{"old"}) {
			t.Fatalf("want old kept, got %v", got)
		}
	})
	t.Run("own replicas count as free room", func(t *testing.T) {
		// old is full, but with the app's own 2 replicas (1 cpu) on it.
		f := fleet()
		f[0].Status.Used = resources(63000, 200, 10)
		d := mustDecide(t, a, f, prev, Options{})
		if got := names(d); !reflect.DeepEqual(got, []string{"old"}) {
			t.Fatalf("want old kept, got %v (%s)", got, d.Explanation)
		}
	})
}

func TestDeterministic(t *testing.T) {
	fleet := benchFleet(300, 7)
	a := benchApp(true)
	first := mustDecide(t, a, fleet, nil, Options{})
	for range 5 {
		again := mustDecide(t, a, fleet, nil, Options{})
		if !reflect.DeepEqual(first.Placements(), again.Placements()) || first.Explanation != again.Explanation ||
			!reflect.DeepEqual(first.Rejected, again.Rejected) {
			t.Fatalf("two decisions on the same input differ:\n%s\n%s", first.Explanation, again.Explanation)
		}
	}
	// The order of the clusters does not matter either.
	shuffled := slices.Clone(fleet)
	slices.Reverse(shuffled)
	rev := mustDecide(t, a, shuffled, nil, Options{})
	if !reflect.DeepEqual(first.Placements(), rev.Placements()) {
		t.Fatalf("input order changed the decision:\n%v\n%v", first.Placements(), rev.Placements())
	}
}

func TestBadPolicy(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*v1alpha1.FleetApp)
		want   string
	}{
		{name: "selector", mutate: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.ClusterSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: "Near"}}}
		}, want: "clusterSelector"},
		{name: "replicas", mutate: func(a *v1alpha1.FleetApp) { a.Spec.Demand.Replicas = 0 }, want: "at least 1"},
		{name: "cpu", mutate: func(a *v1alpha1.FleetApp) { a.Spec.Demand.CPU = resource.MustParse("0") }, want: "must both be positive"},
		{name: "spread", mutate: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.Spread = &v1alpha1.SpreadPolicy{MinClusters: 3, MaxClusters: 2}
		}, want: "exceeds spread.maxClusters"},
		{name: "static without weights", mutate: func(a *v1alpha1.FleetApp) {
			divided(a).Spec.Placement.ReplicaDivision.Weighting = v1alpha1.WeightStatic
		}, want: "staticWeights is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := app(1)
			tc.mutate(a)
			_, err := Decide(a, []v1alpha1.MemberCluster{cluster("a", "eu-1", 8, 8)}, nil, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error about %q, got %v", tc.want, err)
			}
		})
	}
}

func TestPlannerDecisionsStayValid(t *testing.T) {
	var p Planner
	big, small := benchFleet(500, 3), benchFleet(20, 4)
	first, err := p.Decide(benchApp(true), big, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := first.Placements()
	wantExpl, wantRejected := first.Explanation, slices.Clone(first.Rejected)
	for _, f := range [][]v1alpha1.MemberCluster{small, big, small} {
		if _, err := p.Decide(benchApp(false), f, nil, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(first.Placements(), want) || first.Explanation != wantExpl || !slices.Equal(first.Rejected, wantRejected) {
		t.Fatal("a later decision changed an earlier one")
	}
	again, _ := Decide(benchApp(true), big, nil, Options{})
	if !reflect.DeepEqual(again.Placements(), want) {
		t.Fatal("Planner and Decide disagree")
	}
}
