package control_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
)

// The lifecycle shell's bookkeeping in the hub, on a real hub: what it
// writes to pools and finalizers, with a provider that creates nothing (the
// writes are the subject, and they come before any create).
func TestLifecycleBookkeeping(t *testing.T) {
	b := newBed(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	l := b.lifecycle(t, refusing{}, nil)

	// Ten clusters asking a pool of three at once, two callers each: three
	// are admitted, seven wait in Pending and say why.
	t.Run("maxClusters holds under concurrency", func(t *testing.T) {
		pool, err := b.hub.CreateClusterPool(ctx, localPool("three", 3))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for i := range 10 {
			name := fmt.Sprintf("three-%d", i)
			names = append(names, name)
			if _, err := b.hub.CreateMemberCluster(ctx, control.MemberFromPool(name, pool, nil)); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for _, name := range append(slices.Clone(names), names...) {
			wg.Go(func() { _, _ = l.Reconcile(ctx, name) })
		}
		wg.Wait()
		if p, err := b.hub.GetClusterPool(ctx, "three"); err != nil || len(p.Status.Admitted) > 3 {
			t.Fatalf("admitted %v (%v) after 20 concurrent calls, want at most 3", p.Status.Admitted, err)
		}
		// A call that lost every one of its conflict retries returned an
		// error, which a caller retries: so does the test, until every
		// cluster has a phase.
		for _, name := range names {
			for {
				_, _ = l.Reconcile(ctx, name) // the admitted fail to create: refusing{}
				if mc, err := b.hub.GetMemberCluster(ctx, name); err == nil && mc.Status.Phase != "" {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("%s has no phase in time", name)
				}
			}
		}
		p, err := b.hub.GetClusterPool(ctx, "three")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Status.Admitted) != 3 {
			t.Fatalf("admitted %v, want exactly 3 of 10 for maxClusters 3", p.Status.Admitted)
		}
		for _, name := range names {
			mc, err := b.hub.GetMemberCluster(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			admitted := slices.Contains(p.Status.Admitted, name)
			c := apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ClusterProvisioned)
			switch {
			case admitted && mc.Status.Phase == v1alpha1.PhasePending:
				t.Errorf("%s admitted but still Pending", name)
			case !admitted && (mc.Status.Phase != v1alpha1.PhasePending || c == nil || c.Reason != "PoolFull" || !strings.Contains(c.Message, "maxClusters 3")):
				t.Errorf("%s: phase %s, Provisioned %+v; want Pending, PoolFull naming maxClusters 3", name, mc.Status.Phase, c)
			}
		}
	})

	// A pool whose status was lost (a restore from backup, a hand edit)
	// still counts the clusters that exist past Pending.
	t.Run("a lost pool status does not let maxClusters be exceeded", func(t *testing.T) {
		p, err := b.hub.GetClusterPool(ctx, "three")
		if err != nil {
			t.Fatal(err)
		}
		holders := slices.Clone(p.Status.Admitted)
		p.Status.Admitted = nil
		if _, err := b.hub.UpdateClusterPoolStatus(ctx, p); err != nil {
			t.Fatal(err)
		}
		waiting := ""
		for i := range 10 {
			if name := fmt.Sprintf("three-%d", i); !slices.Contains(holders, name) {
				waiting = name
				break
			}
		}
		if _, err := l.Reconcile(ctx, waiting); err != nil {
			t.Fatal(err)
		}
		mc, err := b.hub.GetMemberCluster(ctx, waiting)
		if err != nil {
			t.Fatal(err)
		}
		if c := apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ClusterProvisioned); mc.Status.Phase != v1alpha1.PhasePending || c == nil || c.Reason != "PoolFull" {
			t.Errorf("%s with the pool's status lost: phase %s, Provisioned %+v; want Pending, PoolFull", waiting, mc.Status.Phase, c)
		}
		if p, _ := b.hub.GetClusterPool(ctx, "three"); len(p.Status.Admitted) > 3 {
			t.Errorf("admitted %v, want at most 3", p.Status.Admitted)
		}
	})

	// A window the API lets through (its zone is shaped like an IANA name)
	// but the zone database does not know: the pool says so as soon as it
	// is checked, before it has a cluster, and so does each of its
	// clusters, each with one Event.
	t.Run("a window with an unknown zone is named on the pool and its clusters", func(t *testing.T) {
		spec := localPool("mars", 1)
		spec.Spec.Parking = &v1alpha1.ParkingPolicy{Windows: []v1alpha1.ParkingWindow{{
			Start: "0 20 * * *", Duration: metav1.Duration{Duration: time.Hour}, TimeZone: "Mars/Olympus"}}}
		pool, err := b.hub.CreateClusterPool(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		pools, err := control.NewPools(b.hub, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second check writes nothing and records no second Event
			if _, err := pools.Reconcile(ctx, "mars"); err != nil {
				t.Fatal(err)
			}
		}
		const says = `window 0 ("0 20 * * *", Mars/Olympus): unknown time zone "Mars/Olympus"`
		got, err := b.hub.GetClusterPool(ctx, "mars")
		if err != nil {
			t.Fatal(err)
		}
		if c := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionWindowsValid); c == nil || c.Status != metav1.ConditionFalse ||
			!strings.Contains(c.Message, says) || !strings.Contains(c.Message, "parks only when idle") {
			t.Errorf("pool WindowsValid %+v, want False naming the window and what parking does meanwhile", c)
		}
		warned(t, ctx, b, "ClusterPool", "mars", says)

		if _, err := b.hub.CreateMemberCluster(ctx, control.MemberFromPool("mars-1", pool, nil)); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			_, _ = l.Reconcile(ctx, "mars-1") // the provider refuses to create; the conditions are written
		}
		mc, err := b.hub.GetMemberCluster(ctx, "mars-1")
		if err != nil {
			t.Fatal(err)
		}
		if c := apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ConditionWindowsValid); c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, says) {
			t.Errorf("cluster WindowsValid %+v, want False naming the window", c)
		}
		warned(t, ctx, b, "MemberCluster", "mars-1", says)
	})

	// A cluster whose provider this fnfleet has not wired (capi, here) is
	// never taken for gone: deleting it keeps the finalizer, and says why.
	t.Run("an unconfigured provider keeps the finalizer", func(t *testing.T) {
		mc := &v1alpha1.MemberCluster{
			ObjectMeta: metav1.ObjectMeta{Name: "cloud-1", Finalizers: []string{control.Finalizer}},
			Spec:       v1alpha1.MemberClusterSpec{Provider: v1alpha1.ProviderSpec{Name: "capi"}, Region: "eu-west"},
		}
		if _, err := b.hub.CreateMemberCluster(ctx, mc); err != nil {
			t.Fatal(err)
		}
		if err := b.hub.DeleteMemberCluster(ctx, "cloud-1"); err != nil {
			t.Fatal(err)
		}
		_, err := l.Reconcile(ctx, "cloud-1")
		if err == nil || !strings.Contains(err.Error(), "provider capi is not configured") {
			t.Errorf("Reconcile = %v, want an error naming the unconfigured provider", err)
		}
		got, err := b.hub.GetMemberCluster(ctx, "cloud-1")
		if err != nil {
			t.Fatalf("the MemberCluster is gone (%v): its cloud cluster would be stranded", err)
		}
		c := apimeta.FindStatusCondition(got.Status.Conditions, v1alpha1.ClusterProvisioned)
		if !slices.Contains(got.Finalizers, control.Finalizer) || c == nil || c.Reason != control.ReasonProviderNotConfigured ||
			!strings.Contains(c.Message, "deletion waits") {
			t.Errorf("finalizers %v, Provisioned %+v; want the finalizer kept and a condition saying why", got.Finalizers, c)
		}
		// The test's own cleanup: as a person who deleted the cloud
		// cluster by hand would.
		if _, err := b.hub.SetMemberClusterFinalizers(ctx, "cloud-1", got.ResourceVersion, nil); err != nil {
			t.Fatal(err)
		}
	})

	// The finalizer is written as a patch at the version read, not a PUT
	// of the object this fnfleet's types know: a field a newer fnfleet
	// added survives.
	t.Run("the finalizer write keeps fields this fnfleet does not know", func(t *testing.T) {
		addSpecField(t, ctx, b, "futureField")
		raw := `{"apiVersion":"fnfleet.dev/v1alpha1","kind":"MemberCluster","metadata":{"name":"newer"},` +
			`"spec":{"provider":{"name":"local"},"region":"eu-west","futureField":"kept"}}`
		createRaw(t, ctx, b, raw, "futureField")
		_, _ = l.Reconcile(ctx, "newer") // the provider refuses to create; the finalizer comes first
		body, err := b.hub.REST().Get().Resource("memberclusters").Name("newer").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var obj struct {
			Metadata struct{ Finalizers []string } `json:"metadata"`
			Spec     map[string]any                `json:"spec"`
		}
		if err := json.Unmarshal(body, &obj); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(obj.Metadata.Finalizers, control.Finalizer) || obj.Spec["futureField"] != "kept" {
			t.Errorf("finalizers %v, spec.futureField %v; want the finalizer added and the field kept", obj.Metadata.Finalizers, obj.Spec["futureField"])
		}
	})
}

