package lifecycle

import (
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/autoscale"
	"github.com/fnfleet/fnfleet/federation/parking"
)

// Condition reasons lifecycle writes (the parking reasons of
// parking.Reason appear on Parked and Schedulable too).
const (
	ReasonProvisioned       = "Provisioned"
	ReasonCreating          = "Creating"
	ReasonNotCreated        = "NotCreated"
	ReasonDeleting          = "Deleting"
	ReasonDeletedWhenParked = "DeletedWhileParked"
	ReasonProvisionFailed   = "ProvisionFailed"
	ReasonProvisionTimedOut = "ProvisionTimedOut"
	ReasonClusterLost       = "ClusterLost"
	ReasonProviderFailed    = "ProviderFailed"
	ReasonDeleteTimedOut    = "DeleteTimedOut"

	ReasonInstalled            = "Installed"
	ReasonInstalling           = "Installing"
	ReasonNotInstalled         = "NotInstalled"
	ReasonEndpointNotAnswering = "EndpointNotAnswering"
	ReasonInstallTimedOut      = "InstallTimedOut"

	ReasonParking       = "Parking"
	ReasonWaking        = "Waking"
	ReasonParkFailed    = "ParkFailed"
	ReasonParkTimedOut  = "ParkTimedOut"
	ReasonWakeFailed    = "WakeFailed"
	ReasonWakeTimedOut  = "WakeTimedOut" // placement moves the apps waiting for the wake elsewhere
	ReasonCannotPark    = "CannotPark"
	ReasonAcceptsApps   = "AcceptsApps"
	ReasonParkedCluster = "Parked"

	// ReasonNotObserved: the cluster's inside could not be read
	// (Observed.Unknown); FnInstalled is Unknown while the phase holds.
	ReasonNotObserved = "NotObserved"
	// ReasonUnreachable: it stayed unreadable for Timeouts.Unreachable.
	ReasonUnreachable = "Unreachable"

	// ReasonWindowsRead: every hibernation window reads;
	// ReasonInvalidWindow: one does not (parking.WindowProblems).
	ReasonWindowsRead   = "WindowsRead"
	ReasonInvalidWindow = "InvalidWindow"

	ReasonScaled        = "Scaled"
	ReasonScaling       = "Scaling"
	ReasonScaleTimedOut = "ScaleTimedOut"
)

// Step decides one step of the cluster's lifecycle. It reads no clock and
// does no I/O: the same input gives the same decision.
func Step(in Input) Decision {
	// On the stack: a step allocates only its outcome. It holds the input
	// by value, not a pointer to in, which would move in to the heap
	// (320 B, 1 allocation).
	var s step
	s.init(&in)
	s.run()
	return s.decision()
}

// step is one evaluation of the machine.
type step struct {
	in   Input
	opts Options
	mc   *v1alpha1.MemberCluster
	now  time.Time

	// The status being built, from the one read.
	st    Status
	conds conditions

	failedCond cond // the condition fail set this step; numConds if none
	action     Action
	next       time.Time
	gone       bool
	msg        string
}

func (s *step) init(in *Input) {
	mc := in.Cluster
	s.in, s.opts, s.mc, s.now, s.failedCond = *in, in.Options.withDefaults(), mc, in.Now, numConds
	prev := &mc.Status
	s.st = Status{
		Phase:        prev.Phase,
		Failures:     prev.Failures,
		DesiredNodes: prev.DesiredNodes,
		FnEndpoint:   prev.FnEndpoint,
	}
	if s.st.Phase == "" {
		s.st.Phase = v1alpha1.PhasePending
	}
	if prev.PhaseSince != nil {
		s.st.PhaseSince = prev.PhaseSince.Time
	} else {
		// A phase written without its start (by hand, or before this
		// field existed) starts now, so its timeout counts from here.
		s.st.PhaseSince = in.Now
	}
	if prev.LastScaleTime != nil {
		s.st.LastScaleTime = prev.LastScaleTime.Time
	}
	if in.Observed.FnEndpoint != "" {
		s.st.FnEndpoint = in.Observed.FnEndpoint
	}
	s.conds = newConditions(prev.Conditions, in.Now, mc.Generation)
}

