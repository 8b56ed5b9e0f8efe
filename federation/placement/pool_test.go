package placement

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// pool is a local pool in region of nodes nodes of 4 cpu / 16Gi / 110
// pods each, tier 1, at cost per hour, with room for maxClusters.
func pool(name, region, cost string, nodes, maxClusters int32) v1alpha1.ClusterPool {
	q := resource.MustParse(cost)
	return v1alpha1.ClusterPool{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ClusterPoolSpec{
			Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: region, Zone: region + "a",
			Nodes: nodes, NodeCapacity: resources(4000, 16, 110), CostPerHour: &q, Tier: 1,
			Labels: map[string]string{"env": "prod"}, MaxClusters: maxClusters,
		},
	}
}

// fromPool marks c as created from pool.
func fromPool(c v1alpha1.MemberCluster, pool string) v1alpha1.MemberCluster {
	c.Spec.PoolRef = &v1alpha1.ClusterPoolReference{Name: pool}
	return c
}

func withCondition(c v1alpha1.MemberCluster, typ string, status metav1.ConditionStatus, reason string) v1alpha1.MemberCluster {
	c.Status.Conditions = append(c.Status.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason})
	return c
}

// uidApp is app(replicas) with the UID every API object has.
func uidApp(replicas int32) *v1alpha1.FleetApp {
	a := app(replicas)
	a.UID = "6f1c2a8e-0d4b-4c1e-9a53-2f7d1e0b9c44"
	return a
}

func TestLifecyclePhases(t *testing.T) {
	tests := []struct {
		name    string
		cluster v1alpha1.MemberCluster
		prev    bool // the app already runs there
		want    Reason
	}{
		{name: "scaling takes apps", cluster: withPhase(cluster("c", "eu-1", 8, 8), v1alpha1.PhaseScaling), want: reasonNone},
		{name: "scaling keeps its apps", cluster: withPhase(cluster("c", "eu-1", 8, 8), v1alpha1.PhaseScaling), prev: true, want: reasonNone},
		{name: "pending", cluster: withPhase(cluster("c", "eu-1", 8, 8), v1alpha1.PhasePending), want: ReasonNotReady},
		{name: "installing", cluster: withPhase(cluster("c", "eu-1", 8, 8), v1alpha1.PhaseInstalling), want: ReasonNotReady},
		{name: "unparking", cluster: withPhase(cluster("c", "eu-1", 8, 8), v1alpha1.PhaseUnparking), want: ReasonNotReady},
		{name: "parking", cluster: withPhase(cluster("c", "eu-1", 8, 8), v1alpha1.PhaseParking), prev: true, want: ReasonParked},
		{name: "deleting", cluster: withPhase(cluster("c", "eu-1", 8, 8), v1alpha1.PhaseDeleting), prev: true, want: ReasonNotReady},
		{name: "unschedulable gets no new app", cluster: withCondition(cluster("c", "eu-1", 8, 8), v1alpha1.ClusterSchedulable, metav1.ConditionFalse, "WindowAhead"), want: ReasonUnschedulable},
		{name: "unschedulable loses its apps", cluster: withCondition(cluster("c", "eu-1", 8, 8), v1alpha1.ClusterSchedulable, metav1.ConditionFalse, "ParkedByHand"), prev: true, want: ReasonUnschedulable},
		{name: "schedulable", cluster: withCondition(cluster("c", "eu-1", 8, 8), v1alpha1.ClusterSchedulable, metav1.ConditionTrue, "AcceptsApps"), want: reasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev []v1alpha1.ClusterPlacement
			if tt.prev {
				prev = []v1alpha1.ClusterPlacement{{Cluster: "c", Replicas: 2}}
			}
			d := mustDecide(t, app(2), []v1alpha1.MemberCluster{tt.cluster}, prev, Options{})
			got, ok := rejections(d)["c"]
			if !ok {
				got = reasonNone
			}
			if got != tt.want {
				t.Fatalf("reason %v, want %v (%s)", got, tt.want, d.Explanation)
			}
		})
	}
}

