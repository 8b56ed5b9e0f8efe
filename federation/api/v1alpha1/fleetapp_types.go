package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FleetApp is one Fn application to run on the fleet: the app and its
// functions, how much of it to run (demand), where it may and should run
// (placement) and the global DNS name it answers on. The placement function
// writes status.placement; it is the only writer of that field.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=fa,categories=fnfleet
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clustersPlaced`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.spec.demand.replicas`
// +kubebuilder:printcolumn:name="DNS",type=string,JSONPath=`.spec.dns.hostname`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Deployed")].status`
// +kubebuilder:printcolumn:name="DNS Ready",type=string,JSONPath=`.status.conditions[?(@.type=="DNSReady")].status`
// +kubebuilder:printcolumn:name="Explanation",type=string,priority=1,JSONPath=`.status.explanation`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FleetApp struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FleetAppSpec   `json:"spec"`
	Status FleetAppStatus `json:"status,omitempty"`
}

// FleetAppList is a list of FleetApps.
//
// +kubebuilder:object:root=true
type FleetAppList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FleetApp `json:"items"`
}

// FleetAppSpec is what a developer asks for.
type FleetAppSpec struct {
	// App is the Fn application deployed on every selected cluster. Its
	// name cannot change: deploy finds the members' Fn apps by it, and a
	// renamed app would leave the old one behind on every member.
	// +kubebuilder:validation:XValidation:rule="self.name == oldSelf.name",message="spec.app.name cannot change: deploy finds the Fn app on each member by its name; create a FleetApp with the new name and delete this one"
	App FnApp `json:"app"`

	// Demand is how many replicas to run and what each one requests.
	Demand Demand `json:"demand"`

	// Placement constrains and ranks the clusters the app may run on.
	// +optional
	Placement PlacementPolicy `json:"placement,omitempty"`

	// DNS is the global name the app answers on: the dns function keeps
	// it, at global, region and zone level, answering with the members
	// that serve the app and are healthy for it (docs/dns.md).
	// +optional
	DNS *DNSSpec `json:"dns,omitempty"`
}

// FnApp is an Fn application and its functions.
type FnApp struct {
	// Name is the Fn app name on each cluster.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-zA-Z0-9_-]+$')",message="app name may hold only letters, digits, '_' and '-'"
	Name string `json:"name"`

	// Config is the app-level configuration (environment) of every function.
	// +optional
	// +kubebuilder:validation:MaxProperties=128
	Config map[string]string `json:"config,omitempty"`

	// Functions of the app.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +listType=map
	// +listMapKey=name
	Functions []Function `json:"functions"`
}

