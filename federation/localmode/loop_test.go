package localmode

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// recorder is a reconciler that records the keys it is called with and,
// per key, can fail or ask to be called again.
type recorder struct {
	name    string
	stopped *atomic.Bool // set once Run returned: no call may come after

	mu    sync.Mutex
	calls map[string]int
	// failFirst[key] is how many first calls of key fail.
	failFirst map[string]int
	// again[key] is how many first calls of key ask to be called again
	// 50 ms later.
	again map[string]int
	late  []string // keys called after Run returned
}

func newRecorder(name string, stopped *atomic.Bool) *recorder {
	return &recorder{name: name, stopped: stopped, calls: map[string]int{}, failFirst: map[string]int{}, again: map[string]int{}}
}

func (r *recorder) Reconcile(_ context.Context, key string) (time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped.Load() {
		r.late = append(r.late, key)
	}
	r.calls[key]++
	n := r.calls[key]
	if n <= r.failFirst[key] {
		return time.Time{}, fmt.Errorf("%s %s: failure %d of %d", r.name, key, n, r.failFirst[key])
	}
	if n <= r.again[key] {
		return time.Now().Add(50 * time.Millisecond), nil
	}
	return time.Time{}, nil
}

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[key]
}

func (r *recorder) set(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

func (r *recorder) reset() {
	r.set(func() { r.calls = map[string]int{} })
}

func (r *recorder) keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []string
	for k := range r.calls {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// eventually waits until cond holds; the deadline only bounds a failing
// test.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type loopHarness struct {
	hub                                       *hub.Client
	placement, deploy, lifecycle, observation *recorder
	stopped                                   *atomic.Bool
	members                                   chan []*v1alpha1.MemberCluster
}

// startLoop runs a loop on c's hub with recording shells until the test
// ends.
func startLoop(t *testing.T, hc *hub.Client, resync time.Duration) (*loopHarness, func()) {
	t.Helper()
	stopped := &atomic.Bool{}
	h := &loopHarness{
		hub:         hc,
		placement:   newRecorder("placement", stopped),
		deploy:      newRecorder("deploy", stopped),
		lifecycle:   newRecorder("lifecycle", stopped),
		observation: newRecorder("observation", stopped),
		stopped:     stopped,
		members:     make(chan []*v1alpha1.MemberCluster, 100),
	}
	loop, err := NewLoop(LoopConfig{
		Hub: hc,
		Shells: Shells{
			Placement: h.placement.Reconcile, Deploy: h.deploy.Reconcile,
			Lifecycle: h.lifecycle.Reconcile, Observation: h.observation.Reconcile,
		},
		Resync:     resync,
		MaxBackoff: time.Second,
		OnMembers:  func(ms []*v1alpha1.MemberCluster) { h.members <- ms },
		Logger:     testbed.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() {
		err := loop.Run(ctx)
		stopped.Store(true)
		ran <- err
	}()
	stop := func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
	})
	return h, stop
}

func member(name, pool string) *v1alpha1.MemberCluster {
	mc := &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.MemberClusterSpec{Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: "eu-west"},
	}
	if pool != "" {
		mc.Spec.PoolRef = &v1alpha1.ClusterPoolReference{Name: pool}
	}
	return mc
}

func fleetApp(name string) *v1alpha1.FleetApp {
	return &v1alpha1.FleetApp{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1alpha1.FleetAppSpec{
			App:    v1alpha1.FnApp{Name: name, Functions: []v1alpha1.Function{{Name: "echo", Image: "fnfleet/echo:0.0.1"}}},
			Demand: v1alpha1.Demand{Replicas: 1, CPU: resource.MustParse("100m"), Memory: resource.MustParse("128Mi")},
		},
	}
}

