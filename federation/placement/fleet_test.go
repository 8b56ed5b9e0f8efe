package placement

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// This file builds fleets and apps for the tests and benchmarks.

var providers = [...]string{"local", "capi", "static"}

// cluster is a Ready cluster with the given free capacity in whole cpus and
// Gi of memory (allocatable 64 cpu / 256Gi / 500 pods).
func cluster(name, region string, freeCPU, freeMemGi int64) v1alpha1.MemberCluster {
	return v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"env": "prod"}},
		Spec: v1alpha1.MemberClusterSpec{
			Provider: v1alpha1.ProviderSpec{Name: "local"},
			Region:   region,
			Zone:     region + "a",
			Tier:     1,
		},
		Status: v1alpha1.MemberClusterStatus{
			Phase:       v1alpha1.PhaseReady,
			Allocatable: resources(64000, 256, 500),
			Used:        resources(64000-freeCPU*1000, 256-freeMemGi, 10),
		},
	}
}

func resources(milliCPU, memGi, pods int64) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(milliCPU, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(memGi<<30, resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(pods, resource.DecimalSI),
	}
}

func withCost(c v1alpha1.MemberCluster, cost string) v1alpha1.MemberCluster {
	q := resource.MustParse(cost)
	c.Spec.CostPerHour = &q
	return c
}

func withTier(c v1alpha1.MemberCluster, tier int32) v1alpha1.MemberCluster {
	c.Spec.Tier = tier
	return c
}

func withPhase(c v1alpha1.MemberCluster, ph v1alpha1.ClusterPhase) v1alpha1.MemberCluster {
	c.Status.Phase = ph
	return c
}

// app asks for replicas of 500m / 512Mi.
func app(replicas int32) *v1alpha1.FleetApp {
	return &v1alpha1.FleetApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "hello"},
		Spec: v1alpha1.FleetAppSpec{
			App: v1alpha1.FnApp{Name: "hello", Functions: []v1alpha1.Function{{Name: "hello", Image: "fnproject/hello"}}},
			Demand: v1alpha1.Demand{
				Replicas: replicas,
				CPU:      resource.MustParse("500m"),
				Memory:   resource.MustParse("512Mi"),
			},
		},
	}
}

func divided(a *v1alpha1.FleetApp) *v1alpha1.FleetApp {
	a.Spec.Placement.ReplicaDivision = &v1alpha1.ReplicaDivision{Mode: v1alpha1.Divided, Weighting: v1alpha1.WeightFreeCapacity}
	return a
}

// benchFleet is the standard placement benchmark fleet, the one other
// schedulers are measured on: n Ready clusters over 10 regions (one zone each) and 3 providers, 6
// labels each (env matches half), usage varying from idle to nearly full.
// The quantities are parsed, as they are in objects a client decoded.
func benchFleet(n int, seed uint64) []v1alpha1.MemberCluster {
	rng := rand.New(rand.NewPCG(seed, 42))
	out := make([]v1alpha1.MemberCluster, n)
	for i := range out {
		region := "region-" + strconv.Itoa(i%10)
		env := "prod"
		if i%2 == 1 {
			env = "staging"
		}
		cpu := int64(16+rng.IntN(4)*16) * 1000
		memGi := int64(64 + rng.IntN(4)*64)
		pods := int64(110 + rng.IntN(400))
		usage := rng.IntN(100) // percent, some nearly full
		cost := resource.MustParse(fmt.Sprintf("%d.%03d", 1+rng.IntN(3), rng.IntN(1000)))
		out[i] = v1alpha1.MemberCluster{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("cluster-%05d", i),
				// The identity the API server gives every object.
				UID:             types.UID(fmt.Sprintf("6f9d0c52-1b7e-4c1a-9e3f-%012d", i)),
				ResourceVersion: strconv.Itoa(1000 + i),
				Generation:      1,
				Labels: map[string]string{
					"env":                   env,
					"team":                  "team-" + strconv.Itoa(rng.IntN(8)),
					"fnfleet.dev/pool":      "pool-" + strconv.Itoa(rng.IntN(4)),
					"topology/region":       region,
					"hardware":              [...]string{"x86", "arm"}[rng.IntN(2)],
					"fnfleet.dev/generated": "true",
				},
			},
			Spec: v1alpha1.MemberClusterSpec{
				Provider:    v1alpha1.ProviderSpec{Name: providers[i%3]},
				Region:      region,
				Zone:        region + "a",
				CostPerHour: &cost,
				Tier:        int32(1 + rng.IntN(3)),
			},
			Status: v1alpha1.MemberClusterStatus{
				Phase:       v1alpha1.PhaseReady,
				Allocatable: parsed(cpu, memGi, pods),
				Used:        parsed(cpu*int64(usage)/100, memGi*int64(usage)/100, pods*int64(usage)/100),
			},
		}
	}
	return out
}

