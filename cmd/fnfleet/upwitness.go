package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/hub"
)

// witness prints, as it happens, which function wrote what in the hub: each
// FleetApp's and MemberCluster's managedFields name the field manager of
// every field, and each function writes as a manager of its own
// (fnfleet-placement, fnfleet-lifecycle...; up itself is fnfleet-up). A line is printed when a manager first writes an
// object, and when the set of fields it owns there changes; a rewrite of
// the same fields (a heartbeat) prints nothing. It reads; it decides
// nothing.
type witness struct {
	s    *story
	stop context.CancelFunc
	done sync.WaitGroup

	mu   sync.Mutex
	seen map[string]string // "kind/name/manager/subresource" -> the fields it owned
}

// startWitness watches the hub's FleetApps and MemberClusters until stop.
func startWitness(ctx context.Context, hc *hub.Client, s *story) (*witness, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &witness{s: s, stop: cancel, seen: map[string]string{}}
	for _, kind := range []struct {
		resource, name string
		obj            runtime.Object
	}{
		{"fleetapps", "FleetApp", &v1alpha1.FleetApp{}},
		{"memberclusters", "MemberCluster", &v1alpha1.MemberCluster{}},
	} {
		inf := cache.NewSharedIndexInformer(cache.NewListWatchFromClient(hc.REST(), kind.resource, "", fields.Everything()), kind.obj, 0, cache.Indexers{})
		on := func(obj any) {
			if o, ok := obj.(metav1.Object); ok {
				w.saw(kind.name, o)
			}
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: on, UpdateFunc: func(_, obj any) { on(obj) }}); err != nil {
			cancel()
			return nil, fmt.Errorf("watch the hub's %s: %w", kind.resource, err)
		}
		w.done.Go(func() { inf.RunWithContext(ctx) })
	}
	return w, nil
}

// close stops the watch.
func (w *witness) close() {
	w.stop()
	w.done.Wait()
}

// saw prints what changed in o's managed fields.
func (w *witness) saw(kind string, o metav1.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range o.GetManagedFields() {
		owned := ownedFields(e)
		key := strings.Join([]string{kind, o.GetNamespace(), o.GetName(), e.Manager, e.Subresource}, "/")
		if w.seen[key] == owned {
			continue
		}
		w.seen[key] = owned
		name := o.GetName()
		if ns := o.GetNamespace(); ns != "" {
			name = ns + "/" + name
		}
		w.s.say("      %6.1fs  %-10s wrote %s %s: %s", time.Since(w.s.start).Seconds(), function(e.Manager), kind, name, owned)
	}
}

// function names the writer behind a field manager: the function for
// fnfleet-<function> (up for this command, localmode.FieldManager), else
// the manager as it is (fnfleet: a hub client that names no manager).
func function(manager string) string {
	if f, ok := strings.CutPrefix(manager, "fnfleet-"); ok {
		return f
	}
	return manager
}

// ownedFields lists the fields an entry owns: spec, metadata and each
// status field (status.phase, status.conditions...), sorted.
func ownedFields(e metav1.ManagedFieldsEntry) string {
	if e.FieldsV1 == nil {
		return "-"
	}
	var set map[string]map[string]json.RawMessage
	if err := json.Unmarshal(e.FieldsV1.GetRawBytes(), &set); err != nil {
		return "-"
	}
	var out []string
	for top, sub := range set {
		top = strings.TrimPrefix(top, "f:")
		if top != "status" {
			out = append(out, top)
			continue
		}
		for k := range sub {
			if k == "." { // the status field itself, not one of its fields
				continue
			}
			out = append(out, "status."+strings.TrimPrefix(k, "f:"))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
