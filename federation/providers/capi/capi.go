// Package capi is the provider of clusters made by Cluster API: each fleet
// cluster is a CAPI `Cluster` object in the hub with a managed topology (a
// ClusterClass, a Kubernetes version, one MachineDeployment of workers), so
// any infrastructure provider CAPI has (OKE through CAPOCI, AWS, Azure, ...)
// works without code here. CAPI's controllers do the work; this provider
// only writes the Cluster and reads back what they report.
//
// Config (spec.provider.config of the pool or MemberCluster):
//
//	class           the ClusterClass (required)
//	version         the Kubernetes version, e.g. v1.34.1 (required)
//	namespace       where the Cluster lives; default "fnfleet-clusters"
//	classNamespace  the ClusterClass's namespace; default the Cluster's
//	workerClass     the ClusterClass's MachineDeploymentClass for workers;
//	                default "default-worker", the name CAPI's quick-start
//	                classes use
//
// CAPI cannot stop a control plane (cluster-api issue 9476), so parking is
// ScaleToZero (workers to zero; the count is kept in an annotation so
// Unpark restores it) or Delete.
package capi

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/providers"
)

// Config keys this provider reads, and their defaults.
const (
	ConfigClass          = "class"
	ConfigVersion        = "version"
	ConfigNamespace      = "namespace"
	ConfigClassNamespace = "classNamespace"
	ConfigWorkerClass    = "workerClass"

	DefaultNamespace   = "fnfleet-clusters"
	DefaultWorkerClass = "default-worker"
)

const (
	// WorkersName is the name of the one MachineDeployment topology the
	// provider writes.
	WorkersName = "workers"
	// ParkedWorkersAnnotation holds the worker count a ScaleToZero park
	// replaced with 0, so that Unpark restores it.
	ParkedWorkersAnnotation = "fnfleet.dev/parked-workers"
	// MemberClusterLabel names the MemberCluster a Cluster was made for; a
	// Cluster without it is not fnfleet's, and Create refuses to adopt it.
	MemberClusterLabel = "fnfleet.dev/member-cluster"
	// KubeconfigKey is the key of CAPI's `<name>-kubeconfig` Secret.
	KubeconfigKey = "value"
)

const clusters = "clusters"

// Provider writes CAPI Clusters in the hub.
type Provider struct {
	capi rest.Interface       // cluster.x-k8s.io/v1beta2 in the hub
	core kubernetes.Interface // the hub's Secrets
}

var _ providers.Provider = (*Provider)(nil)

// New returns a provider for the hub that cfg points at. The hub must serve
// cluster.x-k8s.io/v1beta2 (CAPI v1.11 and later).
func New(cfg *rest.Config) (*Provider, error) {
	rc, err := hub.RESTClient(cfg, clusterv1.GroupVersion, clusterv1.AddToScheme)
	if err != nil {
		return nil, fmt.Errorf("capi provider: %w", err)
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("capi provider: %w", err)
	}
	return &Provider{capi: rc, core: core}, nil
}

// config is a Cluster's provider config, read and defaulted.
type config struct {
	namespace, class, classNamespace, version, workerClass string
}

func configOf(c providers.Cluster) config {
	cfg := config{
		namespace:      c.Config[ConfigNamespace],
		class:          c.Config[ConfigClass],
		classNamespace: c.Config[ConfigClassNamespace],
		version:        c.Config[ConfigVersion],
		workerClass:    c.Config[ConfigWorkerClass],
	}
	if cfg.namespace == "" {
		cfg.namespace = DefaultNamespace
	}
	if cfg.workerClass == "" {
		cfg.workerClass = DefaultWorkerClass
	}
	return cfg
}

