package handlers

import (
	"context"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	"github.com/fnfleet/fnfleet/federation/hub"
)

type deployShell struct {
	deploy *control.Deploy
	hub    *hub.Client
}

// NewDeploy returns the deploy function: it brings every member's Fn to a
// FleetApp's placement decision (control.Deploy: the Fn app where the app
// is placed, removed where it no longer is) and records per member what it
// did. JSON: {"app":"<namespace>/<name>"}, answered with the deployments.
// Events: app.placed and app.deleted deploy that app; cluster.ready and
// resync.due every FleetApp.
func NewDeploy() fdk.Handler {
	return &function[*deployShell]{name: Deploy, build: buildDeploy, event: deployEvent, json: deployJSON}
}

func buildDeploy(cfg config) (*deployShell, error) {
	h, _, log, err := cfg.hub(Deploy)
	if err != nil {
		return nil, err
	}
	d, err := control.NewDeploy(control.DeployConfig{Hub: h, Fn: fndeploy.Deployer{}, Logger: log})
	if err != nil {
		return nil, err
	}
	return &deployShell{deploy: d, hub: h}, nil
}

// DeployAnswer is deploy's answer to a JSON call: what each member holds.
type DeployAnswer struct {
	App         string                   `json:"app"`
	Deployments []v1alpha1.AppDeployment `json:"deployments"`
	Deployed    *metav1.Condition        `json:"deployed,omitempty"`
	Error       string                   `json:"error,omitempty"`
}

func deployJSON(ctx context.Context, s *deployShell, body []byte) (any, error) {
	key, err := readApp(body)
	if err != nil {
		return nil, err
	}
	app, err := s.deploy.Reconcile(ctx, key)
	if app == nil && err == nil {
		return nil, appNotFound(key)
	}
	if app == nil {
		return nil, hubError(err)
	}
	a := &DeployAnswer{App: key.String(), Deployments: app.Status.Deployments,
		Deployed: apimeta.FindStatusCondition(app.Status.Conditions, v1alpha1.AppDeployed)}
	if a.Deployments == nil {
		a.Deployments = []v1alpha1.AppDeployment{}
	}
	if err != nil {
		a.Error = err.Error()
	}
	return a, hubError(err)
}

func deployEvent(ctx context.Context, s *deployShell, e event.Event) (deferral, error) {
	switch e.Type() {
	case events.TypeAppPlaced, events.TypeAppDeleted:
		key, err := appKey(e.Subject())
		if err != nil {
			return deferral{}, err
		}
		app, err := s.deploy.Reconcile(ctx, key)
		if err == nil && app != nil {
			// A member no longer placed keeps the app until DNS stopped
			// sending callers there: ask again then.
			if at, held := control.DNSRemovalRetry(app, time.Now()); held {
				return deferral{at: at, reason: "a removal waits for DNS to stop answering with the member and its TTL to pass"}, nil
			}
		}
		return deferral{}, hubError(err)
	case events.TypeClusterReady, events.TypeResyncDue:
		return deferral{}, s.deployAll(ctx)
	}
	return deferral{}, notHandled(Deploy, e)
}

// deployAll deploys every FleetApp.
func (s *deployShell) deployAll(ctx context.Context) error {
	return forEveryApp(ctx, s.hub, func(ctx context.Context, key types.NamespacedName) error {
		_, err := s.deploy.Reconcile(ctx, key)
		return err
	})
}
