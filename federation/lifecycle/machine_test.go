package lifecycle

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/parking"
)

var now = time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)

const endpoint = "http://127.0.1.5:8080"

// Observations.
var (
	absent   = Observed{}
	creating = Observed{Exists: true, Progress: ProgressCreating, Message: "control plane 2/3"}
	booting  = Observed{Exists: true, Progress: ProgressRunning}
	up       = Observed{Exists: true, Progress: ProgressRunning, KubeconfigReady: true, FnEndpoint: endpoint, Nodes: 2}
	pending  = with(up, func(o *Observed) { o.Release = Release{Name: "fn", Pending: true} })
	deployed = with(up, func(o *Observed) { o.Release = Release{Name: "fn", Revision: 1, Deployed: true} })
	serving  = with(deployed, func(o *Observed) { o.FnAnswering = true })
	stopped  = Observed{Exists: true, Progress: ProgressStopped, KubeconfigReady: true, Nodes: 2}
	zeroed   = with(serving, func(o *Observed) { o.Nodes = 0; o.FnAnswering = false })
	broken   = Observed{Exists: true, Progress: ProgressFailed, Message: "quota exceeded"}
	leaving  = Observed{Exists: true, Progress: ProgressDeleting}
	// unread: the provider reports the cluster running, but its inside
	// (kubeconfig, Helm release) could not be read this time.
	unread = Observed{Exists: true, Progress: ProgressRunning, Nodes: 2, Unknown: "read the Fn release: connection refused"}
)

func with(o Observed, f func(*Observed)) Observed { f(&o); return o }

// Parking answers.
var (
	runs     = parking.Answer{Run: true, Schedulable: true, Reason: parking.ReasonPlaced, Message: "runs: 1 app placed"}
	idle     = parking.Answer{Schedulable: true, Reason: parking.ReasonIdle, Message: "parked: no apps since 11:00 UTC, longer than its 20m idleTTL"}
	windowed = parking.Answer{Reason: parking.ReasonWindow, Message: "parked: hibernation window"}
	draining = parking.Answer{Run: true, Reason: parking.ReasonWindowAhead, Message: "runs: 1 app placed; unschedulable: window opens in 4m"}
)

type spec func(*v1alpha1.MemberCluster)

func provider(name string) spec {
	return func(mc *v1alpha1.MemberCluster) { mc.Spec.Provider.Name = name }
}

func mode(m v1alpha1.ParkingMode) spec {
	return func(mc *v1alpha1.MemberCluster) { mc.Spec.Parking = &v1alpha1.ParkingPolicy{Mode: m} }
}

func deleted(mc *v1alpha1.MemberCluster) {
	t := metav1.NewTime(now.Add(-time.Minute))
	mc.DeletionTimestamp = &t
}

// failedCreate: the failure was a create the provider reported failed.
func failedCreate(mc *v1alpha1.MemberCluster) {
	mc.Status.Conditions = append(mc.Status.Conditions, metav1.Condition{Type: v1alpha1.ClusterProvisioned, Status: metav1.ConditionFalse, Reason: ReasonProvisionFailed})
}

// unreadFor: FnInstalled turned Unknown d ago (the inside has been
// unreadable since).
func unreadFor(d time.Duration) spec {
	return func(mc *v1alpha1.MemberCluster) {
		mc.Status.Conditions = append(mc.Status.Conditions, metav1.Condition{Type: v1alpha1.ClusterFnInstalled,
			Status: metav1.ConditionUnknown, Reason: ReasonNotObserved, LastTransitionTime: metav1.NewTime(now.Add(-d))})
	}
}

func failures(n int32) spec { return func(mc *v1alpha1.MemberCluster) { mc.Status.Failures = n } }

func desired(n int32) spec { return func(mc *v1alpha1.MemberCluster) { mc.Status.DesiredNodes = n } }

// busy is a cluster with autoscale whose pods request 90% of its cpu.
func busy(mc *v1alpha1.MemberCluster) {
	mc.Spec.NodeAutoscale = &v1alpha1.NodeAutoscale{ScaleUpPercent: 80, ScaleDownPercent: 30, Step: 1, MinNodes: 1, MaxNodes: 5}
	mc.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi")}
	mc.Status.Used = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("7200m"), corev1.ResourceMemory: resource.MustParse("4Gi")}
}

func scaledAgo(d time.Duration) spec {
	return func(mc *v1alpha1.MemberCluster) { t := metav1.NewTime(now.Add(-d)); mc.Status.LastScaleTime = &t }
}

func member(phase v1alpha1.ClusterPhase, age time.Duration, specs ...spec) *v1alpha1.MemberCluster {
	since := metav1.NewTime(now.Add(-age))
	mc := &v1alpha1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "eu-1-a", Generation: 3},
		Spec:       v1alpha1.MemberClusterSpec{Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: "eu-1"},
		Status:     v1alpha1.MemberClusterStatus{Phase: phase, PhaseSince: &since, FnEndpoint: endpoint},
	}
	for _, s := range specs {
		s(mc)
	}
	return mc
}

