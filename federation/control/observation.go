package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/observe"
)

// ObservationHub is the part of the hub the observation shell reads and
// writes.
type ObservationHub interface {
	GetMemberCluster(ctx context.Context, name string) (*v1alpha1.MemberCluster, error)
	// Secrets are the hub's Secrets in namespace, where the members'
	// kubeconfigs live.
	Secrets(namespace string) corev1client.SecretInterface
	// ApplyMemberClusterStatus sets, as field manager manager, exactly the
	// status fields st holds, failing with a Conflict if the object
	// changed since resourceVersion.
	ApplyMemberClusterStatus(ctx context.Context, name, resourceVersion, manager string, st *v1alpha1.MemberClusterStatus) (*v1alpha1.MemberCluster, error)
}

const (
	// ReconcileManager is the field manager of the status fields
	// reconcile owns: the Healthy condition, capacity, allocatable, used,
	// available, ingress and lastHeartbeatTime. (placedApps and idleSince
	// are lifecycle's, which parks by them: demandOn.)
	ReconcileManager = "fnfleet-reconcile"

	// ObservationResync is how often a member is looked at. Placement
	// treats a member whose heartbeat is 10 minutes old as gone
	// (defaultHeartbeatTimeout), so 30 s gives 20 beats before that, and
	// one look costs the hub one read and one write and the member two
	// lists: 1000 members are about 67 hub requests a second.
	ObservationResync = 30 * time.Second

	// KubeconfigKey is the key of the kubeconfig Secret read when
	// status.kubeconfigSecretRef names none, as the API documents
	// (v1alpha1.SecretKeyRef).
	KubeconfigKey = "kubeconfig"
)

// Reasons of the Healthy condition that reconcile writes.
const (
	ReasonHealthy           = "Healthy"
	ReasonAPIServerNotReady = "APIServerNotReady"
	ReasonFnNotAnswering    = "FnNotAnswering"
	// ReasonListFailed: the apiserver answers /readyz but refused or
	// failed the node or pod list (most often the kubeconfig's
	// permissions).
	ReasonListFailed = "ListFailed"
)

// ObservationConfig is what an Observation works with.
type ObservationConfig struct {
	Hub ObservationHub
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives a debug line per status written; nil means
	// slog.Default(). The kubeconfig never reaches it.
	Logger *slog.Logger
	// HTTPClient probes the members' Fn servers; nil means a client of
	// its own with Go's default transport.
	HTTPClient *http.Client
	// HeartbeatTimeout is placement's (PlacementConfig.HeartbeatTimeout):
	// a look that finds nothing new writes the heartbeat only once it is
	// a third of this old; 0 means placement's default, 10 minutes.
	HeartbeatTimeout time.Duration
}

// Observation is the shell of the reconcile function's observation: it
// looks at one member cluster (its apiserver, its Fn, its nodes and pods)
// and records what it saw in the fields of the MemberCluster's status that
// reconcile owns, by server-side apply as ReconcileManager. Lifecycle's
// fields (phase, its conditions, kubeconfigSecretRef, fnEndpoint) are
// never written. It is safe for concurrent use.
type Observation struct {
	hub ObservationHub
	now func() time.Time
	log *slog.Logger
	hc  *http.Client
	// beat is how old the heartbeat may grow before a look that found
	// nothing new writes it anyway.
	beat time.Duration
}

