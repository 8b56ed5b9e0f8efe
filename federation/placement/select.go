package placement

import (
	"slices"
)

// clustersWanted is the fewest clusters spread asks for.
func (p *policy) clustersWanted() int {
	return max(p.minClusters, p.minGroups, 1)
}

// bucket lays the candidates out by group in r.order and sorts, per group,
// as many of the best as can ever be picked from it (maxClusters) — a
// partial selection instead of a full sort when groups are large.
func (r *decider) bucket() {
	n := len(r.cands)
	if cap(r.order) < n {
		r.order = make([]int32, n)
	}
	r.order = r.order[:n]
	pos := 0
	for g := range r.groups {
		r.groups[g].start = pos
		pos += r.groups[g].size
		r.groups[g].size = 0
	}
	for i := range r.cands {
		g := &r.groups[r.cands[i].group]
		r.order[g.start+g.size] = int32(i)
		g.size++
	}
	k := r.p.maxClusters
	for gi := range r.groups {
		g := &r.groups[gi]
		b := r.order[g.start : g.start+g.size]
		if k*4 >= len(b) {
			slices.SortFunc(b, r.cmp)
			g.top = len(b)
			continue
		}
		// Top-k by insertion: b[:k] holds the best k seen so far, in order.
		slices.SortFunc(b[:k], r.cmp)
		for j := k; j < len(b); j++ {
			c := b[j]
			if !r.better(c, b[k-1]) {
				continue
			}
			at := k - 1
			for at > 0 && r.better(c, b[at-1]) {
				at--
			}
			copy(b[at+1:k], b[at:k-1])
			b[at] = c
		}
		g.top = k
	}
}

// rankGroups returns group indices ordered by their best candidate.
func (r *decider) rankGroups() []int32 {
	ranked := make([]int32, len(r.groups))
	for i := range ranked {
		ranked[i] = int32(i)
	}
	slices.SortFunc(ranked, func(a, b int32) int {
		return r.cmp(r.order[r.groups[a].start], r.order[r.groups[b].start])
	})
	return ranked
}

// selectClusters picks clusters greedily, best score first, under the spread
// rules: the best cluster of each of the best minGroups groups first, then
// the best remaining cluster whose group keeps within maxGroups and
// maxSkew, until spread's minimum is met and (Divided) the picked clusters
// can hold every replica, or maxClusters is reached.
func (r *decider) selectClusters() {
	if len(r.cands) == 0 {
		return
	}
	r.bucket()
	ranked := r.rankGroups()
	p := &r.p
	r.picked = make([]int32, 0, min(p.maxClusters, len(r.cands)))
	var capacity int64
	usedGroups := 0
	pick := func(g *group) {
		c := r.order[g.start+g.next]
		g.next++
		if g.count == 0 {
			usedGroups++
		}
		g.count++
		r.picked = append(r.picked, c)
		capacity += int64(r.cands[c].fit)
	}
	// Groups that do not exist cannot be filled by more clusters in the
	// groups that do: the shortfall asks for them instead.
	wantGroups := min(p.minGroups, len(r.groups))
	wantClusters := max(p.minClusters, wantGroups, 1)
	enough := func() bool {
		if len(r.picked) < wantClusters || usedGroups < wantGroups {
			return false
		}
		return !p.divided || capacity >= int64(p.replicas)
	}
	for _, gi := range ranked {
		if usedGroups >= min(p.minGroups, p.maxGroups) || len(r.picked) >= p.maxClusters {
			break
		}
		pick(&r.groups[gi])
	}
	for !enough() && len(r.picked) < p.maxClusters {
		best := -1
		consider := func(gi int) {
			g := &r.groups[gi]
			if g.next >= g.top || !r.skewAllows(gi) {
				return
			}
			if best < 0 || r.better(r.order[g.start+g.next], r.order[r.groups[best].start+r.groups[best].next]) {
				best = gi
			}
		}
		// Used groups, and the best unused one: groups are ranked by their
		// best candidate, so the first unused group in rank order is it.
		for _, gi := range ranked {
			if r.groups[gi].count > 0 {
				consider(int(gi))
			}
		}
		if usedGroups < p.maxGroups {
			for _, gi := range ranked {
				if r.groups[gi].count == 0 && r.groups[gi].size > 0 {
					consider(int(gi))
					break
				}
			}
		}
		if best < 0 {
			break
		}
		pick(&r.groups[best])
	}
}

// skewAllows reports whether one more cluster in group gi keeps the
// difference between the used groups' cluster counts within maxSkew.
func (r *decider) skewAllows(gi int) bool {
	if r.p.maxSkew <= 0 {
		return true
	}
	lo, hi := int(^uint(0)>>1), 0
	for i := range r.groups {
		c := r.groups[i].count
		if i == gi {
			c++
		}
		if c == 0 {
			continue
		}
		lo, hi = min(lo, c), max(hi, c)
	}
	return hi-lo <= r.p.maxSkew
}

