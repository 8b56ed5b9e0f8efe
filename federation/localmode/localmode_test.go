package localmode

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// TestUpFailingAfterTheHubTearsItDown: Up that fails once the hub runs (here
// a pool the hub refuses, as a Ctrl-C while the pools are applied would)
// returns the error, with every process of the hub stopped and its
// directory removed. Up used to return through a named result that its
// failure had cleared, so its deferred teardown panicked on a nil fleet and
// left the hub running.
func TestUpFailingAfterTheHubTearsItDown(t *testing.T) {
	bins, err := testbed.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	workdir := t.TempDir()
	pool := &v1alpha1.ClusterPool{}
	pool.Name = "twice"
	pool.Spec.Provider.Name = "local"
	pool.Spec.Region = "eu-west"
	pool.Spec.Nodes = 1
	pool.Spec.MaxClusters = 1
	fleet, err := Up(ctx, Config{
		Binaries: bins,
		Workdir:  workdir,
		// The second create of the same pool fails: AlreadyExists.
		Pools:  []*v1alpha1.ClusterPool{pool, pool.DeepCopy()},
		Logger: testbed.Logger(t),
	})
	if err == nil {
		_ = fleet.Close()
		t.Fatal("Up applied the same pool twice without an error")
	}
	if fleet != nil {
		t.Errorf("Up failed (%v) but returned a fleet", err)
	}
	if !strings.Contains(err.Error(), "twice") {
		t.Errorf("Up failed with %v, want the pool's creation named", err)
	}
	// Up returns once its teardown is done: nothing may be left running.
	if left := testbed.ProcessesNaming(workdir); len(left) > 0 {
		t.Errorf("processes left after Up failed: %v", left)
	}
	if _, err := os.Stat(filepath.Join(workdir, "clusters", hubName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the hub's directory is still there after Up failed (%v)", err)
	}
}
