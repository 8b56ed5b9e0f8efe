package localmode

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/tools/cache"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// watchMembers keeps fleet.json's members as the hub's MemberClusters are,
// until Close: an informer, and a goroutine that rewrites the file after
// each change (a burst of changes makes one rewrite). It shows the fleet;
// it decides nothing. It returns once the informer has synced and the
// first rewrite is done.
func (f *Fleet) watchMembers(ctx context.Context) error {
	inf := cache.NewSharedIndexInformer(
		cache.NewListWatchFromClient(f.HubClient.REST(), "memberclusters", "", fields.Everything()),
		&v1alpha1.MemberCluster{}, 0, cache.Indexers{})
	changed := make(chan struct{}, 1)
	signal := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: signal, UpdateFunc: func(_, obj any) { signal(obj) }, DeleteFunc: signal,
	}); err != nil {
		return fmt.Errorf("local fleet: watch members: %w", err)
	}
	// The watch lives until Close, not until ctx ends.
	watchCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	f.stopWatch, f.watchEnded = stop, make(chan struct{})
	informerEnded := make(chan struct{})
	go func() {
		defer close(informerEnded)
		inf.RunWithContext(watchCtx)
	}()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		stop()
		<-informerEnded
		close(f.watchEnded)
		return fmt.Errorf("local fleet: watch members: the hub's informer did not sync: %w", context.Cause(ctx))
	}
	f.membersChanged(inf.GetStore())
	go func() {
		defer close(f.watchEnded)
		defer func() { <-informerEnded }()
		for {
			select {
			case <-watchCtx.Done():
				return
			case <-changed:
				f.membersChanged(inf.GetStore())
			}
		}
	}()
	return nil
}

// membersChanged rewrites fleet.json's members from the informer's
// MemberClusters and tells OnMembers.
func (f *Fleet) membersChanged(store cache.Store) {
	var members []FleetMember
	for _, obj := range store.List() {
		mc, ok := obj.(*v1alpha1.MemberCluster)
		if !ok {
			continue
		}
		m := FleetMember{Name: mc.Name, Region: mc.Spec.Region, Phase: string(mc.Status.Phase), FnURL: mc.Status.FnEndpoint}
		if mc.Spec.PoolRef != nil {
			m.Pool = mc.Spec.PoolRef.Name
		}
		if c, err := f.provider.Open(mc.Name); err == nil {
			if _, err := os.Stat(c.KubeconfigPath); err == nil {
				m.Kubeconfig = c.KubeconfigPath
			}
		}
		members = append(members, m)
	}
	slices.SortFunc(members, func(a, b FleetMember) int { return strings.Compare(a.Name, b.Name) })
	if err := f.update(func(ff *FleetFile) { ff.Members = members }); err != nil {
		f.log.Error("fleet file not rewritten", "err", err)
	}
	if f.onChange != nil {
		f.onChange(slices.Clone(members))
	}
}
