package externaldns_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/fnfleet/fnfleet/federation/dns"
	"github.com/fnfleet/fnfleet/federation/dns/externaldns"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

const (
	zone      = "fleet.example.com."
	namespace = "dns"
	// crdFile is where `make tools` puts external-dns' DNSEndpoint CRD.
	crdFile = "crds/externaldns.k8s.io_dnsendpoints.yaml"
)

// The provider against external-dns' own DNSEndpoint CRD (v0.23.0) in a
// real hub: every subtest writes its own names.
func TestDNSEndpointsOnARealHub(t *testing.T) {
	hub := testbed.Start(t, local.ClusterSpec{Region: "hub"})
	ctx := t.Context()
	client := dynamic.NewForConfigOrDie(hub.RESTConfig)
	objects := client.Resource(externaldns.DNSEndpoints).Namespace(namespace)
	cfg := externaldns.Config{
		Client: client, Namespace: namespace, Zone: zone, OwnerID: "fleet-a",
		Weighted: true, Geo: true,
		GeoProperties: map[string]map[string]string{"eu-west": {"aws/geolocation-continent-code": "EU"}},
		Logger:        testbed.Logger(t),
	}
	p := newProvider(t, cfg)

	// Without external-dns' CRD the names are unknown, not empty; without
	// the namespace nothing is written, and that is no conflict.
	if got, err := p.Records(ctx, []string{"hello." + zone}); err == nil || !strings.Contains(err.Error(), "could not find the requested resource") {
		t.Errorf("records without the CRD: %v, %v; want an error", got, err)
	}
	testbed.InstallCRD(t, hub.RESTConfig, crdFile)
	err := p.Apply(ctx, dns.Changes{Create: []dns.Record{record("hello."+zone, dns.TypeA, "192.0.2.1")}})
	if err == nil || errors.Is(err, dns.ErrConflict) || !strings.Contains(err.Error(), `namespaces "dns" not found`) {
		t.Errorf("apply without the namespace: %v; want an error naming it", err)
	}
	core := kubernetes.NewForConfigOrDie(hub.RESTConfig)
	if _, err := core.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("record sets are created, updated, deleted and read back", func(t *testing.T) {
		hello, owner, www := "hello."+zone, "_fnfleet.hello."+zone, "www."+zone
		a := record(hello, dns.TypeA, "192.0.2.1", "192.0.2.2")
		aaaa := record(hello, dns.TypeAAAA, "2001:db8::1")
		txt := record(owner, dns.TypeTXT, `heritage=fnfleet,owner=fleet-a,app=default/hello`, `quote " and backslash \ kept`)
		cname := record(www, dns.TypeCNAME, hello)
		before := p.Stats()
		apply(t, p, dns.Changes{Create: []dns.Record{a, aaaa, txt, cname}})
		if got := p.Stats().Creates - before.Creates; got != 2 {
			t.Errorf("%d objects created for 3 names in 2 units, want 2", got)
		}
		before = p.Stats()
		wantRecords(t, p, []string{hello, owner, www}, a, aaaa, txt, cname)
		if got := p.Stats().Gets - before.Gets; got != 2 {
			t.Errorf("%d gets to read 3 names in 2 units, want 2", got)
		}

		// As external-dns reads them: names and CNAME targets without the
		// trailing dot, TXT strings quoted, one object per name and its
		// ownership name, annotated with the name.
		obj := getObject(t, objects, hello)
		if obj.GetLabels()[externaldns.ZoneLabel] != "fleet.example.com" || obj.GetLabels()[externaldns.OwnerLabel] != "fleet-a" ||
			obj.GetAnnotations()[externaldns.NameAnnotation] != hello {
			t.Errorf("object %s: labels %v, annotations %v", obj.GetName(), obj.GetLabels(), obj.GetAnnotations())
		}
		wantEndpoints(t, obj,
			`_fnfleet.hello.fleet.example.com TXT 60 ["heritage=fnfleet,owner=fleet-a,app=default/hello" "quote \" and backslash \\ kept"] "" []`,
			`hello.fleet.example.com A 60 [192.0.2.1 192.0.2.2] "" []`, `hello.fleet.example.com AAAA 60 [2001:db8::1] "" []`)
		wantEndpoints(t, getObject(t, objects, www), `www.fleet.example.com CNAME 60 [hello.fleet.example.com] "" []`)
		if _, err := objects.Get(ctx, externaldns.ObjectName(owner), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("an object of its own for %s: %v, want NotFound", owner, err)
		}

		// Each name reads back alone, though both are in one object.
		a2 := record(hello, dns.TypeA, "192.0.2.3")
		a2.TTL = 30
		apply(t, p, dns.Changes{Update: []dns.Update{{Old: a, New: a2}}, Delete: []dns.Record{aaaa}})
		wantRecords(t, p, []string{hello}, a2)
		wantRecords(t, p, []string{owner}, txt)

		before = p.Stats()
		apply(t, p, dns.Changes{})
		if got := p.Stats(); got != before {
			t.Errorf("nothing to write made requests: %+v, then %+v", before, got)
		}

		apply(t, p, dns.Changes{Delete: []dns.Record{a2, txt, cname}})
		wantRecords(t, p, []string{hello, owner, www})
		for _, name := range []string{hello, www} {
			if _, err := objects.Get(ctx, externaldns.ObjectName(name), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("object of %s after its last record set went: %v, want NotFound", name, err)
			}
		}
	})

	t.Run("long names and names that read alike", func(t *testing.T) {
		longest := label("a", 63) + "." + label("b", 63) + "." + label("c", 63) + "." + label("d", 43) + "." + zone
		var sets []dns.Record
		for i, name := range []string{longest, "a.b." + zone, "a-b." + zone, "_a.b." + zone} {
			sets = append(sets, record(name, dns.TypeTXT, fmt.Sprintf("name %d", i)))
		}
		apply(t, p, dns.Changes{Create: sets})
		wantRecords(t, p, []string{longest, "a.b." + zone, "a-b." + zone, "_a.b." + zone}, sets...)
		if obj := getObject(t, objects, longest); len(obj.GetName()) > 253 {
			t.Errorf("object name of %d bytes", len(obj.GetName()))
		}
	})

	t.Run("a change from a stale record set is a conflict and writes nothing there", func(t *testing.T) {
		stale, other := "stale."+zone, "other."+zone
		current := record(stale, dns.TypeA, "192.0.2.10")
		apply(t, p, dns.Changes{Create: []dns.Record{current, record(stale, dns.TypeAAAA, "2001:db8::10")}})
		before := getObject(t, objects, stale).GetResourceVersion()
		owner := dns.OwnerName(stale)
		staleUpdate := dns.Update{Old: record(stale, dns.TypeA, "192.0.2.9"), New: record(stale, dns.TypeA, "192.0.2.11")}
		for what, tc := range map[string]struct {
			changes   dns.Changes
			conflicts []string
		}{
			"update": {dns.Changes{Update: []dns.Update{staleUpdate}}, []string{stale}},
			"delete": {dns.Changes{Delete: []dns.Record{record(stale, dns.TypeA, "192.0.2.9")}}, []string{stale}},
			"create": {dns.Changes{Create: []dns.Record{record(stale, dns.TypeA, "192.0.2.12")}}, []string{stale}},
			// The AAAA set's delete holds; the A set's update does not: the
			// name is left whole.
			"one of two": {dns.Changes{Update: []dns.Update{staleUpdate}, Delete: []dns.Record{record(stale, dns.TypeAAAA, "2001:db8::10")}}, []string{stale}},
			// The ownership record's create holds; the name's update does
			// not: neither is written, and both are named.
			"the name's, beside its ownership record's": {
				dns.Changes{Update: []dns.Update{staleUpdate}, Create: []dns.Record{record(owner, dns.TypeTXT, "heritage=fnfleet,owner=fleet-a,app=default/stale")}},
				[]string{owner, stale},
			},
		} {
			changes := tc.changes
			changes.Create = append(slices.Clone(changes.Create), record(other, dns.TypeTXT, what))
			err := p.Apply(ctx, changes)
			if ce, ok := errors.AsType[*dns.ConflictError](err); !ok || !slices.Equal(ce.Names, tc.conflicts) {
				t.Errorf("%s from a stale set: %v, want a conflict at %v only", what, err, tc.conflicts)
			}
			if !errors.Is(err, dns.ErrConflict) {
				t.Errorf("%s: errors.Is(%v, ErrConflict) = false", what, err)
			}
			wantRecords(t, p, []string{other}, record(other, dns.TypeTXT, what))
			apply(t, p, dns.Changes{Delete: []dns.Record{record(other, dns.TypeTXT, what)}})
		}
		if after := getObject(t, objects, stale).GetResourceVersion(); after != before {
			t.Errorf("object of %s written (resourceVersion %s -> %s)", stale, before, after)
		}
		wantRecords(t, p, []string{stale, owner}, current, record(stale, dns.TypeAAAA, "2001:db8::10"))
	})

	t.Run("two writers at once: one wins each round and nothing is lost", func(t *testing.T) {
		other := newProvider(t, cfg)
		writers := []*externaldns.Provider{p, other}
		contested := "contested." + zone
		last := record(contested, dns.TypeA, "192.0.2.100")
		apply(t, p, dns.Changes{Create: []dns.Record{last}})
		const rounds = 10
		for round := range rounds {
			// Both read the same A set; each replaces it with its own and
			// adds a set of its own type at a name of the round.
			shared := fmt.Sprintf("round-%d.%s", round, zone)
			own := []dns.Record{record(shared, dns.TypeA, "192.0.2.1"), record(shared, dns.TypeAAAA, "2001:db8::1")}
			news := []dns.Record{record(contested, dns.TypeA, fmt.Sprintf("192.0.2.%d", round*2)), record(contested, dns.TypeA, fmt.Sprintf("192.0.2.%d", round*2+1))}
			errs := make([]error, len(writers))
			var wg sync.WaitGroup
			for i, w := range writers {
				wg.Go(func() {
					errs[i] = w.Apply(ctx, dns.Changes{Update: []dns.Update{{Old: last, New: news[i]}}, Create: own[i : i+1]})
				})
			}
			wg.Wait()
			var won []int
			for i, err := range errs {
				switch ce, ok := errors.AsType[*dns.ConflictError](err); {
				case err == nil:
					won = append(won, i)
				case !ok || !slices.Equal(ce.Names, []string{contested}):
					t.Fatalf("round %d, writer %d: %v, want nil or a conflict at %s only", round, i, err, contested)
				}
			}
			if len(won) != 1 {
				t.Fatalf("round %d: writers %v won, want exactly one (errors %v)", round, won, errs)
			}
			last = news[won[0]]
			wantRecords(t, p, []string{contested, shared}, last, own[0], own[1])
		}
	})

	t.Run("weighted and geo sets carry what external-dns' AWS provider reads", func(t *testing.T) {
		w, g := "weighted."+zone, "geo."+zone
		m1 := record(w, dns.TypeA, "192.0.2.1")
		m1.SetID, m1.Weight = "member-1", 200
		m2 := record(w, dns.TypeA, "192.0.2.2")
		m2.SetID = "member-2" // weight 0: written, not left out
		eu := record(g, dns.TypeA, "192.0.2.3")
		eu.SetID, eu.Region = "eu-west", "eu-west"
		apply(t, p, dns.Changes{Create: []dns.Record{m1, m2, eu}})
		wantRecords(t, p, []string{w, g}, m1, m2, eu)
		wantEndpoints(t, getObject(t, objects, w),
			`weighted.fleet.example.com A 60 [192.0.2.1] "member-1" [aws/weight=200]`,
			`weighted.fleet.example.com A 60 [192.0.2.2] "member-2" [aws/weight=0]`)
		wantEndpoints(t, getObject(t, objects, g),
			`geo.fleet.example.com A 60 [192.0.2.3] "eu-west" [aws/geolocation-continent-code=EU fnfleet.dev/region=eu-west]`)

		// A region without a location is refused, not guessed; the other
		// names are written.
		us := record(g, dns.TypeA, "192.0.2.4")
		us.SetID, us.Region = "us-east", "us-east"
		fine := record("fine."+zone, dns.TypeA, "192.0.2.5")
		err := p.Apply(ctx, dns.Changes{Create: []dns.Record{us, fine}})
		if err == nil || errors.Is(err, dns.ErrConflict) || !strings.Contains(err.Error(), `region "us-east" has no geolocation`) {
			t.Errorf("geo set for an unmapped region: %v, want it refused for the missing location", err)
		}
		wantRecords(t, p, []string{g, "fine." + zone}, eu, fine)

		// The location of eu-west changes: its set reads back without its
		// region, and the update from what was read writes the new one.
		moved := cfg
		moved.GeoProperties = map[string]map[string]string{"eu-west": {"aws/geolocation-country-code": "DE"}}
		mp := newProvider(t, moved)
		unplaced := eu
		unplaced.Region = ""
		wantRecords(t, mp, []string{g}, unplaced)
		apply(t, mp, dns.Changes{Update: []dns.Update{{Old: unplaced, New: eu}}})
		wantRecords(t, mp, []string{g}, eu)
		wantEndpoints(t, getObject(t, objects, g),
			`geo.fleet.example.com A 60 [192.0.2.3] "eu-west" [aws/geolocation-country-code=DE fnfleet.dev/region=eu-west]`)

		plain := cfg
		plain.Weighted, plain.Geo, plain.GeoProperties = false, false, nil
		pp := newProvider(t, plain)
		if caps := pp.Capabilities(); caps.Weighted || caps.Geo {
			t.Errorf("capabilities %+v without weighted and geo", caps)
		}
		if caps := p.Capabilities(); !caps.Weighted || !caps.Geo {
			t.Errorf("capabilities %+v with weighted and geo", caps)
		}
		m3 := record(w, dns.TypeA, "192.0.2.6")
		m3.SetID, m3.Weight = "member-3", 1
		if err := pp.Apply(ctx, dns.Changes{Create: []dns.Record{m3}}); err == nil || !strings.Contains(err.Error(), "does not answer by weight") {
			t.Errorf("weighted set on a provider without weights: %v", err)
		}
		eu2 := eu
		eu2.Name, eu2.SetID = "geo2."+zone, "eu-west-2"
		if err := pp.Apply(ctx, dns.Changes{Create: []dns.Record{eu2}}); err == nil || !strings.Contains(err.Error(), "does not answer by region") {
			t.Errorf("geo set on a provider without geo: %v", err)
		}
		wantRecords(t, p, []string{w, "geo2." + zone}, m1, m2)
	})

	t.Run("an object the fleet did not write is read and never changed", func(t *testing.T) {
		name := "foreign." + zone
		foreign := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
			"metadata": map[string]any{"name": externaldns.ObjectName(name), "namespace": namespace},
			"spec": map[string]any{"endpoints": []any{
				map[string]any{"dnsName": "foreign.fleet.example.com", "recordType": "A", "targets": []any{"198.51.100.1"}, "recordTTL": int64(300)},
				map[string]any{"dnsName": "foreign.fleet.example.com", "recordType": "MX", "targets": []any{"10 mail.example.com"}},
			}},
		}}
		created, err := objects.Create(ctx, foreign, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		theirs := record(name, dns.TypeA, "198.51.100.1")
		theirs.TTL = 300
		wantRecords(t, p, []string{name}, theirs)
		for what, changes := range map[string]dns.Changes{
			"update": {Update: []dns.Update{{Old: theirs, New: record(name, dns.TypeA, "192.0.2.1")}}},
			"delete": {Delete: []dns.Record{theirs}},
			"create": {Create: []dns.Record{record(name, dns.TypeAAAA, "2001:db8::1")}},
			// The ownership record goes into the name's object: never
			// beside another writer's sets.
			"ownership": {Create: []dns.Record{record(dns.OwnerName(name), dns.TypeTXT, "heritage=fnfleet,owner=fleet-a,app=default/foreign")}},
		} {
			err := p.Apply(ctx, changes)
			if err == nil || errors.Is(err, dns.ErrConflict) || !strings.Contains(err.Error(), "DNSEndpoint dns/"+created.GetName()+" is not fnfleet's") {
				t.Errorf("%s at a foreign object: %v, want an error naming the object", what, err)
			}
		}
		if got := getObject(t, objects, name); got.GetResourceVersion() != created.GetResourceVersion() {
			t.Errorf("foreign object written: resourceVersion %s -> %s", created.GetResourceVersion(), got.GetResourceVersion())
		}
	})

	t.Run("a zone is listed in pages, and only its own objects", func(t *testing.T) {
		listed := cfg
		listed.Zone = "list.example.com."
		lp := newProvider(t, listed)
		// One more than a page, so that the list takes two requests.
		var want []dns.Record
		for i := range 501 {
			want = append(want, record(fmt.Sprintf("n%d.%s", i, listed.Zone), dns.TypeA, "192.0.2.1"))
		}
		want = append(want, record("_fnfleet.n0."+listed.Zone, dns.TypeTXT, "heritage=fnfleet,owner=fleet-a,app=default/n0"))
		apply(t, lp, dns.Changes{Create: want})
		before := lp.Stats()
		got, err := lp.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(sorted(got), sorted(want), dns.Record.Equal) {
			t.Errorf("listed %d record sets, want the %d written", len(got), len(want))
		}
		if lists := lp.Stats().Lists - before.Lists; lists != 2 {
			t.Errorf("%d list requests for 501 objects, want 2 pages", lists)
		}
		// The first zone's list holds none of these.
		mine, err := p.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range mine {
			if !strings.HasSuffix(r.Name, "."+zone) {
				t.Errorf("zone %s listed %s", zone, r)
			}
		}
		if len(mine) == 0 {
			t.Errorf("zone %s listed nothing", zone)
		}
	})

	t.Run("external-dns' status writes between read and write are no conflict", func(t *testing.T) {
		name := "status." + zone
		a := record(name, dns.TypeA, "192.0.2.1")
		apply(t, p, dns.Changes{Create: []dns.Record{a}})
		// Before each of the provider's updates, external-dns (played here)
		// writes status.observedGeneration, as its crd source does after
		// each change. The value differs each time so that every write
		// moves the resourceVersion.
		var statusWrites atomic.Int32
		racing := cfg
		racing.Client = beforeUpdate{Interface: client, hook: func(ctx context.Context, obj *unstructured.Unstructured) {
			cur, err := objects.Get(ctx, obj.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Errorf("get %s: %v", obj.GetName(), err)
				return
			}
			if err := unstructured.SetNestedField(cur.Object, cur.GetGeneration()+int64(statusWrites.Add(1)), "status", "observedGeneration"); err != nil {
				t.Error(err)
				return
			}
			if _, err := objects.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
				t.Errorf("status write: %v", err)
			}
		}}
		rp := newProvider(t, racing)
		a2 := record(name, dns.TypeA, "192.0.2.2")
		before := rp.Stats()
		// A status write before every update: the provider gives up after
		// its 4 attempts with a conflict, rather than loop.
		err := rp.Apply(ctx, dns.Changes{Update: []dns.Update{{Old: a, New: a2}}})
		if ce, ok := errors.AsType[*dns.ConflictError](err); !ok || !slices.Equal(ce.Names, []string{name}) {
			t.Fatalf("update raced by a status write before every attempt: %v, want a conflict at %s after the attempts", err, name)
		}
		if got := rp.Stats().Updates - before.Updates; got != 4 {
			t.Errorf("%d update attempts, want 4", got)
		}
		wantRecords(t, p, []string{name}, a)

		// One status write, as external-dns makes once per generation: the
		// update is read again and goes through.
		once := racing
		var fired atomic.Bool
		hook := racing.Client.(beforeUpdate).hook
		once.Client = beforeUpdate{Interface: client, hook: func(ctx context.Context, obj *unstructured.Unstructured) {
			if !fired.Swap(true) {
				hook(ctx, obj)
			}
		}}
		if err := newProvider(t, once).Apply(ctx, dns.Changes{Update: []dns.Update{{Old: a, New: a2}}}); err != nil {
			t.Fatalf("update raced by one status write: %v", err)
		}
		wantRecords(t, p, []string{name}, a2)
	})
}

