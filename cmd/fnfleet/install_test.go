package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestInstallDryRun(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("mode: split\nrunner:\n  replicas: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Flags after the chart name, -f then --set (which wins).
	code, out, errOut := runCLI(t, "install", "fn", "--dry-run", "-f", values, "--set", "runner.replicas=4", "--namespace", "edge")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"kind: StatefulSet", "name: fn-runner", "replicas: 4", "namespace: edge", "fn-runner-3.fn-runner-headless.edge.svc:9190"} {
		if !strings.Contains(out, want) {
			t.Errorf("manifest lacks %q", want)
		}
	}
	// Flags before the chart name work too.
	if code, _, errOut := runCLI(t, "install", "--dry-run", "fn"); code != 0 {
		t.Errorf("flags before the chart: exit %d: %s", code, errOut)
	}
}

func TestInstallUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"install"}, 2, "name the chart"},
		{[]string{"install", "nosuch", "--dry-run"}, 2, `unknown chart "nosuch"`},
		{[]string{"install", "fn", "extra", "--dry-run"}, 2, "unexpected arguments"},
		{[]string{"install", "fn", "--kubeconfig", ""}, 2, "pass --kubeconfig"},
		{[]string{"install", "fn", "--dry-run", "--set", "mode=half"}, 1, "value must be one of 'full', 'split'"},
		{[]string{"install", "fn", "--dry-run", "-f", "/nonexistent/values.yaml"}, 1, "read values"},
		{[]string{"uninstall", "fn", "--kubeconfig", ""}, 2, "pass --kubeconfig"},
		{[]string{"install", "fn", "--kubeconfig", "/nonexistent/kubeconfig"}, 1, "read kubeconfig /nonexistent/kubeconfig"},
	}
	for _, tc := range cases {
		code, _, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// TestInstallCommandOnCluster runs the commands as a user would, against a
// real cluster: install, install again, uninstall.
func TestInstallCommandOnCluster(t *testing.T) {
	c := testbed.Start(t, local.ClusterSpec{})
	kc := c.KubeconfigPath
	code, out, errOut := runCLI(t, "install", "fn", "--kubeconfig", kc, "--set", "persistence.enabled=false", "--timeout", "2m")
	if code != 0 {
		t.Fatalf("install: exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "installed: release fn in namespace fn, revision 1") || !strings.Contains(out, "fn create context") {
		t.Errorf("install output:\n%s", out)
	}
	code, out, errOut = runCLI(t, "install", "fn", "--kubeconfig", kc, "--set", "persistence.enabled=false")
	if code != 0 || !strings.HasPrefix(out, "unchanged: release fn in namespace fn, revision 1") {
		t.Errorf("second install: exit %d, output %q, stderr %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "uninstall", "fn", "--kubeconfig", kc)
	if code != 0 || !strings.HasPrefix(out, "uninstalled: release fn in namespace fn") {
		t.Errorf("uninstall: exit %d, output %q, stderr %s", code, out, errOut)
	}
	cs, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	deps, err := cs.AppsV1().Deployments("fn").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(deps.Items) != 0 {
		t.Errorf("deployments left after uninstall: %v (err %v)", len(deps.Items), err)
	}
}
