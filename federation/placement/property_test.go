package placement

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// randomFleet builds a fleet with every kind of cluster the filters know:
// all phases, unhealthy ones, taints, labels, regions, providers, zones,
// and capacity from empty to full.
func randomFleet(rng *rand.Rand, n int) []v1alpha1.MemberCluster {
	phases := []v1alpha1.ClusterPhase{v1alpha1.PhaseReady, v1alpha1.PhaseReady, v1alpha1.PhaseReady, v1alpha1.PhaseParked,
		v1alpha1.PhaseProvisioning, v1alpha1.PhaseFailed, v1alpha1.PhaseScaling, v1alpha1.PhaseUnparking}
	regions := []string{"eu-1", "eu-2", "us-1", "us-2", "ap-1"}
	effects := []v1alpha1.TaintEffect{v1alpha1.TaintNoSchedule, v1alpha1.TaintPreferNoSchedule, v1alpha1.TaintNoExecute}
	out := make([]v1alpha1.MemberCluster, n)
	for i := range out {
		region := regions[rng.IntN(len(regions))]
		c := cluster("c-"+strconv.Itoa(i), region, 0, 0)
		c.Labels = map[string]string{"env": []string{"prod", "dev"}[rng.IntN(2)], "team": "t" + strconv.Itoa(rng.IntN(3))}
		c.Spec.Provider.Name = providers[rng.IntN(3)]
		c.Spec.Zone = region + string(rune('a'+rng.IntN(2)))
		c.Spec.Tier = int32(rng.IntN(3))
		cost := resource.MustParse(fmt.Sprintf("0.%02d", rng.IntN(100)))
		c.Spec.CostPerHour = &cost
		c.Status.Phase = phases[rng.IntN(len(phases))]
		if rng.IntN(8) == 0 {
			c.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ClusterHealthy, Status: metav1.ConditionFalse}}
		}
		if rng.IntN(10) == 0 {
			c.Status.Conditions = append(c.Status.Conditions, metav1.Condition{Type: v1alpha1.ClusterSchedulable, Status: metav1.ConditionFalse, Reason: "WindowAhead"})
		}
		if c.Status.Phase == v1alpha1.PhaseParked && rng.IntN(4) == 0 {
			c.Status.Conditions = append(c.Status.Conditions, metav1.Condition{Type: v1alpha1.ClusterParked, Status: metav1.ConditionFalse, Reason: "WakeTimedOut"})
		}
		if rng.IntN(3) == 0 {
			c.Spec.PoolRef = &v1alpha1.ClusterPoolReference{Name: "pool-" + strconv.Itoa(rng.IntN(4))}
		}
		if rng.IntN(4) == 0 {
			c.Spec.Taints = []v1alpha1.Taint{{Key: []string{"gpu", "spot"}[rng.IntN(2)], Value: "x", Effect: effects[rng.IntN(3)]}}
		}
		cpu, mem := int64(1+rng.IntN(16))*1000, int64(1+rng.IntN(32))
		c.Status.Allocatable = resources(cpu, mem, int64(10+rng.IntN(100)))
		c.Status.Used = resources(cpu*int64(rng.IntN(101))/100, mem*int64(rng.IntN(101))/100, int64(rng.IntN(10)))
		if rng.IntN(30) == 0 {
			c.Status.Allocatable = nil
		}
		out[i] = c
	}
	return out
}

func randomApp(rng *rand.Rand) *v1alpha1.FleetApp {
	a := app(int32(1 + rng.IntN(20)))
	a.Spec.Demand.CPU = *resource.NewMilliQuantity(int64(100+rng.IntN(1000)), resource.DecimalSI)
	a.Spec.Demand.Memory = *resource.NewQuantity(int64(64+rng.IntN(1024))<<20, resource.BinarySI)
	pl := &a.Spec.Placement
	if rng.IntN(2) == 0 {
		pl.ClusterSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	}
	if rng.IntN(3) == 0 {
		pl.RequiredRegions = []string{[]string{"eu-*", "us-1", "ap-1"}[rng.IntN(3)]}
	}
	if rng.IntN(4) == 0 {
		pl.RequiredProviders = []string{providers[rng.IntN(3)]}
	}
	if rng.IntN(6) == 0 {
		pl.RequiredZones = []string{"eu-1a", "us-1b", "us-2*"}
	}
	if rng.IntN(3) == 0 {
		pl.Tolerations = []v1alpha1.Toleration{{Key: "gpu", Operator: v1alpha1.TolerationExists}}
	}
	if rng.IntN(2) == 0 {
		minC := int32(1 + rng.IntN(3))
		pl.Spread = &v1alpha1.SpreadPolicy{MinClusters: minC, MaxClusters: minC + int32(rng.IntN(4)),
			MinGroups: int32(1 + rng.IntN(2)), MaxSkew: int32(rng.IntN(3)),
			TopologyKey: []string{"region", "zone", "provider", "team"}[rng.IntN(4)]}
		pl.Spread.MinGroups = min(pl.Spread.MinGroups, pl.Spread.MaxClusters)
	}
	switch rng.IntN(3) {
	case 1:
		divided(a)
	case 2:
		divided(a).Spec.Placement.ReplicaDivision.Weighting = v1alpha1.WeightStatic
		pl.ReplicaDivision.StaticWeights = []v1alpha1.StaticWeight{{Region: "eu-1", Weight: 3}, {Region: "us-1", Weight: 1}, {Cluster: "c-3", Weight: 5}}
	}
	return a
}

