package testbed

import (
	"testing"

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