// keepPrevious returns the previous decision's clusters, best first, when
// that decision is still valid and the new selection (as divided) does not
// beat it by more than the rebalance threshold; else nil.
func (r *decider) keepPrevious(sel []Selection) []int32 {
	if len(r.prev) == 0 {
		return nil
	}
	prevCands := make([]int32, 0, len(r.prev))
	for i := range r.cands {
		if r.cands[i].inPrev {
			prevCands = append(prevCands, int32(i))
		}
	}
	if len(prevCands) != len(r.prev) || !r.validSet(prevCands) {
		return nil
	}
	same := len(sel) == len(prevCands)
	var newSum, prevSum int64
	for _, s := range sel {
		newSum += int64(s.Score)
		same = same && r.cands[s.cand].inPrev
	}
	for _, c := range prevCands {
		prevSum += int64(r.cands[c].score)
	}
	if !same && len(sel) > 0 && newSum/int64(len(sel))-prevSum/int64(len(prevCands)) > int64(r.p.threshold) {
		return nil
	}
	slices.SortFunc(prevCands, r.cmp)
	return prevCands
}

// validSet reports whether a set of candidates meets the spread rules and,
// when Divided, can hold every replica.
func (r *decider) validSet(set []int32) bool {
	p := &r.p
	if len(set) < p.clustersWanted() || len(set) > p.maxClusters {
		return false
	}
	counts := make([]int, len(r.groups))
	var capacity int64
	for _, c := range set {
		counts[r.cands[c].group]++
		capacity += int64(r.cands[c].fit)
	}
	used, lo, hi := 0, int(^uint(0)>>1), 0
	for _, n := range counts {
		if n > 0 {
			used++
			lo, hi = min(lo, n), max(hi, n)
		}
	}
	if used < p.minGroups || used > p.maxGroups {
		return false
	}
	if p.maxSkew > 0 && hi-lo > p.maxSkew {
		return false
	}
	return !p.divided || capacity >= int64(p.replicas)
}

// divide gives each picked cluster its replicas: all of them when
// Duplicated; when Divided, shares proportional to the static weight or to
// the free capacity, by largest remainder, capped by what each cluster can
// take. Clusters left with no replica are dropped.
func (r *decider) divide() {
	slices.SortFunc(r.picked, r.cmp)
	r.d.Selected = r.divideSet(r.picked)
	if prev := r.keepPrevious(r.d.Selected); prev != nil {
		r.picked = prev
		r.d.Selected = r.divideSet(prev)
		r.d.Kept = true
	}
}

// divideSet divides the replicas over picked (best first) and returns
// the clusters that get some.
func (r *decider) divideSet(picked []int32) []Selection {
	sel := make([]Selection, len(picked))
	for i, c := range picked {
		k := &r.cands[c]
		sel[i] = Selection{Cluster: k.idx, Score: int32(k.score), Scores: k.scores, cand: c}
	}
	if len(sel) == 0 {
		return sel
	}
	p := &r.p
	if !p.divided {
		for i := range sel {
			sel[i].Replicas = p.replicas
		}
		return sel
	}
	var total int64
	for _, c := range picked {
		total += int64(r.share(c))
	}
	left := int64(p.replicas)
	// rem holds each cluster's fractional share, scaled by total.
	rem := make([]int64, len(sel))
	for i, c := range picked {
		exact := int64(p.replicas) * int64(r.share(c))
		n := min(exact/total, int64(r.cands[c].fit))
		sel[i].Replicas = int32(n)
		rem[i] = exact % total
		if n == int64(r.cands[c].fit) {
			rem[i] = -1 // full
		}
		left -= n
	}
	// Largest remainder first; sel is in score order, so ties go to the
	// better cluster. Then, for capped shares, any cluster with room.
	for left > 0 {
		best := -1
		for i, c := range picked {
			if int64(sel[i].Replicas) >= int64(r.cands[c].fit) {
				continue
			}
			if best < 0 || rem[i] > rem[best] {
				best = i
			}
		}
		if best < 0 {
			break
		}
		sel[best].Replicas++
		rem[best] = -1
		left--
	}
	kept := sel[:0]
	for _, s := range sel {
		if s.Replicas > 0 {
			kept = append(kept, s)
		}
	}
	return kept
}

// share is the weight of candidate c in a Divided split.
func (r *decider) share(c int32) int32 {
	if r.p.static {
		return int32(r.cands[c].weight)
	}
	return max(r.cands[c].fit, 1)
}

// shortfall records what the decision lacks.
func (r *decider) shortfall() {
	p := &r.p
	missing := int32(max(p.clustersWanted()-len(r.d.Selected), 0))
	used := 0
	for i, s := range r.d.Selected {
		g := r.cands[s.cand].group
		seen := false
		for _, t := range r.d.Selected[:i] {
			if r.cands[t.cand].group == g {
				seen = true
				break
			}
		}
		if !seen {
			used++
		}
	}
	missing = max(missing, int32(max(p.minGroups-used, 0)))
	r.d.MissingClusters = missing
	if p.divided {
		r.d.Unplaced = p.replicas - r.d.Placed()
	} else {
		r.d.Unplaced = missing * p.replicas
	}
}
