package localmode

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/handlers"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/fnserver"
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
	// Up fails before it runs any of these: empty stand-ins do.
	exes := t.TempDir()
	for _, name := range append(handlers.Functions(), handlers.Probe, "fnfleet") {
		if err := os.WriteFile(filepath.Join(exes, name), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pool := &v1alpha1.ClusterPool{}
	pool.Name = "twice"
	pool.Spec.Provider.Name = "local"
	pool.Spec.Region = "eu-west"
	pool.Spec.Nodes = 1
	pool.Spec.MaxClusters = 1
	fleet, err := Up(ctx, Config{
		Binaries: bins,
		Fnfleet:  filepath.Join(exes, "fnfleet"),
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

// TestUpNeedsEveryExecutable: Up refuses to start, naming every missing
// executable and how to build it, before it starts anything.
func TestUpNeedsEveryExecutable(t *testing.T) {
	bins, err := testbed.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	exes := t.TempDir()
	if err := os.WriteFile(filepath.Join(exes, "fnfleet"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	workdir := filepath.Join(t.TempDir(), "up")
	_, err = Up(t.Context(), Config{Binaries: bins, Fnfleet: filepath.Join(exes, "fnfleet"), Workdir: workdir, Logger: testbed.Logger(t)})
	if err == nil {
		t.Fatal("Up started without the functions' executables")
	}
	for _, want := range append(handlers.Functions(), handlers.Probe, "make build") {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Up's error lacks %q: %v", want, err)
		}
	}
	if _, statErr := os.Stat(workdir); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("Up made its work directory before it failed (%v)", statErr)
	}
}

// The functions find the work directory under the name the local provider
// ties processes to it by, so the watchdog stops them with the fleet.
func TestFunctionsConfigTiesThemToTheWorkdir(t *testing.T) {
	if handlers.ConfigLocalWorkdir != local.WorkdirEnv {
		t.Fatalf("handlers.ConfigLocalWorkdir is %q, local.WorkdirEnv %q: the watchdog would not find the functions", handlers.ConfigLocalWorkdir, local.WorkdirEnv)
	}
}

func TestMembersFromPoolsTakesTheRegionsInTurn(t *testing.T) {
	pool := func(name, region string) *v1alpha1.ClusterPool {
		p := &v1alpha1.ClusterPool{}
		p.Name, p.Spec.Region, p.Spec.Provider.Name = name, region, "local"
		return p
	}
	pools := []*v1alpha1.ClusterPool{pool("local-eu-west", "eu-west"), pool("local-us-east", "us-east")}
	var got []string
	for _, mc := range MembersFromPools(pools, 3) {
		got = append(got, mc.Name+" "+mc.Spec.Region+" "+mc.Spec.PoolRef.Name)
	}
	want := []string{"local-eu-west-1 eu-west local-eu-west", "local-us-east-1 us-east local-us-east", "local-eu-west-2 eu-west local-eu-west"}
	if !slices.Equal(got, want) {
		t.Errorf("MembersFromPools(2 pools, 3) = %q, want %q", got, want)
	}
	if got := MembersFromPools(nil, 2); len(got) != 0 {
		t.Errorf("MembersFromPools without pools = %v, want none", got)
	}
}

// TestMembersImagesHoldTheProbe: the members' images file maps the
// caller's images and the probe function's, which the dns function deploys
// on every member, to their executables, as the members' fn-servers read it.
func TestMembersImagesHoldTheProbe(t *testing.T) {
	exes := t.TempDir()
	for _, name := range append(handlers.Functions(), handlers.Probe, "fnfleet", "coredns") {
		if err := os.WriteFile(filepath.Join(exes, name), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := executables(Config{Fnfleet: filepath.Join(exes, "fnfleet"), Binaries: local.Binaries{Kwokctl: filepath.Join(exes, "kwokctl")}})
	if err != nil {
		t.Fatal(err)
	}
	caller := map[string]string{"fnfleet/echo:0.0.1": "/opt/echo"}
	path, err := writeImages(filepath.Join(t.TempDir(), membersImagesName), exe.members(caller))
	if err != nil {
		t.Fatal(err)
	}
	images, err := fnserver.LoadImages(path)
	if err != nil {
		t.Fatal(err)
	}
	// The probe's image is the management functions' version's.
	want := map[string]string{"fnfleet/echo:0.0.1": "/opt/echo", handlers.ImagePrefix + handlers.Probe + ":" + FunctionsVersion: filepath.Join(exes, "probe")}
	if !maps.Equal(images, want) {
		t.Errorf("members' images %v, want %v", images, want)
	}
	if len(caller) != 1 {
		t.Errorf("the caller's images were changed: %v", caller)
	}
}