// warned checks that exactly one Warning Event about kind name says says.
func warned(t *testing.T, ctx context.Context, b *bed, kind, name, says string) {
	t.Helper()
	events, err := b.hub.Events(ctx, kind, name)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Type == "Warning" && e.Reason == "InvalidWindow" && strings.Contains(e.Message, says) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d InvalidWindow Events on %s %s, want 1: %+v", n, kind, name, events)
	}
}

// addSpecField adds a string field to the MemberCluster CRD's spec, as a
// newer fnfleet's CRD would have it.
func addSpecField(t *testing.T, ctx context.Context, b *bed, field string) {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(b.hubKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	crds := apiextensions.NewForConfigOrDie(cfg).ApiextensionsV1().CustomResourceDefinitions()
	const name = "memberclusters.fnfleet.dev"
	for {
		crd, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		spec := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
		spec.Properties[field] = apiextensionsv1.JSONSchemaProps{Type: "string"}
		crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = spec
		_, err = crds.Update(ctx, crd, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
}

// createRaw creates the MemberCluster raw once the apiserver serves a
// schema that keeps every field of it: a CRD change reaches the serving
// handler a moment after the write, and until then a create prunes the
// new field. A dry-run create shows what would be stored.
func createRaw(t *testing.T, ctx context.Context, b *bed, raw, field string) {
	t.Helper()
	for {
		out, err := b.hub.REST().Post().Resource("memberclusters").Param("dryRun", "All").Body([]byte(raw)).
			SetHeader("Content-Type", "application/json").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), `"`+field+`"`) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the CRD change was not served in time")
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := b.hub.REST().Post().Resource("memberclusters").Body([]byte(raw)).SetHeader("Content-Type", "application/json").Do(ctx).Error(); err != nil {
		t.Fatal(err)
	}
}
