// Package eventsource turns changes in the hub into CloudEvents: informers
// on FleetApps, MemberClusters and ClusterPools, one rate-limited work
// queue keyed by (event type, subject), and a Sender. It is what runs as
// `fnfleet event-source`: localmode.Loop turned into a sender.
//
// Changes (pure) says which catalog types a change of one object means;
// only changes a handler acts on count (a spec generation, labels, a
// phase, a condition's status or reason), never a heartbeat, so a quiet
// fleet sends nothing. A burst of changes to one object coalesces: the
// queue holds a key once, and the event is built when it is sent, from the
// informer's latest object, so it carries the latest resourceVersion in
// its id (events.ChangeID). A handler's "ask again at" re-delivers the
// event then; a send that fails short of a final rejection is retried with
// backoff. On start the informers' list sends every object once. See
// docs/events.md, "The event source".
package eventsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/hub"
)

// Sender delivers one event, as (*events.Sender).Send does: an error that
// is an *events.DeadLetter says why it gave up, and one with reason
// rejected or invalid is final.
type Sender interface {
	Send(ctx context.Context, e event.Event) (events.Outcome, error)
}

var _ Sender = (*events.Sender)(nil)

// Hub is what the source watches: the hub's REST client for the fnfleet
// API group (hub.Client).
type Hub interface {
	REST() rest.Interface
}

var _ Hub = (*hub.Client)(nil)

// Defaults of a Config.
const (
	// defaultCoalesce: after an object's event of a type goes, its
	// changes of the next 1 s make one more event, at the end of that
	// second. A burst (kubectl apply in a loop, lifecycle writing phase
	// then conditions, 50 updates at the hub's ~5-20 ms each) is well
	// under a second: two events. A change on its own is sent at once:
	// apply -> answering crosses the event source twice (the app's
	// change, then its decision), and a second's wait at each crossing
	// was 2 of the 2.1 s it took (BenchmarkApplyToAnswering).
	defaultCoalesce = time.Second
	// defaultWorkers: sends in flight at once. A send lasts as long as the
	// handler's step (10-100 ms of hub calls), so 4 send a relist of 1,000
	// objects in under 30 s without crowding the events function.
	defaultWorkers = 4
	// A failed send is retried after 1 s, doubling, at most 5 min: an
	// events.Sender has already retried for up to 111 s before it gave
	// up, and each give-up is a dead letter, so the source waits longer
	// rather than fill the log while the sink is down (one line per key
	// per ~7 min at the cap).
	defaultRetryBase = time.Second
	defaultRetryMax  = 5 * time.Minute
	// defaultShutdownGrace: how long Run waits for sends in flight once
	// its context ends, before cancelling them: under Kubernetes' default
	// terminationGracePeriodSeconds (30 s).
	defaultShutdownGrace = 25 * time.Second
	// minAskAgain: a handler asking again sooner (or in the past) is
	// answered after 1 s, so a handler that asks at once cannot make the
	// source send in a loop.
	minAskAgain = time.Second
)

