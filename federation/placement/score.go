package placement

import (
	"math"
	"math/bits"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// score gives each candidate its per-prioritizer scores and weighted score.
// Cost and tier are normalised over the candidates: the cheapest (or best
// tier) scores 100, the dearest (or worst) 0.
func (r *decider) score() {
	if len(r.cands) == 0 {
		return
	}
	minCost, maxCost := int64(math.MaxInt64), int64(math.MinInt64)
	minTier, maxTier := int16(math.MaxInt16), int16(math.MinInt16)
	for i := range r.cands {
		k := &r.cands[i]
		minCost, maxCost = min(minCost, k.cost), max(maxCost, k.cost)
		minTier, maxTier = min(minTier, k.tier), max(maxTier, k.tier)
	}
	pl := &r.app.Spec.Placement
	w := &r.p.weights
	// Divisions by the same numbers for every candidate: by multiplication.
	costDiv, tierDiv, sumDiv := newDivider(maxCost-minCost), newDivider(int64(maxTier)-int64(minTier)), newDivider(int64(r.p.weightSum))
	for i := range r.cands {
		k := &r.cands[i]
		var s [numPrioritizers]int64
		s[prioCost] = 100
		if maxCost > minCost {
			s[prioCost] = costDiv.div((maxCost - k.cost) * 100)
		}
		s[prioTier] = 100
		if maxTier > minTier {
			s[prioTier] = tierDiv.div(int64(maxTier-k.tier) * 100)
		}
		s[prioBalance] = int64(k.scores[prioBalance])
		s[prioLatency] = int64(k.scores[prioLatency])
		if n := len(pl.PreferredRegions); n > 0 {
			region := r.clusters[k.idx].Spec.Region
			for j, pr := range pl.PreferredRegions {
				if matchPattern(pr, region) {
					s[prioLocality] = 100 - int64(j)*100/int64(n)
					break
				}
			}
		}
		var sum int64
		for j := range s {
			k.scores[j] = uint8(s[j])
			sum += s[j] * int64(w[j])
		}
		if r.p.weightSum > 0 {
			sum = sumDiv.div(sum)
		}
		k.score = int16(max(sum-int64(k.taints)*preferNoSchedulePenalty, 0))
	}
}

// divider divides by a fixed d. For a dividend and divisor below 2^32 it
// multiplies by a precomputed inverse, which is exact in that range
// (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019)
// and several times cheaper than a division; otherwise it divides.
type divider struct {
	m uint64 // 0: divide
	d int64
}

func newDivider(d int64) divider {
	if d <= 1 || d >= 1<<32 {
		return divider{d: d}
	}
	return divider{m: ^uint64(0)/uint64(d) + 1, d: d}
}

func (v divider) div(n int64) int64 {
	if v.m != 0 && uint64(n) < 1<<32 {
		q, _ := bits.Mul64(v.m, uint64(n))
		return int64(q)
	}
	return n / v.d
}

// better orders candidates: higher score, then lower tier, then cheaper,
// then name, so that the order is total and decisions deterministic.
func (r *decider) better(a, b int32) bool {
	ka, kb := &r.cands[a], &r.cands[b]
	if ka.score != kb.score {
		return ka.score > kb.score
	}
	if ka.tier != kb.tier {
		return ka.tier < kb.tier
	}
	if ka.cost != kb.cost {
		return ka.cost < kb.cost
	}
	return r.clusters[ka.idx].Name < r.clusters[kb.idx].Name
}

func (r *decider) cmp(a, b int32) int {
	if a == b {
		return 0
	}
	if r.better(a, b) {
		return -1
	}
	return 1
}

// meanLatency is the mean round trip from the app's client regions to the
// cluster: measured when status.latencies has it, 0 inside the same region,
// unknownLatencyMs otherwise.
func (r *decider) meanLatency(c *v1alpha1.MemberCluster) int32 {
	regions := r.app.Spec.Placement.ClientRegions
	if len(regions) == 0 {
		return 0
	}
	var sum int64
	for _, src := range regions {
		ms := int64(unknownLatencyMs)
		if src == c.Spec.Region {
			ms = 0
		}
		for _, l := range c.Status.Latencies {
			if l.Region == src {
				ms = int64(l.Milliseconds)
				break
			}
		}
		sum += ms
	}
	return int32(sum / int64(len(regions)))
}
