package control_test

import (
	"context"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	fleethub "github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/installer"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// A cluster's day, on real parts with a clock the test controls: the three
// shells (placement, lifecycle, observation) drive a pool's cluster that
// serves an app for two hours, loses it, rides out an unreadable kubeconfig
// Secret and a member apiserver that stops answering, parks one idleTTL
// after the app left, stays parked three hours (longer than the heartbeat
// timeout), and is woken for the app again, with no second cluster.
func TestLifecycleOverHours(t *testing.T) {
	b := newBed(t)
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	clock := &fakeClock{t: time.Now().UTC().Truncate(time.Second)}
	const idleTTL = 30 * time.Minute
	poolSpec := localPool("day", 2)
	poolSpec.Spec.Parking = &v1alpha1.ParkingPolicy{IdleTTL: &metav1.Duration{Duration: idleTTL}}
	if _, err := b.hub.CreateClusterPool(ctx, poolSpec); err != nil {
		t.Fatal(err)
	}
	s := newShells(t, b, clock)

	// Morning: the app arrives, a cluster is created for it.
	s.apply(t, ctx)
	name := s.settle(t, ctx, true, func(app *v1alpha1.FleetApp) bool {
		return len(app.Status.Placement) == 1 && apimeta.IsStatusConditionTrue(app.Status.Conditions, v1alpha1.AppDeployed)
	})
	mc := s.member(t, ctx, name)
	if got := invoke(t, ctx, mc.Status.FnEndpoint, "morning"); got != "morning" {
		t.Fatalf("echo answered %q", got)
	}
	cameUp := mc.Status.PhaseSince.Time
	if mc.Status.PlacedApps != 1 || mc.Status.IdleSince != nil {
		t.Errorf("serving the app: placedApps %d, idleSince %v; want 1, none", mc.Status.PlacedApps, mc.Status.IdleSince)
	}

	// Two hours later the app leaves. The idle clock starts now, not when
	// the cluster came up two hours ago.
	clock.advance(2 * time.Hour)
	s.observe(t, ctx, name)
	if err := b.hub.DeleteFleetApp(ctx, s.key.Namespace, s.key.Name); err != nil {
		t.Fatal(err)
	}
	// Deploy's finalizer holds the app until its Fn app is off the member.
	if app, err := s.deploy.Reconcile(ctx, s.key); err != nil || app != nil {
		t.Fatalf("deploy of the deleted app = %v, %v; want it removed and gone", app, err)
	}
	left := clock.now()
	s.step(t, ctx, name)
	mc = s.member(t, ctx, name)
	if mc.Status.Phase != v1alpha1.PhaseReady || mc.Status.IdleSince == nil || !mc.Status.IdleSince.Time.Equal(left) || mc.Status.PlacedApps != 0 {
		t.Fatalf("the app left after 2h Ready: phase %s, idleSince %v, placedApps %d; want Ready, idle since %v, 0",
			mc.Status.Phase, mc.Status.IdleSince, mc.Status.PlacedApps, left)
	}
	s.observe(t, ctx, name)
	checkOwners(t, s.member(t, ctx, name))

	// The kubeconfig Secret cannot be read for a while (lifecycle's access
	// to Secrets is revoked): Ready holds, says why, and no clock moves.
	clock.advance(time.Minute)
	s.revokeSecrets(t, ctx)
	s.step(t, ctx, name)
	held(t, s.member(t, ctx, name), cameUp, left, "forbidden")
	s.grantSecrets(t, ctx)
	s.stepUntil(t, ctx, name, fnInstalled(metav1.ConditionTrue))

	// The member's apiserver stops answering for a while: the same.
	apiserver := s.apiserverPID(t, name)
	if err := syscall.Kill(apiserver, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			_ = syscall.Kill(apiserver, syscall.SIGCONT)
		}
	}()
	s.step(t, ctx, name)
	held(t, s.member(t, ctx, name), cameUp, left, "not serving")
	if err := syscall.Kill(apiserver, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	s.stepUntil(t, ctx, name, fnInstalled(metav1.ConditionTrue))

	// It parks one idleTTL after the app left, not before.
	clock.set(left.Add(idleTTL - time.Minute))
	s.observe(t, ctx, name)
	s.step(t, ctx, name)
	if mc := s.member(t, ctx, name); mc.Status.Phase != v1alpha1.PhaseReady {
		t.Fatalf("%v after the app left: phase %s, want Ready until the idleTTL (%v) has passed", idleTTL-time.Minute, mc.Status.Phase, idleTTL)
	}
	clock.set(left.Add(idleTTL + time.Second))
	s.stepUntil(t, ctx, name, phaseIs(v1alpha1.PhaseParked))

	// Three hours parked, longer than the heartbeat timeout (10m); then
	// the app is back. The parked cluster is woken, and while it is Ready
	// but not yet looked at by observation, placement does not ask for a
	// second cluster.
	clock.advance(3 * time.Hour)
	s.apply(t, ctx)
	s.settle(t, ctx, false, func(*v1alpha1.FleetApp) bool {
		return s.member(t, ctx, name).Status.Phase == v1alpha1.PhaseReady
	})
	app := s.place(t, ctx)
	if members := s.members(t, ctx); !slices.Equal(members, []string{name}) {
		t.Fatalf("members %v after the wake, want only %s (%s)", members, name, app.Status.Explanation)
	}
	if r := app.Status.CapacityRequest; r != nil && (len(r.Create) > 0 || r.CreateCount > 0) {
		t.Fatalf("capacity request %+v asks for a new cluster while %s is Ready and not yet observed (%s)", r, name, app.Status.Explanation)
	}
	s.settle(t, ctx, true, func(app *v1alpha1.FleetApp) bool {
		return len(app.Status.Placement) == 1 && app.Status.Placement[0].Cluster == name && apimeta.IsStatusConditionTrue(app.Status.Conditions, v1alpha1.AppDeployed)
	})
	if got := invoke(t, ctx, s.member(t, ctx, name).Status.FnEndpoint, "evening"); got != "evening" {
		t.Errorf("echo answered %q after the wake", got)
	}
	if members := s.members(t, ctx); !slices.Equal(members, []string{name}) {
		t.Errorf("members %v, want only %s", members, name)
	}
	if p, err := b.hub.GetClusterPool(ctx, "day"); err != nil || p.Status.Clusters != 1 || p.Status.Ready != 1 || len(p.Status.Admitted) != 1 {
		t.Errorf("pool status %+v (%v), want 1 cluster, Ready, admitted", p.Status, err)
	}
}

// shells are the three shells on one clock, lifecycle's hub access through
// an identity whose Secret access a test can revoke.
type shells struct {
	b           *bed
	clock       *fakeClock
	admin       kubernetes.Interface
	placement   *control.Placement
	deploy      *control.Deploy
	lifecycle   *control.Lifecycle
	observation *control.Observation
	key         types.NamespacedName
}

// lifecycleUser is the identity lifecycle's hub client acts as: the
// ClusterRole lifecycle needs, with Secrets in a binding of their own.
const lifecycleUser = "fnfleet-lifecycle-test"

func newShells(t *testing.T, b *bed, clock *fakeClock) *shells {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(b.hubKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	s := &shells{b: b, clock: clock, admin: kubernetes.NewForConfigOrDie(cfg), key: types.NamespacedName{Namespace: "default", Name: "hello"}}
	ctx := t.Context()
	for _, role := range []*rbacv1.ClusterRole{
		{ObjectMeta: metav1.ObjectMeta{Name: lifecycleUser}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{v1alpha1.GroupVersion().Group}, Resources: []string{"*"}, Verbs: []string{"*"}},
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "create"}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: lifecycleUser + "-secrets"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"*"}},
		}},
	} {
		if _, err := s.admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.admin.RbacV1().ClusterRoleBindings().Create(ctx, binding(lifecycleUser), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.grantSecrets(t, ctx)
	as := rest.CopyConfig(cfg)
	as.Impersonate = rest.ImpersonationConfig{UserName: lifecycleUser}
	lifecycleHub, err := fleethub.New(as)
	if err != nil {
		t.Fatal(err)
	}
	if s.lifecycle, err = control.NewLifecycle(control.LifecycleConfig{
		Hub: lifecycleHub, Providers: map[string]providers.Provider{"local": b.driver},
		Installer: installer.New(testbed.Logger(t)), Now: clock.now, Logger: testbed.Logger(t),
	}); err != nil {
		t.Fatal(err)
	}
	if s.observation, err = control.NewObservation(control.ObservationConfig{Hub: b.hub, Now: clock.now, Logger: testbed.Logger(t)}); err != nil {
		t.Fatal(err)
	}
	if s.placement, err = control.NewPlacement(control.PlacementConfig{Hub: b.hub, Now: clock.now, Logger: testbed.Logger(t)}); err != nil {
		t.Fatal(err)
	}
	if s.deploy, err = control.NewDeploy(control.DeployConfig{Hub: b.hub, Fn: fndeploy.Deployer{}, Now: clock.now, Logger: testbed.Logger(t)}); err != nil {
		t.Fatal(err)
	}
	return s
}

func binding(role string) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: lifecycleUser}},
	}
}

