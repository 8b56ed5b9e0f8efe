package testbed

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/providers/local"
)

// FleetAPI makes c a hub: it installs the fnfleet API (the CRDs this binary
// embeds, waiting until they are served) and returns a hub client for c.
func FleetAPI(t testing.TB, c *local.Cluster) *hub.Client {
	t.Helper()
	if err := hub.InstallCRDs(t.Context(), c.RESTConfig); err != nil {
		t.Fatalf("testbed: install the fnfleet API in %s: %v", c.Name, err)
	}
	h, err := hub.New(c.RESTConfig)
	if err != nil {
		t.Fatalf("testbed: hub client for %s: %v", c.Name, err)
	}
	return h
}

// InstallCRD installs the CRD that `make tools` put at file under BinDir
// (another project's, e.g. crds/externaldns.k8s.io_dnsendpoints.yaml) and
// waits until it is served. A missing file fails the test: skipping would
// hide that the fixture was never fetched.
func InstallCRD(t testing.TB, cfg *rest.Config, file string) {
	t.Helper()
	dir, err := BinDir()
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	path := filepath.Join(dir, file)
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("testbed: read the CRD %s: %v (run make tools)", path, err)
	}
	if err := hub.InstallCRDDocs(t.Context(), cfg, doc); err != nil {
		t.Fatalf("testbed: install %s: %v", path, err)
	}
}
