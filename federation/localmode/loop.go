package localmode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/hub"
)

// Reconcile is one shell's step for one key: a FleetApp's "namespace/name"
// or a MemberCluster's name. It returns when to be called again for the key
// even if nothing changes (zero: only on the next event or resync); an
// error is retried with backoff.
type Reconcile func(ctx context.Context, key string) (next time.Time, err error)

// Shells are the reconcilers the loop drives. A nil shell is not run.
type Shells struct {
	// Placement places one FleetApp (key "namespace/name").
	Placement Reconcile
	// Deploy brings the members' Fn to one FleetApp's placement (key
	// "namespace/name").
	Deploy Reconcile
	// Lifecycle steps one MemberCluster (key: its name).
	Lifecycle Reconcile
	// Observation observes one MemberCluster (key: its name).
	Observation Reconcile
	// Pools checks one ClusterPool (key: its name).
	Pools Reconcile
}

// Loop defaults. The resync is the safety net for a lost event or a
// decision that depends on the clock alone (an idle TTL running out): 30 s
// bounds how late such a step can be without loading the hub (3 shells x a
// few objects every 30 s). Failures back off from 250 ms, doubling, to 30 s
// (8 tries to the cap), so a member that takes a minute to come up is asked
// about 10 times, not 600.
const (
	DefaultResync     = 30 * time.Second
	DefaultWorkers    = 2
	defaultBaseDelay  = 250 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// LoopConfig configures a Loop.
type LoopConfig struct {
	// Hub is the hub the informers watch.
	Hub *hub.Client
	// Shells are what the loop calls.
	Shells Shells
	// Workers is how many keys each shell works on at once (default 2).
	// A key is never worked on by two workers at once.
	Workers int
	// Resync is how often every key is handed to its shells again, events
	// or not (default 30 s).
	Resync time.Duration
	// MaxBackoff caps the delay before a failed key is retried (default
	// 30 s).
	MaxBackoff time.Duration
	// OnMembers, if set, is called with every MemberCluster the hub holds
	// after any of them changed (and once the informers synced), one call
	// at a time: for whoever shows the fleet (fleet.json, progress).
	OnMembers func([]*v1alpha1.MemberCluster)
	// Logger receives a line per reconcile; nil means slog.Default().
	Logger *slog.Logger
}

// Loop drives the fleet's shells from the hub: informers on FleetApps,
// MemberClusters and ClusterPools feed one rate-limited work queue per
// shell, as a controller manager would, in-process.
type Loop struct {
	cfg     LoopConfig
	log     *slog.Logger
	apps    cache.SharedIndexInformer
	member  cache.SharedIndexInformer
	poolInf cache.SharedIndexInformer
	queues  []*shellQueue
	// placement, deploy, lifecycle, observation and pools are queues[...]
	// or nil.
	placement, deploy, lifecycle, observation, pools *shellQueue
	// membersChanged wakes the OnMembers goroutine; it holds one token at
	// most, so a burst of changes makes one call.
	membersChanged chan struct{}
}

// shellQueue is one shell's work queue and reconcile func.
type shellQueue struct {
	name      string
	reconcile Reconcile
	queue     workqueue.TypedRateLimitingInterface[string]
}

// NewLoop builds a loop; Run starts it.
func NewLoop(cfg LoopConfig) (*Loop, error) {
	if cfg.Hub == nil {
		return nil, errors.New("loop: no hub")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	l := &Loop{cfg: cfg, log: cfg.Logger, membersChanged: make(chan struct{}, 1)}
	if l.log == nil {
		l.log = slog.Default()
	}
	rc := cfg.Hub.REST()
	// The informers' own resync (a replay of the cache) is off: Run's
	// resync enqueues every key itself, which is what the shells need.
	l.apps = cache.NewSharedIndexInformer(cache.NewListWatchFromClient(rc, "fleetapps", "", fields.Everything()), &v1alpha1.FleetApp{}, 0, cache.Indexers{})
	l.member = cache.NewSharedIndexInformer(cache.NewListWatchFromClient(rc, "memberclusters", "", fields.Everything()), &v1alpha1.MemberCluster{}, 0, cache.Indexers{})
	l.poolInf = cache.NewSharedIndexInformer(cache.NewListWatchFromClient(rc, "clusterpools", "", fields.Everything()), &v1alpha1.ClusterPool{}, 0, cache.Indexers{})

	newQueue := func(name string, r Reconcile) *shellQueue {
		if r == nil {
			return nil
		}
		limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[string](defaultBaseDelay, cfg.MaxBackoff)
		q := &shellQueue{name: name, reconcile: r, queue: workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[string]{Name: name})}
		l.queues = append(l.queues, q)
		return q
	}
	l.placement = newQueue("placement", cfg.Shells.Placement)
	l.deploy = newQueue("deploy", cfg.Shells.Deploy)
	l.lifecycle = newQueue("lifecycle", cfg.Shells.Lifecycle)
	l.observation = newQueue("observation", cfg.Shells.Observation)
	l.pools = newQueue("pools", cfg.Shells.Pools)

	handlers := []struct {
		inf cache.SharedIndexInformer
		on  func(obj any)
	}{
		{l.apps, l.appChanged},
		{l.member, l.memberChanged},
		{l.poolInf, l.poolChanged},
	}
	for _, h := range handlers {
		_, err := h.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    h.on,
			UpdateFunc: func(_, obj any) { h.on(obj) },
			DeleteFunc: h.on,
		})
		if err != nil {
			return nil, fmt.Errorf("loop: %w", err)
		}
	}
	return l, nil
}

