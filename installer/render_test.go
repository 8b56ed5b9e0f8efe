package installer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/fnfleet/fnfleet/charts"
)

// rendered is a rendered release: its objects by "Kind/name", and its notes.
type rendered struct {
	objs  map[string]*unstructured.Unstructured
	order []string
	notes string
}

func render(t *testing.T, values map[string]any) rendered {
	t.Helper()
	manifest, notes, err := Render(context.Background(), Release{Values: values})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return parseManifest(t, manifest, notes)
}

func parseManifest(t *testing.T, manifest, notes string) rendered {
	t.Helper()
	r := rendered{objs: map[string]*unstructured.Unstructured{}, notes: notes}
	dec := k8syaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode manifest: %v\n%s", err, manifest)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		key := u.GetKind() + "/" + u.GetName()
		if _, dup := r.objs[key]; dup {
			t.Fatalf("%s rendered twice", key)
		}
		r.objs[key] = u
		r.order = append(r.order, key)
	}
	return r
}

func (r rendered) has(key string) bool { _, ok := r.objs[key]; return ok }

// get decodes one object strictly into its Go type, so that a misspelt or
// misplaced field in a template fails the test.
func get[T any](t *testing.T, r rendered, key string) *T {
	t.Helper()
	u, ok := r.objs[key]
	if !ok {
		t.Fatalf("%s not rendered; have %v", key, r.order)
	}
	data, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := yaml.UnmarshalStrict(data, out); err != nil {
		t.Fatalf("%s does not decode strictly as %T: %v", key, out, err)
	}
	return out
}

func env(c corev1.Container) map[string]corev1.EnvVar {
	m := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		m[e.Name] = e
	}
	return m
}

func envValue(t *testing.T, c corev1.Container, name string) string {
	t.Helper()
	e, ok := env(c)[name]
	if !ok {
		t.Fatalf("container %s has no %s; env: %v", c.Name, name, c.Env)
	}
	return e.Value
}

func privileged(c corev1.Container) bool {
	return c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
}

func TestRenderDefaults(t *testing.T) {
	r := render(t, nil)
	want := []string{"ServiceAccount/fn", "PersistentVolumeClaim/fn-data", "Service/fn", "Deployment/fn", "PodDisruptionBudget/fn-server"}
	if got := slices.Sorted(slices.Values(r.order)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("objects = %v, want %v", got, want)
	}

	d := get[appsv1.Deployment](t, r, "Deployment/fn")
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("strategy = %q, want Recreate for a ReadWriteOnce sqlite volume", d.Spec.Strategy.Type)
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if c.Image != "fnproject/fnserver:0.3.753" {
		t.Errorf("image = %s", c.Image)
	}
	if !privileged(c) || len(c.Command) != 0 {
		t.Errorf("default docker mode must be privileged dind with the image's entrypoint; privileged=%v command=%v", privileged(c), c.Command)
	}
	for name, want := range map[string]string{
		"FN_NODE_TYPE":     "full",
		"FN_DB_URL":        "sqlite3:///app/data/fn.db",
		"FN_PUBLIC_LB_URL": "http://fn.fn.svc:80",
		"FN_PORT":          "8080",
		"FN_LOG_LEVEL":     "info",
	} {
		if got := envValue(t, c, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if _, ok := env(c)["DOCKER_HOST"]; ok {
		t.Error("dind mode must not set DOCKER_HOST")
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.LivenessProbe == nil {
		t.Error("fnserver needs HTTP readiness and liveness probes")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources = %+v, want requests and a memory limit", c.Resources)
	}
	var claim string
	for _, v := range pod.Volumes {
		if v.Name == "data" && v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	if claim != "fn-data" {
		t.Errorf("data volume claim = %q, want fn-data", claim)
	}
	if pod.ServiceAccountName != "fn" || pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("pod must run as ServiceAccount fn without a token; got %q", pod.ServiceAccountName)
	}

	pvc := get[corev1.PersistentVolumeClaim](t, r, "PersistentVolumeClaim/fn-data")
	if got := pvc.Spec.Resources.Requests.Storage().String(); got != "1Gi" {
		t.Errorf("pvc size = %s", got)
	}
	if pvc.Spec.StorageClassName != nil {
		t.Errorf("default storageClassName must be unset (cluster default), got %q", *pvc.Spec.StorageClassName)
	}

	svc := get[corev1.Service](t, r, "Service/fn")
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].Port != 80 {
		t.Errorf("service = %s port %d", svc.Spec.Type, svc.Spec.Ports[0].Port)
	}
	if svc.Spec.Selector["app.kubernetes.io/component"] != "server" {
		t.Errorf("service selector = %v", svc.Spec.Selector)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("service selector %s=%s does not match the server pods", k, v)
		}
	}
	pdb := get[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget/fn-server")
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("pdb maxUnavailable = %v", pdb.Spec.MaxUnavailable)
	}

	for _, key := range r.order {
		labels := r.objs[key].GetLabels()
		for _, l := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"} {
			if labels[l] == "" {
				t.Errorf("%s lacks label %s", key, l)
			}
		}
		if r.objs[key].GetNamespace() != "fn" {
			t.Errorf("%s namespace = %q", key, r.objs[key].GetNamespace())
		}
	}
	for _, s := range []string{"fn create context", "--api-url", "port-forward", "FN_API_URL"} {
		if !strings.Contains(r.notes, s) {
			t.Errorf("NOTES lack %q:\n%s", s, r.notes)
		}
	}
}