type want struct {
	phase   v1alpha1.ClusterPhase
	action  Action
	next    time.Duration // from now
	gone    bool
	cond    string // a condition type to check, with status and reason
	status  metav1.ConditionStatus
	reason  string
	message string // a substring of the condition's message, or of the decision's
}

func TestStep(t *testing.T) {
	const poll, resync = 10 * time.Second, 5 * time.Minute
	none := Action{}
	for _, tc := range []struct {
		name string
		mc   *v1alpha1.MemberCluster
		obs  Observed
		p    parking.Answer
		want want
	}{
		// Pending
		{"pending -> provisioning", member("", 0), absent, runs,
			want{phase: v1alpha1.PhaseProvisioning, action: none, cond: v1alpha1.ClusterProvisioned, status: metav1.ConditionFalse, reason: ReasonNotCreated}},
		{"pending, nothing needs it -> parked, not created", member(v1alpha1.PhasePending, 0), absent, idle,
			want{phase: v1alpha1.PhaseParked, cond: v1alpha1.ClusterParked, status: metav1.ConditionTrue, reason: string(parking.ReasonIdle)}},

		// Provisioning
		{"provisioning: create", member(v1alpha1.PhaseProvisioning, time.Second), absent, runs,
			want{phase: v1alpha1.PhaseProvisioning, action: Action{Kind: ActCreate}, next: poll}},
		{"provisioning: creating, wait", member(v1alpha1.PhaseProvisioning, time.Minute), creating, runs,
			want{phase: v1alpha1.PhaseProvisioning, action: none, next: poll, cond: v1alpha1.ClusterProvisioned, status: metav1.ConditionFalse, reason: ReasonCreating, message: "control plane 2/3"}},
		{"provisioning: running without kubeconfig, wait", member(v1alpha1.PhaseProvisioning, time.Minute), booting, runs,
			want{phase: v1alpha1.PhaseProvisioning, next: poll}},
		{"provisioning: stopped leftover, start it", member(v1alpha1.PhaseProvisioning, time.Minute, desired(3)), stopped, runs,
			want{phase: v1alpha1.PhaseProvisioning, action: Action{Kind: ActUnpark, Nodes: 3}, next: poll}},
		{"provisioning -> installing", member(v1alpha1.PhaseProvisioning, time.Minute), up, runs,
			want{phase: v1alpha1.PhaseInstalling, cond: v1alpha1.ClusterProvisioned, status: metav1.ConditionTrue, reason: ReasonProvisioned}},
		{"provisioning: provider failed", member(v1alpha1.PhaseProvisioning, time.Minute), broken, runs,
			want{phase: v1alpha1.PhaseFailed, next: 10 * time.Second, cond: v1alpha1.ClusterProvisioned, status: metav1.ConditionFalse, reason: ReasonProvisionFailed, message: "quota exceeded; retry 1 at 2026-06-10T12:00:10Z, or delete the MemberCluster"}},
		{"provisioning: timeout 30m", member(v1alpha1.PhaseProvisioning, 31*time.Minute), creating, runs,
			want{phase: v1alpha1.PhaseFailed, cond: v1alpha1.ClusterProvisioned, status: metav1.ConditionFalse, reason: ReasonProvisionTimedOut, message: "not running 31m after provisioning began (limit 30m); provider local says: control plane 2/3"}},
		{"provisioning: static never creates", member(v1alpha1.PhaseProvisioning, time.Minute, provider("static")), absent, runs,
			want{phase: v1alpha1.PhaseProvisioning, action: none, next: poll, message: "waiting for the static cluster's kubeconfig Secret"}},

		// Installing
		{"installing: inside unreadable, waits rather than installs", member(v1alpha1.PhaseInstalling, time.Minute), unread, runs,
			want{phase: v1alpha1.PhaseInstalling, action: none, next: poll, cond: v1alpha1.ClusterFnInstalled, status: metav1.ConditionUnknown, reason: ReasonNotObserved, message: "connection refused"}},
		{"installing: install Fn", member(v1alpha1.PhaseInstalling, time.Second), up, runs,
			want{phase: v1alpha1.PhaseInstalling, action: Action{Kind: ActInstallFn}, next: poll, cond: v1alpha1.ClusterFnInstalled, status: metav1.ConditionFalse, reason: ReasonNotInstalled}},
		{"installing: release pending, install again (refused while a live installer holds it; recovers a dead one's)", member(v1alpha1.PhaseInstalling, time.Minute), pending, runs,
			want{phase: v1alpha1.PhaseInstalling, action: Action{Kind: ActInstallFn}, next: poll, cond: v1alpha1.ClusterFnInstalled, status: metav1.ConditionFalse, reason: ReasonInstalling}},
		{"installing: installed, endpoint silent, wait", member(v1alpha1.PhaseInstalling, time.Minute), deployed, runs,
			want{phase: v1alpha1.PhaseInstalling, action: none, next: poll, cond: v1alpha1.ClusterFnInstalled, status: metav1.ConditionFalse, reason: ReasonEndpointNotAnswering, message: "release fn revision 1 installed, Fn at " + endpoint + " does not answer"}},
		{"installing -> ready", member(v1alpha1.PhaseInstalling, time.Minute, failures(2)), serving, runs,
			want{phase: v1alpha1.PhaseReady, cond: v1alpha1.ClusterFnInstalled, status: metav1.ConditionTrue, reason: ReasonInstalled, message: "release fn revision 1, Fn answers at " + endpoint}},
		{"installing: timeout 10m", member(v1alpha1.PhaseInstalling, 11*time.Minute), deployed, runs,
			want{phase: v1alpha1.PhaseFailed, cond: v1alpha1.ClusterFnInstalled, status: metav1.ConditionFalse, reason: ReasonInstallTimedOut, message: "does not answer"}},
		{"installing: cluster lost", member(v1alpha1.PhaseInstalling, time.Minute), absent, runs,
			want{phase: v1alpha1.PhaseFailed, cond: v1alpha1.ClusterProvisioned, status: metav1.ConditionFalse, reason: ReasonClusterLost}},
		{"installing: stopped, start it", member(v1alpha1.PhaseInstalling, time.Minute), stopped, runs,
			want{phase: v1alpha1.PhaseInstalling, action: Action{Kind: ActUnpark, Nodes: 1}, next: poll}},
		{"installing: not running yet, wait", member(v1alpha1.PhaseInstalling, time.Minute), booting, runs,
			want{phase: v1alpha1.PhaseInstalling, action: none, next: poll}},

		// Ready
		{"ready at rest, resync 5m", member(v1alpha1.PhaseReady, time.Hour), serving, runs,
			want{phase: v1alpha1.PhaseReady, action: none, next: resync, cond: v1alpha1.ClusterSchedulable, status: metav1.ConditionTrue, reason: ReasonAcceptsApps}},
		{"ready: inside unreadable holds Ready (not Installing), says so", member(v1alpha1.PhaseReady, 2*time.Hour), unread, runs,
			want{phase: v1alpha1.PhaseReady, action: none, next: poll, cond: v1alpha1.ClusterFnInstalled, status: metav1.ConditionUnknown, reason: ReasonNotObserved, message: "the cluster cannot be read: read the Fn release: connection refused"}},
		{"ready: unreadable for 9m still holds", member(v1alpha1.PhaseReady, 2*time.Hour, unreadFor(9*time.Minute)), unread, runs,
			want{phase: v1alpha1.PhaseReady, action: none, next: poll}},
		{"ready: unreadable 10m59s in, looks again at the limit", member(v1alpha1.PhaseReady, 2*time.Hour, unreadFor(10*time.Minute-5*time.Second)), unread, runs,
			want{phase: v1alpha1.PhaseReady, action: none, next: 6 * time.Second}},
		{"ready: unreadable for longer than 10m -> Failed", member(v1alpha1.PhaseReady, 2*time.Hour, unreadFor(11*time.Minute)), unread, runs,
			want{phase: v1alpha1.PhaseFailed, cond: v1alpha1.ClusterFnInstalled, status: metav1.ConditionFalse, reason: ReasonUnreachable, message: "could not be read for 11m (limit 10m): read the Fn release: connection refused"}},
		{"ready: unreadable and idle still parks (parking needs only the provider)", member(v1alpha1.PhaseReady, 2*time.Hour), unread, idle,
			want{phase: v1alpha1.PhaseParking}},
		{"ready: looks again when the parking answer can change", member(v1alpha1.PhaseReady, time.Hour), serving,
			parking.Answer{Run: true, Schedulable: true, Reason: parking.ReasonIdleWithinTTL, NextChange: now.Add(3 * time.Minute)},
			want{phase: v1alpha1.PhaseReady, next: 3 * time.Minute}},
		{"ready: window ahead -> unschedulable, still ready", member(v1alpha1.PhaseReady, time.Hour), serving, draining,
			want{phase: v1alpha1.PhaseReady, action: none, cond: v1alpha1.ClusterSchedulable, status: metav1.ConditionFalse, reason: string(parking.ReasonWindowAhead), next: resync}},
		{"ready -> parking (idle)", member(v1alpha1.PhaseReady, time.Hour), serving, idle,
			want{phase: v1alpha1.PhaseParking, action: none, cond: v1alpha1.ClusterParked, status: metav1.ConditionFalse, reason: ReasonParking}},
		{"ready -> parking (window, with apps)", member(v1alpha1.PhaseReady, time.Hour), serving, windowed,
			want{phase: v1alpha1.PhaseParking, action: none, cond: v1alpha1.ClusterSchedulable, status: metav1.ConditionFalse, reason: ReasonParkedCluster}},
		{"ready: static cannot park, says how to fix", member(v1alpha1.PhaseReady, time.Hour, provider("static")), serving, idle,
			want{phase: v1alpha1.PhaseReady, action: none, cond: v1alpha1.ClusterParked, status: metav1.ConditionFalse, reason: ReasonCannotPark, message: "provider static cannot park with mode Stop; set spec.parking.mode"}},
		{"ready: capi cannot Stop", member(v1alpha1.PhaseReady, time.Hour, provider("capi"), mode(v1alpha1.ParkingStop)), serving, idle,
			want{phase: v1alpha1.PhaseReady, cond: v1alpha1.ClusterParked, reason: ReasonCannotPark}},
		{"ready -> scaling up", member(v1alpha1.PhaseReady, time.Hour, busy), serving, runs,
			want{phase: v1alpha1.PhaseScaling, action: none, message: "scaling from 2 to 3 nodes: cpu 90%"}},
		{"ready: autoscale cooldown, looks again at its end", member(v1alpha1.PhaseReady, time.Hour, busy, scaledAgo(4*time.Minute)), serving, runs,
			want{phase: v1alpha1.PhaseReady, action: none, next: time.Minute}},
		{"ready: release gone -> installing", member(v1alpha1.PhaseReady, time.Hour), up, runs,
			want{phase: v1alpha1.PhaseInstalling}},
		{"ready: cluster lost", member(v1alpha1.PhaseReady, time.Hour), absent, runs,
			want{phase: v1alpha1.PhaseFailed, cond: v1alpha1.ClusterProvisioned, reason: ReasonClusterLost, message: "provider local no longer reports the cluster"}},
		{"ready: provider failed", member(v1alpha1.PhaseReady, time.Hour), broken, runs,
			want{phase: v1alpha1.PhaseFailed, cond: v1alpha1.ClusterProvisioned, reason: ReasonProviderFailed, message: "quota exceeded"}},
		{"ready: stopped outside fnfleet -> parked", member(v1alpha1.PhaseReady, time.Hour), stopped, runs,
			want{phase: v1alpha1.PhaseParked}},

		// Scaling
		{"scaling: scale nodes", member(v1alpha1.PhaseScaling, time.Hour, busy, desired(3), scaledAgo(time.Minute)), serving, runs,
			want{phase: v1alpha1.PhaseScaling, action: Action{Kind: ActScaleNodes, Nodes: 3}, next: poll, cond: v1alpha1.ClusterNodesScaled, status: metav1.ConditionFalse, reason: ReasonScaling}},
		{"scaling -> ready at the target", member(v1alpha1.PhaseScaling, time.Hour, busy, desired(2), scaledAgo(time.Minute)), serving, runs,
			want{phase: v1alpha1.PhaseReady, cond: v1alpha1.ClusterNodesScaled, status: metav1.ConditionTrue, reason: ReasonScaled}},
		{"scaling: timeout 15m, from the last scale -> ready, NodesScaled False", member(v1alpha1.PhaseScaling, 5*time.Hour, busy, desired(3), scaledAgo(16*time.Minute)), serving, runs,
			want{phase: v1alpha1.PhaseReady, cond: v1alpha1.ClusterNodesScaled, status: metav1.ConditionFalse, reason: ReasonScaleTimedOut, message: "2 nodes 16m after asking for 3 (limit 15m)"}},
		{"scaling -> parking", member(v1alpha1.PhaseScaling, time.Minute, desired(3)), serving, idle,
			want{phase: v1alpha1.PhaseParking}},
		{"scaling: cluster lost", member(v1alpha1.PhaseScaling, time.Minute, desired(3)), absent, runs,
			want{phase: v1alpha1.PhaseFailed, reason: ReasonClusterLost, cond: v1alpha1.ClusterProvisioned}},

		// Parking
		{"parking: stop", member(v1alpha1.PhaseParking, time.Second), serving, idle,
			want{phase: v1alpha1.PhaseParking, action: Action{Kind: ActPark, Mode: v1alpha1.ParkingStop}, next: poll}},
		{"parking: scale to zero", member(v1alpha1.PhaseParking, time.Second, provider("capi"), mode(v1alpha1.ParkingScaleToZero)), serving, idle,
			want{phase: v1alpha1.PhaseParking, action: Action{Kind: ActPark, Mode: v1alpha1.ParkingScaleToZero}, next: poll}},
		{"parking: delete the cloud cluster", member(v1alpha1.PhaseParking, time.Second, provider("capi"), mode(v1alpha1.ParkingDelete)), leaving, idle,
			want{phase: v1alpha1.PhaseParking, action: Action{Kind: ActPark, Mode: v1alpha1.ParkingDelete}, next: poll}},
		{"parking -> parked (stopped)", member(v1alpha1.PhaseParking, time.Minute, failures(1)), stopped, idle,
			want{phase: v1alpha1.PhaseParked, cond: v1alpha1.ClusterParked, status: metav1.ConditionTrue, reason: string(parking.ReasonIdle)}},
		{"parking -> parked (zero workers)", member(v1alpha1.PhaseParking, time.Minute, provider("capi"), mode(v1alpha1.ParkingScaleToZero)), zeroed, idle,
			want{phase: v1alpha1.PhaseParked}},
		{"parking -> parked (deleted, MemberCluster stays)", member(v1alpha1.PhaseParking, time.Minute, mode(v1alpha1.ParkingDelete)), absent, idle,
			want{phase: v1alpha1.PhaseParked, cond: v1alpha1.ClusterProvisioned, status: metav1.ConditionFalse, reason: ReasonDeletedWhenParked}},
		{"parking: timeout 10m", member(v1alpha1.PhaseParking, 11*time.Minute), serving, idle,
			want{phase: v1alpha1.PhaseFailed, cond: v1alpha1.ClusterParked, status: metav1.ConditionFalse, reason: ReasonParkTimedOut}},
		{"parking: provider failed", member(v1alpha1.PhaseParking, time.Minute), broken, idle,
			want{phase: v1alpha1.PhaseFailed, cond: v1alpha1.ClusterParked, reason: ReasonParkFailed}},
		{"parking: a wake arrives -> unparking", member(v1alpha1.PhaseParking, time.Minute), serving, runs,
			want{phase: v1alpha1.PhaseUnparking}},

		// Parked
		{"parked at rest", member(v1alpha1.PhaseParked, time.Hour, failures(0)), stopped, idle,
			want{phase: v1alpha1.PhaseParked, action: none, next: resync, cond: v1alpha1.ClusterSchedulable, status: metav1.ConditionFalse, reason: ReasonParkedCluster}},
		{"parked: woken -> unparking", member(v1alpha1.PhaseParked, time.Hour), stopped, runs,
			want{phase: v1alpha1.PhaseUnparking, cond: v1alpha1.ClusterParked, status: metav1.ConditionFalse, reason: ReasonWaking}},
		{"parked (Delete): woken -> provisioned afresh", member(v1alpha1.PhaseParked, time.Hour, mode(v1alpha1.ParkingDelete)), absent, runs,
			want{phase: v1alpha1.PhaseProvisioning}},
		{"parked but running -> parking again", member(v1alpha1.PhaseParked, time.Hour), serving, idle,
			want{phase: v1alpha1.PhaseParking}},
		{"parked (Delete) but still deleting: wait", member(v1alpha1.PhaseParked, time.Hour, mode(v1alpha1.ParkingDelete)), leaving, idle,
			want{phase: v1alpha1.PhaseParked, action: none, next: resync}},

		// Unparking
		{"unparking: inside unreadable, waits rather than reinstalls", member(v1alpha1.PhaseUnparking, time.Minute), unread, runs,
			want{phase: v1alpha1.PhaseUnparking, action: none, next: poll}},
		{"unparking: start", member(v1alpha1.PhaseUnparking, time.Second, desired(3)), stopped, runs,
			want{phase: v1alpha1.PhaseUnparking, action: Action{Kind: ActUnpark, Nodes: 3}, next: poll}},
		{"unparking: workers back from zero", member(v1alpha1.PhaseUnparking, time.Second, provider("capi"), mode(v1alpha1.ParkingScaleToZero), desired(0)), zeroed, runs,
			want{phase: v1alpha1.PhaseUnparking, action: Action{Kind: ActUnpark, Nodes: 1}, next: poll}},
		{"unparking: running, Fn not answering yet, wait", member(v1alpha1.PhaseUnparking, time.Minute), deployed, runs,
			want{phase: v1alpha1.PhaseUnparking, action: none, next: poll}},
		{"unparking: awake without Fn -> installing", member(v1alpha1.PhaseUnparking, time.Minute), up, runs,
			want{phase: v1alpha1.PhaseInstalling}},
		{"unparking -> ready", member(v1alpha1.PhaseUnparking, time.Minute), serving, runs,
			want{phase: v1alpha1.PhaseReady, cond: v1alpha1.ClusterParked, status: metav1.ConditionFalse, reason: string(parking.ReasonPlaced)}},
		{"unparking: resume timeout 15m -> WakeTimedOut", member(v1alpha1.PhaseUnparking, 16*time.Minute), deployed, runs,
			want{phase: v1alpha1.PhaseFailed, cond: v1alpha1.ClusterParked, status: metav1.ConditionFalse, reason: ReasonWakeTimedOut, message: "not Ready 16m after the wake began (limit 15m)"}},
		{"unparking: provider failed", member(v1alpha1.PhaseUnparking, time.Minute), broken, runs,
			want{phase: v1alpha1.PhaseFailed, cond: v1alpha1.ClusterParked, reason: ReasonWakeFailed}},
		{"unparking: gone -> provisioning", member(v1alpha1.PhaseUnparking, time.Minute), absent, runs,
			want{phase: v1alpha1.PhaseProvisioning}},

		// Deleting
		{"deletion requested -> deleting", member(v1alpha1.PhaseReady, time.Hour, deleted), serving, runs,
			want{phase: v1alpha1.PhaseDeleting, action: none}},
		{"deleting: delete", member(v1alpha1.PhaseDeleting, time.Second, deleted), serving, runs,
			want{phase: v1alpha1.PhaseDeleting, action: Action{Kind: ActDelete}, next: poll, cond: v1alpha1.ClusterProvisioned, status: metav1.ConditionTrue, reason: ReasonProvisioned}},
		{"deleting: gone", member(v1alpha1.PhaseDeleting, time.Minute, deleted), absent, runs,
			want{phase: v1alpha1.PhaseDeleting, gone: true}},
		{"deleting: static is forgotten, not deleted", member(v1alpha1.PhaseDeleting, time.Second, deleted, provider("static")), serving, runs,
			want{phase: v1alpha1.PhaseDeleting, action: none, gone: true, message: "static cluster forgotten"}},
		{"deleting: timeout 30m", member(v1alpha1.PhaseDeleting, 31*time.Minute, deleted), leaving, runs,
			want{phase: v1alpha1.PhaseFailed, cond: v1alpha1.ClusterProvisioned, reason: ReasonDeleteTimedOut}},

		// Failed
		{"failed: waits its backoff (3rd failure: 40s)", member(v1alpha1.PhaseFailed, 30*time.Second, failures(3)), absent, runs,
			want{phase: v1alpha1.PhaseFailed, action: none, next: 10 * time.Second, message: "retry at 2026-06-10T12:00:10Z"}},
		{"failed: backoff is capped at 10m", member(v1alpha1.PhaseFailed, 9*time.Minute, failures(20)), absent, runs,
			want{phase: v1alpha1.PhaseFailed, next: time.Minute}},
		{"failed: retry provisioning", member(v1alpha1.PhaseFailed, 41*time.Second, failures(3)), absent, runs,
			want{phase: v1alpha1.PhaseProvisioning}},
		{"failed: retry, nothing needs it -> parked", member(v1alpha1.PhaseFailed, time.Hour, failures(1)), absent, idle,
			want{phase: v1alpha1.PhaseParked}},
		{"failed: retry the install", member(v1alpha1.PhaseFailed, time.Hour, failures(1)), deployed, runs,
			want{phase: v1alpha1.PhaseInstalling}},
		{"failed: retry finds Fn answering -> ready", member(v1alpha1.PhaseFailed, time.Hour, failures(1)), serving, runs,
			want{phase: v1alpha1.PhaseReady}},
		{"failed: retry the wake", member(v1alpha1.PhaseFailed, time.Hour, failures(1)), stopped, runs,
			want{phase: v1alpha1.PhaseUnparking}},
		{"failed: retry, stopped and not needed -> parked", member(v1alpha1.PhaseFailed, time.Hour, failures(1)), stopped, idle,
			want{phase: v1alpha1.PhaseParked}},
		{"failed: retry the park", member(v1alpha1.PhaseFailed, time.Hour, failures(1)), serving, idle,
			want{phase: v1alpha1.PhaseParking}},
		{"failed: provider still failed -> provisioning, fails again there", member(v1alpha1.PhaseFailed, time.Hour, failures(1)), broken, runs,
			want{phase: v1alpha1.PhaseProvisioning}},
		{"failed create: remove what it left before creating again", member(v1alpha1.PhaseFailed, time.Hour, failures(1), failedCreate), broken, runs,
			want{phase: v1alpha1.PhaseFailed, action: Action{Kind: ActDelete}, next: poll}},
		{"failed create, leftover removed -> provisioning", member(v1alpha1.PhaseFailed, time.Hour, failures(1), failedCreate), absent, runs,
			want{phase: v1alpha1.PhaseProvisioning}},
		{"failed create on static: nothing to remove", member(v1alpha1.PhaseFailed, time.Hour, failures(1), failedCreate, provider("static")), broken, runs,
			want{phase: v1alpha1.PhaseProvisioning}},
		{"failed: deletion leaves at once, backoff or not", member(v1alpha1.PhaseFailed, time.Second, failures(5), deleted), broken, runs,
			want{phase: v1alpha1.PhaseDeleting}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Cluster: tc.mc, Observed: tc.obs, Parking: tc.p, Now: now}
			d := Step(in)
			w := tc.want
			if d.Status.Phase != w.phase || d.Action != w.action || d.Gone != w.gone {
				t.Fatalf("got phase %s, action %+v, gone %v (%s); want %s, %+v, %v", d.Status.Phase, d.Action, d.Gone, d.Message, w.phase, w.action, w.gone)
			}
			if d.Status.Phase != phaseOf(tc.mc) && (d.Action != Action{} || !d.Next.Equal(now)) && d.Status.Phase != v1alpha1.PhaseFailed {
				t.Errorf("phase changed with action %+v, next %v: the new phase must be persisted first", d.Action, d.Next)
			}
			if w.next != 0 && !d.Next.Equal(now.Add(w.next)) {
				t.Errorf("next = %v, want now+%v (%s)", d.Next.Sub(now), w.next, d.Message)
			}
			var msg string
			if w.cond != "" {
				c := findCondition(d.Status.Conditions, w.cond)
				if c == nil {
					t.Fatalf("no %s condition in %+v", w.cond, d.Status.Conditions)
				}
				if (w.status != "" && c.Status != w.status) || c.Reason != w.reason {
					t.Errorf("%s = %s/%s (%s), want %s/%s", w.cond, c.Status, c.Reason, c.Message, w.status, w.reason)
				}
				if c.ObservedGeneration != 3 {
					t.Errorf("%s observedGeneration = %d, want 3", w.cond, c.ObservedGeneration)
				}
				msg = c.Message
			} else {
				msg = d.Message
			}
			if !strings.Contains(msg, w.message) {
				t.Errorf("message %q does not say %q", msg, w.message)
			}
			if again := Step(in); again.Action != d.Action || again.Status.Phase != d.Status.Phase || !again.Next.Equal(d.Next) {
				t.Errorf("a second step on the same input decided %+v, then %+v", d, again)
			}
		})
	}
}

