package v1alpha1_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/parking"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// examplesDir is relative to this package's directory, where go test runs.
const examplesDir = "../../../examples"

var (
	memberClusters = v1alpha1.GroupVersion().WithResource("memberclusters")
	fleetApps      = v1alpha1.GroupVersion().WithResource("fleetapps")
	clusterPools   = v1alpha1.GroupVersion().WithResource("clusterpools")
	dnsZones       = v1alpha1.GroupVersion().WithResource("dnszones")
)

// TestCRDsOnARealAPIServer installs the generated CRDs in a real
// kube-apiserver, applies the examples (accepted) and invalid objects
// (refused, with messages that say what is wrong).
func TestCRDsOnARealAPIServer(t *testing.T) {
	cl := testbed.Start(t, local.ClusterSpec{Region: "eu-test-1"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	installCRDs(ctx, t, cl.RESTConfig)
	dyn, err := dynamic.NewForConfig(cl.RESTConfig)
	if err != nil {
		t.Fatalf("dynamic client: %v", err)
	}

	t.Run("examples are accepted", func(t *testing.T) {
		for _, file := range []string{"memberclusters.yaml", "fleetapps.yaml", "clusterpools.yaml", "dnszones.yaml"} {
			for _, obj := range readObjects(t, filepath.Join(examplesDir, file)) {
				if err := create(ctx, dyn, obj); err != nil {
					t.Fatalf("%s: %s %s refused: %v", file, obj.GetKind(), obj.GetName(), err)
				}
			}
		}
		// Defaults from the schema are applied.
		app, err := dyn.Resource(fleetApps).Namespace("default").Get(ctx, "checkout", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get checkout: %v", err)
		}
		if levels, _, _ := unstructured.NestedStringSlice(app.Object, "spec", "dns", "levels"); !slices.Equal(levels, []string{"Global", "Region", "Zone"}) {
			t.Errorf("dns.levels defaulted to %q, want every level", levels)
		}
		if typ, _, _ := unstructured.NestedString(app.Object, "spec", "app", "functions", "0", "triggers", "0", "type"); typ != "" && typ != "http" {
			t.Errorf("trigger type = %q", typ)
		}
		pool, err := dyn.Resource(clusterPools).Get(ctx, "eu-amsterdam-burst", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get pool eu-amsterdam-burst: %v", err)
		}
		if mode, _, _ := unstructured.NestedString(pool.Object, "spec", "parking", "mode"); mode != "ScaleToZero" {
			t.Errorf("pool parking.mode = %q, want ScaleToZero", mode)
		}
		if up, _, _ := unstructured.NestedInt64(pool.Object, "spec", "nodeAutoscale", "scaleUpPercent"); up != 0 {
			t.Errorf("pool without nodeAutoscale got scaleUpPercent %d", up)
		}
		edge, err := dyn.Resource(dnsZones).Get(ctx, "edge-example-net", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get zone edge-example-net: %v", err)
		}
		if owner, _, _ := unstructured.NestedString(edge.Object, "spec", "ownerID"); owner != "fnfleet" {
			t.Errorf("zone ownerID defaulted to %q, want fnfleet", owner)
		}
		if prefix, _, _ := unstructured.NestedString(edge.Object, "spec", "provider", "coredns", "prefix"); prefix != "/skydns" {
			t.Errorf("coredns prefix defaulted to %q, want /skydns", prefix)
		}
		if err := unstructured.SetNestedField(edge.Object, "another-fleet", "spec", "ownerID"); err != nil {
			t.Fatal(err)
		}
		if _, err := dyn.Resource(dnsZones).Update(ctx, edge, metav1.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "ownerID cannot change") {
			t.Errorf("changing a zone's ownerID: err = %v, want it refused as unchangeable", err)
		}
		minimal := mustObject(t, fmt.Sprintf(validPool, "minimal-pool"))
		if err := create(ctx, dyn, minimal); err != nil {
			t.Fatalf("minimal pool refused: %v", err)
		}
		got, err := dyn.Resource(clusterPools).Get(ctx, "minimal-pool", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get minimal-pool: %v", err)
		}
		if n, _, _ := unstructured.NestedInt64(got.Object, "spec", "nodes"); n != 1 {
			t.Errorf("pool nodes defaulted to %d, want 1", n)
		}
		if tier, _, _ := unstructured.NestedInt64(got.Object, "spec", "tier"); tier != 1 {
			t.Errorf("pool tier defaulted to %d, want 1", tier)
		}
	})

	t.Run("poolRef cannot change", func(t *testing.T) {
		mc := mustObject(t, cluster("from-pool", "  poolRef: {name: eu-frankfurt-local}"))
		if err := create(ctx, dyn, mc); err != nil {
			t.Fatalf("cluster with poolRef refused: %v", err)
		}
		for _, change := range []func(*unstructured.Unstructured){
			func(o *unstructured.Unstructured) {
				_ = unstructured.SetNestedField(o.Object, "eu-amsterdam-burst", "spec", "poolRef", "name")
			},
			func(o *unstructured.Unstructured) { unstructured.RemoveNestedField(o.Object, "spec", "poolRef") },
		} {
			got, err := dyn.Resource(memberClusters).Get(ctx, "from-pool", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			change(got)
			_, err = dyn.Resource(memberClusters).Update(ctx, got, metav1.UpdateOptions{})
			wantInvalid(t, err, "poolRef cannot change or be removed")
		}
		// Other spec fields still change, and a manual park is a plain field.
		got, err := dyn.Resource(memberClusters).Get(ctx, "from-pool", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		_ = unstructured.SetNestedField(got.Object, true, "spec", "parked")
		if _, err := dyn.Resource(memberClusters).Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("set spec.parked: %v", err)
		}
	})

	t.Run("an app's Fn app name cannot change", func(t *testing.T) {
		app := mustObject(t, fleetApp("renamed", ""))
		if err := create(ctx, dyn, app); err != nil {
			t.Fatalf("FleetApp refused: %v", err)
		}
		got, err := dyn.Resource(fleetApps).Namespace(app.GetNamespace()).Get(ctx, "renamed", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		_ = unstructured.SetNestedField(got.Object, "other", "spec", "app", "name")
		_, err = dyn.Resource(fleetApps).Namespace(app.GetNamespace()).Update(ctx, got, metav1.UpdateOptions{})
		wantInvalid(t, err, "spec.app.name cannot change")
	})

	t.Run("status is a subresource", func(t *testing.T) {
		mc, err := dyn.Resource(memberClusters).Get(ctx, "us-ashburn-local", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		status := map[string]any{
			"phase":       "Ready",
			"placedApps":  int64(3),
			"allocatable": map[string]any{"cpu": "32", "memory": "256Gi", "pods": "110"},
			"available":   map[string]any{"cpu": "30", "memory": "250Gi", "pods": "100"},
		}
		if err := unstructured.SetNestedField(mc.Object, status, "status"); err != nil {
			t.Fatal(err)
		}
		if _, err := dyn.Resource(memberClusters).UpdateStatus(ctx, mc, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("update status: %v", err)
		}
		// A spec update does not touch status, and vice versa.
		got, err := dyn.Resource(memberClusters).Get(ctx, "us-ashburn-local", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if phase, _, _ := unstructured.NestedString(got.Object, "status", "phase"); phase != "Ready" {
			t.Fatalf("status.phase = %q after UpdateStatus", phase)
		}
		bad := got.DeepCopy()
		_ = unstructured.SetNestedField(bad.Object, "Exploded", "status", "phase")
		_, err = dyn.Resource(memberClusters).UpdateStatus(ctx, bad, metav1.UpdateOptions{})
		wantInvalid(t, err, `status.phase: Unsupported value: "Exploded"`)
	})

	t.Run("printer columns", func(t *testing.T) {
		cols := tableColumns(ctx, t, cl.RESTConfig, "/apis/fnfleet.dev/v1alpha1/memberclusters")
		want := []string{"Name", "Phase", "Region", "Tier", "Cost/h", "Free CPU", "Free Memory", "Apps", "Age"}
		if !slices.Equal(cols.names, want) {
			t.Fatalf("memberclusters columns = %v, want %v", cols.names, want)
		}
		row := cols.rows["us-ashburn-local"]
		if fmt.Sprint(row) != "[us-ashburn-local Ready us-ashburn-1 1 0.10 30 250Gi 3]" {
			t.Errorf("us-ashburn-local row = %v", row)
		}
		cols = tableColumns(ctx, t, cl.RESTConfig, "/apis/fnfleet.dev/v1alpha1/clusterpools")
		want = []string{"Name", "Provider", "Region", "Tier", "Cost/h", "Clusters", "Ready", "Parked", "Age"}
		if !slices.Equal(cols.names, want) {
			t.Fatalf("clusterpools columns = %v, want %v", cols.names, want)
		}
		if row := cols.rows["eu-amsterdam-burst"]; fmt.Sprint(row) != "[eu-amsterdam-burst capi eu-amsterdam-1 2 0.452 <nil> <nil> <nil>]" {
			t.Errorf("eu-amsterdam-burst row = %v", row)
		}
		cols = tableColumns(ctx, t, cl.RESTConfig, "/apis/fnfleet.dev/v1alpha1/namespaces/default/fleetapps")
		want = []string{"Name", "Clusters", "Replicas", "DNS", "Ready", "DNS Ready", "Explanation", "Age"}
		if !slices.Equal(cols.names, want) {
			t.Fatalf("fleetapps columns = %v, want %v", cols.names, want)
		}
		cols = tableColumns(ctx, t, cl.RESTConfig, "/apis/fnfleet.dev/v1alpha1/dnszones")
		want = []string{"Name", "Zone", "Provider", "Names", "Records", "Ready", "Last Sync", "Age"}
		if !slices.Equal(cols.names, want) {
			t.Fatalf("dnszones columns = %v, want %v", cols.names, want)
		}
		if row := cols.rows["edge-example-net"]; fmt.Sprint(row[:3]) != "[edge-example-net edge.example.net. coredns]" {
			t.Errorf("edge-example-net row = %v", row)
		}
	})

	t.Run("windows: MemberCluster and ClusterPool accept valid ones", func(t *testing.T) {
		testWindowsOnBothKinds(ctx, t, dyn)
	})

	t.Run("windows: the API refuses the starts the evaluation cannot read", func(t *testing.T) {
		testStartsAsTheParserReadsThem(ctx, t, dyn)
	})

	t.Run("invalid objects are refused with what is wrong", func(t *testing.T) {
		for _, tc := range invalidObjects() {
			t.Run(tc.name, func(t *testing.T) {
				var obj unstructured.Unstructured
				if err := yaml.Unmarshal([]byte(tc.yaml), &obj.Object); err != nil {
					t.Fatalf("test yaml: %v", err)
				}
				err := create(ctx, dyn, &obj)
				wantInvalid(t, err, tc.want...)
			})
		}
	})
}

// windowsAccepted are windows the API accepts. Mars/Olympus is shaped
// like an IANA zone, which is all CEL can check: parking.WindowProblems
// flags it, and only it.
const windowsAccepted = `  parking:
    windows:
    - {start: "0 20 * * 1-5", duration: 11h, timeZone: Europe/Berlin}
    - {start: "*/15 9-17 * JAN-MAR MON-FRI", duration: 10m, timeZone: America/Argentina/Buenos_Aires}
    - {start: "0 0 1,15 * *", duration: 1h30m}
    - {start: "00 08 ? * sun", duration: 2h, timeZone: Etc/GMT-14}
    - {start: "0 20 * * *", duration: 8h, timeZone: Mars/Olympus}
    - {start: "5/20 22 * * SAT,0", duration: 1h, timeZone: EST5EDT}
`

// testWindowsOnBothKinds checks that MemberCluster and ClusterPool, which
// share ParkingWindow, accept windowsAccepted, and that WindowProblems
// flags the one window whose zone does not exist.
func testWindowsOnBothKinds(ctx context.Context, t *testing.T, dyn dynamic.Interface) {
	for _, tc := range []struct {
		obj    *unstructured.Unstructured
		gvr    schema.GroupVersionResource
		policy func(*unstructured.Unstructured) (*v1alpha1.ParkingPolicy, error)
	}{
		{mustObject(t, cluster("windows", windowsAccepted)), memberClusters, func(u *unstructured.Unstructured) (*v1alpha1.ParkingPolicy, error) {
			var mc v1alpha1.MemberCluster
			err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &mc)
			return mc.Spec.Parking, err
		}},
		{mustObject(t, pool("windows", windowsAccepted)), clusterPools, func(u *unstructured.Unstructured) (*v1alpha1.ParkingPolicy, error) {
			var cp v1alpha1.ClusterPool
			err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &cp)
			return cp.Spec.Parking, err
		}},
	} {
		if err := create(ctx, dyn, tc.obj); err != nil {
			t.Fatalf("%s with valid windows refused: %v", tc.obj.GetKind(), err)
		}
		got, err := dyn.Resource(tc.gvr).Get(ctx, "windows", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get %s windows: %v", tc.obj.GetKind(), err)
		}
		p, err := tc.policy(got)
		if err != nil || p == nil || len(p.Windows) != 6 {
			t.Fatalf("%s: read back parking %+v: %v", tc.obj.GetKind(), p, err)
		}
		problems := parking.WindowProblems(p)
		if len(problems) != 1 || problems[0].Index != 4 ||
			!strings.HasPrefix(problems[0].Message, `window 4 ("0 20 * * *", Mars/Olympus): unknown time zone "Mars/Olympus": use an IANA zone such as Europe/Paris`) {
			t.Errorf("%s: problems %v, want window 4's unknown zone alone", tc.obj.GetKind(), problems)
		}
	}
}

// testStartsAsTheParserReadsThem applies starts with a dry run and checks
// that the API refuses exactly the starts the evaluation cannot read,
// except those it is stricter about on purpose (strict) and those only the
// hub can tell (hubOnly).
func testStartsAsTheParserReadsThem(ctx context.Context, t *testing.T, dyn dynamic.Interface) {
	strict := []string{"*-5 * * * *", "0 20, * * *", "+5 * * * *", "1,,2 * * * *", "*/99999999999 * * * *"}
	hubOnly := []string{"0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6 *"}
	starts := []string{
		"0 20 * * 1-5", "*/15 9-17 * JAN-MAR MON-FRI", "0 0 1,15 * *", "5/15 * * * *", "? ? ? ? ?", "0 0 29 2 *",
		"  0   20 * *\t1-5  ", "1-5/2,10-20/3,30 */2 1-31/7 1,6,12 0,6", "00 08 * * Mon", "0 20 * jan-dec/2 sun-sat",
		"0 0 31 2 MON", "59 23 31 12 6", "0-59 0-23 1-31 1-12 0-6", "000059 023 031 012 006",
		"99 * * * *", "0 25 * * *", "0 17-9 * * *", "0 20 * * 7", "0 20 * dec-jan *", "0 20 * * fri-mon",
		"every night", "@daily", "0 20 * * * *", "*/0 * * * *", "0 0 0 * *", "0 0 * 0 *", "60 * * * *",
		"1-2-3 * * * *", "1/2/3 * * * *", "0 20 * * MONDAY", "0 20 * 1-13 *", "0 20 L * *", "0 20 * * 1#2",
		"TZ=UTC\t*\t*\t*\t*", "0 20 * * SUN-7", "/5 * * * *", "5- * * * *",
	}
	for _, start := range append(append(starts, strict...), hubOnly...) {
		w := v1alpha1.ParkingWindow{Start: start, Duration: metav1.Duration{Duration: time.Hour}}
		evaluated := len(parking.WindowProblems(&v1alpha1.ParkingPolicy{Windows: []v1alpha1.ParkingWindow{w}})) == 0
		obj := mustObject(t, cluster("dry-run", ""))
		_ = unstructured.SetNestedSlice(obj.Object, []any{map[string]any{"start": start, "duration": "1h"}}, "spec", "parking", "windows")
		_, err := dyn.Resource(memberClusters).Create(ctx, obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && !apierrors.IsInvalid(err) {
			t.Fatalf("%q: %v", start, err)
		}
		accepted := err == nil
		want := evaluated
		switch {
		case slices.Contains(strict, start):
			want = false
		case slices.Contains(hubOnly, start):
			want = true
		}
		if accepted != want {
			t.Errorf("start %q: API accepts=%v, want %v (the evaluation reads it: %v; API says %v)", start, accepted, want, evaluated, err)
		}
		if slices.Contains(hubOnly, start) && evaluated {
			t.Errorf("start %q: WindowProblems does not flag it", start)
		}
	}
}

type invalidCase struct {
	name string
	yaml string
	want []string // substrings of the apiserver's message
}

const validCluster = `
apiVersion: fnfleet.dev/v1alpha1
kind: MemberCluster
metadata: {name: %s}
spec:
  provider: {name: local}
  region: eu-1
`

func cluster(name, extra string) string {
	return fmt.Sprintf(validCluster, name) + extra
}

const validApp = `
apiVersion: fnfleet.dev/v1alpha1
kind: FleetApp
metadata: {name: %s, namespace: default}
spec:
  app:
    name: hello
    functions: [{name: hello, image: fnproject/hello}]
  demand: {replicas: 2, cpu: 500m, memory: 512Mi}
`

func fleetApp(name, extra string) string {
	return fmt.Sprintf(validApp, name) + extra
}

const validPool = `
apiVersion: fnfleet.dev/v1alpha1
kind: ClusterPool
metadata: {name: %s}
spec:
  provider: {name: local}
  region: eu-1
  maxClusters: 2
`

func pool(name, extra string) string {
	return fmt.Sprintf(validPool, name) + extra
}

const validZone = `
apiVersion: fnfleet.dev/v1alpha1
kind: DNSZone
metadata: {name: %s}
spec:
  zone: fleet.example.com.
`

func zone(name, extra string) string {
	return fmt.Sprintf(validZone, name) + extra
}

func mustObject(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	var obj unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatalf("test yaml: %v", err)
	}
	return &obj
}

func invalidObjects() []invalidCase {
	return []invalidCase{
		{name: "unknown provider", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: MemberCluster
metadata: {name: bad-provider}
spec: {provider: {name: aws-magic}, region: eu-1}`,
			want: []string{`spec.provider.name: Unsupported value: "aws-magic"`, `"local", "capi", "static"`}},
		{name: "missing region", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: MemberCluster
metadata: {name: no-region}
spec: {provider: {name: local}}`,
			want: []string{"spec.region: Required value"}},
		{name: "region with capitals", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: MemberCluster
metadata: {name: caps}
spec: {provider: {name: local}, region: EU_West}`,
			want: []string{"region must be lower-case letters, digits and '-'"}},
		{name: "negative cost", yaml: cluster("negative-cost", `  costPerHour: "-0.5"`),
			want: []string{"costPerHour must not be negative"}},
		{name: "tier out of range", yaml: cluster("tier", `  tier: 100`),
			want: []string{"spec.tier: Invalid value: 100", "less than or equal to 99"}},
		{name: "parking mode", yaml: cluster("parking-mode", `  parking: {mode: Hibernate}`),
			want: []string{`spec.parking.mode: Unsupported value: "Hibernate"`, `"Stop", "ScaleToZero", "Delete", "Never"`}},
		{name: "idleTTL not a duration", yaml: cluster("idle-ttl", `  parking: {idleTTL: "half an hour"}`),
			want: []string{"idleTTL must be a duration such as 30m, 1h30m or 90s"}},
		{name: "window not cron", yaml: cluster("window", `  parking: {windows: [{start: "every night", duration: 8h}]}`),
			want: []string{"start must be a cron expression with five fields (minute hour day-of-month month day-of-week), e.g. '0 20 * * 1-5', not 'every night'"}},
		{name: "window minute out of range", yaml: cluster("window-minute-out-of-range", `  parking: {windows: [{start: "99 * * * *", duration: 8h}]}`),
			want: []string{`spec.parking.windows[0].start: Invalid value: "99 * * * *": start's minute field (99) must be 0-59, *, a range low-high, a step /n or a comma list of these, e.g. '30 20 * * 1-5' opens at 20:30 on weekdays`}},
		{name: "window hour out of range", yaml: cluster("window-hour-out-of-range", `  parking: {windows: [{start: "0 25 * * *", duration: 8h}]}`),
			want: []string{"start's hour field (25) must be 0-23"}},
		{name: "window range backwards", yaml: cluster("window-range-backwards", `  parking: {windows: [{start: "0 17-9 * * *", duration: 8h}]}`),
			want: []string{"start's hour field (17-9) must be 0-23, *, a range low-high"}},
		{name: "window Sunday as 7", yaml: cluster("window-sunday-as-7", `  parking: {windows: [{start: "0 20 * * 7", duration: 8h}]}`),
			want: []string{"start's day-of-week field (7) must be 0-6 or SUN-SAT (Sunday is 0, not 7)"}},
		{name: "window month name", yaml: cluster("window-month-name", `  parking: {windows: [{start: "0 20 * JANUARY *", duration: 8h}]}`),
			want: []string{"start's month field (JANUARY) must be 1-12 or JAN-DEC"}},
		{name: "window day of month zero", yaml: cluster("window-day-of-month-zero", `  parking: {windows: [{start: "0 20 0 * *", duration: 8h}]}`),
			want: []string{"start's day-of-month field (0) must be 1-31"}},
		{name: "window zone with a space", yaml: cluster("window-zone-with-a-space", `  parking: {windows: [{start: "0 20 * * *", duration: 8h, timeZone: "Mars Olympus"}]}`),
			want: []string{"spec.parking.windows[0].timeZone: Invalid value: \"Mars Olympus\": timeZone (Mars Olympus) must be an IANA zone name such as Europe/Paris, America/New_York or UTC"}},
		{name: "window zone Local", yaml: cluster("window-zone-local", `  parking: {windows: [{start: "0 20 * * *", duration: 8h, timeZone: Local}]}`),
			want: []string{"timeZone Local would be the zone of the machine that runs fnfleet"}},
		{name: "window zero duration", yaml: cluster("window-zero-duration", `  parking: {windows: [{start: "0 20 * * *", duration: 0s}]}`),
			want: []string{`spec.parking.windows[0].duration: Invalid value: "0s": duration must be positive, e.g. 10h or 90m`}},
		{name: "window duration that overflows", yaml: cluster("window-duration-that-overflows", `  parking: {windows: [{start: "0 20 * * *", duration: 9999999999h}]}`),
			want: []string{"duration (9999999999h) must write each number with at most 5 digits"}},
		{name: "pool window minute out of range", yaml: pool("pool-window-minute-out-of-range", `  parking: {windows: [{start: "99 * * * *", duration: 8h}]}`),
			want: []string{`spec.parking.windows[0].start: Invalid value: "99 * * * *": start's minute field (99) must be 0-59, *, a range low-high, a step /n or a comma list of these, e.g. '30 20 * * 1-5' opens at 20:30 on weekdays`}},
		{name: "pool window hour out of range", yaml: pool("pool-window-hour-out-of-range", `  parking: {windows: [{start: "0 25 * * *", duration: 8h}]}`),
			want: []string{"start's hour field (25) must be 0-23"}},
		{name: "pool window range backwards", yaml: pool("pool-window-range-backwards", `  parking: {windows: [{start: "0 17-9 * * *", duration: 8h}]}`),
			want: []string{"start's hour field (17-9) must be 0-23, *, a range low-high"}},
		{name: "pool window Sunday as 7", yaml: pool("pool-window-sunday-as-7", `  parking: {windows: [{start: "0 20 * * 7", duration: 8h}]}`),
			want: []string{"start's day-of-week field (7) must be 0-6 or SUN-SAT (Sunday is 0, not 7)"}},
		{name: "pool window month name", yaml: pool("pool-window-month-name", `  parking: {windows: [{start: "0 20 * JANUARY *", duration: 8h}]}`),
			want: []string{"start's month field (JANUARY) must be 1-12 or JAN-DEC"}},
		{name: "pool window day of month zero", yaml: pool("pool-window-day-of-month-zero", `  parking: {windows: [{start: "0 20 0 * *", duration: 8h}]}`),
			want: []string{"start's day-of-month field (0) must be 1-31"}},
		{name: "pool window zone with a space", yaml: pool("pool-window-zone-with-a-space", `  parking: {windows: [{start: "0 20 * * *", duration: 8h, timeZone: "Mars Olympus"}]}`),
			want: []string{"spec.parking.windows[0].timeZone: Invalid value: \"Mars Olympus\": timeZone (Mars Olympus) must be an IANA zone name such as Europe/Paris, America/New_York or UTC"}},
		{name: "pool window zone Local", yaml: pool("pool-window-zone-local", `  parking: {windows: [{start: "0 20 * * *", duration: 8h, timeZone: Local}]}`),
			want: []string{"timeZone Local would be the zone of the machine that runs fnfleet"}},
		{name: "pool window zero duration", yaml: pool("pool-window-zero-duration", `  parking: {windows: [{start: "0 20 * * *", duration: 0s}]}`),
			want: []string{`spec.parking.windows[0].duration: Invalid value: "0s": duration must be positive, e.g. 10h or 90m`}},
		{name: "pool window duration that overflows", yaml: pool("pool-window-duration-that-overflows", `  parking: {windows: [{start: "0 20 * * *", duration: 9999999999h}]}`),
			want: []string{"duration (9999999999h) must write each number with at most 5 digits"}},
		{name: "autoscale bounds", yaml: cluster("autoscale", `  nodeAutoscale: {minNodes: 5, maxNodes: 2}`),
			want: []string{"minNodes must be at most maxNodes"}},
		{name: "autoscale thresholds", yaml: cluster("thresholds", `  nodeAutoscale: {minNodes: 1, maxNodes: 2, scaleUpPercent: 50, scaleDownPercent: 60}`),
			want: []string{"scaleDownPercent must be below scaleUpPercent"}},
		{name: "taint effect", yaml: cluster("taint", `  taints: [{key: gpu, effect: NoWay}]`),
			want: []string{`spec.taints[0].effect: Unsupported value: "NoWay"`}},
		{name: "poolRef without name", yaml: cluster("pool-ref", `  poolRef: {name: ""}`),
			want: []string{"spec.poolRef.name: Invalid value", "at least 1 chars long"}},

		{name: "pool of static clusters", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: ClusterPool
metadata: {name: static-pool}
spec: {provider: {name: static}, region: eu-1, maxClusters: 1}`,
			want: []string{"provider static cannot back a pool: static clusters already exist and are never created or deleted"}},
		{name: "pool without maxClusters", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: ClusterPool
metadata: {name: unbounded}
spec: {provider: {name: local}, region: eu-1}`,
			want: []string{"spec.maxClusters: Required value"}},
		{name: "pool maxClusters negative", yaml: pool("negative-max", `  maxClusters: -1`),
			want: []string{"spec.maxClusters: Invalid value: -1", "greater than or equal to 0"}},
		{name: "pool unknown provider", yaml: pool("pool-provider", `  provider: {name: aws-magic}`),
			want: []string{`spec.provider.name: Unsupported value: "aws-magic"`}},
		{name: "pool missing region", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: ClusterPool
metadata: {name: pool-no-region}
spec: {provider: {name: local}, maxClusters: 1}`,
			want: []string{"spec.region: Required value"}},
		{name: "pool local cannot scale to zero", yaml: pool("local-scale-to-zero", `  parking: {mode: ScaleToZero}`),
			want: []string{"provider local parks with Stop, Delete or Never (it stops or deletes its processes), not ScaleToZero"}},
		{name: "pool capi cannot stop", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: ClusterPool
metadata: {name: capi-stop}
spec: {provider: {name: capi}, region: eu-1, maxClusters: 1, parking: {mode: Stop}}`,
			want: []string{"provider capi parks with ScaleToZero, Delete or Never: Cluster API cannot stop a control plane"}},
		{name: "pool capi with the default mode", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: ClusterPool
metadata: {name: capi-default-mode}
spec: {provider: {name: capi}, region: eu-1, maxClusters: 1, parking: {idleTTL: 1h}}`,
			want: []string{"provider capi parks with ScaleToZero, Delete or Never", "the default is Stop"}},
		{name: "pool zero nodes", yaml: pool("zero-nodes", `  nodes: 0`),
			want: []string{"spec.nodes: Invalid value: 0", "greater than or equal to 1"}},
		{name: "pool nodes outside autoscale bounds", yaml: pool("nodes-bounds", "  nodes: 6\n  nodeAutoscale: {minNodes: 1, maxNodes: 4}"),
			want: []string{"nodes must lie between nodeAutoscale.minNodes and nodeAutoscale.maxNodes"}},
		{name: "pool autoscale bounds", yaml: pool("pool-autoscale", "  nodes: 3\n  nodeAutoscale: {minNodes: 5, maxNodes: 2}"),
			want: []string{"minNodes must be at most maxNodes"}},
		{name: "pool node capacity key", yaml: pool("node-capacity", `  nodeCapacity: {gpu: "1"}`),
			want: []string{"nodeCapacity names only cpu, memory and pods"}},
		{name: "pool negative cost", yaml: pool("pool-cost", `  costPerHour: "-1"`),
			want: []string{"costPerHour must not be negative"}},
		{name: "pool region with capitals", yaml: pool("pool-caps", `  region: EU_West`),
			want: []string{"region must be lower-case letters, digits and '-'"}},
		{name: "pool tier out of range", yaml: pool("pool-tier", `  tier: 100`),
			want: []string{"spec.tier: Invalid value: 100", "less than or equal to 99"}},
		{name: "pool window not cron", yaml: pool("pool-window", `  parking: {windows: [{start: "nightly", duration: 8h}]}`),
			want: []string{"start must be a cron expression with five fields", "not 'nightly'"}},
		{name: "pool taint effect", yaml: pool("pool-taint", `  taints: [{key: gpu, effect: NoWay}]`),
			want: []string{`spec.taints[0].effect: Unsupported value: "NoWay"`}},

		{name: "no functions", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: FleetApp
metadata: {name: no-functions, namespace: default}
spec:
  app: {name: hello, functions: []}
  demand: {replicas: 1, cpu: 500m, memory: 512Mi}`,
			want: []string{"spec.app.functions: Invalid value", "should have at least 1 items"}},
		{name: "zero replicas", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: FleetApp
metadata: {name: zero-replicas, namespace: default}
spec:
  app: {name: hello, functions: [{name: hello, image: fnproject/hello}]}
  demand: {replicas: 0, cpu: 500m, memory: 512Mi}`,
			want: []string{"spec.demand.replicas: Invalid value: 0", "greater than or equal to 1"}},
		{name: "zero cpu", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: FleetApp
metadata: {name: zero-cpu, namespace: default}
spec:
  app: {name: hello, functions: [{name: hello, image: fnproject/hello}]}
  demand: {replicas: 1, cpu: "0", memory: 512Mi}`,
			want: []string{"cpu must be positive, e.g. 500m"}},
		{name: "min above max clusters", yaml: fleetApp("spread", `  placement: {spread: {minClusters: 4, maxClusters: 2}}`),
			want: []string{"minClusters must be at most maxClusters"}},
		{name: "min above max groups", yaml: fleetApp("groups", `  placement: {spread: {minGroups: 3, maxGroups: 2}}`),
			want: []string{"minGroups must be at most maxGroups"}},
		{name: "prioritizer weight", yaml: fleetApp("weight", `  placement: {prioritizers: [{name: Cost, weight: 150}]}`),
			want: []string{"spec.placement.prioritizers[0].weight: Invalid value: 150", "less than or equal to 100"}},
		{name: "prioritizer name", yaml: fleetApp("prio-name", `  placement: {prioritizers: [{name: Vibes, weight: 10}]}`),
			want: []string{`Unsupported value: "Vibes"`, `"Cost", "Latency", "Tier", "Balance", "Locality"`}},
		{name: "duplicate prioritizer", yaml: fleetApp("prio-dup", `  placement: {prioritizers: [{name: Cost, weight: 10}, {name: Cost, weight: 20}]}`),
			want: []string{"spec.placement.prioritizers[1]: Duplicate value"}},
		{name: "division mode", yaml: fleetApp("division", `  placement: {replicaDivision: {mode: Sharded}}`),
			want: []string{`Unsupported value: "Sharded"`, `"Duplicated", "Divided"`}},
		{name: "static without weights", yaml: fleetApp("static", `  placement: {replicaDivision: {mode: Divided, weighting: Static}}`),
			want: []string{"replicaDivision.weighting Static needs at least one staticWeights entry"}},
		{name: "static weight names both", yaml: fleetApp("static-both", `  placement: {replicaDivision: {mode: Divided, weighting: Static, staticWeights: [{cluster: a, region: eu-1, weight: 1}]}}`),
			want: []string{"a static weight names exactly one of cluster or region"}},
		{name: "dns weights without Weighted", yaml: fleetApp("dns-weights", `  dns: {hostname: hello.example.com, weights: [{cluster: a, weight: 1}]}`),
			want: []string{"weights apply only to strategy Weighted"}},
		{name: "dns levels without Global", yaml: fleetApp("dns-levels", `  dns: {hostname: hello.example.com, levels: [Region]}`),
			want: []string{"levels must include Global"}},
		{name: "dns probe path", yaml: fleetApp("dns-probe", `  dns: {hostname: hello.example.com, probePath: hello}`),
			want: []string{"probePath must be a path starting with '/'"}},
		{name: "zone without dot", yaml: strings.Replace(zone("no-dot", `  provider: {type: coredns, coredns: {etcdEndpoints: ["http://127.0.0.1:2379"]}}`), "fleet.example.com.", "fleet.example.com", 1),
			want: []string{"zone must be a lower-case fully qualified DNS name ending in a dot"}},
		{name: "rfc2136 without its block", yaml: zone("no-block", `  provider: {type: rfc2136}`),
			want: []string{"provider type rfc2136 needs the rfc2136 block"}},
		{name: "two provider blocks", yaml: zone("two-blocks", `  provider: {type: coredns, coredns: {etcdEndpoints: ["http://127.0.0.1:2379"]}, externaldns: {namespace: x}}`),
			want: []string{"set only the block of the provider type in use"}},
		{name: "rfc2136 server without port", yaml: zone("no-port", `  provider: {type: rfc2136, rfc2136: {server: ns1.example.com, tsigKeyName: k, tsigSecretRef: {namespace: a, name: b}}}`),
			want: []string{"server must be host:port"}},
		{name: "rfc2136 weak algorithm", yaml: zone("md5", `  provider: {type: rfc2136, rfc2136: {server: "ns1:53", tsigKeyName: k, tsigAlgorithm: hmac-md5, tsigSecretRef: {namespace: a, name: b}}}`),
			want: []string{`Unsupported value: "hmac-md5"`}},
		{name: "etcd endpoint not a URL", yaml: zone("etcd-url", `  provider: {type: coredns, coredns: {etcdEndpoints: ["127.0.0.1:2379"]}}`),
			want: []string{"an etcd endpoint is a URL"}},
		{name: "residency pattern", yaml: fleetApp("residency", `  placement: {requiredRegions: ["EU/*"]}`),
			want: []string{"spec.placement.requiredRegions[0]: Invalid value", "should match"}},
		{name: "toleration Exists with value", yaml: fleetApp("toleration", `  placement: {tolerations: [{key: gpu, operator: Exists, value: "yes"}]}`),
			want: []string{"a toleration with operator Exists must not set a value"}},
		{name: "hostname not a DNS name", yaml: fleetApp("hostname", `  dns: {hostname: "Hello World!"}`),
			want: []string{"hostname must be a lower-case DNS name"}},
		{name: "dns strategy", yaml: fleetApp("strategy", `  dns: {hostname: hello.example.com, strategy: Random}`),
			want: []string{`spec.dns.strategy: Unsupported value: "Random"`}},
		{name: "trigger source", yaml: `
apiVersion: fnfleet.dev/v1alpha1
kind: FleetApp
metadata: {name: trigger, namespace: default}
spec:
  app: {name: hello, functions: [{name: hello, image: fnproject/hello, triggers: [{name: t, source: hello}]}]}
  demand: {replicas: 1, cpu: 500m, memory: 512Mi}`,
			want: []string{"trigger source must be a path starting with '/'"}},
	}
}

func create(ctx context.Context, dyn dynamic.Interface, obj *unstructured.Unstructured) error {
	gvr := schema.GroupVersionResource{Group: v1alpha1.Group, Version: v1alpha1.Version}
	var err error
	switch obj.GetKind() {
	case "MemberCluster":
		gvr.Resource = "memberclusters"
		_, err = dyn.Resource(gvr).Create(ctx, obj, metav1.CreateOptions{})
	case "ClusterPool":
		gvr.Resource = "clusterpools"
		_, err = dyn.Resource(gvr).Create(ctx, obj, metav1.CreateOptions{})
	case "DNSZone":
		gvr.Resource = "dnszones"
		_, err = dyn.Resource(gvr).Create(ctx, obj, metav1.CreateOptions{})
	case "FleetApp":
		gvr.Resource = "fleetapps"
		ns := obj.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		_, err = dyn.Resource(gvr).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{})
	default:
		err = fmt.Errorf("unexpected kind %q", obj.GetKind())
	}
	return err
}

func wantInvalid(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want refused with %q", want)
	}
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want an Invalid error, got %v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q\n  does not say %q", err.Error(), w)
		}
	}
}

// installCRDs installs the CRDs as the product does (the copies of
// charts/fnfleet/crds embedded in the binary) and waits until each is
// Established.
func installCRDs(ctx context.Context, t *testing.T, cfg *rest.Config) {
	t.Helper()
	if err := hub.InstallCRDs(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

// readObjects reads every YAML document of a file.
func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var out []*unstructured.Unstructured
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(obj.Object) > 0 {
			out = append(out, obj)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no objects", path)
	}
	return out
}

type table struct {
	names []string
	rows  map[string][]any // by name, the cells except Age
}

// tableColumns asks the apiserver for the Table kubectl get prints.
func tableColumns(ctx context.Context, t *testing.T, cfg *rest.Config, path string) table {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatalf("http client: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("get table %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("get table %s: %s %s %v", path, resp.Status, raw, err)
	}
	var tb metav1.Table
	if err := yaml.Unmarshal(raw, &tb); err != nil {
		t.Fatalf("decode table: %v", err)
	}
	out := table{rows: map[string][]any{}}
	for _, col := range tb.ColumnDefinitions {
		out.names = append(out.names, col.Name)
	}
	for _, r := range tb.Rows {
		if len(r.Cells) > 0 {
			out.rows[fmt.Sprint(r.Cells[0])] = r.Cells[:len(r.Cells)-1]
		}
	}
	return out
}