// randomPools builds up to 4 pools (pool-0...) of every shape the pool
// filters know: regions, providers, labels, taints, node capacity from too
// small to ample, maxClusters from 0 to 5.
func randomPools(rng *rand.Rand) []v1alpha1.ClusterPool {
	regions := []string{"eu-1", "eu-2", "us-1", "us-2", "ap-1"}
	out := make([]v1alpha1.ClusterPool, rng.IntN(5))
	for i := range out {
		region := regions[rng.IntN(len(regions))]
		cost := resource.MustParse(fmt.Sprintf("0.%02d", rng.IntN(100)))
		p := v1alpha1.ClusterPool{
			ObjectMeta: metav1.ObjectMeta{Name: "pool-" + strconv.Itoa(i)},
			Spec: v1alpha1.ClusterPoolSpec{
				Provider: v1alpha1.ProviderSpec{Name: providers[rng.IntN(2)]}, Region: region, Zone: region + string(rune('a'+rng.IntN(2))),
				Nodes: int32(1 + rng.IntN(3)), Tier: int32(rng.IntN(3)), CostPerHour: &cost, MaxClusters: int32(rng.IntN(6)),
				NodeCapacity: resources(int64(1+rng.IntN(8))*1000, int64(1+rng.IntN(16)), int64(10+rng.IntN(100))),
				Labels:       map[string]string{"env": []string{"prod", "dev"}[rng.IntN(2)], "team": "t" + strconv.Itoa(rng.IntN(3))},
			},
		}
		if rng.IntN(4) == 0 {
			p.Spec.Taints = []v1alpha1.Taint{{Key: "gpu", Value: "x", Effect: v1alpha1.TaintNoSchedule}}
		}
		out[i] = p
	}
	return out
}

// admissible is an independent statement of the hard filters.
func admissible(a *v1alpha1.FleetApp, c *v1alpha1.MemberCluster) bool {
	pl := &a.Spec.Placement
	if c.Status.Phase != v1alpha1.PhaseReady && c.Status.Phase != v1alpha1.PhaseScaling {
		return false
	}
	for _, cd := range c.Status.Conditions {
		if (cd.Type == v1alpha1.ClusterHealthy || cd.Type == v1alpha1.ClusterSchedulable) && cd.Status == metav1.ConditionFalse {
			return false
		}
	}
	if pl.ClusterSelector != nil {
		for k, v := range pl.ClusterSelector.MatchLabels {
			if c.Labels[k] != v {
				return false
			}
		}
	}
	inList := func(list []string, v string) bool {
		if len(list) == 0 {
			return true
		}
		for _, p := range list {
			if p == v || (strings.HasSuffix(p, "*") && strings.HasPrefix(v, strings.TrimSuffix(p, "*"))) {
				return true
			}
		}
		return false
	}
	if !inList(pl.RequiredRegions, c.Spec.Region) || !inList(pl.RequiredProviders, c.Spec.Provider.Name) || !inList(pl.RequiredZones, c.Spec.Zone) {
		return false
	}
	for _, t := range c.Spec.Taints {
		if t.Effect != v1alpha1.TaintPreferNoSchedule && (len(pl.Tolerations) == 0 || t.Key != "gpu") {
			return false
		}
	}
	return true
}