func phaseOf(mc *v1alpha1.MemberCluster) v1alpha1.ClusterPhase {
	if mc.Status.Phase == "" {
		return v1alpha1.PhasePending
	}
	return mc.Status.Phase
}

func findCondition(cs []metav1.Condition, typ string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == typ {
			return &cs[i]
		}
	}
	return nil
}

func TestFailuresCountAndReset(t *testing.T) {
	mc := member(v1alpha1.PhaseProvisioning, time.Minute, failures(2))
	d := Step(Input{Cluster: mc, Observed: broken, Parking: runs, Now: now})
	if d.Status.Failures != 3 || !d.Next.Equal(now.Add(40*time.Second)) {
		t.Errorf("third failure: failures %d, next +%v; want 3, +40s", d.Status.Failures, d.Next.Sub(now))
	}
	mc = member(v1alpha1.PhaseInstalling, time.Minute, failures(3))
	if d := Step(Input{Cluster: mc, Observed: serving, Parking: runs, Now: now}); d.Status.Failures != 0 {
		t.Errorf("Ready keeps failures %d, want 0", d.Status.Failures)
	}
	mc = member(v1alpha1.PhaseFailed, time.Hour, failures(3))
	if d := Step(Input{Cluster: mc, Observed: absent, Parking: runs, Now: now}); d.Status.Failures != 3 {
		t.Errorf("leaving Failed cleared failures to %d; the next failure must wait longer", d.Status.Failures)
	}
}