func (s *step) run() {
	if s.mc.DeletionTimestamp != nil && s.st.Phase != v1alpha1.PhaseDeleting {
		s.to(v1alpha1.PhaseDeleting, "deletion requested")
		return
	}
	switch s.st.Phase {
	case v1alpha1.PhasePending:
		s.pending()
	case v1alpha1.PhaseProvisioning:
		s.provisioning()
	case v1alpha1.PhaseInstalling:
		s.installing()
	case v1alpha1.PhaseReady:
		s.ready()
	case v1alpha1.PhaseScaling:
		s.scaling()
	case v1alpha1.PhaseParking:
		s.parking()
	case v1alpha1.PhaseParked:
		s.parked()
	case v1alpha1.PhaseUnparking:
		s.unparking()
	case v1alpha1.PhaseDeleting:
		s.deleting()
	case v1alpha1.PhaseFailed:
		s.retry()
	default:
		s.fail(condProvisioned, ReasonProviderFailed, "unknown phase "+strconv.Quote(string(s.st.Phase)))
	}
}

// --- the phases ---

func (s *step) pending() {
	if !s.in.Parking.Run {
		s.to(v1alpha1.PhaseParked, "not created: "+s.in.Parking.Message)
		return
	}
	s.to(v1alpha1.PhaseProvisioning, "provisioning with provider "+s.provider())
}

func (s *step) provisioning() {
	o := &s.in.Observed
	switch {
	case o.Progress == ProgressFailed:
		s.fail(condProvisioned, ReasonProvisionFailed, "provider "+s.provider()+" reports the create failed: "+o.Message)
	case o.Exists && o.Progress == ProgressRunning && o.KubeconfigReady:
		s.to(v1alpha1.PhaseInstalling, "the cluster runs; installing Fn")
	case s.timedOut(s.opts.Timeouts.Provision):
		s.fail(condProvisioned, ReasonProvisionTimedOut, "not running "+s.age()+" after provisioning began (limit "+short(s.opts.Timeouts.Provision)+")"+s.providerSays())
	case s.static():
		s.wait("waiting for the static cluster's kubeconfig Secret" + s.providerSays())
	case !o.Exists:
		s.act(Action{Kind: ActCreate}, "creating the cluster")
	case o.Progress == ProgressStopped:
		s.act(Action{Kind: ActUnpark, Nodes: s.restoreNodes()}, "the cluster exists but is stopped; starting it")
	default:
		s.wait("waiting for the cluster to run" + s.providerSays())
	}
}

func (s *step) installing() {
	o := &s.in.Observed
	switch {
	case !o.Exists || o.Progress == ProgressFailed:
		s.lost()
	case o.Release.Deployed && o.FnAnswering:
		s.to(v1alpha1.PhaseReady, "Fn answers at "+s.st.FnEndpoint)
	case s.timedOut(s.opts.Timeouts.Install):
		s.fail(condFnInstalled, ReasonInstallTimedOut, "Fn not answering "+s.age()+" after the install began (limit "+short(s.opts.Timeouts.Install)+"): "+s.fnState().String())
	case o.Progress == ProgressStopped:
		s.act(Action{Kind: ActUnpark, Nodes: s.restoreNodes()}, "the cluster is stopped; starting it to install Fn")
	case o.Unknown != "":
		s.wait("cannot read the cluster: " + o.Unknown)
	case o.Progress != ProgressRunning || !o.KubeconfigReady:
		s.wait("waiting for the cluster to run" + s.providerSays())
	case !o.Release.Deployed && !o.Release.Pending:
		s.act(Action{Kind: ActInstallFn}, "installing charts/fn")
	case !o.Release.Deployed:
		// A pending release is an install under way, or one whose writer
		// died: installing again is refused at once while the writer's
		// lease lives, and recovers the release once it has lapsed.
		s.act(Action{Kind: ActInstallFn}, "the release is pending; installing again, which waits for a live installer or recovers a dead one's release")
	default:
		s.wait("waiting for Fn: " + s.fnState().String())
	}
}

