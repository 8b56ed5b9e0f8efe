package placement

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// versioned gives clusters the identity the API server would: a UID and a
// resourceVersion.
func versioned(fleet []v1alpha1.MemberCluster, rv string) []v1alpha1.MemberCluster {
	for i := range fleet {
		fleet[i].UID = types.UID("uid-" + fleet[i].Name)
		fleet[i].ResourceVersion = rv
		fleet[i].Generation = 1
	}
	return fleet
}

// sameAsFresh fails unless got, a long-lived Planner's decision from its
// snapshots, is fresh, the decision of snapshots all taken anew, as the
// status would show them: a stale snapshot would make them differ.
func sameAsFresh(t *testing.T, got, fresh *Decision) {
	t.Helper()
	if !reflect.DeepEqual(got.Placements(), fresh.Placements()) || got.Explanation != fresh.Explanation ||
		!slices.Equal(got.Rejected, fresh.Rejected) || !reflect.DeepEqual(got.Capacity, fresh.Capacity) {
		t.Fatalf("a Planner's snapshots changed the decision:\n planner %s\n fresh   %s", got.Explanation, fresh.Explanation)
	}
}

// A Planner re-reads a cluster whose resourceVersion changed, and only then.
func TestPlannerSnapshotFollowsResourceVersion(t *testing.T) {
	var p Planner
	a := app(4)
	fleet := versioned([]v1alpha1.MemberCluster{
		withCost(cluster("a", "eu-1", 8, 8), "1"),
		withCost(cluster("b", "eu-1", 8, 8), "2"),
	}, "100")
	d, err := p.Decide(a, fleet, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(d); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first decision picked %v, want [a]", got)
	}

	// The cluster fills up: a new object version, as the API server writes it.
	fleet[0].Status.Used = resources(64000, 256, 10)
	fleet[0].ResourceVersion = "101"
	d, err = p.Decide(a, fleet, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, why := names(d), rejections(d)["a"]; !slices.Equal(got, []string{"b"}) || why != ReasonLacksCPU {
		t.Fatalf("after a's resourceVersion changed: picked %v, a rejected for %v; want [b] and LacksCPU", got, why)
	}
	sameAsFresh(t, d, mustDecide(t, a, fleet, nil, Options{}))

	// Every field the snapshot holds is re-read with the new version.
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	opts := Options{Now: now, HeartbeatTimeout: time.Minute}
	changes := []struct {
		name   string
		change func(c *v1alpha1.MemberCluster)
		want   Reason
	}{
		{"phase", func(c *v1alpha1.MemberCluster) { c.Status.Phase = v1alpha1.PhaseParked }, ReasonParked},
		{"health", func(c *v1alpha1.MemberCluster) {
			c.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ClusterHealthy, Status: metav1.ConditionFalse}}
		}, ReasonUnhealthy},
		{"heartbeat", func(c *v1alpha1.MemberCluster) {
			c.Status.LastHeartbeatTime = &metav1.Time{Time: now.Add(-time.Hour)}
		}, ReasonStale},
		{"allocatable", func(c *v1alpha1.MemberCluster) { c.Status.Allocatable = nil }, ReasonNoCapacityData},
		{"memory", func(c *v1alpha1.MemberCluster) { c.Status.Used = resources(0, 256, 10) }, ReasonLacksMemory},
		{"pods", func(c *v1alpha1.MemberCluster) { c.Status.Used = resources(0, 0, 500) }, ReasonLacksPods},
	}
	for n, tc := range changes {
		t.Run(tc.name, func(t *testing.T) {
			fleet := versioned([]v1alpha1.MemberCluster{cluster("a", "eu-1", 8, 8), cluster("b", "eu-1", 8, 8)}, "1")
			if _, err := p.Decide(a, fleet, nil, opts); err != nil {
				t.Fatal(err)
			}
			tc.change(&fleet[0])
			fleet[0].ResourceVersion = strconv.Itoa(2 + n)
			d, err := p.Decide(a, fleet, nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			if why, ok := rejections(d)["a"]; !ok || why != tc.want {
				t.Fatalf("a rejected for %v (%v), want %v", why, ok, tc.want)
			}
			sameAsFresh(t, d, mustDecide(t, a, fleet, nil, opts))
		})
	}

	// Cost and tier come from the snapshot too.
	fleet = versioned([]v1alpha1.MemberCluster{
		withCost(cluster("a", "eu-1", 8, 8), "1"),
		withCost(cluster("b", "eu-1", 8, 8), "2"),
	}, "200")
	if _, err := p.Decide(a, fleet, nil, Options{}); err != nil {
		t.Fatal(err)
	}
	fleet[0] = withTier(withCost(fleet[0], "3"), 2)
	fleet[0].ResourceVersion = "201"
	d = mustPlan(t, &p, a, fleet)
	if got := names(d); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("after a got dearer and a worse tier: picked %v, want [b]", got)
	}
	sameAsFresh(t, d, mustDecide(t, a, fleet, nil, Options{}))
}