// Config configures a Source.
type Config struct {
	// Hub is the hub to watch.
	Hub Hub
	// Sender delivers the events (an *events.Sender).
	Sender Sender
	// Coalesce is the shortest time between two events of one type about
	// one object (default 1 s): a change is sent at once when the last
	// such event went longer ago than that, else at the end of the window,
	// with every change made within it.
	Coalesce time.Duration
	// Workers is how many sends may be in flight at once (default 4). A
	// key is never sent by two workers at once.
	Workers int
	// RetryBase and RetryMax bound the backoff before a failed send is
	// tried again (default 1 s, doubling, at most 5 min).
	RetryBase, RetryMax time.Duration
	// ShutdownGrace is how long Run waits for sends in flight once its
	// context ends before it cancels them (default 25 s).
	ShutdownGrace time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// key is one event waiting to be sent: a burst of changes to one object
// is one key, so one event.
type key struct {
	typ, subject string
}

// note is what an event needs that the informer's latest object cannot
// say: what changed (cluster.changed), the phase that failed
// (cluster.failed), and the last state of an object that is gone. Notes
// of one key merge until it is sent.
type note struct {
	what []string
	from v1alpha1.ClusterPhase
	gone runtime.Object
}

func (n *note) merge(o *note) {
	for _, w := range o.what {
		if !slices.Contains(n.what, w) {
			n.what = append(n.what, w)
		}
	}
	if n.from == "" {
		n.from = o.from
	}
	if n.gone == nil {
		n.gone = o.gone
	}
}

// Source sends the hub's changes as events. Build it with New, run it
// with Run, once.
type Source struct {
	cfg       Config
	log       *slog.Logger
	informers map[string]cache.SharedIndexInformer // by kind
	queue     workqueue.TypedRateLimitingInterface[key]

	mu    sync.Mutex
	notes map[key]*note
	sent  map[key]time.Time // when each key's last event was built, within Coalesce
}

// New builds a source; Run starts it.
func New(cfg Config) (*Source, error) {
	switch {
	case cfg.Hub == nil:
		return nil, errors.New("event source: no hub")
	case cfg.Sender == nil:
		return nil, errors.New("event source: no sender")
	}
	if cfg.Coalesce <= 0 {
		cfg.Coalesce = defaultCoalesce
	}
	if cfg.Workers <= 0 {
		cfg.Workers = defaultWorkers
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = defaultRetryBase
	}
	if cfg.RetryMax < cfg.RetryBase {
		cfg.RetryMax = max(defaultRetryMax, cfg.RetryBase)
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = defaultShutdownGrace
	}
	s := &Source{cfg: cfg, log: cfg.Logger, informers: map[string]cache.SharedIndexInformer{}, notes: map[key]*note{}, sent: map[key]time.Time{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", events.EventSource)
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[key](cfg.RetryBase, cfg.RetryMax)
	s.queue = workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[key]{Name: events.EventSource})

	rc := cfg.Hub.REST()
	for _, w := range []struct {
		kind, resource string
		obj            runtime.Object
	}{
		{events.KindFleetApp, "fleetapps", &v1alpha1.FleetApp{}},
		{events.KindMemberCluster, "memberclusters", &v1alpha1.MemberCluster{}},
		{events.KindClusterPool, "clusterpools", &v1alpha1.ClusterPool{}},
	} {
		// No informer resync (a replay of the cache): it would change
		// nothing, so send nothing; the scheduler's resync tick is the
		// safety net for what events miss.
		inf := cache.NewSharedIndexInformer(cache.NewListWatchFromClient(rc, w.resource, "", fields.Everything()), w.obj, 0, cache.Indexers{})
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { s.observe(nil, obj) },
			UpdateFunc: s.observe,
			DeleteFunc: func(obj any) { s.observe(obj, nil) },
		})
		if err != nil {
			return nil, fmt.Errorf("event source: watch %s: %w", w.resource, err)
		}
		s.informers[w.kind] = inf
	}
	return s, nil
}

// Run watches the hub and sends until ctx ends; then it stops taking keys,
// waits up to ShutdownGrace for the sends in flight, cancels what is left
// and returns. It returns an error only if the informers never synced.
func (s *Source) Run(ctx context.Context) error {
	var informers sync.WaitGroup
	defer informers.Wait()
	synced := make([]cache.InformerSynced, 0, len(s.informers))
	for _, inf := range s.informers {
		informers.Go(func() { inf.RunWithContext(ctx) })
		synced = append(synced, inf.HasSynced)
	}
	// Sends outlive ctx by up to ShutdownGrace: a send cut short is a dead
	// letter of reason cancelled for an event the sink may have handled.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		s.queue.ShutDown()
		return fmt.Errorf("event source: the hub's informers did not sync: %w", context.Cause(ctx))
	}
	s.log.InfoContext(ctx, "event source started", "workers", s.cfg.Workers, "coalesce", s.cfg.Coalesce)

	var workers sync.WaitGroup
	for range s.cfg.Workers {
		workers.Go(func() { s.work(sendCtx) })
	}
	<-ctx.Done()
	s.queue.ShutDown()
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	grace := time.NewTimer(s.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		s.log.Warn("event source: sends still in flight after the shutdown grace; cancelling them", "grace", s.cfg.ShutdownGrace)
		cancelSends()
		<-done
	}
	s.log.Info("event source stopped")
	return nil
}

// observe turns one informer notification into keys: old is nil for an
// object added (or listed), new is nil for one deleted.
func (s *Source) observe(old, new any) {
	o, n := object(old), object(new)
	c := diff(o, n)
	if len(c.types) == 0 {
		return
	}
	obj := n
	if obj == nil {
		obj = o
	}
	subject, err := cache.MetaNamespaceKeyFunc(obj)
	if err != nil {
		s.log.Warn("event source: an object without a key", "err", err)
		return
	}
	for _, typ := range c.types {
		k := key{typ, subject}
		nt := &note{}
		switch typ {
		case events.TypeClusterChanged:
			nt.what = c.what
		case events.TypeClusterFailed:
			nt.from = c.from
		}
		if n == nil {
			nt.gone = o
		}
		s.remember(k, nt)
		// A key already waiting keeps its earlier time.
		s.queue.AddAfter(k, s.wait(k))
	}
}