// Create writes the Cluster. One that exists already is success if it is
// fnfleet's (it carries MemberClusterLabel for c).
func (p *Provider) Create(ctx context.Context, c providers.Cluster) error {
	cfg := configOf(c)
	var missing []error
	if cfg.class == "" {
		missing = append(missing, fmt.Errorf("provider config %s (the ClusterClass) is required", ConfigClass))
	}
	if cfg.version == "" {
		missing = append(missing, fmt.Errorf("provider config %s (the Kubernetes version) is required", ConfigVersion))
	}
	if err := errors.Join(missing...); err != nil {
		return fmt.Errorf("create CAPI Cluster %s/%s: %w", cfg.namespace, c.Name, err)
	}
	obj := desired(c, cfg)
	err := p.capi.Post().Namespace(cfg.namespace).Resource(clusters).Body(obj).Do(ctx).Error()
	if apierrors.IsAlreadyExists(err) {
		existing, err := p.get(ctx, cfg.namespace, c.Name)
		if err != nil {
			return err
		}
		if existing == nil || existing.Labels[MemberClusterLabel] == c.Name {
			return nil // gone again already, or ours: a repeated create
		}
		return fmt.Errorf("create CAPI Cluster %s/%s: one exists that fnfleet did not make (no label %s=%s); rename the MemberCluster or remove that Cluster", cfg.namespace, c.Name, MemberClusterLabel, c.Name)
	}
	if err != nil {
		return fmt.Errorf("create CAPI Cluster %s/%s: %w", cfg.namespace, c.Name, err)
	}
	return nil
}

// desired is the Cluster fnfleet asks CAPI for.
func desired(c providers.Cluster, cfg config) *clusterv1.Cluster {
	labels := map[string]string{MemberClusterLabel: c.Name}
	if c.Region != "" {
		labels[corev1.LabelTopologyRegion] = c.Region
	}
	if c.Zone != "" {
		labels[corev1.LabelTopologyZone] = c.Zone
	}
	return &clusterv1.Cluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster"},
		ObjectMeta: metav1.ObjectMeta{Namespace: cfg.namespace, Name: c.Name, Labels: labels},
		Spec: clusterv1.ClusterSpec{
			Topology: clusterv1.Topology{
				ClassRef: clusterv1.ClusterClassRef{Name: cfg.class, Namespace: cfg.classNamespace},
				Version:  cfg.version,
				Workers: clusterv1.WorkersTopology{
					MachineDeployments: []clusterv1.MachineDeploymentTopology{{
						Class:    cfg.workerClass,
						Name:     WorkersName,
						Replicas: ptr.To(max(c.Nodes, 1)),
					}},
				},
			},
		},
	}
}

// Observe reads the Cluster's phase and conditions, as CAPI's controllers
// set them.
func (p *Provider) Observe(ctx context.Context, c providers.Cluster) (providers.State, error) {
	cfg := configOf(c)
	cl, err := p.get(ctx, cfg.namespace, c.Name)
	if err != nil || cl == nil {
		return providers.State{}, err
	}
	st := progressOf(cl)
	st.Exists = true
	if w := cl.Status.Workers; w != nil && w.Replicas != nil {
		st.Nodes = *w.Replicas
	}
	if st.Progress == lifecycle.ProgressRunning {
		_, err := p.kubeconfig(ctx, cfg.namespace, c.Name)
		st.KubeconfigReady = err == nil
		if err != nil && st.Message == "" {
			st.Message = err.Error()
		}
	}
	return st, nil
}

// phaseFailed is the phase of a Cluster that failed for good. CAPI's v1beta2
// controllers no longer set it (a problem shows in conditions, and the
// Cluster keeps trying), but a Cluster converted from v1beta1 or written by
// an older controller still carries it. A v1beta2 Cluster that never gets
// there stays Creating, with CAPI's messages, until the lifecycle's
// provision timeout (which quotes them) marks it Failed.
const phaseFailed = "Failed"

