// Package parking answers one question for one cluster: should it run now?
// It is a pure function of the cluster's placements, a wake request, how
// long it has been idle, its hibernation windows and a manual park, so the
// answer is never stored a second time: the parking sweep, lifecycle and
// placement all ask ShouldRun and get the same answer for the same input.
//
// The rules, in the order they win:
//  1. parking mode Never: runs (neither idleness, windows nor a manual park
//     parks it: Never is how a cluster that cannot be parked, such as a
//     static one, says so);
//  2. a manual park (spec.parked): parked;
//  3. inside a hibernation window: parked, even with placements;
//  4. placements, or a capacity request naming the cluster: runs;
//  5. idle for less than its idleTTL (default 20m): runs; longer: parked.
//
// A window also makes the cluster unschedulable from DrainLead (5m) before it
// opens, so that placement moves its apps before it parks.
package parking

import (
	"time"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// Defaults of Options.
const (
	// DefaultIdleTTL is how long a cluster without placements keeps running
	// when its policy sets no idleTTL: Navarkos' 1,200 s.
	DefaultIdleTTL = 20 * time.Minute
	// DefaultDrainLead is how long before a window opens the cluster stops
	// taking apps: placement runs on every cluster change and on its tick
	// (1m), deploy moves an app in seconds and DNS answers with a 60 s TTL,
	// so 5m lets the apps leave before the cluster parks.
	DefaultDrainLead = 5 * time.Minute
	// DefaultMissedDeadline is how late a window's opening may still be
	// applied to a running cluster. The sweep runs every minute, so a
	// window more than 10m old was missed (fnfleet was down); as Gardener
	// does, it is skipped rather than parking the cluster by surprise.
	DefaultMissedDeadline = 10 * time.Minute
)

// Options tune the rules; zero fields take the defaults above.
type Options struct {
	DefaultIdleTTL time.Duration
	DrainLead      time.Duration
	MissedDeadline time.Duration
}

func (o Options) withDefaults() Options {
	if o.DefaultIdleTTL <= 0 {
		o.DefaultIdleTTL = DefaultIdleTTL
	}
	if o.DrainLead <= 0 {
		o.DrainLead = DefaultDrainLead
	}
	if o.MissedDeadline <= 0 {
		o.MissedDeadline = DefaultMissedDeadline
	}
	return o
}

// Input is what the answer depends on.
type Input struct {
	// Policy is spec.parking; nil parks with mode Stop after DefaultIdleTTL.
	Policy *v1alpha1.ParkingPolicy
	// ManualPark is spec.parked.
	ManualPark bool
	// Parked is whether the cluster is parked or parking now. A window
	// that opened while it was parked keeps it parked to the window's end;
	// a running cluster only parks for a window opened at most
	// MissedDeadline ago.
	Parked bool
	// Placements is how many FleetApps have replicas on the cluster, as the
	// shell counts them from FleetApp status.
	Placements int
	// WakeRequested is whether a FleetApp's capacity request names the
	// cluster to wake.
	WakeRequested bool
	// IdleSince is the idle clock as recorded (status.idleSince): when the
	// cluster was first seen without placements; zero when none is
	// recorded. Answer.IdleSince is the clock to record next.
	IdleSince time.Time
	// ReadySince is when the cluster last became Ready (created or woken:
	// scaling keeps it); zero when it is not Ready.
	ReadySince time.Time
	// Now is the time of the answer.
	Now time.Time
	// Options tune the rules.
	Options Options
}

// Reason names the rule that decided, in words fit for a condition reason.
type Reason string

// Reasons of an Answer.
const (
	// ReasonNeverParks: parking mode Never.
	ReasonNeverParks Reason = "NeverParks"
	// ReasonManual: a person set spec.parked.
	ReasonManual Reason = "ParkedByHand"
	// ReasonWindow: a hibernation window is open.
	ReasonWindow Reason = "HibernationWindow"
	// ReasonWindowAhead: a window opens within DrainLead; still runs.
	ReasonWindowAhead Reason = "HibernationWindowAhead"
	// ReasonPlaced: apps are placed on the cluster.
	ReasonPlaced Reason = "AppsPlaced"
	// ReasonWakeRequested: a capacity request names the cluster.
	ReasonWakeRequested Reason = "WakeRequested"
	// ReasonIdleWithinTTL: idle, for less than its idleTTL.
	ReasonIdleWithinTTL Reason = "IdleWithinTTL"
	// ReasonIdle: idle for its idleTTL or longer.
	ReasonIdle Reason = "Idle"
	// ReasonIdleUnknown: a parked cluster without placements has no idle
	// clock recorded (parked by hand, by a window, or before it was
	// created), so it stays parked.
	ReasonIdleUnknown Reason = "IdleSinceUnknown"
)

// Answer is whether the cluster should run, and why.
type Answer struct {
	// Run is true when the cluster should be running.
	Run bool
	// Schedulable is false when new apps must stay off the cluster and
	// placed ones move away: a window is about to open or is open, or a
	// person parked it.
	Schedulable bool
	// Reason is the rule that decided.
	Reason Reason
	// Message says the same for a person, with times.
	Message string
	// NextChange is when the answer can next change with time alone (a
	// window opens or closes, the idle TTL runs out); zero when only a
	// change of input can change it. A shell requeues for it.
	NextChange time.Time
	// IdleSince is the idle clock the shell records in status.idleSince
	// (IdleClock): zero while apps are placed.
	IdleSince time.Time
}

// IdleClock is when the cluster became idle, as the hub should record it
// (status.idleSince), whoever looks first:
//   - zero while apps are placed on it;
//   - the recorded time, once there is one: the clock runs from the first
//     look that found the cluster without apps, not from a later one;
//   - now, for a cluster first seen without apps. A cluster that has been
//     Ready for hours starts its idle TTL when its last app leaves, not
//     when it became Ready;
//   - zero for a parked cluster without a recorded clock: it was parked
//     by hand, by a window or before it was ever created, and starting
//     its clock now would wake it (idle for less than its TTL).
func IdleClock(in Input) time.Time {
	switch {
	case in.Placements > 0:
		return time.Time{}
	case !in.IdleSince.IsZero():
		return in.IdleSince
	case in.Parked:
		return time.Time{}
	}
	return in.Now
}

// ShouldRun answers whether the cluster should run now.
func ShouldRun(in Input) Answer {
	in.IdleSince = IdleClock(in)
	a := shouldRun(in)
	a.IdleSince = in.IdleSince
	return a
}

func shouldRun(in Input) Answer {
	opts := in.Options.withDefaults()
	mode, ttl, windows := v1alpha1.ParkingStop, opts.DefaultIdleTTL, []v1alpha1.ParkingWindow(nil)
	if p := in.Policy; p != nil {
		if p.Mode != "" {
			mode = p.Mode
		}
		if p.IdleTTL != nil && p.IdleTTL.Duration > 0 {
			ttl = p.IdleTTL.Duration
		}
		windows = p.Windows
	}
	if mode == v1alpha1.ParkingNever {
		msg := "runs: parking mode Never"
		if in.ManualPark {
			msg += "; spec.parked is ignored: set parking.mode to Stop, ScaleToZero or Delete to park by hand"
		}
		return Answer{Run: true, Schedulable: true, Reason: ReasonNeverParks, Message: msg}
	}
	if in.ManualPark {
		return Answer{Reason: ReasonManual, Message: "parked: spec.parked is set; clear it to let the cluster run"}
	}

	applyFrom := time.Time{} // a parked cluster stays parked through any open window
	if !in.Parked {
		applyFrom = in.Now.Add(-opts.MissedDeadline)
	}
	w := windowsAt(windows, in.Now, applyFrom, opts.DrainLead)
	if w.open != nil {
		return Answer{Reason: ReasonWindow, Message: "parked: " + w.open.describe(), NextChange: w.open.end}.withNotes(w.notes)
	}

	a := byDemand(in, ttl)
	if w.missed != nil {
		// The cluster runs through a missed window under the usual rules;
		// the answer can change again when it closes.
		a.Message += "; " + w.missed.describe() + " skipped: it opened " + roundDuration(in.Now.Sub(w.missed.start)) +
			" ago, more than the " + roundDuration(opts.MissedDeadline) + " deadline for a missed opening"
		a.NextChange = earliest(a.NextChange, w.missed.end)
	}
	// An opening inside a missed span changes nothing: the span goes on.
	ahead, nextStart := w.ahead, w.nextStart
	if w.missed != nil && !nextStart.After(w.missed.end) {
		ahead, nextStart = nil, time.Time{}
	}
	if ahead != nil {
		a.Schedulable = false
		a.Message += "; unschedulable: " + ahead.describe() + " opens in " + roundDuration(ahead.start.Sub(in.Now))
		if a.Run {
			a.Reason = ReasonWindowAhead
		}
		a.NextChange = earliest(a.NextChange, ahead.start)
	} else if !nextStart.IsZero() {
		a.NextChange = earliest(a.NextChange, nextStart.Add(-opts.DrainLead))
	}
	return a.withNotes(w.notes)
}

// byDemand applies rules 4 and 5: placements, a wake request, the idle TTL.
//
// Hysteresis: the idle clock starts at the later of idleSince (IdleClock)
// and the time the cluster last became Ready. A cluster that just lost its
// last app runs a full idleTTL (20m) before parking, and so does one just
// woken or created, which has no app yet because placement places only on
// Ready clusters; an app that comes and goes restarts the clock. Parking (idle
// for the TTL) and waking (a named request) have different triggers, so a
// cluster cannot cycle faster than once per idleTTL.
func byDemand(in Input, ttl time.Duration) Answer {
	switch {
	case in.Placements > 0:
		return Answer{Run: true, Schedulable: true, Reason: ReasonPlaced, Message: "runs: " + plural(in.Placements, "app") + " placed"}
	case in.WakeRequested:
		return Answer{Run: true, Schedulable: true, Reason: ReasonWakeRequested, Message: "runs: a capacity request names it to wake"}
	}
	since := in.IdleSince
	if in.ReadySince.After(since) {
		since = in.ReadySince
	}
	if since.IsZero() {
		// Only a parked cluster has no idle clock (IdleClock starts one for
		// every other): it stays parked, since "runs" would wake it at
		// once, and it would park again an idleTTL later.
		return Answer{Schedulable: true, Reason: ReasonIdleUnknown,
			Message: "stays parked: no apps placed, no wake requested, and the time it became idle is not recorded"}
	}
	parkAt := since.Add(ttl)
	if in.Now.Before(parkAt) {
		return Answer{Run: true, Schedulable: true, Reason: ReasonIdleWithinTTL, NextChange: parkAt,
			Message: "runs: idle for " + roundDuration(in.Now.Sub(since)) + " of its " + roundDuration(ttl) +
				" idleTTL; parks at " + parkAt.UTC().Format(clock) + " unless an app arrives"}
	}
	return Answer{Schedulable: true, Reason: ReasonIdle,
		Message: "parked: no apps since " + since.UTC().Format(clock) + ", longer than its " + roundDuration(ttl) + " idleTTL"}
}

func (a Answer) withNotes(notes string) Answer {
	if notes != "" {
		a.Message += "; " + notes
	}
	return a
}

// For reads the Input of a MemberCluster from its spec and status; the
// caller adds what is not in the object.
func For(mc *v1alpha1.MemberCluster, placements int, wakeRequested bool, now time.Time) Input {
	in := Input{
		Policy:        mc.Spec.Parking,
		ManualPark:    mc.Spec.Parked,
		Parked:        mc.Status.Phase == v1alpha1.PhaseParking || mc.Status.Phase == v1alpha1.PhaseParked,
		Placements:    placements,
		WakeRequested: wakeRequested,
		Now:           now,
	}
	if mc.Status.IdleSince != nil {
		in.IdleSince = mc.Status.IdleSince.Time
	}
	if (mc.Status.Phase == v1alpha1.PhaseReady || mc.Status.Phase == v1alpha1.PhaseScaling) && mc.Status.PhaseSince != nil {
		in.ReadySince = mc.Status.PhaseSince.Time
	}
	return in
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
