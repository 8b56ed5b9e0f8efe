package local

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestClusterSpecValidation(t *testing.T) {
	long := strings.Repeat("a", maxNameLength+1)
	tests := []struct {
		name string
		spec ClusterSpec
		want []string // substrings of the error; none means valid
	}{
		{name: "zero value is valid", spec: ClusterSpec{}},
		{name: "full spec", spec: ClusterSpec{Name: "eu-1", Region: "eu-west", Zone: "eu-west-a", Nodes: 3,
			NodeCapacity: Resources{CPU: "500m", Memory: "1Gi", Pods: "10"}, NodeLabels: map[string]string{"tier": "gold"}}},
		{name: "name not a DNS label", spec: ClusterSpec{Name: "EU_1"}, want: []string{`cluster name "EU_1"`}},
		{name: "name too long", spec: ClusterSpec{Name: long}, want: []string{"longer than 40 characters"}},
		{name: "negative nodes", spec: ClusterSpec{Nodes: -2}, want: []string{"nodes -2 out of range: use 1 to 1000"}},
		{name: "too many nodes", spec: ClusterSpec{Nodes: maxNodes + 1}, want: []string{"nodes 1001 out of range"}},
		{name: "bad quantity", spec: ClusterSpec{NodeCapacity: Resources{Memory: "lots"}}, want: []string{`node memory "lots" is not a Kubernetes quantity`}},
		{name: "zero capacity", spec: ClusterSpec{NodeCapacity: Resources{Pods: "0"}}, want: []string{`node pods "0" must be positive`}},
		{name: "bad region label", spec: ClusterSpec{Region: "eu west"}, want: []string{`node label topology.kubernetes.io/region="eu west"`}},
		{name: "bad label key", spec: ClusterSpec{NodeLabels: map[string]string{"-bad": "x"}}, want: []string{`node label key "-bad"`}},
		{name: "every problem at once", spec: ClusterSpec{Name: "X", Nodes: -1, NodeCapacity: Resources{CPU: "?"}},
			want: []string{`cluster name "X"`, "nodes -1", `node cpu "?"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("valid spec refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("invalid spec accepted; want error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestNodeForCarriesTopologyAndCapacity(t *testing.T) {
	spec := &ClusterSpec{Name: "c1", Region: "eu-west", Zone: "eu-west-b", NodeLabels: map[string]string{"pool": "fn"},
		NodeCapacity: Resources{CPU: "4", Memory: "8Gi"}}
	capacity, err := spec.NodeCapacity.list()
	if err != nil {
		t.Fatal(err)
	}
	n := nodeFor(spec, 2, capacity)
	if n.Name != "c1-node-2" {
		t.Errorf("name %q, want c1-node-2", n.Name)
	}
	for k, want := range map[string]string{corev1.LabelTopologyRegion: "eu-west", corev1.LabelTopologyZone: "eu-west-b", "pool": "fn", "kubernetes.io/hostname": "c1-node-2"} {
		if got := n.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if n.Annotations[kwokNodeAnnotation] != "fake" {
		t.Errorf("node lacks the kwok annotation: %v", n.Annotations)
	}
	if got := n.Status.Allocatable.Cpu().String(); got != "4" {
		t.Errorf("allocatable cpu %s, want 4", got)
	}
	if got := n.Status.Capacity.Pods().String(); got != "110" {
		t.Errorf("capacity pods %s, want the default 110", got)
	}
}
