// Package externaldns is the DNS provider that writes DNSEndpoint objects
// (externaldns.k8s.io/v1alpha1) into the hub, for external-dns run with its
// crd source to publish through whichever provider it has (Route53, Cloud
// DNS, Azure, Cloudflare, ...).
//
// One object holds every record set at one DNS name and at its ownership
// name _fnfleet.<name> (dns.Group: one unit), so that a name's sets and
// the ownership record that claims them change together, in one write at
// one resourceVersion, or not at all: an ownership record never lands
// beside sets another writer holds. It also halves a zone's objects:
// 1,000 names and their ownership records are 1,000 objects, not 2,000.
// The object's name is ObjectName(name) (readable, with a hash); it
// carries ZoneLabel (so external-dns can be limited to fnfleet's objects
// with --label-filter) and NameAnnotation (the unit's name, fully
// qualified, without _fnfleet.). An object without ZoneLabel for this zone
// is never changed or deleted: fnfleet did not write it.
//
// Routing, in spec.endpoints[].providerSpecific, with the names
// external-dns' AWS provider reads (no other built-in provider of
// external-dns v0.23.0 routes by weight or by location):
//
//   - Weighted sets: setIdentifier and aws/weight (Route53's weight, 0-255
//     like dns.Record.Weight).
//   - Geo sets: setIdentifier, fnfleet.dev/region (the fleet region the set
//     answers, which no provider reads: it is how the set reads back), and
//     the properties Config.GeoProperties gives for that region, e.g.
//     aws/geolocation-continent-code=EU. A fleet region is a name the
//     fleet's operator chose, not a place: which callers it means is
//     configuration, never guessed. A set whose location is not the one
//     configured reads back without its region, so a changed location is
//     written out by the next sync.
//
// external-dns publishes only the record types in its
// --managed-record-types; the fleet writes A, AAAA, CNAME and TXT (its
// ownership records at _fnfleet.<name>), so run it with all four.
package externaldns

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"

	"github.com/fnfleet/fnfleet/federation/dns"
)

// DNSEndpoints is the resource the provider writes.
var DNSEndpoints = schema.GroupVersionResource{Group: "externaldns.k8s.io", Version: "v1alpha1", Resource: "dnsendpoints"}

// Metadata and properties the provider writes.
const (
	// ZoneLabel is on every object the fleet writes, valued
	// ZoneLabelValue(zone).
	ZoneLabel = "fnfleet.dev/zone"
	// OwnerLabel names the fleet (Config.OwnerID) that last wrote the
	// object, for kubectl; who owns the name in DNS is the ownership TXT
	// record's to say, not this label's.
	OwnerLabel = "fnfleet.dev/owner"
	// NameAnnotation holds the DNS name of the object's unit (the name,
	// not its ownership name), fully qualified.
	NameAnnotation = "fnfleet.dev/dns-name"
	// WeightProperty is Route53's weight, as external-dns' AWS provider
	// reads it.
	WeightProperty = "aws/weight"
	// RegionProperty is the fleet region a Geo set answers.
	RegionProperty = "fnfleet.dev/region"
)

const (
	// parallelism bounds the requests in flight to the hub: 8 keep a
	// 1,000-name read at a few hundred milliseconds on a local apiserver
	// (about 2 ms a Get) while leaving most of its 400 default in-flight
	// slots to the fleet's other writers.
	parallelism = 8
	// attempts per unit when another writer touched the object between
	// the read and the write. external-dns writes status.observedGeneration
	// after each change, which moves the resourceVersion but not the
	// records: the unit is read again and written if its records are still
	// what the changes expect, and reported as a conflict after 4 tries.
	attempts = 4
)

// Config says where the objects go and what the provider behind
// external-dns can express.
type Config struct {
	// Client talks to the hub, which serves the DNSEndpoint CRD.
	Client dynamic.Interface
	// Namespace of the objects (external-dns' --namespace, if it watches
	// one).
	Namespace string
	// Zone is fully qualified, lower case, with its trailing dot; every
	// name written is in it.
	Zone string
	// OwnerID is the fleet's owner id (DNSZone spec.ownerID), for
	// OwnerLabel.
	OwnerID string
	// Weighted and Geo: the provider behind external-dns answers by
	// weight, by the caller's location (Route53 does both).
	Weighted, Geo bool
	// GeoProperties maps each fleet region to the providerSpecific
	// properties that make the provider behind external-dns answer that
	// region's callers, e.g. "eu-west": {"aws/geolocation-continent-code":
	// "EU"}. A Geo set for a region without an entry is refused.
	GeoProperties map[string]map[string]string
	// Logger gets a line per write at debug level; nil logs nothing.
	Logger *slog.Logger
}