// room is how many replicas of a fit on c.
func room(a *v1alpha1.FleetApp, c *v1alpha1.MemberCluster) int64 {
	al, us := c.Status.Allocatable, c.Status.Used
	get := func(l corev1.ResourceList, n corev1.ResourceName, milli bool) int64 {
		q := l[n]
		if milli {
			return q.MilliValue()
		}
		return q.Value()
	}
	cpu := (get(al, corev1.ResourceCPU, true) - get(us, corev1.ResourceCPU, true)) / a.Spec.Demand.CPU.MilliValue()
	mem := (get(al, corev1.ResourceMemory, false) - get(us, corev1.ResourceMemory, false)) / a.Spec.Demand.Memory.Value()
	pods := get(al, corev1.ResourcePods, false) - get(us, corev1.ResourcePods, false)
	return min(cpu, mem, pods)
}

func TestProperties(t *testing.T) {
	var planner Planner   // reused across fleets of every size, as in production
	created, full := 0, 0 // requests that name clusters, that meet a full pool
	for seed := range uint64(2000) {
		rng := rand.New(rand.NewPCG(seed, 99))
		fleet := randomFleet(rng, 1+rng.IntN(40))
		a := randomApp(rng)
		a.UID = types.UID("uid-" + strconv.Itoa(rng.IntN(3)))
		pools := randomPools(rng)
		opts := Options{Pools: pools}
		d, err := Decide(a, fleet, nil, opts)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d: %s\n%s", seed, fmt.Sprintf(format, args...), d.Explanation)
		}
		if len(d.Rejected)+d.Fit != len(fleet) {
			fail("%d rejected + %d fit != %d clusters", len(d.Rejected), d.Fit, len(fleet))
		}
		rejected := map[int32]bool{}
		for _, r := range d.Rejected {
			rejected[r.Cluster] = true
		}
		divided := a.Spec.Placement.ReplicaDivision != nil && a.Spec.Placement.ReplicaDivision.Mode == v1alpha1.Divided
		var sum int32
		seen := map[int32]bool{}
		for _, s := range d.Selected {
			c := &fleet[s.Cluster]
			switch {
			case seen[s.Cluster]:
				fail("%s selected twice", c.Name)
			case rejected[s.Cluster]:
				fail("%s is both rejected and selected", c.Name)
			case !admissible(a, c):
				fail("%s does not pass the filters but was selected", c.Name)
			case s.Replicas < 1:
				fail("%s selected with %d replicas", c.Name, s.Replicas)
			case int64(s.Replicas) > room(a, c):
				fail("%s got %d replicas but has room for %d", c.Name, s.Replicas, room(a, c))
			case !divided && s.Replicas != a.Spec.Demand.Replicas:
				fail("duplicated: %s got %d replicas, want %d", c.Name, s.Replicas, a.Spec.Demand.Replicas)
			}
			seen[s.Cluster] = true
			sum += s.Replicas
		}
		if divided && sum+d.Unplaced != a.Spec.Demand.Replicas {
			fail("divided: %d placed + %d unplaced != %d", sum, d.Unplaced, a.Spec.Demand.Replicas)
		}
		if sp := a.Spec.Placement.Spread; sp != nil && sp.MaxClusters > 0 && len(d.Selected) > int(sp.MaxClusters) {
			fail("%d clusters selected, maxClusters is %d", len(d.Selected), sp.MaxClusters)
		}
		if (d.Unplaced > 0 || d.MissingClusters > 0) != (d.Capacity != nil) {
			fail("capacity request %+v does not match shortfall %d/%d", d.Capacity, d.Unplaced, d.MissingClusters)
		}
		if d.Capacity != nil {
			for _, name := range d.Capacity.Wake {
				i := slices.IndexFunc(fleet, func(c v1alpha1.MemberCluster) bool { return c.Name == name })
				c := fleet[i]
				c.Status.Phase = v1alpha1.PhaseReady
				c.Status.Conditions = slices.DeleteFunc(slices.Clone(c.Status.Conditions), func(cd metav1.Condition) bool { return cd.Type == v1alpha1.ClusterSchedulable })
				if fleet[i].Status.Phase != v1alpha1.PhaseParked || !admissible(a, &c) {
					fail("wakes %s, which is not a parked cluster passing the filters", name)
				}
				if slices.ContainsFunc(fleet[i].Status.Conditions, func(cd metav1.Condition) bool { return cd.Reason == "WakeTimedOut" }) {
					fail("wakes %s again after its wake timed out", name)
				}
			}
			checkPoolRequest(t, seed, d, fleet, pools)
			if len(d.Capacity.Create) > 0 {
				created++
			}
			if strings.Contains(d.Explanation, " full (") {
				full++
			}
		}
		// Same input, same output, with or without reused scratch memory.
		again, _ := planner.Decide(a, fleet, nil, opts)
		if again.Explanation != d.Explanation || !slices.Equal(again.Selected, d.Selected) || !slices.Equal(again.Rejected, d.Rejected) ||
			!reflect.DeepEqual(again.Capacity, d.Capacity) {
			fail("not deterministic: %q", again.Explanation)
		}
		// The same request whatever order the hub lists clusters and pools
		// in: two decisions at once ask for the same clusters.
		reversed, _ := Decide(a, backwards(fleet), nil, Options{Pools: backwards(pools)})
		if !reflect.DeepEqual(reversed.Capacity, d.Capacity) {
			fail("another order, another request: %+v\nwas %+v", reversed.Capacity, d.Capacity)
		}
	}
	t.Logf("%d requests named clusters, %d met a full pool", created, full)
	if created < 100 || full < 50 {
		t.Fatalf("%d requests named clusters, %d met a full pool: the generator needs more pools", created, full)
	}
}