func TestUnschedulableAppsMove(t *testing.T) {
	fleet := []v1alpha1.MemberCluster{
		withCondition(cluster("closing", "eu-1", 8, 8), v1alpha1.ClusterSchedulable, metav1.ConditionFalse, "WindowAhead"),
		cluster("open", "eu-2", 8, 8),
	}
	prev := []v1alpha1.ClusterPlacement{{Cluster: "closing", Replicas: 2}}
	d := mustDecide(t, app(2), fleet, prev, Options{})
	if got := names(d); !reflect.DeepEqual(got, []string{"open"}) || d.Kept {
		t.Fatalf("want the app moved to open, got %v kept=%v (%s)", got, d.Kept, d.Explanation)
	}
	want := "1/2 clusters fit (1 unschedulable); 2 replicas each on 1 cluster: open"
	if d.Explanation != want {
		t.Fatalf("explanation\n got %q\nwant %q", d.Explanation, want)
	}
}

func TestComingCapacity(t *testing.T) {
	pools := []v1alpha1.ClusterPool{pool("eu-burst", "eu-1", "0.5", 2, 10)}
	tests := []struct {
		name        string
		coming      v1alpha1.MemberCluster
		wantExplain string
	}{
		{"provisioning", fromPool(withPhase(cluster("eu-burst-x", "eu-1", 8, 8), v1alpha1.PhaseProvisioning), "eu-burst"),
			"0/1 clusters fit: 1 not ready; short 2 replicas; waiting for eu-burst-x (Provisioning)"},
		{"installing", withPhase(cluster("new", "eu-1", 8, 8), v1alpha1.PhaseInstalling),
			"0/1 clusters fit: 1 not ready; short 2 replicas; waiting for new (Installing)"},
		{"unparking", withPhase(cluster("waking", "eu-1", 8, 8), v1alpha1.PhaseUnparking),
			"0/1 clusters fit: 1 not ready; short 2 replicas; waiting for waking (Unparking)"},
		{"a pool's cluster lifecycle has not seen", fromPool(withPhase(cluster("eu-burst-y", "eu-1", 8, 8), ""), "eu-burst"),
			"0/1 clusters fit: 1 not ready; short 2 replicas; waiting for eu-burst-y (Pending)"},
		// Lifecycle marks a cluster Ready one observation before reconcile
		// reports its capacity.
		{"ready before its capacity is reported", func() v1alpha1.MemberCluster {
			c := fromPool(cluster("eu-burst-z", "eu-1", 8, 8), "eu-burst")
			c.Status.Allocatable, c.Status.Available, c.Status.Used = nil, nil, nil
			return c
		}(), "0/2 clusters fit: 1 parked, 1 without capacity data; short 2 replicas; waiting for eu-burst-z (Ready)"},
		// Woken after a park longer than the heartbeat timeout: its
		// heartbeat, health and capacity are from before the park. It is
		// neither stale nor unhealthy, and no second cluster is asked for.
		{"woken after a long park, before reconcile looked", woken(fromPool(cluster("eu-burst-w", "eu-1", 8, 8), "eu-burst")),
			"0/2 clusters fit: 1 parked, 1 not yet observed after coming up; short 2 replicas; waiting for eu-burst-w (Ready)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A parked cluster and a pool could both give capacity: while
			// one is on its way, neither is asked.
			fleet := []v1alpha1.MemberCluster{tt.coming, withPhase(cluster("parked", "eu-1", 8, 8), v1alpha1.PhaseParked)}
			d := mustDecide(t, divided(uidApp(2)), fleet, nil, Options{Pools: pools, Now: testNow, HeartbeatTimeout: 10 * time.Minute})
			c := d.Capacity
			if c == nil || c.Replicas != 2 || len(c.Wake) != 0 || c.CreateCount != 0 || len(c.Create) != 0 {
				t.Fatalf("want the shortfall with no wake and no create, got %+v (%s)", c, d.Explanation)
			}
			if want := strings.Replace(tt.wantExplain, "0/1 clusters fit: 1 not ready", "0/2 clusters fit: 1 not ready, 1 parked", 1); d.Explanation != want {
				t.Fatalf("explanation\n got %q\nwant %q", d.Explanation, want)
			}
		})
	}
	t.Run("counts against the shortfall, and the rest is asked for", func(t *testing.T) {
		// 24 replicas short; the coming cluster holds 16 (8 cpu): the other
		// 8 come from the parked cluster.
		fleet := []v1alpha1.MemberCluster{
			withPhase(cluster("coming", "eu-1", 8, 100), v1alpha1.PhaseProvisioning),
			withPhase(cluster("parked", "eu-1", 8, 100), v1alpha1.PhaseParked),
		}
		fleet[0].Status.Allocatable, fleet[0].Status.Used = resources(8000, 100, 500), nil
		d := mustDecide(t, divided(uidApp(24)), fleet, nil, Options{Pools: pools})
		if c := d.Capacity; c == nil || !reflect.DeepEqual(c.Wake, []string{"parked"}) || c.CreateCount != 0 {
			t.Fatalf("want parked woken for the 8 the coming cluster cannot take, got %+v (%s)", c, d.Explanation)
		}
	})
	t.Run("a coming cluster the app may not use does not count", func(t *testing.T) {
		a := divided(uidApp(2))
		a.Spec.Placement.RequiredRegions = []string{"eu-1"}
		fleet := []v1alpha1.MemberCluster{withPhase(cluster("us", "us-1", 8, 8), v1alpha1.PhaseProvisioning)}
		d := mustDecide(t, a, fleet, nil, Options{Pools: pools})
		if c := d.Capacity; c == nil || c.Pool != "eu-burst" || len(c.Create) != 1 {
			t.Fatalf("want a cluster created from eu-burst, got %+v (%s)", c, d.Explanation)
		}
	})
}

