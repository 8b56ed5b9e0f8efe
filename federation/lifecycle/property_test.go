package lifecycle

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/parking"
)

// world is a provider that does what it is asked at once: the cooperative
// environment in which every state must find its way to Ready or gone.
type world struct {
	exists, stopped bool
	nodes           int32
	fn              bool // Fn installed and answering
}

func (w *world) observe() Observed {
	if !w.exists {
		return Observed{}
	}
	o := Observed{Exists: true, Progress: ProgressRunning, KubeconfigReady: true, FnEndpoint: endpoint, Nodes: w.nodes}
	if w.stopped {
		o.Progress = ProgressStopped
		return o
	}
	if w.fn {
		o.Release = Release{Name: "fn", Revision: 1, Deployed: true}
		o.FnAnswering = w.nodes > 0
	}
	return o
}

func (w *world) do(a Action) {
	switch a.Kind {
	case ActCreate:
		*w = world{exists: true, nodes: 1}
	case ActInstallFn:
		w.fn = true
	case ActPark:
		switch a.Mode {
		case v1alpha1.ParkingDelete:
			*w = world{}
		case v1alpha1.ParkingScaleToZero:
			w.nodes = 0
		default:
			w.stopped = true
		}
	case ActUnpark:
		w.stopped, w.nodes = false, max(a.Nodes, 1)
	case ActScaleNodes:
		w.nodes = a.Nodes
	case ActDelete:
		*w = world{}
	}
}

// randomObserved is any observation, sane or not.
func randomObserved(r *rand.Rand) Observed {
	pool := []Observed{absent, creating, booting, up, pending, deployed, serving, stopped, zeroed, broken, leaving}
	o := pool[r.IntN(len(pool))]
	if r.IntN(4) == 0 {
		o.Nodes = int32(r.IntN(6))
	}
	return o
}

func randomAnswer(r *rand.Rand) parking.Answer {
	pool := []parking.Answer{runs, idle, windowed, draining}
	return pool[r.IntN(len(pool))]
}

func randomSpec(r *rand.Rand) *v1alpha1.MemberCluster {
	specs := [][]spec{
		{provider("local"), mode(v1alpha1.ParkingStop)},
		{provider("local"), mode(v1alpha1.ParkingDelete)},
		{provider("capi"), mode(v1alpha1.ParkingScaleToZero)},
		{provider("capi"), mode(v1alpha1.ParkingDelete)},
		{provider("local"), mode(v1alpha1.ParkingNever)},
		{provider("local"), busy},
		{provider("capi"), mode(v1alpha1.ParkingStop)}, // a mode the provider cannot do
	}
	return member("", 0, specs[r.IntN(len(specs))]...)
}

// actionAllowed is whether phase may ask for an action of kind k.
func actionAllowed(phase v1alpha1.ClusterPhase, k ActionKind) bool {
	switch k {
	case ActNone:
		return true
	case ActCreate, ActUnpark:
		// A create belongs to Provisioning; a start also to Unparking, and to
		// Installing when the cluster is found stopped.
		return phase == v1alpha1.PhaseProvisioning || (k == ActUnpark && (phase == v1alpha1.PhaseUnparking || phase == v1alpha1.PhaseInstalling))
	case ActInstallFn:
		return phase == v1alpha1.PhaseInstalling
	case ActPark:
		return phase == v1alpha1.PhaseParking
	case ActScaleNodes:
		return phase == v1alpha1.PhaseScaling
	case ActDelete:
		// Also Failed, persisted with reason ProvisionFailed, removes what
		// a failed create left before the retry.
		return phase == v1alpha1.PhaseDeleting || phase == v1alpha1.PhaseFailed
	}
	return false
}

