package health

import (
	"cmp"
	"context"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Vantage is another member that can probe for the hub.
type Vantage struct {
	// Cluster is its MemberCluster name.
	Cluster string
	// FnAPI is its Fn API base URL (its status.fnEndpoint), where its
	// probe function runs.
	FnAPI string
}

// VantageProber asks a vantage point to probe url within timeout. An error
// means the vantage point could not be asked or did not answer: it then
// has no say.
type VantageProber interface {
	Probe(ctx context.Context, from Vantage, url string, timeout time.Duration) (Result, error)
}

// Target is one app on one member, as the dns function sees it.
type Target struct {
	// App names the FleetApp (<namespace>/<name>).
	App string
	// Cluster is the member's MemberCluster name.
	Cluster string
	// URL is where the app is probed on the member (ProbeURL).
	URL string
	// Answering is what the app's status.dns says of the member: a member
	// answering starts healthy when the checker has no state for it yet.
	Answering bool
	// Vantages are the other members that may probe it before it is
	// dropped: Ready members with a probe function (the member itself is
	// left out if listed).
	Vantages []Vantage
}

// Verdict is whether the app's names answer with the member.
type Verdict struct {
	App, Cluster string
	// Healthy: the names answer with the member.
	Healthy bool
	// Reason says why it is out, or why it is held in although the hub's
	// probes fail; empty while it answers.
	Reason string
	// Changed: this Check moved the member in or out.
	Changed bool
	// Probed: this Check probed it (false when it was beyond MaxProbes or
	// another Check's probe of it was in flight; the verdict is then the
	// state as it was).
	Probed bool
}

// Checker probes targets from the hub and keeps each one's State between
// calls, confirming every drop with vantage points. It is safe for
// concurrent use: a target whose probe is in flight is not probed again by
// a concurrent Check, so one member's failures are never counted twice.
type Checker struct {
	cfg    Config
	prober *Prober
	log    *slog.Logger

	mu      sync.Mutex
	entries map[targetKey]*entry
}

type targetKey struct{ app, cluster string }

// entry is what the checker keeps of one target.
type entry struct {
	url   string
	state State
	// seen is when a Check last listed it; probed when a probe of it last
	// started (zero: never).
	seen, probed time.Time
	inFlight     bool
	// vantageTurn rotates the vantage points asked: when none of those
	// asked could be reached, the next confirmation asks the next ones.
	vantageTurn int
}

// NewChecker returns a checker with cfg's defaults filled in.
func NewChecker(cfg Config) (*Checker, error) {
	cfg = cfg.withDefaults()
	p, err := NewProber(cfg)
	if err != nil {
		return nil, err
	}
	return &Checker{cfg: cfg, prober: p, log: cfg.Logger, entries: map[targetKey]*entry{}}, nil
}

// probe is one target probed by this Check.
type probe struct {
	i      int // index in targets
	e      *entry
	before State
	turn   int
}

// Check probes the targets due (at most MaxProbes, least recently probed
// first), steps their states at now and returns a verdict for every target,
// in their order. A member the hub's probes would drop is dropped only once
// Confirm agrees. ctx ending stops the probes; what they learned by then
// counts, the rest is left as it was.
func (c *Checker) Check(ctx context.Context, targets []Target, now time.Time) []Verdict {
	due := c.claim(targets, now)
	probeSlots := make(chan struct{}, c.cfg.Concurrency)
	confirmSlots := make(chan struct{}, c.cfg.Concurrency)
	next := make([]State, len(due))
	turns := make([]int, len(due))
	var wg sync.WaitGroup
	for j, p := range due {
		wg.Go(func() {
			next[j], turns[j] = c.step(ctx, targets[p.i], p, now, probeSlots, confirmSlots)
		})
	}
	wg.Wait()

	c.mu.Lock()
	defer c.mu.Unlock()
	probed := make(map[int]probe, len(due))
	for j, p := range due {
		p.e.state, p.e.vantageTurn, p.e.inFlight = next[j], turns[j], false
		probed[p.i] = p
	}
	verdicts := make([]Verdict, len(targets))
	for i, t := range targets {
		v := Verdict{App: t.App, Cluster: t.Cluster}
		if e := c.entries[targetKey{t.App, t.Cluster}]; e != nil {
			v.Healthy, v.Reason = e.state.Healthy, e.state.Reason
		}
		if p, ok := probed[i]; ok {
			v.Probed, v.Changed = true, v.Healthy != p.before.Healthy
		}
		verdicts[i] = v
	}
	return verdicts
}

// claim records the targets as seen, forgets those unseen for ForgetAfter,
// and marks the ones to probe now in flight.
func (c *Checker) claim(targets []Target, now time.Time) []probe {
	c.mu.Lock()
	defer c.mu.Unlock()
	var due []probe
	for i, t := range targets {
		k := targetKey{t.App, t.Cluster}
		e := c.entries[k]
		if e == nil || (e.url != t.URL && !e.inFlight) {
			// A new target, or one moved to another endpoint: what was
			// known of the old URL says nothing of the new one.
			e = &entry{url: t.URL, state: Seed(t.Answering, now)}
			c.entries[k] = e
		}
		e.seen = now
		if !e.inFlight {
			e.inFlight = true
			due = append(due, probe{i: i, e: e, before: e.state, turn: e.vantageTurn})
		}
	}
	slices.SortStableFunc(due, func(a, b probe) int { return a.e.probed.Compare(b.e.probed) })
	for _, p := range due[min(len(due), c.cfg.MaxProbes):] {
		p.e.inFlight = false
	}
	due = due[:min(len(due), c.cfg.MaxProbes)]
	for _, p := range due {
		p.e.probed = now
	}
	for k, e := range c.entries {
		if !e.inFlight && now.Sub(e.seen) > c.cfg.ForgetAfter {
			delete(c.entries, k)
		}
	}
	return due
}

// step probes t from the hub and returns its next state, confirming a drop
// with the vantage points, and the vantage turn for the next confirmation.
func (c *Checker) step(ctx context.Context, t Target, p probe, now time.Time, probeSlots, confirmSlots chan struct{}) (State, int) {
	select {
	case probeSlots <- struct{}{}:
	case <-ctx.Done():
		return p.before, p.turn
	}
	r, err := c.prober.Probe(ctx, t.URL, 0)
	<-probeSlots
	if err != nil {
		return p.before, p.turn
	}
	next := Step(p.before, r.Up, r.Reason, now)
	if !p.before.Healthy || next.Healthy {
		if next.Healthy != p.before.Healthy {
			c.log.InfoContext(ctx, "member enters the app's answers", "app", t.App, "cluster", t.Cluster, "url", t.URL)
		}
		return next, p.turn
	}
	select {
	case confirmSlots <- struct{}{}:
	case <-ctx.Done():
		return p.before, p.turn
	}
	votes := c.ask(ctx, t, p.turn)
	<-confirmSlots
	drop, why := Confirm(votes)
	turn := p.turn
	if !slices.ContainsFunc(votes, func(v Vote) bool { return v.Reached }) {
		turn += len(votes)
	}
	if !drop {
		held := next
		held.Healthy, held.Since, held.Reason = true, p.before.Since, "the hub's probe failed ("+r.Reason+"); "+why
		// Said once when the hold starts; while it lasts, every call
		// would say it again.
		level := slog.LevelDebug
		if p.before.Failures < FailuresToDrop {
			level = slog.LevelWarn
		}
		c.log.Log(ctx, level, "member kept in the app's answers although the hub's probes fail",
			"app", t.App, "cluster", t.Cluster, "failures", next.Failures, "reason", held.Reason)
		return held, turn
	}
	next.Reason = r.Reason + "; " + why
	c.log.InfoContext(ctx, "member dropped from the app's answers", "app", t.App, "cluster", t.Cluster,
		"failures", next.Failures, "reason", next.Reason)
	return next, turn
}

// ask asks up to MaxVantages vantage points, at once, to probe t's URL.
func (c *Checker) ask(ctx context.Context, t Target, turn int) []Vote {
	chosen := choose(t, turn, c.cfg.MaxVantages)
	if len(chosen) == 0 || c.cfg.Vantage == nil {
		return nil
	}
	votes := make([]Vote, len(chosen))
	var wg sync.WaitGroup
	for i, v := range chosen {
		wg.Go(func() {
			r, err := c.cfg.Vantage.Probe(ctx, v, t.URL, c.cfg.Timeout)
			if err != nil {
				votes[i] = Vote{Cluster: v.Cluster, Reason: err.Error()}
				return
			}
			votes[i] = Vote{Cluster: v.Cluster, Reached: true, Up: r.Up, Reason: r.Reason}
		})
	}
	wg.Wait()
	return votes
}

// choose picks up to n of t's vantage points (the member itself and
// repeats left out): in cluster order, from a start that the target's name
// spreads over the fleet (so that no one member is asked for every
// target) and that turn moves on.
func choose(t Target, turn, n int) []Vantage {
	var all []Vantage
	for _, v := range t.Vantages {
		if v.Cluster != t.Cluster && v.FnAPI != "" && !slices.ContainsFunc(all, func(o Vantage) bool { return o.Cluster == v.Cluster }) {
			all = append(all, v)
		}
	}
	if len(all) == 0 {
		return nil
	}
	slices.SortFunc(all, func(a, b Vantage) int { return cmp.Compare(a.Cluster, b.Cluster) })
	h := fnv.New32a()
	_, _ = h.Write([]byte(t.App + "\x00" + t.Cluster))
	start := (int(h.Sum32()%uint32(len(all))) + turn) % len(all)
	chosen := make([]Vantage, 0, min(n, len(all)))
	for i := range min(n, len(all)) {
		chosen = append(chosen, all[(start+i)%len(all)])
	}
	return chosen
}
