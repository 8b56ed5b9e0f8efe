package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/hub"
)

type reconcileShell struct {
	observation *control.Observation
	hub         *hub.Client
	log         *slog.Logger
}

// NewReconcile returns the reconcile function: it looks at every member
// (control.Observation: heartbeat, health probes, capacity), fanOutLimit
// at a time, each within memberTimeout, and writes only what changed.
// JSON: {} for every member or {"cluster":"<name>"} for one, answered
// with a summary. Events: reconcile.due.
func NewReconcile() fdk.Handler {
	return &function[*reconcileShell]{name: Reconcile, build: buildReconcile, event: reconcileEvent, json: reconcileJSON}
}

func buildReconcile(cfg config) (*reconcileShell, error) {
	h, _, log, err := cfg.hub(Reconcile)
	if err != nil {
		return nil, err
	}
	o, err := control.NewObservation(control.ObservationConfig{Hub: h, Logger: log})
	if err != nil {
		return nil, err
	}
	return &reconcileShell{observation: o, hub: h, log: log}, nil
}

// ReconcileAnswer is reconcile's summary.
type ReconcileAnswer struct {
	// Looked counts the members looked at; Failed lists those whose look
	// could not be recorded, with why.
	Looked  int               `json:"looked"`
	Failed  map[string]string `json:"failed,omitempty"`
	Members []MemberHealth    `json:"members"`
}

// MemberHealth is a member as reconcile left it.
type MemberHealth struct {
	Cluster       string                `json:"cluster"`
	Phase         v1alpha1.ClusterPhase `json:"phase"`
	Healthy       string                `json:"healthy,omitempty"`
	Reason        string                `json:"reason,omitempty"`
	LastHeartbeat *time.Time            `json:"lastHeartbeat,omitempty"`
}

const reconcileExample = `{} or {"cluster":"us-east-1"}`

func reconcileJSON(ctx context.Context, s *reconcileShell, body []byte) (any, error) {
	var req struct {
		Cluster string `json:"cluster"`
	}
	if err := decodeJSON(body, &req, reconcileExample); err != nil {
		return nil, err
	}
	return s.lookAll(ctx, req.Cluster)
}

// reconcileEvent looks at every member on a tick, and at a member that
// just turned Ready on its cluster.ready: placement places nothing on a
// member not yet observed since it came up, so that first look is what
// lets an app onto a new or woken cluster, and waiting for the next tick
// (5 s in local mode, 30 s in a fleet) would add its wait to every create
// and wake. A member whose look could not be recorded does not fail the
// tick (it is logged, and the next tick looks again): retrying the tick
// would look at every member again.
func reconcileEvent(ctx context.Context, s *reconcileShell, e event.Event) (deferral, error) {
	var cluster string
	switch e.Type() {
	case events.TypeReconcileDue:
	case events.TypeClusterReady:
		cluster = e.Subject()
	default:
		return deferral{}, notHandled(Reconcile, e)
	}
	a, err := s.lookAll(ctx, cluster)
	if cloudevent.StatusOf(err) == http.StatusNotFound {
		return deferral{}, nil // gone since: nothing to look at
	}
	if err != nil {
		return deferral{}, err
	}
	for name, why := range a.Failed {
		s.log.WarnContext(ctx, "member not observed", "cluster", name, "err", why)
	}
	return deferral{}, nil
}

// lookAll looks at cluster, or at every member when cluster is empty.
func (s *reconcileShell) lookAll(ctx context.Context, cluster string) (*ReconcileAnswer, error) {
	list, err := s.hub.ListMemberClusters(ctx)
	if err != nil {
		return nil, hubError(fmt.Errorf("list MemberClusters: %w", err))
	}
	var names []string
	for i := range list.Items {
		if cluster == "" || list.Items[i].Name == cluster {
			names = append(names, list.Items[i].Name)
		}
	}
	if cluster != "" && len(names) == 0 {
		return nil, cloudevent.Errorf(http.StatusNotFound, "MemberCluster %s not found (kubectl get memberclusters lists them)", cluster)
	}
	a := &ReconcileAnswer{Looked: len(names), Members: []MemberHealth{}}
	for i, err := range fanOut(ctx, names, func(ctx context.Context, _ int, name string) error {
		ctx, cancel := context.WithTimeout(ctx, memberTimeout)
		defer cancel()
		_, err := s.observation.Reconcile(ctx, name)
		return err
	}) {
		if err != nil {
			if a.Failed == nil {
				a.Failed = map[string]string{}
			}
			a.Failed[names[i]] = err.Error()
		}
	}
	// One list for the summary, rather than a read per member.
	after, err := s.hub.ListMemberClusters(ctx)
	if err != nil {
		return nil, hubError(fmt.Errorf("list MemberClusters: %w", err))
	}
	for i := range after.Items {
		mc := &after.Items[i]
		if cluster != "" && mc.Name != cluster {
			continue
		}
		m := MemberHealth{Cluster: mc.Name, Phase: mc.Status.Phase}
		if c := apimeta.FindStatusCondition(mc.Status.Conditions, v1alpha1.ClusterHealthy); c != nil {
			m.Healthy, m.Reason = string(c.Status), c.Reason
		}
		if hb := mc.Status.LastHeartbeatTime; hb != nil {
			t := hb.UTC()
			m.LastHeartbeat = &t
		}
		a.Members = append(a.Members, m)
	}
	return a, nil
}
