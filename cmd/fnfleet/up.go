package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/handlers"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/localmode"
	"github.com/fnfleet/fnfleet/federation/providers/local"
)

// upOptions are the flags of fnfleet up.
type upOptions struct {
	workdir, binDir string
	idleTTL         time.Duration
	members         int
	demo            bool
}

func newUpCommand() *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up [flags]",
		Short: "Bring up a local fleet: the hub, its Fn running the fleet's functions, the scheduler and the event source, until Ctrl-C",
		Long: `Bring up a fleet on this machine, with no Docker.

It starts a hub cluster (a real kube-apiserver, etcd, controller-manager,
scheduler and kwok, which plays the nodes), installs the fnfleet API and
applies two ClusterPools (local-eu-west and local-us-east, up to 2 clusters
each, parked after --idle-ttl idle). Then the fleet's own processes, each
restarted should it die: the hub's Fn (fnfleet fn-server) with the
management functions (events, placement, deploy, lifecycle, parking,
reconcile) deployed as app fnfleet, the scheduler (ticks) and the event
source (the hub's changes as CloudEvents, to the events function). The
functions do the rest: up decides nothing.

--members N has lifecycle create N member clusters from the pools (regions
round-robin) and waits until they are Ready. --demo plays a story instead:

 1. a FleetApp hello (an echo function) that must run in us-east is applied:
    placement asks pool local-us-east for a cluster;
 2. lifecycle creates it and installs Fn; deploy puts hello on it, and up
    calls it;
 3. the FleetApp is deleted: the parking sweep has lifecycle park the idle
    cluster after --idle-ttl;
 4. the FleetApp is applied again: placement asks to wake the parked cluster,
    lifecycle unparks it, deploy puts hello back, and it answers again.

Each step says which function did what (from the hub objects' field
managers). Then up prints where everything is (fleet.json, kubectl, the fn
CLI, fnfleet events send) and runs until Ctrl-C, which tears everything down.
Should it die another way, a watchdog stops its processes and deletes its
clusters.

The binaries (the cluster binaries, fnfleet, the functions and echo, as
make tools and make build leave them in bin/) are taken from --bin, else
$FNFLEET_BIN, else the directory of this executable.

--workdir must be new, empty, or one an earlier fnfleet up made (it marks it
with .fnfleet-up): a directory with anything else in it is refused and left
untouched, since up empties it at start and removes it at exit.`,
		Example: `  # The story of make run: a cluster created, parked and woken for an app
  fnfleet up --demo

  # A fleet with two Ready member clusters, for a script; state in /tmp/fleet
  fnfleet up --members 2 --workdir /tmp/fleet

  # Then, from another terminal: the functions, and placement's answer
  FN_API_URL=$(jq -r .fnAPI /tmp/fleet/fleet.json) fn list functions fnfleet
  echo '{"app":"default/hello"}' | FN_API_URL=$(jq -r .fnAPI /tmp/fleet/fleet.json) fn invoke fnfleet placement

  # Poke the fleet: a resync tick, signed, to the events function
  fnfleet events send --workdir /tmp/fleet --type dev.fnfleet.resync.due --subject resync`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected arguments %q: everything is set with flags", args)
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.idleTTL < time.Second {
				return usageErrorf("--idle-ttl %s: use 1s or more", o.idleTTL)
			}
			if most := maxMembers(demoPools(o.idleTTL)); o.members < 0 || o.members > most {
				return usageErrorf("--members %d: use 0 to %d (the pools hold %d clusters at most)", o.members, most, most)
			}
			if o.demo && o.members > 0 {
				return usageErrorf("--demo starts from a fleet without members: drop --members")
			}
			return runUp(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.workdir, "workdir", defaultWorkdir, "directory for the fleet's state: made (or taken empty) and marked at start, removed at exit; one holding other files is refused")
	f.StringVar(&o.binDir, "bin", "", "directory of the cluster binaries, fnfleet, the functions and echo (default: $FNFLEET_BIN, else the directory of this executable)")
	f.DurationVar(&o.idleTTL, "idle-ttl", 30*time.Second, "how long a pool's cluster without apps runs before it is parked")
	f.IntVar(&o.members, "members", 0, "member clusters to create from the pools at start (regions round-robin), waiting until they are Ready")
	f.BoolVar(&o.demo, "demo", false, "play the story: an app gets a cluster created, is deployed, its cluster parked and woken (make run)")
	_ = cmd.MarkFlagDirname("workdir")
	_ = cmd.MarkFlagDirname("bin")
	return cmd
}

