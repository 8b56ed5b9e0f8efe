package handlers_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/dns/vantage"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/handlers"
)

// funcYAML is what `fn deploy` reads of a func.yaml.
type funcYAML struct {
	SchemaVersion int    `json:"schema_version"`
	Name          string `json:"name"`
	Runtime       string `json:"runtime"`
	Memory        int32  `json:"memory"`
	Timeout       int32  `json:"timeout"`
	IdleTimeout   int32  `json:"idle_timeout"`
	Triggers      []struct {
		Name   string `json:"name"`
		Type   string `json:"type"`
		Source string `json:"source"`
	} `json:"triggers"`
}

// TestFuncYAMLsAreTheApp holds every function's func.yaml (the events
// function's at the repository root, where `fn deploy` finds the entry
// point) equal to handlers.App: name, limits, triggers.
func TestFuncYAMLsAreTheApp(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, fn := range handlers.App("test", nil).Functions {
		path := filepath.Join(root, "functions", fn.Name, "func.yaml")
		if fn.Name == handlers.Events {
			path = filepath.Join(root, "func.yaml")
		}
		t.Run(fn.Name, func(t *testing.T) { checkFuncYAML(t, path, fn) })
	}
}

// TestProbeFuncYAMLIsWhatVantageDeploys holds functions/probe/func.yaml
// equal to the function package vantage deploys on the members, whose image
// is named as the management functions' are. The probe function is not in app fnfleet: it runs on the
// members, not the hub.
func TestProbeFuncYAMLIsWhatVantageDeploys(t *testing.T) {
	app := vantage.App()
	if len(app.Functions) != 1 || app.Functions[0].Name != handlers.Probe || !strings.HasPrefix(app.Functions[0].Image, handlers.ImagePrefix+handlers.Probe+":") {
		t.Fatalf("vantage deploys %+v; want one function %s with image %s%s:<version>", app.Functions, handlers.Probe, handlers.ImagePrefix, handlers.Probe)
	}
	if slices.ContainsFunc(handlers.App("test", nil).Functions, func(f v1alpha1.Function) bool { return f.Name == handlers.Probe }) {
		t.Errorf("app %s holds the probe function, which runs on the members", handlers.AppName)
	}
	fn := app.Functions[0]
	if time.Duration(fn.TimeoutSeconds)*time.Second <= vantage.MaxTimeout {
		t.Errorf("the probe function's Fn timeout %ds does not outlast its longest probe %s", fn.TimeoutSeconds, vantage.MaxTimeout)
	}
	checkFuncYAML(t, filepath.Join("..", "..", "functions", handlers.Probe, "func.yaml"), fn)
}

// checkFuncYAML holds the func.yaml at path equal to fn, with a Dockerfile
// beside it.
func checkFuncYAML(t *testing.T, path string, fn v1alpha1.Function) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var y funcYAML
	if err := yaml.Unmarshal(data, &y); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if y.SchemaVersion != 20180708 || y.Runtime != "docker" || y.Name != fn.Name {
		t.Errorf("%s: schema_version %d, runtime %q, name %q; want 20180708, docker, %s", path, y.SchemaVersion, y.Runtime, y.Name, fn.Name)
	}
	if y.Memory != fn.MemoryMB || y.Timeout != fn.TimeoutSeconds || y.IdleTimeout != fn.IdleTimeoutSeconds {
		t.Errorf("%s: memory %d, timeout %d, idle_timeout %d; the app says %d, %d, %d",
			path, y.Memory, y.Timeout, y.IdleTimeout, fn.MemoryMB, fn.TimeoutSeconds, fn.IdleTimeoutSeconds)
	}
	var triggers []v1alpha1.Trigger
	for _, tr := range y.Triggers {
		triggers = append(triggers, v1alpha1.Trigger{Name: tr.Name, Type: tr.Type, Source: tr.Source})
	}
	if !slices.Equal(triggers, fn.Triggers) {
		t.Errorf("%s: triggers %+v; the app says %+v", path, triggers, fn.Triggers)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "Dockerfile")); err != nil {
		t.Errorf("no Dockerfile beside %s: %v", path, err)
	}
}

// TestCatalogHandlersAreFunctions: the router hands events only to
// functions app fnfleet has (the event source takes the deferrals).
func TestCatalogHandlersAreFunctions(t *testing.T) {
	for _, s := range events.Catalog() {
		for _, h := range s.Handlers {
			if h != events.EventSource && !slices.Contains(handlers.Functions(), h) {
				t.Errorf("%s: handler %q is not a function of app %s (%v)", s.Type, h, handlers.AppName, handlers.Functions())
			}
		}
	}
}
