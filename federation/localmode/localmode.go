// Package localmode wires the whole of fnfleet on one machine, with no
// container engine; it is what `fnfleet up` runs. It starts a hub cluster
// holding the fnfleet API and applies the fleet's ClusterPools; then the
// fleet's own processes, each supervised (restarted when it dies): the
// hub's Fn (`fnfleet fn-server`) with the management functions deployed as
// app fnfleet, the scheduler and the event source. From there the functions
// do the work, driven by the events and ticks those two send: lifecycle
// creates member clusters from the pools through the local provider (each
// member's Fn data plane a detached `fnfleet fn-server` on a loopback
// address of its own), placement places apps, deploy puts them on the
// members' Fn, parking parks idle clusters. This package decides nothing:
// it starts processes, deploys the functions, keeps fleet.json current and
// tears it all down.
package localmode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/dns/vantage"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	"github.com/fnfleet/fnfleet/federation/handlers"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/localmode/supervise"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/federation/providers/local"
)

// hubName is the hub cluster's name in the provider's work directory.
const hubName = "hub"

// FunctionsVersion is the tag of the management functions' images
// (fnfleet/<name>:<version>) in the hub Fn's images file.
const FunctionsVersion = "0.0.1"

// FieldManager is the field manager (the user agent) of the writes to the
// hub through Fleet.HubClient.
const FieldManager = "fnfleet-up"

// Files and directories of a local fleet's work directory, beside the
// provider's clusters/ and logs/.
const (
	// SecretFileName holds the HMAC secret the fleet's events are signed
	// with (mode 0600).
	SecretFileName = "event-secret"
	// hubFnDir is the hub Fn server's data directory: its database, and
	// each function's log in logs/<fn id>.log.
	hubFnDir = "hub-fn"
	// hubImagesName maps the management functions' images to their
	// executables; membersImagesName does the same for the members' data
	// planes.
	hubImagesName     = "hub-fn-images.yaml"
	membersImagesName = "images.yaml"
	// schedulesName is the scheduler's --config.
	schedulesName = "schedules.yaml"
)

// localSchedules lays local mode's pace over the scheduler's defaults: a
// parking sweep and a reconcile every 5 s, as a local cluster costs a
// flock and a /readyz to look at, and a demo's idle TTL is seconds. With
// the defaults (a minute, 30 s) a cluster would park up to a minute past
// its TTL, and a new member would wait up to 30 s for the capacity data
// placement needs to place on it.
const localSchedules = `schedules:
- name: parking
  spec: "*/5 * * * * *"
- name: reconcile
  spec: "2-59/5 * * * * *"
`

// localPoll is how often lifecycle looks again at a local member in
// motion: a local cluster serves about 6-10 s after its create and wakes in
// under a second; the default 10 s poll, sized for cloud clusters, would
// make each step wait for the next poll.
const localPoll = 2 * time.Second

// hubFnStartTimeout bounds the wait for the hub's Fn server to answer: it
// opens a SQLite database and listens, well under a second on an idle
// machine.
const hubFnStartTimeout = time.Minute

// Config configures a local fleet.
type Config struct {
	// Binaries are the cluster binaries (see local.FindBinaries).
	Binaries local.Binaries
	// Fnfleet is the fnfleet executable, run as the hub's Fn server, the
	// scheduler, the event source and the members' data planes; empty
	// means fnfleet beside kwokctl.
	Fnfleet string
	// Functions is the directory of the management functions'
	// executables, one per handlers.Functions() name, and of the probe
	// function the members run (handlers.Probe), as `make build` leaves
	// them in bin/; empty means the directory of Fnfleet.
	Functions string
	// Workdir holds clusters, processes' logs, the hub's Fn data and
	// fleet.json; it must be empty or absent.
	Workdir string
	// Pools are applied to the hub once it serves: where the fleet's
	// clusters come from.
	Pools []*v1alpha1.ClusterPool
	// Images maps Fn image names to local executables for the members'
	// data planes; the probe function's image is added to them.
	Images map[string]string
	// OnMembers, if set, is called after fleet.json's members were
	// rewritten, with the members it now lists, one call at a time.
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
	// FnAPI is the base URL of the hub's Fn API, where app fnfleet runs.
	FnAPI string
	// EventsURL is the events function's trigger: where events are sent.
	EventsURL string
	// SecretFile holds the secret events are signed with.
	SecretFile string
	// FnLogs is the directory of the management functions' logs
	// (<fn id>.log).
	FnLogs string
	// DNSAddr is the fleet's DNS server (CoreDNS), host:port, serving
	// Zone.
	DNSAddr string

	provider *local.Provider
	driver   *local.Driver
	log      *slog.Logger
	onChange func([]FleetMember)
	// procs are the supervised processes, in start order.
	procs      []*supervise.Process
	stopWatch  context.CancelFunc // nil until the members watch runs
	watchEnded chan struct{}

	mu   sync.Mutex
	file FleetFile // as fleet.json was last written
}