func TestBackoff(t *testing.T) {
	var o Options
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 320 * time.Second, 10 * time.Minute, 10 * time.Minute}
	for i, w := range want {
		if got := o.Backoff(int32(i + 1)); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := o.Backoff(1000); got != 10*time.Minute {
		t.Errorf("Backoff(1000) = %v", got)
	}
}

func TestConfiguredTimeouts(t *testing.T) {
	opts := Options{Timeouts: Timeouts{Provision: time.Minute, Resume: 30 * time.Second}, Poll: time.Second}
	mc := member(v1alpha1.PhaseProvisioning, 61*time.Second)
	if d := Step(Input{Cluster: mc, Observed: creating, Parking: runs, Now: now, Options: opts}); d.Status.Phase != v1alpha1.PhaseFailed {
		t.Errorf("provision past a 1m timeout: %s", d.Status.Phase)
	}
	mc = member(v1alpha1.PhaseUnparking, 29*time.Second)
	if d := Step(Input{Cluster: mc, Observed: deployed, Parking: runs, Now: now, Options: opts}); d.Status.Phase != v1alpha1.PhaseUnparking || !d.Next.Equal(now.Add(time.Second)) {
		t.Errorf("unparking within 30s: %s next +%v", d.Status.Phase, d.Next.Sub(now))
	}
	mc = member(v1alpha1.PhaseUnparking, 31*time.Second)
	if d := Step(Input{Cluster: mc, Observed: deployed, Parking: runs, Now: now, Options: opts}); d.Status.Phase != v1alpha1.PhaseFailed {
		t.Errorf("unparking past 30s: %s", d.Status.Phase)
	}
}