func mustPlan(t *testing.T, p *Planner, a *v1alpha1.FleetApp, fleet []v1alpha1.MemberCluster) *Decision {
	t.Helper()
	d, err := p.Decide(a, fleet, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A different object at the same position (another name or UID, a new
// generation) is read again, and objects without a resourceVersion are
// never cached.
func TestPlannerSnapshotIdentity(t *testing.T) {
	a := app(4)
	full := func(c v1alpha1.MemberCluster) v1alpha1.MemberCluster {
		c.Status.Used = resources(64000, 256, 10)
		return c
	}
	for _, tc := range []struct {
		name   string
		change func(c *v1alpha1.MemberCluster)
	}{
		{"name", func(c *v1alpha1.MemberCluster) { c.Name = "z" }},
		{"uid", func(c *v1alpha1.MemberCluster) { c.UID = "other" }},
		{"generation", func(c *v1alpha1.MemberCluster) { c.Generation = 2 }},
		{"no resourceVersion", func(c *v1alpha1.MemberCluster) { c.ResourceVersion = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Planner
			fleet := versioned([]v1alpha1.MemberCluster{cluster("a", "eu-1", 8, 8), cluster("b", "eu-1", 8, 8)}, "7")
			mustPlan(t, &p, a, fleet)
			// Same resourceVersion, other object: the snapshot must not be used.
			fleet[0] = full(fleet[0])
			tc.change(&fleet[0])
			d := mustPlan(t, &p, a, fleet)
			if why := rejections(d)[fleet[0].Name]; why != ReasonLacksCPU {
				t.Fatalf("changed cluster rejected for %v, want LacksCPU", why)
			}
			sameAsFresh(t, d, mustDecide(t, a, fleet, nil, Options{}))
			if tc.name == "no resourceVersion" {
				// Modified in place without a version: still read afresh.
				fleet[0].Status.Used = resources(0, 0, 10)
				if d := mustPlan(t, &p, a, fleet); len(rejections(d)) != 0 {
					t.Fatalf("in-place change without resourceVersion not seen: %s", d.Explanation)
				}
			}
		})
	}
}

func TestDivider(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ns := []int64{0, 1, 2, 99, 100, 101, 1<<31 - 1, 1 << 31, 1<<32 - 2, 1<<32 - 1, 1 << 32, 1<<40 + 3, -1, -100, math.MaxInt64, math.MinInt64}
	ds := []int64{1, 2, 3, 7, 10, 99, 100, 101, 500, 1000, 1 << 20, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32, 1<<40 + 1, -1, -7}
	for range 2000 {
		ns = append(ns, rng.Int64N(1<<32), rng.Int64N(50001), rng.Int64())
		ds = append(ds, 1+rng.Int64N(1<<32-1), 1+rng.Int64N(1000))
	}
	for _, d := range ds {
		v := newDivider(d)
		for _, n := range ns {
			if got, want := v.div(n), n/d; got != want {
				t.Fatalf("%d / %d = %d, want %d", n, d, got, want)
			}
		}
	}
}

// On the property tests' random fleets and apps (every phase, health,
// taint, residency rule, topology and division), versioned and changing
// between decisions as the API server would hand them over (new versions,
// other clusters at a position, another order, fewer and more clusters), a
// long-lived Planner decides as if it had taken every snapshot anew.
func TestPlannerSnapshotsStayCurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var p Planner
	opts := Options{Now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), HeartbeatTimeout: time.Minute}
	for round := range 300 {
		n := []int{1, 5, 40, 200}[rng.IntN(4)]
		// Like the API server, never the same UID and resourceVersion for
		// different contents.
		fleet := versioned(randomFleet(rng, n), "r"+strconv.Itoa(round))
		for i := range fleet {
			if rng.IntN(10) == 0 {
				fleet[i].Status.LastHeartbeatTime = &metav1.Time{Time: opts.Now.Add(-time.Duration(rng.IntN(120)) * time.Second)}
			}
		}
		apps := []*v1alpha1.FleetApp{randomApp(rng), randomApp(rng)}
		var prev []v1alpha1.ClusterPlacement
		for step := range 6 {
			fresh := func(j int) v1alpha1.MemberCluster {
				c := randomFleet(rng, 1)[0]
				c.Name = fmt.Sprintf("new-%d-%d-%d", round, step, j)
				c.UID = types.UID(c.Name)
				c.ResourceVersion = c.Name
				return c
			}
			switch {
			case step == 0:
			case step == 3:
				slices.Reverse(fleet) // the same objects at other positions
			case step == 4 && len(fleet) > 1:
				fleet = fleet[:len(fleet)/2] // fewer clusters
			case step == 5:
				for j := range 1 + n/4 { // more clusters
					fleet = append(fleet, fresh(j))
				}
			default: // some objects change
				for j := range 1 + n/5 {
					c := &fleet[rng.IntN(len(fleet))]
					if rng.IntN(2) == 0 { // a new version of the same cluster
						name := c.Name
						*c = randomFleet(rng, 1)[0]
						c.Name, c.UID = name, types.UID("uid-"+name)
						c.ResourceVersion = fmt.Sprintf("r%d-%d-%d", round, step, j)
					} else { // another cluster at that position
						*c = fresh(j)
					}
				}
			}
			a := apps[step%2]
			got, err := p.Decide(a, fleet, prev, opts)
			want, werr := Decide(a, fleet, prev, opts)
			if (err == nil) != (werr == nil) {
				t.Fatalf("round %d: Planner error %v, fresh error %v", round, err, werr)
			}
			if err != nil {
				continue
			}
			sameAsFresh(t, got, want)
			prev = got.Placements()
		}
	}
}

// Apps with different selectors, deciding in turn on one Planner, each get
// their own selector's results; past maxSelectors the memo starts over.
func TestPlannerSelectorMemo(t *testing.T) {
	var p Planner
	fleet := versioned(benchFleet(200, 5), "1")
	var sels []*metav1.LabelSelector
	for i := range maxSelectors + 10 { // all different
		op := metav1.LabelSelectorOpNotIn
		if i >= 64 {
			op = metav1.LabelSelectorOpIn
		}
		sels = append(sels, &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "team", Operator: op, Values: []string{"team-" + strconv.Itoa(i%8)}},
			{Key: "fnfleet.dev/pool", Operator: metav1.LabelSelectorOpIn, Values: []string{"pool-" + strconv.Itoa(i/8%4)}},
			{Key: "hardware", Operator: metav1.LabelSelectorOpIn, Values: []string{[]string{"x86", "arm"}[i/32%2]}},
		}})
	}
	sels = append(sels,
		&metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
		&metav1.LabelSelector{MatchLabels: map[string]string{"env": "staging"}},
		&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpExists}}},
		&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "gpu", Operator: metav1.LabelSelectorOpDoesNotExist}}},
	)
	for round := range 3 {
		for i, sel := range sels {
			if round == 2 && i%5 == 0 {
				fleet[i].Labels = map[string]string{"env": "prod", "team": "team-1", "hardware": "arm"}
				fleet[i].ResourceVersion = "2"
			}
			a := benchApp(true)
			a.Spec.Placement.ClusterSelector = sel
			got, err := p.Decide(a, fleet, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			sameAsFresh(t, got, mustDecide(t, a, fleet, nil, Options{}))
		}
	}
}