func TestConfigIsChecked(t *testing.T) {
	good := externaldns.Config{Client: dynamic.New(nil), Namespace: "dns", Zone: zone, OwnerID: "fnfleet"}
	if _, err := externaldns.New(good); err != nil {
		t.Fatalf("a good config refused: %v", err)
	}
	for what, tc := range map[string]struct {
		change func(*externaldns.Config)
		want   string
	}{
		"no client":            {func(c *externaldns.Config) { c.Client = nil }, "Config.Client"},
		"bad namespace":        {func(c *externaldns.Config) { c.Namespace = "DNS" }, `namespace "DNS"`},
		"zone without its dot": {func(c *externaldns.Config) { c.Zone = "fleet.example.com" }, "trailing dot"},
		"no owner":             {func(c *externaldns.Config) { c.OwnerID = "" }, "OwnerID"},
		"geo places without geo": {func(c *externaldns.Config) {
			c.GeoProperties = map[string]map[string]string{"eu": {"aws/geolocation-continent-code": "EU"}}
		}, "Geo is not"},
		"a place that overrides the weight": {func(c *externaldns.Config) {
			c.Geo, c.GeoProperties = true, map[string]map[string]string{"eu": {"aws/weight": "1"}}
		}, "aws/weight"},
	} {
		c := good
		tc.change(&c)
		if _, err := externaldns.New(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %s", what, err, tc.want)
		}
	}
}

