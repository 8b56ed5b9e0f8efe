// Package lifecycle is the state machine of one member cluster: a pure
// function from what the hub holds (spec, status), what the provider
// reports (Observed), whether the cluster should run (a parking.Answer) and
// the time, to the new status, the one next action and when to look again.
//
// The shell around it reads the MemberCluster, observes the provider, calls
// Step, does the action, and writes Decision.Status with the resourceVersion
// it read. Two rules make that safe to repeat and to crash in:
//   - a step either changes the phase or asks for an action, never both, so
//     the phase that owns an action (Parking for a park, Provisioning for a
//     create) is persisted before the provider is called;
//   - every action is idempotent (a create of an existing name, a stop of a
//     stopped cluster succeed), and a phase repeats its action each poll
//     until the observation shows it done, or its timeout sends it to Failed.
//
// Failed always has a way out: it retries after a capped exponential
// backoff by going to the phase the observation calls for, and a deletion
// leaves it at once.
package lifecycle

import (
	"time"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/parking"
)

// Progress is the provider's word for what the cluster is doing.
type Progress string

// Progress values a provider reports.
const (
	ProgressCreating Progress = "Creating"
	ProgressRunning  Progress = "Running"
	ProgressStopped  Progress = "Stopped"
	ProgressDeleting Progress = "Deleting"
	ProgressFailed   Progress = "Failed"
)

// Observed is what a provider and a probe report about the cluster now.
// Providers fill it; the zero value is "the cluster does not exist".
type Observed struct {
	// Exists is whether the provider has the cluster (in any progress).
	Exists bool
	// Progress is what it is doing; Message says more (a provider's error).
	Progress Progress
	Message  string
	// KubeconfigReady is whether a kubeconfig for it can be read.
	KubeconfigReady bool
	// FnEndpoint is the URL of the cluster's Fn API, once published.
	FnEndpoint string
	// Nodes is the worker node count.
	Nodes int32
	// Release is the Helm release of charts/fn on the cluster.
	Release Release
	// FnAnswering is whether Fn answers at FnEndpoint.
	FnAnswering bool
	// Unknown, when not empty, says why the cluster's inside (its
	// kubeconfig, the Fn release, the endpoint) could not be read this
	// time. KubeconfigReady, Release, FnEndpoint and FnAnswering are then
	// unknown, not absent: the phase holds, condition FnInstalled says
	// Unknown, and only a failure that lasts Timeouts.Unreachable changes
	// the phase. A Helm status read that failed for a second must not send
	// a Ready cluster back to Installing.
	Unknown string
}

// Release is the state of the Helm release of charts/fn.
type Release struct {
	Name     string
	Revision int
	// Deployed: the release is installed. Pending: an install or upgrade is
	// under way (the installer recovers one left pending by a crash).
	Deployed, Pending bool
}

// ActionKind is what the shell asks of the provider or the installer.
type ActionKind uint8

// Actions.
const (
	ActNone ActionKind = iota
	// ActCreate creates the cluster (provider create; success if it exists).
	ActCreate
	// ActInstallFn installs charts/fn on it (installer Apply).
	ActInstallFn
	// ActPark parks it with Action.Mode: Stop stops it, ScaleToZero scales
	// its workers to zero, Delete deletes the cloud cluster while the
	// MemberCluster stays, Parked, to be provisioned afresh on wake.
	ActPark
	// ActUnpark starts it again, with Action.Nodes workers.
	ActUnpark
	// ActScaleNodes sets the worker count to Action.Nodes.
	ActScaleNodes
	// ActDelete deletes the cluster for good.
	ActDelete
)

func (k ActionKind) String() string {
	switch k {
	case ActNone:
		return "none"
	case ActCreate:
		return "create"
	case ActInstallFn:
		return "install Fn"
	case ActPark:
		return "park"
	case ActUnpark:
		return "unpark"
	case ActScaleNodes:
		return "scale nodes"
	case ActDelete:
		return "delete"
	}
	return "unknown"
}

// Action is the one thing to do next.
type Action struct {
	Kind ActionKind
	// Mode is how to park (ActPark).
	Mode v1alpha1.ParkingMode
	// Nodes is the worker count (ActScaleNodes, ActUnpark).
	Nodes int32
}

