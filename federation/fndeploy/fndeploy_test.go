package fndeploy_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/fnfleet/fnfleet/fdk/fdktest"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	"github.com/fnfleet/fnfleet/fnserver"
)

// TestApplyDeploysAndIsIdempotent deploys to a real Fn API (the process
// host) and calls the function through what was deployed.
func TestApplyDeploysAndIsIdempotent(t *testing.T) {
	echo := fdktest.Build(t, "github.com/fnfleet/fnfleet/functions/echo")
	base := startHost(t, map[string]string{"fnfleet/echo:0.0.1": echo})
	ctx := t.Context()
	app := &v1alpha1.FnApp{
		Name:   "hello",
		Config: map[string]string{"GREETING": "hi"},
		Functions: []v1alpha1.Function{{
			Name: "echo", Image: "fnfleet/echo:0.0.1", MemoryMB: 128, TimeoutSeconds: 10,
			Triggers: []v1alpha1.Trigger{{Name: "echo", Source: "/echo"}},
		}},
	}

	first, err := fndeploy.Apply(ctx, base, app)
	if err != nil {
		t.Fatal(err)
	}
	again, err := fndeploy.Apply(ctx, base, app)
	if err != nil {
		t.Fatalf("second deploy: %v", err)
	}
	if again.AppID != first.AppID || again.InvokeURLs["echo"] != first.InvokeURLs["echo"] {
		t.Fatalf("second deploy made new objects: %+v then %+v", first, again)
	}

	if got := post(t, first.InvokeURLs["echo"], "by invoke"); got != "by invoke" {
		t.Errorf("invoke answered %q", got)
	}
	if got := post(t, base+"/t/hello/echo", "by trigger"); got != "by trigger" {
		t.Errorf("trigger answered %q", got)
	}
}

// TestRemoveDeletesTheAppAndIsIdempotent removes a deployed app from a
// real Fn API: the app, its function and its trigger are gone, and a
// second removal, like one of an app never deployed, is success.
func TestRemoveDeletesTheAppAndIsIdempotent(t *testing.T) {
	echo := fdktest.Build(t, "github.com/fnfleet/fnfleet/functions/echo")
	base := startHost(t, map[string]string{"fnfleet/echo:0.0.1": echo})
	ctx := t.Context()
	app := &v1alpha1.FnApp{Name: "hello", Functions: []v1alpha1.Function{{
		Name: "echo", Image: "fnfleet/echo:0.0.1", MemoryMB: 128, TimeoutSeconds: 10,
		Triggers: []v1alpha1.Trigger{{Name: "echo", Source: "/echo"}},
	}}}
	var fn fndeploy.Deployer
	id, err := fn.Apply(ctx, base, app)
	if err != nil {
		t.Fatal(err)
	}
	if got := post(t, base+"/t/hello/echo", "before"); got != "before" {
		t.Fatalf("trigger answered %q", got)
	}
	// Another app stays.
	if _, err := fn.Apply(ctx, base, &v1alpha1.FnApp{Name: "other"}); err != nil {
		t.Fatal(err)
	}

	for i := range 2 {
		if err := fn.Remove(ctx, base, "hello"); err != nil {
			t.Fatalf("removal %d: %v", i+1, err)
		}
	}
	for path, want := range map[string]int{
		"/v2/apps/" + id:            http.StatusNotFound,
		"/v2/fns?app_id=" + id:      http.StatusOK, // an empty list
		"/v2/apps?name=other":       http.StatusOK,
		"/v2/triggers?app_id=" + id: http.StatusOK,
	} {
		code, body := get(t, base+path)
		if code != want {
			t.Errorf("GET %s: %d %s, want %d", path, code, body, want)
		}
		if code == http.StatusOK && strings.Contains(path, id) && strings.Contains(body, `"id"`) {
			t.Errorf("GET %s lists %s after the app was removed", path, body)
		}
		if strings.Contains(path, "other") && !strings.Contains(body, `"other"`) {
			t.Errorf("GET %s: %s; the other app was removed too", path, body)
		}
	}
	resp, err := http.Post(base+"/t/hello/echo", "text/plain", strings.NewReader("after"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("trigger after removal: %d, want 404", resp.StatusCode)
	}
	if err := fn.Remove(ctx, base, "never-deployed"); err != nil {
		t.Errorf("removing an app that was never there: %v", err)
	}
}

func TestApplyRefusesABadURL(t *testing.T) {
	_, err := fndeploy.Apply(context.Background(), "not a url", &v1alpha1.FnApp{Name: "x"})
	if err == nil || !strings.Contains(err.Error(), `bad Fn API URL "not a url"`) {
		t.Fatalf("error %v, want one naming the bad URL", err)
	}
}

func startHost(t *testing.T, images map[string]string) string {
	t.Helper()
	srv, err := fnserver.New(t.Context(), fnserver.Config{DataDir: t.TempDir(), Images: images})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String()
}

func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