func newProvider(t *testing.T, cfg externaldns.Config) *externaldns.Provider {
	t.Helper()
	p, err := externaldns.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func record(name, typ string, targets ...string) dns.Record {
	slices.Sort(targets)
	return dns.Record{Name: name, Type: typ, TTL: 60, Targets: targets}
}

func apply(t *testing.T, p *externaldns.Provider, changes dns.Changes) {
	t.Helper()
	if err := p.Apply(t.Context(), changes); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// wantRecords reads names and wants exactly want, in any order.
func wantRecords(t *testing.T, p *externaldns.Provider, names []string, want ...dns.Record) {
	t.Helper()
	got, err := p.Records(t.Context(), names)
	if err != nil {
		t.Fatalf("records: %v", err)
	}
	if !slices.EqualFunc(sorted(got), sorted(want), dns.Record.Equal) {
		t.Errorf("records at %v:\n got  %v\n want %v", names, sorted(got), sorted(want))
	}
}

func sorted(records []dns.Record) []dns.Record {
	out := slices.Clone(records)
	slices.SortFunc(out, func(a, b dns.Record) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func getObject(t *testing.T, objects dynamic.ResourceInterface, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := objects.Get(t.Context(), externaldns.ObjectName(name), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("object of %s: %v", name, err)
	}
	return obj
}

// wantEndpoints wants obj's spec.endpoints to read, in order,
// "dnsName recordType recordTTL [targets] "setIdentifier" [providerSpecific]".
func wantEndpoints(t *testing.T, obj *unstructured.Unstructured, want ...string) {
	t.Helper()
	entries, _, err := unstructured.NestedSlice(obj.Object, "spec", "endpoints")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		ep := e.(map[string]any)
		targets, _, _ := unstructured.NestedStringSlice(ep, "targets")
		var props []string
		list, _, _ := unstructured.NestedSlice(ep, "providerSpecific")
		for _, p := range list {
			props = append(props, fmt.Sprintf("%v=%v", p.(map[string]any)["name"], p.(map[string]any)["value"]))
		}
		ttl, _, _ := unstructured.NestedInt64(ep, "recordTTL")
		set, _, _ := unstructured.NestedString(ep, "setIdentifier")
		got = append(got, fmt.Sprintf("%v %v %d %v %q %v", ep["dnsName"], ep["recordType"], ttl, targets, set, props))
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s spec.endpoints:\n got  %q\n want %q", obj.GetName(), got, want)
	}
}

// beforeUpdate is the hub's client with hook run before each Update of a
// DNSEndpoint: another writer at a chosen moment.
type beforeUpdate struct {
	dynamic.Interface
	hook func(context.Context, *unstructured.Unstructured)
}

func (c beforeUpdate) Resource(gvr schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	return hookedResource{NamespaceableResourceInterface: c.Interface.Resource(gvr), hook: c.hook}
}

type hookedResource struct {
	dynamic.NamespaceableResourceInterface
	hook func(context.Context, *unstructured.Unstructured)
}

func (r hookedResource) Namespace(ns string) dynamic.ResourceInterface {
	return hookedUpdate{ResourceInterface: r.NamespaceableResourceInterface.Namespace(ns), hook: r.hook}
}

type hookedUpdate struct {
	dynamic.ResourceInterface
	hook func(context.Context, *unstructured.Unstructured)
}

func (u hookedUpdate) Update(ctx context.Context, obj *unstructured.Unstructured, opts metav1.UpdateOptions, sub ...string) (*unstructured.Unstructured, error) {
	u.hook(ctx, obj)
	return u.ResourceInterface.Update(ctx, obj, opts, sub...)
}