func (s *shells) grantSecrets(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := s.admin.RbacV1().ClusterRoleBindings().Create(ctx, binding(lifecycleUser+"-secrets"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// revokeSecrets takes lifecycle's access to Secrets away and returns once
// the hub refuses it.
func (s *shells) revokeSecrets(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := s.admin.RbacV1().ClusterRoleBindings().Delete(ctx, lifecycleUser+"-secrets", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		review, err := s.admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, secretsReview(), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !review.Status.Allowed {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("the hub still lets lifecycle read Secrets")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func secretsReview() *authorizationv1.SubjectAccessReview {
	return &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               lifecycleUser,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: control.DefaultSecretNamespace},
	}}
}

// apply creates the app: an echo function that must run in eu-west.
func (s *shells) apply(t *testing.T, ctx context.Context) {
	t.Helper()
	app := &v1alpha1.FleetApp{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.key.Namespace, Name: s.key.Name},
		Spec: v1alpha1.FleetAppSpec{
			App:       *echoApp(s.b),
			Demand:    v1alpha1.Demand{Replicas: 1, CPU: resource.MustParse("100m"), Memory: resource.MustParse("64Mi")},
			Placement: v1alpha1.PlacementPolicy{RequiredRegions: []string{"eu-west"}},
		},
	}
	if _, err := s.b.hub.CreateFleetApp(ctx, app); err != nil {
		t.Fatal(err)
	}
}

// settle runs rounds of the shells (placement, deploy, lifecycle of every
// member, and observation of every member when observing) at the test's time until
// done holds for the app, and returns the name of its first placement.
func (s *shells) settle(t *testing.T, ctx context.Context, observing bool, done func(*v1alpha1.FleetApp) bool) string {
	t.Helper()
	for {
		app := s.place(t, ctx)
		for _, name := range s.members(t, ctx) {
			_, _ = s.lifecycle.Reconcile(ctx, name) // failures are in the status
			if observing {
				_, _ = s.observation.Reconcile(ctx, name)
			}
		}
		if app != nil && done(app) {
			if len(app.Status.Placement) > 0 {
				return app.Status.Placement[0].Cluster
			}
			return ""
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the fleet did not settle in time; app status %+v", app)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// place is a call of placement then one of deploy, as the placement
// function's event calls the deploy function; it returns the app as
// deploy left it.
func (s *shells) place(t *testing.T, ctx context.Context) *v1alpha1.FleetApp {
	t.Helper()
	if _, err := s.placement.Reconcile(ctx, s.key); err != nil {
		t.Logf("placement: %v", err)
	}
	app, err := s.deploy.Reconcile(ctx, s.key)
	if err != nil {
		t.Logf("deploy: %v", err)
		if app, err = s.b.hub.GetFleetApp(ctx, s.key.Namespace, s.key.Name); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	return app
}

func (s *shells) observe(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if _, err := s.observation.Reconcile(ctx, name); err != nil {
		t.Fatal(err)
	}
}

// step is one lifecycle call, whose outcome is in the status.
func (s *shells) step(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if _, err := s.lifecycle.Reconcile(ctx, name); err != nil {
		t.Logf("lifecycle: %v", err)
	}
}

// stepUntil calls lifecycle until done holds for the cluster.
func (s *shells) stepUntil(t *testing.T, ctx context.Context, name string, done func(*v1alpha1.MemberCluster) bool) {
	t.Helper()
	drive(t, ctx, s.b, s.lifecycle, name, 1, done)
}

func (s *shells) member(t *testing.T, ctx context.Context, name string) *v1alpha1.MemberCluster {
	t.Helper()
	mc, err := s.b.hub.GetMemberCluster(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

func (s *shells) members(t *testing.T, ctx context.Context) []string {
	t.Helper()
	list, err := s.b.hub.ListMemberClusters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mc := range list.Items {
		names = append(names, mc.Name)
	}
	slices.Sort(names)
	return names
}

// apiserverPID is the pid of the member's kube-apiserver.
func (s *shells) apiserverPID(t *testing.T, name string) int {
	t.Helper()
	procs, err := s.b.local.ProcessesOf(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if p.Name == "kube-apiserver" {
			return p.PID
		}
	}
	t.Fatalf("no kube-apiserver among %v", procs)
	return 0
}

func fnInstalled(status metav1.ConditionStatus) func(*v1alpha1.MemberCluster) bool {
	return func(mc *v1alpha1.MemberCluster) bool {
		c := apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ClusterFnInstalled)
		return c != nil && c.Status == status
	}
}

// held checks that a cluster whose inside could not be read stayed Ready,
// came up and became idle when it did, and says why in FnInstalled.
func held(t *testing.T, mc *v1alpha1.MemberCluster, cameUp, idle time.Time, why string) {
	t.Helper()
	c := apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ClusterFnInstalled)
	if mc.Status.Phase != v1alpha1.PhaseReady || c == nil || c.Status != metav1.ConditionUnknown || !strings.Contains(c.Message, why) {
		t.Errorf("phase %s, FnInstalled %+v; want Ready held, FnInstalled Unknown saying %q", mc.Status.Phase, c, why)
	}
	if !mc.Status.PhaseSince.Time.Equal(cameUp) || mc.Status.IdleSince == nil || !mc.Status.IdleSince.Time.Equal(idle) {
		t.Errorf("phaseSince %v, idleSince %v; want them kept at %v and %v", mc.Status.PhaseSince, mc.Status.IdleSince, cameUp, idle)
	}
}

// checkOwners checks, on fields the real shells wrote, that each has one
// writer: lifecycle's fields are lifecycle's alone, reconcile's
// reconcile's.
func checkOwners(t *testing.T, mc *v1alpha1.MemberCluster) {
	t.Helper()
	lc, rc := ownedStatus(t, mc, control.LifecycleManager), ownedStatus(t, mc, control.ReconcileManager)
	for _, f := range []string{"f:phase", "f:phaseSince", "f:fnEndpoint", "f:kubeconfigSecretRef", "f:idleSince",
		`f:conditions/k:{"type":"FnInstalled"}`, `f:conditions/k:{"type":"Provisioned"}`} {
		if !lc[f] || rc[f] {
			t.Errorf("%s: owned by lifecycle %v, by reconcile %v; want lifecycle only", f, lc[f], rc[f])
		}
	}
	for _, f := range []string{"f:capacity", "f:allocatable", "f:used", "f:lastHeartbeatTime", "f:ingress", `f:conditions/k:{"type":"Healthy"}`} {
		if !rc[f] || lc[f] {
			t.Errorf("%s: owned by reconcile %v, by lifecycle %v; want reconcile only", f, rc[f], lc[f])
		}
	}
}
