package health_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fnfleet/fnfleet/federation/dns/health"
)

func up(c string) health.Vote {
	return health.Vote{Cluster: c, Reached: true, Up: true, Reason: "200 OK"}
}
func down(c string) health.Vote { return health.Vote{Cluster: c, Reached: true, Reason: "503"} }
func lost(c string) health.Vote {
	return health.Vote{Cluster: c, Reason: "dial tcp: connection refused"}
}

func TestConfirm(t *testing.T) {
	for _, c := range []struct {
		name  string
		votes []health.Vote
		drop  bool
		says  string
	}{
		{"no vantage candidates: the hub decides alone", nil, true, "the hub decides alone"},
		{"none reached: hold", []health.Vote{lost("b"), lost("c")}, false, "none of 2 vantage points could be asked"},
		{"all reached agree", []health.Vote{down("b"), down("c"), down("d")}, true, "3 of 3"},
		{"majority agrees", []health.Vote{down("b"), down("c"), up("d")}, true, "2 of 3"},
		{"majority of those reached agrees", []health.Vote{down("b"), lost("c"), lost("d")}, true, "1 of 1"},
		{"a tie holds", []health.Vote{down("b"), up("c")}, false, "1 of 2 vantage points reached still get an answer (c)"},
		{"the only one reached still gets an answer", []health.Vote{up("b"), lost("c"), lost("d")}, false, "1 of 1"},
		{"every one reached gets an answer", []health.Vote{up("b"), up("c"), up("d")}, false, "3 of 3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			drop, why := health.Confirm(c.votes)
			if drop != c.drop || !strings.Contains(why, c.says) {
				t.Errorf("Confirm = %v %q, want %v and a reason saying %q", drop, why, c.drop, c.says)
			}
		})
	}
}

// TestConfirmProperties, over random votes: a hub cut off alone (every
// vantage point reached gets an answer) never drops; nothing is dropped
// while no vantage point could be reached; a drop needs a strict majority
// of those reached; the order of the votes does not matter; and one more
// vantage point finding the member down never turns a drop into a hold.
func TestConfirmProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 17))
	names := []string{"a", "b", "c", "d", "e"}
	for range 5000 {
		votes := make([]health.Vote, 1+rng.IntN(len(names)))
		var reached, downs int
		for i := range votes {
			switch rng.IntN(3) {
			case 0:
				votes[i] = up(names[i])
				reached++
			case 1:
				votes[i] = down(names[i])
				reached++
				downs++
			default:
				votes[i] = lost(names[i])
			}
		}
		drop, why := health.Confirm(votes)
		if reached > 0 && downs == 0 && drop {
			t.Fatalf("%+v: dropped although every vantage point reached gets an answer (%s)", votes, why)
		}
		if reached == 0 && drop {
			t.Fatalf("%+v: dropped with no vantage point reached (%s)", votes, why)
		}
		if drop != (2*downs > reached) {
			t.Fatalf("%+v: drop %v with %d of %d reached finding it down", votes, drop, downs, reached)
		}
		shuffled := append([]health.Vote(nil), votes...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if d, _ := health.Confirm(shuffled); d != drop {
			t.Fatalf("%+v: drop %v, and %v in another order", votes, drop, d)
		}
		for i, v := range votes {
			if !v.Reached || !v.Up {
				continue
			}
			worse := append([]health.Vote(nil), votes...)
			worse[i] = down(v.Cluster)
			if d, _ := health.Confirm(worse); drop && !d {
				t.Fatalf("%+v dropped, but not once %s also finds it down", votes, v.Cluster)
			}
		}
	}
}
