// Package local runs real Kubernetes clusters on this machine, with no
// container engine: kwokctl's binary runtime starts etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and the kwok controller as plain
// processes, and kwok plays the kubelet of every node. It is both the fleet's
// "local" cluster provider and the engine of the test bed.
//
// Parking: Stop keeps a cluster's etcd data on disk and ends its processes
// (itself, rank by rank, apiserver before etcd, not with kwokctl's stop);
// Start brings it back with kwokctl, with the same objects.
package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config configures a Provider.
type Config struct {
	// Binaries are the cluster's executables (see FindBinaries).
	Binaries Binaries
	// Workdir holds the state of every cluster of this provider.
	Workdir string
	// OwnerPID, when non-zero, ties the clusters' lives to that process: a
	// watchdog deletes every cluster of Workdir once the process is gone,
	// however it ended (a failed test, Ctrl-C, SIGKILL, a test timeout).
	OwnerPID int
	// ReadyTimeout bounds how long Create and Start wait for a cluster to
	// serve; 0 means 2 minutes.
	ReadyTimeout time.Duration
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger

	// The data planes (Driver only): Fnfleet is the fnfleet binary run as
	// `fnfleet fn-server`, empty meaning "fnfleet" beside kwokctl; FnImages
	// is its --images file, if any; AddrDir is where data plane addresses
	// are allocated machine-wide, empty meaning DefaultAddrDir.
	Fnfleet  string
	FnImages string
	AddrDir  string
}

// Provider creates, stops, starts and deletes local clusters.
type Provider struct {
	cfg      Config
	log      *slog.Logger
	watchdog *exec.Cmd // nil unless cfg.OwnerPID is set
}

// Cluster is a running local cluster.
type Cluster struct {
	Name string
	// Workdir is the cluster's own directory: configuration, certificates,
	// etcd data and component logs.
	Workdir string
	// KubeconfigPath is an admin kubeconfig for the cluster.
	KubeconfigPath string
	// RESTConfig is the same credentials, ready for client-go.
	RESTConfig *rest.Config
}

// createAttempts covers the rare transient failure of a create: another
// process taking one of the cluster's ports between our check and its bind.
const createAttempts = 3

