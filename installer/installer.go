// Package installer installs, upgrades and uninstalls the Helm charts embedded
// in fnfleet (package charts) on any Kubernetes cluster, with the Helm SDK.
//
// Apply is install-or-upgrade: idempotent (the same chart and values make no
// new revision), atomic (a failed install is removed, a failed upgrade rolled
// back) and waits until the release's workloads are ready. Releases are stored
// as Helm stores them (Secrets in the release namespace), so the helm CLI sees
// them too.
package installer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/fnfleet/fnfleet/charts"
)

// Defaults for the fields of Release left empty.
const (
	DefaultReleaseName = "fn"
	DefaultNamespace   = "fn"
	DefaultTimeout     = 5 * time.Minute
	// maxHistory bounds the release Secrets Helm keeps per release.
	maxHistory = 10
)

// Release is what to install where in the cluster.
type Release struct {
	// Chart names an embedded chart; empty means charts.Fn.
	Chart string
	// Name is the Helm release name; empty means DefaultReleaseName.
	Name string
	// Namespace is created when missing; empty means DefaultNamespace.
	Namespace string
	// Values override the chart's values.yaml (as helm's -f and --set do).
	Values map[string]any
	// Timeout bounds the wait for readiness (and the rollback after a
	// failure); zero means DefaultTimeout.
	Timeout time.Duration
}

func (r Release) withDefaults() Release {
	if r.Chart == "" {
		r.Chart = charts.Fn
	}
	if r.Name == "" {
		r.Name = DefaultReleaseName
	}
	if r.Namespace == "" {
		r.Namespace = DefaultNamespace
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	if r.Values == nil {
		r.Values = map[string]any{}
	}
	return r
}

func (r Release) validate() error {
	if len(r.Name) > 53 || !action.ValidName.MatchString(r.Name) {
		return fmt.Errorf("release name %q is invalid: use at most 53 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit", r.Name)
	}
	if !action.ValidName.MatchString(r.Namespace) || len(r.Namespace) > 63 {
		return fmt.Errorf("namespace %q is invalid: use at most 63 lower-case letters, digits and '-'", r.Namespace)
	}
	if r.Timeout < 0 {
		return fmt.Errorf("timeout %s is negative", r.Timeout)
	}
	return nil
}

// Outcome says what a call changed.
type Outcome string

// Outcomes of Apply and Uninstall.
const (
	Installed    Outcome = "installed"
	Upgraded     Outcome = "upgraded"
	Unchanged    Outcome = "unchanged"
	Uninstalled  Outcome = "uninstalled"
	NotInstalled Outcome = "not installed"
)

// Result reports what a call did.
type Result struct {
	Outcome   Outcome
	Release   string
	Namespace string
	// Revision is the release's revision after the call (0 when none is left).
	Revision int
	// Notes is the chart's NOTES.txt rendered for this release.
	Notes string
	// Recovered says what Apply undid before its own work: a release left
	// pending by an interrupted install, upgrade or rollback (empty: none).
	Recovered string
	Elapsed   time.Duration
}

// Installer runs Helm actions. It holds no per-cluster state: one Installer
// may serve many clusters at once.
type Installer struct {
	log *slog.Logger
	// leaseDuration is how long the release's lease outlives its last
	// renewal (defaultLeaseDuration; tests shorten it).
	leaseDuration time.Duration
}

// New returns an Installer reporting progress to log (nil: slog.Default()).
func New(log *slog.Logger) *Installer {
	if log == nil {
		log = slog.Default()
	}
	return &Installer{log: log, leaseDuration: defaultLeaseDuration}
}

// Apply installs rel on the target cluster, upgrades it when it exists with a
// different chart or values, and does nothing when it already matches. It
// returns once the release's workloads are ready, or with an error after the
// failed attempt has been undone.
//
// Apply holds a Lease on the release while it runs (see lease.go): a second
// Apply of the same release meanwhile fails with ErrInProgress. A release
// left pending by a process that died mid-operation is recovered first (see
// recoverPending), and Result.Recovered says how.
func (in *Installer) Apply(ctx context.Context, target Target, rel Release) (Result, error) {
	start := time.Now()
	rel = rel.withDefaults()
	if err := rel.validate(); err != nil {
		return Result{}, err
	}
	log := in.log.With("release", rel.Name, "namespace", rel.Namespace)
	ch, err := loadChart(rel.Chart)
	if err != nil {
		return Result{}, err
	}
	rc, err := target.restConfig()
	if err != nil {
		return Result{}, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return Result{}, fmt.Errorf("client for %s/%s: %w", rel.Namespace, rel.Name, err)
	}
	if err := ensureNamespace(ctx, cs, rel); err != nil {
		return Result{}, err
	}
	// A lost lease ends this call's Helm waits (see lease.go).
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	held, prev, err := acquireLease(ctx, cs, rel.Namespace, rel.Name, in.leaseDuration, log, cancel)
	if err != nil {
		return Result{}, fmt.Errorf("apply %s/%s: %w", rel.Namespace, rel.Name, err)
	}
	defer held.release(ctx)
	cfg, err := in.configure(ctx, rc, rel.Namespace, log)
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	res, err := in.apply(ctx, cfg, held, prev, ch, rel, log, start)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%w)", err, cause)
		}
		return Result{}, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// apply is Apply holding the release's lease: install, recover, compare,
