package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// Names deploy writes under.
const (
	// DeployManager is deploy's field manager on FleetApp status: it owns
	// deployments and the Deployed condition.
	DeployManager = "fnfleet-deploy"
	// DeployFinalizer holds a FleetApp until deploy has removed its Fn app
	// from every member it recorded.
	DeployFinalizer = "fnfleet.dev/deploy"
)

// DeployHub is the part of the hub the deploy shell reads and writes.
type DeployHub interface {
	GetFleetApp(ctx context.Context, namespace, name string) (*v1alpha1.FleetApp, error)
	ListMemberClusters(ctx context.Context) (*v1alpha1.MemberClusterList, error)
	// ApplyFleetAppStatus applies st's fields as manager, at the
	// resourceVersion read.
	ApplyFleetAppStatus(ctx context.Context, namespace, name, resourceVersion, manager string, st *v1alpha1.FleetAppStatus) (*v1alpha1.FleetApp, error)
	// SetFleetAppFinalizers patches the finalizers alone, at the
	// resourceVersion read.
	SetFleetAppFinalizers(ctx context.Context, namespace, name, resourceVersion string, finalizers []string) (*v1alpha1.FleetApp, error)
}

// FnApps reaches each member's Fn API; fndeploy.Deployer is one. Both
// calls are idempotent: applying what is there changes nothing, and
// removing what is not there is success.
type FnApps interface {
	// Apply puts app on the Fn server at endpoint (a member's
	// status.fnEndpoint) and returns its id there.
	Apply(ctx context.Context, endpoint string, app *v1alpha1.FnApp) (appID string, err error)
	// Remove deletes the app called appName, with its functions and
	// triggers, from the Fn server at endpoint. An app that is not there
	// is success.
	Remove(ctx context.Context, endpoint, appName string) error
}