// TestPropertyStable: once a decision is deployed (its replicas now count
// in the clusters' used resources), deciding again with it as the previous
// decision keeps it: no churn.
func TestPropertyStable(t *testing.T) {
	kept := 0
	for seed := range uint64(1000) {
		rng := rand.New(rand.NewPCG(seed, 7))
		fleet := randomFleet(rng, 1+rng.IntN(40))
		a := randomApp(rng)
		first, err := Decide(a, fleet, nil, Options{})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if first.Capacity != nil || len(first.Selected) == 0 {
			continue
		}
		deployed := slices.Clone(fleet)
		for _, s := range first.Selected {
			c := &deployed[s.Cluster]
			used := c.Status.Used.DeepCopy()
			add := func(name corev1.ResourceName, q resource.Quantity) {
				v := used[name]
				for range s.Replicas {
					v.Add(q)
				}
				used[name] = v
			}
			add(corev1.ResourceCPU, a.Spec.Demand.CPU)
			add(corev1.ResourceMemory, a.Spec.Demand.Memory)
			add(corev1.ResourcePods, resource.MustParse("1"))
			c.Status.Used = used
		}
		again, err := Decide(a, deployed, first.Placements(), Options{})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !again.Kept || !slices.Equal(names(again), names(first)) {
			t.Fatalf("seed %d: deployed decision not kept:\n first %s\n again %s", seed, first.Explanation, again.Explanation)
		}
		kept++
	}
	if kept < 100 {
		t.Fatalf("only %d random cases placed fully; the generator needs more room", kept)
	}
}

// checkPoolRequest: a request never asks a pool for more clusters than
// its maxClusters leaves, and names only clusters that do not exist, each
// once, as DNS-1123 labels.
func checkPoolRequest(t *testing.T, seed uint64, d *Decision, fleet []v1alpha1.MemberCluster, pools []v1alpha1.ClusterPool) {
	t.Helper()
	c := d.Capacity
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d: %s\n%+v\n%s", seed, fmt.Sprintf(format, args...), c, d.Explanation)
	}
	if c.Pool == "" {
		if len(c.Create) > 0 {
			fail("names clusters without a pool")
		}
		return
	}
	i := slices.IndexFunc(pools, func(p v1alpha1.ClusterPool) bool { return p.Name == c.Pool })
	if i < 0 {
		fail("asks pool %s, which does not exist", c.Pool)
	}
	members := 0
	for _, m := range fleet {
		if m.Spec.PoolRef != nil && m.Spec.PoolRef.Name == c.Pool {
			members++
		}
	}
	if len(c.Create) == 0 || members+len(c.Create) > int(pools[i].Spec.MaxClusters) || len(c.Create) > int(c.CreateCount) {
		fail("asks %d clusters of %s, which has %d of at most %d (create count %d)", len(c.Create), c.Pool, members, pools[i].Spec.MaxClusters, c.CreateCount)
	}
	for j, name := range c.Create {
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			fail("%q: %v", name, errs)
		}
		if slices.Contains(c.Create[:j], name) || slices.ContainsFunc(fleet, func(m v1alpha1.MemberCluster) bool { return m.Name == name }) {
			fail("%q asked twice or exists", name)
		}
	}
}

// backwards returns a reversed copy of s.
func backwards[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}
