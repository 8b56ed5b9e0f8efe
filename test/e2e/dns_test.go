package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/localmode"
)

// appHost is the name of app(), in the local fleet's zone.
const appHost = "hello." + localmode.Zone

// hostnamed gives a its own name in the local fleet's zone,
// <name>.fnfleet.internal, and returns it (fully qualified).
func hostnamed(a *v1alpha1.FleetApp) string {
	a.Spec.DNS = &v1alpha1.DNSSpec{Hostname: a.Name + "." + strings.TrimSuffix(localmode.Zone, ".")}
	return a.Name + "." + localmode.Zone
}

// assertHungMemberLeavesTheName spreads app hello over two clusters of its
// region, hangs one member's Fn (SIGSTOP: its socket still accepts, nothing
// answers, its process is there) and waits for its address to leave the
// name's answers while the other stays, then continues it and waits for
// the address to return. What drops it is the dns function's probe of the
// app's trigger (or reconcile finding the member's Fn unhealthy, should its
// look come first): nothing that only checks a process or a connection
// would see it.
func assertHungMemberLeavesTheName(t *testing.T, ctx context.Context, fleet *localmode.Fleet) {
	patch := `{"spec":{"placement":{"spread":{"minClusters":2}}}}`
	if err := fleet.HubClient.REST().Patch(types.MergePatchType).Namespace("default").Resource("fleetapps").Name("hello").
		Body([]byte(patch)).Do(ctx).Error(); err != nil {
		t.Fatal(err)
	}
	both := awaitAnswers(t, ctx, fleet, appHost, 100*time.Millisecond, "two addresses", func(a []string) bool { return len(a) == 2 })
	hung, other := memberAt(t, fleet, both[0]), memberAt(t, fleet, both[1])
	awaitApp(t, ctx, fleet, "DNSReady with both members", dnsSays(both, map[string]bool{hung: true, other: true}))

	if err := fleet.HangDataPlane(hung); err != nil {
		t.Fatal(err)
	}
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = fleet.ResumeDataPlane(hung)
		}
	})
	awaitAnswers(t, ctx, fleet, appHost, 100*time.Millisecond, "only "+both[1], func(a []string) bool { return slices.Equal(a, both[1:]) })
	out := awaitApp(t, ctx, fleet, "DNSReady without the hung member", dnsSays(both[1:], map[string]bool{hung: false, other: true}))
	for _, m := range out.Status.DNS.Members {
		if m.Cluster == hung && !strings.HasPrefix(m.Reason, "ProbeFailed") && m.Reason != "ClusterNotServing" {
			t.Errorf("status.dns.members says %s is out for %q, want ProbeFailed (its probes) or ClusterNotServing (reconcile saw its Fn down)", hung, m.Reason)
		}
	}

	if err := fleet.ResumeDataPlane(hung); err != nil {
		t.Fatal(err)
	}
	resumed = true
	awaitAnswers(t, ctx, fleet, appHost, 100*time.Millisecond, "both again", func(a []string) bool { return slices.Equal(a, both) })
	awaitApp(t, ctx, fleet, "DNSReady with both members again", dnsSays(both, map[string]bool{hung: true, other: true}))
}

// dnsSays is whether app hello's DNS status is that its name answers
// addrs (sorted) and, for each member, whether its names answer with it:
// DNSReady True for the app's generation with a message that starts with
// the name and addrs, status.dns.names the same, status.dns.members
// exactly answering.
func dnsSays(addrs []string, answering map[string]bool) func(*v1alpha1.FleetApp) bool {
	lists := appHost + " A " + strings.Join(addrs, ",")
	return func(a *v1alpha1.FleetApp) bool {
		c := apimeta.FindStatusCondition(a.Status.Conditions, v1alpha1.AppDNSReady)
		if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != a.Generation ||
			(c.Message != lists && !strings.HasPrefix(c.Message, lists+";")) {
			return false
		}
		st := a.Status.DNS
		if st == nil || st.Zone != localmode.ZoneName || len(st.Members) != len(answering) ||
			!slices.ContainsFunc(st.Names, func(n v1alpha1.DNSNameStatus) bool {
				return n.Name == appHost && n.Type == "A" && slices.Equal(n.Targets, addrs)
			}) {
			return false
		}
		for _, m := range st.Members {
			if want, ok := answering[m.Cluster]; !ok || m.Answering != want {
				return false
			}
		}
		return true
	}
}

// awaitAnswers asks the fleet's DNS server for host's A records every
// poll until they satisfy ok, and returns them; the context's deadline
// only bounds a failing wait.
func awaitAnswers(tb testing.TB, ctx context.Context, fleet *localmode.Fleet, host string, poll time.Duration, what string, ok func([]string) bool) []string {
	tb.Helper()
	var last string
	for {
		got, err := fleet.LookupA(ctx, host)
		if err == nil && ok(got) {
			return got
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("answers %v", got)
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s does not answer %s: %s; members %+v", host, what, last, fleet.Members())
		case <-time.After(poll):
		}
	}
}

// addrOf is the address of a member's Fn URL (its data plane's loopback
// address, which the member publishes as its ingress).
func addrOf(tb testing.TB, fnURL string) string {
	tb.Helper()
	u, err := url.Parse(fnURL)
	if err != nil || u.Hostname() == "" {
		tb.Fatalf("Fn URL %q has no host: %v", fnURL, err)
	}
	return u.Hostname()
}

// memberAt is the member whose Fn serves at addr.
func memberAt(tb testing.TB, fleet *localmode.Fleet, addr string) string {
	tb.Helper()
	members := fleet.Members()
	for _, m := range members {
		if m.FnURL != "" && addrOf(tb, m.FnURL) == addr {
			return m.Name
		}
	}
	tb.Fatalf("no member serves at %s: %+v", addr, members)
	return ""
}

// viaName is the trigger URL of app hello on the Fn at fnURL with the
// host replaced by host, and a client that resolves it by the fleet's DNS
// server: a call through it reaches the app only if the name leads there.
func viaName(tb testing.TB, fleet *localmode.Fleet, fnURL, host string) (*http.Client, string) {
	tb.Helper()
	u, err := url.Parse(fnURL)
	if err != nil {
		tb.Fatal(err)
	}
	u.Host = net.JoinHostPort(strings.TrimSuffix(host, "."), u.Port())
	client := &http.Client{Transport: &http.Transport{DialContext: fleet.Dialer().DialContext}, Timeout: 10 * time.Second}
	tb.Cleanup(client.CloseIdleConnections)
	return client, u.JoinPath("t", "hello", "echo").String()
}