// Function is one Fn function.
type Function struct {
	// Name is the function name, unique in the app.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-zA-Z0-9_-]+$')",message="function name may hold only letters, digits, '_' and '-'"
	Name string `json:"name"`

	// Image is the container image of the function.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image"`

	// MemoryMB is the memory limit of one call, in MB (Fn's unit).
	// +optional
	// +kubebuilder:default=128
	// +kubebuilder:validation:Minimum=8
	// +kubebuilder:validation:Maximum=65536
	MemoryMB int32 `json:"memoryMB,omitempty"`

	// TimeoutSeconds is the longest a call may run.
	// +optional
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`

	// IdleTimeoutSeconds is how long a hot container waits for the next call.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600
	IdleTimeoutSeconds int32 `json:"idleTimeoutSeconds,omitempty"`

	// Config is the function's own configuration, merged over the app's.
	// +optional
	// +kubebuilder:validation:MaxProperties=128
	Config map[string]string `json:"config,omitempty"`

	// Triggers expose the function.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=name
	Triggers []Trigger `json:"triggers,omitempty"`
}

// Trigger exposes a function, as an Fn trigger does.
type Trigger struct {
	// Name of the trigger, unique in the function.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Name string `json:"name"`
	// Type is the trigger type; Fn knows http.
	// +kubebuilder:default=http
	// +kubebuilder:validation:Enum=http
	// +optional
	Type string `json:"type,omitempty"`
	// Source is the path the trigger answers on, e.g. /hello.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="trigger source must be a path starting with '/'"
	Source string `json:"source"`
}

// Demand is how much of the app to run.
type Demand struct {
	// Replicas is the number of app replicas: on each selected cluster when
	// the division mode is Duplicated, in total when it is Divided.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	Replicas int32 `json:"replicas"`

	// CPU one replica requests, e.g. 500m.
	// +kubebuilder:validation:XValidation:rule="!string(self).startsWith('-') && string(self) != '0'",message="cpu must be positive, e.g. 500m"
	CPU resource.Quantity `json:"cpu"`

	// Memory one replica requests, e.g. 512Mi.
	// +kubebuilder:validation:XValidation:rule="!string(self).startsWith('-') && string(self) != '0'",message="memory must be positive, e.g. 512Mi"
	Memory resource.Quantity `json:"memory"`
}

// PlacementPolicy says where the app may run (filters) and where it should
// (prioritizers), how it spreads and how replicas are divided.
//
// +kubebuilder:validation:XValidation:rule="!has(self.replicaDivision) || self.replicaDivision.weighting != 'Static' || (has(self.replicaDivision.staticWeights) && size(self.replicaDivision.staticWeights) > 0)",message="replicaDivision.weighting Static needs at least one staticWeights entry"
type PlacementPolicy struct {
	// ClusterSelector selects clusters by their labels. Empty selects all.
	// +optional
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`

	// RequiredRegions, when set, is the only regions the app may run in
	// (data residency). An entry ending in '*' is a prefix (eu-*).
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?|[a-z0-9][-a-z0-9]*\*)$`
	// +listType=set
	RequiredRegions []string `json:"requiredRegions,omitempty"`

	// RequiredProviders, when set, is the only providers the app may run on.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:Enum=local;capi;static
	// +listType=set
	RequiredProviders []string `json:"requiredProviders,omitempty"`

	// RequiredZones, when set, is the only zones the app may run in.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?|[a-z0-9][-a-z0-9]*\*)$`
	// +listType=set
	RequiredZones []string `json:"requiredZones,omitempty"`

	// Tolerations let the app land on clusters with matching taints.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Tolerations []Toleration `json:"tolerations,omitempty"`

	// Spread says over how many clusters and topology groups to run.
	// +optional
	Spread *SpreadPolicy `json:"spread,omitempty"`

	// Prioritizers rank the clusters that pass the filters: each scores 0
	// to 100 and the weighted sum, scaled back to 0-100, is the cluster's
	// score. Empty means Tier 60, Cost 20, Balance 20.
	// +optional
	// +kubebuilder:validation:MaxItems=5
	// +listType=map
	// +listMapKey=name
	Prioritizers []Prioritizer `json:"prioritizers,omitempty"`

	// PreferredRegions rank clusters for the Locality prioritizer: the
	// first entry scores 100, later ones less, others 0.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	PreferredRegions []string `json:"preferredRegions,omitempty"`

	// ClientRegions are where the app's callers are; the Latency
	// prioritizer scores clusters by the round trip measured from them
	// (MemberCluster status.latencies).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	ClientRegions []string `json:"clientRegions,omitempty"`

	// ReplicaDivision says how replicas spread over the selected clusters.
	// +optional
	ReplicaDivision *ReplicaDivision `json:"replicaDivision,omitempty"`

	// RebalanceThreshold is how many score points (0-100) a new placement
	// must gain over a still-valid previous one before the app moves.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	RebalanceThreshold int32 `json:"rebalanceThreshold,omitempty"`
}

// TolerationOperator is how a toleration matches a taint's value.
// +kubebuilder:validation:Enum=Exists;Equal
type TolerationOperator string

const (
	// TolerationExists matches any value of the key.
	TolerationExists TolerationOperator = "Exists"
	// TolerationEqual matches the given value.
	TolerationEqual TolerationOperator = "Equal"
)

