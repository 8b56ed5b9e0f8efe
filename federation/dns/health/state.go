package health

import "time"

// Hysteresis thresholds. One failed probe is a lost packet, a slow GC or a
// function's cold start more often than a dead member; two in a row, a
// tick apart (1-2 s), is a member that stays down. Coming back needs two
// successes too, so a member that alternates (up, down, up, ...) keeps
// whatever it had and is never flipped in and out of the answers, each
// flip costing a zone write and a TTL of stale answers at the resolvers.
const (
	// FailuresToDrop consecutive failed probes drop a healthy member.
	FailuresToDrop = 2
	// SuccessesToReturn consecutive answered probes bring a dropped
	// member back.
	SuccessesToReturn = 2
)

// State is what the hub knows of one app on one member.
type State struct {
	// Known is false until the member was first probed (or seeded as
	// answering): its first answered probe then lets it in at once, so a
	// newly placed member answers within one probe, not two.
	Known bool
	// Healthy is whether the member belongs in the app's answers.
	Healthy bool
	// Successes and Failures count the consecutive probes that answered
	// and that did not; one of them is always 0.
	Successes, Failures int
	// Since is when Healthy last changed (or when the state was seeded).
	Since time.Time
	// Reason says why: the last failed probe's reason while it counts,
	// empty while the member answers.
	Reason string
}

// Seed is the state of a member the checker has not probed yet. A member
// the app's status says is answering starts healthy and known, so that a
// dns function that restarts (and forgets every state) drops nothing: each
// member still needs FailuresToDrop failures to leave.
func Seed(answering bool, now time.Time) State {
	if answering {
		return State{Known: true, Healthy: true, Since: now, Reason: "answering, as the app's status says"}
	}
	return State{Since: now}
}

// Step is the state after one probe that answered (up) or did not, for the
// reason given, at now.
func Step(s State, up bool, reason string, now time.Time) State {
	next := s
	next.Known = true
	if up {
		next.Successes, next.Failures = s.Successes+1, 0
		if !s.Known || (!s.Healthy && next.Successes >= SuccessesToReturn) {
			next.Healthy, next.Since = true, now
		}
		if next.Healthy {
			next.Reason = ""
		}
		return next
	}
	next.Successes, next.Failures, next.Reason = 0, s.Failures+1, reason
	if !s.Known {
		// First seen down: out, as it was.
		next.Healthy, next.Since = false, now
	} else if s.Healthy && next.Failures >= FailuresToDrop {
		next.Healthy, next.Since = false, now
	}
	return next
}