func (s *step) ready() {
	o, p := &s.in.Observed, &s.in.Parking
	switch {
	case !o.Exists || o.Progress == ProgressFailed:
		s.lost()
	case o.Progress == ProgressStopped:
		s.to(v1alpha1.PhaseParked, "the provider reports the cluster stopped, not by fnfleet")
	case !p.Run && s.canPark():
		s.to(v1alpha1.PhaseParking, "parking with mode "+string(s.mode())+": "+p.Message)
	case o.Unknown != "":
		s.holdUnknown()
	case o.Progress == ProgressRunning && !o.Release.Deployed && !o.Release.Pending:
		s.to(v1alpha1.PhaseInstalling, "the Fn release is gone; installing it again")
	default:
		in := s.autoscaleInput()
		nodes, nextCheck := autoscale.Count(in)
		if nodes != o.Nodes {
			// The reason is built only here: a Ready cluster that keeps its
			// count (most steps) builds none.
			d := autoscale.Decide(in)
			s.st.DesiredNodes, s.st.LastScaleTime = d.Nodes, s.now
			s.to(v1alpha1.PhaseScaling, "scaling from "+itoa(o.Nodes)+" to "+itoa(d.Nodes)+" nodes: "+d.Reason)
			return
		}
		s.rest("ready", nextCheck)
	}
}

func (s *step) scaling() {
	o := &s.in.Observed
	switch {
	case !o.Exists || o.Progress == ProgressFailed:
		s.lost()
	case !s.in.Parking.Run && s.canPark():
		s.to(v1alpha1.PhaseParking, "parking with mode "+string(s.mode())+": "+s.in.Parking.Message)
	case o.Nodes == s.st.DesiredNodes:
		s.conds.set(condNodesScaled, metav1.ConditionTrue, ReasonScaled, itoa(o.Nodes)+" nodes, as asked")
		s.to(v1alpha1.PhaseReady, "scaled to "+itoa(o.Nodes)+" nodes")
	case s.now.Sub(s.st.LastScaleTime) > s.opts.Timeouts.Scale:
		// The apps still run: back to Ready, and the cooldown spaces the
		// next attempt.
		s.conds.set(condNodesScaled, metav1.ConditionFalse, ReasonScaleTimedOut,
			itoa(o.Nodes)+" nodes "+short(s.now.Sub(s.st.LastScaleTime))+" after asking for "+itoa(s.st.DesiredNodes)+" (limit "+short(s.opts.Timeouts.Scale)+")"+s.providerSays())
		s.to(v1alpha1.PhaseReady, "scaling did not finish in "+short(s.opts.Timeouts.Scale))
	default:
		s.conds.set(condNodesScaled, metav1.ConditionFalse, ReasonScaling, "scaling from "+itoa(o.Nodes)+" to "+itoa(s.st.DesiredNodes)+" nodes")
		s.act(Action{Kind: ActScaleNodes, Nodes: s.st.DesiredNodes}, "scaling to "+itoa(s.st.DesiredNodes)+" nodes")
	}
}

func (s *step) parking() {
	o, mode := &s.in.Observed, s.mode()
	switch {
	case s.in.Parking.Run || !s.canPark():
		s.to(v1alpha1.PhaseUnparking, "waking while parking: "+s.in.Parking.Message)
	case s.parkedAsAsked():
		s.to(v1alpha1.PhaseParked, "parked with mode "+string(mode))
	case o.Progress == ProgressFailed:
		s.fail(condParked, ReasonParkFailed, "provider "+s.provider()+" reports the park failed: "+o.Message)
	case s.timedOut(s.opts.Timeouts.Park):
		s.fail(condParked, ReasonParkTimedOut, "not parked "+s.age()+" after parking began (limit "+short(s.opts.Timeouts.Park)+")"+s.providerSays())
	default:
		s.act(Action{Kind: ActPark, Mode: mode}, "parking with mode "+string(mode))
	}
}

func (s *step) parked() {
	p := s.in.Parking
	switch {
	case p.Run && !s.in.Observed.Exists:
		s.to(v1alpha1.PhaseProvisioning, "woken, and the cluster does not exist: provisioning it afresh ("+p.Message+")")
	case p.Run:
		s.to(v1alpha1.PhaseUnparking, "waking: "+p.Message)
	case s.canPark() && !s.parkedAsAsked() && s.in.Observed.Progress != ProgressDeleting:
		s.to(v1alpha1.PhaseParking, "the cluster runs although parked; parking it again")
	default:
		s.rest("parked", time.Time{})
	}
}