// Toleration tolerates taints, as a pod's toleration does.
//
// +kubebuilder:validation:XValidation:rule="self.operator != 'Exists' || !has(self.value) || size(self.value) == 0",message="a toleration with operator Exists must not set a value"
// +kubebuilder:validation:XValidation:rule="(has(self.key) && size(self.key) > 0) || self.operator == 'Exists'",message="a toleration without a key must use operator Exists (it then tolerates every taint)"
type Toleration struct {
	// Key is the taint key; empty with Exists tolerates every taint.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
	// Operator is Equal (the default) or Exists.
	// +optional
	// +kubebuilder:default=Equal
	Operator TolerationOperator `json:"operator,omitempty"`
	// Value to match with Equal.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Value string `json:"value,omitempty"`
	// Effect to match; empty matches every effect.
	// +optional
	// +kubebuilder:validation:Enum=NoSchedule;PreferNoSchedule;NoExecute
	Effect TaintEffect `json:"effect,omitempty"`
}

// SpreadPolicy bounds how many clusters and topology groups an app uses.
//
// +kubebuilder:validation:XValidation:rule="!has(self.maxClusters) || self.minClusters <= self.maxClusters",message="minClusters must be at most maxClusters"
// +kubebuilder:validation:XValidation:rule="!has(self.maxGroups) || self.minGroups <= self.maxGroups",message="minGroups must be at most maxGroups"
// +kubebuilder:validation:XValidation:rule="!has(self.maxClusters) || self.minGroups <= self.maxClusters",message="minGroups must be at most maxClusters: each group needs a cluster"
type SpreadPolicy struct {
	// MinClusters is the fewest clusters to run on.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MinClusters int32 `json:"minClusters,omitempty"`

	// MaxClusters is the most clusters to run on; unbounded when unset.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxClusters int32 `json:"maxClusters,omitempty"`

	// TopologyKey groups clusters: region, zone, provider, or the key of a
	// cluster label. Groups matter only with min/maxGroups or maxSkew.
	// +optional
	// +kubebuilder:default=region
	// +kubebuilder:validation:MaxLength=317
	TopologyKey string `json:"topologyKey,omitempty"`

	// MinGroups is the fewest topology groups to run in.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MinGroups int32 `json:"minGroups,omitempty"`

	// MaxGroups is the most topology groups to run in; unbounded if unset.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxGroups int32 `json:"maxGroups,omitempty"`

	// MaxSkew is the largest allowed difference between the numbers of
	// selected clusters in any two used groups; unbounded when 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	MaxSkew int32 `json:"maxSkew,omitempty"`
}

// PrioritizerName names a scoring rule.
// +kubebuilder:validation:Enum=Cost;Latency;Tier;Balance;Locality
type PrioritizerName string

const (
	// PrioritizeCost prefers cheaper clusters (spec.costPerHour).
	PrioritizeCost PrioritizerName = "Cost"
	// PrioritizeLatency prefers clusters close to spec.placement.clientRegions.
	PrioritizeLatency PrioritizerName = "Latency"
	// PrioritizeTier prefers lower tiers (spec.tier).
	PrioritizeTier PrioritizerName = "Tier"
	// PrioritizeBalance prefers the least utilised clusters.
	PrioritizeBalance PrioritizerName = "Balance"
	// PrioritizeLocality prefers spec.placement.preferredRegions.
	PrioritizeLocality PrioritizerName = "Locality"
)

// Prioritizer is one weighted scoring rule.
type Prioritizer struct {
	// Name of the rule.
	Name PrioritizerName `json:"name"`
	// Weight of the rule in the sum, 0 to 100.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`
}

// DivisionMode says whether each cluster runs all replicas or a share.
// +kubebuilder:validation:Enum=Duplicated;Divided
type DivisionMode string

const (
	// Duplicated runs demand.replicas on every selected cluster.
	Duplicated DivisionMode = "Duplicated"
	// Divided splits demand.replicas among the selected clusters.
	Divided DivisionMode = "Divided"
)

// Weighting says how Divided replicas are shared out.
// +kubebuilder:validation:Enum=Static;FreeCapacity
type Weighting string

const (
	// WeightStatic shares by spec.placement.replicaDivision.staticWeights;
	// clusters no entry matches are not used.
	WeightStatic Weighting = "Static"
	// WeightFreeCapacity shares by how many replicas each cluster can take.
	WeightFreeCapacity Weighting = "FreeCapacity"
)

