package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/observe"
	"github.com/fnfleet/fnfleet/federation/parking"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/installer"
)

// Names lifecycle writes under.
const (
	// LifecycleManager is lifecycle's field manager: it owns phase,
	// phaseSince, failures, desiredNodes, lastScaleTime, fnEndpoint,
	// kubeconfigSecretRef, placedApps, idleSince and the conditions
	// Provisioned, FnInstalled, Parked, Schedulable, NodesScaled and
	// WindowsValid.
	LifecycleManager = "fnfleet-lifecycle"
	// Finalizer holds a MemberCluster that fnfleet provisions until
	// lifecycle has deleted the cluster itself.
	Finalizer = "fnfleet.dev/lifecycle"
	// DefaultSecretNamespace is where the kubeconfig Secrets live.
	DefaultSecretNamespace = "fnfleet-system"
	// clusterLabel labels a kubeconfig Secret with its cluster.
	clusterLabel = "fnfleet.dev/cluster"
	// installPoll is how often a running install looks at the cluster, so
	// that a provider playing a load-balancer controller (local) publishes
	// the Fn Service's address while Helm waits for it.
	installPoll = 250 * time.Millisecond
	// insideTimeout bounds one look inside a running cluster (kubeconfig,
	// Helm release, Fn endpoint): a member apiserver that hangs makes the
	// look Unknown rather than holding the step, and so the hub's worker,
	// forever. A healthy look takes 50-200 ms here.
	insideTimeout = 15 * time.Second
	// ReasonProviderNotConfigured: the cluster's provider is not wired in
	// this fnfleet. Nothing is done to the cluster, deleted or not.
	ReasonProviderNotConfigured = "ProviderNotConfigured"
)

// ClusterHub is the part of the hub the lifecycle shell reads and writes.
type ClusterHub interface {
	GetMemberCluster(ctx context.Context, name string) (*v1alpha1.MemberCluster, error)
	ListMemberClusters(ctx context.Context) (*v1alpha1.MemberClusterList, error)
	// SetMemberClusterFinalizers patches the finalizers alone, at the
	// resourceVersion read.
	SetMemberClusterFinalizers(ctx context.Context, name, resourceVersion string, finalizers []string) (*v1alpha1.MemberCluster, error)
	// ApplyMemberClusterStatus applies st's fields as manager, at the
	// resourceVersion read.
	ApplyMemberClusterStatus(ctx context.Context, name, resourceVersion, manager string, st *v1alpha1.MemberClusterStatus) (*v1alpha1.MemberCluster, error)
	GetClusterPool(ctx context.Context, name string) (*v1alpha1.ClusterPool, error)
	UpdateClusterPoolStatus(ctx context.Context, pool *v1alpha1.ClusterPool) (*v1alpha1.ClusterPool, error)
	// ListFleetApps gives the placements and wake requests.
	ListFleetApps(ctx context.Context) (*v1alpha1.FleetAppList, error)
	Secrets(namespace string) corev1client.SecretInterface
	EnsureNamespace(ctx context.Context, namespace string) error
	// Warn records a Warning Event about a MemberCluster.
	Warn(ctx context.Context, obj metav1.Object, kind, component, reason, message string) error
}

// FnInstaller installs charts/fn and reads its release; *installer.Installer
// is one.
type FnInstaller interface {
	Apply(ctx context.Context, target installer.Target, rel installer.Release) (installer.Result, error)
	Status(ctx context.Context, target installer.Target, rel installer.Release) (installer.State, error)
}