// object unwraps an informer's notification; the objects are the cache's,
// read-only.
func object(obj any) runtime.Object {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	o, _ := obj.(runtime.Object)
	return o
}

// remember merges n into k's note.
func (s *Source) remember(k key, n *note) {
	if len(n.what) == 0 && n.from == "" && n.gone == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.notes[k]; ok {
		cur.merge(n)
		return
	}
	s.notes[k] = n
}

// wait is how long a change of k waits before its event goes: nothing
// when k's last event went Coalesce ago or longer, else the rest of that
// window.
func (s *Source) wait(k key) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.sent[k]
	if !ok {
		return 0
	}
	if since := time.Since(last); since < s.cfg.Coalesce {
		return s.cfg.Coalesce - since
	}
	delete(s.sent, k)
	return 0
}

// take removes and returns k's note (empty when there is none), and
// records that k's event goes now. The record of a key that saw no change
// since is dropped once a thousand are kept: it only matters for Coalesce.
func (s *Source) take(k key) *note {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.sent[k] = now
	if len(s.sent) > 1000 {
		for other, at := range s.sent {
			if now.Sub(at) >= s.cfg.Coalesce {
				delete(s.sent, other)
			}
		}
	}
	n, ok := s.notes[k]
	if !ok {
		return &note{}
	}
	delete(s.notes, k)
	return n
}

// work sends keys until the queue shuts down.
func (s *Source) work(ctx context.Context) {
	for {
		k, quit := s.queue.Get()
		if quit {
			return
		}
		s.send(ctx, k)
		s.queue.Done(k)
	}
}

// send builds k's event from the latest state and sends it, then
// schedules what the outcome asks for: nothing, a re-delivery at the
// handler's time, or a retry with backoff.
func (s *Source) send(ctx context.Context, k key) {
	n := s.take(k)
	e, ok, err := s.build(k, n)
	if err != nil {
		// The catalog refused the event: a bug here, which no retry mends.
		s.log.ErrorContext(ctx, "event source: cannot build the event", "type", k.typ, "subject", k.subject, "err", err)
		s.queue.Forget(k)
		return
	}
	if !ok {
		s.log.DebugContext(ctx, "event source: nothing to send any more", "type", k.typ, "subject", k.subject)
		s.queue.Forget(k)
		return
	}
	out, err := s.cfg.Sender.Send(ctx, e)
	if err != nil {
		var dl *events.DeadLetter
		if errors.As(err, &dl) && (dl.Reason == events.ReasonRejected || dl.Reason == events.ReasonInvalid) {
			// Final, and already dead-lettered by the sender: the same
			// bytes would be refused again.
			s.log.WarnContext(ctx, "event source: event refused for good", "event_id", e.ID(), "event_type", e.Type(), "reason", dl.Reason)
			s.queue.Forget(k)
			return
		}
		if ctx.Err() != nil {
			return // shutting down: the next start's relist sends it again
		}
		s.remember(k, n)
		s.log.WarnContext(ctx, "event source: event not sent; retrying", "event_id", e.ID(), "event_type", e.Type(),
			"retries", s.queue.NumRequeues(k), "err", err)
		s.queue.AddRateLimited(k)
		return
	}
	s.queue.Forget(k)
	if out.AskAgainAt.IsZero() {
		s.log.DebugContext(ctx, "event sent", "event_id", e.ID(), "event_type", e.Type(), "attempts", out.Attempts)
		return
	}
	after := max(time.Until(out.AskAgainAt), minAskAgain)
	s.log.DebugContext(ctx, "event sent; the handler asks again later", "event_id", e.ID(), "event_type", e.Type(),
		"ask_again_at", out.AskAgainAt, "after", after.Round(time.Millisecond))
	s.remember(k, n)
	s.queue.AddAfter(k, after)
}