func TestRenderSplitMode(t *testing.T) {
	r := render(t, map[string]any{"mode": "split", "runner": map[string]any{"replicas": 3}})
	for _, key := range []string{"Deployment/fn-api", "Deployment/fn-lb", "StatefulSet/fn-runner", "Service/fn", "Service/fn-api",
		"Service/fn-runner-headless", "PodDisruptionBudget/fn-api", "PodDisruptionBudget/fn-lb", "PodDisruptionBudget/fn-runner", "PersistentVolumeClaim/fn-data"} {
		if !r.has(key) {
			t.Errorf("%s not rendered; have %v", key, r.order)
		}
	}
	if r.has("Deployment/fn") || r.has("PodDisruptionBudget/fn-server") {
		t.Error("split mode must not render the full server")
	}

	api := get[appsv1.Deployment](t, r, "Deployment/fn-api").Spec.Template.Spec.Containers[0]
	if envValue(t, api, "FN_NODE_TYPE") != "api" || privileged(api) || !slices.Equal(api.Command, []string{"/app/fnserver"}) {
		t.Errorf("api must run fnserver directly, unprivileged, as node type api")
	}
	lb := get[appsv1.Deployment](t, r, "Deployment/fn-lb").Spec.Template.Spec.Containers[0]
	if envValue(t, lb, "FN_NODE_TYPE") != "lb" || privileged(lb) {
		t.Error("lb must run unprivileged as node type lb")
	}
	if got := envValue(t, lb, "FN_RUNNER_API_URL"); got != "http://fn-api.fn.svc:80" {
		t.Errorf("FN_RUNNER_API_URL = %s", got)
	}
	wantRunners := "fn-runner-0.fn-runner-headless.fn.svc:9190,fn-runner-1.fn-runner-headless.fn.svc:9190,fn-runner-2.fn-runner-headless.fn.svc:9190"
	if got := envValue(t, lb, "FN_RUNNER_ADDRESSES"); got != wantRunners {
		t.Errorf("FN_RUNNER_ADDRESSES = %s, want %s", got, wantRunners)
	}
	sts := get[appsv1.StatefulSet](t, r, "StatefulSet/fn-runner")
	if *sts.Spec.Replicas != 3 || sts.Spec.ServiceName != "fn-runner-headless" {
		t.Errorf("runner statefulset replicas=%d serviceName=%s", *sts.Spec.Replicas, sts.Spec.ServiceName)
	}
	runner := sts.Spec.Template.Spec.Containers[0]
	if envValue(t, runner, "FN_NODE_TYPE") != "pure-runner" || envValue(t, runner, "FN_GRPC_PORT") != "9190" || !privileged(runner) {
		t.Error("runners must be privileged pure-runners on the gRPC port")
	}
	if _, ok := env(runner)["FN_DB_URL"]; ok {
		t.Error("runners must not see the database")
	}
	headless := get[corev1.Service](t, r, "Service/fn-runner-headless")
	if headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Error("runner service must be headless")
	}
	if got := get[corev1.Service](t, r, "Service/fn").Spec.Selector["app.kubernetes.io/component"]; got != "lb" {
		t.Errorf("main service selects %q, want lb", got)
	}
	if !strings.Contains(r.notes, "service/fn-api") {
		t.Errorf("split-mode NOTES must point the CLI at the API service:\n%s", r.notes)
	}
}