// upgrade.
func (in *Installer) apply(ctx context.Context, cfg *action.Configuration, held *lease, prev *orphan, ch *chart.Chart, rel Release, log *slog.Logger, start time.Time) (Result, error) {
	last, err := cfg.Releases.Last(rel.Name)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return Result{}, fmt.Errorf("read release %s/%s: %w", rel.Namespace, rel.Name, err)
	}
	var recovered string
	if err == nil && last.Info.Status.IsPending() {
		if recovered, err = in.recoverPending(ctx, cfg, held, rel, last, prev, log); err != nil {
			return Result{}, err
		}
		last, err = cfg.Releases.Last(rel.Name)
		if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
			return Result{}, fmt.Errorf("read release %s/%s after recovery: %w", rel.Namespace, rel.Name, err)
		}
	}
	var res Result
	switch {
	case errors.Is(err, driver.ErrReleaseNotFound):
		if err := held.writing(ctx, 1); err != nil {
			return Result{}, err
		}
		res, err = in.install(ctx, cfg, ch, rel, log, start)
	case last.Info.Status == release.StatusDeployed:
		same, cerr := in.unchanged(ctx, cfg, ch, rel, last)
		if cerr != nil {
			return Result{}, cerr
		}
		if same {
			log.Info("release is up to date", "revision", last.Version)
			res = Result{Outcome: Unchanged, Release: rel.Name, Namespace: rel.Namespace,
				Revision: last.Version, Notes: notes(last)}
			break
		}
		fallthrough
	default:
		if err := held.writing(ctx, last.Version+1); err != nil {
			return Result{}, err
		}
		res, err = in.upgrade(ctx, cfg, ch, rel, last, log, start)
	}
	if err != nil {
		return Result{}, err
	}
	res.Recovered = recovered
	return res, nil
}

// ensureNamespace creates the release namespace when it is missing, so that
// the lease can live there. Values are checked first (by rendering, as
// Render does), so that refused values leave no namespace behind.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface, rel Release) error {
	_, err := cs.CoreV1().Namespaces().Get(ctx, rel.Namespace, metav1.GetOptions{})
	switch {
	case err == nil, apierrors.IsForbidden(err):
		return nil // Forbidden: Helm tries to create it, as it always did
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("read namespace %s: %w", rel.Namespace, err)
	}
	if _, _, err := Render(ctx, rel); err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: rel.Namespace, Labels: map[string]string{"name": rel.Namespace}}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", rel.Namespace, err)
	}
	return nil
}

func (in *Installer) install(ctx context.Context, cfg *action.Configuration, ch *chart.Chart, rel Release, log *slog.Logger, start time.Time) (Result, error) {
	act := action.NewInstall(cfg)
	act.ReleaseName = rel.Name
	act.Namespace = rel.Namespace
	act.CreateNamespace = true
	act.Atomic = true // implies Wait: a failed install is uninstalled
	act.Wait = true
	act.Timeout = rel.Timeout
	log.Info("installing", "chart", ch.Metadata.Name, "version", ch.Metadata.Version, "timeout", rel.Timeout)
	r, err := act.RunWithContext(ctx, ch, rel.Values)
	if err != nil {
		return Result{}, fmt.Errorf("install %s/%s (chart %s %s): %w", rel.Namespace, rel.Name, ch.Metadata.Name, ch.Metadata.Version, err)
	}
	elapsed := time.Since(start)
	log.Info("installed and ready", "revision", r.Version, "elapsed", elapsed.Round(time.Millisecond))
	return Result{Outcome: Installed, Release: rel.Name, Namespace: rel.Namespace,
		Revision: r.Version, Notes: notes(r), Elapsed: elapsed}, nil
}