// parsed builds a ResourceList the way a decoded object holds it.
func parsed(milliCPU, memGi, pods int64) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(strconv.FormatInt(milliCPU, 10) + "m"),
		corev1.ResourceMemory: resource.MustParse(strconv.FormatInt(memGi, 10) + "Gi"),
		corev1.ResourcePods:   resource.MustParse(strconv.FormatInt(pods, 10)),
	}
}

// benchApp is the benchmark app: 10 replicas of 500m / 512Mi, a selector
// matching half the fleet, spread by region over 2-3 groups and 2-5
// clusters, replicas divided by free capacity (or duplicated).
func benchApp(dividedMode bool) *v1alpha1.FleetApp {
	a := app(10)
	a.Spec.Placement = v1alpha1.PlacementPolicy{
		ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
		Spread: &v1alpha1.SpreadPolicy{
			MinClusters: 2, MaxClusters: 5, TopologyKey: "region", MinGroups: 2, MaxGroups: 3,
		},
		Prioritizers: []v1alpha1.Prioritizer{
			{Name: v1alpha1.PrioritizeTier, Weight: 50},
			{Name: v1alpha1.PrioritizeCost, Weight: 30},
			{Name: v1alpha1.PrioritizeBalance, Weight: 20},
		},
	}
	if dividedMode {
		divided(a)
	}
	return a
}

// threadCPU is the user+system CPU time of the calling OS thread, in ns.
func threadCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// rusageThread is RUSAGE_THREAD (Linux).
const rusageThread = 1

func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		fleet := benchFleet(n, 1)
		// The same clusters, every object at a new resourceVersion: a
		// Planner alternating between the two finds none in its snapshots.
		changed := slices.Clone(fleet)
		for i := range changed {
			changed[i].ResourceVersion += "-2"
		}
		for _, mode := range []string{"divided", "duplicated", "divided-planner", "divided-planner-changed"} {
			a := benchApp(mode != "duplicated")
			decide := Decide
			if mode == "divided-planner" || mode == "divided-planner-changed" {
				// The placement function's path: one Planner reused.
				var p Planner
				decide = p.Decide
			}
			fleets := [][]v1alpha1.MemberCluster{fleet}
			if mode == "divided-planner-changed" {
				fleets = append(fleets, changed)
			}
			b.Run(fmt.Sprintf("clusters=%d/%s", n, mode), func(b *testing.B) {
				b.ReportAllocs()
				// The machine is shared: besides wall time, report the CPU
				// time this thread spent, which other load does not inflate.
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				start := threadCPU(b)
				round := 0
				for b.Loop() {
					d, err := decide(a, fleets[round%len(fleets)], nil, Options{})
					round++
					if err != nil || len(d.Selected) == 0 {
						b.Fatalf("decision failed: %v %+v", err, d)
					}
				}
				b.ReportMetric(float64(threadCPU(b)-start)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkReadFloor is the cost no engine reading API objects can avoid
// on the benchmark fleet: one label lookup per cluster, and the cpu, memory
// and pods of allocatable and used for the half the selector matches. It
// puts Decide's figures in proportion on a loaded machine.
func BenchmarkReadFloor(b *testing.B) {
	fleet := benchFleet(1000, 1)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU(b)
	var sum int64
	for b.Loop() {
		for i := range fleet {
			c := &fleet[i]
			if c.Labels["env"] != "prod" {
				continue
			}
			a, u := c.Status.Allocatable, c.Status.Used
			q := a[corev1.ResourceCPU]
			sum += q.MilliValue()
			q = u[corev1.ResourceCPU]
			sum -= q.MilliValue()
			q = a[corev1.ResourceMemory]
			sum += q.Value()
			q = u[corev1.ResourceMemory]
			sum -= q.Value()
			q = a[corev1.ResourcePods]
			sum += q.Value()
			q = u[corev1.ResourcePods]
			sum -= q.Value()
		}
	}
	b.ReportMetric(float64(threadCPU(b)-start)/float64(b.N), "cpu-ns/op")
	if sum == 0 {
		b.Fatal("read nothing")
	}
}
