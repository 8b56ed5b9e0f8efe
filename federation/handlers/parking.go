package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/fninvoke"
)

type parkingShell struct {
	parking *control.Parking
	fn      *fninvoke.Client
}

// NewParking returns the parking function: the sweep (control.Parking)
// finds the members whose should-it-run answer turned, and each is sent
// to the lifecycle function through the Fn API (lifecycle parks and
// wakes). JSON: {}, answered with the sweep and lifecycle's answers.
// Events: parking.due.
func NewParking() fdk.Handler {
	return &function[*parkingShell]{name: Parking, build: buildParking, event: parkingEvent, json: parkingJSON}
}

func buildParking(cfg config) (*parkingShell, error) {
	h, _, _, err := cfg.hub(Parking)
	if err != nil {
		return nil, err
	}
	fn, err := cfg.invoker()
	if err != nil {
		return nil, err
	}
	// parking.Options{} as lifecycle's (config.lifecycleShell): the two
	// must agree on what turned.
	p, err := control.NewParking(control.ParkingConfig{Hub: h})
	if err != nil {
		return nil, err
	}
	return &parkingShell{parking: p, fn: fn}, nil
}

// ParkingAnswer is the sweep and what lifecycle did with it.
type ParkingAnswer struct {
	control.Sweep
	// Lifecycle holds lifecycle's answer per member sent to it.
	Lifecycle map[string]json.RawMessage `json:"lifecycle"`
	Error     string                     `json:"error,omitempty"`
}

func parkingJSON(ctx context.Context, s *parkingShell, body []byte) (any, error) {
	var req struct{}
	if err := decodeJSON(body, &req, "{}"); err != nil {
		return nil, err
	}
	a, err := s.sweep(ctx)
	if a != nil && err != nil {
		a.Error = err.Error()
	}
	return a, err
}

func parkingEvent(ctx context.Context, s *parkingShell, e event.Event) (deferral, error) {
	if e.Type() != events.TypeParkingDue {
		return deferral{}, notHandled(Parking, e)
	}
	_, err := s.sweep(ctx)
	return deferral{}, err
}

// sweep runs the sweep and calls lifecycle for each member that turned.
// A lifecycle call that failed fails the sweep with 502 (retried: the
// sweep is read again, and a member lifecycle already moved no longer
// turns).
func (s *parkingShell) sweep(ctx context.Context) (*ParkingAnswer, error) {
	sw, err := s.parking.Sweep(ctx)
	if err != nil {
		return nil, hubError(err)
	}
	a := &ParkingAnswer{Sweep: sw, Lifecycle: map[string]json.RawMessage{}}
	names := make([]string, len(sw.Turned))
	for i, t := range sw.Turned {
		names[i] = t.Cluster
	}
	answers := make([]json.RawMessage, len(names))
	var failed []error
	for i, err := range fanOut(ctx, names, func(ctx context.Context, i int, name string) error {
		body, _ := json.Marshal(map[string]string{"cluster": name})
		ans, err := s.fn.Invoke(ctx, AppName, Lifecycle, http.Header{"Content-Type": {"application/json"}}, body)
		if err != nil {
			return err
		}
		if json.Valid(ans.Body) {
			answers[i] = ans.Body
		}
		if ans.Status >= 300 {
			return fmt.Errorf("lifecycle answered %d: %s", ans.Status, ans.Body)
		}
		return nil
	}) {
		if answers[i] != nil {
			a.Lifecycle[names[i]] = answers[i]
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", names[i], err))
		}
	}
	if len(failed) > 0 {
		return a, cloudevent.WithStatus(http.StatusBadGateway, errors.Join(failed...))
	}
	return a, nil
}
