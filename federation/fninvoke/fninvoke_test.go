package fninvoke_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/fnfleet/fnfleet/fdk/fdktest"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	"github.com/fnfleet/fnfleet/federation/fninvoke"
	"github.com/fnfleet/fnfleet/test/testbed"
)

func TestInvokeFindsTheFunctionAgainAfterARedeploy(t *testing.T) {
	ctx := t.Context()
	url := testbed.FnServer(t, map[string]string{"echo": fdktest.Build(t, "github.com/fnfleet/fnfleet/functions/echo")})
	app := &v1alpha1.FnApp{Name: "tools", Functions: []v1alpha1.Function{{Name: "echo", Image: "echo"}}}
	if _, err := fndeploy.Apply(ctx, url, app); err != nil {
		t.Fatal(err)
	}
	c, err := fninvoke.New(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	call := func(t *testing.T, body string) {
		t.Helper()
		a, err := c.Invoke(ctx, "tools", "echo", http.Header{"Content-Type": {"text/plain"}}, []byte(body))
		if err != nil || a.Status != http.StatusOK || string(a.Body) != body {
			t.Fatalf("Invoke = %+v, %v; want 200 %q", a, err, body)
		}
	}
	call(t, "first")

	// The app goes and comes back: its function has a new id, and the
	// endpoint kept from the first call answers 404.
	if err := fndeploy.Remove(ctx, url, "tools"); err != nil {
		t.Fatal(err)
	}
	if _, err := fndeploy.Apply(ctx, url, app); err != nil {
		t.Fatal(err)
	}
	call(t, "second")

	if _, err := c.Invoke(ctx, "tools", "gone", nil, nil); !errors.Is(err, fninvoke.ErrNotFound) {
		t.Errorf("Invoke of a function that does not exist: %v, want ErrNotFound", err)
	}
	if _, err := c.Invoke(ctx, "no-such-app", "echo", nil, nil); !errors.Is(err, fninvoke.ErrNotFound) {
		t.Errorf("Invoke in an app that does not exist: %v, want ErrNotFound", err)
	}
}

func TestNewRefusesABadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://host", "http://"} {
		if _, err := fninvoke.New(u, nil); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
}