// Timeouts bound the phases in motion; each counts from status.phaseSince,
// but Scale (from status.lastScaleTime) and Unreachable (from when the
// failure began).
// Ready and Parked are at rest and have none; Pending leaves at once.
type Timeouts struct {
	// Provision: managed control planes take 10-15 minutes to create
	// (Cluster API on a cloud), a local one 6 s; 30m is twice the slow case.
	Provision time.Duration
	// Install: Helm installs charts/fn in under a minute once images are
	// pulled; 10m covers first pulls and the endpoint's load balancer.
	Install time.Duration
	// Park: stopping processes takes seconds, draining and removing cloud
	// workers a few minutes; 10m.
	Park time.Duration
	// Resume is how long a wake may take before the cluster is Failed with
	// WakeTimedOut, so placement sends its apps elsewhere: a local
	// cluster wakes in under 10 s, cloud workers from zero in 3-5 minutes;
	// 15m.
	Resume time.Duration
	// Scale: a cloud node joins in 3-5 minutes; 15m, counted from
	// status.lastScaleTime. A scale that times out returns to Ready (the
	// apps still run) with NodesScaled False.
	Scale time.Duration
	// Delete: cloud deletes take 10-15 minutes; 30m.
	Delete time.Duration
	// Unreachable is how long a running cluster's inside may stay
	// unreadable (Observed.Unknown) before the cluster is Failed: 10m, as
	// long as placement waits for a heartbeat before it sends the apps
	// elsewhere. Meanwhile the phase holds.
	Unreachable time.Duration
}

// DefaultTimeouts are the timeouts of a zero Options.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		Provision: 30 * time.Minute,
		Install:   10 * time.Minute,
		Park:      10 * time.Minute,
		Resume:    15 * time.Minute,
		Scale:     15 * time.Minute,
		Delete:    30 * time.Minute,

		Unreachable: 10 * time.Minute,
	}
}

// Options tune the machine; zero fields take the defaults.
type Options struct {
	Timeouts Timeouts
	// Poll is how soon a phase in motion looks again: 10s (a local cluster
	// is up in about 6 s; a 15-minute cloud create costs 90 observations).
	Poll time.Duration
	// Resync is how soon a cluster at rest looks again when nothing else
	// is due: 5m, a safety net under the events and the reconcile tick.
	Resync time.Duration
	// RetryBase and RetryMax bound Failed's backoff: RetryBase after the
	// first failure, doubled per failure, at most RetryMax (10s to 10m:
	// a transient error is retried at once, a broken provider is asked
	// six times an hour).
	RetryBase, RetryMax time.Duration
	// AutoscaleCooldown holds the node count after a change
	// (autoscale.DefaultCooldown when zero).
	AutoscaleCooldown time.Duration
}

func (o Options) withDefaults() Options {
	d := DefaultTimeouts()
	t := &o.Timeouts
	for _, f := range [...]struct {
		v   *time.Duration
		def time.Duration
	}{
		{&t.Provision, d.Provision}, {&t.Install, d.Install}, {&t.Park, d.Park},
		{&t.Resume, d.Resume}, {&t.Scale, d.Scale}, {&t.Delete, d.Delete}, {&t.Unreachable, d.Unreachable},
		{&o.Poll, 10 * time.Second}, {&o.Resync, 5 * time.Minute},
		{&o.RetryBase, 10 * time.Second}, {&o.RetryMax, 10 * time.Minute},
	} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	return o
}

// Backoff is how long Failed waits before its n-th retry (n >= 1).
func (o Options) Backoff(failures int32) time.Duration {
	o = o.withDefaults()
	d := o.RetryBase
	for i := int32(1); i < failures && d < o.RetryMax; i++ {
		d *= 2
	}
	return min(d, o.RetryMax)
}

// Input is everything a step depends on.
type Input struct {
	// Cluster is the MemberCluster as read from the hub: spec, status, and
	// metadata.deletionTimestamp (a deletion request).
	Cluster *v1alpha1.MemberCluster
	// Observed is what the provider reports now.
	Observed Observed
	// Parking is parking.ShouldRun's answer for the cluster now.
	Parking parking.Answer
	// Now is the time of the step.
	Now time.Time
	// Options tune the machine.
	Options Options
}

// Decision is the outcome of a step.
type Decision struct {
	// Status is what lifecycle writes to the MemberCluster's status.
	Status Status
	// Action is the one thing to do now.
	Action Action
	// Next is when to step again (Now after a phase change).
	Next time.Time
	// Gone: the cluster is deleted; the shell removes its finalizer.
	Gone bool
	// Message says what the step decided and why, for logs and events.
	Message string
}