// ReplicaDivision says how replicas are spread over the chosen clusters.
type ReplicaDivision struct {
	// Mode is Duplicated (the default) or Divided.
	// +optional
	// +kubebuilder:default=Duplicated
	Mode DivisionMode `json:"mode,omitempty"`

	// Weighting applies to Divided: FreeCapacity (the default) or Static.
	// +optional
	// +kubebuilder:default=FreeCapacity
	Weighting Weighting `json:"weighting,omitempty"`

	// StaticWeights apply to Static weighting; the first entry matching a
	// cluster gives its weight.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	StaticWeights []StaticWeight `json:"staticWeights,omitempty"`
}

// StaticWeight gives the clusters it matches, by name or by region, a share.
//
// +kubebuilder:validation:XValidation:rule="has(self.cluster) != has(self.region)",message="a static weight names exactly one of cluster or region"
type StaticWeight struct {
	// Cluster is a MemberCluster name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Cluster string `json:"cluster,omitempty"`
	// Region matches every cluster of a region.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Region string `json:"region,omitempty"`
	// Weight is the relative share, 1 to 100.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`
}

// DNSStrategy says which clusters a DNS query is answered with.
// +kubebuilder:validation:Enum=RoundRobin;Failover;Weighted;Geo
type DNSStrategy string

const (
	DNSRoundRobin DNSStrategy = "RoundRobin"
	DNSFailover   DNSStrategy = "Failover"
	DNSWeighted   DNSStrategy = "Weighted"
	DNSGeo        DNSStrategy = "Geo"
)

// DNSLevel is one level of an app's names.
// +kubebuilder:validation:Enum=Global;Region;Zone
type DNSLevel string

// DNS levels, as the Federated Ingress Controller had them: for hostname
// hello.fleet.example.com in zone fleet.example.com., Global is the
// hostname, Region hello.<region>.fleet.example.com and Zone
// hello.<zone>.<region>.fleet.example.com.
const (
	DNSGlobal    DNSLevel = "Global"
	DNSRegion    DNSLevel = "Region"
	DNSZoneLevel DNSLevel = "Zone"
)

// DNSSpec is the global name of the app.
//
// +kubebuilder:validation:XValidation:rule="!has(self.weights) || self.strategy == 'Weighted'",message="weights apply only to strategy Weighted"
type DNSSpec struct {
	// Hostname is the fully qualified name, e.g. hello.fleet.example.com.
	// It must lie inside a DNSZone (the longest zone it ends in is used).
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\\\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$')",message="hostname must be a lower-case DNS name with at least two labels, e.g. hello.apps.example.com"
	Hostname string `json:"hostname"`

	// TTL of the records, in seconds; the DNSZone's ttl when unset.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	TTL int32 `json:"ttl,omitempty"`

	// Strategy is RoundRobin (the default: every healthy member), Failover
	// (the members in placement.preferredRegions, in their order; the
	// others only when those have none healthy), Weighted (by weights, or
	// by the replicas placed on each member) or Geo (each caller answered
	// with its own region's members). Weighted and Geo need a provider
	// that can express them.
	// +optional
	// +kubebuilder:default=RoundRobin
	Strategy DNSStrategy `json:"strategy,omitempty"`

	// Levels are the names published: Global always, Region and Zone by
	// default too.
	// +optional
	// +kubebuilder:default={Global,Region,Zone}
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:validation:XValidation:rule="'Global' in self",message="levels must include Global: the hostname itself is the app's name"
	// +listType=set
	Levels []DNSLevel `json:"levels,omitempty"`

	// ProbePath is the path, under the app's trigger prefix on a member's
	// Fn (/t/<app>), that a health probe sends GET to; 2xx is healthy.
	// Defaults to the app's first trigger's source.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="probePath must be a path starting with '/', e.g. /hello"
	ProbePath string `json:"probePath,omitempty"`

	// Weights, for strategy Weighted, set by hand what share each member
	// or region gets; unset, each member weighs the replicas placed on it.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Weights []DNSWeight `json:"weights,omitempty"`
}