func TestRenderHostDocker(t *testing.T) {
	r := render(t, map[string]any{"docker": map[string]any{"mode": "host", "host": map[string]any{"iofsPath": "/srv/iofs"}}})
	pod := get[appsv1.Deployment](t, r, "Deployment/fn").Spec.Template.Spec
	c := pod.Containers[0]
	if privileged(c) {
		t.Error("host docker mode must not be privileged")
	}
	if !slices.Equal(c.Command, []string{"/app/fnserver"}) {
		t.Errorf("command = %v: the image entrypoint would start its own daemon", c.Command)
	}
	if envValue(t, c, "DOCKER_HOST") != "unix:///var/run/docker.sock" ||
		envValue(t, c, "FN_IOFS_PATH") != "/srv/iofs" || envValue(t, c, "FN_IOFS_DOCKER_PATH") != "/srv/iofs" {
		t.Errorf("docker env = %v", c.Env)
	}
	paths := map[string]string{}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			paths[v.Name] = v.HostPath.Path
		}
	}
	if paths["docker-socket"] != "/var/run/docker.sock" || paths["iofs"] != "/srv/iofs" {
		t.Errorf("hostPath volumes = %v", paths)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["iofs"] != "/srv/iofs" {
		t.Errorf("iofs must be mounted at the same path as on the node, got %q", mounts["iofs"])
	}
}

func TestRenderExternalDatabase(t *testing.T) {
	for _, db := range []string{"mysql", "postgres"} {
		t.Run(db, func(t *testing.T) {
			r := render(t, map[string]any{
				"database": map[string]any{"type": db, "existingSecret": map[string]any{"name": "fn-db", "key": "dsn"}},
				"server":   map[string]any{"replicas": 3},
			})
			if r.has("PersistentVolumeClaim/fn-data") {
				t.Error("an external database needs no volume")
			}
			d := get[appsv1.Deployment](t, r, "Deployment/fn")
			if *d.Spec.Replicas != 3 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
				t.Errorf("replicas=%d strategy=%q, want 3 with rolling updates", *d.Spec.Replicas, d.Spec.Strategy.Type)
			}
			// maxUnavailable 0: Helm's wait then needs every replica ready.
			if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
				t.Errorf("rollingUpdate = %+v, want maxUnavailable 0", ru)
			}
			e := env(d.Spec.Template.Spec.Containers[0])["FN_DB_URL"]
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "fn-db" || e.ValueFrom.SecretKeyRef.Key != "dsn" || e.Value != "" {
				t.Errorf("FN_DB_URL = %+v, want it from Secret fn-db key dsn", e)
			}
		})
	}
}

func TestRenderIngressAndPublicURL(t *testing.T) {
	r := render(t, map[string]any{
		"mode": "split",
		"ingress": map[string]any{"enabled": true, "className": "nginx", "host": "fn.example.com",
			"tls": map[string]any{"enabled": true, "secretName": "fn-tls"}},
	})
	ing := get[networkingv1.Ingress](t, r, "Ingress/fn")
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		t.Error("ingressClassName not set")
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "fn-tls" || ing.Spec.TLS[0].Hosts[0] != "fn.example.com" {
		t.Errorf("tls = %+v", ing.Spec.TLS)
	}
	backends := map[string]string{}
	for _, p := range ing.Spec.Rules[0].HTTP.Paths {
		backends[p.Path] = p.Backend.Service.Name
	}
	if backends["/"] != "fn" || backends["/v2"] != "fn-api" {
		t.Errorf("ingress paths = %v, want / -> fn (lb) and /v2 -> fn-api", backends)
	}
	lb := get[appsv1.Deployment](t, r, "Deployment/fn-lb").Spec.Template.Spec.Containers[0]
	if got := envValue(t, lb, "FN_PUBLIC_LB_URL"); got != "https://fn.example.com" {
		t.Errorf("FN_PUBLIC_LB_URL = %s", got)
	}
	if !strings.Contains(r.notes, "--api-url https://fn.example.com") {
		t.Errorf("NOTES must use the ingress URL:\n%s", r.notes)
	}

	cases := []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"plain ingress", map[string]any{"ingress": map[string]any{"enabled": true, "host": "fn.internal"}}, "http://fn.internal"},
		{"load balancer with address", map[string]any{"service": map[string]any{"type": "LoadBalancer", "loadBalancerIP": "10.1.2.3", "port": 8080}}, "http://10.1.2.3:8080"},
		{"load balancer without address", map[string]any{"service": map[string]any{"type": "LoadBalancer"}}, "http://fn.fn.svc:80"},
		{"explicit wins", map[string]any{"publicURL": "https://api.example.org/", "ingress": map[string]any{"enabled": true, "host": "fn.internal"}}, "https://api.example.org"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := render(t, tc.values)
			c := get[appsv1.Deployment](t, r, "Deployment/fn").Spec.Template.Spec.Containers[0]
			if got := envValue(t, c, "FN_PUBLIC_LB_URL"); got != tc.want {
				t.Errorf("FN_PUBLIC_LB_URL = %s, want %s", got, tc.want)
			}
		})
	}
	lbSvc := get[corev1.Service](t, render(t, map[string]any{"service": map[string]any{"type": "LoadBalancer"}}), "Service/fn")
	if lbSvc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("service type = %s", lbSvc.Spec.Type)
	}
}

