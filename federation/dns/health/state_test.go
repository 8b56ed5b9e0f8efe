package health_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/dns/health"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// run steps s through probes, one a second, and returns every state.
func run(s health.State, probes ...bool) []health.State {
	out := make([]health.State, len(probes))
	for i, up := range probes {
		reason := ""
		if !up {
			reason = "GET http://m/t/app/hello: 503 Service Unavailable"
		}
		s = health.Step(s, up, reason, t0.Add(time.Duration(i+1)*time.Second))
		out[i] = s
	}
	return out
}

func healthyOf(states []health.State) []bool {
	out := make([]bool, len(states))
	for i, s := range states {
		out[i] = s.Healthy
	}
	return out
}

func TestStepHysteresis(t *testing.T) {
	const U, D = true, false
	for _, c := range []struct {
		name   string
		seed   bool // answering, as the app's status says
		probes []bool
		want   []bool
	}{
		{"a new member enters on its first answer", false, []bool{U}, []bool{true}},
		{"a new member that does not answer stays out", false, []bool{D, D, U}, []bool{false, false, false}},
		{"then returns after two answers", false, []bool{D, U, U}, []bool{false, false, true}},
		{"one failure keeps a healthy member", false, []bool{U, D, U, D, U}, []bool{true, true, true, true, true}},
		{"two failures drop it", false, []bool{U, D, D}, []bool{true, true, false}},
		{"one answer does not bring it back", false, []bool{U, D, D, U, D, U}, []bool{true, true, false, false, false, false}},
		{"two answers do", false, []bool{U, D, D, U, U}, []bool{true, true, false, false, true}},
		{"seeded answering: one failure keeps it", true, []bool{D, U}, []bool{true, true}},
		{"seeded answering: two failures drop it", true, []bool{D, D}, []bool{true, false}},
		{"flapping never drops", true, []bool{D, U, D, U, D, U, D, U}, []bool{true, true, true, true, true, true, true, true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := healthyOf(run(health.Seed(c.seed, t0), c.probes...))
			for i := range c.want {
				if got[i] != c.want[i] {
					t.Fatalf("healthy after each probe %v = %v, want %v", c.probes, got, c.want)
				}
			}
		})
	}
}

func TestStepRecordsSinceAndReason(t *testing.T) {
	states := run(health.Seed(false, t0), true, false, false, true, true)
	if s := states[0]; !s.Since.Equal(t0.Add(time.Second)) || s.Reason != "" {
		t.Errorf("after entering: since %v reason %q, want %v and none", s.Since, s.Reason, t0.Add(time.Second))
	}
	if s := states[1]; !s.Since.Equal(t0.Add(time.Second)) || s.Reason == "" || s.Failures != 1 {
		t.Errorf("after one failure: since %v reason %q failures %d; want the entry time, the failure, 1", s.Since, s.Reason, s.Failures)
	}
	if s := states[2]; !s.Since.Equal(t0.Add(3*time.Second)) || s.Reason != "GET http://m/t/app/hello: 503 Service Unavailable" {
		t.Errorf("after the drop: since %v reason %q", s.Since, s.Reason)
	}
	if s := states[4]; !s.Since.Equal(t0.Add(5*time.Second)) || s.Reason != "" || s.Successes != 2 {
		t.Errorf("after the return: since %v reason %q successes %d", s.Since, s.Reason, s.Successes)
	}
}

// TestStepProperties: over random probe sequences, a healthy member leaves
// only on its FailuresToDrop-th failure in a row, a dropped one returns
// only on its SuccessesToReturn-th answer in a row, Since moves exactly
// when Healthy does, and one counter is always 0.
func TestStepProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 4))
	for range 2000 {
		s := health.Seed(rng.IntN(2) == 0, t0)
		for i := range 40 {
			up := rng.IntN(3) != 0
			now := t0.Add(time.Duration(i+1) * time.Second)
			next := health.Step(s, up, "down", now)
			switch {
			case s.Known && s.Healthy && !next.Healthy && (up || next.Failures != health.FailuresToDrop):
				t.Fatalf("%+v dropped after a probe up=%v with %d failures in a row", s, up, next.Failures)
			case s.Known && !s.Healthy && next.Healthy && (!up || next.Successes != health.SuccessesToReturn):
				t.Fatalf("%+v returned after a probe up=%v with %d answers in a row", s, up, next.Successes)
			case !s.Known && next.Healthy != up:
				t.Fatalf("never probed %+v: healthy %v after a probe up=%v", s, next.Healthy, up)
			case s.Known && (next.Healthy != s.Healthy) != !next.Since.Equal(s.Since):
				t.Fatalf("%+v -> %+v: Since moved without Healthy changing, or the reverse", s, next)
			case next.Successes != 0 && next.Failures != 0:
				t.Fatalf("%+v: both counters set", next)
			}
			s = next
		}
	}
}

// TestAlternatingNeverFlips: probes that alternate (up, down, up, ...)
// never move a known member in or out, whichever comes first.
func TestAlternatingNeverFlips(t *testing.T) {
	in := health.Seed(true, t0)
	out := health.Step(health.Seed(false, t0), false, "down", t0)
	for _, start := range []health.State{in, out} {
		for _, first := range []bool{true, false} {
			s, up := start, first
			for i := range 100 {
				s = health.Step(s, up, "down", t0.Add(time.Duration(i)*time.Second))
				if s.Healthy != start.Healthy {
					t.Fatalf("from healthy %v, first probe up %v: flipped at probe %d", start.Healthy, first, i)
				}
				up = !up
			}
		}
	}
}