// Up starts the hub, installs the fnfleet API, applies the pools, starts the
// hub's Fn and deploys the management functions there, then starts the
// scheduler and the event source. On failure (ctx ending included)
// whatever was started is torn down before it returns. Members come as
// FleetApps ask for them, made by the functions.
func Up(ctx context.Context, cfg Config) (_ *Fleet, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	exe, err := executables(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Workdir, 0o755); err != nil {
		return nil, fmt.Errorf("local fleet: %w", err)
	}
	workdir, err := filepath.Abs(cfg.Workdir)
	if err != nil {
		return nil, fmt.Errorf("local fleet: %w", err)
	}
	membersImages, err := writeImages(filepath.Join(workdir, membersImagesName), exe.members(cfg.Images))
	if err != nil {
		return nil, err
	}
	p, err := local.New(local.Config{
		Binaries: cfg.Binaries, Workdir: workdir, Logger: log,
		// The watchdog stops every process of the work directory (the
		// clusters, the data planes, and the supervised processes and
		// functions below, which name it) and deletes the clusters once
		// this process is gone, however it ends.
		OwnerPID: os.Getpid(),
		Fnfleet:  exe.fnfleet, FnImages: membersImages,
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
		FleetFile:  filepath.Join(workdir, FleetFileName),
		SecretFile: filepath.Join(workdir, SecretFileName),
		FnLogs:     filepath.Join(workdir, hubFnDir, "logs"),
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, f.Close())
		}
	}()

	if f.Hub, err = p.Create(ctx, local.ClusterSpec{Name: hubName, NodeLabels: map[string]string{"fnfleet.dev/role": "hub"}}); err != nil {
		return nil, err
	}
	// up's own writes (the pools, and what its caller writes: the demo's
	// FleetApp, --members) carry its name as their field manager, told
	// apart from the functions'.
	rc := rest.CopyConfig(f.Hub.RESTConfig)
	rc.UserAgent = FieldManager
	if f.HubClient, err = hub.New(rc); err != nil {
		return nil, err
	}
	log.Info("installing the fnfleet API in the hub")
	if err := hub.InstallCRDs(ctx, f.Hub.RESTConfig); err != nil {
		return nil, err
	}
	if err := f.update(func(ff *FleetFile) { ff.Hub.Kubeconfig = f.Hub.KubeconfigPath }); err != nil {
		return nil, err
	}
	for _, pool := range cfg.Pools {
		if _, err := f.HubClient.CreateClusterPool(ctx, pool); err != nil {
			return nil, err
		}
	}
	log.Info("starting the fleet's DNS server", "zone", Zone)
	if err := f.startDNS(ctx, workdir, cfg.Binaries.Etcd, exe.coredns); err != nil {
		return nil, err
	}
	secret, err := writeSecret(f.SecretFile)
	if err != nil {
		return nil, err
	}
	if err := f.startHubFn(ctx, workdir, exe); err != nil {
		return nil, err
	}
	log.Info("deploying the management functions", "app", handlers.AppName, "fn_api", f.FnAPI)
	app := handlers.App(FunctionsVersion, map[string]string{
		handlers.ConfigHubKubeconfig: f.Hub.KubeconfigPath,
		handlers.ConfigFnAPIURL:      f.FnAPI,
		handlers.ConfigEventsURL:     f.EventsURL,
		cloudevent.ConfigHMACSecret:  secret,
		handlers.ConfigLocalWorkdir:  workdir,
		handlers.ConfigBin:           filepath.Dir(cfg.Binaries.Kwokctl),
		handlers.ConfigLocalFnfleet:  exe.fnfleet,
		handlers.ConfigLocalFnImages: membersImages,
		handlers.ConfigLocalPoll:     localPoll.String(),
	})
	if level := os.Getenv("FNFLEET_LOG"); level != "" {
		app.Config[handlers.ConfigLogLevel] = level
	}
	if _, err := fndeploy.Apply(ctx, f.FnAPI, app); err != nil {
		return nil, fmt.Errorf("local fleet: %w", err)
	}
	if err := f.startSenders(workdir, exe.fnfleet); err != nil {
		return nil, err
	}
	if err := f.watchMembers(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// executablesOf are the programs a local fleet runs.
type executablesOf struct {
	fnfleet string
	// coredns serves the fleet's DNS zone.
	coredns string
	// functions maps each management function's image to its executable.
	functions map[string]string
	// probe is the probe function's executable, which the dns function
	// deploys on every member's Fn (package vantage).
	probe string
}

// members is the members' images: the caller's, and the probe function.
func (exe executablesOf) members(images map[string]string) map[string]string {
	m := maps.Clone(images)
	if m == nil {
		m = map[string]string{}
	}
	m[vantage.Image] = exe.probe
	return m
}

// executables finds fnfleet and the management functions, failing before
// anything starts if one is missing.
func executables(cfg Config) (executablesOf, error) {
	exe := executablesOf{fnfleet: cfg.Fnfleet, functions: map[string]string{}}
	if exe.fnfleet == "" {
		exe.fnfleet = filepath.Join(filepath.Dir(cfg.Binaries.Kwokctl), "fnfleet")
	}
	dir := cfg.Functions
	if dir == "" {
		dir = filepath.Dir(exe.fnfleet)
	}
	exe.coredns = filepath.Join(filepath.Dir(cfg.Binaries.Kwokctl), "coredns")
	var missing []string
	for _, path := range []string{exe.fnfleet, exe.coredns} {
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, path)
		}
	}
	for _, name := range handlers.Functions() {
		path, err := filepath.Abs(filepath.Join(dir, name))
		if err != nil {
			return exe, fmt.Errorf("local fleet: %w", err)
		}
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, path)
		}
		exe.functions[handlers.ImagePrefix+name+":"+FunctionsVersion] = path
	}
	probe, err := filepath.Abs(filepath.Join(dir, handlers.Probe))
	if err != nil {
		return exe, fmt.Errorf("local fleet: %w", err)
	}
	if _, err := os.Stat(probe); err != nil {
		missing = append(missing, probe)
	}
	exe.probe = probe
	if len(missing) > 0 {
		return exe, fmt.Errorf("local fleet: %v missing: build them with `make build` (go build -o bin/ ./cmd/fnfleet ./functions/...), and coredns with `make tools`", missing)
	}
	return exe, nil
}