// defaultWorkdir is up's work directory unless --workdir says otherwise,
// and where `fnfleet events send` looks for fleet.json by default.
const defaultWorkdir = ".fnfleet/up"

// The demo: an app that must run in us-east, a fleet with no member at all
// and two pools. Placement asks for a cluster of local-us-east (the only
// pool in the app's region, though local-eu-west is cheaper), lifecycle
// creates it and installs Fn, deploy puts the app on it.
const (
	demoImage  = "fnfleet/echo:0.0.1"
	demoRegion = "us-east"
	// stepTimeout bounds each wait of the story: a cluster comes up in
	// about 10 s on an idle machine, 2 cores shared with a build take
	// several times that.
	stepTimeout = 5 * time.Minute
)

// binDir is where up takes its binaries: --bin, else $FNFLEET_BIN, else
// the directory of this executable.
func binDir(flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if env := os.Getenv("FNFLEET_BIN"); env != "" {
		return filepath.Abs(env)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find binaries: %w", err)
	}
	return filepath.Dir(exe), nil
}

func runUp(ctx context.Context, o upOptions, stdout io.Writer) (err error) {
	bin, err := binDir(o.binDir)
	if err != nil {
		return err
	}
	bins, err := local.FindBinaries(bin)
	if err != nil {
		return err
	}
	echo := filepath.Join(bin, "echo")
	fnfleet := filepath.Join(bin, "fnfleet")
	for _, f := range []string{echo, fnfleet} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%s is missing: build it with `make build`", f)
		}
	}
	dir, err := filepath.Abs(o.workdir)
	if err != nil {
		return fmt.Errorf("--workdir %s: %w", o.workdir, err)
	}
	release, err := claimWorkdir(ctx, dir)
	if err != nil {
		return err
	}
	// Registered first, so it runs last: after the fleet's teardown.
	defer func() {
		err = errors.Join(err, removeWorkdir(ctx, dir))
		release()
	}()
	logPath := filepath.Join(dir, "fnfleet-up.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	defer logFile.Close()
	// The story goes to stdout; up's own lines go to the log.
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: logLevel()}))

	s := &story{w: stdout, start: time.Now(), phases: map[string]v1alpha1.ClusterPhase{}}
	s.say("Starting the hub cluster, its Fn with the fleet's functions, the scheduler and the event source (log: %s) ...", logPath)
	pools := demoPools(o.idleTTL)
	fleet, err := localmode.Up(ctx, localmode.Config{
		Binaries:  bins,
		Fnfleet:   fnfleet,
		Functions: bin,
		Workdir:   dir,
		Pools:     pools,
		Images:    map[string]string{demoImage: echo},
		OnMembers: s.members,
		Logger:    log,
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(stdout, "\nTearing the fleet down ...")
		if err := fleet.Close(); err != nil {
			slog.Error("teardown incomplete; stopping what is left", "err", err)
		}
	}()
	s.step("hub up, fnfleet API installed, no member cluster yet")
	for _, p := range pools {
		s.say("    ClusterPool %s: provider local, region %s, cost %s/h, up to %d clusters, parked after %s idle",
			p.Name, p.Spec.Region, p.Spec.CostPerHour, p.Spec.MaxClusters, p.Spec.Parking.IdleTTL.Duration)
	}
	pids := fleet.PIDs()
	s.step("pools applied; app %s deployed on the hub's Fn at %s (pid %d); scheduler (pid %d) and event source (pid %d) sending to %s",
		handlers.AppName, fleet.FnAPI, pids.HubFn, pids.Scheduler, pids.EventSource, fleet.EventsURL)

	switch {
	case o.demo:
		w, err := startWitness(ctx, fleet.HubClient, s)
		if err != nil {
			return err
		}
		defer w.close()
		if err := s.run(ctx, fleet, log, o.idleTTL); err != nil {
			return err
		}
	case o.members > 0:
		if err := s.createMembers(ctx, fleet, pools, o.members); err != nil {
			return err
		}
	}
	printFleet(stdout, fleet, bins.Kubectl, logPath, fnfleet, dir, o.demo)
	<-ctx.Done()
	return nil
}