// TestConditionTransitionTimes: a condition's transition time moves only
// when its status does.
func TestConditionTransitionTimes(t *testing.T) {
	mc := member(v1alpha1.PhaseReady, time.Hour)
	d := Step(Input{Cluster: mc, Observed: serving, Parking: runs, Now: now.Add(-time.Hour)})
	d.Status.ApplyTo(&mc.Status)
	mc.Status.Conditions = append(mc.Status.Conditions, metav1.Condition{Type: v1alpha1.ClusterHealthy, Status: metav1.ConditionTrue, Reason: "Probed"})
	d = Step(Input{Cluster: mc, Observed: serving, Parking: runs, Now: now})
	if c := findCondition(d.Status.Conditions, v1alpha1.ClusterFnInstalled); c == nil || !c.LastTransitionTime.Time.Equal(now.Add(-time.Hour)) {
		t.Errorf("FnInstalled stayed True but its transition time moved: %+v", c)
	}
	d = Step(Input{Cluster: mc, Observed: serving, Parking: idle, Now: now})
	if c := findCondition(d.Status.Conditions, v1alpha1.ClusterParked); c == nil || c.Reason != ReasonParking {
		t.Fatalf("Parked = %+v", c)
	}
	d.Status.ApplyTo(&mc.Status)
	if findCondition(mc.Status.Conditions, v1alpha1.ClusterHealthy) == nil {
		t.Errorf("ApplyTo dropped reconcile's Healthy condition")
	}
	if mc.Status.Phase != v1alpha1.PhaseParking || !mc.Status.PhaseSince.Time.Equal(now) {
		t.Errorf("ApplyTo: phase %s since %v", mc.Status.Phase, mc.Status.PhaseSince)
	}
}

