package control

import (
	"testing"
	"time"
)

// The lifecycle function runs under a 300 s Fn timeout and sets the
// install's below it; a zero leaves the installer's default.
func TestFnReleaseCarriesTheInstallTimeout(t *testing.T) {
	for _, timeout := range []time.Duration{0, 240 * time.Second} {
		rel := fnRelease(&member{}, timeout)
		if rel.Timeout != timeout {
			t.Errorf("release timeout %v, want %v", rel.Timeout, timeout)
		}
		if svc, _ := rel.Values["service"].(map[string]any); svc["type"] != "LoadBalancer" {
			t.Errorf("values %v, want a LoadBalancer Service", rel.Values)
		}
	}
}