// NewObservation returns the observation shell for cfg.
func NewObservation(cfg ObservationConfig) (*Observation, error) {
	if cfg.Hub == nil {
		return nil, errors.New("observation shell: a hub is required")
	}
	o := &Observation{hub: cfg.Hub, now: cfg.Now, log: cfg.Logger, hc: cfg.HTTPClient, beat: cfg.HeartbeatTimeout / 3}
	if o.beat <= 0 {
		o.beat = defaultHeartbeatTimeout / 3
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	if o.hc == nil {
		o.hc = &http.Client{}
	}
	return o, nil
}

// Reconcile looks at the member cluster called name and writes what it saw
// at the resourceVersion it read, when it differs from what the status
// holds or the heartbeat is a third of the heartbeat timeout old (see
// worthWriting); on a Conflict it reads again and writes
// again (the member is looked at again only if the Secret or the Fn
// endpoint it was looked at through changed). It returns when to look
// next: ObservationResync from now, also with an error, so that a caller
// that loops on it never spins. A MemberCluster that no longer exists is
// not an error: Reconcile returns the zero time and nil.
//
// Only a Ready or Scaling cluster is looked at: in the other phases it is
// being built, parked or deleted, and lifecycle alone speaks for it.
func (o *Observation) Reconcile(ctx context.Context, name string) (next time.Time, err error) {
	var (
		seen    *observation
		deleted bool
	)
	err = onConflict(func() error {
		var err error
		deleted, err = o.step(ctx, name, &seen)
		return err
	})
	if deleted {
		return time.Time{}, nil
	}
	next = o.now().Add(ObservationResync)
	if err != nil {
		return next, fmt.Errorf("observe MemberCluster %s: %w", name, err)
	}
	return next, nil
}

// observation is one look at a member, and what it looked through.
type observation struct {
	secret   v1alpha1.SecretKeyRef
	endpoint string
	report   observe.Report
}

// step is one read-observe-write pass; *seen carries the look across
// passes redone on a Conflict.
func (o *Observation) step(ctx context.Context, name string, seen **observation) (deleted bool, err error) {
	mc, err := o.hub.GetMemberCluster(ctx, name)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if p := mc.Status.Phase; p != v1alpha1.PhaseReady && p != v1alpha1.PhaseScaling {
		return false, nil
	}
	ref := mc.Status.KubeconfigSecretRef
	if ref == nil {
		return false, fmt.Errorf("phase %s but no status.kubeconfigSecretRef: lifecycle writes it once the cluster is provisioned", mc.Status.Phase)
	}
	if *seen == nil || (*seen).secret != *ref || (*seen).endpoint != mc.Status.FnEndpoint {
		cfg, err := o.kubeconfig(ctx, *ref)
		if err != nil {
			return false, err
		}
		*seen = &observation{secret: *ref, endpoint: mc.Status.FnEndpoint, report: observe.Cluster(ctx, cfg, o.hc, mc.Status.FnEndpoint)}
	}
	now := o.now()
	st := observedStatus(mc, &(*seen).report, now)
	if !worthWriting(&mc.Status, st, now, o.beat) {
		return false, nil
	}
	if _, err := o.hub.ApplyMemberClusterStatus(ctx, name, mc.ResourceVersion, ReconcileManager, st); err != nil {
		return false, err
	}
	h := st.Conditions[0]
	o.log.Debug("observed MemberCluster", "cluster", name, "healthy", h.Status, "reason", h.Reason,
		"usedCPU", st.Used.Cpu().String(), "usedMemory", st.Used.Memory().String())
	return false, nil
}

// kubeconfig reads the member's kubeconfig from the hub Secret ref names.
// Errors name the Secret and never quote its content: a parser's message
// may carry a piece of the document, credentials included.
func (o *Observation) kubeconfig(ctx context.Context, ref v1alpha1.SecretKeyRef) (*rest.Config, error) {
	key := ref.Key
	if key == "" {
		key = KubeconfigKey
	}
	secret, err := o.hub.Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the kubeconfig Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	data, ok := secret.Data[key]
	if !ok {
		keys := make([]string, 0, len(secret.Data))
		for k := range secret.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return nil, fmt.Errorf("kubeconfig Secret %s/%s has no key %s (keys: %s)", ref.Namespace, ref.Name, key, strings.Join(keys, ", "))
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("key %s of Secret %s/%s is not a kubeconfig (the parser's message is withheld: it may quote credentials)", key, ref.Namespace, ref.Name)
	}
	cfg.UserAgent = ReconcileManager
	return cfg, nil
}

// observedStatus is the part of mc's status reconcile owns, as rep and now
// make it. What a failed probe could not read
// (usage, the heartbeat) keeps its last value: reconcile owns those
// fields, so leaving them out of the apply would delete them.
func observedStatus(mc *v1alpha1.MemberCluster, rep *observe.Report, now time.Time) *v1alpha1.MemberClusterStatus {
	old := &mc.Status
	st := &v1alpha1.MemberClusterStatus{
		Capacity:          old.Capacity,
		Allocatable:       old.Allocatable,
		Used:              old.Used,
		Available:         old.Available,
		Ingress:           old.Ingress,
		LastHeartbeatTime: old.LastHeartbeatTime,
	}
	if rep.List == nil {
		u := rep.Usage
		st.Capacity, st.Allocatable, st.Used, st.Available = u.Capacity, u.Allocatable, u.Used, u.Available
		st.Ingress = nil
		for _, in := range rep.Ingress {
			st.Ingress = append(st.Ingress, v1alpha1.IngressAddress{IP: in.IP, Hostname: in.Hostname})
		}
	}
	// lastHeartbeatTime is when reconcile last reached the cluster: its
	// apiserver answered.
	if rep.APIServer == nil {
		t := metav1.NewTime(now)
		st.LastHeartbeatTime = &t
	}
	ok, reason, msg := health(mc, rep)
	conds := slices.Clone(old.Conditions)
	setCondition(&conds, v1alpha1.ClusterHealthy, ok, reason, msg, mc.Generation, now)
	// Only Healthy: the others are lifecycle's, and conditions merge by
	// type, so they stay as lifecycle wrote them.
	st.Conditions = []metav1.Condition{*apimeta.FindStatusCondition(conds, v1alpha1.ClusterHealthy)}
	return st
}

// worthWriting reports whether st, what a look saw, is worth a write over
// old: something but the heartbeat changed, the recorded heartbeat is older
// than the phase, or it is beat old (a third of placement's heartbeat timeout: three chances to
// land before a member counts as gone). So a quiet member costs the hub a
// write every 200 s rather than every 30 s look, and the event source,
// which sends nothing for a heartbeat, sees no change at all.
func worthWriting(old, st *v1alpha1.MemberClusterStatus, now time.Time, beat time.Duration) bool {
	if !equality.Semantic.DeepEqual(old.Capacity, st.Capacity) || !equality.Semantic.DeepEqual(old.Allocatable, st.Allocatable) ||
		!equality.Semantic.DeepEqual(old.Used, st.Used) || !equality.Semantic.DeepEqual(old.Available, st.Available) ||
		!equality.Semantic.DeepEqual(old.Ingress, st.Ingress) {
		return true
	}
	was := apimeta.FindStatusCondition(old.Conditions, v1alpha1.ClusterHealthy)
	h := st.Conditions[0]
	if was == nil || was.Status != h.Status || was.Reason != h.Reason || was.Message != h.Message ||
		was.ObservedGeneration != h.ObservedGeneration || !was.LastTransitionTime.Equal(&h.LastTransitionTime) {
		return true
	}
	hb := old.LastHeartbeatTime
	if st.LastHeartbeatTime == nil {
		return false
	}
	// A recorded heartbeat older than the phase (a cluster just created or
	// woken) is one placement will not place on ("not yet observed after
	// coming up"): the first look since is written at once, and the event
	// source tells placement (cluster.changed, observed).
	return hb == nil || now.Sub(hb.Time) >= beat || (old.PhaseSince != nil && hb.Before(old.PhaseSince))
}

// health is the Healthy condition for rep, with a message that says what
// to look at.
func health(mc *v1alpha1.MemberCluster, rep *observe.Report) (ok bool, reason, msg string) {
	ref := mc.Status.KubeconfigSecretRef
	var fnMsg string
	if rep.Fn != nil {
		if mc.Status.FnEndpoint == "" {
			fnMsg = "no Fn endpoint in status.fnEndpoint: lifecycle publishes it once the Fn Service has a load-balancer address"
		} else {
			fnMsg = fmt.Sprintf("Fn at %s does not answer (%v): check the Fn server pods (label %s) and the LoadBalancer Service in front of them", mc.Status.FnEndpoint, rep.Fn, observe.FnSelector)
		}
	}
	switch {
	case rep.APIServer != nil:
		msg = fmt.Sprintf("the apiserver does not answer (%v): check the cluster's control plane and that the kubeconfig in Secret %s/%s still reaches it", rep.APIServer, ref.Namespace, ref.Name)
		if fnMsg != "" {
			msg += "; " + fnMsg
		}
		return false, ReasonAPIServerNotReady, msg
	case rep.Fn != nil:
		return false, ReasonFnNotAnswering, fnMsg
	case rep.List != nil:
		return false, ReasonListFailed, fmt.Sprintf("the apiserver is ready but %v: the kubeconfig in Secret %s/%s must allow listing nodes and pods in all namespaces", rep.List, ref.Namespace, ref.Name)
	}
	return true, ReasonHealthy, "the apiserver is ready and Fn answers at " + mc.Status.FnEndpoint
}
