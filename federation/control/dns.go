package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
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
	"github.com/fnfleet/fnfleet/federation/dns"
	dnshealth "github.com/fnfleet/fnfleet/federation/dns/health"
	"github.com/fnfleet/fnfleet/federation/dns/registry"
)

// Names the dns shell writes under.
const (
	// DNSManager is the dns shell's field manager: it owns status.dns and
	// the DNSReady condition of FleetApps, and DNSZone status.
	DNSManager = "fnfleet-dns"
	// DNSFinalizer holds a FleetApp with spec.dns until its names are gone
	// from its zone.
	DNSFinalizer = "fnfleet.dev/dns"
)

// zoneStatusEvery is how often a zone's status is rewritten when nothing
// in it changed, so that lastSyncTime shows the dns function alive
// without a write on every 2-second tick.
const zoneStatusEvery = time.Minute

// DNSHub is the part of the hub the dns shell reads and writes.
type DNSHub interface {
	ListFleetApps(ctx context.Context) (*v1alpha1.FleetAppList, error)
	ListMemberClusters(ctx context.Context) (*v1alpha1.MemberClusterList, error)
	ListDNSZones(ctx context.Context) (*v1alpha1.DNSZoneList, error)
	ApplyFleetAppStatus(ctx context.Context, namespace, name, resourceVersion, manager string, st *v1alpha1.FleetAppStatus) (*v1alpha1.FleetApp, error)
	SetFleetAppFinalizers(ctx context.Context, namespace, name, resourceVersion string, finalizers []string) (*v1alpha1.FleetApp, error)
	ApplyDNSZoneStatus(ctx context.Context, name, resourceVersion, manager string, st *v1alpha1.DNSZoneStatus) (*v1alpha1.DNSZone, error)
}

// DNSHealth says which members are healthy for which app;
// dnshealth.Checker is one.
type DNSHealth interface {
	Check(ctx context.Context, targets []dnshealth.Target, now time.Time) []dnshealth.Verdict
}

// ZoneProvider builds the provider of a zone (reading its Secrets).
type ZoneProvider func(ctx context.Context, zone *v1alpha1.DNSZone) (dns.Provider, error)

