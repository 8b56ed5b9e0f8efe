package lifecycle

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// Status holds the MemberCluster status fields lifecycle owns (its field
// manager applies exactly these). The kubeconfig Secret reference is the
// shell's, which writes the Secret.
type Status struct {
	Phase         v1alpha1.ClusterPhase
	PhaseSince    time.Time
	Failures      int32
	DesiredNodes  int32
	LastScaleTime time.Time
	FnEndpoint    string
	// Conditions are lifecycle's conditions (Provisioned, FnInstalled,
	// Parked, Schedulable, NodesScaled, WindowsValid), each with the
	// transition time kept while its status stays.
	Conditions []metav1.Condition
}

// cond indexes the condition types lifecycle writes, in the order
// Status.Conditions lists them.
type cond int

const (
	condProvisioned cond = iota
	condFnInstalled
	condParked
	condSchedulable
	condNodesScaled
	condWindowsValid
	numConds
)

func (c cond) String() string {
	switch c {
	case condProvisioned:
		return v1alpha1.ClusterProvisioned
	case condFnInstalled:
		return v1alpha1.ClusterFnInstalled
	case condParked:
		return v1alpha1.ClusterParked
	case condSchedulable:
		return v1alpha1.ClusterSchedulable
	case condNodesScaled:
		return v1alpha1.ClusterNodesScaled
	case condWindowsValid:
		return v1alpha1.ConditionWindowsValid
	}
	return ""
}

// condOf returns the index of a lifecycle condition type, numConds for
// another's.
func condOf(typ string) cond {
	for c := range numConds {
		if c.String() == typ {
			return c
		}
	}
	return numConds
}

// ApplyTo writes s into st, replacing lifecycle's conditions and keeping
// the others (Healthy is reconcile's).
func (s Status) ApplyTo(st *v1alpha1.MemberClusterStatus) {
	st.Phase = s.Phase
	st.PhaseSince = timePtr(s.PhaseSince)
	st.Failures = s.Failures
	st.DesiredNodes = s.DesiredNodes
	st.LastScaleTime = timePtr(s.LastScaleTime)
	st.FnEndpoint = s.FnEndpoint
	kept := st.Conditions[:0:0]
	for _, c := range st.Conditions {
		if condOf(c.Type) == numConds {
			kept = append(kept, c)
		}
	}
	st.Conditions = append(kept, s.Conditions...)
}

// StatusOf reads back the fields of st that lifecycle owns, its
// conditions in the order a Decision lists them: ApplyTo of the result
// writes st's lifecycle fields as they are. A shell compares it with a
// decision's Status to skip a write that would change nothing.
func StatusOf(st *v1alpha1.MemberClusterStatus) Status {
	s := Status{Phase: st.Phase, Failures: st.Failures, DesiredNodes: st.DesiredNodes, FnEndpoint: st.FnEndpoint}
	if st.PhaseSince != nil {
		s.PhaseSince = st.PhaseSince.Time
	}
	if st.LastScaleTime != nil {
		s.LastScaleTime = st.LastScaleTime.Time
	}
	for c := range numConds {
		for i := range st.Conditions {
			if st.Conditions[i].Type == c.String() {
				s.Conditions = append(s.Conditions, st.Conditions[i])
				break
			}
		}
	}
	return s
}

func timePtr(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t)
	return &mt
}

// conditions is the working set of lifecycle's conditions during a step.
type conditions struct {
	c          [numConds]metav1.Condition
	now        metav1.Time
	generation int64
}

func newConditions(prev []metav1.Condition, now time.Time, generation int64) conditions {
	cs := conditions{now: metav1.NewTime(now), generation: generation}
	for _, p := range prev {
		if i := condOf(p.Type); i < numConds {
			cs.c[i] = p
		}
	}
	return cs
}

// set sets one condition; its transition time moves only when its status
// changes.
func (cs *conditions) set(i cond, status metav1.ConditionStatus, reason, message string) {
	c := &cs.c[i]
	if c.Type == "" || c.Status != status {
		c.LastTransitionTime = cs.now
	}
	c.Type, c.Status, c.Reason, c.Message, c.ObservedGeneration = i.String(), status, reason, message, cs.generation
}

// setText is set with the message as text: when the condition already
// reads so, its message is kept rather than built again.
func (cs *conditions) setText(i cond, status metav1.ConditionStatus, reason string, message text) {
	msg := cs.c[i].Message
	if !message.is(msg) {
		msg = message.String()
	}
	cs.set(i, status, reason, msg)
}

func (cs *conditions) list() []metav1.Condition {
	n := 0
	for i := range cs.c {
		if cs.c[i].Type != "" {
			n++
		}
	}
	out := make([]metav1.Condition, 0, n)
	for i := range cs.c {
		if cs.c[i].Type != "" {
			out = append(out, cs.c[i])
		}
	}
	return out
}

// text is a message in pieces, on the stack: it is compared with the
// message it replaces piece by piece, and joined into a string only when
// it differs. 8 pieces hold the longest message lifecycle writes (7).
type text struct {
	part [8]string
	n    int
}

func words(parts ...string) text { return text{}.and(parts...) }

// and is t followed by parts.
func (t text) and(parts ...string) text {
	if t.n+len(parts) > len(t.part) {
		panic("lifecycle: a text of more than 8 pieces")
	}
	t.n += copy(t.part[t.n:], parts)
	return t
}

func (t text) String() string { return strings.Join(t.part[:t.n], "") }

// is is whether t reads as s.
func (t text) is(s string) bool {
	for _, p := range t.part[:t.n] {
		if !strings.HasPrefix(s, p) {
			return false
		}
		s = s[len(p):]
	}
	return s == ""
}