// maxMembers is how many clusters the pools hold.
func maxMembers(pools []*v1alpha1.ClusterPool) int {
	n := 0
	for _, p := range pools {
		n += int(p.Spec.MaxClusters)
	}
	return n
}

// createMembers creates n MemberClusters from the pools and waits until
// lifecycle has made them Ready.
func (s *story) createMembers(ctx context.Context, fleet *localmode.Fleet, pools []*v1alpha1.ClusterPool, n int) error {
	var names []string
	for _, mc := range localmode.MembersFromPools(pools, n) {
		if _, err := fleet.HubClient.CreateMemberCluster(ctx, mc); err != nil {
			return err
		}
		names = append(names, mc.Name)
	}
	s.step("MemberClusters %s applied; lifecycle creates them and installs Fn", strings.Join(names, ", "))
	err := poll(ctx, "wait for the members to be Ready", func(context.Context) (bool, string, error) {
		var waiting []string
		for _, name := range names {
			i := slices.IndexFunc(fleet.Members(), func(m localmode.FleetMember) bool { return m.Name == name })
			if i < 0 || fleet.Members()[i].Phase != string(v1alpha1.PhaseReady) || fleet.Members()[i].FnURL == "" {
				waiting = append(waiting, name)
			}
		}
		return len(waiting) == 0, strings.Join(waiting, ", ") + " not Ready yet", nil
	})
	if err != nil {
		return err
	}
	s.step("%d member cluster(s) Ready", n)
	return nil
}

// workdirMarker is the file `fnfleet up` keeps in its work directory: only
// a directory holding it is ever emptied or removed, so a --workdir that
// names someone's files is refused rather than deleted. Its flock, held for
// the run's life, keeps a second `fnfleet up` out of the directory.
const workdirMarker = ".fnfleet-up"

// claimWorkdir makes dir this run's work directory and returns the release
// of its lock. A new or empty directory is marked. A marked one was left by
// a run that was killed (whose watchdog may still be at work): once nothing
// of it runs, it is emptied. Any other directory is refused, untouched.
func claimWorkdir(ctx context.Context, dir string) (release func(), err error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("--workdir: create %s: %w", dir, err)
		}
	case err != nil:
		return nil, fmt.Errorf("--workdir %s: %w", dir, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("--workdir %s is a file: name a directory that fnfleet up may create, fill and remove", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--workdir %s: %w", dir, err)
	}
	marked := slices.ContainsFunc(entries, func(e iofs.DirEntry) bool { return e.Name() == workdirMarker })
	if len(entries) > 0 && !marked {
		return nil, fmt.Errorf("--workdir %s is not empty and is not a work directory of fnfleet up (it has no %s file); "+
			"fnfleet up empties its work directory at start and removes it at exit, so it leaves this one alone: "+
			"name a new or empty directory (the default is .fnfleet/up)", dir, workdirMarker)
	}
	lock, err := os.OpenFile(filepath.Join(dir, workdirMarker), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--workdir %s: mark it: %w", dir, err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := io.ReadAll(lock)
		_ = lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("--workdir %s is in use by another fnfleet up (%s): stop it, or name another directory", dir, strings.TrimSpace(string(holder)))
		}
		return nil, fmt.Errorf("--workdir %s: lock %s: %w", dir, workdirMarker, err)
	}
	if marked {
		if err := local.StopWorkdir(ctx, dir); err != nil {
			_ = lock.Close()
			return nil, fmt.Errorf("--workdir %s: an earlier fnfleet up left processes that cannot be stopped, so the directory is kept: %w", dir, err)
		}
		for _, e := range entries {
			if e.Name() == workdirMarker {
				continue
			}
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				_ = lock.Close()
				return nil, fmt.Errorf("--workdir %s: empty what an earlier fnfleet up left: %w", dir, err)
			}
		}
	}
	// The owner, for the message of a second run.
	owner := fmt.Sprintf("pid %d; this directory is the work directory of fnfleet up, which removes it at exit\n", os.Getpid())
	err = lock.Truncate(0)
	if err == nil {
		_, err = lock.WriteAt([]byte(owner), 0)
	}
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("--workdir %s: mark it: %w", dir, err)
	}
	return func() { _ = lock.Close() }, nil
}