// DNSWeight is the weight of one cluster or of every cluster in a region.
//
// +kubebuilder:validation:XValidation:rule="has(self.cluster) != has(self.region)",message="a DNS weight names exactly one of cluster or region"
type DNSWeight struct {
	// Cluster is a MemberCluster name.
	// +optional
	Cluster string `json:"cluster,omitempty"`
	// Region is a region name; the weight applies to each member in it.
	// +optional
	Region string `json:"region,omitempty"`
	// Weight, 0 to 255 (0: never answered while another has weight).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=255
	Weight int32 `json:"weight"`
}

// Condition types of a FleetApp.
const (
	// AppPlaced is True when every replica has a cluster.
	AppPlaced = "Placed"
	// AppDeployed is True when the app answers on every placed cluster.
	AppDeployed = "Deployed"
	// AppDNSReady is True when the app's names answer with the members
	// that serve it and are healthy; its message lists each name and what
	// it answers. The dns function owns it (and status.dns).
	AppDNSReady = "DNSReady"
)

// FleetAppStatus is the placement decision and how far it got.
type FleetAppStatus struct {
	// Placement is the decision: one entry per selected cluster.
	// +optional
	// +listType=map
	// +listMapKey=cluster
	Placement []ClusterPlacement `json:"placement,omitempty"`

	// ClustersPlaced is len(placement), for kubectl's column.
	// +optional
	ClustersPlaced int32 `json:"clustersPlaced,omitempty"`

	// Explanation is the decision in one line, e.g. "0/7 clusters fit: 3
	// outside eu-*, 2 tainted, 2 lack 2Gi memory".
	// +optional
	Explanation string `json:"explanation,omitempty"`

	// CapacityRequest is what the app still lacks and how to get it.
	// Placement writes it and creates the MemberClusters it names;
	// lifecycle provisions them and wakes the parked clusters it names.
	// +optional
	CapacityRequest *CapacityRequest `json:"capacityRequest,omitempty"`

	// Conditions Placed, Deployed and DNSReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the spec generation the decision was made for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Deployments is what deploy put on each member's Fn, one record per
	// cluster: kept until the app is removed from that member, so a
	// removal is never forgotten when the placement changes. Deploy owns
	// it (and the Deployed condition); placement owns the fields above.
	// +optional
	// +listType=map
	// +listMapKey=cluster
	Deployments []AppDeployment `json:"deployments,omitempty"`

	// DNS is what the app's names answer, by member. The dns function
	// owns it.
	// +optional
	DNS *AppDNSStatus `json:"dns,omitempty"`
}

// AppDNSStatus is what the app's names answer.
type AppDNSStatus struct {
	// Zone is the DNSZone the hostname lies in.
	// +optional
	Zone string `json:"zone,omitempty"`

	// Names are the app's names and what each answers.
	// +optional
	// +listType=map
	// +listMapKey=name
	Names []DNSNameStatus `json:"names,omitempty"`

	// Members says, for each member that serves or served the app, whether
	// the names answer with it and since when. Deploy removes the app
	// from a member no longer placed only once the names stopped
	// answering with it at least a TTL ago, so no cached answer still
	// sends callers there.
	// +optional
	// +listType=map
	// +listMapKey=cluster
	Members []DNSMemberStatus `json:"members,omitempty"`

	// TTL is the TTL the records were written with, in seconds.
	// +optional
	TTL int32 `json:"ttl,omitempty"`

	// SyncTime is when the zone last held the names as listed.
	// +optional
	SyncTime *metav1.Time `json:"syncTime,omitempty"`
}

// DNSNameStatus is one name and what it answers.
type DNSNameStatus struct {
	// Name is the fully qualified name, with its trailing dot.
	Name string `json:"name"`
	// Type is A, AAAA, CNAME (or A+AAAA when it has both).
	Type string `json:"type"`
	// Targets are the addresses (or the CNAME's target).
	// +optional
	// +listType=atomic
	Targets []string `json:"targets,omitempty"`
}

// DNSMemberStatus is one member in the app's answers, or out of them.
type DNSMemberStatus struct {
	// Cluster is the MemberCluster name.
	Cluster string `json:"cluster"`
	// Answering is true while the app's names answer with the member.
	Answering bool `json:"answering"`
	// Since is when Answering last changed (when the zone was written).
	Since metav1.Time `json:"since"`
	// Reason says why the member is out (e.g. ProbeFailed, NotPlaced,
	// NoAddress).
	// +optional
	Reason string `json:"reason,omitempty"`
}

