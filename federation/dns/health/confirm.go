package health

import (
	"fmt"
	"slices"
	"strings"
)

// Vote is one vantage point's probe of a URL the hub found down.
type Vote struct {
	// Cluster is the vantage point's MemberCluster name.
	Cluster string
	// Reached is whether the vantage point's probe function answered at
	// all; a vantage point that could not be asked has no say.
	Reached bool
	// Up is what its probe found, when Reached.
	Up bool
	// Reason is its probe's reason, or why it could not be asked.
	Reason string
}

// Confirm decides whether a member the hub's own probes found down leaves
// the answers, given what other members' probes of the same URL found. A
// hub that loses its own network must not empty every name (k8gb, having
// dropped this check, fails over when only its view of the member is cut):
//
//   - no vantage candidates at all (a fleet of one member, or none other
//     ready): the hub decides alone, and drops;
//   - candidates, none reachable: hold; the hub may be the one cut off, and
//     a member is never dropped on the word of a hub that sees nothing;
//   - else drop only when a strict majority of the vantage points reached
//     also find it down (1 of 2 is a tie, and a tie holds).
func Confirm(votes []Vote) (drop bool, reason string) {
	if len(votes) == 0 {
		return true, "no other member to confirm from: the hub decides alone"
	}
	var reached, down int
	var downs, ups []string
	for _, v := range votes {
		if !v.Reached {
			continue
		}
		reached++
		if v.Up {
			ups = append(ups, v.Cluster)
		} else {
			down++
			downs = append(downs, v.Cluster)
		}
	}
	// Named in order, so that the reason does not depend on the order
	// the vantage points were asked in.
	slices.Sort(ups)
	slices.Sort(downs)
	if reached == 0 {
		return false, fmt.Sprintf("held: none of %d vantage points could be asked (%s), so the hub may be the one cut off",
			len(votes), firstReason(votes))
	}
	if 2*down > reached {
		return true, fmt.Sprintf("%d of %d vantage points reached find it down too (%s)", down, reached, strings.Join(downs, ", "))
	}
	return false, fmt.Sprintf("held: %d of %d vantage points reached still get an answer (%s)", reached-down, reached, strings.Join(ups, ", "))
}

// firstReason is the first vote's reason, as an example of why the
// vantage points could not be asked.
func firstReason(votes []Vote) string {
	return votes[0].Cluster + ": " + votes[0].Reason
}