// removeWorkdir removes the work directory once no process of the fleet
// runs, stopping any the teardown left (and the watchdog, which is kept
// when the teardown failed): a cluster's directory deleted first leaves its
// processes running with their binaries deleted.
func removeWorkdir(ctx context.Context, dir string) error {
	if err := local.StopWorkdir(context.WithoutCancel(ctx), dir); err != nil {
		return fmt.Errorf("%s is kept (the next fnfleet up with this --workdir stops what is left first): %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// run is the scripted part: apply, call, delete, park, apply again, wake.
func (s *story) run(ctx context.Context, fleet *localmode.Fleet, log *slog.Logger, idleTTL time.Duration) error {
	hc := fleet.HubClient
	app := demoApp()
	if _, err := hc.CreateFleetApp(ctx, app); err != nil {
		return err
	}
	applied := time.Now()
	s.step("FleetApp default/hello applied: echo, 2 replicas, must run in %s, where no cluster exists", demoRegion)
	// The request lives in the app's status only until the cluster it
	// names exists (then it is capacity on its way), so wait for the
	// cluster.
	created, err := s.awaitMember(ctx, fleet, "", "created", func(m localmode.FleetMember) bool { return m.Pool != "" })
	if err != nil {
		return err
	}
	s.step("placement asked pool %s for a cluster: %s", created.Pool, created.Name)
	s.explain(ctx, hc)
	cluster, err := s.awaitServed(ctx, fleet)
	if err != nil {
		return err
	}
	s.step("cluster %s created, Fn installed, hello deployed on it", cluster.Name)
	if err := s.call(ctx, cluster); err != nil {
		return err
	}
	s.say("    applied -> answering on a cluster created for it: %s", time.Since(applied).Round(100*time.Millisecond))
	ip := strings.TrimPrefix(strings.Split(cluster.FnURL, ":")[1], "//")
	if _, err := s.awaitAnswers(ctx, fleet, ip, func(a []string) bool { return slices.Equal(a, []string{ip}) }); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(fleet.DNSAddr)
	s.step("dig @%s -p %s %s answers %s: the dns function probed hello there and wrote its name (%s after the apply)", host, port, demoHost, ip, time.Since(applied).Round(100*time.Millisecond))
	if err := s.callByName(ctx, fleet, demoHost); err != nil {
		return err
	}

	if err := hc.DeleteFleetApp(ctx, app.Namespace, app.Name); err != nil {
		return err
	}
	deleted := time.Now()
	s.step("FleetApp hello deleted: %s is idle; the parking sweep has lifecycle park it after %s", cluster.Name, idleTTL)
	if _, err := s.awaitMember(ctx, fleet, cluster.Name, "Parked", func(m localmode.FleetMember) bool { return m.Phase == string(v1alpha1.PhaseParked) }); err != nil {
		return err
	}
	s.step("%s Parked at %s, %s after the app left", cluster.Name, time.Now().Format(time.TimeOnly), time.Since(deleted).Round(100*time.Millisecond))

	if _, err := hc.CreateFleetApp(ctx, demoApp()); err != nil {
		return err
	}
	applied = time.Now()
	s.step("FleetApp hello applied again")
	if _, err := s.awaitMember(ctx, fleet, cluster.Name, "woken", func(m localmode.FleetMember) bool { return m.Phase != string(v1alpha1.PhaseParked) }); err != nil {
		return err
	}
	s.step("placement asked to wake %s", cluster.Name)
	s.explain(ctx, hc)
	cluster, err = s.awaitServed(ctx, fleet)
	if err != nil {
		return err
	}
	s.step("%s woken, hello deployed on it again", cluster.Name)
	if err := s.call(ctx, cluster); err != nil {
		return err
	}
	s.say("    applied again -> answering on the woken cluster: %s", time.Since(applied).Round(100*time.Millisecond))
	if err := s.dnsFailover(ctx, fleet); err != nil {
		return err
	}
	log.Info("story done", "elapsed", time.Since(s.start).Round(time.Millisecond))
	return nil
}

// story prints numbered steps with the time since the start, and the
// members' phase changes as they happen.
type story struct {
	w     io.Writer
	start time.Time

	mu     sync.Mutex
	n      int
	last   time.Time
	phases map[string]v1alpha1.ClusterPhase
}

func (s *story) say(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format+"\n", args...)
}

// step prints a numbered step with the time since the start and since the
// previous step.
func (s *story) step(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	prev := s.last
	if prev.IsZero() {
		prev = s.start
	}
	s.n++
	s.last = now
	fmt.Fprintf(s.w, "%2d. [%6.1fs, +%5.1fs] %s\n", s.n, now.Sub(s.start).Seconds(), now.Sub(prev).Seconds(), fmt.Sprintf(format, args...))
}

// members prints each member's phase as it changes (the fleet calls it,
// one call at a time, as fleet.json is rewritten).
func (s *story) members(ms []localmode.FleetMember) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, m := range ms {
		seen[m.Name] = true
		ph := v1alpha1.ClusterPhase(m.Phase)
		if prev, ok := s.phases[m.Name]; ok && prev == ph {
			continue
		}
		s.phases[m.Name] = ph
		if ph == "" {
			ph = "(new)"
		}
		fmt.Fprintf(s.w, "      %6.1fs  %s: %s\n", time.Since(s.start).Seconds(), m.Name, ph)
	}
	for name := range s.phases {
		if !seen[name] {
			delete(s.phases, name)
			fmt.Fprintf(s.w, "      %6.1fs  %s: gone\n", time.Since(s.start).Seconds(), name)
		}
	}
}

// poll calls cond every 200 ms until it holds, ctx ends or stepTimeout
// passes; then it returns what it last said was missing.
func poll(ctx context.Context, what string, cond func(ctx context.Context) (bool, string, error)) error {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		ok, missing, err := cond(ctx)
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			missing = err.Error()
		}
		if ok {
			return nil
		}
		if missing != "" {
			last = missing
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last seen: %s)", what, context.Cause(ctx), last)
		case <-tick.C:
		}
	}
}

