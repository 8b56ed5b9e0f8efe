package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/util/retry"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/localmode"
)

// demoHost is the demo app's name, in the local fleet's zone.
const demoHost = "hello." + localmode.Zone

// awaitAnswers polls the fleet's DNS server (every 200 ms, as poll does)
// until the demo app's A records satisfy ok, and returns them.
func (s *story) awaitAnswers(ctx context.Context, fleet *localmode.Fleet, what string, ok func([]string) bool) ([]string, error) {
	var got []string
	err := poll(ctx, "wait for "+demoHost+" to answer "+what, func(ctx context.Context) (bool, string, error) {
		var err error
		if got, err = fleet.LookupA(ctx, demoHost); err != nil {
			return false, "", err
		}
		return ok(got), fmt.Sprintf("answers %v", got), nil
	})
	return got, err
}

// callByName calls the demo function through its DNS name: the name is
// resolved by the fleet's DNS server, as a caller's resolver would.
func (s *story) callByName(ctx context.Context, fleet *localmode.Fleet, host string) error {
	client := &http.Client{Transport: &http.Transport{DialContext: fleet.Dialer().DialContext}, Timeout: 10 * time.Second}
	url := "http://" + strings.TrimSuffix(host, ".") + ":8080/t/hello/echo"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("hello by name"))
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("call hello by its name: %w", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("call hello at %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("call hello at %s: %s: %s", url, resp.Status, got)
	}
	s.step("POST %s answered %q: the name leads to the app", url, got)
	return nil
}

// dnsFailover spreads the demo app over two clusters, hangs one's Fn, and
// shows the name leave it and return once it is back.
func (s *story) dnsFailover(ctx context.Context, fleet *localmode.Fleet) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		app, err := fleet.HubClient.GetFleetApp(ctx, "default", "hello")
		if err != nil {
			return err
		}
		app.Spec.Placement.Spread = &v1alpha1.SpreadPolicy{MinClusters: 2}
		_, err = fleet.HubClient.UpdateFleetApp(ctx, app)
		return err
	})
	if err != nil {
		return err
	}
	s.step("FleetApp hello now wants 2 clusters: placement asks for a second one")
	both, err := s.awaitAnswers(ctx, fleet, "two addresses", func(a []string) bool { return len(a) == 2 })
	if err != nil {
		return err
	}
	s.step("%s answers %s: both clusters serve it", demoHost, strings.Join(both, " and "))

	victim := ""
	for _, m := range fleet.Members() {
		if strings.Contains(m.FnURL, "//"+both[0]+":") {
			victim = m.Name
		}
	}
	if victim == "" {
		return fmt.Errorf("no member serves %s", both[0])
	}
	// Hung rather than killed: a killed Fn is restarted by lifecycle's next
	// look, at times before two probes have failed (then the name rightly
	// keeps it); a hung one stays, as a wedged process or a dead network
	// path would, and only a probe of the app itself sees it.
	if err := fleet.HangDataPlane(victim); err != nil {
		return err
	}
	hung := time.Now()
	s.step("%s's Fn (%s) hung (SIGSTOP): its process is there and its port accepts, but the app no longer answers", victim, both[0])
	left, err := s.awaitAnswers(ctx, fleet, "without "+both[0], func(a []string) bool { return len(a) > 0 && !slices.Contains(a, both[0]) })
	if err != nil {
		return err
	}
	s.step("%s answers %s only, %s after the hang (its probes failed twice, the other member agreed)", demoHost, strings.Join(left, ","), time.Since(hung).Round(100*time.Millisecond))
	if err := s.callByName(ctx, fleet, demoHost); err != nil {
		return err
	}
	if err := fleet.ResumeDataPlane(victim); err != nil {
		return err
	}
	resumed := time.Now()
	if _, err := s.awaitAnswers(ctx, fleet, "both again", func(a []string) bool { return len(a) == 2 }); err != nil {
		return err
	}
	s.step("%s's Fn resumed: %s answers both again, %s later (two good probes)", victim, demoHost, time.Since(resumed).Round(100*time.Millisecond))
	return nil
}
