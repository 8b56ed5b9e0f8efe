package control_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
)

// These tests drive the shell's logic against an in-memory hub that keeps
// resourceVersions as the apiserver does (a status write carrying an old
// one is a Conflict). The shell on a real hub is in deploy_test.go, beside
// the deploy shell, and test/e2e.

var (
	key = types.NamespacedName{Namespace: "default", Name: "hello"}
	// now is the injected clock: every condition's transition time is it.
	now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func TestPlacementWritesTheDecisionAtTheVersionItRead(t *testing.T) {
	h := newHub(t, demoApp(), member("eu", "eu-west"), member("us", "us-east"))
	p := newShell(t, h)

	got, err := p.Reconcile(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1"}; !slices.Equal(h.writtenAt(), want) {
		t.Fatalf("status written at resourceVersions %v, want %v (the one read)", h.writtenAt(), want)
	}
	if got.ResourceVersion != "2" {
		t.Errorf("returned resourceVersion %s, want 2 (the app as the hub now holds it)", got.ResourceVersion)
	}
	st := got.Status
	if placed(st) != "eu=2,us=2" || st.ClustersPlaced != 2 {
		t.Errorf("placement %s (%d clusters), want eu=2,us=2: %s", placed(st), st.ClustersPlaced, st.Explanation)
	}
	if !strings.Contains(st.Explanation, "2/2 clusters fit") || st.CapacityRequest != nil || st.ObservedGeneration != 3 {
		t.Errorf("explanation %q, capacity request %v, observed generation %d; want a fit, none, 3", st.Explanation, st.CapacityRequest, st.ObservedGeneration)
	}
	c := apimeta.FindStatusCondition(st.Conditions, v1alpha1.AppPlaced)
	if c == nil || c.Status != metav1.ConditionTrue || !c.LastTransitionTime.Time.Equal(now) || c.ObservedGeneration != 3 {
		t.Errorf("Placed = %+v, want True since the injected now, for generation 3", c)
	}
	if c := apimeta.FindStatusCondition(st.Conditions, v1alpha1.AppDeployed); c != nil || len(st.Deployments) > 0 {
		t.Errorf("placement wrote deploy's fields: Deployed %+v, deployments %v", c, st.Deployments)
	}
	if want := []string{control.PlacementManager}; !slices.Equal(h.managers(), want) {
		t.Errorf("status applied by %v, want %v", h.managers(), want)
	}
}

func TestPlacementRereadsOnConflict(t *testing.T) {
	h := newHub(t, demoApp(), member("eu", "eu-west"), member("us", "us-east"))
	// Another writer changes the app between the shell's read and its
	// write, once.
	h.beforeWrite = func(app *v1alpha1.FleetApp) {
		app.Labels = map[string]string{"team": "payments"}
		h.beforeWrite = nil
	}
	p := newShell(t, h)

	got, err := p.Reconcile(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if h.gets != 2 {
		t.Errorf("read the app %d times, want 2 (once more after the Conflict)", h.gets)
	}
	if want := []string{"1", "2"}; !slices.Equal(h.writtenAt(), want) {
		t.Errorf("status writes at %v, want %v: refused at the stale version, done at the fresh one", h.writtenAt(), want)
	}
	if placed(got.Status) != "eu=2,us=2" || got.Labels["team"] != "payments" {
		t.Errorf("after the retry: placement %s, labels %v; want eu=2,us=2 over the other writer's change", placed(got.Status), got.Labels)
	}
}

func TestPlacementGivesUpAfterBoundedConflicts(t *testing.T) {
	h := newHub(t, demoApp(), member("eu", "eu-west"))
	h.beforeWrite = func(app *v1alpha1.FleetApp) { app.Labels = map[string]string{"bump": strconv.Itoa(h.gets)} }
	p := newShell(t, h)

	_, err := p.Reconcile(t.Context(), key)
	if !apierrors.IsConflict(err) {
		t.Fatalf("error %v, want the last Conflict", err)
	}
	if h.gets != 5 {
		t.Errorf("%d attempts, want 5", h.gets)
	}
}

func TestPlacementIsIdempotent(t *testing.T) {
	h := newHub(t, demoApp(), member("eu", "eu-west"), member("us", "us-east"))
	p := newShell(t, h)
	ctx := t.Context()

	first, err := p.Reconcile(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	// The second run re-decides with the first decision as the previous
	// one: placement keeps it and says so ("kept"), which is the one thing
	// it writes.
	second, err := p.Reconcile(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if placed(second.Status) != placed(first.Status) || !strings.Contains(second.Status.Explanation, "(kept)") {
		t.Errorf("second run placed %s (%s), want the first decision %s, kept", placed(second.Status), second.Status.Explanation, placed(first.Status))
	}
	a, b := apimeta.FindStatusCondition(first.Status.Conditions, v1alpha1.AppPlaced), apimeta.FindStatusCondition(second.Status.Conditions, v1alpha1.AppPlaced)
	if a.Status != b.Status || !a.LastTransitionTime.Equal(&b.LastTransitionTime) {
		t.Errorf("Placed moved from %+v to %+v", a, b)
	}
	// From then on a run finds nothing to change and writes nothing.
	writes := len(h.writtenAt())
	third, err := p.Reconcile(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.writtenAt()) != writes || third.ResourceVersion != second.ResourceVersion {
		t.Errorf("third run wrote (writes %d -> %d, resourceVersion %s -> %s)", writes, len(h.writtenAt()), second.ResourceVersion, third.ResourceVersion)
	}
}

func TestPlacementConcurrentCallsConverge(t *testing.T) {
	// Two calls one after the other ...
	seq := newHub(t, demoApp(), member("eu", "eu-west"), member("us", "us-east"))
	ps := newShell(t, seq)
	for range 2 {
		if _, err := ps.Reconcile(t.Context(), key); err != nil {
			t.Fatal(err)
		}
	}

	// ... and ten at once end in the same status.
	h := newHub(t, demoApp(), member("eu", "eu-west"), member("us", "us-east"))
	p := newShell(t, h)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() { _, errs[i] = p.Reconcile(t.Context(), key) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got, want := h.app().Status, seq.app().Status; !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("ten calls at once ended in\n%+v\nwant what two in a row end in\n%+v", got, want)
	}
}

func TestPlacementShortFleetAsksForCapacity(t *testing.T) {
	// One replica of 40 cpu fits on each 48-cpu member: two of four find
	// no cluster.
	app := demoApp()
	app.Spec.Demand.CPU = resource.MustParse("40")
	h := newHub(t, app, member("eu", "eu-west"), member("us", "us-east"))
	p := newShell(t, h)

	got, err := p.Reconcile(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	c := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.AppPlaced)
	if got.Status.CapacityRequest == nil || got.Status.CapacityRequest.Replicas != 2 || c == nil || c.Status != metav1.ConditionFalse || c.Message != got.Status.Explanation {
		t.Errorf("capacity request %+v, Placed %+v; want a request and Placed False with the explanation", got.Status.CapacityRequest, c)
	}
}

func TestPlacementAsksAPoolForClusters(t *testing.T) {
	// The demo app wants two clusters in ap-south, where no member runs:
	// the pool there creates them, twice the same names.
	app := demoApp()
	app.UID = "0b9e4c1a-5d2f-4e8b-a7c3-19f0d2e6b854"
	app.Spec.Placement.RequiredRegions = []string{"ap-south"}
	h := newHub(t, app, member("eu", "eu-west"))
	h.pools = []v1alpha1.ClusterPool{{
		ObjectMeta: metav1.ObjectMeta{Name: "ap-burst"},
		Spec: v1alpha1.ClusterPoolSpec{Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: "ap-south", Nodes: 1, Tier: 1, MaxClusters: 3,
			NodeCapacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi")}},
	}}
	p := newShell(t, h)
	got, err := p.Reconcile(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	req := got.Status.CapacityRequest
	if req == nil || req.Pool != "ap-burst" || req.CreateCount != 2 || len(req.Create) != 2 || !strings.HasPrefix(req.Create[0], "ap-burst-") {
		t.Fatalf("capacity request %+v; want two clusters named from pool ap-burst (%s)", req, got.Status.Explanation)
	}
	// The shell created them from the pool, for lifecycle to provision.
	for _, name := range req.Create {
		mc := h.member(name)
		if mc == nil || mc.Spec.PoolRef == nil || mc.Spec.PoolRef.Name != "ap-burst" || mc.Spec.Region != "ap-south" || mc.Spec.Provider.Name != "local" ||
			!slices.Contains(mc.Finalizers, control.Finalizer) || mc.Labels[control.PoolLabel] != "ap-burst" {
			t.Fatalf("member %s = %+v; want one made from pool ap-burst, with lifecycle's finalizer", name, mc)
		}
	}
	// On their way, they are coming capacity: a second decision asks for
	// nothing more, and creates nothing twice.
	again, err := p.Reconcile(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if r := again.Status.CapacityRequest; r != nil && len(r.Create) > 0 {
		t.Fatalf("second decision asks for %v while %v are coming", r.Create, req.Create)
	}
	if n := len(h.memberNames()); n != 3 {
		t.Errorf("%d members, want 3 (eu and the two created once)", n)
	}
}

func TestPlacementInvalidPolicyKeepsThePreviousPlacement(t *testing.T) {
	h := newHub(t, demoApp(), member("eu", "eu-west"), member("us", "us-east"))
	p := newShell(t, h)
	if _, err := p.Reconcile(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	h.edit(func(app *v1alpha1.FleetApp) {
		app.Generation++
		app.Spec.Placement.ClusterSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: "Sometimes"}}}
	})

	got, err := p.Reconcile(t.Context(), key)
	if err == nil || !strings.Contains(err.Error(), "clusterSelector") {
		t.Fatalf("error %v, want the selector's", err)
	}
	c := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.AppPlaced)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "InvalidPolicy" || c.ObservedGeneration != 4 {
		t.Errorf("Placed = %+v, want False, InvalidPolicy, generation 4", c)
	}
	if placed(got.Status) != "eu=2,us=2" || got.Status.ObservedGeneration != 3 {
		t.Errorf("placement %s for generation %d, want eu=2,us=2 for 3 (kept)", placed(got.Status), got.Status.ObservedGeneration)
	}
}

func TestPlacementLeavesAnAppBeingDeleted(t *testing.T) {
	h := newHub(t, demoApp(), member("eu", "eu-west"))
	h.edit(func(app *v1alpha1.FleetApp) {
		app.DeletionTimestamp = &metav1.Time{Time: now}
		app.Finalizers = []string{control.DeployFinalizer}
	})
	got, err := newShell(t, h).Reconcile(t.Context(), key)
	if err != nil || got == nil || len(got.Status.Placement) > 0 || len(h.writtenAt()) > 0 {
		t.Fatalf("got %v, %v after %d writes; want the app as it is, no decision written for an app on its way out", got, err, len(h.writtenAt()))
	}
}

func TestPlacementOfADeletedApp(t *testing.T) {
	h := newHub(t, demoApp(), member("eu", "eu-west"))
	h.edit(func(app *v1alpha1.FleetApp) { app.Name = "other" })
	p := newShell(t, h)
	got, err := p.Reconcile(t.Context(), key)
	if got != nil || err != nil {
		t.Fatalf("got %v, %v; want nothing to do", got, err)
	}
}

func newShell(t *testing.T, h control.AppHub) *control.Placement {
	t.Helper()
	p, err := control.NewPlacement(control.PlacementConfig{Hub: h, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func demoApp() *v1alpha1.FleetApp {
	return &v1alpha1.FleetApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Generation: 3},
		Spec: v1alpha1.FleetAppSpec{
			App:    v1alpha1.FnApp{Name: "hello", Functions: []v1alpha1.Function{{Name: "echo", Image: "fnfleet/echo:0.0.1"}}},
			Demand: v1alpha1.Demand{Replicas: 4, CPU: resource.MustParse("250m"), Memory: resource.MustParse("256Mi")},
			Placement: v1alpha1.PlacementPolicy{
				Spread:          &v1alpha1.SpreadPolicy{MinClusters: 2, TopologyKey: "region"},
				ReplicaDivision: &v1alpha1.ReplicaDivision{Mode: v1alpha1.Divided, Weighting: v1alpha1.WeightFreeCapacity},
			},
		},
	}
}

// member is a Ready, healthy member with room for the demo app, beating
// at now.
func member(name, region string) v1alpha1.MemberCluster {
	cost := resource.MustParse("0.40")
	hb := metav1.NewTime(now)
	return v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.MemberClusterSpec{Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: region, Tier: 1, CostPerHour: &cost},
		Status: v1alpha1.MemberClusterStatus{
			Phase: v1alpha1.PhaseReady,
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("48"), corev1.ResourceMemory: resource.MustParse("192Gi"), corev1.ResourcePods: resource.MustParse("330"),
			},
			Used:              corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")},
			FnEndpoint:        "http://" + name + ".fn:8080",
			Conditions:        []metav1.Condition{{Type: v1alpha1.ClusterHealthy, Status: metav1.ConditionTrue, Reason: "FnInstalled", LastTransitionTime: hb}},
			LastHeartbeatTime: &hb,
		},
	}
}

// hub holds one FleetApp and its members, with the apiserver's optimistic
// concurrency: every write bumps the resourceVersion, and a status write
// at another one is a Conflict.
type hub struct {
	mu        sync.Mutex
	fa        *v1alpha1.FleetApp
	members   []v1alpha1.MemberCluster
	pools     []v1alpha1.ClusterPool
	rv        int
	gets      int
	written   []string // the resourceVersion each status write carried
	appliedBy []string // the field manager of each status write that landed
	// beforeWrite, when set, plays another writer that changes the app
	// just before a status write lands.
	beforeWrite func(*v1alpha1.FleetApp)
}

func newHub(t *testing.T, app *v1alpha1.FleetApp, members ...v1alpha1.MemberCluster) *hub {
	t.Helper()
	h := &hub{fa: app.DeepCopy(), members: members, rv: 1}
	h.fa.ResourceVersion = "1"
	return h
}

var gr = schema.GroupResource{Group: v1alpha1.Group, Resource: "fleetapps"}

func (h *hub) GetFleetApp(_ context.Context, namespace, name string) (*v1alpha1.FleetApp, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gets++
	if h.fa.Namespace != namespace || h.fa.Name != name {
		return nil, fmt.Errorf("get FleetApp: %w", apierrors.NewNotFound(gr, name))
	}
	return h.fa.DeepCopy(), nil
}

func (h *hub) ListMemberClusters(context.Context) (*v1alpha1.MemberClusterList, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := &v1alpha1.MemberClusterList{}
	for i := range h.members {
		list.Items = append(list.Items, *h.members[i].DeepCopy())
	}
	return list, nil
}

func (h *hub) ListClusterPools(context.Context) (*v1alpha1.ClusterPoolList, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := &v1alpha1.ClusterPoolList{}
	for i := range h.pools {
		list.Items = append(list.Items, *h.pools[i].DeepCopy())
	}
	return list, nil
}

func (h *hub) CreateMemberCluster(_ context.Context, mc *v1alpha1.MemberCluster) (*v1alpha1.MemberCluster, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if slices.ContainsFunc(h.members, func(o v1alpha1.MemberCluster) bool { return o.Name == mc.Name }) {
		return nil, apierrors.NewAlreadyExists(schema.GroupResource{Group: "fnfleet.dev", Resource: "memberclusters"}, mc.Name)
	}
	h.members = append(h.members, *mc.DeepCopy())
	return mc.DeepCopy(), nil
}

// ApplyFleetAppStatus plays server-side apply for placement's fields: it
// sets them as st has them, and merges st's conditions by type.
func (h *hub) ApplyFleetAppStatus(_ context.Context, _, name, resourceVersion, manager string, st *v1alpha1.FleetAppStatus) (*v1alpha1.FleetApp, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.written = append(h.written, resourceVersion)
	if h.beforeWrite != nil {
		h.beforeWrite(h.fa)
		h.bump()
	}
	if resourceVersion != h.fa.ResourceVersion {
		// As the hub client returns it: wrapped.
		return nil, fmt.Errorf("apply FleetApp status: %w", apierrors.NewConflict(gr, name, errors.New("the object has been modified")))
	}
	h.appliedBy = append(h.appliedBy, manager)
	have := &h.fa.Status
	have.Placement, have.ClustersPlaced, have.Explanation = slices.Clone(st.Placement), st.ClustersPlaced, st.Explanation
	have.CapacityRequest, have.ObservedGeneration = st.CapacityRequest.DeepCopy(), st.ObservedGeneration
	for _, c := range st.Conditions {
		apimeta.SetStatusCondition(&have.Conditions, c)
	}
	h.bump()
	return h.fa.DeepCopy(), nil
}

func (h *hub) bump() {
	h.rv++
	h.fa.ResourceVersion = strconv.Itoa(h.rv)
}

// edit changes the stored app as a user's kubectl would.
func (h *hub) edit(change func(*v1alpha1.FleetApp)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	change(h.fa)
	h.bump()
}

func (h *hub) app() *v1alpha1.FleetApp {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fa.DeepCopy()
}

func (h *hub) member(name string) *v1alpha1.MemberCluster {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.members {
		if h.members[i].Name == name {
			return h.members[i].DeepCopy()
		}
	}
	return nil
}

func (h *hub) memberNames() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var names []string
	for i := range h.members {
		names = append(names, h.members[i].Name)
	}
	return names
}

func (h *hub) managers() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.appliedBy)
}

func (h *hub) writtenAt() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.written...)
}

// placed is the placement as "cluster=replicas,...".
func placed(st v1alpha1.FleetAppStatus) string {
	parts := make([]string, len(st.Placement))
	for i, p := range st.Placement {
		parts[i] = fmt.Sprintf("%s=%d", p.Cluster, p.Replicas)
	}
	return strings.Join(parts, ",")
}
