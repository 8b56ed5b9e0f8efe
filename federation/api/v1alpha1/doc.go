// Package v1alpha1 holds the fnfleet federation API (group fnfleet.dev):
// MemberCluster, one Kubernetes cluster of the fleet; ClusterPool, what the
// fleet may create on demand; and FleetApp, one Fn application placed on the
// fleet. The hub stores them as custom resources; the CRDs in
// charts/fnfleet/crds are generated from these types with controller-gen
// (make generate), and so is zz_generated.deepcopy.go.
//
// +kubebuilder:object:generate=true
// +groupName=fnfleet.dev
package v1alpha1