func (s *step) unparking() {
	o := &s.in.Observed
	switch {
	case !o.Exists:
		s.to(v1alpha1.PhaseProvisioning, "the cluster does not exist: provisioning it afresh")
	case o.Progress == ProgressFailed:
		s.fail(condParked, ReasonWakeFailed, "provider "+s.provider()+" reports the wake failed: "+o.Message)
	case o.Progress == ProgressRunning && o.Nodes > 0 && o.FnAnswering:
		s.to(v1alpha1.PhaseReady, "awake; Fn answers at "+s.st.FnEndpoint)
	case s.timedOut(s.opts.Timeouts.Resume):
		s.fail(condParked, ReasonWakeTimedOut, "not Ready "+s.age()+" after the wake began (limit "+short(s.opts.Timeouts.Resume)+"): "+s.fnState().String()+s.providerSays())
	case o.Unknown != "":
		s.wait("awake, but the cluster cannot be read: " + o.Unknown)
	case o.Progress == ProgressRunning && o.KubeconfigReady && !o.Release.Deployed && !o.Release.Pending:
		s.to(v1alpha1.PhaseInstalling, "awake, but the Fn release is gone; installing it again")
	case o.Progress == ProgressStopped || o.Nodes == 0:
		n := s.restoreNodes()
		s.act(Action{Kind: ActUnpark, Nodes: n}, "waking with "+itoa(n)+" nodes")
	default:
		s.wait("waiting for Fn: " + s.fnState().String())
	}
}

func (s *step) deleting() {
	switch {
	case s.static():
		s.gone = true
		s.msg = "static cluster forgotten; the cluster itself is not fnfleet's to delete"
	case !s.in.Observed.Exists:
		s.gone = true
		s.msg = "deleted"
	case s.timedOut(s.opts.Timeouts.Delete):
		s.fail(condProvisioned, ReasonDeleteTimedOut, "not deleted "+s.age()+" after the delete began (limit "+short(s.opts.Timeouts.Delete)+")"+s.providerSays())
	default:
		s.act(Action{Kind: ActDelete}, "deleting the cluster")
	}
}

// retry leaves Failed once the backoff has passed, for the phase the
// observation calls for. Failures is kept, so the next failure waits twice
// as long; it is cleared in Ready and Parked.
func (s *step) retry() {
	due := s.st.PhaseSince.Add(s.opts.Backoff(max(s.st.Failures, 1)))
	if s.now.Before(due) {
		s.next = due
		s.msg = "failed; retry at " + due.UTC().Format(time.RFC3339)
		return
	}
	o, run := &s.in.Observed, s.in.Parking.Run
	switch {
	case !o.Exists && !run:
		s.to(v1alpha1.PhaseParked, "retrying: nothing needs the cluster; parked, not created")
	case o.Progress == ProgressFailed && s.conds.c[condProvisioned].Reason == ReasonProvisionFailed && !s.static():
		// What a failed create left is never a cluster anyone used:
		// remove it, so that the retry creates afresh rather than
		// observe the same failure again.
		s.act(Action{Kind: ActDelete}, "retrying: removing what the failed create left, then creating again")
	case !o.Exists, o.Progress == ProgressCreating, o.Progress == ProgressDeleting, o.Progress == ProgressFailed:
		s.to(v1alpha1.PhaseProvisioning, "retrying the provisioning")
	case o.Progress == ProgressStopped && run:
		s.to(v1alpha1.PhaseUnparking, "retrying the wake")
	case o.Progress == ProgressStopped:
		s.to(v1alpha1.PhaseParked, "retrying: the cluster is stopped and nothing needs it")
	case !run && s.canPark():
		s.to(v1alpha1.PhaseParking, "retrying the park")
	case o.Release.Deployed && o.FnAnswering:
		s.to(v1alpha1.PhaseReady, "retrying: the cluster runs and Fn answers")
	default:
		s.to(v1alpha1.PhaseInstalling, "retrying the Fn install")
	}
}

// --- transitions ---

// to changes the phase and asks for no action: the new phase is persisted
// before anything it owns is done.
//
// Ready and Scaling are one span of serving (Scaling is Ready while the
// node count changes), so moving between them keeps phaseSince: the time
// the cluster came up, which the idle clock's hysteresis and placement's
// "observed since it came up" read. A cluster that scaled an hour after it
// came up did not come up again.
func (s *step) to(phase v1alpha1.ClusterPhase, msg string) {
	if !servingPhase(phase) || !servingPhase(s.st.Phase) {
		s.st.PhaseSince = s.now
	}
	s.st.Phase = phase
	if phase == v1alpha1.PhaseReady || phase == v1alpha1.PhaseParked {
		s.st.Failures = 0
	}
	s.next, s.msg = s.now, string(phase)+": "+msg
}