func (in *Installer) upgrade(ctx context.Context, cfg *action.Configuration, ch *chart.Chart, rel Release, last *release.Release, log *slog.Logger, start time.Time) (Result, error) {
	act := newUpgrade(cfg, rel)
	act.Atomic = true // implies Wait: a failed upgrade is rolled back
	act.Wait = true
	act.CleanupOnFail = true
	log.Info("upgrading", "chart", ch.Metadata.Name, "version", ch.Metadata.Version,
		"from_revision", last.Version, "timeout", rel.Timeout)
	r, err := act.RunWithContext(ctx, rel.Name, ch, rel.Values)
	if err != nil {
		return Result{}, fmt.Errorf("upgrade %s/%s from revision %d: %w", rel.Namespace, rel.Name, last.Version, err)
	}
	elapsed := time.Since(start)
	log.Info("upgraded and ready", "revision", r.Version, "elapsed", elapsed.Round(time.Millisecond))
	return Result{Outcome: Upgraded, Release: rel.Name, Namespace: rel.Namespace,
		Revision: r.Version, Notes: notes(r), Elapsed: elapsed}, nil
}

func newUpgrade(cfg *action.Configuration, rel Release) *action.Upgrade {
	act := action.NewUpgrade(cfg)
	act.Namespace = rel.Namespace
	act.Timeout = rel.Timeout
	act.MaxHistory = maxHistory
	return act
}

// unchanged renders what an upgrade would deploy (a client-side dry run: the
// same code path as the real upgrade, nothing is written) and compares it
// with the deployed revision: same chart version, same values, same manifest.
func (in *Installer) unchanged(ctx context.Context, cfg *action.Configuration, ch *chart.Chart, rel Release, last *release.Release) (bool, error) {
	if last.Chart == nil || last.Chart.Metadata == nil ||
		last.Chart.Metadata.Name != ch.Metadata.Name || last.Chart.Metadata.Version != ch.Metadata.Version {
		return false, nil
	}
	same, err := sameValues(last.Config, rel.Values)
	if err != nil || !same {
		return false, err
	}
	act := newUpgrade(cfg, rel)
	act.DryRun = true
	act.DryRunOption = "client"
	next, err := act.RunWithContext(ctx, rel.Name, ch, rel.Values)
	if err != nil {
		return false, fmt.Errorf("render %s/%s to compare with revision %d: %w", rel.Namespace, rel.Name, last.Version, err)
	}
	if next.Manifest != last.Manifest {
		return false, nil
	}
	return in.allPresent(cfg, last)
}

// allPresent reports whether every object of the deployed revision still
// exists. One deleted by hand makes the release drift from its record; an
// upgrade then recreates it.
func (in *Installer) allPresent(cfg *action.Configuration, last *release.Release) (bool, error) {
	resources, err := cfg.KubeClient.Build(bytes.NewBufferString(last.Manifest), false)
	if err != nil {
		return false, fmt.Errorf("read the objects of revision %d: %w", last.Version, err)
	}
	for _, info := range resources {
		err := info.Get()
		switch {
		case apierrors.IsNotFound(err):
			in.log.Info("object of the release is missing; upgrading to recreate it",
				"release", last.Name, "kind", info.Mapping.GroupVersionKind.Kind, "name", info.Name)
			return false, nil
		case err != nil:
			return false, fmt.Errorf("get %s %s/%s: %w", info.Mapping.GroupVersionKind.Kind, info.Namespace, info.Name, err)
		}
	}
	return true, nil
}