// writeImages writes an Fn server's --images file at path; "" when there
// are no images.
func writeImages(path string, images map[string]string) (string, error) {
	if len(images) == 0 {
		return "", nil
	}
	data, err := yaml.Marshal(images)
	if err != nil {
		return "", fmt.Errorf("local fleet: images: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("local fleet: images: %w", err)
	}
	return path, nil
}

// writeSecret writes a new random event secret to path, readable by its
// owner only, and returns it: 32 bytes, hex-encoded, so it is text in a
// file, a flag and the functions' config alike.
func writeSecret(path string) (string, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	secret := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("local fleet: event secret: %w", err)
	}
	return secret, nil
}

// startHubFn starts the hub's Fn server, supervised, on a free loopback
// port, and waits until it answers.
func (f *Fleet) startHubFn(ctx context.Context, workdir string, exe executablesOf) error {
	images, err := writeImages(filepath.Join(workdir, hubImagesName), exe.functions)
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	f.FnAPI = "http://" + addr
	f.EventsURL = f.FnAPI + "/t/" + handlers.AppName + handlers.EventsTrigger
	if err := f.update(func(ff *FleetFile) {
		ff.FnAPI, ff.EventsURL, ff.SecretFile = f.FnAPI, f.EventsURL, f.SecretFile
	}); err != nil {
		return err
	}
	err = f.supervise("hub-fn", exe.fnfleet, []string{"fn-server", "--addr", addr, "--data", filepath.Join(workdir, hubFnDir), "--images", images,
		// Below supervise.DefaultGrace, so calls in flight finish
		// before a stop turns into SIGKILL.
		"--shutdown-timeout", "5s"},
		func(ff *FleetFile, pid int) { ff.PIDs.HubFn = pid })
	if err != nil {
		return err
	}
	return awaitAnswer(ctx, f.FnAPI+"/v2/apps")
}