// TestParkingIsPersistedFirst walks a park: the phase change comes alone,
// and the park action only once the phase read back is Parking.
func TestParkingIsPersistedFirst(t *testing.T) {
	mc := member(v1alpha1.PhaseReady, time.Hour)
	d := Step(Input{Cluster: mc, Observed: serving, Parking: idle, Now: now})
	if d.Status.Phase != v1alpha1.PhaseParking || d.Action.Kind != ActNone {
		t.Fatalf("first step: %s %v", d.Status.Phase, d.Action.Kind)
	}
	// The shell persisted nothing (a crash): the same input decides the same.
	if again := Step(Input{Cluster: mc, Observed: serving, Parking: idle, Now: now.Add(time.Second)}); again.Action.Kind != ActNone {
		t.Fatalf("without the write, the machine acted: %v", again.Action.Kind)
	}
	d.Status.ApplyTo(&mc.Status)
	d = Step(Input{Cluster: mc, Observed: serving, Parking: idle, Now: now.Add(time.Second)})
	if d.Action.Kind != ActPark || d.Action.Mode != v1alpha1.ParkingStop {
		t.Fatalf("second step: %+v", d.Action)
	}
}

// TestPhaseSinceIsWhenTheClusterCameUp: phaseSince of a serving cluster is
// when it came up. Scaling, a hold on an unreadable inside and an hour at
// rest do not move it; a wake does.
func TestPhaseSinceIsWhenTheClusterCameUp(t *testing.T) {
	cameUp := now.Add(-3 * time.Hour)
	for _, tc := range []struct {
		name  string
		mc    *v1alpha1.MemberCluster
		obs   Observed
		phase v1alpha1.ClusterPhase
		since time.Time
	}{
		{"ready -> scaling", member(v1alpha1.PhaseReady, 3*time.Hour, busy), serving, v1alpha1.PhaseScaling, cameUp},
		{"scaling -> ready", member(v1alpha1.PhaseScaling, 3*time.Hour, busy, desired(2), scaledAgo(time.Minute)), serving, v1alpha1.PhaseReady, cameUp},
		{"ready, inside unreadable", member(v1alpha1.PhaseReady, 3*time.Hour), unread, v1alpha1.PhaseReady, cameUp},
		{"unparking -> ready", member(v1alpha1.PhaseUnparking, time.Minute), serving, v1alpha1.PhaseReady, now},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Step(Input{Cluster: tc.mc, Observed: tc.obs, Parking: runs, Now: now})
			if d.Status.Phase != tc.phase || !d.Status.PhaseSince.Equal(tc.since) {
				t.Errorf("phase %s since %v, want %s since %v (%s)", d.Status.Phase, d.Status.PhaseSince, tc.phase, tc.since, d.Message)
			}
		})
	}
}