// progressOf maps a Cluster's status onto the lifecycle's progress.
//
// Nodes (set by the caller) is status.workers.replicas, which counts workers
// still being provisioned or deleted: a park is done when no worker machine
// is left (a deleting one still costs), and a wake is Ready only once Fn
// answers, so a worker counted while it boots does no harm.
func progressOf(cl *clusterv1.Cluster) providers.State {
	conds := cl.Status.Conditions
	switch {
	case cl.DeletionTimestamp != nil:
		return providers.State{Progress: lifecycle.ProgressDeleting, Message: "the Cluster is being deleted"}
	case cl.Status.Phase == phaseFailed:
		return providers.State{Progress: lifecycle.ProgressFailed, Message: failure(cl)}
	case cl.Status.Phase == string(clusterv1.ClusterPhaseProvisioned) &&
		meta.IsStatusConditionTrue(conds, clusterv1.ClusterControlPlaneAvailableCondition):
		st := providers.State{Progress: lifecycle.ProgressRunning}
		if m := falseMessage(conds, clusterv1.ClusterAvailableCondition); m != "" {
			st.Message = "not Available: " + m
		}
		return st
	}
	phase := cl.Status.Phase
	if phase == "" {
		phase = "not reported yet"
	}
	msg := "CAPI phase " + phase
	if m := falseMessage(conds, clusterv1.ClusterControlPlaneAvailableCondition); m != "" {
		msg += "; control plane: " + m
	}
	if m := falseMessage(conds, clusterv1.ClusterAvailableCondition); m != "" {
		msg += "; not Available: " + m
	}
	return providers.State{Progress: lifecycle.ProgressCreating, Message: msg}
}

// falseMessage is the message of condition typ when it is not True.
func falseMessage(conds []metav1.Condition, typ string) string {
	if c := meta.FindStatusCondition(conds, typ); c != nil && c.Status != metav1.ConditionTrue {
		return c.Message
	}
	return ""
}

// failure says why a Failed Cluster failed: v1beta1's failureMessage if it
// has one, else the first False condition with a message (Available, which
// summarises the others, first).
func failure(cl *clusterv1.Cluster) string {
	if d := cl.Status.Deprecated; d != nil && d.V1Beta1 != nil && d.V1Beta1.FailureMessage != nil { //nolint:staticcheck // the one place a v1beta1-era failure is told
		return "CAPI reports the Cluster Failed: " + *d.V1Beta1.FailureMessage //nolint:staticcheck // as above
	}
	order := []string{clusterv1.ClusterAvailableCondition}
	for _, c := range cl.Status.Conditions {
		order = append(order, c.Type)
	}
	for _, t := range order {
		if m := falseMessage(cl.Status.Conditions, t); m != "" {
			return "CAPI reports the Cluster Failed: " + t + ": " + m
		}
	}
	return "CAPI reports the Cluster Failed without a message; see its conditions"
}

// Kubeconfig returns CAPI's admin kubeconfig, Secret `<name>-kubeconfig`.
func (p *Provider) Kubeconfig(ctx context.Context, c providers.Cluster) ([]byte, error) {
	return p.kubeconfig(ctx, configOf(c).namespace, c.Name)
}

func (p *Provider) kubeconfig(ctx context.Context, namespace, name string) ([]byte, error) {
	secret := name + "-kubeconfig"
	s, err := p.core.CoreV1().Secrets(namespace).Get(ctx, secret, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("CAPI kubeconfig Secret %s/%s: %w", namespace, secret, err)
	}
	v := s.Data[KubeconfigKey]
	if len(v) == 0 {
		return nil, fmt.Errorf("CAPI kubeconfig Secret %s/%s has no key %s", namespace, secret, KubeconfigKey)
	}
	return v, nil
}

// Park scales the workers to zero (ScaleToZero) or deletes the Cluster
// (Delete). Stop is refused: CAPI cannot stop a control plane.
func (p *Provider) Park(ctx context.Context, c providers.Cluster, mode v1alpha1.ParkingMode) error {
	switch mode {
	case v1alpha1.ParkingScaleToZero:
		return p.update(ctx, c, "park", func(md *clusterv1.MachineDeploymentTopology, annotations map[string]string) {
			n := ptr.Deref(md.Replicas, 1)
			if n == 0 {
				return // parked already; the annotation holds the count
			}
			annotations[ParkedWorkersAnnotation] = strconv.Itoa(int(n))
			md.Replicas = ptr.To[int32](0)
		})
	case v1alpha1.ParkingDelete:
		return p.Delete(ctx, c)
	case v1alpha1.ParkingNever:
		return nil
	}
	return fmt.Errorf("capi cluster %s cannot park with mode %s: Cluster API cannot stop a control plane; use ScaleToZero or Delete: %w", c.Name, mode, providers.ErrUnsupported)
}

