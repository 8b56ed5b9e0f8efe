package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/hub"
)

// followUpTimeout bounds sending one capacity request: the events function
// hands it to lifecycle, whose call may take its whole Fn timeout.
const followUpTimeout = 2 * lifecycleCallTimeout

// placementShell is what the placement function keeps while hot: the
// shell, whose Planner keeps its snapshot cache across calls.
type placementShell struct {
	placement *control.Placement
	hub       *hub.Client
	send      *events.Sender
	log       *slog.Logger
}

// NewPlacement returns the placement function: it places a FleetApp
// (control.Placement), records the decision and creates the capacity it
// lacks, then sends dev.fnfleet.capacity.requested when the app's capacity
// request changed. JSON: {"app":"<namespace>/<name>"}, answered with the
// decision. Events: app.changed places that app; cluster.*, pool.changed
// and resync.due place every FleetApp.
func NewPlacement() fdk.Handler {
	return &function[*placementShell]{name: Placement, build: buildPlacement, event: placementEvent, json: placementJSON}
}

func buildPlacement(cfg config) (*placementShell, error) {
	h, _, log, err := cfg.hub(Placement)
	if err != nil {
		return nil, err
	}
	send, err := cfg.sender(log)
	if err != nil {
		return nil, err
	}
	p, err := control.NewPlacement(control.PlacementConfig{Hub: h, Logger: log})
	if err != nil {
		return nil, err
	}
	return &placementShell{placement: p, hub: h, send: send, log: log}, nil
}

// PlacementAnswer is placement's answer to a JSON call: the decision as
// recorded in the FleetApp's status.
type PlacementAnswer struct {
	App             string                      `json:"app"`
	Placement       []v1alpha1.ClusterPlacement `json:"placement"`
	Explanation     string                      `json:"explanation"`
	CapacityRequest *v1alpha1.CapacityRequest   `json:"capacityRequest,omitempty"`
	Placed          *metav1.Condition           `json:"placed,omitempty"`
	// CapacityEvent says whether a capacity request was sent on.
	CapacityEvent string `json:"capacityEvent,omitempty"`
	Error         string `json:"error,omitempty"`
}

func placementJSON(ctx context.Context, s *placementShell, body []byte) (any, error) {
	key, err := readApp(body)
	if err != nil {
		return nil, err
	}
	app, sent, err := s.place(ctx, key)
	if app == nil && err == nil {
		return nil, appNotFound(key)
	}
	if app == nil {
		return nil, err
	}
	st := app.Status
	a := &PlacementAnswer{App: key.String(), Placement: st.Placement, Explanation: st.Explanation, CapacityRequest: st.CapacityRequest,
		Placed: apimeta.FindStatusCondition(st.Conditions, v1alpha1.AppPlaced), CapacityEvent: sent}
	if a.Placement == nil {
		a.Placement = []v1alpha1.ClusterPlacement{}
	}
	if err != nil {
		a.Error = err.Error()
	}
	return a, err
}

func placementEvent(ctx context.Context, s *placementShell, e event.Event) (deferral, error) {
	switch e.Type() {
	case events.TypeAppChanged:
		ref, ok := events.ObjectOf(e)
		if !ok {
			return deferral{}, cloudevent.Errorf(http.StatusBadRequest, "event %s: subject %q is not <namespace>/<name> of a FleetApp", e.ID(), e.Subject())
		}
		_, _, err := s.place(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name})
		return deferral{}, err
	case events.TypeClusterChanged, events.TypeClusterReady, events.TypeClusterParked, events.TypeClusterFailed,
		events.TypePoolChanged, events.TypeResyncDue:
		return deferral{}, s.placeAll(ctx)
	}
	return deferral{}, notHandled(Placement, e)
}

// placeAll places every FleetApp. A policy that cannot be applied is
// recorded in its app's status and is not this event's failure.
func (s *placementShell) placeAll(ctx context.Context) error {
	return forEveryApp(ctx, s.hub, func(ctx context.Context, key types.NamespacedName) error {
		_, _, err := s.place(ctx, key)
		if cloudevent.StatusOf(err) == http.StatusUnprocessableEntity {
			return nil
		}
		return err
	})
}

// place runs the shell for key and sends the capacity request on when it
// changed. It returns the app as placed (nil when it does not exist), what
// became of the capacity request, and the step's error: 422 for a policy
// that cannot be applied (recorded; a new spec brings a new event), 503
// for what may succeed later.
func (s *placementShell) place(ctx context.Context, key types.NamespacedName) (*v1alpha1.FleetApp, string, error) {
	before, err := s.hub.GetFleetApp(ctx, key.Namespace, key.Name)
	if apierrors.IsNotFound(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", hubError(fmt.Errorf("read FleetApp %s: %w", key, err))
	}
	app, err := s.placement.Reconcile(ctx, key)
	if app == nil {
		return nil, "", hubError(err)
	}
	if err != nil {
		if c := apimeta.FindStatusCondition(app.Status.Conditions, v1alpha1.AppPlaced); c != nil && c.Reason == "InvalidPolicy" {
			err = cloudevent.WithStatus(http.StatusUnprocessableEntity, err)
		} else {
			err = hubError(err)
		}
	}
	return app, s.followUp(ctx, before, app), err
}

// followUp sends dev.fnfleet.capacity.requested when the app's capacity
// request changed, and says what it did. The send runs on its own: the
// events function hands it to lifecycle, whose step (a cluster create)
// may outlast this call, and the request is already recorded, so the
// event is only a hint (the resync tick repairs a lost one). Its id names
// the app's version, so repeats (concurrent calls that saw the same
// change) carry the same id.
func (s *placementShell) followUp(ctx context.Context, before, after *v1alpha1.FleetApp) string {
	r := after.Status.CapacityRequest
	if r == nil || (len(r.Wake) == 0 && len(r.Create) == 0) {
		return ""
	}
	if equality.Semantic.DeepEqual(before.Status.CapacityRequest, r) {
		return "unchanged: not sent again"
	}
	subject := after.Namespace + "/" + after.Name
	id := events.ChangeID(events.TypeCapacityRequested, subject, after.ResourceVersion)
	e, err := events.New(events.TypeCapacityRequested, id, subject, time.Now(), events.CapacityRequested{
		Replicas: r.Replicas, Wake: r.Wake, Pool: r.Pool, Create: r.Create, ResourceVersion: after.ResourceVersion,
	})
	if err != nil {
		s.log.ErrorContext(ctx, "build a capacity request event", "app", subject, "err", err.Error())
		return "not sent: " + err.Error()
	}
	go func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), followUpTimeout)
		defer cancel()
		// A failure is a dead letter, logged by the sender.
		if _, err := s.send.Send(sctx, e); err == nil {
			s.log.InfoContext(sctx, "capacity request sent", "app", subject, "event_id", id)
		}
	}()
	return "sending " + id + " to " + s.send.Sink()
}