// DNSConfig is what a DNS shell works with.
type DNSConfig struct {
	Hub      DNSHub
	Health   DNSHealth
	Provider ZoneProvider
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// DNS is the shell of the dns function. Each Reconcile is level-based:
// it reads every DNSZone, FleetApp and MemberCluster, probes the members
// serving apps with names, plans every name (dns.Plan), writes each
// zone's differences through its registry, and records what each app's
// names answer (status.dns, DNSReady) and each zone's sync (its status).
type DNS struct {
	hub      DNSHub
	health   DNSHealth
	provider ZoneProvider
	now      func() time.Time
	log      *slog.Logger

	// mu makes Reconciles take turns: each is a whole pass over the
	// fleet, and the registries' caches assume one writer per process.
	mu    sync.Mutex
	zones map[string]*zoneWriter // by DNSZone name
}

// zoneWriter is a zone's registry, kept while the zone's spec is the one
// it was built for.
type zoneWriter struct {
	uid        types.UID
	generation int64
	registry   *registry.Registry
	provider   dns.Provider
}

// NewDNS returns the dns shell for cfg.
func NewDNS(cfg DNSConfig) (*DNS, error) {
	if cfg.Hub == nil || cfg.Health == nil || cfg.Provider == nil {
		return nil, errors.New("dns shell: a hub, a health checker and a zone provider are required")
	}
	d := &DNS{hub: cfg.Hub, health: cfg.Health, provider: cfg.Provider, now: cfg.Now, log: cfg.Logger, zones: map[string]*zoneWriter{}}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	return d, nil
}

// DNSSummary is what one Reconcile did.
type DNSSummary struct {
	// Apps counts the apps with names; Ready those whose DNSReady is True.
	Apps  int `json:"apps"`
	Ready int `json:"ready"`
	// Written counts the record sets written to zones.
	Written int `json:"written"`
	// Probed counts the (app, member) pairs probed.
	Probed int `json:"probed"`
	// Failed maps each zone that could not be written to why.
	Failed map[string]string `json:"failed,omitempty"`
}

// Reconcile does one pass. Its error names the zones or apps it could not
// bring to their plan; the others are done.
func (d *DNS) Reconcile(ctx context.Context) (DNSSummary, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var sum DNSSummary
	zones, err := d.hub.ListDNSZones(ctx)
	if err != nil {
		return sum, err
	}
	apps, err := d.hub.ListFleetApps(ctx)
	if err != nil {
		return sum, err
	}
	members, err := d.hub.ListMemberClusters(ctx)
	if err != nil {
		return sum, err
	}
	// Wire times have whole seconds: an unchanged pass builds equal
	// statuses and writes nothing.
	now := d.now().Truncate(time.Second)

	var errs []error
	// The finalizer comes before a name is written, so no app can be
	// deleted with names left in a zone: an app it could not be added to
	// waits for the next pass.
	fenced := apps.Items[:0]
	for i := range apps.Items {
		app := apps.Items[i]
		if app.Spec.DNS != nil && app.DeletionTimestamp == nil && !slices.Contains(app.Finalizers, DNSFinalizer) {
			updated, err := d.hub.SetFleetAppFinalizers(ctx, app.Namespace, app.Name, app.ResourceVersion, append(slices.Clone(app.Finalizers), DNSFinalizer))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			app = *updated
		}
		fenced = append(fenced, app)
	}
	apps.Items = fenced

	byName := map[string]*v1alpha1.MemberCluster{}
	for i := range members.Items {
		byName[members.Items[i].Name] = &members.Items[i]
	}
	targets := probeTargets(apps.Items, members.Items)
	verdicts := d.health.Check(ctx, targets, now)
	sum.Probed = len(verdicts)
	in := planInput(zones.Items, apps.Items, byName, verdicts)

	in.Owners = map[string]string{}
	for _, w := range d.zones {
		maps.Copy(in.Owners, w.registry.Owners())
	}
	plan := dns.Plan(in)

	// Each zone's names, written through its registry.
	synced := map[string]registry.Result{}
	zoneErr := map[string]error{}
	for i := range zones.Items {
		z := &zones.Items[i]
		res, err := d.syncZone(ctx, z, plan, apps.Items, now)
		sum.Written += res.Written
		if err != nil {
			zoneErr[z.Name] = err
			errs = append(errs, fmt.Errorf("zone %s: %w", z.Name, err))
		}
		synced[z.Name] = res
		if err := d.writeZoneStatus(ctx, z, res, err, now); err != nil {
			errs = append(errs, err)
		}
	}
	for name := range d.zones {
		if !slices.ContainsFunc(zones.Items, func(z v1alpha1.DNSZone) bool { return z.Name == name }) {
			d.dropZone(name)
		}
	}

	// Each app's status, from its plan and its zone's sync.
	planned := map[string]*dns.AppPlan{}
	for i := range plan.Apps {
		planned[plan.Apps[i].App] = &plan.Apps[i]
	}
	for i := range apps.Items {
		app := &apps.Items[i]
		key := app.Namespace + "/" + app.Name
		p := planned[key]
		if p != nil {
			sum.Apps++
		}
		zone := ""
		switch {
		case p != nil:
			zone = p.Zone
		case app.Status.DNS != nil:
			zone = app.Status.DNS.Zone
		}
		if zoneErr[zone] != nil {
			continue // its names are unknown: keep the status it has
		}
		ready, err := d.writeAppStatus(ctx, app, p, synced, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ready {
			sum.Ready++
		}
	}
	if len(zoneErr) > 0 {
		sum.Failed = map[string]string{}
		for z, err := range zoneErr {
			sum.Failed[z] = err.Error()
		}
	}
	return sum, errors.Join(errs...)
}

// probeTargets are the (app, member) pairs to probe: every member an app
// with names is placed on, deployed to at its current endpoint, and
// serving. Vantage points are up to three other serving members.
func probeTargets(apps []v1alpha1.FleetApp, members []v1alpha1.MemberCluster) []dnshealth.Target {
	var serving []v1alpha1.MemberCluster
	for i := range members {
		if dnsServing(&members[i]) {
			serving = append(serving, members[i])
		}
	}
	var out []dnshealth.Target
	for i := range apps {
		app := &apps[i]
		if app.Spec.DNS == nil || app.DeletionTimestamp != nil {
			continue
		}
		for _, pl := range app.Status.Placement {
			j := slices.IndexFunc(serving, func(mc v1alpha1.MemberCluster) bool { return mc.Name == pl.Cluster })
			if j < 0 || !deployedAt(app, &serving[j]) {
				continue
			}
			url, err := dnshealth.ProbeURL(serving[j].Status.FnEndpoint, app.Spec)
			if err != nil {
				continue // no trigger to probe: planInput says why
			}
			t := dnshealth.Target{App: app.Namespace + "/" + app.Name, Cluster: pl.Cluster, URL: url, Answering: answering(app, pl.Cluster)}
			for _, v := range serving {
				if v.Name != pl.Cluster && len(t.Vantages) < 3 {
					t.Vantages = append(t.Vantages, dnshealth.Vantage{Cluster: v.Name, FnAPI: v.Status.FnEndpoint})
				}
			}
			out = append(out, t)
		}
	}
	return out
}

// dnsServing: the member may be in answers at all (Ready, not unhealthy,
// with an Fn endpoint to probe).
func dnsServing(mc *v1alpha1.MemberCluster) bool {
	return serving(mc) && !apimeta.IsStatusConditionFalse(mc.Status.Conditions, v1alpha1.ClusterHealthy)
}

// deployedAt: deploy recorded the app's current generation on mc's
// current endpoint.
func deployedAt(app *v1alpha1.FleetApp, mc *v1alpha1.MemberCluster) bool {
	return slices.ContainsFunc(app.Status.Deployments, func(rec v1alpha1.AppDeployment) bool {
		return rec.Cluster == mc.Name && rec.State == v1alpha1.DeploymentDeployed && rec.Endpoint == mc.Status.FnEndpoint
	})
}

// answering: the app's status says its names answer with cluster.
func answering(app *v1alpha1.FleetApp, cluster string) bool {
	m, ok := dnsMember(app, cluster)
	return ok && m.Answering
}

// dnsMember is cluster's entry in app's status.dns.members.
func dnsMember(app *v1alpha1.FleetApp, cluster string) (v1alpha1.DNSMemberStatus, bool) {
	if app.Status.DNS == nil {
		return v1alpha1.DNSMemberStatus{}, false
	}
	i := slices.IndexFunc(app.Status.DNS.Members, func(m v1alpha1.DNSMemberStatus) bool { return m.Cluster == cluster })
	if i < 0 {
		return v1alpha1.DNSMemberStatus{}, false
	}
	return app.Status.DNS.Members[i], true
}

// planInput is the planner's input: the zones, and each app with names
// with every member it is placed on or deployed to, serving or why not.
func planInput(zones []v1alpha1.DNSZone, apps []v1alpha1.FleetApp, byName map[string]*v1alpha1.MemberCluster, verdicts []dnshealth.Verdict) dns.Input {
	var in dns.Input
	for i := range zones {
		z := &zones[i]
		in.Zones = append(in.Zones, dns.Zone{Name: z.Name, Domain: z.Spec.Zone, TTL: uint32(max(z.Spec.TTL, 1)),
			Provider: string(z.Spec.Provider.Type), Capabilities: capabilities(&z.Spec.Provider)})
	}
	healthy := map[string]dnshealth.Verdict{}
	for _, v := range verdicts {
		healthy[v.App+"\x00"+v.Cluster] = v
	}
	for i := range apps {
		app := &apps[i]
		if app.Spec.DNS == nil || app.DeletionTimestamp != nil {
			continue // its names go (a deleted app's after this pass)
		}
		key := app.Namespace + "/" + app.Name
		a := dns.App{Key: key, DNS: *app.Spec.DNS}
		a.PreferredRegions = app.Spec.Placement.PreferredRegions
		clusters := map[string]int32{}
		for _, pl := range app.Status.Placement {
			clusters[pl.Cluster] = pl.Replicas
		}
		for _, rec := range app.Status.Deployments {
			if _, ok := clusters[rec.Cluster]; !ok {
				clusters[rec.Cluster] = 0
			}
		}
		for _, cluster := range sortedKeys(clusters) {
			m := dns.Member{Cluster: cluster, Replicas: clusters[cluster]}
			mc := byName[cluster]
			if mc != nil {
				m.Region, m.Zone = mc.Spec.Region, mc.Spec.Zone
				for _, in := range mc.Status.Ingress {
					if in.IP != "" {
						m.IPs = append(m.IPs, in.IP)
					}
					if in.Hostname != "" {
						m.Hostnames = append(m.Hostnames, in.Hostname)
					}
				}
			}
			m.Serving, m.Reason = memberServes(app, mc, cluster, healthy)
			a.Members = append(a.Members, m)
		}
		in.Apps = append(in.Apps, a)
	}
	return in
}

// memberServes says whether the member may be in the app's answers, and
// why not.
func memberServes(app *v1alpha1.FleetApp, mc *v1alpha1.MemberCluster, cluster string, healthy map[string]dnshealth.Verdict) (bool, string) {
	placed := slices.ContainsFunc(app.Status.Placement, func(pl v1alpha1.ClusterPlacement) bool { return pl.Cluster == cluster })
	switch {
	case !placed:
		return false, "NotPlaced"
	case mc == nil:
		return false, "ClusterGone"
	case !dnsServing(mc):
		return false, "ClusterNotServing"
	case !deployedAt(app, mc):
		return false, "NotDeployed"
	case len(mc.Status.Ingress) == 0:
		return false, "NoAddress"
	}
	v, ok := healthy[app.Namespace+"/"+app.Name+"\x00"+cluster]
	switch {
	case !ok:
		return false, "NoProbe"
	case !v.Healthy:
		return false, "ProbeFailed: " + v.Reason
	}
	return true, ""
}

func capabilities(p *v1alpha1.DNSProvider) dns.Capabilities {
	if p.Type == v1alpha1.DNSProviderExternalDNS && p.ExternalDNS != nil {
		return dns.Capabilities{Weighted: p.ExternalDNS.Weighted, Geo: p.ExternalDNS.Geo}
	}
	return dns.Capabilities{}
}

// syncZone writes zone z's part of the plan through its registry.
func (d *DNS) syncZone(ctx context.Context, z *v1alpha1.DNSZone, plan dns.Result, apps []v1alpha1.FleetApp, now time.Time) (registry.Result, error) {
	w, err := d.writer(ctx, z)
	if err != nil {
		return registry.Result{}, err
	}
	var want []registry.Name
	byName := map[string]int{}
	for _, p := range plan.Apps {
		if p.Zone != z.Name {
			continue
		}
		if p.Reason == dns.ReasonNoHealthyMember {
			// No member serves: the name answers nothing for now, and its
			// ownership record stays, so the name is still the app's when
			// a member is back.
			byName[p.Name] = len(want)
			want = append(want, registry.Name{Name: p.Name, App: p.App, TTL: p.TTL})
		}
		for _, rec := range p.Records {
			i, ok := byName[rec.Name]
			if !ok {
				i = len(want)
				byName[rec.Name] = i
				want = append(want, registry.Name{Name: rec.Name, App: p.App, TTL: p.TTL})
			}
			want[i].Records = append(want[i].Records, rec)
		}
	}
	// Names the apps' statuses list in this zone: what a cold registry
	// that cannot list the zone reads, so no name of ours is forgotten.
	var known []string
	for i := range apps {
		if st := apps[i].Status.DNS; st != nil && st.Zone == z.Name {
			for _, n := range st.Names {
				known = append(known, n.Name)
			}
		}
	}
	res, err := w.registry.Sync(ctx, want, known, now)
	if err != nil && !errors.Is(err, dns.ErrConflict) {
		// Unknown what the provider holds, or its settings (a Secret)
		// changed: build it again on the next pass.
		d.dropZone(z.Name)
	}
	if res.Written > 0 {
		d.log.Info("dns zone written", "zone", z.Name, "recordSets", res.Written, "names", res.Names)
	}
	return res, err
}

// dropZone forgets zone name's writer, closing its provider's
// connections (coredns keeps an etcd client).
func (d *DNS) dropZone(name string) {
	w := d.zones[name]
	if w == nil {
		return
	}
	delete(d.zones, name)
	if c, ok := w.provider.(io.Closer); ok {
		if err := c.Close(); err != nil {
			d.log.Warn("close a DNS provider", "zone", name, "err", err)
		}
	}
}

// writer is z's registry, built when z is new or its spec changed.
func (d *DNS) writer(ctx context.Context, z *v1alpha1.DNSZone) (*zoneWriter, error) {
	if w := d.zones[z.Name]; w != nil && w.uid == z.UID && w.generation == z.Generation {
		return w, nil
	}
	d.dropZone(z.Name)
	p, err := d.provider(ctx, z)
	if err != nil {
		return nil, err
	}
	reg, err := registry.New(registry.Config{Provider: p, Owner: z.Spec.OwnerID, Logger: d.log.With("zone", z.Name)})
	if err != nil {
		return nil, err
	}
	w := &zoneWriter{uid: z.UID, generation: z.Generation, registry: reg, provider: p}
	d.zones[z.Name] = w
	return w, nil
}

// writeZoneStatus records the zone's sync: written when its counts or
// condition change, or lastSyncTime is older than zoneStatusEvery.
func (d *DNS) writeZoneStatus(ctx context.Context, z *v1alpha1.DNSZone, res registry.Result, syncErr error, now time.Time) error {
	want := v1alpha1.DNSZoneStatus{Names: int32(res.Names), Records: int32(res.Records), LastSyncTime: z.Status.LastSyncTime,
		Conditions: slices.Clone(z.Status.Conditions), ObservedGeneration: z.Generation}
	if syncErr == nil {
		setCondition(&want.Conditions, v1alpha1.ZoneReady, true, "Synced", fmt.Sprintf("%d names, %d record sets", res.Names, res.Records), z.Generation, now)
	} else {
		want.Names, want.Records = z.Status.Names, z.Status.Records
		setCondition(&want.Conditions, v1alpha1.ZoneReady, false, "SyncFailed", syncErr.Error(), z.Generation, now)
	}
	fresh := want.LastSyncTime != nil && now.Sub(want.LastSyncTime.Time) < zoneStatusEvery
	if syncErr == nil && (!fresh || !equality.Semantic.DeepEqual(z.Status, want)) {
		t := metav1.NewTime(now)
		want.LastSyncTime = &t
	}
	if equality.Semantic.DeepEqual(z.Status, want) {
		return nil
	}
	if _, err := d.hub.ApplyDNSZoneStatus(ctx, z.Name, z.ResourceVersion, DNSManager, &want); err != nil && !apierrors.IsConflict(err) {
		return err
	}
	return nil
}

// writeAppStatus records what app's names answer (status.dns, DNSReady)
// and lets a deleted app go once its names are gone. p is nil for an app
// without names (or being deleted): what it had is cleared.
func (d *DNS) writeAppStatus(ctx context.Context, app *v1alpha1.FleetApp, p *dns.AppPlan, synced map[string]registry.Result, now time.Time) (bool, error) {
	have := dnsStatus(&app.Status)
	want := v1alpha1.FleetAppStatus{}
	ready := false
	if p != nil {
		cond := slices.Clone(have.Conditions)
		reason, msg := p.Reason, p.Message
		ready = p.Ready
		if c := synced[p.Zone].Conflicts[p.App]; len(c) > 0 {
			ready, reason = false, "NameHeldByAnotherOwner"
			msg = strings.Join(c, "; ") + ": fnfleet changes no record it does not own; remove those records, or choose another hostname"
		}
		setCondition(&cond, v1alpha1.AppDNSReady, ready, reason, msg, app.Generation, now)
		want.Conditions = cond
		var names []v1alpha1.DNSNameStatus
		for _, n := range p.Names {
			names = append(names, v1alpha1.DNSNameStatus{Name: n.Name, Type: n.Type, Targets: n.Targets})
		}
		want.DNS = &v1alpha1.AppDNSStatus{Zone: p.Zone, TTL: int32(p.TTL), Names: names,
			SyncTime: syncTime(have.DNS, names, now), Members: memberAnswers(have.DNS, p.Members, now)}
	} else if app.DeletionTimestamp != nil && have.DNS != nil {
		// Being deleted: its names were deleted by this pass; its members
		// left the answers now (deploy waits a TTL before removing it).
		want.DNS = &v1alpha1.AppDNSStatus{Zone: have.DNS.Zone, TTL: have.DNS.TTL, SyncTime: have.DNS.SyncTime,
			Members: memberAnswers(have.DNS, nil, now)}
		if len(want.DNS.Members) == 0 {
			want.DNS = nil
		}
	}
	if !equality.Semantic.DeepEqual(have, want) {
		updated, err := d.hub.ApplyFleetAppStatus(ctx, app.Namespace, app.Name, app.ResourceVersion, DNSManager, &want)
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return ready, nil // gone, or changed: the next pass sees it
		}
		if err != nil {
			return ready, err
		}
		app = updated
	}
	if p == nil && (app.DeletionTimestamp != nil || app.Spec.DNS == nil) && slices.Contains(app.Finalizers, DNSFinalizer) {
		kept := slices.DeleteFunc(slices.Clone(app.Finalizers), func(f string) bool { return f == DNSFinalizer })
		if _, err := d.hub.SetFleetAppFinalizers(ctx, app.Namespace, app.Name, app.ResourceVersion, kept); err != nil &&
			!apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return ready, err
		}
	}
	return ready, nil
}

