// Package localmode wires the whole of fnfleet on one machine, with no
// container engine; it is what `fnfleet up` runs. It starts a hub cluster
// holding the fnfleet API, applies the fleet's ClusterPools, and drives the
// shells (placement, lifecycle, observation) in-process from informers on
// the hub (Loop), as the fleet's functions will be driven by the hub's
// events. Member clusters are not made up front: lifecycle creates them
// from the pools when placement asks for capacity, through the local
// provider's Driver, which runs each member's Fn data plane as a detached
// `fnfleet fn-server` on a loopback address of its own. So a FleetApp
// applied with kubectl gets a cluster created, Fn installed and the app
// deployed, and a cluster nothing needs is parked after its idle TTL.
package localmode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/federation/providers/local"
)

// hubName is the hub cluster's name in the provider's work directory.
const hubName = "hub"

// Config configures a local fleet.
type Config struct {
	// Binaries are the cluster binaries (see local.FindBinaries).
	Binaries local.Binaries
	// Fnfleet is the fnfleet executable the members' data planes run as
	// `fnfleet fn-server`; empty means fnfleet beside kwokctl.
	Fnfleet string
	// Workdir holds clusters, data planes, logs and fleet.json; it must be
	// empty or absent.
	Workdir string
	// Pools are applied to the hub once it serves: where the fleet's
	// clusters come from.
	Pools []*v1alpha1.ClusterPool
	// Images maps Fn image names to local executables for the data planes.
	Images map[string]string
	// Resync is the loop's resync period (0: DefaultResync).
	Resync time.Duration
	// OnMembers, if set, is called after fleet.json was rewritten, with
	// the members it now lists, one call at a time.
	OnMembers func([]FleetMember)
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger
}

// Fleet is a running local fleet.
type Fleet struct {
	// Hub is the hub cluster.
	Hub *local.Cluster
	// HubClient reads and writes the fleet's objects in the hub.
	HubClient *hub.Client
	// FleetFile is the path of fleet.json.
	FleetFile string

	provider *local.Provider
	driver   *local.Driver
	log      *slog.Logger
	onChange func([]FleetMember)

	stopLoop context.CancelFunc // nil until the loop runs
	loopDone chan error

	mu      sync.Mutex
	members []FleetMember // as fleet.json last listed them
}

// Up starts the hub, installs the fnfleet API, applies the pools and starts
// the loop; on failure (ctx ending included) whatever was started is torn
// down before it returns. Members come as FleetApps ask for them.
func Up(ctx context.Context, cfg Config) (_ *Fleet, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Workdir, 0o755); err != nil {
		return nil, fmt.Errorf("local fleet: %w", err)
	}
	images, err := writeImages(cfg.Workdir, cfg.Images)
	if err != nil {
		return nil, err
	}
	p, err := local.New(local.Config{
		Binaries: cfg.Binaries, Workdir: cfg.Workdir, Logger: log,
		// The watchdog deletes every cluster of the work directory, data
		// planes first, once this process is gone, however it ends.
		OwnerPID: os.Getpid(),
		Fnfleet:  cfg.Fnfleet, FnImages: images,
	})
	if err != nil {
		return nil, err
	}
	// f is not the result: every failure returns nil, which would clear a
	// named result before this deferred teardown reads it (a nil-pointer
	// panic that skipped the teardown, and the caller's deferred removal
	// of the work directory then ran under the hub's live processes).
	f := &Fleet{
		provider: p, driver: local.NewDriver(p), log: log, onChange: cfg.OnMembers,
		FleetFile: filepath.Join(p.Workdir(), FleetFileName),
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, f.Close())
		}
	}()

	if f.Hub, err = p.Create(ctx, local.ClusterSpec{Name: hubName, NodeLabels: map[string]string{"fnfleet.dev/role": "hub"}}); err != nil {
		return nil, err
	}
	if f.HubClient, err = hub.New(f.Hub.RESTConfig); err != nil {
		return nil, err
	}
	log.Info("installing the fnfleet API in the hub")
	if err := hub.InstallCRDs(ctx, f.Hub.RESTConfig); err != nil {
		return nil, err
	}
	if err := f.writeFleetFile(nil); err != nil {
		return nil, err
	}
	for _, pool := range cfg.Pools {
		if _, err := f.HubClient.CreateClusterPool(ctx, pool); err != nil {
			return nil, err
		}
	}
	shells, err := newShells(f.HubClient, f.driver, log)
	if err != nil {
		return nil, err
	}
	loop, err := NewLoop(LoopConfig{Hub: f.HubClient, Shells: shells, Resync: cfg.Resync, OnMembers: f.membersChanged, Logger: log})
	if err != nil {
		return nil, err
	}
	// The loop lives until Close, not until ctx ends.
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	f.stopLoop, f.loopDone = stop, make(chan error, 1)
	go func() { f.loopDone <- loop.Run(loopCtx) }()
	return f, nil
}