func TestRenderPersistenceVariants(t *testing.T) {
	off := render(t, map[string]any{"persistence": map[string]any{"enabled": false}})
	if off.has("PersistentVolumeClaim/fn-data") {
		t.Error("persistence disabled must not create a claim")
	}
	vols := get[appsv1.Deployment](t, off, "Deployment/fn").Spec.Template.Spec.Volumes
	if i := slices.IndexFunc(vols, func(v corev1.Volume) bool { return v.Name == "data" }); i < 0 || vols[i].EmptyDir == nil {
		t.Errorf("data volume must be an emptyDir without persistence: %+v", vols)
	}
	if !strings.Contains(off.notes, "WARNING") {
		t.Error("NOTES must warn that data is lost without persistence")
	}

	static := render(t, map[string]any{"persistence": map[string]any{"storageClass": "-", "size": "5Gi"}})
	pvc := get[corev1.PersistentVolumeClaim](t, static, "PersistentVolumeClaim/fn-data")
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "" || pvc.Spec.Resources.Requests.Storage().String() != "5Gi" {
		t.Errorf("storageClass \"-\" must render storageClassName \"\"; got %+v", pvc.Spec)
	}

	existing := render(t, map[string]any{"persistence": map[string]any{"existingClaim": "my-claim"}})
	if existing.has("PersistentVolumeClaim/fn-data") || existing.has("PersistentVolumeClaim/my-claim") {
		t.Error("an existing claim must not be created")
	}
	vols = get[appsv1.Deployment](t, existing, "Deployment/fn").Spec.Template.Spec.Volumes
	if i := slices.IndexFunc(vols, func(v corev1.Volume) bool { return v.Name == "data" }); i < 0 || vols[i].PersistentVolumeClaim.ClaimName != "my-claim" {
		t.Errorf("data volume must use my-claim: %+v", vols)
	}
}

func TestRenderOptionalParts(t *testing.T) {
	r := render(t, map[string]any{
		"ui":                  map[string]any{"enabled": true},
		"podDisruptionBudget": map[string]any{"enabled": false},
		"serviceAccount":      map[string]any{"create": false, "name": "existing-sa"},
		"server":              map[string]any{"nodeSelector": map[string]any{"disk": "ssd"}},
	})
	ui := get[appsv1.Deployment](t, r, "Deployment/fn-ui").Spec.Template.Spec.Containers[0]
	if envValue(t, ui, "FN_API_URL") != "http://fn.fn.svc:80" {
		t.Errorf("ui API URL = %s", envValue(t, ui, "FN_API_URL"))
	}
	if !r.has("Service/fn-ui") {
		t.Error("ui service missing")
	}
	if r.has("PodDisruptionBudget/fn-server") || r.has("ServiceAccount/fn") {
		t.Error("disabled PDB and ServiceAccount must not render")
	}
	pod := get[appsv1.Deployment](t, r, "Deployment/fn").Spec.Template.Spec
	if pod.ServiceAccountName != "existing-sa" || pod.NodeSelector["disk"] != "ssd" {
		t.Errorf("serviceAccountName=%s nodeSelector=%v", pod.ServiceAccountName, pod.NodeSelector)
	}

	named, _, err := Render(context.Background(), Release{Name: "edge", Namespace: "functions"})
	if err != nil {
		t.Fatal(err)
	}
	rn := parseManifest(t, named, "")
	c := get[appsv1.Deployment](t, rn, "Deployment/edge-fn").Spec.Template.Spec.Containers[0]
	if envValue(t, c, "FN_PUBLIC_LB_URL") != "http://edge-fn.functions.svc:80" {
		t.Errorf("FN_PUBLIC_LB_URL = %s", envValue(t, c, "FN_PUBLIC_LB_URL"))
	}
}

