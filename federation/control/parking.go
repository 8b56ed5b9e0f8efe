package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/parking"
)

// ParkingHub is the part of the hub the parking sweep reads.
type ParkingHub interface {
	ListMemberClusters(ctx context.Context) (*v1alpha1.MemberClusterList, error)
	// ListFleetApps gives the placements and wake requests.
	ListFleetApps(ctx context.Context) (*v1alpha1.FleetAppList, error)
}

// ParkingConfig is what a Parking works with.
type ParkingConfig struct {
	Hub ParkingHub
	// Parking tunes the pure core; it must be lifecycle's
	// (LifecycleConfig.Parking), or the sweep and lifecycle would disagree
	// on what turned.
	Parking parking.Options
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Parking is the shell of the parking function: the sweep on a tick. It
// only reads: it finds the members whose should-it-run answer turned, and
// its caller has lifecycle act on each (lifecycle parks and wakes, and
// records the idle clock). It asks parking.ShouldRun exactly as lifecycle
// does, from the same count of apps (demandOn), so the two cannot
// disagree. It is safe for concurrent use.
type Parking struct {
	hub  ParkingHub
	opts parking.Options
	now  func() time.Time
}

// NewParking returns the parking sweep for cfg.
func NewParking(cfg ParkingConfig) (*Parking, error) {
	if cfg.Hub == nil {
		return nil, errors.New("parking shell: a hub is required")
	}
	p := &Parking{hub: cfg.Hub, opts: cfg.Parking, now: cfg.Now}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// Turn is a member whose answer turned: it runs and should not, or it is
// parked and should run.
type Turn struct {
	Cluster string `json:"cluster"`
	// Phase is the member's phase when the sweep looked.
	Phase v1alpha1.ClusterPhase `json:"phase"`
	// Run is parking's answer now: false parks the member, true wakes it.
	Run     bool           `json:"run"`
	Reason  parking.Reason `json:"reason"`
	Message string         `json:"message"`
}

// Sweep is what one sweep found.
type Sweep struct {
	// Checked counts the members looked at.
	Checked int `json:"checked"`
	// Turned lists the members lifecycle must act on, by name.
	Turned []Turn `json:"turned"`
}

// Sweep reads the members and the apps once and returns the members whose
// answer turned.
func (p *Parking) Sweep(ctx context.Context) (Sweep, error) {
	members, err := p.hub.ListMemberClusters(ctx)
	if err != nil {
		return Sweep{}, fmt.Errorf("parking sweep: list MemberClusters: %w", err)
	}
	apps, err := p.hub.ListFleetApps(ctx)
	if err != nil {
		return Sweep{}, fmt.Errorf("parking sweep: list FleetApps: %w", err)
	}
	return sweep(members.Items, apps.Items, p.now(), p.opts), nil
}

// sweep is the decision: a member at rest whose answer differs from its
// phase. A member in motion (Provisioning, Parking, Unparking...) or being
// deleted is lifecycle's already, and its next step asks the same
// question.
func sweep(members []v1alpha1.MemberCluster, apps []v1alpha1.FleetApp, now time.Time, opts parking.Options) Sweep {
	s := Sweep{Turned: []Turn{}}
	for i := range members {
		mc := &members[i]
		if mc.DeletionTimestamp != nil {
			continue
		}
		phase := mc.Status.Phase
		running := phase == v1alpha1.PhaseReady || phase == v1alpha1.PhaseScaling
		if !running && phase != v1alpha1.PhaseParked {
			continue
		}
		s.Checked++
		a := shouldRun(mc, demandOn(apps, mc.Name), now, opts)
		if a.Run != running {
			s.Turned = append(s.Turned, Turn{Cluster: mc.Name, Phase: phase, Run: a.Run, Reason: a.Reason, Message: a.Message})
		}
	}
	return s
}

// shouldRun asks parking whether the cluster should run, from what the
// apps ask of it; the answer carries the idle clock to record.
func shouldRun(mc *v1alpha1.MemberCluster, d demand, now time.Time, opts parking.Options) parking.Answer {
	in := parking.For(mc, int(d.placed), d.wanted, now)
	in.Options = opts
	return parking.ShouldRun(in)
}