func servingPhase(p v1alpha1.ClusterPhase) bool {
	return p == v1alpha1.PhaseReady || p == v1alpha1.PhaseScaling
}

// holdUnknown keeps a serving cluster's phase while its inside cannot be
// read, until that has lasted Timeouts.Unreachable: a transient failure
// (a connection refused, a Secret read that failed) is not a fact about
// the cluster. The failure began when FnInstalled turned Unknown.
func (s *step) holdUnknown() {
	since := s.now
	if c := &s.conds.c[condFnInstalled]; c.Type != "" && c.Status == metav1.ConditionUnknown {
		since = c.LastTransitionTime.Time
	}
	if limit := s.opts.Timeouts.Unreachable; s.now.Sub(since) > limit {
		s.fail(condFnInstalled, ReasonUnreachable, "the cluster could not be read for "+short(s.now.Sub(since))+" (limit "+short(limit)+"): "+s.in.Observed.Unknown)
		return
	}
	s.wait(string(s.st.Phase) + " holds: the cluster cannot be read: " + s.in.Observed.Unknown)
	if next := since.Add(s.opts.Timeouts.Unreachable + time.Second); next.Before(s.next) {
		s.next = next
	}
}

func (s *step) fail(c cond, reason, msg string) {
	s.st.Failures++
	retry := s.now.Add(s.opts.Backoff(s.st.Failures))
	s.conds.set(c, metav1.ConditionFalse, reason, msg+"; retry "+itoa(s.st.Failures)+" at "+retry.UTC().Format(time.RFC3339)+", or delete the MemberCluster")
	s.failedCond = c
	s.st.Phase, s.st.PhaseSince = v1alpha1.PhaseFailed, s.now
	s.next, s.msg = retry, "Failed: "+msg
}

func (s *step) lost() {
	if s.in.Observed.Progress == ProgressFailed {
		s.fail(condProvisioned, ReasonProviderFailed, "provider "+s.provider()+" reports the cluster failed: "+s.in.Observed.Message)
		return
	}
	s.fail(condProvisioned, ReasonClusterLost, "provider "+s.provider()+" no longer reports the cluster")
}

func (s *step) act(a Action, msg string) {
	s.action, s.next, s.msg = a, s.now.Add(s.opts.Poll), msg
}

func (s *step) wait(msg string) {
	s.next, s.msg = s.now.Add(s.opts.Poll), msg
}

