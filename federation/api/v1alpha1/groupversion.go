package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// Group is the API group of every fnfleet resource.
	Group = "fnfleet.dev"
	// Version is the version of the types in this package.
	Version = "v1alpha1"
)

// GroupVersion returns fnfleet.dev/v1alpha1. It is a function rather than a
// package variable so that no caller can change it for everybody else.
func GroupVersion() schema.GroupVersion {
	return schema.GroupVersion{Group: Group, Version: Version}
}

// AddToScheme registers MemberCluster, ClusterPool, FleetApp and DNSZone (and their
// lists) in s, so that typed and dynamic clients can encode and decode them.
func AddToScheme(s *runtime.Scheme) error {
	gv := GroupVersion()
	s.AddKnownTypes(gv,
		&MemberCluster{}, &MemberClusterList{},
		&ClusterPool{}, &ClusterPoolList{},
		&FleetApp{}, &FleetAppList{},
		&DNSZone{}, &DNSZoneList{},
	)
	metav1.AddToGroupVersion(s, gv)
	return nil
}
