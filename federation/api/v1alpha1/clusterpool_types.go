package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterPool is what the fleet may create on demand: clusters of one shape
// from one provider in one region (the seed's "spot clusters"). When
// placement lacks capacity that no parked cluster can give, lifecycle
// creates MemberClusters from the cheapest fitting pool, up to maxClusters;
// each carries spec.poolRef naming the pool. Placement reads the pools: a
// FleetApp's status.capacityRequest names the pool and the clusters to
// create (docs/placement.md, section 6); the placement shell creates them
// and lifecycle provisions each once the pool admits it (status.admitted).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=pool,categories=fnfleet
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.spec.provider.name`
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=`.spec.region`
// +kubebuilder:printcolumn:name="Tier",type=integer,JSONPath=`.spec.tier`
// +kubebuilder:printcolumn:name="Cost/h",type=string,JSONPath=`.spec.costPerHour`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusters`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Parked",type=integer,JSONPath=`.status.parked`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterPoolSpec   `json:"spec"`
	Status ClusterPoolStatus `json:"status,omitempty"`
}

// ClusterPoolList is a list of ClusterPools.
//
// +kubebuilder:object:root=true
type ClusterPoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterPool `json:"items"`
}

// ClusterPoolSpec is the template of the clusters a pool creates and the
// limit on how many.
//
// Which parking modes a provider can do: local stops processes (Stop) or
// deletes the cluster (Delete); capi scales workers to zero (ScaleToZero:
// Cluster API cannot stop a control plane) or deletes; both can be Never.
//
// +kubebuilder:validation:XValidation:rule="self.provider.name != 'static'",message="provider static cannot back a pool: static clusters already exist and are never created or deleted by fnfleet; register each as a MemberCluster instead"
// +kubebuilder:validation:XValidation:rule="self.provider.name != 'local' || !has(self.parking) || !has(self.parking.mode) || self.parking.mode in ['Stop', 'Delete', 'Never']",message="provider local parks with Stop, Delete or Never (it stops or deletes its processes), not ScaleToZero"
// +kubebuilder:validation:XValidation:rule="self.provider.name != 'capi' || !has(self.parking) || !has(self.parking.mode) || self.parking.mode in ['ScaleToZero', 'Delete', 'Never']",message="provider capi parks with ScaleToZero, Delete or Never: Cluster API cannot stop a control plane, so set parking.mode (the default is Stop)"
// +kubebuilder:validation:XValidation:rule="!has(self.nodeAutoscale) || (self.nodes >= self.nodeAutoscale.minNodes && self.nodes <= self.nodeAutoscale.maxNodes)",message="nodes must lie between nodeAutoscale.minNodes and nodeAutoscale.maxNodes"
type ClusterPoolSpec struct {
	// Provider creates, parks and deletes the pool's clusters: local or
	// capi (static clusters are never created, so they have no pool).
	Provider ProviderSpec `json:"provider"`

	// Region is where the pool's clusters run, e.g. eu-frankfurt-1.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="region must be lower-case letters, digits and '-', e.g. eu-frankfurt-1"
	Region string `json:"region"`

	// Zone is the availability zone inside the region, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="zone must be lower-case letters, digits and '-', e.g. eu-frankfurt-1a"
	Zone string `json:"zone,omitempty"`

	// Nodes is how many worker nodes a new cluster starts with.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5000
	Nodes int32 `json:"nodes,omitempty"`

	// NodeCapacity is what one node offers (cpu, memory, pods). Placement
	// multiplies it by nodes to know what a cluster not yet created would
	// hold, before any node reports allocatable.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(k, k in ['cpu', 'memory', 'pods'])",message="nodeCapacity names only cpu, memory and pods"
	NodeCapacity corev1.ResourceList `json:"nodeCapacity,omitempty"`

	// CostPerHour is what one running cluster of the pool costs per hour,
	// in the fleet's one currency (e.g. "0.452").
	// +optional
	// +kubebuilder:validation:XValidation:rule="!string(self).startsWith('-')",message="costPerHour must not be negative"
	CostPerHour *resource.Quantity `json:"costPerHour,omitempty"`

	// Tier of the clusters created, as MemberCluster's: lower is preferred.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=99
	Tier int32 `json:"tier,omitempty"`

	// Labels are put on every cluster created, for FleetApps'
	// clusterSelectors.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Labels map[string]string `json:"labels,omitempty"`

	// Taints are put on every cluster created.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Taints []Taint `json:"taints,omitempty"`

	// Parking is the parking policy of every cluster created.
	// +optional
	Parking *ParkingPolicy `json:"parking,omitempty"`

	// NodeAutoscale is the node autoscale policy of every cluster created.
	// +optional
	NodeAutoscale *NodeAutoscale `json:"nodeAutoscale,omitempty"`

	// MaxClusters is how many clusters the pool may have at once, parked
	// ones included (a parked cluster can be woken at any time, so it
	// still counts). 0 stops the pool from creating.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	MaxClusters int32 `json:"maxClusters"`
}

// ClusterPoolStatus counts the pool's clusters, as lifecycle last saw them.
type ClusterPoolStatus struct {
	// Clusters is how many MemberClusters name this pool in spec.poolRef.
	// +optional
	Clusters int32 `json:"clusters,omitempty"`
	// Ready is how many of them are in phase Ready.
	// +optional
	Ready int32 `json:"ready,omitempty"`
	// Parked is how many of them are in phase Parked.
	// +optional
	Parked int32 `json:"parked,omitempty"`

	// Admitted names the MemberClusters this pool has let provision, at
	// most maxClusters. Lifecycle adds a cluster's name, at the pool's
	// resourceVersion, before the cluster's first create, and removes it
	// once the cluster is gone; names without a MemberCluster are pruned.
	// This write is what holds maxClusters when several apps ask for
	// clusters of one pool at once.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=1000
	Admitted []string `json:"admitted,omitempty"`

	// Conditions with reasons.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the spec generation this status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}