// startSenders starts the scheduler and the event source, supervised.
func (f *Fleet) startSenders(workdir, fnfleet string) error {
	schedules := filepath.Join(workdir, schedulesName)
	if err := os.WriteFile(schedules, []byte(localSchedules), 0o644); err != nil {
		return fmt.Errorf("local fleet: schedules: %w", err)
	}
	to := []string{"--to", f.EventsURL, "--secret-file", f.SecretFile}
	if err := f.supervise("scheduler", fnfleet, append([]string{"scheduler", "--config", schedules}, to...),
		func(ff *FleetFile, pid int) { ff.PIDs.Scheduler = pid }); err != nil {
		return err
	}
	return f.supervise("event-source", fnfleet, append([]string{"event-source", "--kubeconfig", f.Hub.KubeconfigPath}, to...),
		func(ff *FleetFile, pid int) { ff.PIDs.EventSource = pid })
}

// supervise starts `fnfleet args...` supervised, logging to
// logs/<name>.log, with each instance's pid recorded in fleet.json by
// setPID.
func (f *Fleet) supervise(name, fnfleet string, args []string, setPID func(ff *FleetFile, pid int)) error {
	p, err := supervise.Start(supervise.Spec{
		Name: name, Path: fnfleet, Args: args,
		Log: filepath.Join(f.provider.Workdir(), "logs", name+".log"),
		OnStart: func(pid int) {
			if err := f.update(func(ff *FleetFile) { setPID(ff, pid) }); err != nil {
				f.log.Error("fleet file not rewritten", "process", name, "err", err)
			}
		},
		Logger: f.log,
	})
	if err != nil {
		return fmt.Errorf("local fleet: %w", err)
	}
	f.procs = append(f.procs, p)
	return nil
}

// freeAddr returns a loopback address with a port free now. The port is
// the hub Fn's for the fleet's life: a restarted server binds it again, so
// the URLs the functions and senders were given stay right.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("local fleet: find a free port for the hub's Fn: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("local fleet: %w", err)
	}
	return addr, nil
}

// awaitAnswer polls url every 50 ms until it answers 200, for up to
// hubFnStartTimeout.
func awaitAnswer(ctx context.Context, url string) error {
	err := await(ctx, hubFnStartTimeout, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("answered %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("local fleet: the hub's Fn server does not answer at %s: read logs/hub-fn.log: %w", url, err)
	}
	return nil
}

// await calls try every 50 ms until it succeeds or timeout passes (or ctx
// ends), and then returns try's last error.
func await(ctx context.Context, timeout time.Duration, try func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := try(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// update changes the fleet file as change says and writes it.
func (f *Fleet) update(change func(*FleetFile)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.file)
	return f.file.Write(f.FleetFile)
}

// Members returns the members as fleet.json last listed them.
func (f *Fleet) Members() []FleetMember {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.file.Members)
}

// PIDs returns the supervised processes' pids as fleet.json last listed
// them.
func (f *Fleet) PIDs() FleetPIDs {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.file.PIDs
}

// Close stops the event source and the scheduler (no new events), then the
// hub's Fn (no function at work), then deletes every cluster (the members,
// their data planes first, and the hub) and, once all are deleted, stops
// the watchdog. If a cluster could not be deleted the watchdog is left
// running: it stops what is left once this process is gone.
func (f *Fleet) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	for _, p := range slices.Backward(f.procs) {
		errs = append(errs, p.Close(ctx))
	}
	f.procs = nil
	if f.stopWatch != nil {
		f.stopWatch()
		<-f.watchEnded
		f.stopWatch = nil
	}
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

// MembersFromPools are n MemberClusters to create from pools, the regions
// taken in turn (the i-th from pools[i % len(pools)]), each named after
// its pool and its rank there: <pool>-1, <pool>-2...
func MembersFromPools(pools []*v1alpha1.ClusterPool, n int) []*v1alpha1.MemberCluster {
	if len(pools) == 0 {
		return nil
	}
	rank := map[string]int{}
	var out []*v1alpha1.MemberCluster
	for i := range n {
		pool := pools[i%len(pools)]
		rank[pool.Name]++
		out = append(out, control.MemberFromPool(fmt.Sprintf("%s-%d", pool.Name, rank[pool.Name]), pool, nil))
	}
	return out
}