// rest is a phase at rest: look again when the parking answer or the
// autoscale cooldown can change, at the latest after Resync.
func (s *step) rest(msg string, autoscaleNext time.Time) {
	next := s.now.Add(s.opts.Resync)
	for _, t := range [...]time.Time{s.in.Parking.NextChange, autoscaleNext} {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	if !next.After(s.now) {
		next = s.now.Add(time.Second)
	}
	s.next, s.msg = next, msg
}

// --- reading the input ---

func (s *step) provider() string { return s.mc.Spec.Provider.Name }

func (s *step) static() bool { return s.provider() == "static" }

func (s *step) mode() v1alpha1.ParkingMode {
	if p := s.mc.Spec.Parking; p != nil && p.Mode != "" {
		return p.Mode
	}
	return v1alpha1.ParkingStop
}

// canPark is whether the provider can park with the cluster's mode: local
// stops or deletes, capi scales to zero or deletes, static never parks.
func (s *step) canPark() bool {
	switch s.mode() {
	case v1alpha1.ParkingStop:
		return s.provider() == "local"
	case v1alpha1.ParkingScaleToZero:
		return s.provider() == "capi"
	case v1alpha1.ParkingDelete:
		return s.provider() == "local" || s.provider() == "capi"
	}
	return false
}

// parkedAsAsked is whether the observation shows the cluster parked with
// its mode. A cluster that does not exist runs nothing, so it is parked
// whatever the mode.
func (s *step) parkedAsAsked() bool {
	o := &s.in.Observed
	switch {
	case !o.Exists:
		return true
	case s.mode() == v1alpha1.ParkingDelete:
		return false
	case o.Progress == ProgressStopped:
		return true
	}
	return s.mode() == v1alpha1.ParkingScaleToZero && o.Progress == ProgressRunning && o.Nodes == 0
}

// restoreNodes is the worker count a wake restores: the last one asked
// for, within the autoscale bounds, and at least one.
func (s *step) restoreNodes() int32 {
	n := max(s.st.DesiredNodes, 1)
	if a := s.mc.Spec.NodeAutoscale; a != nil {
		n = min(max(n, a.MinNodes), a.MaxNodes)
	}
	return n
}

func (s *step) autoscaleInput() autoscale.Input {
	return autoscale.Input{
		Policy:    s.mc.Spec.NodeAutoscale,
		Nodes:     s.in.Observed.Nodes,
		Usage:     autoscale.UsageOf(&s.mc.Status),
		LastScale: s.st.LastScaleTime,
		Now:       s.now,
		Cooldown:  s.opts.AutoscaleCooldown,
	}
}

func (s *step) timedOut(limit time.Duration) bool { return s.now.Sub(s.st.PhaseSince) > limit }

func (s *step) age() string { return short(s.now.Sub(s.st.PhaseSince)) }

func (s *step) providerSays() string { return s.withProviderSays(text{}).String() }

// withProviderSays appends what the provider says, if anything, to t.
func (s *step) withProviderSays(t text) text {
	if s.in.Observed.Message == "" {
		return t
	}
	return t.and("; provider ", s.provider(), " says: ", s.in.Observed.Message)
}

// fnState says what the Fn release and endpoint are doing, in pieces: it is
// the FnInstalled message of every step on a running cluster, and mostly
// the same as the last.
func (s *step) fnState() text {
	r := s.in.Observed.Release
	switch {
	case r.Pending:
		return words("release ", r.Name, " is being installed")
	case !r.Deployed:
		return words("charts/fn is not installed")
	case s.st.FnEndpoint == "":
		return words("release ", r.Name, " revision ", strconv.Itoa(r.Revision), " installed, no Fn endpoint published yet")
	case !s.in.Observed.FnAnswering:
		return words("release ", r.Name, " revision ", strconv.Itoa(r.Revision), " installed, Fn at ", s.st.FnEndpoint, " does not answer")
	}
	return words("release ", r.Name, " revision ", strconv.Itoa(r.Revision), ", Fn answers at ", s.st.FnEndpoint)
}

// --- the outcome ---

func (s *step) decision() Decision {
	if s.st.Phase != v1alpha1.PhaseFailed || s.failedCond != numConds {
		s.observeConditions()
	}
	d := Decision{Action: s.action, Next: s.next, Gone: s.gone, Message: s.msg}
	d.Status = s.st
	d.Status.Conditions = s.conds.list()
	return d
}

// observeConditions sets the conditions from the phase and the
// observation. It runs on every step but Failed's, and mostly finds them
// as they were, so each message goes as text: one that reads as before is
// kept, not built (a Ready step built 2 strings, about 130 B, here). In Failed they keep what they said when the cluster failed;
// entering Failed, the failing condition (set by fail) is kept.
func (s *step) observeConditions() {
	o, p, phase := &s.in.Observed, &s.in.Parking, s.st.Phase
	keep := func(c cond) bool { return c == s.failedCond }

	if !keep(condProvisioned) {
		switch {
		case o.Exists && (o.Progress == ProgressRunning || o.Progress == ProgressStopped):
			s.conds.setText(condProvisioned, metav1.ConditionTrue, ReasonProvisioned, words("provider ", s.provider(), " reports the cluster ", lower(o.Progress)))
		case phase == v1alpha1.PhaseDeleting || o.Progress == ProgressDeleting:
			s.conds.setText(condProvisioned, metav1.ConditionFalse, ReasonDeleting, s.withProviderSays(words("being deleted")))
		case phase == v1alpha1.PhaseParked && s.mode() == v1alpha1.ParkingDelete:
			s.conds.set(condProvisioned, metav1.ConditionFalse, ReasonDeletedWhenParked, "parked with mode Delete: the cluster is deleted and is provisioned afresh on wake")
		case o.Exists:
			s.conds.setText(condProvisioned, metav1.ConditionFalse, ReasonCreating, s.withProviderSays(words("being created")))
		default:
			s.conds.setText(condProvisioned, metav1.ConditionFalse, ReasonNotCreated, words("provider ", s.provider(), " has no such cluster"))
		}
	}

	// Fn is observed only on a running cluster; a parked one keeps what it
	// last said.
	if o.Progress == ProgressRunning && o.Unknown != "" && !keep(condFnInstalled) {
		s.conds.setText(condFnInstalled, metav1.ConditionUnknown, ReasonNotObserved, words("the cluster cannot be read: ", o.Unknown))
	} else if o.Progress == ProgressRunning && o.KubeconfigReady && !keep(condFnInstalled) {
		r := o.Release
		switch {
		case r.Deployed && o.FnAnswering:
			s.conds.setText(condFnInstalled, metav1.ConditionTrue, ReasonInstalled, s.fnState())
		case r.Deployed:
			s.conds.setText(condFnInstalled, metav1.ConditionFalse, ReasonEndpointNotAnswering, s.fnState())
		case r.Pending:
			s.conds.setText(condFnInstalled, metav1.ConditionFalse, ReasonInstalling, s.fnState())
		default:
			s.conds.setText(condFnInstalled, metav1.ConditionFalse, ReasonNotInstalled, s.fnState())
		}
	}

	if !keep(condParked) {
		switch {
		case phase == v1alpha1.PhaseParked:
			s.conds.set(condParked, metav1.ConditionTrue, string(p.Reason), p.Message)
		case phase == v1alpha1.PhaseParking:
			s.conds.setText(condParked, metav1.ConditionFalse, ReasonParking, words("parking with mode ", string(s.mode()), ": ", p.Message))
		case phase == v1alpha1.PhaseUnparking:
			s.conds.setText(condParked, metav1.ConditionFalse, ReasonWaking, words("waking: ", p.Message))
		case !p.Run && !s.canPark():
			s.conds.setText(condParked, metav1.ConditionFalse, ReasonCannotPark,
				words("should park (", p.Message, "), but provider ", s.provider(), " cannot park with mode ", string(s.mode()), "; set spec.parking.mode to one it can, or Never"))
		case p.Reason != "":
			s.conds.set(condParked, metav1.ConditionFalse, string(p.Reason), p.Message)
		}
	}

	s.windowsCondition()

	switch {
	case phase == v1alpha1.PhaseParked || phase == v1alpha1.PhaseParking:
		s.conds.setText(condSchedulable, metav1.ConditionFalse, ReasonParkedCluster, words("parked: ", p.Message))
	case !p.Schedulable:
		s.conds.set(condSchedulable, metav1.ConditionFalse, string(p.Reason), p.Message)
	case p.Reason != "":
		s.conds.set(condSchedulable, metav1.ConditionTrue, ReasonAcceptsApps, p.Message)
	}
}

// windowsCondition says whether every hibernation window reads. It is set
// where the policy has windows, and kept (True) once windows are gone; a
// cluster without windows pays nothing for it.
func (s *step) windowsCondition() {
	p := s.mc.Spec.Parking
	if (p == nil || len(p.Windows) == 0) && s.conds.c[condWindowsValid].Type == "" {
		return
	}
	status, reason, msg := WindowsValid(p)
	s.conds.set(condWindowsValid, status, reason, msg)
}

// WindowsValid is the WindowsValid condition of a parking policy, on a
// cluster and on a pool alike: True when every hibernation window reads;
// False naming each one that does not (parking.WindowProblems), with what
// parking does meanwhile.
func WindowsValid(p *v1alpha1.ParkingPolicy) (status metav1.ConditionStatus, reason, message string) {
	problems := parking.WindowProblems(p)
	if len(problems) == 0 {
		return metav1.ConditionTrue, ReasonWindowsRead, "every hibernation window reads"
	}
	msgs := make([]string, len(problems))
	for i, pr := range problems {
		msgs[i] = pr.Message
	}
	return metav1.ConditionFalse, ReasonInvalidWindow, strings.Join(msgs, "; ")
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func lower(p Progress) string {
	switch p {
	case ProgressRunning:
		return "running"
	case ProgressStopped:
		return "stopped"
	}
	return string(p)
}

// short prints a duration in whole seconds ("30m0s" as "30m").
func short(d time.Duration) string {
	str := d.Round(time.Second).String()
	for _, z := range [...]string{"m0s", "h0m"} {
		if len(str) > len(z) && str[len(str)-len(z):] == z {
			str = str[:len(str)-len(z)+1]
		}
	}
	return str
}