// testNow is the decision time of tests that need a clock.
var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// woken is c as it is the moment lifecycle marks it Ready after a 3-hour
// park: its last heartbeat, Healthy False (its Fn was stopped by the park)
// and its capacity are from before the park.
func woken(c v1alpha1.MemberCluster) v1alpha1.MemberCluster {
	hb, up := metav1.NewTime(testNow.Add(-3*time.Hour)), metav1.NewTime(testNow.Add(-time.Second))
	c.Status.LastHeartbeatTime, c.Status.PhaseSince = &hb, &up
	return withCondition(c, v1alpha1.ClusterHealthy, metav1.ConditionFalse, "FnNotAnswering")
}

func TestWakeTimedOutIsNotWokenAgain(t *testing.T) {
	timedOut := withCondition(withCost(withPhase(cluster("slow", "eu-1", 8, 8), v1alpha1.PhaseParked), "0.1"),
		v1alpha1.ClusterParked, metav1.ConditionFalse, "WakeTimedOut")
	other := withCost(withPhase(cluster("other", "eu-1", 8, 8), v1alpha1.PhaseParked), "0.9")
	d := mustDecide(t, app(2), []v1alpha1.MemberCluster{timedOut, other}, nil, Options{})
	if c := d.Capacity; c == nil || !reflect.DeepEqual(c.Wake, []string{"other"}) {
		t.Fatalf("want other woken, not slow, got %+v (%s)", c, d.Explanation)
	}
	d = mustDecide(t, uidApp(2), []v1alpha1.MemberCluster{timedOut}, nil, Options{Pools: []v1alpha1.ClusterPool{pool("eu-burst", "eu-1", "1", 1, 3)}})
	if c := d.Capacity; c == nil || len(c.Wake) != 0 || c.Pool != "eu-burst" || len(c.Create) != 1 {
		t.Fatalf("want a cluster created instead, got %+v (%s)", c, d.Explanation)
	}
}

// A cluster parked by hand or by a hibernation window stays parked
// whatever a capacity request asks: placement wakes another, or creates.
func TestParkedByHandOrWindowIsNotWoken(t *testing.T) {
	byHand := withCost(withPhase(cluster("by-hand", "eu-1", 8, 8), v1alpha1.PhaseParked), "0.1")
	byHand.Spec.Parked = true
	window := withCondition(withCost(withPhase(cluster("window", "eu-1", 8, 8), v1alpha1.PhaseParked), "0.1"),
		v1alpha1.ClusterParked, metav1.ConditionTrue, "HibernationWindow")
	other := withCost(withPhase(cluster("other", "eu-1", 8, 8), v1alpha1.PhaseParked), "0.9")
	d := mustDecide(t, app(2), []v1alpha1.MemberCluster{byHand, window, other}, nil, Options{})
	if c := d.Capacity; c == nil || !reflect.DeepEqual(c.Wake, []string{"other"}) {
		t.Fatalf("want other woken, not by-hand or window, got %+v (%s)", c, d.Explanation)
	}
	d = mustDecide(t, uidApp(2), []v1alpha1.MemberCluster{byHand, window}, nil, Options{Pools: []v1alpha1.ClusterPool{pool("eu-burst", "eu-1", "1", 1, 3)}})
	if c := d.Capacity; c == nil || len(c.Wake) != 0 || c.Pool != "eu-burst" || len(c.Create) != 1 {
		t.Fatalf("want a cluster created instead, got %+v (%s)", c, d.Explanation)
	}
}