// sameValues compares user-supplied values by their JSON form: values read
// back from a release Secret carry float64 numbers where the caller's may hold
// ints, and JSON writes maps with sorted keys.
func sameValues(a, b map[string]any) (bool, error) {
	ja, err := json.Marshal(emptyIfNil(a))
	if err != nil {
		return false, fmt.Errorf("encode deployed values: %w", err)
	}
	jb, err := json.Marshal(emptyIfNil(b))
	if err != nil {
		return false, fmt.Errorf("encode values: %w", err)
	}
	return bytes.Equal(ja, jb), nil
}

func emptyIfNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func notes(r *release.Release) string {
	if r == nil || r.Info == nil {
		return ""
	}
	return r.Info.Notes
}

// Uninstall removes the release and everything it created, and waits until
// those objects are gone. The namespace stays (Helm does not own it). A
// release that does not exist is not an error: the outcome says so.
func (in *Installer) Uninstall(ctx context.Context, target Target, rel Release) (Result, error) {
	start := time.Now()
	rel = rel.withDefaults()
	if err := rel.validate(); err != nil {
		return Result{}, err
	}
	log := in.log.With("release", rel.Name, "namespace", rel.Namespace)
	rc, err := target.restConfig()
	if err != nil {
		return Result{}, err
	}
	cfg, err := in.configure(ctx, rc, rel.Namespace, log)
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if _, err := cfg.Releases.Last(rel.Name); errors.Is(err, driver.ErrReleaseNotFound) {
		log.Info("release is not installed")
		return Result{Outcome: NotInstalled, Release: rel.Name, Namespace: rel.Namespace, Elapsed: time.Since(start)}, nil
	} else if err != nil {
		return Result{}, fmt.Errorf("read release %s/%s: %w", rel.Namespace, rel.Name, err)
	}
	act := action.NewUninstall(cfg)
	act.Wait = true
	act.Timeout = rel.Timeout
	act.DeletionPropagation = "foreground"
	log.Info("uninstalling", "timeout", rel.Timeout)
	// Helm's Uninstall takes no context; run it aside so that a cancelled
	// context returns promptly (Helm finishes or times out on its own).
	type outcome struct{ err error }
	done := make(chan outcome, 1)
	go func() {
		_, err := act.Run(rel.Name)
		done <- outcome{err}
	}()
	select {
	case <-ctx.Done():
		return Result{}, fmt.Errorf("uninstall %s/%s: %w", rel.Namespace, rel.Name, ctx.Err())
	case o := <-done:
		if o.err != nil {
			return Result{}, fmt.Errorf("uninstall %s/%s: %w", rel.Namespace, rel.Name, o.err)
		}
	}
	elapsed := time.Since(start)
	log.Info("uninstalled", "elapsed", elapsed.Round(time.Millisecond))
	return Result{Outcome: Uninstalled, Release: rel.Name, Namespace: rel.Namespace, Elapsed: elapsed}, nil
}

// configure builds a Helm action configuration for one call: clients for the
// target (whose waits end with ctx), the Secret storage driver in the
// release namespace, Helm's log routed to slog; every write of the objects
// and of the release records fenced by the call's lease (fence.go).
func (in *Installer) configure(ctx context.Context, rc *rest.Config, namespace string, log *slog.Logger) (*action.Configuration, error) {
	getter := newRESTGetter(rc, namespace)
	cfg := new(action.Configuration)
	if err := cfg.Init(getter, namespace, "secret", helmLog(log)); err != nil {
		return nil, fmt.Errorf("set up Helm for namespace %s: %w", namespace, err)
	}
	kc, ok := cfg.KubeClient.(*kube.Client)
	if !ok {
		return nil, fmt.Errorf("set up Helm for namespace %s: unexpected Kubernetes client %T", namespace, cfg.KubeClient)
	}
	kc.Namespace = namespace
	cfg.KubeClient = &waitingClient{Client: kc, ctx: ctx, log: log}
	cfg.Releases.Driver = fencedDriver{Driver: cfg.Releases.Driver, ctx: ctx}
	return cfg, nil
}

// helmLog adapts Helm's printf-style debug log to slog. Helm logs every step
// (and every readiness poll while waiting) at this level.
func helmLog(log *slog.Logger) action.DebugLog {
	return func(format string, v ...any) {
		log.Debug(fmt.Sprintf(format, v...), "source", "helm")
	}
}