// explain prints placement's explanation of the demo app, as the hub
// holds it now.
func (s *story) explain(ctx context.Context, hc *hub.Client) {
	if a, err := hc.GetFleetApp(ctx, "default", "hello"); err == nil && a.Status.Explanation != "" {
		s.say("    placement: %s", a.Status.Explanation)
	}
}

// awaitServed waits until the demo app is deployed on a member whose Fn
// URL is known, and returns that member.
func (s *story) awaitServed(ctx context.Context, fleet *localmode.Fleet) (localmode.FleetMember, error) {
	var m localmode.FleetMember
	err := poll(ctx, "wait for hello to be deployed", func(ctx context.Context) (bool, string, error) {
		a, err := fleet.HubClient.GetFleetApp(ctx, "default", "hello")
		if err != nil {
			return false, "", err
		}
		c := apimeta.FindStatusCondition(a.Status.Conditions, v1alpha1.AppDeployed)
		if len(a.Status.Placement) == 0 || c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != a.Generation {
			msg := a.Status.Explanation
			if c != nil {
				msg += "; " + c.Type + ": " + c.Message
			}
			return false, msg, nil
		}
		name := a.Status.Placement[0].Cluster
		i := slices.IndexFunc(fleet.Members(), func(fm localmode.FleetMember) bool { return fm.Name == name })
		if i < 0 || fleet.Members()[i].FnURL == "" {
			return false, name + " has no Fn URL yet", nil
		}
		m = fleet.Members()[i]
		return true, "", nil
	})
	return m, err
}

