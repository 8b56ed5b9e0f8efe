package placement

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type selectorOp uint8

const (
	opIn selectorOp = iota
	opNotIn
	opExists
	opDoesNotExist
)

type labelReq struct {
	key    string
	op     selectorOp
	values []string
}

// labelMatcher is a metav1.LabelSelector compiled for matching many
// clusters: one map lookup per requirement and no interface calls, which
// matters when a decision reads thousands of label maps.
type labelMatcher struct {
	reqs []labelReq
}

// compileSelector validates s with the apimachinery rules (so errors read as
// they do everywhere in Kubernetes) and compiles it.
func compileSelector(s *metav1.LabelSelector) (labelMatcher, error) {
	var m labelMatcher
	if s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0) {
		return m, nil
	}
	if _, err := metav1.LabelSelectorAsSelector(s); err != nil {
		return m, err
	}
	m.reqs = make([]labelReq, 0, len(s.MatchLabels)+len(s.MatchExpressions))
	for k, v := range s.MatchLabels {
		m.reqs = append(m.reqs, labelReq{key: k, op: opIn, values: []string{v}})
	}
	// Map order is random; sort so that matching does the same work each
	// time (the result would not change either way).
	slices.SortFunc(m.reqs, func(a, b labelReq) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	for _, e := range s.MatchExpressions {
		r := labelReq{key: e.Key, values: e.Values}
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			r.op = opIn
		case metav1.LabelSelectorOpNotIn:
			r.op = opNotIn
		case metav1.LabelSelectorOpExists:
			r.op = opExists
		case metav1.LabelSelectorOpDoesNotExist:
			r.op = opDoesNotExist
		default:
			return m, fmt.Errorf("operator %q is not one of In, NotIn, Exists, DoesNotExist", e.Operator)
		}
		m.reqs = append(m.reqs, r)
	}
	return m, nil
}

func (m *labelMatcher) all() bool { return len(m.reqs) == 0 }

func (m *labelMatcher) matches(labels map[string]string) bool {
	for i := range m.reqs {
		r := &m.reqs[i]
		v, ok := labels[r.key]
		switch r.op {
		case opIn:
			if !ok || !slices.Contains(r.values, v) {
				return false
			}
		case opNotIn:
			if ok && slices.Contains(r.values, v) {
				return false
			}
		case opExists:
			if !ok {
				return false
			}
		case opDoesNotExist:
			if ok {
				return false
			}
		}
	}
	return true
}

// equal reports whether m and o have the same requirements in the same
// order, and so match the same label sets.
func (m *labelMatcher) equal(o *labelMatcher) bool {
	return slices.EqualFunc(m.reqs, o.reqs, func(a, b labelReq) bool {
		return a.key == b.key && a.op == b.op && slices.Equal(a.values, b.values)
	})
}

// clone copies m, values included, so that it does not share the app's
// slices.
func (m *labelMatcher) clone() labelMatcher {
	reqs := slices.Clone(m.reqs)
	for i := range reqs {
		reqs[i].values = slices.Clone(reqs[i].values)
	}
	return labelMatcher{reqs: reqs}
}
