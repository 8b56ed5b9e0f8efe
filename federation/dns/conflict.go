package dns

import "fmt"

// grant gives each name to one app. A name claimed by one app is that
// app's. Where apps claim the same name, the app that holds it today
// (owners, as the registry read it) keeps it, else the first app by key
// gets it; an app that loses any name publishes none (a half-published
// app is worse than a clear refusal) and gets NameConflict.
//
// Apps are granted greedily, so a loser never blocks a third app: first
// the apps holding a contested name, each unless another claimant holds
// one of its names or an app granted before took one; then the others,
// in key order, each unless an app granted before took one of its names.
// apps are in key order, so the result does not depend on the input's.
func grant(apps []appState, owners map[string]string) {
	n := 0
	for i := range apps {
		n += len(apps[i].levels)
	}
	first := make(map[string]int, n) // name -> first claimant
	var contested map[string][]int   // name -> every claimant, in key order
	for i := range apps {
		for _, l := range apps[i].levels {
			j, ok := first[l.name]
			if !ok {
				first[l.name] = i
				continue
			}
			if contested == nil {
				contested = map[string][]int{}
			}
			if contested[l.name] == nil {
				contested[l.name] = []int{j}
			}
			contested[l.name] = append(contested[l.name], i)
		}
	}
	if contested == nil {
		return
	}
	// holder is the claimant of name that owners says holds it, or -1.
	holder := func(name string) int {
		key, ok := owners[name]
		if !ok {
			return -1
		}
		for _, i := range contested[name] {
			if apps[i].in.Key == key {
				return i
			}
		}
		return -1
	}
	winner := map[string]int{}
	take := func(i int, respectHolders bool) bool {
		for _, l := range apps[i].levels {
			if contested[l.name] == nil {
				continue
			}
			if w, ok := winner[l.name]; ok && w != i {
				return false
			}
			if h := holder(l.name); respectHolders && h >= 0 && h != i {
				return false
			}
		}
		for _, l := range apps[i].levels {
			if contested[l.name] != nil {
				winner[l.name] = i
			}
		}
		return true
	}
	contender := make([]bool, len(apps))
	holds := make([]bool, len(apps))
	for name, claimants := range contested {
		for _, i := range claimants {
			contender[i] = true
		}
		if h := holder(name); h >= 0 {
			holds[h] = true
		}
	}
	granted := make([]bool, len(apps))
	for i := range apps {
		if holds[i] {
			granted[i] = take(i, true)
		}
	}
	for i := range apps {
		if contender[i] && !granted[i] && !take(i, false) {
			apps[i].refuse(apps, winner, owners)
		}
	}
}

// refuse gives app a NameConflict naming the first of its names another
// app won, and that app.
func (a *appState) refuse(apps []appState, winner map[string]int, owners map[string]string) {
	for _, l := range a.levels {
		w, ok := winner[l.name]
		if !ok || apps[w].in == a.in {
			continue
		}
		why := "the first app by key"
		if owners[l.name] == apps[w].in.Key {
			why = "it holds the name"
		}
		a.fail(ReasonNameConflict, fmt.Sprintf("%s (%s level) is app %s's name (%s): %s publishes none of its names while one is another app's; choose another hostname, or levels without that name",
			l.name, l.kind, apps[w].in.Key, why, a.in.Key))
		return
	}
}