// awaitMember waits until the member called name (any member, if name is
// empty) satisfies ok.
func (s *story) awaitMember(ctx context.Context, fleet *localmode.Fleet, name, what string, ok func(localmode.FleetMember) bool) (localmode.FleetMember, error) {
	var m localmode.FleetMember
	who := name
	if who == "" {
		who = "a member"
	}
	err := poll(ctx, "wait for "+who+" to be "+what, func(context.Context) (bool, string, error) {
		last := "not in the hub"
		for _, fm := range fleet.Members() {
			if name != "" && fm.Name != name {
				continue
			}
			if ok(fm) {
				m = fm
				return true, "", nil
			}
			last = fm.Name + " in phase " + fm.Phase
		}
		return false, last, nil
	})
	return m, err
}

// call calls the demo function on m and prints its answer.
func (s *story) call(ctx context.Context, m localmode.FleetMember) error {
	url := m.FnURL + "/t/hello/echo"
	body := "hello " + m.Region
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("call hello: %w", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("call hello: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("call hello at %s: %s: %s", url, resp.Status, got)
	}
	s.step("POST %s %q answered %q (%s)", url, body, got, time.Since(start).Round(time.Millisecond))
	return nil
}

// demoPools are the fleet's pools: two regions, tier 1, eu-west cheaper.
func demoPools(idleTTL time.Duration) []*v1alpha1.ClusterPool {
	pool := func(region, cost string) *v1alpha1.ClusterPool {
		c := resource.MustParse(cost)
		return &v1alpha1.ClusterPool{
			ObjectMeta: metav1.ObjectMeta{Name: "local-" + region},
			Spec: v1alpha1.ClusterPoolSpec{
				Provider: v1alpha1.ProviderSpec{Name: "local"},
				Region:   region, Zone: region + "-a", Nodes: 2, Tier: 1, CostPerHour: &c,
				NodeCapacity: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi"), corev1.ResourcePods: resource.MustParse("110"),
				},
				Labels:      map[string]string{"env": "local"},
				Parking:     &v1alpha1.ParkingPolicy{Mode: v1alpha1.ParkingStop, IdleTTL: &metav1.Duration{Duration: idleTTL}},
				MaxClusters: 2,
			},
		}
	}
	return []*v1alpha1.ClusterPool{pool("eu-west", "0.40"), pool(demoRegion, "0.55")}
}

// demoApp is an echo function that must run in demoRegion.
func demoApp() *v1alpha1.FleetApp {
	return &v1alpha1.FleetApp{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: v1alpha1.FleetAppSpec{
			App: v1alpha1.FnApp{Name: "hello", Functions: []v1alpha1.Function{{
				Name: "echo", Image: demoImage, MemoryMB: 128, TimeoutSeconds: 30,
				Triggers: []v1alpha1.Trigger{{Name: "echo", Type: "http", Source: "/echo"}},
			}}},
			Demand:    v1alpha1.Demand{Replicas: 2, CPU: resource.MustParse("250m"), Memory: resource.MustParse("256Mi")},
			Placement: v1alpha1.PlacementPolicy{RequiredRegions: []string{demoRegion}},
			DNS:       &v1alpha1.DNSSpec{Hostname: strings.TrimSuffix(demoHost, "."), TTL: 5, Strategy: v1alpha1.DNSRoundRobin},
		},
	}
}

