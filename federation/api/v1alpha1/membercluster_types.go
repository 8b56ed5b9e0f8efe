package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MemberCluster is one Kubernetes cluster of the fleet, as the hub knows it:
// where it runs and what it costs (spec), and what lifecycle and reconcile
// observed about it (status). Its labels (metadata.labels) are what a
// FleetApp's clusterSelector matches. Credentials never live here: the
// kubeconfig is in the Secret that status.kubeconfigSecretRef names.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=mc,categories=fnfleet
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=`.spec.region`
// +kubebuilder:printcolumn:name="Tier",type=integer,JSONPath=`.spec.tier`
// +kubebuilder:printcolumn:name="Cost/h",type=string,JSONPath=`.spec.costPerHour`
// +kubebuilder:printcolumn:name="Free CPU",type=string,JSONPath=`.status.available.cpu`
// +kubebuilder:printcolumn:name="Free Memory",type=string,JSONPath=`.status.available.memory`
// +kubebuilder:printcolumn:name="Apps",type=integer,JSONPath=`.status.placedApps`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MemberCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MemberClusterSpec   `json:"spec"`
	Status MemberClusterStatus `json:"status,omitempty"`
}

// MemberClusterList is a list of MemberClusters.
//
// +kubebuilder:object:root=true
type MemberClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MemberCluster `json:"items"`
}

// MemberClusterSpec is what the platform team declares about a cluster.
//
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.poolRef) || (has(self.poolRef) && self.poolRef == oldSelf.poolRef)",message="poolRef cannot change or be removed: the cluster counts against the maxClusters of the pool that created it"
type MemberClusterSpec struct {
	// Provider says which provider creates, parks and deletes the cluster.
	Provider ProviderSpec `json:"provider"`

	// Region is where the cluster runs, e.g. eu-frankfurt-1. FleetApps use it
	// for data residency, locality and spreading.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="region must be lower-case letters, digits and '-', e.g. eu-frankfurt-1"
	Region string `json:"region"`

	// Zone is the availability zone inside the region, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="zone must be lower-case letters, digits and '-', e.g. eu-frankfurt-1a"
	Zone string `json:"zone,omitempty"`

	// CostPerHour is what the cluster costs per hour while it runs, as a
	// decimal amount in the fleet's one currency (e.g. "0.452"). It is a
	// quantity rather than a float so that it round-trips exactly.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!string(self).startsWith('-')",message="costPerHour must not be negative"
	CostPerHour *resource.Quantity `json:"costPerHour,omitempty"`

	// Tier ranks clusters as Navarkos' priority did: lower is preferred, so
	// tier 1 clusters fill before tier 2 ones are used or woken.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=99
	Tier int32 `json:"tier,omitempty"`

	// Parking says when and how the cluster is parked while idle.
	// +optional
	Parking *ParkingPolicy `json:"parking,omitempty"`

	// NodeAutoscale says how lifecycle grows and shrinks the node count.
	// +optional
	NodeAutoscale *NodeAutoscale `json:"nodeAutoscale,omitempty"`

	// Taints keep apps off the cluster unless they tolerate them.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Taints []Taint `json:"taints,omitempty"`

	// Parked, set by a person, parks the cluster whatever its placements
	// (placement moves its apps away first), with parking.mode; clearing it
	// lets the usual rules decide again. It has no effect with parking mode
	// Never, which keeps the cluster running.
	// +optional
	Parked bool `json:"parked,omitempty"`

	// PoolRef names the ClusterPool the cluster was created from; empty for
	// a cluster registered by hand. It is a field rather than a label
	// because maxClusters is counted from it: the API refuses a change, and
	// labels stay free for clusterSelectors (fnfleet.dev/pool in the
	// examples is such a user label). It is not an ownerReference, so
	// deleting a pool does not garbage-collect clusters that carry apps.
	// +optional
	PoolRef *ClusterPoolReference `json:"poolRef,omitempty"`
}

