package control_test

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/fnfleet/fnfleet/fdk/fdktest"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/dns"
	"github.com/fnfleet/fnfleet/federation/dns/health"
	"github.com/fnfleet/fnfleet/federation/dns/providers"
	"github.com/fnfleet/fnfleet/federation/dns/rfc2136"
	"github.com/fnfleet/fnfleet/federation/dns/vantage"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	fleethub "github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/dnstest"
	"github.com/fnfleet/fnfleet/test/testbed"
)

var _ control.DNSHub = (*fleethub.Client)(nil)

// TestDNSOnARealHub runs the dns shell against a real hub, BIND as the
// zone's server (TSIG-signed updates, its key in a hub Secret), and three
// members whose Fn is a real Fn server on a loopback address of its own,
// running the echo function (the app) and the probe function (the other
// members' vantage points). Deploy is the real shell too. The clock is the
// test's: the hysteresis and the TTL the deploy waits are counted on it.
func TestDNSOnARealHub(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	h := testbed.FleetAPI(t, testbed.Start(t, local.ClusterSpec{Name: "hub"}))
	const zoneName = "fleet.test."
	bind := dnstest.StartBIND(t, zoneName)
	if err := h.EnsureNamespace(ctx, "fnfleet-system"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Secrets("fnfleet-system").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "tsig"}, Data: map[string][]byte{"secret": []byte(bind.Secret)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.CreateDNSZone(ctx, &v1alpha1.DNSZone{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet"},
		Spec: v1alpha1.DNSZoneSpec{Zone: zoneName, OwnerID: "fnfleet", TTL: 30, Provider: v1alpha1.DNSProvider{
			Type: v1alpha1.DNSProviderRFC2136, RFC2136: &v1alpha1.RFC2136Provider{
				Server: bind.Addr, TSIGKeyName: bind.KeyName, TSIGAlgorithm: v1alpha1.TSIGHMACSHA256,
				TSIGSecretRef: v1alpha1.SecretKeyRef{Namespace: "fnfleet-system", Name: "tsig"},
			},
		}},
	}); err != nil {
		t.Fatal(err)
	}

	images := map[string]string{
		"fnfleet/echo:0.0.1":  fdktest.Build(t, "github.com/fnfleet/fnfleet/functions/echo"),
		vantage.Image:          fdktest.Build(t, "github.com/fnfleet/fnfleet/functions/probe"),
	}
	fns := map[string]*fnServer{}
	ips := map[string]string{"eu": "127.0.1.211", "us": "127.0.1.212", "ap": "127.0.1.213"}
	for _, m := range []struct{ name, region string }{{"eu", "eu-west"}, {"us", "us-east"}, {"ap", "ap-south"}} {
		fs := &fnServer{t: t, dir: t.TempDir(), images: images}
		fs.start(ips[m.name] + ":0")
		fns[m.name] = fs
		serveMember(t, ctx, h, m.name, m.region, fs.url)
		publishIngress(t, ctx, h, m.name, ips[m.name])
	}

	clock := now
	at := func() time.Time { return clock }
	deploy, err := control.NewDeploy(control.DeployConfig{Hub: h, Fn: fndeploy.Deployer{}, Now: at, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := health.NewChecker(health.Config{Timeout: time.Second, Vantage: vantage.New(vantage.Config{Timeout: 3 * time.Second}), Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	d, err := control.NewDNS(control.DNSConfig{Hub: h, Health: checker, Now: at, Logger: testbed.Logger(t),
		Provider: func(ctx context.Context, z *v1alpha1.DNSZone) (dns.Provider, error) {
			return providers.New(ctx, z, providers.Env{Secrets: h.Secrets, Logger: testbed.Logger(t)})
		}})
	if err != nil {
		t.Fatal(err)
	}
	pass := func(t *testing.T) control.DNSSummary {
		t.Helper()
		clock = clock.Add(2 * time.Second)
		sum, err := d.Reconcile(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	a := func(name string) []string { return queryA(t, bind, name) }

	hello := types.NamespacedName{Namespace: "default", Name: "hello"}
	withName(t, ctx, h, createApp(t, ctx, h, hello.Name, "hello", ""), "hello.fleet.test")
	placeOn(t, ctx, h, hello, "eu", "us")
	if _, err := deploy.Reconcile(ctx, hello); err != nil {
		t.Fatal(err)
	}

	t.Run("the names answer with the members serving the app", func(t *testing.T) {
		sum := pass(t)
		if sum.Written == 0 || sum.Ready != 1 {
			t.Fatalf("summary %+v: want record sets written and the app ready", sum)
		}
		if got := a("hello.fleet.test."); !slices.Equal(got, []string{ips["eu"], ips["us"]}) {
			t.Errorf("hello.fleet.test. A %v, want eu's and us's addresses", got)
		}
		if got := a("hello.eu-west.fleet.test."); !slices.Equal(got, []string{ips["eu"]}) {
			t.Errorf("the eu-west name A %v, want eu's address", got)
		}
		if txt := bind.Query(t, "_fnfleet.hello.fleet.test.", miekg.TypeTXT); len(txt) != 1 ||
			!strings.Contains(txt[0].String(), "owner=fnfleet,app=default/hello") {
			t.Errorf("ownership record %v", txt)
		}
		app := getApp(t, ctx, h, hello)
		c := apimeta.FindStatusCondition(app.Status.Conditions, v1alpha1.AppDNSReady)
		if c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "hello.fleet.test. A "+ips["eu"]+","+ips["us"]) {
			t.Errorf("DNSReady = %+v, want True listing the global name's answers", c)
		}
		if st := app.Status.DNS; st == nil || st.Zone != "fleet" || !answeringOnly(st, "eu", "us") {
			t.Errorf("status.dns = %+v, want eu and us answering in zone fleet", st)
		}
	})

	t.Run("an unchanged pass writes nothing", func(t *testing.T) {
		before := getApp(t, ctx, h, hello)
		if sum := pass(t); sum.Written != 0 {
			t.Errorf("wrote %d record sets with nothing changed", sum.Written)
		}
		if after := getApp(t, ctx, h, hello); after.ResourceVersion != before.ResourceVersion {
			t.Errorf("the app was written (resourceVersion %s -> %s) with nothing changed", before.ResourceVersion, after.ResourceVersion)
		}
	})

	t.Run("a member whose Fn dies leaves the answers after two failed probes, confirmed by the others", func(t *testing.T) {
		fns["us"].stop()
		pass(t)
		if got := a("hello.fleet.test."); !slices.Contains(got, ips["us"]) {
			t.Fatalf("after one failed probe: %v; want us still in (two failures drop)", got)
		}
		pass(t)
		if got := a("hello.fleet.test."); !slices.Equal(got, []string{ips["eu"]}) {
			t.Fatalf("after two failed probes: %v, want eu only", got)
		}
		cname := bind.Query(t, "hello.us-east.fleet.test.", miekg.TypeCNAME)
		if len(cname) != 1 || cname[0].(*miekg.CNAME).Target != "hello.fleet.test." {
			t.Errorf("the emptied us-east name: %v, want a CNAME to the global name", cname)
		}
		if st := getApp(t, ctx, h, hello).Status.DNS; !answeringOnly(st, "eu") {
			t.Errorf("status.dns.members %+v, want only eu answering", st.Members)
		}
	})

	t.Run("it returns after two successes", func(t *testing.T) {
		fns["us"].restart()
		pass(t)
		if got := a("hello.fleet.test."); slices.Contains(got, ips["us"]) {
			t.Fatalf("after one good probe: %v; want us still out (two successes return)", got)
		}
		pass(t)
		if got := a("hello.fleet.test."); !slices.Equal(got, []string{ips["eu"], ips["us"]}) {
			t.Fatalf("after two good probes: %v, want eu and us", got)
		}
	})

	t.Run("a foreign record at an app's name is left alone and reported", func(t *testing.T) {
		foreign, err := rfc2136.New(rfc2136.Config{Server: bind.Addr, Zone: zoneName, KeyName: bind.KeyName, Secret: bind.Secret})
		if err != nil {
			t.Fatal(err)
		}
		theirs := dns.Record{Name: "taken.fleet.test.", Type: dns.TypeA, TTL: 300, Targets: []string{"192.0.2.7"}}
		if err := foreign.Apply(ctx, dns.Changes{Create: []dns.Record{theirs}}); err != nil {
			t.Fatal(err)
		}
		taken := types.NamespacedName{Namespace: "default", Name: "taken"}
		withName(t, ctx, h, createApp(t, ctx, h, taken.Name, "taken", ""), "taken.fleet.test")
		placeOn(t, ctx, h, taken, "ap")
		if _, err := deploy.Reconcile(ctx, taken); err != nil {
			t.Fatal(err)
		}
		pass(t)
		if got := a("taken.fleet.test."); !slices.Equal(got, []string{"192.0.2.7"}) {
			t.Errorf("the foreign record now answers %v: it was changed", got)
		}
		c := apimeta.FindStatusCondition(getApp(t, ctx, h, taken).Status.Conditions, v1alpha1.AppDNSReady)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "NameHeldByAnotherOwner" || !strings.Contains(c.Message, "taken.fleet.test.") {
			t.Errorf("DNSReady of taken = %+v, want False naming the held name", c)
		}
		if c := apimeta.FindStatusCondition(getApp(t, ctx, h, hello).Status.Conditions, v1alpha1.AppDNSReady); c == nil || c.Status != metav1.ConditionTrue {
			t.Errorf("hello's DNSReady = %+v: another app's refusal must not touch it", c)
		}
	})

	t.Run("a hostname outside every zone is refused on that app alone", func(t *testing.T) {
		away := types.NamespacedName{Namespace: "default", Name: "away"}
		withName(t, ctx, h, createApp(t, ctx, h, away.Name, "away", ""), "away.elsewhere.example")
		pass(t)
		c := apimeta.FindStatusCondition(getApp(t, ctx, h, away).Status.Conditions, v1alpha1.AppDNSReady)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != dns.ReasonNoZone {
			t.Errorf("DNSReady of away = %+v, want False NoZone", c)
		}
	})

	t.Run("deploy keeps a member no longer placed until DNS stopped answering with it and a TTL passed", func(t *testing.T) {
		placeOn(t, ctx, h, hello, "eu")
		app, err := deploy.Reconcile(ctx, hello)
		if err != nil {
			t.Fatal(err)
		}
		if !deployedOn(app, "us") || !strings.Contains(deployedMessage(app), "kept on us while its DNS names still answer") {
			t.Fatalf("deploy removed us while DNS answers with it: %+v / %q", app.Status.Deployments, deployedMessage(app))
		}
		pass(t)
		left := clock
		if got := a("hello.fleet.test."); !slices.Equal(got, []string{ips["eu"]}) {
			t.Fatalf("after the move: %v, want eu only", got)
		}
		clock = left.Add(29 * time.Second)
		if app, err = deploy.Reconcile(ctx, hello); err != nil || !deployedOn(app, "us") {
			t.Fatalf("29 s after DNS stopped answering (TTL 30 s): us removed (%v, %+v)", err, app.Status.Deployments)
		}
		if at, held := control.DNSRemovalRetry(app, clock); !held || !at.Equal(left.Add(30*time.Second)) {
			t.Errorf("retry at %v (held %v), want when the TTL ends, %v", at, held, left.Add(30*time.Second))
		}
		clock = left.Add(30 * time.Second)
		if app, err = deploy.Reconcile(ctx, hello); err != nil || deployedOn(app, "us") {
			t.Fatalf("a TTL after DNS stopped answering: us kept (%v, %+v)", err, app.Status.Deployments)
		}
		if code, _ := call(t, ctx, http.MethodPost, fns["us"].url+"/t/hello/echo", strings.NewReader("x")); code != http.StatusNotFound {
			t.Errorf("hello on us answered %d after its removal, want 404", code)
		}
	})

	t.Run("a deleted app's names go, then the app", func(t *testing.T) {
		if err := h.DeleteFleetApp(ctx, hello.Namespace, hello.Name); err != nil {
			t.Fatal(err)
		}
		pass(t)
		if got := a("hello.fleet.test."); len(got) != 0 {
			t.Errorf("a deleted app's name answers %v", got)
		}
		if txt := bind.Query(t, "_fnfleet.hello.fleet.test.", miekg.TypeTXT); len(txt) != 0 {
			t.Errorf("its ownership record is left: %v", txt)
		}
		clock = clock.Add(31 * time.Second)
		if _, err := deploy.Reconcile(ctx, hello); err != nil {
			t.Fatal(err)
		}
		if _, err := h.GetFleetApp(ctx, hello.Namespace, hello.Name); !apierrors.IsNotFound(err) {
			t.Errorf("the app is still there (%v): dns and deploy should have let it go", err)
		}
	})
}

// withName gives app the DNS hostname host.
func withName(t *testing.T, ctx context.Context, h *fleethub.Client, app *v1alpha1.FleetApp, host string) {
	t.Helper()
	app.Spec.DNS = &v1alpha1.DNSSpec{Hostname: host}
	if _, err := h.UpdateFleetApp(ctx, app); err != nil {
		t.Fatal(err)
	}
}

// publishIngress records the member's load-balancer address, as reconcile
// does from its Fn Service.
func publishIngress(t *testing.T, ctx context.Context, h *fleethub.Client, name, ip string) {
	t.Helper()
	mc, err := h.GetMemberCluster(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	st := mc.Status
	if _, err := h.ApplyMemberClusterStatus(ctx, name, mc.ResourceVersion, control.ReconcileManager, &v1alpha1.MemberClusterStatus{
		Allocatable: st.Allocatable, Used: st.Used, LastHeartbeatTime: st.LastHeartbeatTime, Conditions: st.Conditions,
		Ingress: []v1alpha1.IngressAddress{{IP: ip}},
	}); err != nil {
		t.Fatal(err)
	}
}

// queryA asks bind for name's A records, sorted.
func queryA(t *testing.T, bind *dnstest.BIND, name string) []string {
	t.Helper()
	var out []string
	for _, rr := range bind.Query(t, name, miekg.TypeA) {
		if a, ok := rr.(*miekg.A); ok {
			out = append(out, a.A.String())
		}
	}
	sort.Strings(out)
	return out
}

// answeringOnly: st says exactly clusters answer.
func answeringOnly(st *v1alpha1.AppDNSStatus, clusters ...string) bool {
	if st == nil {
		return false
	}
	var got []string
	for _, m := range st.Members {
		if m.Answering {
			got = append(got, m.Cluster)
		}
	}
	return slices.Equal(got, clusters)
}

func deployedOn(app *v1alpha1.FleetApp, cluster string) bool {
	return slices.ContainsFunc(app.Status.Deployments, func(r v1alpha1.AppDeployment) bool { return r.Cluster == cluster })
}

func deployedMessage(app *v1alpha1.FleetApp) string {
	if c := apimeta.FindStatusCondition(app.Status.Conditions, v1alpha1.AppDeployed); c != nil {
		return c.Message
	}
	return ""
}