// build makes k's event from the informer's latest object (or, once the
// object is gone, its last state): false when the event no longer applies
// (a cluster.ready for a cluster no longer Ready: its move away made its
// own event).
func (s *Source) build(k key, n *note) (event.Event, bool, error) {
	spec, ok := events.Lookup(k.typ)
	if !ok {
		return event.Event{}, false, fmt.Errorf("build event %s: %w", k.typ, events.ErrUnknownType)
	}
	live := s.lookup(spec.Object, k.subject)
	obj := live
	if obj == nil || (k.typ == events.TypeAppDeleted && n.gone != nil) {
		// An app deleted then created again under its name still owes the
		// deletion: deploy removes the old app's Fn apps.
		obj = n.gone
	}
	if obj == nil {
		return event.Event{}, false, nil
	}
	payload, ok := payloadOf(k.typ, obj, live != nil && obj == live, n)
	if !ok {
		return event.Event{}, false, nil
	}
	rv := resourceVersion(obj)
	e, err := events.New(k.typ, events.ChangeID(k.typ, k.subject, rv), k.subject, time.Now(), payload)
	if err != nil {
		return event.Event{}, false, fmt.Errorf("build event %s for %s: %w", k.typ, k.subject, err)
	}
	return e, true, nil
}

// lookup reads the informer's cache; nil when the object is not there.
func (s *Source) lookup(kind, subject string) runtime.Object {
	inf, ok := s.informers[kind]
	if !ok {
		return nil
	}
	obj, exists, err := inf.GetStore().GetByKey(subject)
	if err != nil || !exists {
		return nil
	}
	o, _ := obj.(runtime.Object)
	return o
}

func resourceVersion(obj runtime.Object) string {
	if m, ok := obj.(interface{ GetResourceVersion() string }); ok {
		return m.GetResourceVersion()
	}
	return ""
}

// payloadOf is typ's payload for obj, false when typ no longer applies to
// it. live says obj is in the hub (not a deleted object's last state).
func payloadOf(typ string, obj runtime.Object, live bool, n *note) (any, bool) {
	switch o := obj.(type) {
	case *v1alpha1.FleetApp:
		switch typ {
		case events.TypeAppChanged:
			return events.AppChanged{Generation: o.Generation, ResourceVersion: o.ResourceVersion}, live
		case events.TypeAppPlaced:
			return events.AppPlaced{Clusters: clustersOf(o), ResourceVersion: o.ResourceVersion}, live
		case events.TypeAppDeleted:
			return events.AppDeleted{Clusters: clustersOf(o)}, !live || o.DeletionTimestamp != nil
		}
	case *v1alpha1.MemberCluster:
		switch typ {
		case events.TypeClusterChanged:
			what := slices.Clone(n.what)
			slices.Sort(what)
			if what == nil {
				what = []string{}
			}
			return events.ClusterChanged{Generation: o.Generation, ResourceVersion: o.ResourceVersion, Changed: what}, true
		case events.TypeClusterReady:
			return events.ClusterReady{FnEndpoint: o.Status.FnEndpoint, ResourceVersion: o.ResourceVersion},
				live && o.Status.Phase == v1alpha1.PhaseReady
		case events.TypeClusterParked:
			return events.ClusterParked{Mode: string(parkingMode(o)), ResourceVersion: o.ResourceVersion},
				live && o.Status.Phase == v1alpha1.PhaseParked
		case events.TypeClusterFailed:
			return events.ClusterFailed{From: string(n.from), Message: failure(o), ResourceVersion: o.ResourceVersion},
				live && o.Status.Phase == v1alpha1.PhaseFailed
		}
	case *v1alpha1.ClusterPool:
		if typ == events.TypePoolChanged {
			return events.PoolChanged{Generation: o.Generation, ResourceVersion: o.ResourceVersion}, true
		}
	}
	return nil, false
}

// clustersOf is the app's placement, sorted.
func clustersOf(app *v1alpha1.FleetApp) []string {
	var cs []string
	for _, p := range app.Status.Placement {
		cs = append(cs, p.Cluster)
	}
	slices.Sort(cs)
	return cs
}

// parkingMode is the mode lifecycle parks with: the API's default, Stop,
// when the cluster has no policy.
func parkingMode(mc *v1alpha1.MemberCluster) v1alpha1.ParkingMode {
	if p := mc.Spec.Parking; p != nil && p.Mode != "" {
		return p.Mode
	}
	return v1alpha1.ParkingStop
}

// failure is the message of the condition that failed the cluster: the
// False one that turned last (lifecycle keeps it as it was on failing).
func failure(mc *v1alpha1.MemberCluster) string {
	msg, at := "", time.Time{}
	for _, c := range mc.Status.Conditions {
		if c.Status == metav1.ConditionFalse && !c.LastTransitionTime.Time.Before(at) {
			msg, at = c.Message, c.LastTransitionTime.Time
		}
	}
	return msg
}