func TestPoolChoice(t *testing.T) {
	withPool := func(p v1alpha1.ClusterPool, change func(*v1alpha1.ClusterPoolSpec)) v1alpha1.ClusterPool {
		change(&p.Spec)
		return p
	}
	cheap := pool("cheap", "eu-1", "0.1", 1, 5)
	tests := []struct {
		name   string
		policy func(*v1alpha1.FleetApp)
		pools  []v1alpha1.ClusterPool
		want   string // the pool asked; "" none
	}{
		{name: "cheapest", pools: []v1alpha1.ClusterPool{pool("dear", "eu-1", "0.9", 1, 5), cheap, pool("mid", "eu-1", "0.5", 1, 5)}, want: "cheap"},
		{name: "best tier before cost", pools: []v1alpha1.ClusterPool{
			withPool(cheap, func(s *v1alpha1.ClusterPoolSpec) { s.Tier = 2 }), pool("dear", "eu-1", "0.9", 1, 5)}, want: "dear"},
		{name: "residency", policy: func(a *v1alpha1.FleetApp) { a.Spec.Placement.RequiredRegions = []string{"us-*"} },
			pools: []v1alpha1.ClusterPool{cheap, pool("us", "us-1", "0.9", 1, 5)}, want: "us"},
		{name: "provider", policy: func(a *v1alpha1.FleetApp) { a.Spec.Placement.RequiredProviders = []string{"capi"} },
			pools: []v1alpha1.ClusterPool{cheap, withPool(pool("capi", "eu-1", "0.9", 1, 5), func(s *v1alpha1.ClusterPoolSpec) { s.Provider.Name = "capi" })}, want: "capi"},
		{name: "labels", policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.ClusterSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"gpu": "true"}}
		}, pools: []v1alpha1.ClusterPool{cheap, withPool(pool("gpu", "eu-1", "0.9", 1, 5), func(s *v1alpha1.ClusterPoolSpec) { s.Labels = map[string]string{"gpu": "true"} })}, want: "gpu"},
		{name: "taints", pools: []v1alpha1.ClusterPool{
			withPool(cheap, func(s *v1alpha1.ClusterPoolSpec) {
				s.Taints = []v1alpha1.Taint{{Key: "spot", Effect: v1alpha1.TaintNoSchedule}}
			}),
			pool("dear", "eu-1", "0.9", 1, 5)}, want: "dear"},
		{name: "tolerated taints", policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.Tolerations = []v1alpha1.Toleration{{Key: "spot", Operator: v1alpha1.TolerationExists}}
		}, pools: []v1alpha1.ClusterPool{
			withPool(cheap, func(s *v1alpha1.ClusterPoolSpec) {
				s.Taints = []v1alpha1.Taint{{Key: "spot", Effect: v1alpha1.TaintNoSchedule}}
			}),
			pool("dear", "eu-1", "0.9", 1, 5)}, want: "cheap"},
		// 12 replicas duplicated need 6 cpu: one node of 4 is too small,
		// two are enough.
		{name: "per-node capacity times nodes", policy: func(a *v1alpha1.FleetApp) { a.Spec.Demand.Replicas = 12 },
			pools: []v1alpha1.ClusterPool{cheap, pool("two-nodes", "eu-1", "0.9", 2, 5)}, want: "two-nodes"},
		{name: "none fits", policy: func(a *v1alpha1.FleetApp) { a.Spec.Demand.Replicas = 12 },
			pools: []v1alpha1.ClusterPool{cheap}, want: ""},
		{name: "static weights name the region", policy: func(a *v1alpha1.FleetApp) {
			divided(a).Spec.Placement.ReplicaDivision.Weighting = v1alpha1.WeightStatic
			a.Spec.Placement.ReplicaDivision.StaticWeights = []v1alpha1.StaticWeight{{Region: "us-1", Weight: 1}}
		}, pools: []v1alpha1.ClusterPool{cheap, pool("us", "us-1", "0.9", 1, 5)}, want: "us"},
		{name: "spread: a missing group first", policy: func(a *v1alpha1.FleetApp) {
			a.Spec.Placement.Spread = &v1alpha1.SpreadPolicy{MinGroups: 2, TopologyKey: "region"}
		}, pools: []v1alpha1.ClusterPool{cheap, pool("us", "us-1", "0.9", 1, 5)}, want: "us"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := uidApp(2)
			if tt.policy != nil {
				tt.policy(a)
			}
			// One Ready cluster in eu-1 too small for the app (no cpu).
			fleet := []v1alpha1.MemberCluster{cluster("full", "eu-1", 0, 100)}
			if tt.name == "spread: a missing group first" {
				fleet[0] = cluster("eu", "eu-1", 8, 8)
			}
			d := mustDecide(t, a, fleet, nil, Options{Pools: tt.pools})
			c := d.Capacity
			if c == nil {
				t.Fatalf("no capacity request (%s)", d.Explanation)
			}
			if c.Pool != tt.want {
				t.Fatalf("pool %q, want %q: %+v (%s)", c.Pool, tt.want, c, d.Explanation)
			}
			switch {
			case tt.want == "" && (len(c.Create) != 0 || !strings.HasSuffix(d.Explanation, "; no pool fits")):
				t.Fatalf("want no names and 'no pool fits', got %+v (%s)", c, d.Explanation)
			case tt.want != "" && (len(c.Create) != 1 || !strings.HasPrefix(c.Create[0], tt.want+"-")):
				t.Fatalf("want one cluster named after %s, got %v", tt.want, c.Create)
			}
		})
	}
}