// TestWindowsValid: a window the evaluation ignores is named on the
// cluster, with what parking does meanwhile; a cluster without windows
// carries no such condition.
func TestWindowsValid(t *testing.T) {
	windows := func(ws ...v1alpha1.ParkingWindow) spec {
		return func(mc *v1alpha1.MemberCluster) { mc.Spec.Parking = &v1alpha1.ParkingPolicy{Windows: ws} }
	}
	good := v1alpha1.ParkingWindow{Start: "0 20 * * 1-5", Duration: metav1.Duration{Duration: time.Hour}, TimeZone: "Europe/Paris"}
	mars := v1alpha1.ParkingWindow{Start: "0 20 * * *", Duration: metav1.Duration{Duration: time.Hour}, TimeZone: "Mars/Olympus"}
	for _, tc := range []struct {
		name   string
		mc     *v1alpha1.MemberCluster
		status metav1.ConditionStatus // "" : no condition
		msg    string
	}{
		{"no windows", member(v1alpha1.PhaseReady, time.Hour), "", ""},
		{"a good window", member(v1alpha1.PhaseReady, time.Hour, windows(good)), metav1.ConditionTrue, "every hibernation window reads"},
		{"an unknown zone", member(v1alpha1.PhaseReady, time.Hour, windows(good, mars)), metav1.ConditionFalse,
			`window 1 ("0 20 * * *", Mars/Olympus): unknown time zone "Mars/Olympus"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Step(Input{Cluster: tc.mc, Observed: serving, Parking: runs, Now: now})
			c := findCondition(d.Status.Conditions, v1alpha1.ConditionWindowsValid)
			switch {
			case tc.status == "" && c != nil:
				t.Errorf("WindowsValid %+v on a cluster without windows", c)
			case tc.status != "" && (c == nil || c.Status != tc.status || !strings.Contains(c.Message, tc.msg)):
				t.Errorf("WindowsValid %+v, want %s saying %q", c, tc.status, tc.msg)
			}
		})
	}
}