// syncTime is when the names last changed what they answer: kept while
// they answer the same.
func syncTime(have *v1alpha1.AppDNSStatus, names []v1alpha1.DNSNameStatus, now time.Time) *metav1.Time {
	if have != nil && have.SyncTime != nil && equality.Semantic.DeepEqual(have.Names, names) {
		return have.SyncTime
	}
	t := metav1.NewTime(now)
	return &t
}

// memberAnswers is status.dns.members from the plan's answers: Since
// moves only when a member enters or leaves the answers. A member that
// left the plan (deploy removed it) is forgotten; one that left the
// answers is kept, not answering, so deploy can wait a TTL.
func memberAnswers(have *v1alpha1.AppDNSStatus, answers []dns.MemberAnswer, now time.Time) []v1alpha1.DNSMemberStatus {
	prev := map[string]v1alpha1.DNSMemberStatus{}
	if have != nil {
		for _, m := range have.Members {
			prev[m.Cluster] = m
		}
	}
	var out []v1alpha1.DNSMemberStatus
	seen := map[string]bool{}
	for _, a := range answers {
		seen[a.Cluster] = true
		m := v1alpha1.DNSMemberStatus{Cluster: a.Cluster, Answering: a.Answering, Reason: a.Reason, Since: metav1.NewTime(now)}
		if was, ok := prev[a.Cluster]; ok && was.Answering == a.Answering {
			m.Since = was.Since
		}
		out = append(out, m)
	}
	if answers == nil {
		// The app's names are gone: every member left the answers now
		// (or earlier, if it had already).
		for _, c := range sortedKeys(prev) {
			m := prev[c]
			if m.Answering {
				m.Answering, m.Reason, m.Since = false, "AppDeleted", metav1.NewTime(now)
			}
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b v1alpha1.DNSMemberStatus) int { return strings.Compare(a.Cluster, b.Cluster) })
	return out
}