// LifecycleConfig is what a Lifecycle works with.
type LifecycleConfig struct {
	Hub ClusterHub
	// Providers by spec.provider.name ("local", "capi", "static").
	Providers map[string]providers.Provider
	Installer FnInstaller
	// SecretNamespace holds the kubeconfig Secrets; DefaultSecretNamespace
	// when empty.
	SecretNamespace string
	// Machine and Parking tune the pure cores.
	Machine lifecycle.Options
	Parking parking.Options
	// InstallTimeout bounds one install of charts/fn (the wait for it to be
	// ready, and the rollback of a failed one); 0 means the installer's
	// default. A caller that itself runs under a deadline (the lifecycle
	// function, within its Fn timeout) sets it below that deadline, so an
	// install is never killed half-way by its caller's end.
	InstallTimeout time.Duration
	// HTTPClient probes Fn endpoints; nil means a client of its own.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Lifecycle is the shell of the lifecycle function: one call moves one
// MemberCluster one step through its lifecycle (lifecycle.Step) and does the
// step's one action through the cluster's provider or the installer. It is
// safe for concurrent use: an action may be asked for more than once (two
// calls that read the same version, a call repeated after a crash), and
// that is harmless because every action is idempotent and serialised by the
// provider (a lock per local cluster, one object per CAPI cluster) or the
// installer (a Lease per release), and every write is fenced by the
// resourceVersion read, so only one of the calls records its outcome.
type Lifecycle struct {
	hub       ClusterHub
	providers map[string]providers.Provider
	installer FnInstaller
	secretNS  string
	machine   lifecycle.Options
	parking   parking.Options
	// installTimeout is LifecycleConfig.InstallTimeout.
	installTimeout time.Duration
	http           *http.Client
	now            func() time.Time
	log            *slog.Logger
	// crashPoint, set only by tests, is called where a crash hurts most:
	// "before <action>" once the phase that owns the action is persisted
	// and before the action starts, and "installing" while Helm installs.
	// A test's child process kills itself there.
	crashPoint func(point string)
}

// NewLifecycle returns the lifecycle shell for cfg.
func NewLifecycle(cfg LifecycleConfig) (*Lifecycle, error) {
	if cfg.Hub == nil || cfg.Installer == nil || len(cfg.Providers) == 0 {
		return nil, errors.New("lifecycle shell: a hub, an installer and at least one provider are required")
	}
	l := &Lifecycle{
		hub: cfg.Hub, providers: cfg.Providers, installer: cfg.Installer, secretNS: cfg.SecretNamespace,
		machine: cfg.Machine, parking: cfg.Parking, installTimeout: cfg.InstallTimeout, http: cfg.HTTPClient, now: cfg.Now, log: cfg.Logger,
	}
	if l.secretNS == "" {
		l.secretNS = DefaultSecretNamespace
	}
	if l.http == nil {
		l.http = &http.Client{}
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	return l, nil
}

// Reconcile moves the MemberCluster name one step: it reads the cluster and
// its pool, observes the provider and the cluster's Fn, decides with
// lifecycle.Step, does the one action, and applies lifecycle's status
// fields at the resourceVersion it read; on a Conflict it reads again and
// redoes the step (the action is idempotent). It returns when to call
// again. A MemberCluster that does not exist is not an error.
//
// An action that fails is recorded (the phase goes to Failed with the
// provider's words, or a condition says what failed) and returned as the
// error, so the caller retries.
func (l *Lifecycle) Reconcile(ctx context.Context, name string) (next time.Time, err error) {
	var outcome error
	err = onConflict(func() error {
		var err error
		next, outcome, err = l.step(ctx, name)
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("lifecycle of MemberCluster %s: %w", name, err)
	}
	if outcome != nil {
		return next, fmt.Errorf("lifecycle of MemberCluster %s: %w", name, outcome)
	}
	return next, nil
}

// member is what one step knows of a cluster.
type member struct {
	mc       *v1alpha1.MemberCluster
	pool     *v1alpha1.ClusterPool // nil for a cluster registered by hand
	provider providers.Provider
	cluster  providers.Cluster
	// rest is the cluster's API, once its kubeconfig is readable.
	rest      *rest.Config
	secretRef *v1alpha1.SecretKeyRef
	release   installer.State
	// demand is what the FleetApps ask of the cluster; answer is parking's
	// answer for it, with the idle clock to record.
	demand demand
	answer parking.Answer
}

// step is one read-observe-decide-act-write pass. err is an I/O error (a
// Conflict among them); outcome is a failure the pass recorded.
func (l *Lifecycle) step(ctx context.Context, name string) (next time.Time, outcome, err error) {
	// Times in the status have whole seconds on the wire: a step that
	// decides nothing new must write an equal status, so it does not
	// write at all.
	now := l.now().Truncate(time.Second)
	mc, err := l.hub.GetMemberCluster(ctx, name)
	if apierrors.IsNotFound(err) {
		return time.Time{}, nil, nil
	}
	if err != nil {
		return time.Time{}, nil, err
	}
	if mc, err = l.ensureFinalizer(ctx, mc); err != nil {
		return time.Time{}, nil, err
	}
	m := &member{mc: mc, secretRef: mc.Status.KubeconfigSecretRef}
	if err := l.resolve(ctx, m); err != nil {
		return time.Time{}, nil, err
	}
	apps, err := l.hub.ListFleetApps(ctx)
	if err != nil {
		return time.Time{}, nil, err
	}
	m.demand = demandOn(apps.Items, mc.Name)
	m.answer = shouldRun(mc, m.demand, now, l.parking)
	if m.provider == nil {
		// Not "the cluster does not exist": a deletion would drop the
		// finalizer and strand a cloud cluster, billed.
		return l.notConfigured(ctx, m, now)
	}

	if full, msg, err := l.admit(ctx, m); err != nil || full {
		if err != nil {
			return time.Time{}, nil, err
		}
		return l.waitForRoom(ctx, m, msg, now)
	}

	obs, err := l.observe(ctx, m)
	if err != nil {
		return time.Time{}, nil, err
	}
	in := lifecycle.Input{Cluster: mc, Observed: obs, Parking: m.answer, Now: now, Options: l.machine}
	d := lifecycle.Step(in)

	if d.Action.Kind != lifecycle.ActNone {
		if failed := l.act(ctx, m, d.Action); failed != nil {
			outcome = failed
			d = l.recordFailure(in, d, failed)
		}
	}
	if d.Gone {
		return time.Time{}, outcome, l.forget(ctx, m)
	}
	if err := l.write(ctx, m, d); err != nil {
		return time.Time{}, nil, err
	}
	return d.Next, outcome, nil
}

// ensureFinalizer puts the finalizer on a cluster fnfleet provisions, before
// anything is created, so that deleting the MemberCluster waits for the
// cluster itself to be deleted. A static cluster is not fnfleet's to
// delete and gets none.
func (l *Lifecycle) ensureFinalizer(ctx context.Context, mc *v1alpha1.MemberCluster) (*v1alpha1.MemberCluster, error) {
	if mc.Spec.Provider.Name == "static" || mc.DeletionTimestamp != nil || slices.Contains(mc.Finalizers, Finalizer) {
		return mc, nil
	}
	return l.hub.SetMemberClusterFinalizers(ctx, mc.Name, mc.ResourceVersion, append(slices.Clone(mc.Finalizers), Finalizer))
}

// resolve finds the cluster's pool and provider, and the shape the provider
// is told.
func (l *Lifecycle) resolve(ctx context.Context, m *member) error {
	mc := m.mc
	if ref := mc.Spec.PoolRef; ref != nil {
		pool, err := l.hub.GetClusterPool(ctx, ref.Name)
		switch {
		case apierrors.IsNotFound(err):
			// The cluster keeps running as it is; only a create needs
			// the pool's shape.
		case err != nil:
			return err
		default:
			m.pool = pool
		}
	}
	m.provider = l.providers[mc.Spec.Provider.Name]
	m.cluster = providers.Cluster{
		Name: mc.Name, Region: mc.Spec.Region, Zone: mc.Spec.Zone,
		Nodes: max(mc.Status.DesiredNodes, 1), Config: mc.Spec.Provider.Config,
	}
	if p := m.pool; p != nil {
		if mc.Status.DesiredNodes == 0 && p.Spec.Nodes > 0 {
			m.cluster.Nodes = p.Spec.Nodes
		}
		m.cluster.NodeCapacity = p.Spec.NodeCapacity
		m.cluster.NodeLabels = maps.Clone(p.Spec.Labels)
	}
	return nil
}

// admit holds the pool's maxClusters against every app asking at once: a
// pool cluster may leave Pending only once its name is in the pool's
// status.admitted, added at the pool's resourceVersion (a Conflict redoes
// the step, which then sees the other writer's name). It reports full, with
// why, when the pool has no room.
func (l *Lifecycle) admit(ctx context.Context, m *member) (full bool, msg string, err error) {
	mc, pool := m.mc, m.pool
	if mc.Spec.PoolRef == nil || mc.DeletionTimestamp != nil || (mc.Status.Phase != "" && mc.Status.Phase != v1alpha1.PhasePending) {
		return false, "", nil
	}
	if pool == nil {
		return true, "its ClusterPool " + mc.Spec.PoolRef.Name + " does not exist: create it, or delete this MemberCluster", nil
	}
	if slices.Contains(pool.Status.Admitted, mc.Name) {
		return false, "", nil
	}
	members, err := l.hub.ListMemberClusters(ctx)
	if err != nil {
		return false, "", err
	}
	kept := holding(pool, members.Items)
	if int32(len(kept)) >= pool.Spec.MaxClusters {
		return true, fmt.Sprintf("ClusterPool %s is full: %d of its maxClusters %d are admitted (%v); waits for one of them to go, or raise maxClusters",
			pool.Name, len(kept), pool.Spec.MaxClusters, kept), nil
	}
	want := pool.DeepCopy()
	want.Status.Admitted = append(kept, mc.Name)
	slices.Sort(want.Status.Admitted)
	if _, err := l.hub.UpdateClusterPoolStatus(ctx, want); err != nil {
		return false, "", err
	}
	l.log.Info("admitted by its pool", "cluster", mc.Name, "pool", pool.Name, "admitted", len(want.Status.Admitted), "maxClusters", pool.Spec.MaxClusters)
	return false, "", nil
}

// holding lists the clusters that hold a place in pool: those admitted
// that still exist, and those past Pending that name the pool whether or
// not they are listed. status.admitted alone is not enough: a status lost
// to a restore from backup or a hand edit would let maxClusters be
// exceeded, because a cluster past Pending is never admitted again.
func holding(pool *v1alpha1.ClusterPool, members []v1alpha1.MemberCluster) []string {
	var names []string
	for i := range members {
		mc := &members[i]
		if slices.Contains(pool.Status.Admitted, mc.Name) ||
			mc.Spec.PoolRef != nil && mc.Spec.PoolRef.Name == pool.Name && mc.Status.Phase != "" && mc.Status.Phase != v1alpha1.PhasePending {
			names = append(names, mc.Name)
		}
	}
	slices.Sort(names)
	return names
}

// notConfigured records that the cluster's provider is not wired in this
// fnfleet, and does nothing else: not a create, not a delete, and the
// finalizer stays, so deleting the MemberCluster waits until a fnfleet that
// has the provider deletes the cluster (or a person removes the finalizer,
// having deleted it by hand).
func (l *Lifecycle) notConfigured(ctx context.Context, m *member, now time.Time) (time.Time, error, error) {
	msg := "provider " + m.mc.Spec.Provider.Name + " is not configured in this fnfleet (it has " + providerNames(l.providers) +
		"): nothing is done to the cluster until it is"
	if m.mc.DeletionTimestamp != nil {
		msg += "; the deletion waits for it, since the cluster may still exist (remove finalizer " + Finalizer + " only after deleting the cluster by hand)"
	}
	d := lifecycle.StatusOf(&m.mc.Status)
	if d.Phase == "" {
		d.Phase, d.PhaseSince = v1alpha1.PhasePending, now
	}
	conds := slices.Clone(m.mc.Status.Conditions)
	setCondition(&conds, v1alpha1.ClusterProvisioned, false, ReasonProviderNotConfigured, msg, m.mc.Generation, now)
	d.Conditions = lifecycle.StatusOf(&v1alpha1.MemberClusterStatus{Conditions: conds}).Conditions
	if err := l.write(ctx, m, lifecycle.Decision{Status: d}); err != nil {
		return time.Time{}, nil, err
	}
	return now.Add(l.pollEvery()), errors.New(msg), nil
}

// waitForRoom records that a Pending cluster waits for its pool.
func (l *Lifecycle) waitForRoom(ctx context.Context, m *member, msg string, now time.Time) (time.Time, error, error) {
	d := lifecycle.Decision{Status: lifecycle.Status{Phase: v1alpha1.PhasePending, PhaseSince: now}}
	if ps := m.mc.Status.PhaseSince; ps != nil {
		d.Status.PhaseSince = ps.Time
	}
	conds := slices.Clone(m.mc.Status.Conditions)
	setCondition(&conds, v1alpha1.ClusterProvisioned, false, "PoolFull", msg, m.mc.Generation, now)
	d.Status.Conditions = []metav1.Condition{*apimeta.FindStatusCondition(conds, v1alpha1.ClusterProvisioned)}
	if err := l.write(ctx, m, d); err != nil {
		return time.Time{}, nil, err
	}
	return now.Add(l.pollEvery()), nil, nil
}

// observe asks the provider how far the cluster got and, once it serves,
// reads its kubeconfig (into the hub Secret), its Fn release and endpoint,
// and whether Fn answers there.
func (l *Lifecycle) observe(ctx context.Context, m *member) (lifecycle.Observed, error) {
	st, err := m.provider.Observe(ctx, m.cluster)
	if err != nil {
		return lifecycle.Observed{}, fmt.Errorf("observe cluster %s: %w", m.mc.Name, err)
	}
	obs := lifecycle.Observed{Exists: st.Exists, Progress: st.Progress, Message: st.Message, KubeconfigReady: st.KubeconfigReady, Nodes: st.Nodes}
	if !st.Exists || st.Progress != lifecycle.ProgressRunning {
		return obs, nil
	}
	if !st.KubeconfigReady {
		// Running but not serving: the provider could not reach it this
		// time (a local apiserver that did not answer its probe). Not yet
		// serving while it is created, unknown once it served.
		obs.Unknown = "provider " + m.mc.Spec.Provider.Name + " reports it running but not serving"
		if st.Message != "" {
			obs.Unknown += ": " + st.Message
		}
		return obs, nil
	}
	// What fails from here is a look that failed, not a fact about the
	// cluster: Unknown, never "no release" or "no endpoint".
	inside, cancel := context.WithTimeout(ctx, insideTimeout)
	defer cancel()
	if err := l.connect(inside, m); err != nil {
		obs.Unknown = err.Error()
		return obs, nil
	}
	if m.release, err = l.installer.Status(inside, installer.Target{RESTConfig: m.rest}, fnRelease(m, l.installTimeout)); err != nil {
		obs.Unknown = "read the Fn release: " + err.Error()
		return obs, nil
	}
	obs.Release = lifecycle.Release{Name: m.release.Release, Revision: m.release.Revision, Deployed: m.release.Deployed, Pending: m.release.Pending}
	client, err := kubernetes.NewForConfig(m.rest)
	if err != nil {
		return lifecycle.Observed{}, fmt.Errorf("client for cluster %s: %w", m.mc.Name, err)
	}
	if obs.FnEndpoint, err = observe.FnEndpoint(inside, client, m.release.Namespace); err != nil {
		obs.Unknown = "read the Fn endpoint: " + err.Error()
		return obs, nil
	}
	if obs.FnEndpoint != "" {
		obs.FnAnswering = observe.FnAnswers(inside, l.http, obs.FnEndpoint) == nil
	}
	return obs, nil
}

// connect reads the cluster's kubeconfig from the provider, keeps it in the
// cluster's Secret in the hub (written only when it changed), and builds a
// client configuration from it. The kubeconfig is never logged.
func (l *Lifecycle) connect(ctx context.Context, m *member) error {
	kubeconfig, err := m.provider.Kubeconfig(ctx, m.cluster)
	if err != nil {
		return fmt.Errorf("kubeconfig of cluster %s: %w", m.mc.Name, err)
	}
	if m.rest, err = clientcmd.RESTConfigFromKubeConfig(kubeconfig); err != nil {
		return fmt.Errorf("kubeconfig of cluster %s: %w", m.mc.Name, err)
	}
	ref, err := l.storeKubeconfig(ctx, m.mc, kubeconfig)
	if err != nil {
		return err
	}
	m.secretRef = ref
	return nil
}

func (l *Lifecycle) storeKubeconfig(ctx context.Context, mc *v1alpha1.MemberCluster, kubeconfig []byte) (*v1alpha1.SecretKeyRef, error) {
	ref := &v1alpha1.SecretKeyRef{Namespace: l.secretNS, Name: mc.Name + "-kubeconfig", Key: KubeconfigKey}
	secrets := l.hub.Secrets(ref.Namespace)
	old, err := secrets.Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case err == nil && string(old.Data[ref.Key]) == string(kubeconfig):
		return ref, nil
	case err == nil:
		old.Data = map[string][]byte{ref.Key: kubeconfig}
		if _, err := secrets.Update(ctx, old, metav1.UpdateOptions{}); err != nil {
			return nil, fmt.Errorf("update kubeconfig Secret %s/%s: %w", ref.Namespace, ref.Name, err)
		}
		return ref, nil
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("read kubeconfig Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	// Once per cluster: a Secret is created when its cluster first serves.
	if err := l.hub.EnsureNamespace(ctx, ref.Namespace); err != nil {
		return nil, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: ref.Name, Namespace: ref.Namespace, Labels: map[string]string{clusterLabel: mc.Name},
			// The hub's garbage collector removes the Secret with its
			// MemberCluster, whoever deletes it.
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion().String(), Kind: "MemberCluster", Name: mc.Name, UID: mc.UID,
			}},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{ref.Key: kubeconfig},
	}
	if _, err := secrets.Create(ctx, secret, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create kubeconfig Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	return ref, nil
}

// act does the step's one action.
func (l *Lifecycle) act(ctx context.Context, m *member, a lifecycle.Action) error {
	p, c := m.provider, m.cluster
	l.log.Debug("cluster action", "cluster", c.Name, "action", a.Kind.String(), "provider", m.mc.Spec.Provider.Name)
	if l.crashPoint != nil {
		l.crashPoint("before " + a.Kind.String())
	}
	var err error
	switch a.Kind {
	case lifecycle.ActCreate:
		err = p.Create(ctx, c)
	case lifecycle.ActInstallFn:
		err = l.installFn(ctx, m)
	case lifecycle.ActPark:
		if a.Mode == v1alpha1.ParkingDelete {
			err = p.Delete(ctx, c)
		} else {
			err = p.Park(ctx, c, a.Mode)
		}
	case lifecycle.ActUnpark:
		c.Nodes = max(a.Nodes, 1)
		err = p.Unpark(ctx, c)
	case lifecycle.ActScaleNodes:
		err = p.ScaleNodes(ctx, c, a.Nodes)
	case lifecycle.ActDelete:
		if err = p.Delete(ctx, c); err == nil {
			err = l.deleteKubeconfig(ctx, m)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", a.Kind, err)
	}
	return nil
}

// installFn installs charts/fn with the installer. Helm waits for the Fn
// Service's load-balancer address, so the provider is observed meanwhile:
// the local provider publishes the address of the cluster's data plane as
// it observes (a cloud's controller does it on its own).
func (l *Lifecycle) installFn(ctx context.Context, m *member) error {
	if m.rest == nil {
		return errors.New("the cluster's kubeconfig is not readable yet")
	}
	observing, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		t := time.NewTicker(installPoll)
		defer t.Stop()
		for {
			select {
			case <-observing.Done():
				return
			case <-t.C:
				_, _ = m.provider.Observe(observing, m.cluster)
				if l.crashPoint != nil {
					l.crashPoint("installing")
				}
			}
		}
	}()
	res, err := l.installer.Apply(ctx, installer.Target{RESTConfig: m.rest}, fnRelease(m, l.installTimeout))
	if errors.Is(err, installer.ErrInProgress) {
		// Another call installs it; the next observation tells.
		return nil
	}
	if err != nil {
		return err
	}
	l.log.Info("Fn installed", "cluster", m.mc.Name, "release", res.Release, "revision", res.Revision, "outcome", string(res.Outcome), "recovered", res.Recovered, "elapsed", res.Elapsed.Round(time.Millisecond))
	return nil
}

// fnRelease is the release of charts/fn on the cluster: a LoadBalancer
// Service, so the fleet has an endpoint to reach, plus what the provider
// asks for; installed within timeout (0: the installer's default).
func fnRelease(m *member, timeout time.Duration) installer.Release {
	values := map[string]any{"service": map[string]any{"type": "LoadBalancer"}}
	if v, ok := m.provider.(providers.FnValuer); ok {
		values = v.FnValues(m.cluster)
	}
	return installer.Release{Values: values, Timeout: timeout}
}

// recordFailure folds a failed action into the decision: a provider call
// that failed is what the provider would report as failed, so the machine
// decides again with that (Failed, with the provider's words and a retry);
// a failed install or scale leaves the phase and says so in its condition
// until the phase's timeout.
func (l *Lifecycle) recordFailure(in lifecycle.Input, d lifecycle.Decision, failed error) lifecycle.Decision {
	l.log.Warn("cluster action failed", "cluster", in.Cluster.Name, "action", d.Action.Kind.String(), "err", failed)
	switch d.Action.Kind {
	case lifecycle.ActCreate, lifecycle.ActPark, lifecycle.ActUnpark:
		in.Observed.Progress, in.Observed.Message = lifecycle.ProgressFailed, failed.Error()
		return lifecycle.Step(in)
	case lifecycle.ActInstallFn:
		setCondition(&d.Status.Conditions, v1alpha1.ClusterFnInstalled, false, "InstallFailed", failed.Error()+"; retried", in.Cluster.Generation, in.Now)
	case lifecycle.ActScaleNodes:
		setCondition(&d.Status.Conditions, v1alpha1.ClusterNodesScaled, false, "ScaleFailed", failed.Error()+"; retried", in.Cluster.Generation, in.Now)
	}
	return d
}

// write applies lifecycle's fields of the status when they changed.
func (l *Lifecycle) write(ctx context.Context, m *member, d lifecycle.Decision) error {
	var have, want v1alpha1.MemberClusterStatus
	lifecycle.StatusOf(&m.mc.Status).ApplyTo(&have)
	have.KubeconfigSecretRef = m.mc.Status.KubeconfigSecretRef
	have.PlacedApps, have.IdleSince = m.mc.Status.PlacedApps, m.mc.Status.IdleSince
	d.Status.ApplyTo(&want)
	want.KubeconfigSecretRef = m.secretRef
	want.PlacedApps = m.demand.placed
	if t := m.answer.IdleSince; !t.IsZero() {
		want.IdleSince = &metav1.Time{Time: t}
	}
	if equality.Semantic.DeepEqual(have, want) {
		return nil
	}
	if _, err := l.hub.ApplyMemberClusterStatus(ctx, m.mc.Name, m.mc.ResourceVersion, LifecycleManager, &want); err != nil {
		return err
	}
	l.warnWindows(ctx, m.mc, want.Conditions)
	if d.Status.Phase != m.mc.Status.Phase {
		l.log.Info("cluster phase", "cluster", m.mc.Name, "from", string(m.mc.Status.Phase), "to", string(d.Status.Phase), "why", d.Message)
		l.countPool(ctx, m.mc.Spec.PoolRef)
	}
	return nil
}

// warnWindows records an Event when the cluster's WindowsValid condition
// turns False or names another problem: once per change, not per step. An
// Event only informs, and the condition says the same, so a failure to
// record one is logged.
func (l *Lifecycle) warnWindows(ctx context.Context, mc *v1alpha1.MemberCluster, conds []metav1.Condition) {
	now := apimeta.FindStatusCondition(conds, v1alpha1.ConditionWindowsValid)
	if now == nil || now.Status != metav1.ConditionFalse {
		return
	}
	if was := apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ConditionWindowsValid); was != nil && was.Status == now.Status && was.Message == now.Message {
		return
	}
	if err := l.hub.Warn(ctx, mc, "MemberCluster", LifecycleManager, now.Reason, now.Message); err != nil {
		l.log.Warn("record an Event", "cluster", mc.Name, "err", err)
	}
}

// countPool refreshes the pool's clusters, ready and parked counts (its
// printer columns) after one of its clusters changed phase. The counts
// only inform a person, and the next phase change recounts, so a failure
// is logged rather than failing the step.
func (l *Lifecycle) countPool(ctx context.Context, ref *v1alpha1.ClusterPoolReference) {
	if ref == nil {
		return
	}
	err := onConflict(func() error {
		pool, err := l.hub.GetClusterPool(ctx, ref.Name)
		if err != nil {
			return err
		}
		members, err := l.hub.ListMemberClusters(ctx)
		if err != nil {
			return err
		}
		want := pool.DeepCopy()
		want.Status.Clusters, want.Status.Ready, want.Status.Parked = 0, 0, 0
		for i := range members.Items {
			mc := &members.Items[i]
			if mc.Spec.PoolRef == nil || mc.Spec.PoolRef.Name != pool.Name {
				continue
			}
			want.Status.Clusters++
			switch mc.Status.Phase {
			case v1alpha1.PhaseReady, v1alpha1.PhaseScaling:
				want.Status.Ready++
			case v1alpha1.PhaseParked:
				want.Status.Parked++
			}
		}
		want.Status.ObservedGeneration = pool.Generation
		if equality.Semantic.DeepEqual(pool.Status, want.Status) {
			return nil
		}
		_, err = l.hub.UpdateClusterPoolStatus(ctx, want)
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		l.log.Warn("count the pool's clusters", "pool", ref.Name, "err", err)
	}
}

// forget ends a deleted cluster: its kubeconfig Secret, its place in its
// pool, and last the finalizer, so a crash before the end repeats it.
func (l *Lifecycle) forget(ctx context.Context, m *member) error {
	if err := l.deleteKubeconfig(ctx, m); err != nil {
		return err
	}
	if m.pool != nil && slices.Contains(m.pool.Status.Admitted, m.mc.Name) {
		want := m.pool.DeepCopy()
		want.Status.Admitted = slices.DeleteFunc(want.Status.Admitted, func(n string) bool { return n == m.mc.Name })
		if _, err := l.hub.UpdateClusterPoolStatus(ctx, want); err != nil {
			return err
		}
	}
	if !slices.Contains(m.mc.Finalizers, Finalizer) {
		return nil
	}
	kept := slices.DeleteFunc(slices.Clone(m.mc.Finalizers), func(f string) bool { return f == Finalizer })
	if _, err := l.hub.SetMemberClusterFinalizers(ctx, m.mc.Name, m.mc.ResourceVersion, kept); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	l.log.Info("cluster deleted", "cluster", m.mc.Name)
	l.countPool(ctx, m.mc.Spec.PoolRef)
	return nil
}

func (l *Lifecycle) deleteKubeconfig(ctx context.Context, m *member) error {
	name := m.mc.Name + "-kubeconfig"
	err := l.hub.Secrets(l.secretNS).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete kubeconfig Secret %s/%s: %w", l.secretNS, name, err)
	}
	m.secretRef = nil
	return nil
}

func (l *Lifecycle) pollEvery() time.Duration {
	if l.machine.Poll > 0 {
		return l.machine.Poll
	}
	return 10 * time.Second
}

func providerNames(ps map[string]providers.Provider) string {
	names := slices.Sorted(maps.Keys(ps))
	return fmt.Sprint(names)
}