// printFleet prints where everything is, and after the demo how to call
// its app.
func printFleet(w io.Writer, f *localmode.Fleet, kubectl, logPath, fnfleet, workdir string, demo bool) {
	fmt.Fprintf(w, "\nThe fleet now (%s, rewritten as members change and processes restart):\n\n", f.FleetFile)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CLUSTER\tREGION\tPHASE\tFN URL\tKUBECONFIG")
	fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", f.Hub.Name, "-", "hub", f.FnAPI, f.Hub.KubeconfigPath)
	members := f.Members()
	for _, m := range members {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", m.Name, m.Region, m.Phase, orDash(m.FnURL), orDash(m.Kubeconfig))
	}
	_ = tw.Flush()
	pids := f.PIDs()
	fmt.Fprintf(w, "\nThe fleet's processes (restarted should they die; logs in %s):\n\n  hub Fn server  pid %d  %s\n  scheduler      pid %d\n  event source   pid %d  sending to %s\n",
		filepath.Join(workdir, "logs"), pids.HubFn, f.FnAPI, pids.Scheduler, pids.EventSource, f.EventsURL)

	fmt.Fprintf(w, "\nThe fleet's functions, on the hub's Fn (their logs: %s):\n\n  FN_API_URL=%s fn list functions %s\n  echo '{\"app\":\"default/hello\"}' | FN_API_URL=%s fn invoke %s placement\n",
		f.FnLogs, f.FnAPI, handlers.AppName, f.FnAPI, handlers.AppName)
	fmt.Fprintf(w, "\nPoke the fleet with a signed event (the URL and secret come from fleet.json):\n\n  %s events send --workdir %s --type dev.fnfleet.resync.due --subject resync\n", fnfleet, workdir)

	hubKube := fmt.Sprintf("%s --kubeconfig %s", kubectl, f.Hub.KubeconfigPath)
	fmt.Fprintf(w, "\nThe fleet as the hub sees it:\n\n  %s get clusterpools\n  %s get memberclusters\n  %s get fleetapps -o wide\n", hubKube, hubKube, hubKube)
	if len(members) > 0 {
		fmt.Fprintf(w, "\nPark a cluster by hand (it stays parked, apps or not, until spec.parked is false again):\n\n  %s patch membercluster %s --type merge -p '{\"spec\":{\"parked\":true}}'\n", hubKube, members[0].Name)
	}
	if len(members) > 0 && members[0].Kubeconfig != "" {
		fmt.Fprintf(w, "\nFn on a member (a real Helm release; kwok plays its pods):\n\n  %s --kubeconfig %s get deploy,svc -A -l app.kubernetes.io/name=fn\n", kubectl, members[0].Kubeconfig)
	}
	var calls []string
	for _, m := range members {
		if demo && m.FnURL != "" {
			calls = append(calls, fmt.Sprintf("  curl -d 'hello %s' %s/t/hello/echo\n", m.Region, m.FnURL))
		}
	}
	if len(calls) > 0 {
		fmt.Fprintf(w, "\nCall the app hello where it is deployed:\n\n%s", strings.Join(calls, ""))
	}
	if host, port, err := net.SplitHostPort(f.DNSAddr); err == nil {
		fmt.Fprintf(w, "\nThe fleet's DNS (CoreDNS for zone %s; the dns function writes each app's names):\n\n  dig @%s -p %s %s\n  %s get dnszones\n",
			localmode.Zone, host, port, demoHost, hubKube)
	}
	fmt.Fprintf(w, "\nfleet.json: %s\nlog:        %s\n\nPress Ctrl-C to tear everything down.\n", f.FleetFile, logPath)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