// Unpark restores the worker count a ScaleToZero park saved (else c.Nodes,
// at least 1). A Cluster with workers is running: success.
func (p *Provider) Unpark(ctx context.Context, c providers.Cluster) error {
	return p.update(ctx, c, "unpark", func(md *clusterv1.MachineDeploymentTopology, annotations map[string]string) {
		if ptr.Deref(md.Replicas, 1) > 0 {
			delete(annotations, ParkedWorkersAnnotation)
			return
		}
		n := max(c.Nodes, 1)
		if saved, err := strconv.ParseInt(annotations[ParkedWorkersAnnotation], 10, 32); err == nil && saved > 0 {
			n = int32(saved)
		}
		md.Replicas = ptr.To(n)
		delete(annotations, ParkedWorkersAnnotation)
	})
}

// ScaleNodes sets the workers' replicas to n.
func (p *Provider) ScaleNodes(ctx context.Context, c providers.Cluster, n int32) error {
	if n < 0 {
		return fmt.Errorf("capi cluster %s: cannot scale to %d workers", c.Name, n)
	}
	return p.update(ctx, c, "scale", func(md *clusterv1.MachineDeploymentTopology, annotations map[string]string) {
		md.Replicas = ptr.To(n)
		if n > 0 {
			delete(annotations, ParkedWorkersAnnotation)
		}
	})
}

// Delete deletes the Cluster; CAPI's controllers then delete its machines
// and infrastructure, and Observe reports Deleting until it is gone.
func (p *Provider) Delete(ctx context.Context, c providers.Cluster) error {
	cfg := configOf(c)
	err := p.capi.Delete().Namespace(cfg.namespace).Resource(clusters).Name(c.Name).Do(ctx).Error()
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete CAPI Cluster %s/%s: %w", cfg.namespace, c.Name, err)
	}
	return nil
}

// update reads the Cluster, lets change edit its workers' topology and its
// annotations, and writes it back with the resourceVersion read, reading
// again on a Conflict (CAPI's controllers write the same object). A change
// that alters nothing writes nothing.
func (p *Provider) update(ctx context.Context, c providers.Cluster, verb string, change func(md *clusterv1.MachineDeploymentTopology, annotations map[string]string)) error {
	cfg := configOf(c)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cl, err := p.get(ctx, cfg.namespace, c.Name)
		if err != nil {
			return err
		}
		if cl == nil {
			return fmt.Errorf("no CAPI Cluster %s/%s to %s", cfg.namespace, c.Name, verb)
		}
		md := workers(cl)
		if md == nil {
			return fmt.Errorf("CAPI Cluster %s/%s has no MachineDeployment topology %q to %s", cfg.namespace, c.Name, WorkersName, verb)
		}
		before := cl.DeepCopy()
		if cl.Annotations == nil {
			cl.Annotations = map[string]string{}
		}
		change(md, cl.Annotations)
		if ptr.Deref(md.Replicas, 1) == ptr.Deref(workers(before).Replicas, 1) && cl.Annotations[ParkedWorkersAnnotation] == before.Annotations[ParkedWorkersAnnotation] {
			return nil
		}
		return p.capi.Put().Namespace(cfg.namespace).Resource(clusters).Name(c.Name).Body(cl).Do(ctx).Error()
	})
	if err != nil {
		return fmt.Errorf("%s CAPI Cluster %s/%s: %w", verb, cfg.namespace, c.Name, err)
	}
	return nil
}

// workers is the MachineDeployment topology the provider manages.
func workers(cl *clusterv1.Cluster) *clusterv1.MachineDeploymentTopology {
	mds := cl.Spec.Topology.Workers.MachineDeployments
	for i := range mds {
		if mds[i].Name == WorkersName {
			return &mds[i]
		}
	}
	return nil
}

// get reads the Cluster; nil, nil when there is none.
func (p *Provider) get(ctx context.Context, namespace, name string) (*clusterv1.Cluster, error) {
	cl := &clusterv1.Cluster{}
	err := p.capi.Get().Namespace(namespace).Resource(clusters).Name(name).Do(ctx).Into(cl)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get CAPI Cluster %s/%s: %w", namespace, name, err)
	}
	return cl, nil
}