// Provider writes a zone's record sets as DNSEndpoint objects. It is safe
// for concurrent use.
type Provider struct {
	objects   dynamic.ResourceInterface
	namespace string
	zone      string
	zoneLabel string
	owner     string
	caps      dns.Capabilities
	geo       map[string]map[string]string
	log       *slog.Logger

	gets, lists, creates, updates, deletes atomic.Int64
}

var _ dns.Provider = (*Provider)(nil)

// New returns a provider for cfg.
func New(cfg Config) (*Provider, error) {
	var errs []error
	if cfg.Client == nil {
		errs = append(errs, errors.New("a client of the hub is required (Config.Client)"))
	}
	for _, msg := range validation.IsDNS1123Label(cfg.Namespace) {
		errs = append(errs, fmt.Errorf("namespace %q: %s", cfg.Namespace, msg))
	}
	if !strings.HasSuffix(cfg.Zone, ".") || cfg.Zone != strings.ToLower(cfg.Zone) || len(validation.IsDNS1123Subdomain(strings.TrimSuffix(cfg.Zone, "."))) > 0 {
		errs = append(errs, fmt.Errorf("zone %q is not a lower-case fully qualified name with its trailing dot (e.g. fleet.example.com.)", cfg.Zone))
	}
	if cfg.OwnerID == "" {
		errs = append(errs, errors.New("OwnerID is required"))
	}
	if len(cfg.GeoProperties) > 0 && !cfg.Geo {
		errs = append(errs, errors.New("GeoProperties are set but Geo is not"))
	}
	for region, props := range cfg.GeoProperties {
		if len(props) == 0 {
			errs = append(errs, fmt.Errorf("GeoProperties[%q] is empty: name the location the region's callers are in", region))
		}
		for name := range props {
			if name == WeightProperty || name == RegionProperty {
				errs = append(errs, fmt.Errorf("GeoProperties[%q] sets %s, which the provider writes itself", region, name))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("externaldns provider: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Provider{
		objects:   cfg.Client.Resource(DNSEndpoints).Namespace(cfg.Namespace),
		namespace: cfg.Namespace,
		zone:      cfg.Zone,
		zoneLabel: ZoneLabelValue(cfg.Zone),
		owner:     cfg.OwnerID,
		caps:      dns.Capabilities{Weighted: cfg.Weighted, Geo: cfg.Geo},
		geo:       cfg.GeoProperties,
		log:       log.With("namespace", cfg.Namespace),
	}, nil
}

// Capabilities are the configuration's: external-dns cannot tell what its
// provider expresses.
func (p *Provider) Capabilities() dns.Capabilities { return p.caps }

// Stats counts the provider's requests to the hub.
type Stats struct {
	Gets, Lists, Creates, Updates, Deletes int64
}

// Writes is the number of objects written.
func (s Stats) Writes() int64 { return s.Creates + s.Updates + s.Deletes }

// Stats are the requests made so far.
func (p *Provider) Stats() Stats {
	return Stats{Gets: p.gets.Load(), Lists: p.lists.Load(), Creates: p.creates.Load(), Updates: p.updates.Load(), Deletes: p.deletes.Load()}
}

// listPage is how many objects a List request returns: 500 (kubectl's
// chunk size) keeps a 10,000-name zone to 20 requests of about 1 MB.
const listPage = 500

// List returns the record sets of every object the fleet wrote in the
// zone (ZoneLabel), so that the registry reads a zone in one paged list
// rather than a Get a name. Objects without the label are not listed:
// Records still reads them at the names asked for.
func (p *Provider) List(ctx context.Context) ([]dns.Record, error) {
	var out []dns.Record
	opts := metav1.ListOptions{LabelSelector: ZoneLabel + "=" + p.zoneLabel, Limit: listPage}
	for {
		p.lists.Add(1)
		list, err := p.objects.List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list DNSEndpoints %s in %s: %w", opts.LabelSelector, p.namespace, err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			unit := obj.GetAnnotations()[NameAnnotation]
			if err := p.inZone(unit); err != nil {
				return nil, fmt.Errorf("DNSEndpoint %s/%s: annotation %s: %w", obj.GetNamespace(), obj.GetName(), NameAnnotation, err)
			}
			records, _, err := p.split(obj, unit)
			if err != nil {
				return nil, err
			}
			out = append(out, records...)
		}
		if opts.Continue = list.GetContinue(); opts.Continue == "" {
			break
		}
	}
	sortRecords(out)
	return out, nil
}

// Records reads the object of each name's unit (one Get for a name and
// its ownership name). It returns what an object holds at the names asked
// for whoever wrote it: whether a name is the fleet's is for the ownership
// record to say.
func (p *Provider) Records(ctx context.Context, names []string) ([]dns.Record, error) {
	asked := map[string]bool{}
	var units []string
	for _, name := range names {
		if err := p.inZone(name); err != nil {
			return nil, fmt.Errorf("read records: %w", err)
		}
		asked[name] = true
		units = append(units, dns.Group(name))
	}
	units = slices.Compact(slices.Sorted(slices.Values(units)))
	found := make([][]dns.Record, len(units))
	errs := make([]error, len(units))
	forEach(units, func(i int, unit string) {
		obj, err := p.get(ctx, unit)
		if err == nil && obj != nil {
			found[i], _, err = p.split(obj, unit)
		}
		errs[i] = err
	})
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	var out []dns.Record
	for _, records := range found {
		for _, r := range records {
			if asked[r.Name] {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// Apply writes the changes, one object per unit (a name and its ownership
// name), the units in parallel. A record set the provider cannot express
// is refused with its unit's other changes; the other units are still
// written.
func (p *Provider) Apply(ctx context.Context, changes dns.Changes) error {
	byUnit := map[string]*unitChanges{}
	at := func(name string) *unitChanges {
		unit := dns.Group(name)
		if byUnit[unit] == nil {
			byUnit[unit] = &unitChanges{}
		}
		return byUnit[unit]
	}
	for _, r := range changes.Create {
		at(r.Name).Create = append(at(r.Name).Create, r)
	}
	for _, u := range changes.Update {
		at(u.New.Name).Update = append(at(u.New.Name).Update, u)
	}
	for _, r := range changes.Delete {
		at(r.Name).Delete = append(at(r.Name).Delete, r)
	}
	units := slices.Sorted(maps.Keys(byUnit))
	conflicts := make([]bool, len(units))
	errs := make([]error, len(units))
	forEach(units, func(i int, unit string) {
		c := byUnit[unit]
		if err := p.checkChanges(c); err != nil {
			errs[i] = fmt.Errorf("write %s: %w", strings.Join(c.Names(), " and "), err)
			return
		}
		conflicts[i], errs[i] = p.applyUnit(ctx, unit, c)
	})
	// A conflict at either name of a unit leaves both alone: both are
	// named, for the registry to read again.
	var conflicted []string
	for i, unit := range units {
		if conflicts[i] {
			conflicted = append(conflicted, byUnit[unit].Names()...)
		}
	}
	if len(conflicted) > 0 {
		slices.Sort(conflicted)
		errs = append(errs, &dns.ConflictError{Names: conflicted})
	}
	return errors.Join(errs...)
}

// unitChanges are the changes at one unit's names.
type unitChanges struct{ dns.Changes }

// checkChanges says why the provider cannot write c, or nil.
func (p *Provider) checkChanges(c *unitChanges) error {
	var errs []error
	for _, r := range c.Create {
		errs = append(errs, p.check(r))
	}
	for _, u := range c.Update {
		if u.Old.Key() != u.New.Key() {
			errs = append(errs, fmt.Errorf("an update replaces %s %s set %q with another key (%s %s set %q)", u.Old.Name, u.Old.Type, u.Old.SetID, u.New.Name, u.New.Type, u.New.SetID))
		}
		errs = append(errs, p.check(u.New))
	}
	return errors.Join(errs...)
}

// applyTo returns the record sets after the changes, or false where the
// current ones are not what the changes expect.
func (c *unitChanges) applyTo(current []dns.Record) ([]dns.Record, bool) {
	byKey := map[dns.Key]dns.Record{}
	for _, r := range current {
		byKey[r.Key()] = r
	}
	holds := func(r dns.Record) bool {
		cur, ok := byKey[r.Key()]
		return ok && cur.Equal(r)
	}
	for _, r := range c.Create {
		if _, ok := byKey[r.Key()]; ok {
			return nil, false
		}
	}
	for _, u := range c.Update {
		if !holds(u.Old) {
			return nil, false
		}
	}
	for _, r := range c.Delete {
		if !holds(r) {
			return nil, false
		}
	}
	for _, r := range c.Delete {
		delete(byKey, r.Key())
	}
	for _, u := range c.Update {
		byKey[u.New.Key()] = u.New
	}
	for _, r := range c.Create {
		byKey[r.Key()] = r
	}
	next := make([]dns.Record, 0, len(byKey))
	for _, r := range byKey {
		next = append(next, r)
	}
	sortRecords(next)
	return next, true
}

// applyUnit writes one unit's changes, in one write of its object, if its
// record sets are what they expect; conflict is true where they are not
// (at either name: nothing is written).
func (p *Provider) applyUnit(ctx context.Context, unit string, c *unitChanges) (conflict bool, err error) {
	for attempt := 1; ; attempt++ {
		obj, err := p.get(ctx, unit)
		if err != nil {
			return false, err
		}
		if obj != nil {
			if err := p.mayWrite(obj, unit); err != nil {
				return false, err
			}
		}
		current, kept, err := p.split(obj, unit)
		if err != nil {
			return false, err
		}
		next, ok := c.applyTo(current)
		if !ok {
			p.log.Debug("records changed by another writer", "unit", unit)
			return true, nil
		}
		err = p.write(ctx, unit, obj, next, kept)
		// Another writer wrote the object since it was read: read it
		// again, and write if the records are still as expected. (A
		// NotFound on a create is a missing namespace, not a writer.)
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || obj != nil && objectNotFound(err, obj.GetName()) {
			p.log.Debug("object written meanwhile; reading it again", "unit", unit, "attempt", attempt, "err", err)
			if attempt == attempts {
				return true, nil
			}
			continue
		}
		return false, err
	}
}

// write makes the object of unit hold next and kept: created, updated with
// the resourceVersion obj was read at, or deleted at that version when it
// would hold nothing.
func (p *Provider) write(ctx context.Context, unit string, obj *unstructured.Unstructured, next []dns.Record, kept []any) error {
	endpoints := slices.Clone(kept)
	for _, r := range next {
		typed := p.endpointOf(r)
		ep, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&typed)
		if err != nil {
			return fmt.Errorf("write %s: %w", unit, err)
		}
		endpoints = append(endpoints, ep)
	}
	objName := ObjectName(unit)
	switch {
	case obj == nil && len(endpoints) == 0:
		return nil
	case obj == nil:
		obj = &unstructured.Unstructured{}
		obj.SetAPIVersion(DNSEndpoints.GroupVersion().String())
		obj.SetKind("DNSEndpoint")
		obj.SetName(objName)
		obj.SetNamespace(p.namespace)
		obj.SetAnnotations(map[string]string{NameAnnotation: unit})
		obj.SetLabels(map[string]string{ZoneLabel: p.zoneLabel, OwnerLabel: p.owner})
		if err := unstructured.SetNestedSlice(obj.Object, endpoints, "spec", "endpoints"); err != nil {
			return fmt.Errorf("write %s: %w", unit, err)
		}
		p.creates.Add(1)
		if _, err := p.objects.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create DNSEndpoint %s/%s for %s: %w", p.namespace, objName, unit, err)
		}
		p.log.Debug("created", "unit", unit, "object", objName, "records", len(next))
		return nil
	case len(endpoints) == 0:
		uid, rv := obj.GetUID(), obj.GetResourceVersion()
		p.deletes.Add(1)
		err := p.objects.Delete(ctx, objName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		if err != nil {
			return fmt.Errorf("delete DNSEndpoint %s/%s of %s at resourceVersion %s: %w", p.namespace, objName, unit, rv, err)
		}
		p.log.Debug("deleted", "unit", unit, "object", objName)
		return nil
	default:
		obj = obj.DeepCopy()
		labels := obj.GetLabels() // holds ZoneLabel: mayWrite checked
		labels[OwnerLabel] = p.owner
		obj.SetLabels(labels)
		if err := unstructured.SetNestedSlice(obj.Object, endpoints, "spec", "endpoints"); err != nil {
			return fmt.Errorf("write %s: %w", unit, err)
		}
		p.updates.Add(1)
		if _, err := p.objects.Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update DNSEndpoint %s/%s of %s at resourceVersion %s: %w", p.namespace, objName, unit, obj.GetResourceVersion(), err)
		}
		p.log.Debug("updated", "unit", unit, "object", objName, "records", len(next))
		return nil
	}
}

// get reads the object of unit; nil if there is none.
func (p *Provider) get(ctx context.Context, unit string) (*unstructured.Unstructured, error) {
	p.gets.Add(1)
	objName := ObjectName(unit)
	obj, err := p.objects.Get(ctx, objName, metav1.GetOptions{})
	if err != nil && objectNotFound(err, objName) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get DNSEndpoint %s/%s of %s: %w", p.namespace, objName, unit, err)
	}
	return obj, nil
}

// objectNotFound tells "no such object" from the apiserver's NotFound for
// a resource it does not serve (external-dns' CRD not installed), which
// would otherwise read as every name being empty.
func objectNotFound(err error, objName string) bool {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.Name == objName && d.Kind == DNSEndpoints.Resource
}

// mayWrite refuses an object the fleet did not write for this zone and
// unit.
func (p *Provider) mayWrite(obj *unstructured.Unstructured, unit string) error {
	ref := fmt.Sprintf("DNSEndpoint %s/%s", obj.GetNamespace(), obj.GetName())
	switch zone, ok := obj.GetLabels()[ZoneLabel]; {
	case !ok:
		return fmt.Errorf("%s is not fnfleet's (no %s label): fnfleet never changes it; delete it, or move it away, to let fnfleet write %s", ref, ZoneLabel, unit)
	case zone != p.zoneLabel:
		return fmt.Errorf("%s belongs to zone %s=%s, not %s: fnfleet writes %s only in its own zone's objects", ref, ZoneLabel, zone, p.zoneLabel, unit)
	}
	if got := obj.GetAnnotations()[NameAnnotation]; got != unit {
		return fmt.Errorf("%s is written for %q, not %s (its %s annotation); fnfleet leaves it alone: fix or delete it by hand", ref, got, unit, NameAnnotation)
	}
	return nil
}

// split reads the record sets at unit's names out of obj (nil: none), and
// returns the entries it does not write (other names or record types) to
// be kept as they are.
func (p *Provider) split(obj *unstructured.Unstructured, unit string) (records []dns.Record, kept []any, err error) {
	if obj == nil {
		return nil, nil, nil
	}
	entries, _, err := unstructured.NestedSlice(obj.Object, "spec", "endpoints")
	if err != nil {
		return nil, nil, fmt.Errorf("DNSEndpoint %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	seen := map[dns.Key]bool{}
	for i, entry := range entries {
		var ep endpoint
		fields, ok := entry.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("DNSEndpoint %s/%s: spec.endpoints[%d] is a %T, not an endpoint", obj.GetNamespace(), obj.GetName(), i, entry)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(fields, &ep); err != nil {
			return nil, nil, fmt.Errorf("DNSEndpoint %s/%s: spec.endpoints[%d]: %w", obj.GetNamespace(), obj.GetName(), i, err)
		}
		r, ours, err := p.recordOf(ep)
		if err != nil {
			return nil, nil, fmt.Errorf("DNSEndpoint %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
		}
		if !ours || dns.Group(r.Name) != unit {
			kept = append(kept, entry)
			continue
		}
		if seen[r.Key()] {
			return nil, nil, fmt.Errorf("DNSEndpoint %s/%s holds two %s %s set %q entries: remove one by hand", obj.GetNamespace(), obj.GetName(), r.Name, r.Type, r.SetID)
		}
		seen[r.Key()] = true
		records = append(records, r)
	}
	sortRecords(records)
	return records, kept, nil
}

// inZone refuses a name that is not canonical or not in the zone.
func (p *Provider) inZone(name string) error {
	if name != canonical(name) {
		return fmt.Errorf("%q is not a lower-case fully qualified name with its trailing dot", name)
	}
	if name != p.zone && !strings.HasSuffix(name, "."+p.zone) {
		return fmt.Errorf("%s is outside the zone %s", name, p.zone)
	}
	return nil
}

func sortRecords(records []dns.Record) {
	slices.SortFunc(records, func(a, b dns.Record) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Type, b.Type), strings.Compare(a.SetID, b.SetID))
	})
}

// forEach calls fn for every name, parallelism at a time, and returns when
// all have returned.
func forEach(names []string, fn func(i int, name string)) {
	sem := make(chan struct{}, parallelism)
	var wg sync.WaitGroup
	for i, name := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i, name)
		})
	}
	wg.Wait()
}