// TestLoopRoutesHubEventsToShells: the loop hands each shell the keys an
// event concerns, requeues a key at the time its shell asked for, retries a
// failed key, resyncs every key, and calls no shell once Run returned.
func TestLoopRoutesHubEventsToShells(t *testing.T) {
	c := testbed.Start(t, local.ClusterSpec{Name: "hub"})
	ctx := t.Context()
	hc := testbed.FleetAPI(t, c)
	// An hour: no resync during the event checks.
	h, stop := startLoop(t, hc, time.Hour)

	// A member: its lifecycle and observation; no app to place yet.
	if _, err := hc.CreateMemberCluster(ctx, member("m1", "")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "lifecycle and observation of m1", func() bool {
		return h.lifecycle.count("m1") > 0 && h.observation.count("m1") > 0
	})
	eventually(t, "OnMembers with m1", func() bool {
		for {
			select {
			case ms := <-h.members:
				if len(ms) == 1 && ms[0].Name == "m1" {
					return true
				}
			default:
				return false
			}
		}
	})

	// An app: its placement, its deploy and every member's lifecycle.
	h.lifecycle.reset()
	if _, err := hc.CreateFleetApp(ctx, fleetApp("a")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "placement and deploy of default/a and lifecycle of m1", func() bool {
		return h.placement.count("default/a") > 0 && h.deploy.count("default/a") > 0 && h.lifecycle.count("m1") > 0
	})

	// A member changing: every app's placement and deploy.
	h.placement.reset()
	h.deploy.reset()
	h.observation.reset()
	if _, err := hc.CreateMemberCluster(ctx, member("m2", "pool-a")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "placement and deploy of default/a after m2 came", func() bool {
		return h.placement.count("default/a") > 0 && h.deploy.count("default/a") > 0 && h.observation.count("m2") > 0
	})
	if got := h.observation.keys(); !slices.Equal(got, []string{"m2"}) {
		t.Errorf("observation reconciled %v for a new m2, want [m2]", got)
	}

	// A pool: every app's placement and the lifecycle of its members
	// only.
	h.placement.reset()
	h.lifecycle.reset()
	pool := &v1alpha1.ClusterPool{
		ObjectMeta: metav1.ObjectMeta{Name: "pool-a"},
		Spec:       v1alpha1.ClusterPoolSpec{Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: "eu-west", MaxClusters: 2},
	}
	if _, err := hc.CreateClusterPool(ctx, pool); err != nil {
		t.Fatal(err)
	}
	eventually(t, "placement of default/a and lifecycle of m2 after pool-a came", func() bool {
		return h.placement.count("default/a") > 0 && h.lifecycle.count("m2") > 0
	})
	if got := h.lifecycle.keys(); !slices.Equal(got, []string{"m2"}) {
		t.Errorf("lifecycle reconciled %v for pool-a, want its member only [m2]", got)
	}

	// Requeue after: observation asks for m1 three times in all, each
	// 50 ms later, with no event in between.
	h.observation.set(func() { h.observation.again["m1"] = 3; h.observation.calls["m1"] = 0 })
	if err := hc.DeleteMemberCluster(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "observation of m1 requeued", func() bool { return h.observation.count("m1") >= 4 })

	// A failing step is retried with backoff until it succeeds.
	h.lifecycle.set(func() { h.lifecycle.failFirst["m2"] = 3; h.lifecycle.calls["m2"] = 0 })
	if err := hc.DeleteMemberCluster(ctx, "m2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "lifecycle of m2 retried past its failures", func() bool { return h.lifecycle.count("m2") >= 4 })

	stop()
	// No shell runs once Run returned: a call now would be recorded late.
	if _, err := hc.CreateFleetApp(ctx, fleetApp("b")); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*recorder{h.placement, h.deploy, h.lifecycle, h.observation} {
		r.mu.Lock()
		late := r.late
		r.mu.Unlock()
		if len(late) > 0 {
			t.Errorf("%s reconciled %v after Run returned", r.name, late)
		}
	}
}

// TestLoopResyncsEveryKey: with no event at all, every key reaches its
// shells again at each resync.
func TestLoopResyncsEveryKey(t *testing.T) {
	c := testbed.Start(t, local.ClusterSpec{Name: "hub"})
	ctx := t.Context()
	hc := testbed.FleetAPI(t, c)
	if _, err := hc.CreateMemberCluster(ctx, member("m1", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := hc.CreateFleetApp(ctx, fleetApp("a")); err != nil {
		t.Fatal(err)
	}
	h, _ := startLoop(t, hc, 100*time.Millisecond)
	// The initial list gives one call each; three more mean resyncs.
	eventually(t, "resyncs of every key", func() bool {
		return h.placement.count("default/a") >= 4 && h.deploy.count("default/a") >= 4 && h.lifecycle.count("m1") >= 4 && h.observation.count("m1") >= 4
	})
}

func TestNewLoopNeedsAHub(t *testing.T) {
	if _, err := NewLoop(LoopConfig{}); err == nil {
		t.Fatal("NewLoop without a hub: no error")
	}
}