// TestRandomWalks drives the machine with random observations, parking
// answers, deletions and clocks, from random specs, and checks at every
// step that it is deterministic, persists a phase before acting in it, and
// asks only for the action its phase owns; and, from states along the
// walks, that a cooperative provider brings the cluster to Ready (or Parked
// when it should not run), and a deletion to gone.
func TestRandomWalks(t *testing.T) {
	seeds, steps := 150, 150
	if testing.Short() {
		seeds = 20
	}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 11))
		mc := randomSpec(r)
		at := now
		for i := range steps {
			if r.IntN(40) == 0 && mc.DeletionTimestamp == nil {
				deleted(mc)
			}
			in := Input{Cluster: mc, Observed: randomObserved(r), Parking: randomAnswer(r), Now: at}
			d := Step(in)
			if again := Step(in); !reflect.DeepEqual(d, again) {
				t.Fatalf("seed %d step %d: two decisions for one input:\n%+v\n%+v", seed, i, d, again)
			}
			before := phaseOf(mc)
			if d.Status.Phase != before && d.Action.Kind != ActNone {
				t.Fatalf("seed %d step %d: %s -> %s with action %v", seed, i, before, d.Status.Phase, d.Action.Kind)
			}
			if !actionAllowed(before, d.Action.Kind) {
				t.Fatalf("seed %d step %d: action %v in phase %s", seed, i, d.Action.Kind, before)
			}
			if !d.Gone && d.Next.Before(at) {
				t.Fatalf("seed %d step %d: next %v before now %v", seed, i, d.Next, at)
			}
			if d.Gone {
				break
			}
			if i%10 == 0 {
				checkWayOut(t, seed, i, mc, at)
			}
			d.Status.ApplyTo(&mc.Status)
			if r.IntN(2) == 0 {
				at = d.Next
			} else {
				at = at.Add(time.Duration(r.IntN(40*60)) * time.Second)
			}
		}
	}
}

// checkWayOut runs copies of mc against a cooperative provider.
func checkWayOut(t *testing.T, seed, step int, mc *v1alpha1.MemberCluster, at time.Time) {
	t.Helper()
	starts := []world{{}, {exists: true, nodes: 2}, {exists: true, nodes: 2, fn: true}, {exists: true, stopped: true, nodes: 2, fn: true}}
	for _, w := range starts {
		if mc.DeletionTimestamp == nil {
			reach(t, seed, step, mc, w, runs, at, func(d Decision) bool { return d.Status.Phase == v1alpha1.PhaseReady }, "Ready")
			parks := func(d Decision) bool {
				return d.Status.Phase == v1alpha1.PhaseParked || (d.Status.Phase == v1alpha1.PhaseReady && cannotPark(mc))
			}
			reach(t, seed, step, mc, w, idle, at, parks, "Parked")
		}
		gone := mc.DeepCopy()
		deleted(gone)
		reach(t, seed, step, gone, w, runs, at, func(d Decision) bool { return d.Gone }, "gone")
	}
}

func cannotPark(mc *v1alpha1.MemberCluster) bool {
	s := &step{mc: mc}
	return !s.canPark()
}

func reach(t *testing.T, seed, step int, start *v1alpha1.MemberCluster, w world, p parking.Answer, at time.Time, done func(Decision) bool, goal string) {
	t.Helper()
	mc := start.DeepCopy()
	var trail []v1alpha1.ClusterPhase
	for range 40 {
		d := Step(Input{Cluster: mc, Observed: w.observe(), Parking: p, Now: at})
		trail = append(trail, d.Status.Phase)
		if done(d) {
			return
		}
		w.do(d.Action)
		d.Status.ApplyTo(&mc.Status)
		at = d.Next
	}
	t.Fatalf("seed %d step %d: from %s (%+v) no way to %s: %v", seed, step, phaseOf(start), w, goal, trail)
}

// TestEveryPhaseHasAWayOut starts from each phase, with each sane world,
// and checks the same as the walks.
func TestEveryPhaseHasAWayOut(t *testing.T) {
	phases := []v1alpha1.ClusterPhase{"", v1alpha1.PhasePending, v1alpha1.PhaseProvisioning, v1alpha1.PhaseInstalling,
		v1alpha1.PhaseReady, v1alpha1.PhaseScaling, v1alpha1.PhaseParking, v1alpha1.PhaseParked,
		v1alpha1.PhaseUnparking, v1alpha1.PhaseDeleting, v1alpha1.PhaseFailed}
	r := rand.New(rand.NewPCG(7, 7))
	for _, ph := range phases {
		for range 10 {
			mc := randomSpec(r)
			mc.Status.Phase = ph
			since := metav1.NewTime(now.Add(-time.Duration(r.IntN(3600)) * time.Second))
			mc.Status.PhaseSince = &since
			mc.Status.Failures = int32(r.IntN(8))
			mc.Status.DesiredNodes = int32(r.IntN(4))
			if ph == v1alpha1.PhaseDeleting {
				deleted(mc)
			}
			checkWayOut(t, -1, 0, mc, now)
		}
	}
}