// dnsStatus is the part of st that the dns shell owns.
func dnsStatus(st *v1alpha1.FleetAppStatus) v1alpha1.FleetAppStatus {
	out := v1alpha1.FleetAppStatus{DNS: st.DNS}
	if c := apimeta.FindStatusCondition(st.Conditions, v1alpha1.AppDNSReady); c != nil {
		out.Conditions = []metav1.Condition{*c}
	}
	return out
}

// DNSHoldsRemoval says whether deploy must keep the app on cluster, a
// member it is no longer placed on, because the app's names may still
// send callers there: they answer with it, or stopped less than a TTL
// ago (a resolver may still hold the answer). until is when the hold
// ends, zero while the names still answer with it.
func DNSHoldsRemoval(app *v1alpha1.FleetApp, cluster string, now time.Time) (held bool, until time.Time) {
	m, ok := dnsMember(app, cluster)
	switch {
	case !ok:
		return false, time.Time{}
	case m.Answering:
		return true, time.Time{}
	}
	until = m.Since.Add(time.Duration(app.Status.DNS.TTL) * time.Second)
	return now.Before(until), until
}

// dnsRecheck is how soon deploy looks again at a removal held while the
// names still answer with the member: the dns function's next 2-second
// pass takes a member no longer placed out of the answers.
const dnsRecheck = 2 * time.Second

// DNSRemovalRetry is when deploy should look again at app's removals held
// by DNS (DNSHoldsRemoval): the earliest hold's end, or dnsRecheck from
// now while the names still answer. ok is false when nothing is held.
func DNSRemovalRetry(app *v1alpha1.FleetApp, now time.Time) (at time.Time, ok bool) {
	placed := map[string]bool{}
	if app.DeletionTimestamp == nil {
		for _, pl := range app.Status.Placement {
			placed[pl.Cluster] = true
		}
	}
	for _, rec := range app.Status.Deployments {
		if placed[rec.Cluster] {
			continue
		}
		held, until := DNSHoldsRemoval(app, rec.Cluster, now)
		if !held {
			continue
		}
		if until.IsZero() {
			until = now.Add(dnsRecheck)
		}
		if !ok || until.Before(at) {
			at, ok = until, true
		}
	}
	return at, ok
}
