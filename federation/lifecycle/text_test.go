package lifecycle

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTextIs(t *testing.T) {
	msg := words("release ", "fn", " revision ", "12", ", Fn answers at ", endpoint)
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"release fn revision 12, Fn answers at " + endpoint, true},
		{"release fn revision 1, Fn answers at " + endpoint, false},
		{"release fn revision 12, Fn answers at " + endpoint + "/", false},
		{"release fn revision 12, Fn answers at ", false},
		{"", false},
	} {
		if got := msg.is(tc.s); got != tc.want {
			t.Errorf("%q.is(%q) = %v, want %v", msg.String(), tc.s, got, tc.want)
		}
	}
	if s := msg.String(); s != "release fn revision 12, Fn answers at "+endpoint {
		t.Errorf("String = %q", s)
	}
	if !(text{}).is("") || (text{}).String() != "" {
		t.Error("the empty text is not the empty string")
	}
}

// TestSetTextKeepsOrBuilds: setText keeps a message that reads the same
// and builds a changed one, with the transition time moving only on a
// status change.
func TestSetTextKeepsOrBuilds(t *testing.T) {
	before := metav1.NewTime(now.Add(-time.Hour))
	prev := []metav1.Condition{{Type: condFnInstalled.String(), Status: metav1.ConditionTrue, Reason: ReasonInstalled,
		Message: "release fn revision 1, Fn answers at " + endpoint, LastTransitionTime: before, ObservedGeneration: 2}}

	cs := newConditions(prev, now, 3)
	cs.setText(condFnInstalled, metav1.ConditionTrue, ReasonInstalled, words("release ", "fn", " revision ", "1", ", Fn answers at ", endpoint))
	if c := cs.c[condFnInstalled]; c.Message != prev[0].Message || !c.LastTransitionTime.Equal(&before) || c.ObservedGeneration != 3 {
		t.Errorf("unchanged message: %+v", c)
	}

	cs.setText(condFnInstalled, metav1.ConditionFalse, ReasonEndpointNotAnswering, words("release ", "fn", " revision ", "2", " installed, Fn at ", endpoint, " does not answer"))
	want := "release fn revision 2 installed, Fn at " + endpoint + " does not answer"
	if c := cs.c[condFnInstalled]; c.Message != want || c.Reason != ReasonEndpointNotAnswering || !c.LastTransitionTime.Equal(&metav1.Time{Time: now}) {
		t.Errorf("changed message: %+v, want message %q", c, want)
	}
}