func TestWakeBeforeCreate(t *testing.T) {
	fleet := []v1alpha1.MemberCluster{withPhase(withCost(cluster("parked", "eu-1", 8, 8), "5"), v1alpha1.PhaseParked)}
	d := mustDecide(t, uidApp(2), fleet, nil, Options{Pools: []v1alpha1.ClusterPool{pool("cheap", "eu-1", "0.1", 1, 5)}})
	if c := d.Capacity; c == nil || !reflect.DeepEqual(c.Wake, []string{"parked"}) || c.CreateCount != 0 || c.Pool != "" || len(c.Create) != 0 {
		t.Fatalf("want the parked cluster woken and nothing created, however cheap the pool, got %+v (%s)", c, d.Explanation)
	}
}

func TestPoolMaxClusters(t *testing.T) {
	a := divided(uidApp(30)) // 15 cpu; one cluster of a 1-node pool takes 8 replicas (4 cpu)
	prefix := clusterNamePrefix("burst", a)
	member := func(name string, ph v1alpha1.ClusterPhase) v1alpha1.MemberCluster {
		c := fromPool(withPhase(cluster(name, "eu-1", 0, 100), ph), "burst")
		return c
	}
	tests := []struct {
		name        string
		fleet       []v1alpha1.MemberCluster
		pools       []v1alpha1.ClusterPool
		wantPool    string
		wantCreate  []string
		wantCount   int32
		wantExplain string
	}{
		{name: "room for all", pools: []v1alpha1.ClusterPool{pool("burst", "eu-1", "0.1", 1, 5)},
			wantPool: "burst", wantCreate: []string{prefix + "0", prefix + "1", prefix + "2", prefix + "3"}, wantCount: 4,
			wantExplain: "; create 4 clusters (tier 1) from pool burst: " + prefix + "0, " + prefix + "1, " + prefix + "2, " + prefix + "3"},
		{name: "existing members count, existing names are skipped",
			fleet:    []v1alpha1.MemberCluster{member(prefix+"0", v1alpha1.PhaseFailed), member("other", v1alpha1.PhaseReady)},
			pools:    []v1alpha1.ClusterPool{pool("burst", "eu-1", "0.1", 1, 4)},
			wantPool: "burst", wantCreate: []string{prefix + "1", prefix + "2"}, wantCount: 4,
			wantExplain: "; create 4 clusters (tier 1) from pool burst: " + prefix + "1, " + prefix + "2; pool burst full (4/4 clusters)"},
		{name: "full: the next pool",
			fleet:    []v1alpha1.MemberCluster{member("a", v1alpha1.PhaseFailed), member("b", v1alpha1.PhaseReady)},
			pools:    []v1alpha1.ClusterPool{pool("burst", "eu-1", "0.1", 1, 2), pool("spare", "eu-1", "0.2", 4, 1)},
			wantPool: "spare", wantCreate: []string{clusterNamePrefix("spare", a) + "0"}, wantCount: 1,
			wantExplain: "; create 1 cluster (tier 1) from pool spare: " + clusterNamePrefix("spare", a) + "0; pool burst full (2/2 clusters)"},
		{name: "every pool full", fleet: []v1alpha1.MemberCluster{member("a", v1alpha1.PhaseReady)},
			pools:     []v1alpha1.ClusterPool{pool("burst", "eu-1", "0.1", 1, 1)},
			wantCount: 1, wantExplain: "; create 1 cluster (tier 1); pool burst full (1/1 clusters)"},
		{name: "maxClusters 0", pools: []v1alpha1.ClusterPool{pool("burst", "eu-1", "0.1", 1, 0)},
			wantCount: 1, wantExplain: "; create 1 cluster (tier 1); pool burst full (0/0 clusters)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustDecide(t, a, tt.fleet, nil, Options{Pools: tt.pools})
			c := d.Capacity
			if c == nil || c.Pool != tt.wantPool || !reflect.DeepEqual(c.Create, tt.wantCreate) || c.CreateCount != tt.wantCount {
				t.Fatalf("got %+v\nwant pool %q, create %v, count %d (%s)", c, tt.wantPool, tt.wantCreate, tt.wantCount, d.Explanation)
			}
			if !strings.HasSuffix(d.Explanation, tt.wantExplain) {
				t.Fatalf("explanation\n got %q\nwant it to end %q", d.Explanation, tt.wantExplain)
			}
		})
	}
}