// ClusterPoolReference names a ClusterPool (cluster-scoped).
type ClusterPoolReference struct {
	// Name of the ClusterPool.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ProviderSpec names the provider and carries its settings.
type ProviderSpec struct {
	// Name is the provider: local (kwokctl on this machine), capi (Cluster
	// API) or static (an existing cluster fnfleet does not create).
	// +kubebuilder:validation:Enum=local;capi;static
	Name string `json:"name"`

	// Config holds provider-specific settings (e.g. the CAPI template or
	// node count). Never put credentials here: use Secrets.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Config map[string]string `json:"config,omitempty"`
}

// ParkingMode is what parking does to an idle cluster.
// +kubebuilder:validation:Enum=Stop;ScaleToZero;Delete;Never
type ParkingMode string

const (
	// ParkingStop stops the whole cluster (control plane included) and
	// keeps its state, so unparking restarts it.
	ParkingStop ParkingMode = "Stop"
	// ParkingScaleToZero keeps the control plane and scales nodes to zero.
	ParkingScaleToZero ParkingMode = "ScaleToZero"
	// ParkingDelete deletes the cluster; it is re-created when needed.
	ParkingDelete ParkingMode = "Delete"
	// ParkingNever keeps the cluster running.
	ParkingNever ParkingMode = "Never"
)

// ParkingPolicy says when an idle cluster is parked.
type ParkingPolicy struct {
	// Mode is what parking does. Never disables parking.
	// +kubebuilder:default=Stop
	// +optional
	Mode ParkingMode `json:"mode,omitempty"`

	// IdleTTL is how long the cluster must carry no placement before it is
	// parked, as a Go duration (e.g. 30m, 2h).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$')",message="idleTTL must be a duration such as 30m, 1h30m or 90s"
	IdleTTL *metav1.Duration `json:"idleTTL,omitempty"`

	// Windows are hibernation windows: the cluster is parked for each
	// window even if it carries placements.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Windows []ParkingWindow `json:"windows,omitempty"`
}

// ParkingWindow is a recurring time span, e.g. nights and weekends. The API
// refuses a start that is not a five-field cron, a zero duration and a zone
// not shaped like an IANA name. A well-shaped zone that does not exist
// ("Mars/Olympus") or a start that never happens ("0 0 31 2 *") is
// accepted, then reported on the object and ignored until it is fixed.
type ParkingWindow struct {
	// Why the start rules look as they do: one rule per field, so that the
	// message names the field that is wrong; each repeats the five-field
	// check as its guard, since CEL has no early exit. The patterns follow
	// robfig/cron's parser, which federation/parking evaluates windows
	// with (leading zeros, ? as *, names in any case, a step after a
	// single value as in 5/15), and are stricter only where it is lenient
	// by accident ("*-5", "1,,2", "+5"). A range's order is compared as
	// numbers, month and day names replaced by theirs first. Whatever
	// robfig refuses and these rules miss (e.g. objects stored before
	// them) parking.WindowProblems reports.

	// Start is a five-field cron expression for when the window opens, read
	// in TimeZone: minute (0-59), hour (0-23), day of month (1-31), month
	// (1-12 or JAN-DEC) and day of week (0-6 or SUN-SAT, Sunday is 0).
	// Each field is *, a number, a range low-high, a step /n or a comma
	// list of these, e.g. "0 20 * * 1-5" (20:00 on weekdays) or
	// "*/15 9-17 * JAN-MAR MON-FRI". Descriptors such as @daily are not
	// read.
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule=`self.matches(r'^\s*\S+(\s+\S+){4}\s*$')`,message=`start must be a cron expression with five fields (minute hour day-of-month month day-of-week), e.g. '0 20 * * 1-5'`,messageExpression=`"start must be a cron expression with five fields (minute hour day-of-month month day-of-week), e.g. '0 20 * * 1-5', not '" + self + "'"`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^\s*\S+(\s+\S+){4}\s*$') || (self.findAll(r'\S+')[0].matches(r'^([*?]|0*[1-5]?[0-9](-0*[1-5]?[0-9])?)(/0*[1-9][0-9]{0,8})?(,([*?]|0*[1-5]?[0-9](-0*[1-5]?[0-9])?)(/0*[1-9][0-9]{0,8})?)*$') && self.findAll(r'\S+')[0].findAll(r'[0-9]+-[0-9]+').all(x, int(x.split('-')[0]) <= int(x.split('-')[1])))`,message=`start's minute field must be 0-59, *, a range low-high, a step /n or a comma list of these, e.g. '30 20 * * 1-5' opens at 20:30 on weekdays`,messageExpression=`"start's minute field (" + self.findAll(r'\S+')[0] + ") must be 0-59, *, a range low-high, a step /n or a comma list of these, e.g. '30 20 * * 1-5' opens at 20:30 on weekdays"`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^\s*\S+(\s+\S+){4}\s*$') || (self.findAll(r'\S+')[1].matches(r'^([*?]|0*(1?[0-9]|2[0-3])(-0*(1?[0-9]|2[0-3]))?)(/0*[1-9][0-9]{0,8})?(,([*?]|0*(1?[0-9]|2[0-3])(-0*(1?[0-9]|2[0-3]))?)(/0*[1-9][0-9]{0,8})?)*$') && self.findAll(r'\S+')[1].findAll(r'[0-9]+-[0-9]+').all(x, int(x.split('-')[0]) <= int(x.split('-')[1])))`,message=`start's hour field must be 0-23, *, a range low-high, a step /n or a comma list of these, e.g. '0 20 * * 1-5' opens at 20:00 on weekdays`,messageExpression=`"start's hour field (" + self.findAll(r'\S+')[1] + ") must be 0-23, *, a range low-high, a step /n or a comma list of these, e.g. '0 20 * * 1-5' opens at 20:00 on weekdays"`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^\s*\S+(\s+\S+){4}\s*$') || (self.findAll(r'\S+')[2].matches(r'^([*?]|0*([1-9]|[12][0-9]|3[01])(-0*([1-9]|[12][0-9]|3[01]))?)(/0*[1-9][0-9]{0,8})?(,([*?]|0*([1-9]|[12][0-9]|3[01])(-0*([1-9]|[12][0-9]|3[01]))?)(/0*[1-9][0-9]{0,8})?)*$') && self.findAll(r'\S+')[2].findAll(r'[0-9]+-[0-9]+').all(x, int(x.split('-')[0]) <= int(x.split('-')[1])))`,message=`start's day-of-month field must be 1-31, *, a range low-high, a step /n or a comma list of these, e.g. '0 20 1,15 * *' opens at 20:00 on the 1st and the 15th`,messageExpression=`"start's day-of-month field (" + self.findAll(r'\S+')[2] + ") must be 1-31, *, a range low-high, a step /n or a comma list of these, e.g. '0 20 1,15 * *' opens at 20:00 on the 1st and the 15th"`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^\s*\S+(\s+\S+){4}\s*$') || (self.findAll(r'\S+')[3].matches(r'^([*?]|(0*([1-9]|1[0-2])|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(-(0*([1-9]|1[0-2])|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(/0*[1-9][0-9]{0,8})?(,([*?]|(0*([1-9]|1[0-2])|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(-(0*([1-9]|1[0-2])|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(/0*[1-9][0-9]{0,8})?)*$') && self.findAll(r'\S+')[3].upperAscii().replace('JAN', '1').replace('FEB', '2').replace('MAR', '3').replace('APR', '4').replace('MAY', '5').replace('JUN', '6').replace('JUL', '7').replace('AUG', '8').replace('SEP', '9').replace('OCT', '10').replace('NOV', '11').replace('DEC', '12').findAll(r'[0-9]+-[0-9]+').all(x, int(x.split('-')[0]) <= int(x.split('-')[1])))`,message=`start's month field must be 1-12 or JAN-DEC, *, a range low-high, a step /n or a comma list of these, e.g. '0 20 * DEC *' opens at 20:00 every day of December`,messageExpression=`"start's month field (" + self.findAll(r'\S+')[3] + ") must be 1-12 or JAN-DEC, *, a range low-high, a step /n or a comma list of these, e.g. '0 20 * DEC *' opens at 20:00 every day of December"`
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^\s*\S+(\s+\S+){4}\s*$') || (self.findAll(r'\S+')[4].matches(r'^([*?]|(0*[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(-(0*[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(/0*[1-9][0-9]{0,8})?(,([*?]|(0*[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(-(0*[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(/0*[1-9][0-9]{0,8})?)*$') && self.findAll(r'\S+')[4].upperAscii().replace('SUN', '0').replace('MON', '1').replace('TUE', '2').replace('WED', '3').replace('THU', '4').replace('FRI', '5').replace('SAT', '6').findAll(r'[0-9]+-[0-9]+').all(x, int(x.split('-')[0]) <= int(x.split('-')[1])))`,message=`start's day-of-week field must be 0-6 or SUN-SAT (Sunday is 0, not 7), *, a range low-high, a step /n or a comma list of these, e.g. '0 20 * * MON-FRI' opens at 20:00 on weekdays`,messageExpression=`"start's day-of-week field (" + self.findAll(r'\S+')[4] + ") must be 0-6 or SUN-SAT (Sunday is 0, not 7), *, a range low-high, a step /n or a comma list of these, e.g. '0 20 * * MON-FRI' opens at 20:00 on weekdays"`
	Start string `json:"start"`

	// Five digits a number at most: no 32-character duration can then
	// overflow Go's (and CEL's) 290 years, which would fail the
	// positivity rule with a conversion error here and the decoding of
	// every list of these objects in the hub.

	// Duration is how long the window stays open, as a Go duration such
	// as 11h or 1h30m; it must be positive.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$')",message="duration must be a duration such as 10h or 90m"
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$') || self.matches(r'[0-9]{6}') || duration(self) > duration('0s')`,message="duration must be positive, e.g. 10h or 90m"
	// +kubebuilder:validation:XValidation:rule=`!self.matches(r'^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$') || !self.matches(r'[0-9]{6}')`,message="duration must write each number with at most 5 digits, e.g. 36h rather than 129600s",messageExpression=`"duration (" + self + ") must write each number with at most 5 digits, e.g. 36h rather than 129600s"`
	Duration metav1.Duration `json:"duration"`

	// TimeZone is the IANA zone Start is read in, e.g. Europe/Paris; UTC
	// when empty. "Local" is refused: it would be the zone of whatever
	// machine runs the controller.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule=`self.matches(r'^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$')`,message="timeZone must be an IANA zone name such as Europe/Paris, America/New_York or UTC",messageExpression=`"timeZone (" + self + ") must be an IANA zone name such as Europe/Paris, America/New_York or UTC"`
	// +kubebuilder:validation:XValidation:rule="self != 'Local'",message="timeZone Local would be the zone of the machine that runs fnfleet: name an IANA zone such as Europe/Paris, or leave it empty for UTC"
	TimeZone string `json:"timeZone,omitempty"`
}

// NodeAutoscale says when lifecycle adds or removes nodes.
//
// +kubebuilder:validation:XValidation:rule="self.minNodes <= self.maxNodes",message="minNodes must be at most maxNodes"
// +kubebuilder:validation:XValidation:rule="self.scaleDownPercent < self.scaleUpPercent",message="scaleDownPercent must be below scaleUpPercent"
type NodeAutoscale struct {
	// ScaleUpPercent: add nodes when requested cpu or memory exceeds this
	// share of allocatable.
	// +kubebuilder:default=80
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	ScaleUpPercent int32 `json:"scaleUpPercent,omitempty"`

	// ScaleDownPercent: remove nodes when both fall below this share.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=99
	// +optional
	ScaleDownPercent int32 `json:"scaleDownPercent,omitempty"`

	// Step is how many nodes one scaling action adds or removes.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	Step int32 `json:"step,omitempty"`

	// MinNodes is the node count never gone below while running.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=5000
	MinNodes int32 `json:"minNodes"`

	// MaxNodes is the node count never exceeded.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5000
	MaxNodes int32 `json:"maxNodes"`
}

// TaintEffect is what a taint does to apps that do not tolerate it.
// +kubebuilder:validation:Enum=NoSchedule;PreferNoSchedule;NoExecute
type TaintEffect string

const (
	// TaintNoSchedule keeps new placements off the cluster; apps already
	// placed there stay.
	TaintNoSchedule TaintEffect = "NoSchedule"
	// TaintPreferNoSchedule lowers the cluster's score instead of
	// excluding it.
	TaintPreferNoSchedule TaintEffect = "PreferNoSchedule"
	// TaintNoExecute keeps new placements off and moves existing ones away.
	TaintNoExecute TaintEffect = "NoExecute"
)

// Taint marks a cluster so that only apps tolerating it land there, as
// Kubernetes node taints do for pods.
type Taint struct {
	// Key is the taint key, a qualified name such as example.com/gpu.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
	// Value is the taint value.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Value string `json:"value,omitempty"`
	// Effect is NoSchedule, PreferNoSchedule or NoExecute.
	Effect TaintEffect `json:"effect"`
}

// ClusterPhase is where a cluster is in its lifecycle (docs/lifecycle.md).
// Lifecycle writes it (federation/lifecycle decides, control.Lifecycle
// acts); placement reads it.
// +kubebuilder:validation:Enum=Pending;Provisioning;Installing;Ready;Scaling;Parking;Parked;Unparking;Failed;Deleting
type ClusterPhase string

const (
	PhasePending      ClusterPhase = "Pending"
	PhaseProvisioning ClusterPhase = "Provisioning"
	PhaseInstalling   ClusterPhase = "Installing"
	PhaseReady        ClusterPhase = "Ready"
	// PhaseScaling is Ready while the node count changes: the cluster keeps
	// its apps.
	PhaseScaling   ClusterPhase = "Scaling"
	PhaseParking   ClusterPhase = "Parking"
	PhaseParked    ClusterPhase = "Parked"
	PhaseUnparking ClusterPhase = "Unparking"
	PhaseFailed    ClusterPhase = "Failed"
	PhaseDeleting  ClusterPhase = "Deleting"
)

// Condition types of a MemberCluster.
const (
	// ClusterHealthy is True while the cluster answers its health probe.
	// Placement rejects a cluster whose Healthy condition is False.
	ClusterHealthy = "Healthy"
	// ClusterFnInstalled is True once Fn answers on the cluster; its
	// message names the Helm release and revision. Lifecycle writes it,
	// as do the conditions below.
	ClusterFnInstalled = "FnInstalled"
	// ClusterProvisioned is True while the provider reports the cluster
	// created (running or stopped). Lifecycle writes it.
	ClusterProvisioned = "Provisioned"
	// ClusterParked is True while the cluster is parked, with why (idle,
	// a window, by hand); False with the reason it runs, or why a wake
	// failed (WakeTimedOut), which placement reads. Lifecycle writes it.
	ClusterParked = "Parked"
	// ClusterSchedulable is False while new apps must stay off the cluster
	// and placed ones move away: a hibernation window is about to open or
	// is open, or a person parked it. Lifecycle writes it.
	ClusterSchedulable = "Schedulable"
	// ClusterNodesScaled is False when the last node scaling did not reach
	// its target in time. Lifecycle writes it.
	ClusterNodesScaled = "NodesScaled"
	// ConditionWindowsValid, on a MemberCluster and on a ClusterPool, is
	// False while a hibernation window of its parking policy cannot be
	// read (an unknown time zone, a start that never happens): it names
	// the window and says what parking does meanwhile. It is set only
	// where the policy has windows. Lifecycle writes it on a cluster, the
	// pool shell on a pool, each with an Event when it turns False.
	ConditionWindowsValid = "WindowsValid"
)

// MemberClusterStatus is what lifecycle and reconcile observed; they are
// its only writers, each of its own fields (server-side apply, field
// managers fnfleet-lifecycle and fnfleet-reconcile).
type MemberClusterStatus struct {
	// Phase is the lifecycle state.
	// +optional
	Phase ClusterPhase `json:"phase,omitempty"`

	// Conditions (Healthy, FnInstalled, ...) with reasons.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Capacity is the sum of node capacity (cpu, memory, pods).
	// +optional
	Capacity corev1.ResourceList `json:"capacity,omitempty"`
	// Allocatable is what the nodes offer apps (cpu, memory, pods): the sum
	// of node allocatable less what the platform's pods (system
	// namespaces, Fn's own) request.
	// +optional
	Allocatable corev1.ResourceList `json:"allocatable,omitempty"`
	// Used is the sum of the requests of the apps' pods on nodes (cpu,
	// memory, pods): not system pods, not Fn's own, so a cluster with Fn
	// and no app uses nothing.
	// +optional
	Used corev1.ResourceList `json:"used,omitempty"`
	// Available is allocatable minus used as reconcile last computed it,
	// kept for kubectl's columns; placement computes it from the two.
	// +optional
	Available corev1.ResourceList `json:"available,omitempty"`

	// Latencies are round-trip times measured from probe points in other
	// regions to the cluster's Fn endpoint; the Latency prioritizer reads
	// them. Nothing measures them yet (reconcile, a later issue): until
	// then every cluster scores 0 on Latency.
	// +optional
	// +listType=map
	// +listMapKey=region
	// +kubebuilder:validation:MaxItems=64
	Latencies []RegionLatency `json:"latencies,omitempty"`

	// PlacedApps is how many FleetApps have replicas on the cluster.
	// Lifecycle writes it, from the count it parks by.
	// +optional
	PlacedApps int32 `json:"placedApps,omitempty"`

	// FnEndpoint is the URL of the cluster's Fn API server.
	// +optional
	FnEndpoint string `json:"fnEndpoint,omitempty"`

	// Ingress are the addresses the cluster's Fn service answers on (its
	// LoadBalancer ingress). Reconcile writes them; the dns function
	// answers the names of the apps the cluster serves with them.
	// +optional
	// +listType=atomic
	Ingress []IngressAddress `json:"ingress,omitempty"`

	// KubeconfigSecretRef names the Secret holding the cluster's kubeconfig.
	// Lifecycle writes it (Secret `<name>-kubeconfig`, key `kubeconfig`,
	// in namespace fnfleet-system), once the cluster serves.
	// +optional
	KubeconfigSecretRef *SecretKeyRef `json:"kubeconfigSecretRef,omitempty"`

	// IdleSince is when the cluster was first seen without placements
	// since it last had one: parking's idle clock. Lifecycle writes it
	// (cleared while apps are placed).
	// +optional
	IdleSince *metav1.Time `json:"idleSince,omitempty"`

	// LastHeartbeatTime is when reconcile last reached the cluster.
	// +optional
	LastHeartbeatTime *metav1.Time `json:"lastHeartbeatTime,omitempty"`

	// ObservedGeneration is the spec generation this status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// The four fields below belong to lifecycle.

	// PhaseSince is when the current phase began. Lifecycle writes it: the
	// phase timeouts (e.g. 30m to provision) and the retry backoff of
	// Failed count from it.
	// +optional
	PhaseSince *metav1.Time `json:"phaseSince,omitempty"`

	// Failures counts failed attempts since the cluster was last Ready or
	// Parked. Lifecycle writes it: Failed retries after 10s doubled per
	// failure, at most 10m.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Failures int32 `json:"failures,omitempty"`

	// DesiredNodes is the node count lifecycle last asked the provider for.
	// Scaling ends when the provider reports it; unparking a ScaleToZero
	// cluster restores it. Lifecycle writes it.
	// +optional
	// +kubebuilder:validation:Minimum=0
	DesiredNodes int32 `json:"desiredNodes,omitempty"`

	// LastScaleTime is when lifecycle last changed the node count; node
	// autoscale waits a cooldown (5m) after it so it does not flap.
	// Lifecycle writes it.
	// +optional
	LastScaleTime *metav1.Time `json:"lastScaleTime,omitempty"`
}

// RegionLatency is one measured round trip.
type RegionLatency struct {
	// Region is where the probe ran from.
	Region string `json:"region"`
	// Milliseconds is the measured round-trip time.
	// +kubebuilder:validation:Minimum=0
	Milliseconds int32 `json:"milliseconds"`
}

// IngressAddress is one address of the cluster's Fn service.
type IngressAddress struct {
	// IP is an IPv4 or IPv6 address.
	// +optional
	IP string `json:"ip,omitempty"`
	// Hostname is a DNS name (e.g. a cloud load balancer's).
	// +optional
	Hostname string `json:"hostname,omitempty"`
}

// SecretKeyRef points at one key of a Secret in the hub.
type SecretKeyRef struct {
	// Namespace of the Secret.
	Namespace string `json:"namespace"`
	// Name of the Secret.
	Name string `json:"name"`
	// Key inside the Secret; "kubeconfig" when empty.
	// +optional
	Key string `json:"key,omitempty"`
}