// DeploymentState is where one member's copy of the Fn app stands.
// +kubebuilder:validation:Enum=Deploying;Deployed;Failed;Removing
type DeploymentState string

// Deployment states.
const (
	// DeploymentDeploying: deploy is about to put the Fn app on the
	// member (recorded before the first Fn call there, so that a call
	// that dies midway leaves a record of where the app may be).
	DeploymentDeploying DeploymentState = "Deploying"
	// DeploymentDeployed: the Fn app of the recorded generation is on the
	// member's Fn.
	DeploymentDeployed DeploymentState = "Deployed"
	// DeploymentFailed: the last deploy to the member failed; message
	// says why, and the next reconcile tries again.
	DeploymentFailed DeploymentState = "Failed"
	// DeploymentRemoving: the member is no longer placed (or the app is
	// being deleted) and removing the Fn app there failed; retried until
	// it is gone.
	DeploymentRemoving DeploymentState = "Removing"
)

// AppDeployment records the Fn app on one member.
type AppDeployment struct {
	// Cluster is the MemberCluster name.
	Cluster string `json:"cluster"`
	// Endpoint is the Fn API base URL deployed to (the member's
	// status.fnEndpoint at the time).
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// AppID is the Fn app's id on that server.
	// +optional
	AppID string `json:"appID,omitempty"`
	// Generation is the FleetApp metadata.generation whose spec.app was
	// deployed.
	// +optional
	Generation int64 `json:"generation,omitempty"`
	// State is Deployed, Failed or Removing.
	State DeploymentState `json:"state"`
	// Message says what failed, for Failed and Removing.
	// +optional
	Message string `json:"message,omitempty"`
	// Time is when the record last changed.
	Time metav1.Time `json:"time"`
}

// ClusterPlacement is the share of the app one cluster runs.
type ClusterPlacement struct {
	// Cluster is the MemberCluster name.
	Cluster string `json:"cluster"`
	// Replicas the cluster runs.
	Replicas int32 `json:"replicas"`
	// Score is the cluster's weighted score, 0-100.
	Score int32 `json:"score"`
	// Reason says why the cluster was chosen (its scores, or "kept").
	// +optional
	Reason string `json:"reason,omitempty"`
}

// CapacityRequest is what placement asks lifecycle for when the fleet
// cannot hold the app: wake these parked clusters (cheapest of the best
// tier first), else create these clusters from the cheapest fitting pool.
type CapacityRequest struct {
	// Replicas that found no cluster.
	Replicas int32 `json:"replicas"`
	// Clusters more clusters needed to meet spread.minClusters/minGroups.
	// +optional
	Clusters int32 `json:"clusters,omitempty"`
	// CPU is the total cpu the unplaced replicas request.
	// +optional
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// Memory is the total memory the unplaced replicas request.
	// +optional
	Memory *resource.Quantity `json:"memory,omitempty"`
	// Wake names parked clusters to unpark, in order.
	// +optional
	// +listType=atomic
	Wake []string `json:"wake,omitempty"`
	// CreateRegions are regions in which to create clusters when waking is
	// not enough; empty means any region the policy allows.
	// +optional
	// +listType=atomic
	CreateRegions []string `json:"createRegions,omitempty"`
	// CreateCount is how many clusters to create.
	// +optional
	CreateCount int32 `json:"createCount,omitempty"`
	// Pool is the ClusterPool to create them from: the cheapest (best tier
	// first) whose clusters would hold the app. Empty when no pool fits.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Pool string `json:"pool,omitempty"`
	// Create names the MemberClusters to create from Pool. The names derive
	// from the app's UID and a slot, so a repeated or concurrent decision
	// asks for the same names, and creating a name that exists is success.
	// At most CreateCount, fewer when the pool's maxClusters leaves less
	// room (the explanation then says the pool is full).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	Create []string `json:"create,omitempty"`
	// Tier is the tier to wake or create in.
	// +optional
	Tier int32 `json:"tier,omitempty"`
}