func TestPoolClusterNames(t *testing.T) {
	a := uidApp(1)
	sum := sha256.Sum256([]byte(a.UID))
	if got, want := clusterNamePrefix("eu-burst", a), "eu-burst-"+hex.EncodeToString(sum[:])[:8]+"-"; got != want {
		t.Fatalf("prefix %q, want %q: <pool>-<first 8 hex of sha256(uid)>-", got, want)
	}
	b := uidApp(1)
	b.UID = "another"
	if clusterNamePrefix("p", a) == clusterNamePrefix("p", b) {
		t.Fatal("two apps share a prefix")
	}
	long := strings.Repeat("a", 60)
	pools := []string{"eu-burst", "eu.burst", "eu-burst.example", long, long + "b", strings.Repeat("a.", 120) + "z"}
	seen := map[string]string{}
	for _, p := range pools {
		name := clusterNamePrefix(p, a) + "999"
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			t.Errorf("pool %q: %q is not a DNS-1123 label: %v", p, name, errs)
		}
		if other, ok := seen[name]; ok {
			t.Errorf("pools %q and %q share the name %q", p, other, name)
		}
		seen[name] = p
	}
}

func TestPoolClusterCapacity(t *testing.T) {
	// 30 replicas of 500m/512Mi; a 2-node pool's cluster holds 16 (8 cpu).
	a := divided(uidApp(30))
	p := pool("burst", "eu-1", "0.1", 2, 10)
	d := mustDecide(t, a, nil, nil, Options{Pools: []v1alpha1.ClusterPool{p}})
	if c := d.Capacity; c == nil || c.CreateCount != 2 || len(c.Create) != 2 {
		t.Fatalf("want 2 clusters of 16 for 30 replicas, got %+v (%s)", c, d.Explanation)
	}
	// A pool's cluster on its way without allocatable yet counts as its
	// pool makes it.
	coming := fromPool(withPhase(cluster(clusterNamePrefix("burst", a)+"0", "eu-1", 0, 0), v1alpha1.PhaseProvisioning), "burst")
	coming.Status.Allocatable, coming.Status.Used = nil, nil
	d = mustDecide(t, a, []v1alpha1.MemberCluster{coming}, nil, Options{Pools: []v1alpha1.ClusterPool{p}})
	want := []string{clusterNamePrefix("burst", a) + "1"}
	if c := d.Capacity; c == nil || c.CreateCount != 1 || !reflect.DeepEqual(c.Create, want) {
		t.Fatalf("want one more cluster, %v, for the 14 the coming one cannot take, got %+v (%s)", want, c, d.Explanation)
	}
	// No node capacity: a cluster is assumed to hold what one must.
	p.Spec.NodeCapacity = corev1.ResourceList{}
	d = mustDecide(t, a, nil, nil, Options{Pools: []v1alpha1.ClusterPool{p}})
	if c := d.Capacity; c == nil || c.Pool != "burst" || c.CreateCount != 30 {
		t.Fatalf("want 30 clusters of one replica each, got %+v (%s)", c, d.Explanation)
	}
}