// DeployConfig is what a Deploy works with.
type DeployConfig struct {
	Hub DeployHub
	Fn  FnApps
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives a line per Fn app deployed or removed; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Deploy is the shell of the deploy function: it brings every member's Fn
// to one FleetApp's placement decision. It puts the Fn app on each placed
// member, removes it from each member no longer placed, and records per
// member what it did (status.deployments), so that a removal is never
// forgotten when the decision changes. The finalizer DeployFinalizer holds
// a deleted FleetApp until its Fn app is gone from every member.
//
// Crash safety: a member is recorded (Deploying, with the endpoint) before
// the first Fn call that puts the app there, so whatever happens after
// that (the call dies, loses its write to a Conflict, or placement drops
// the member meanwhile) a record says where the app may be, and a later
// call deploys it or removes it. Apply and Remove are idempotent, so the
// act a dead call may or may not have done is simply repeated.
type Deploy struct {
	hub DeployHub
	fn  FnApps
	now func() time.Time
	log *slog.Logger
	// keys serialises the calls for one app in this process: two calls at
	// once would both find no record and both deploy; one after the other,
	// the second finds the first's record and calls no Fn API. Calls from
	// other processes are fenced by the resourceVersion of the records.
	keys keyLocks
}

// NewDeploy returns the deploy shell for cfg.
func NewDeploy(cfg DeployConfig) (*Deploy, error) {
	if cfg.Hub == nil || cfg.Fn == nil {
		return nil, errors.New("deploy shell: a hub and an Fn client are required")
	}
	d := &Deploy{hub: cfg.Hub, fn: cfg.Fn, now: cfg.Now, log: cfg.Logger}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	return d, nil
}

// Reconcile brings every member's Fn to the decision of the FleetApp key
// and records what it did: the deployments and the Deployed condition,
// applied as DeployManager at the resourceVersion it read (not written when
// unchanged); on a Conflict it reads again and redoes the step. A member
// whose record already says the app's current generation is deployed at
// its current endpoint costs no Fn API call.
//
// It returns the app as the hub now holds it, nil when it is gone. A
// member that failed does not keep the others from their app; the error
// then names it, so the caller retries. A member not serving yet is no
// error: the Deployed condition says the app waits for it, and the
// member's change calls deploy again.
func (d *Deploy) Reconcile(ctx context.Context, key types.NamespacedName) (*v1alpha1.FleetApp, error) {
	unlock := d.keys.lock(key)
	defer unlock()
	return reconcileApp(ctx, "deploy", key, d.step)
}

// step is one read-act-write pass. err is an I/O error with the hub (a
// Conflict among them); outcome is what failed on members' Fn, recorded.
func (d *Deploy) step(ctx context.Context, key types.NamespacedName) (app *v1alpha1.FleetApp, outcome, err error) {
	read, err := d.hub.GetFleetApp(ctx, key.Namespace, key.Name)
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	deleting := read.DeletionTimestamp != nil
	switch {
	case deleting && !slices.Contains(read.Finalizers, DeployFinalizer):
		return read, nil, nil // not ours to hold, or already let go
	case !deleting && !slices.Contains(read.Finalizers, DeployFinalizer):
		// Before any Fn call, so that no app can be deleted with a
		// member's Fn app unrecorded.
		if read, err = d.hub.SetFleetAppFinalizers(ctx, key.Namespace, key.Name, read.ResourceVersion,
			append(slices.Clone(read.Finalizers), DeployFinalizer)); err != nil {
			return nil, nil, err
		}
	}
	members, err := d.hub.ListMemberClusters(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Times in the status have whole seconds on the wire: a step that
	// changes nothing must build an equal status, so it writes nothing.
	now := d.now().Truncate(time.Second)
	if intent := intents(read, members.Items, now); intent != nil {
		if read, err = d.hub.ApplyFleetAppStatus(ctx, key.Namespace, key.Name, read.ResourceVersion, DeployManager, intent); err != nil {
			return nil, nil, err
		}
	}
	r := d.converge(ctx, read, members.Items, now)
	have := deployStatus(&read.Status)
	// From the condition read, so that its transition time stays while
	// its status does.
	want := v1alpha1.FleetAppStatus{Deployments: r.records, Conditions: slices.Clone(have.Conditions)}
	setCondition(&want.Conditions, v1alpha1.AppDeployed, r.ok(), r.reason(deleting), r.message(&read.Spec.App), read.Generation, now)

	app = read
	if !equality.Semantic.DeepEqual(have, want) {
		if app, err = d.hub.ApplyFleetAppStatus(ctx, key.Namespace, key.Name, read.ResourceVersion, DeployManager, &want); err != nil {
			return nil, nil, err
		}
	}
	if deleting && len(r.records) == 0 {
		kept := slices.DeleteFunc(slices.Clone(app.Finalizers), func(f string) bool { return f == DeployFinalizer })
		left, err := d.hub.SetFleetAppFinalizers(ctx, key.Namespace, key.Name, app.ResourceVersion, kept)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, nil, err
		}
		d.log.Info("Fn app removed from every member; FleetApp let go", "app", key.String())
		if err != nil || len(kept) == 0 {
			return nil, nil, nil // the hub deletes it now
		}
		return left, nil, nil // another finalizer holds it still
	}
	return app, r.err(), nil
}

// intents is deploy's status with a Deploying record for every placed,
// serving member that has no record at its current endpoint: written
// before the Fn calls, so that no Fn app is ever put where no record
// points. nil when every such member has one (the common case: the extra
// write is paid once per member and app, not per call).
func intents(app *v1alpha1.FleetApp, members []v1alpha1.MemberCluster, now time.Time) *v1alpha1.FleetAppStatus {
	if app.DeletionTimestamp != nil {
		return nil
	}
	st := deployStatus(&app.Status)
	st.Deployments = slices.Clone(st.Deployments)
	added := false
	for _, pl := range app.Status.Placement {
		i := slices.IndexFunc(members, func(mc v1alpha1.MemberCluster) bool { return mc.Name == pl.Cluster })
		if i < 0 || !serving(&members[i]) {
			continue
		}
		endpoint := members[i].Status.FnEndpoint
		j := slices.IndexFunc(st.Deployments, func(rec v1alpha1.AppDeployment) bool { return rec.Cluster == pl.Cluster })
		switch {
		case j < 0:
			st.Deployments = append(st.Deployments, v1alpha1.AppDeployment{
				Cluster: pl.Cluster, Endpoint: endpoint, State: v1alpha1.DeploymentDeploying, Time: metav1.NewTime(now),
			})
		case st.Deployments[j].Endpoint != endpoint:
			rec := st.Deployments[j]
			rec.Endpoint, rec.State, rec.Message, rec.Time = endpoint, v1alpha1.DeploymentDeploying, "", metav1.NewTime(now)
			st.Deployments[j] = rec
		default:
			continue
		}
		added = true
	}
	if !added {
		return nil
	}
	slices.SortFunc(st.Deployments, func(a, b v1alpha1.AppDeployment) int { return strings.Compare(a.Cluster, b.Cluster) })
	return &st
}

// deployStatus is the part of st that deploy owns.
func deployStatus(st *v1alpha1.FleetAppStatus) v1alpha1.FleetAppStatus {
	out := v1alpha1.FleetAppStatus{Deployments: st.Deployments}
	if c := apimeta.FindStatusCondition(st.Conditions, v1alpha1.AppDeployed); c != nil {
		out.Conditions = []metav1.Condition{*c}
	}
	return out
}

// round is what one pass did on the members.
type round struct {
	records  []v1alpha1.AppDeployment // sorted by cluster
	placed   []string
	deployed []string         // placed, and deployed at the current generation
	waiting  []string         // placed, not serving yet
	failed   map[string]error // cluster -> its deploy's error
	removing map[string]error // cluster -> its removal's error
	// dnsHeld: no longer placed, kept while DNS may still send callers
	// there (cluster -> when the hold ends; zero: names still answer).
	dnsHeld map[string]time.Time
}

func (r *round) ok() bool {
	return len(r.placed) > 0 && len(r.deployed) == len(r.placed)
}

func (r *round) reason(deleting bool) string {
	switch {
	case deleting || len(r.placed) == 0 && len(r.removing)+len(r.dnsHeld) > 0:
		return "Removing"
	case r.ok():
		return "Deployed"
	case len(r.failed) > 0:
		return "DeployFailed"
	default:
		return "Waiting"
	}
}

func (r *round) message(app *v1alpha1.FnApp) string {
	var parts []string
	switch {
	case r.ok():
		parts = append(parts, fmt.Sprintf("Fn app %s deployed on %d clusters (%s)", app.Name, len(r.deployed), strings.Join(r.deployed, ", ")))
	case len(r.placed) == 0 && len(r.removing)+len(r.dnsHeld) == 0:
		parts = append(parts, "not placed on any cluster yet")
	}
	if len(r.waiting) > 0 {
		parts = append(parts, "waits for "+strings.Join(r.waiting, ", ")+" to serve Fn (Ready with an fnEndpoint)")
	}
	for _, c := range sortedKeys(r.failed) {
		parts = append(parts, c+": "+r.failed[c].Error())
	}
	for _, c := range sortedKeys(r.removing) {
		parts = append(parts, "removing from "+c+": "+r.removing[c].Error())
	}
	for _, c := range sortedKeys(r.dnsHeld) {
		if until := r.dnsHeld[c]; until.IsZero() {
			parts = append(parts, "kept on "+c+" while its DNS names still answer with it")
		} else {
			parts = append(parts, "kept on "+c+" until "+until.UTC().Format(time.RFC3339)+", a TTL after its DNS names stopped answering with it")
		}
	}
	return strings.Join(parts, "; ")
}

// err is what failed on members' Fn, for the caller to retry.
func (r *round) err() error {
	var errs []error
	for _, c := range sortedKeys(r.failed) {
		errs = append(errs, fmt.Errorf("%s: %w", c, r.failed[c]))
	}
	for _, c := range sortedKeys(r.removing) {
		errs = append(errs, fmt.Errorf("remove from %s: %w", c, r.removing[c]))
	}
	return errors.Join(errs...)
}

// converge deploys app to its placed members that lack its current
// generation and removes it from the members it is recorded on but no
// longer placed (all of them when it is being deleted), and returns the
// records as they now stand.
func (d *Deploy) converge(ctx context.Context, app *v1alpha1.FleetApp, members []v1alpha1.MemberCluster, now time.Time) *round {
	byName := make(map[string]*v1alpha1.MemberCluster, len(members))
	for i := range members {
		byName[members[i].Name] = &members[i]
	}
	records := make(map[string]v1alpha1.AppDeployment, len(app.Status.Deployments))
	for _, rec := range app.Status.Deployments {
		records[rec.Cluster] = rec
	}
	r := &round{failed: map[string]error{}, removing: map[string]error{}, dnsHeld: map[string]time.Time{}}
	if app.DeletionTimestamp == nil {
		for _, pl := range app.Status.Placement {
			r.placed = append(r.placed, pl.Cluster)
		}
	}
	key := app.Namespace + "/" + app.Name

	for _, cluster := range r.placed {
		mc := byName[cluster]
		rec, had := records[cluster]
		switch {
		case mc == nil || !serving(mc):
			// Nothing to reach yet; its change calls deploy again.
			r.waiting = append(r.waiting, cluster)
			continue
		case had && rec.State == v1alpha1.DeploymentDeployed && rec.Generation == app.Generation && rec.Endpoint == mc.Status.FnEndpoint:
			r.deployed = append(r.deployed, cluster)
			continue
		}
		endpoint := mc.Status.FnEndpoint
		id, err := d.fn.Apply(ctx, endpoint, &app.Spec.App)
		next := v1alpha1.AppDeployment{Cluster: cluster, Endpoint: endpoint, AppID: id, Generation: app.Generation, State: v1alpha1.DeploymentDeployed}
		if err != nil {
			next.AppID, next.State, next.Message = rec.AppID, v1alpha1.DeploymentFailed, err.Error()
			r.failed[cluster] = err
			d.log.Warn("deploy Fn app", "app", key, "cluster", cluster, "endpoint", endpoint, "err", err)
		} else {
			r.deployed = append(r.deployed, cluster)
			d.log.Info("Fn app deployed", "app", key, "fnApp", app.Spec.App.Name, "cluster", cluster, "endpoint", endpoint, "generation", app.Generation)
		}
		records[cluster] = stamp(rec, next, now)
	}

	for cluster, rec := range records {
		if slices.Contains(r.placed, cluster) {
			continue
		}
		if byName[cluster] == nil || rec.Endpoint == "" {
			delete(records, cluster) // the member is gone: nothing to reach
			continue
		}
		// Callers may still be sent there: the app's names answer with
		// the member, or stopped less than a TTL ago.
		if held, until := DNSHoldsRemoval(app, cluster, now); held {
			r.dnsHeld[cluster] = until
			continue
		}
		if err := d.fn.Remove(ctx, rec.Endpoint, app.Spec.App.Name); err != nil {
			next := rec
			next.State, next.Message = v1alpha1.DeploymentRemoving, err.Error()
			records[cluster] = stamp(rec, next, now)
			r.removing[cluster] = err
			d.log.Warn("remove Fn app", "app", key, "cluster", cluster, "endpoint", rec.Endpoint, "err", err)
			continue
		}
		delete(records, cluster)
		d.log.Info("Fn app removed", "app", key, "fnApp", app.Spec.App.Name, "cluster", cluster, "endpoint", rec.Endpoint)
	}

	for _, c := range sortedKeys(records) {
		r.records = append(r.records, records[c])
	}
	return r
}

// serving: the member's Fn can take a deploy.
func serving(mc *v1alpha1.MemberCluster) bool {
	p := mc.Status.Phase
	return mc.Status.FnEndpoint != "" && (p == v1alpha1.PhaseReady || p == v1alpha1.PhaseScaling)
}

// stamp is next with the time of the last change: was's when nothing but
// the time differs, now otherwise.
func stamp(was, next v1alpha1.AppDeployment, now time.Time) v1alpha1.AppDeployment {
	next.Time = was.Time
	if !equality.Semantic.DeepEqual(was, next) {
		next.Time = metav1.NewTime(now)
	}
	return next
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// keyLocks is a mutex per key, held only while some call uses it.
type keyLocks struct {
	mu   sync.Mutex
	held map[types.NamespacedName]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int
}

// lock takes key's mutex and returns its release.
func (k *keyLocks) lock(key types.NamespacedName) (unlock func()) {
	k.mu.Lock()
	if k.held == nil {
		k.held = map[types.NamespacedName]*keyLock{}
	}
	l := k.held[key]
	if l == nil {
		l = &keyLock{}
		k.held[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.held, key)
		}
		k.mu.Unlock()
	}
}