// The same values must render byte-identical manifests: the installer's
// no-op detection depends on it.
func TestRenderIsDeterministic(t *testing.T) {
	values := map[string]any{"mode": "split", "ui": map[string]any{"enabled": true}}
	a, _, err := Render(context.Background(), Release{Values: values})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b, _, err := Render(context.Background(), Release{Values: values})
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatal("two renders of the same values differ")
		}
	}
}

func TestRenderRefusesBadValues(t *testing.T) {
	cases := []struct {
		name   string
		values map[string]any
		want   []string // each must appear in the error
	}{
		{"unknown mode", map[string]any{"mode": "half"}, []string{"/mode", "full", "split"}},
		{"typo in a key", map[string]any{"server": map[string]any{"replica": 2}}, []string{"/server", "replica"}},
		{"replicas not a number", map[string]any{"server": map[string]any{"replicas": "two"}}, []string{"/server/replicas", "integer"}},
		{"empty image tag", map[string]any{"image": map[string]any{"tag": ""}}, []string{"/image/tag"}},
		{"bad docker mode", map[string]any{"docker": map[string]any{"mode": "podman"}}, []string{"/docker/mode", "dind", "host"}},
		{"bad service type", map[string]any{"service": map[string]any{"type": "External"}}, []string{"/service/type"}},
		{"bad public URL", map[string]any{"publicURL": "ftp://x"}, []string{"/publicURL"}},
		{"bad quantity", map[string]any{"persistence": map[string]any{"size": "lots"}}, []string{"/persistence/size"}},
		{"sqlite with replicas", map[string]any{"server": map[string]any{"replicas": 2}}, []string{"server.replicas is 2", "sqlite", "mysql or postgres"}},
		{"database without secret", map[string]any{"database": map[string]any{"type": "postgres"}}, []string{"database.existingSecret.name is empty", "postgres://"}},
		{"ingress without host", map[string]any{"ingress": map[string]any{"enabled": true}}, []string{"ingress.host is empty"}},
		{"tls without secret", map[string]any{"ingress": map[string]any{"enabled": true, "host": "a.b", "tls": map[string]any{"enabled": true}}}, []string{"ingress.tls.secretName is empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Render(context.Background(), Release{Values: tc.values})
			if err == nil {
				t.Fatal("rendered; want the values refused")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestReleaseNameValidation(t *testing.T) {
	for _, rel := range []Release{{Name: "Fn"}, {Name: strings.Repeat("a", 54)}, {Namespace: "a_b"}, {Timeout: -1}} {
		if _, _, err := Render(context.Background(), rel); err == nil {
			t.Errorf("%+v accepted", rel)
		}
	}
}

// TestChartLint runs Helm's linter (what `helm lint --strict` runs) on the
// embedded chart: no message of any severity is allowed.
func TestChartLint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), charts.Fn)
	fsys, err := charts.FS(charts.Fn)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dir, fsys); err != nil {
		t.Fatal(err)
	}
	kv, err := chartutil.ParseKubeVersion(renderKubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, values := range []map[string]any{
		nil,
		{"mode": "split", "ui": map[string]any{"enabled": true}, "ingress": map[string]any{"enabled": true, "host": "fn.example.com"}},
	} {
		res := lint.AllWithKubeVersion(dir, values, "fn", kv)
		for _, m := range res.Messages {
			t.Errorf("lint (values %v): %v", values, m)
		}
	}
}

func TestEmbeddedChart(t *testing.T) {
	ch, err := loadChart(charts.Fn)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.APIVersion != "v2" || ch.Metadata.KubeVersion != ">=1.27.0-0" || ch.Metadata.AppVersion != "0.3.753" {
		t.Errorf("metadata = %+v", ch.Metadata)
	}
	if len(ch.Schema) == 0 || !json.Valid(ch.Schema) {
		t.Error("values.schema.json missing or invalid")
	}
	if _, err := loadChart("nope"); err == nil || !strings.Contains(err.Error(), "not embedded") {
		t.Errorf("unknown chart error = %v", err)
	}
}