// writeImages writes the data planes' --images file; "" when there are no
// images.
func writeImages(workdir string, images map[string]string) (string, error) {
	if len(images) == 0 {
		return "", nil
	}
	data, err := yaml.Marshal(images)
	if err != nil {
		return "", fmt.Errorf("local fleet: images: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(workdir, "images.yaml"))
	if err != nil {
		return "", fmt.Errorf("local fleet: images: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("local fleet: images: %w", err)
	}
	return path, nil
}

// membersChanged rewrites fleet.json from the hub's MemberClusters and tells
// the caller.
func (f *Fleet) membersChanged(mcs []*v1alpha1.MemberCluster) {
	members := make([]FleetMember, 0, len(mcs))
	for _, mc := range mcs {
		m := FleetMember{Name: mc.Name, Region: mc.Spec.Region, Phase: string(mc.Status.Phase), FnURL: mc.Status.FnEndpoint}
		if mc.Spec.PoolRef != nil {
			m.Pool = mc.Spec.PoolRef.Name
		}
		if c, err := f.provider.Open(mc.Name); err == nil {
			if _, err := os.Stat(c.KubeconfigPath); err == nil {
				m.Kubeconfig = c.KubeconfigPath
			}
		}
		members = append(members, m)
	}
	slices.SortFunc(members, func(a, b FleetMember) int { return strings.Compare(a.Name, b.Name) })
	if err := f.writeFleetFile(members); err != nil {
		f.log.Error("fleet file not rewritten", "err", err)
	}
	if f.onChange != nil {
		f.onChange(slices.Clone(members))
	}
}

func (f *Fleet) writeFleetFile(members []FleetMember) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members = members
	return FleetFile{Hub: FleetHub{Kubeconfig: f.Hub.KubeconfigPath}, Members: members}.Write(f.FleetFile)
}

// Members returns the members as fleet.json last listed them.
func (f *Fleet) Members() []FleetMember {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.members)
}

// Close stops the loop, then deletes every cluster (the members, their data
// planes first, and the hub) and, once all are deleted, stops the
// watchdog. If a cluster could not be deleted the watchdog is left running:
// it stops what is left once this process is gone.
func (f *Fleet) Close() error {
	var errs []error
	if f.stopLoop != nil {
		f.stopLoop()
		errs = append(errs, <-f.loopDone)
		f.stopLoop = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	names, err := f.provider.List()
	errs = append(errs, err)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		del []error
	)
	for _, name := range names {
		// Driver.Delete stops a member's data plane and releases its
		// address; on a cluster it has no state of (the hub) it is
		// Provider.Delete.
		wg.Go(func() {
			err := f.driver.Delete(ctx, providers.Cluster{Name: name})
			mu.Lock()
			del = append(del, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := errors.Join(del...); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, f.provider.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close the local fleet: %w", err)
	}
	return nil
}
