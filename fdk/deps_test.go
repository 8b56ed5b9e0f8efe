package fdk_test

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/fnfleet/fnfleet/"

// A function author who imports the FDK gets the FDK and nothing of the
// fleet: no Helm, no Kubernetes, no SQLite, no Prometheus. This test pins
// the dependency closure of each public FDK package so that it cannot grow
// unnoticed. Besides the standard library and this module's fdk/... and
// internal/fncontract/... packages, only fdk/cloudevent may pull in other
// modules: the CloudEvents SDK and what it pulls in itself (recorded with
// SDK v2.16.2: json-iterator and its two helpers, zap and multierr).
func TestDependencyClosure(t *testing.T) {
	cloudEvents := []string{
		"github.com/cloudevents/sdk-go/v2",
		"github.com/json-iterator/go",
		"github.com/modern-go/concurrent",
		"github.com/modern-go/reflect2",
		"go.uber.org/multierr",
		"go.uber.org/zap",
	}
	for pkg, allowed := range map[string][]string{
		"fdk":            nil,
		"fdk/fdktest":    nil,
		"fdk/cloudevent": cloudEvents,
	} {
		t.Run(pkg, func(t *testing.T) {
			deps := goList(t, module+pkg)
			// One report per new module, through the shortest chain that
			// reaches one of its packages.
			entered := map[string][]string{}
			var modules []string
			for _, p := range deps.order {
				d := deps.pkgs[p]
				if d.standard || inModule(p, "fdk", "internal/fncontract") || slices.Contains(allowed, d.module) {
					continue
				}
				key := d.module
				if key == "" {
					key = p
				}
				chain := deps.pathTo(p)
				if prev, ok := entered[key]; !ok || len(chain) < len(prev) {
					if !ok {
						modules = append(modules, key)
					}
					entered[key] = chain
				}
			}
			for _, m := range modules {
				t.Errorf("%s now depends on module %s, which entered through %s.\n"+
					"A function author who imports %s would build and ship it. Keep it out of the FDK "+
					"(put the code that needs it outside fdk/ and internal/fncontract/), or, if the FDK "+
					"truly needs it, add its module to the list in fdk/deps_test.go and say why in the commit.",
					module+pkg, m, strings.Join(entered[m], " -> "), module+pkg)
			}
		})
	}
}

// The start-up baseline of the FDK's benchmarks must stay free of net/http
// (docs/benchmarks.md: its import alone costs about 3 ms of start-up), so
// the socket handshake it shares with the FDK must not import it either.
func TestHandshakeBaselineHasNoHTTP(t *testing.T) {
	deps := goList(t, module+"fdk/internal/minlisten")
	if _, ok := deps.pkgs["net/http"]; ok {
		t.Errorf("fdk/internal/minlisten depends on net/http through %s: the handshake "+
			"(internal/fncontract/socket) must not import it", strings.Join(deps.pathTo("net/http"), " -> "))
	}
}

// inModule reports whether p is one of this module's packages under one of
// the directories dirs.
func inModule(p string, dirs ...string) bool {
	rel, ok := strings.CutPrefix(p, module)
	if !ok {
		return false
	}
	for _, dir := range dirs {
		if rel == dir || strings.HasPrefix(rel, dir+"/") {
			return true
		}
	}
	return false
}

type listedPackage struct {
	standard bool
	module   string
	imports  []string
}

type closure struct {
	root  string
	order []string
	pkgs  map[string]listedPackage
}

// goList lists the dependency closure of pkg (its own tests excluded),
// with each package's imports.
func goList(t *testing.T, pkg string) closure {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps",
		"-f", "{{.ImportPath}}\t{{.Standard}}\t{{with .Module}}{{.Path}}{{end}}\t{{join .Imports \" \"}}", pkg).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	c := closure{root: pkg, pkgs: map[string]listedPackage{}}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("go list printed %q", line)
		}
		c.order = append(c.order, f[0])
		c.pkgs[f[0]] = listedPackage{standard: f[1] == "true", module: f[2], imports: strings.Fields(f[3])}
	}
	return c
}

// pathTo returns a shortest import chain from the root to p.
func (c closure) pathTo(p string) []string {
	prev := map[string]string{c.root: ""}
	queue := []string{c.root}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == p {
			break
		}
		for _, next := range c.pkgs[cur].imports {
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	if _, ok := prev[p]; !ok {
		return []string{c.root, "?", p}
	}
	var chain []string
	for q := p; q != ""; q = prev[q] {
		chain = append(chain, q)
	}
	slices.Reverse(chain)
	return chain
}