// New returns a provider keeping its clusters under cfg.Workdir.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Binaries.check(); err != nil {
		return nil, fmt.Errorf("local provider: %w", err)
	}
	if cfg.Workdir == "" {
		return nil, errors.New("local provider: a work directory is required")
	}
	abs, err := filepath.Abs(cfg.Workdir)
	if err != nil {
		return nil, fmt.Errorf("local provider: resolve work directory: %w", err)
	}
	cfg.Workdir = abs
	if err := os.MkdirAll(filepath.Join(abs, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("local provider: create work directory: %w", err)
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 2 * time.Minute
	}
	if cfg.Fnfleet == "" {
		cfg.Fnfleet = filepath.Join(filepath.Dir(cfg.Binaries.Kwokctl), "fnfleet")
	}
	if cfg.AddrDir == "" {
		cfg.AddrDir = DefaultAddrDir
	}
	p := &Provider{cfg: cfg, log: cfg.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	if cfg.OwnerPID != 0 {
		if err := p.startWatchdog(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Workdir is the directory holding this provider's clusters.
func (p *Provider) Workdir() string { return p.cfg.Workdir }

// Create starts a new cluster and waits until it serves, with its nodes Ready
// and its default ServiceAccount made, so that pods can be created at once.
// On failure nothing of the cluster is left.
func (p *Provider) Create(ctx context.Context, spec ClusterSpec) (*Cluster, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if err := checkLimits(); err != nil {
		return nil, fmt.Errorf("create cluster: %w", err)
	}
	if spec.Name == "" {
		spec.Name = uniqueName()
	}
	if _, err := os.Stat(p.clusterDir(spec.Name)); err == nil {
		return nil, fmt.Errorf("create cluster %q: it already exists in %s; delete it or choose another name", spec.Name, p.cfg.Workdir)
	}
	log := p.log.With("cluster", spec.Name)
	start := time.Now()
	log.Info("creating cluster", "region", spec.Region, "zone", spec.Zone, "nodes", spec.nodeCount())

	var (
		c   *Cluster
		err error
	)
	for attempt := 1; attempt <= createAttempts; attempt++ {
		if c, err = p.createOnce(ctx, &spec); err == nil {
			break
		}
		// Remove the half-made cluster whatever happened, then retry only
		// while the context allows.
		if derr := p.Delete(context.WithoutCancel(ctx), spec.Name); derr != nil {
			err = errors.Join(err, derr)
		}
		if ctx.Err() != nil || attempt == createAttempts {
			return nil, fmt.Errorf("create cluster %q: %w", spec.Name, err)
		}
		log.Warn("create failed, retrying", "attempt", attempt, "err", err)
	}
	log.Info("cluster ready", "elapsed", time.Since(start).Round(time.Millisecond), "kubeconfig", c.KubeconfigPath)
	return c, nil
}

func (p *Provider) createOnce(ctx context.Context, spec *ClusterSpec) (*Cluster, error) {
	ports, err := p.pickPorts(ctx)
	if err != nil {
		return nil, err
	}
	conf, err := p.writeConfig(spec.Name, ports)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := p.kwokctl(ctx, spec.Name, p.createArgs(conf)...); err != nil {
		return nil, err
	}
	p.log.Debug("kwokctl created the cluster", "cluster", spec.Name, "elapsed", time.Since(start).Round(time.Millisecond))
	c, err := p.open(spec.Name)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, c, spec); err != nil {
		return nil, err
	}
	return c, nil
}

// CreateAll creates the clusters in parallel. If any fails, the others are
// deleted too and the errors are joined.
func (p *Provider) CreateAll(ctx context.Context, specs []ClusterSpec) ([]*Cluster, error) {
	clusters := make([]*Cluster, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Go(func() {
			clusters[i], errs[i] = p.Create(ctx, spec)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range clusters {
			if c != nil {
				if derr := p.Delete(context.WithoutCancel(ctx), c.Name); derr != nil {
					err = errors.Join(err, derr)
				}
			}
		}
		return nil, err
	}
	return clusters, nil
}

// List returns the names of this provider's clusters, sorted.
func (p *Provider) List() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(p.cfg.Workdir, "clusters"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Stop ends a cluster's processes and keeps its data, so that Start brings it
// back with every object it had. Stopping a stopped cluster does nothing.
// It returns once no process of the cluster is left.
func (p *Provider) Stop(ctx context.Context, name string) error {
	if _, err := p.open(name); err != nil {
		return err
	}
	p.log.Info("stopping cluster", "cluster", name)
	dir := p.clusterDir(name)
	// Not `kwokctl stop cluster`: it sends SIGKILL to the recorded pids
	// in no useful order and returns without waiting (see stopAll).
	if err := stopAll(ctx, dir, stopGrace); err != nil {
		return fmt.Errorf("stop cluster %q: %w", name, err)
	}
	// kwokctl start skips a component whose pid file names a live
	// process, and the pids of the processes just stopped will be reused.
	files, err := filepath.Glob(filepath.Join(dir, "pids", "*.pid"))
	if err != nil {
		return fmt.Errorf("stop cluster %q: %w", name, err)
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("stop cluster %q: %w", name, err)
		}
	}
	return nil
}

// stopGrace is how long each rank of a cluster's components (stopRank) may
// take to exit on SIGTERM before SIGKILL.
const stopGrace = 15 * time.Second

// Start brings a stopped cluster back and waits until it serves again.
// Starting a running cluster only waits for it.
func (p *Provider) Start(ctx context.Context, name string) (*Cluster, error) {
	c, err := p.open(name)
	if err != nil {
		return nil, err
	}
	if err := checkLimits(); err != nil {
		return nil, fmt.Errorf("start cluster %q: %w", name, err)
	}
	start := time.Now()
	p.log.Info("starting cluster", "cluster", name)
	if err := p.kwokctl(ctx, name, "start", "cluster"); err != nil {
		return nil, fmt.Errorf("start cluster %q: %w", name, err)
	}
	if err := p.waitReady(ctx, c, nil); err != nil {
		return nil, fmt.Errorf("start cluster %q: %w", name, err)
	}
	p.log.Info("cluster ready", "cluster", name, "elapsed", time.Since(start).Round(time.Millisecond))
	return c, nil
}

// Delete removes a cluster: its processes and its data. Deleting a cluster
// that does not exist does nothing. Every process of the cluster is gone
// before anything is removed, even when its directory is half made or
// already gone: a directory removed first leaves the processes running with
// their binaries deleted.
func (p *Provider) Delete(ctx context.Context, name string) error {
	dir := p.clusterDir(name)
	_, err := os.Stat(dir)
	exists := !errors.Is(err, fs.ErrNotExist)
	if exists {
		p.log.Info("deleting cluster", "cluster", name)
	}
	// Not `kwokctl delete cluster`, which only kills what its pid files
	// record, without waiting, and only once its kwok.yaml is written
	// (see stopAll). With the data deleted, SIGKILL at once: a graceful
	// stop buys nothing.
	if err := stopAll(ctx, dir, 0); err != nil {
		return fmt.Errorf("delete cluster %q: %w (its directory %s is kept while they run)", name, err, dir)
	}
	if !exists {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("delete cluster %q: remove %s: %w", name, dir, err)
	}
	return nil
}

// DeleteAll deletes every cluster of the provider, going on past failures
// and reporting them all.
func (p *Provider) DeleteAll(ctx context.Context) error {
	names, err := p.List()
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		errs = append(errs, p.Delete(ctx, name))
	}
	return errors.Join(errs...)
}

// Close stops the watchdog, if any. Clusters that still exist keep running:
// delete them first if they should not outlive the provider.
func (p *Provider) Close() error {
	if p.watchdog == nil {
		return nil
	}
	// The watchdog leads its own session: kill the group, its sleep too.
	_ = syscall.Kill(-p.watchdog.Process.Pid, syscall.SIGKILL)
	_ = p.watchdog.Wait()
	p.watchdog = nil
	return nil
}

func (p *Provider) clusterDir(name string) string {
	return filepath.Join(p.cfg.Workdir, "clusters", name)
}

// Open returns a cluster of this provider's work directory, whichever
// process created it. It does not check that the cluster serves.
func (p *Provider) Open(name string) (*Cluster, error) { return p.open(name) }

func (p *Provider) open(name string) (*Cluster, error) {
	dir := p.clusterDir(name)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("cluster %q: not found in %s", name, p.cfg.Workdir)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig.yaml")
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: load kubeconfig: %w", name, err)
	}
	// A local cluster is ours alone; client-side throttling only slows
	// tests and the fleet down.
	cfg.QPS, cfg.Burst = 200, 400
	return &Cluster{Name: name, Workdir: dir, KubeconfigPath: kubeconfig, RESTConfig: cfg}, nil
}

func (p *Provider) createArgs(config string) []string {
	b := p.cfg.Binaries
	return []string{
		"create", "cluster",
		"--config", config,
		"--runtime", "binary",
		// Never touch the user's ~/.kube/config.
		"--kubeconfig", "",
		"--kube-apiserver-binary", b.KubeApiserver,
		"--kube-controller-manager-binary", b.KubeControllerManager,
		"--kube-scheduler-binary", b.KubeScheduler,
		"--kwok-controller-binary", b.KwokController,
		"--etcd-binary", b.Etcd,
		"--disable-qps-limits",
		"--timeout", p.cfg.ReadyTimeout.String(),
	}
}

// kwokctl runs one kwokctl command for a cluster, appending its output to the
// cluster's log file and quoting the end of it in the error.
func (p *Provider) kwokctl(ctx context.Context, name string, args ...string) error {
	logPath := filepath.Join(p.cfg.Workdir, "logs", name+".kwokctl.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open kwokctl log: %w", err)
	}
	defer logFile.Close()
	var tail bytes.Buffer
	fmt.Fprintf(logFile, "\n$ kwokctl --name %s %s\n", name, strings.Join(args, " "))

	cmd := detachedCommand(ctx, p.cfg.Binaries.Kwokctl, append([]string{"--name", name}, args...)...)
	cmd.Env = p.env()
	cmd.Stdout = &teeWriter{file: logFile, tail: &tail}
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kwokctl %s: %w: %s (full log: %s)", strings.Join(args[:2], " "), err, lastLines(tail.String(), 8), logPath)
	}
	return nil
}

// env is kwokctl's environment, which the components inherit: its work
// directory, and our kubectl first on PATH (kwokctl shells out to kubectl to
// probe the apiserver). It sets no feature gates: the components' informers
// ask for watch-list streams, which the apiserver serves on the etcd that
// `make tools` builds. With an $FNFLEET_ETCD older than 3.4.31 (or 3.5.0 to
// 3.5.12) the apiserver refuses them for want of RequestWatchProgress, and
// kwok then sees pods only when its informers relist, tens of seconds late.
func (p *Provider) env() []string {
	env := os.Environ()
	env = append(env,
		"KWOK_WORKDIR="+p.cfg.Workdir,
		"KWOK_KUBECTL_BINARY="+p.cfg.Binaries.Kubectl,
		"PATH="+filepath.Dir(p.cfg.Binaries.Kubectl)+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
	return env
}

func uniqueName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "fnf-" + hex.EncodeToString(b[:])
}

// teeWriter keeps a command's output in its log file and in memory for the
// error message.
type teeWriter struct {
	file *os.File
	tail *bytes.Buffer
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.tail.Write(b)
	return w.file.Write(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