// Run runs the informers, the workers and the resync until ctx ends, then
// shuts the queues down and returns once every worker has finished its
// current step. It returns an error only if the informers never synced.
func (l *Loop) Run(ctx context.Context) error {
	var informers sync.WaitGroup
	for _, inf := range []cache.SharedIndexInformer{l.apps, l.member, l.poolInf} {
		informers.Go(func() { inf.RunWithContext(ctx) })
	}
	defer informers.Wait()
	defer l.shutDown()

	if !cache.WaitForCacheSync(ctx.Done(), l.apps.HasSynced, l.member.HasSynced, l.poolInf.HasSynced) {
		return fmt.Errorf("loop: the hub's informers did not sync: %w", context.Cause(ctx))
	}
	l.log.Info("fleet loop started", "shells", len(l.queues), "workers", l.cfg.Workers, "resync", l.cfg.Resync)

	var workers sync.WaitGroup
	for _, q := range l.queues {
		for range l.cfg.Workers {
			workers.Go(func() { l.work(ctx, q) })
		}
	}
	if l.cfg.OnMembers != nil {
		l.signalMembers()
		workers.Go(func() { l.tellMembers(ctx) })
	}
	tick := time.NewTicker(l.cfg.Resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			l.shutDown()
			workers.Wait()
			l.log.Info("fleet loop stopped")
			return nil
		case <-tick.C:
			l.resync()
		}
	}
}

func (l *Loop) shutDown() {
	for _, q := range l.queues {
		q.queue.ShutDown()
	}
}

// work takes keys off q until it shuts down.
func (l *Loop) work(ctx context.Context, q *shellQueue) {
	for {
		key, quit := q.queue.Get()
		if quit {
			return
		}
		l.step(ctx, q, key)
		q.queue.Done(key)
	}
}

// step runs one reconcile and schedules the key's next one.
func (l *Loop) step(ctx context.Context, q *shellQueue, key string) {
	start := time.Now()
	next, err := q.reconcile(ctx, key)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		if ctx.Err() != nil {
			return // stopping: the error is the cancellation
		}
		retries := q.queue.NumRequeues(key)
		l.log.Warn("reconcile failed", "shell", q.name, "key", key, "took", took, "retries", retries, "err", err)
		q.queue.AddRateLimited(key)
		return
	}
	q.queue.Forget(key)
	if next.IsZero() {
		l.log.Debug("reconciled", "shell", q.name, "key", key, "took", took)
		return
	}
	after := time.Until(next)
	l.log.Debug("reconciled", "shell", q.name, "key", key, "took", took, "next", after.Round(time.Millisecond))
	q.queue.AddAfter(key, after)
}

// resync hands every key to its shells.
func (l *Loop) resync() {
	apps := l.appKeys()
	l.add(l.placement, apps...)
	l.add(l.deploy, apps...)
	members := l.memberKeys()
	l.add(l.lifecycle, members...)
	l.add(l.observation, members...)
	l.add(l.pools, l.poolInf.GetStore().ListKeys()...)
}

func (l *Loop) add(q *shellQueue, keys ...string) {
	if q == nil {
		return
	}
	for _, k := range keys {
		q.queue.Add(k)
	}
}

// appChanged: a FleetApp's placement and deploy (its placement changed,
// its spec, or it is being deleted), and every member's lifecycle (a
// cluster's parking depends on the apps placed on it).
func (l *Loop) appChanged(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		l.log.Warn("fleet loop: a FleetApp event without a key", "err", err)
		return
	}
	l.add(l.placement, key)
	l.add(l.deploy, key)
	l.add(l.lifecycle, l.memberKeys()...)
}

// memberChanged: the member's lifecycle and observation, and every app's
// placement (a member's phase and capacity are placement's input) and
// deploy (a member that came to serve, or moved its Fn endpoint, gets its
// apps; deploy calls no Fn API for an app whose records already match).
func (l *Loop) memberChanged(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		l.log.Warn("fleet loop: a MemberCluster event without a key", "err", err)
		return
	}
	l.add(l.lifecycle, key)
	l.add(l.observation, key)
	apps := l.appKeys()
	l.add(l.placement, apps...)
	l.add(l.deploy, apps...)
	l.signalMembers()
}

// poolChanged: the pool's own check, every app's placement (pools are
// where new capacity comes from) and the lifecycle of the pool's members
// (they take its policies).
func (l *Loop) poolChanged(obj any) {
	name, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		l.log.Warn("fleet loop: a ClusterPool event without a key", "err", err)
		return
	}
	l.add(l.pools, name)
	l.add(l.placement, l.appKeys()...)
	for _, mc := range l.Members() {
		if mc.Spec.PoolRef != nil && mc.Spec.PoolRef.Name == name {
			l.add(l.lifecycle, mc.Name)
		}
	}
}

func (l *Loop) appKeys() []string    { return l.apps.GetStore().ListKeys() }
func (l *Loop) memberKeys() []string { return l.member.GetStore().ListKeys() }

// Members returns the MemberClusters as the loop's informer last saw them.
// They are the cache's objects: read them, never change them.
func (l *Loop) Members() []*v1alpha1.MemberCluster {
	return listAs[*v1alpha1.MemberCluster](l.member.GetStore())
}

func listAs[T runtime.Object](s cache.Store) []T {
	objs := s.List()
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func (l *Loop) signalMembers() {
	if l.cfg.OnMembers == nil {
		return
	}
	select {
	case l.membersChanged <- struct{}{}:
	default:
	}
}

// tellMembers calls OnMembers after each change, one call at a time.
func (l *Loop) tellMembers(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.membersChanged:
			l.cfg.OnMembers(l.Members())
		}
	}
}
