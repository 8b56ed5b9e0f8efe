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
