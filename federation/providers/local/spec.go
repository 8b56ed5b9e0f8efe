package local

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ClusterSpec describes a local cluster: its name, where it claims to be, and
// the (fake) nodes it has.
type ClusterSpec struct {
	// Name is the cluster's name, a DNS label of at most 40 characters
	// (maxNameLength). Empty means a unique generated name.
	Name string
	// Region and Zone label every node (topology.kubernetes.io/region, zone).
	Region, Zone string
	// Nodes is the number of nodes; 0 means 1.
	Nodes int
	// NodeCapacity is each node's capacity; empty fields take defaults.
	NodeCapacity Resources
	// NodeLabels are extra labels on every node.
	NodeLabels map[string]string
}

// Resources is a node's capacity in Kubernetes quantity syntax.
type Resources struct {
	CPU    string // default "32"
	Memory string // default "256Gi"
	Pods   string // default "110"
}

// maxNameLength bounds cluster names so that derived names (nodes, DNS
// labels, Helm releases) stay within Kubernetes' limits.
const maxNameLength = 40

// maxNodes bounds the nodes of one local cluster.
const maxNodes = 1000

// nodeResources parses the spec's capacity, filling defaults.
func (r Resources) list() (corev1.ResourceList, error) {
	values := []struct {
		name  corev1.ResourceName
		value string
		def   string
	}{
		{corev1.ResourceCPU, r.CPU, "32"},
		{corev1.ResourceMemory, r.Memory, "256Gi"},
		{corev1.ResourcePods, r.Pods, "110"},
	}
	list := corev1.ResourceList{}
	for _, v := range values {
		s := v.value
		if s == "" {
			s = v.def
		}
		q, err := resource.ParseQuantity(s)
		if err != nil {
			return nil, fmt.Errorf("node %s %q is not a Kubernetes quantity (e.g. %q): %w", v.name, s, v.def, err)
		}
		if q.Sign() <= 0 {
			return nil, fmt.Errorf("node %s %q must be positive", v.name, s)
		}
		list[v.name] = q
	}
	return list, nil
}

// validate reports everything wrong with the spec at once.
func (s ClusterSpec) validate() error {
	var errs []error
	if s.Name != "" {
		if len(s.Name) > maxNameLength {
			errs = append(errs, fmt.Errorf("cluster name %q is longer than %d characters", s.Name, maxNameLength))
		}
		for _, msg := range validation.IsDNS1123Label(s.Name) {
			errs = append(errs, fmt.Errorf("cluster name %q: %s", s.Name, msg))
		}
	}
	if s.Nodes < 0 || s.Nodes > maxNodes {
		errs = append(errs, fmt.Errorf("nodes %d out of range: use 1 to %d (0 means 1)", s.Nodes, maxNodes))
	}
	if _, err := s.NodeCapacity.list(); err != nil {
		errs = append(errs, err)
	}
	labels := map[string]string{corev1.LabelTopologyRegion: s.Region, corev1.LabelTopologyZone: s.Zone}
	for k, v := range s.NodeLabels {
		labels[k] = v
	}
	for k, v := range labels {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("node label key %q: %s", k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Errorf("node label %s=%q: %s", k, v, msg))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid cluster spec: %w", err)
	}
	return nil
}

func (s ClusterSpec) nodeCount() int {
	if s.Nodes == 0 {
		return 1
	}
	return s.Nodes
}
