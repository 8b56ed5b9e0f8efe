// Package testbed gives tests real Kubernetes clusters: kube-apiserver, etcd,
// kube-controller-manager, kube-scheduler and kwok, started as processes on
// this machine by the local cluster provider. A test asks for clusters and
// gets them torn down when it ends, whatever way it ends: through t.Cleanup
// normally, and through the provider's watchdog if the test binary dies.
//
// The binaries, etcd included, come from `make tools` (bin/ at the module
// root, or $FNFLEET_BIN).
package testbed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/providers/local"
)

// createTimeout bounds starting a batch of clusters, generous for a loaded
// 2-core CI machine.
const createTimeout = 5 * time.Minute

// Start starts one cluster and deletes it when the test ends.
func Start(t testing.TB, spec local.ClusterSpec) *local.Cluster {
	t.Helper()
	return StartN(t, spec)[0]
}

// StartN starts the clusters in parallel and deletes them when the test ends.
func StartN(t testing.TB, specs ...local.ClusterSpec) []*local.Cluster {
	t.Helper()
	p := Provider(t)
	ctx, cancel := context.WithTimeout(context.Background(), createTimeout)
	defer cancel()
	clusters, err := p.CreateAll(ctx, specs)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return clusters
}

// Provider returns a local provider of the test's own, in a fresh directory,
// tied to this process: when the test ends its clusters are deleted and no
// process of theirs may be left (the test fails if one is).
func Provider(t testing.TB) *local.Provider {
	t.Helper()
	bins, err := Binaries()
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	p, err := local.New(local.Config{
		Binaries: bins,
		Workdir:  t.TempDir(),
		OwnerPID: os.Getpid(),
		Logger:   Logger(t),
	})
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	t.Cleanup(func() {
		if err := Teardown(p); err != nil {
			t.Errorf("testbed teardown: %v", err)
		}
	})
	return p
}

// Logger returns a logger writing to the test's output.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Teardown deletes every cluster of p, stops its watchdog and checks that no
// process of any cluster survived.
func Teardown(p *local.Provider) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	if err := p.DeleteAll(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := p.Close(); err != nil {
		errs = append(errs, err)
	}
	if left, err := local.ProcessesUnder(p.Workdir()); err != nil {
		errs = append(errs, err)
	} else if len(left) > 0 {
		errs = append(errs, fmt.Errorf("processes left behind: %v", left))
	}
	return errors.Join(errs...)
}

// Binaries finds the cluster binaries: $FNFLEET_BIN, else bin/ at the root of
// the fnfleet module containing the working directory.
func Binaries() (local.Binaries, error) {
	dir, err := BinDir()
	if err != nil {
		return local.Binaries{}, err
	}
	return local.FindBinaries(dir)
}

// BinDir is where `make tools` puts what tests need: $FNFLEET_BIN, else
// bin/ at the root of the fnfleet module containing the working directory.
func BinDir() (string, error) {
	if dir := os.Getenv("FNFLEET_BIN"); dir != "" {
		return dir, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin"), nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/fnfleet/fnfleet\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: not inside the fnfleet module; set FNFLEET_BIN to the directory `make tools` builds")
		}
		dir = parent
	}
}
