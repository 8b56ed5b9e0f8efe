package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// crashChildEnv makes the test binary a Driver caller that kills itself
// with SIGKILL at one point of its work (see runCrashChild).
const crashChildEnv = "FNFLEET_TEST_CRASH"

// crashChild is what the child is told to do.
type crashChild struct {
	Workdir string `json:"workdir"`
	Cluster string `json:"cluster"`
	// Call is "create" or "unpark": the child calls it, then observes
	// until the cluster runs.
	Call string `json:"call"`
	// Point is where the child kills itself (Driver's crash points).
	Point string `json:"point"`
}

// runCrashChild returns only if the child was not killed at its point.
func runCrashChild(spec string) error {
	var cc crashChild
	if err := json.Unmarshal([]byte(spec), &cc); err != nil {
		return fmt.Errorf("child spec %q: %w", spec, err)
	}
	bins, err := testbed.Binaries()
	if err != nil {
		return err
	}
	// No OwnerPID: the clusters belong to the parent, whose watchdog
	// removes them if the parent dies.
	p, err := local.New(local.Config{Binaries: bins, Workdir: cc.Workdir, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return err
	}
	d := local.NewDriver(p)
	local.SetCrashAt(d, func(point string) {
		if point == cc.Point {
			fmt.Fprintf(os.Stderr, "child: SIGKILL at %s\n", point)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := providers.Cluster{Name: cc.Cluster, Nodes: 1}
	switch cc.Call {
	case "create":
		err = d.Create(ctx, c)
	case "unpark":
		err = d.Unpark(ctx, c)
	default:
		err = fmt.Errorf("unknown call %q", cc.Call)
	}
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		st, err := d.Observe(ctx, c)
		if err != nil {
			return err
		}
		if st.Progress == lifecycle.ProgressRunning || st.Progress == lifecycle.ProgressFailed {
			return fmt.Errorf("cluster %s, and the child never reached %s", st.Progress, cc.Point)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ctx.Err()
}

// killCallerAt runs a child that makes call on cluster and kills itself
// with SIGKILL at point; it fails the test unless the child died there.
func killCallerAt(t *testing.T, ctx context.Context, workdir, cluster, call, point string) {
	t.Helper()
	spec, err := json.Marshal(crashChild{Workdir: workdir, Cluster: cluster, Call: call, Point: point})
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.CommandContext(ctx, self, "-test.run=^$")
	child.Env = append(os.Environ(), crashChildEnv+"="+string(spec))
	child.Stderr = t.Output()
	var out bytes.Buffer
	child.Stdout = &out
	err = child.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child %s %s: %v (want it killed at %s): %s", call, cluster, err, point, out.String())
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child %s %s ended with %v, not SIGKILL at %s: %s", call, cluster, err, point, out.String())
	}
	t.Logf("caller of %s killed at %s", call, point)
}

// A caller killed with SIGKILL at any point of a create leaves a cluster
// that a fresh caller (a new Driver on the same work directory, observing)
// brings to Running: one cluster, one kwokctl create, one data plane that
// answers, no process left over.
func TestDriverCreateSurvivesAKilledCaller(t *testing.T) {
	for _, point := range []string{"create-intent", "create-started", "dataplane-started"} {
		t.Run(point, func(t *testing.T) {
			p := testbed.Provider(t)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			c := providers.Cluster{Name: "k1", Nodes: 1}
			killCallerAt(t, ctx, p.Workdir(), c.Name, "create", point)

			d := local.NewDriver(p)
			if err := d.Create(ctx, c); err != nil {
				t.Fatalf("create again after the kill: %v", err)
			}
			_, took := awaitProgress(t, ctx, d, c, lifecycle.ProgressRunning)
			t.Logf("Running %v after the kill", took)
			checkAlone(t, ctx, p, d, c, "create cluster")
			if err := d.Delete(ctx, c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The same for an unpark, on one cluster parked again after each.
func TestDriverUnparkSurvivesAKilledCaller(t *testing.T) {
	p := testbed.Provider(t)
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	c := providers.Cluster{Name: "k2", Nodes: 1}
	d := local.NewDriver(p)
	if err := d.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	awaitProgress(t, ctx, d, c, lifecycle.ProgressRunning)
	client := clientFor(t, ctx, d, c)
	keep := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"}}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, keep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, point := range []string{"unpark-intent", "unpark-started", "dataplane-started"} {
		t.Run(point, func(t *testing.T) {
			if err := d.Park(ctx, c, v1alpha1.ParkingStop); err != nil {
				t.Fatal(err)
			}
			truncateLogs(t, p.Workdir(), c.Name)
			killCallerAt(t, ctx, p.Workdir(), c.Name, "unpark", point)

			d := local.NewDriver(p)
			if err := d.Unpark(ctx, c); err != nil {
				t.Fatalf("unpark again after the kill: %v", err)
			}
			_, took := awaitProgress(t, ctx, d, c, lifecycle.ProgressRunning)
			t.Logf("Running %v after the kill", took)
			checkAlone(t, ctx, p, d, c, "start cluster")
			if _, err := clientFor(t, ctx, d, c).CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{}); err != nil {
				t.Errorf("object from before parking: %v", err)
			}
		})
	}
}

// truncateLogs empties the cluster's kwokctl and data plane logs, which
// checkAlone counts commands in.
func truncateLogs(t *testing.T, workdir, cluster string) {
	t.Helper()
	for _, log := range []string{cluster + ".kwokctl.log", cluster + ".fn-server.log"} {
		if err := os.Truncate(filepath.Join(workdir, "logs", log), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

// checkAlone checks that a running cluster is alone of its kind: the work
// directory holds one cluster, kwokctl ran verb once (the logs count from
// the last truncateLogs), one data plane was started and runs and answers,
// every component runs once, and no kwokctl command is left running. It
// observes a few more times first, since a bug may show only as a second
// data plane started by a later Observe.
func checkAlone(t *testing.T, ctx context.Context, p *local.Provider, d *local.Driver, c providers.Cluster, verb string) {
	t.Helper()
	for range 5 {
		awaitProgress(t, ctx, d, c, lifecycle.ProgressRunning)
		time.Sleep(100 * time.Millisecond)
	}
	if names, err := p.List(); err != nil || !slices.Equal(names, []string{c.Name}) {
		t.Errorf("clusters %v (%v), want [%s]", names, err, c.Name)
	}
	kwokLog, err := os.ReadFile(filepath.Join(p.Workdir(), "logs", c.Name+".kwokctl.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(kwokLog), "$ kwokctl --name "+c.Name+" "+verb); n != 1 {
		t.Errorf("kwokctl %s ran %d times, want 1:\n%s", verb, n, kwokLog)
	}
	fnLog, err := os.ReadFile(filepath.Join(p.Workdir(), "logs", c.Name+".fn-server.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(fnLog), "$ fnfleet fn-server"); n != 1 {
		t.Errorf("the data plane was started %d times, want 1:\n%s", n, fnLog)
	}
	awaitFn(t, ctx, "http://"+net.JoinHostPort(stateAddr(t, p.Workdir(), c.Name), "8080"))

	procs, err := p.ProcessesOf(c.Name)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, proc := range procs {
		count[proc.Name]++
	}
	want := map[string]int{"fnfleet": 1}
	for _, name := range local.Components() {
		want[name] = 1
	}
	for name := range count {
		if _, ok := want[name]; !ok {
			want[name] = 0
		}
	}
	for name, n := range want {
		if count[name] != n {
			t.Errorf("%d %s processes, want %d (all: %v)", count[name], name, n, procs)
		}
	}
	if dataPlanes := fnServers(t, filepath.Join(p.Workdir(), "clusters", c.Name, "fn")); len(dataPlanes) != 1 {
		t.Errorf("fn-server processes of the cluster: %v, want one", dataPlanes)
	}
	if ops := kwokctls(t, p.Workdir()); len(ops) > 0 {
		t.Errorf("kwokctl still runs on the work directory of a Running cluster: pids %v", ops)
	}
}

// fnServers returns the pids of the fn-server processes whose command line
// names dir.
func fnServers(t *testing.T, dir string) []int {
	t.Helper()
	return scanProcs(t, func(pid int, args []string) bool {
		return filepath.Base(args[0]) == "fnfleet" && slices.Contains(args, "fn-server") && slices.Contains(args, dir)
	})
}

// kwokctls returns the pids of the kwokctl processes working on workdir
// (kwokctl learns it from $KWOK_WORKDIR).
func kwokctls(t *testing.T, workdir string) []int {
	t.Helper()
	return scanProcs(t, func(pid int, args []string) bool {
		if filepath.Base(args[0]) != "kwokctl" {
			return false
		}
		env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		return err == nil && slices.Contains(strings.Split(string(env), "\x00"), "KWOK_WORKDIR="+workdir)
	})
}

func scanProcs(t *testing.T, match func(pid int, args []string) bool) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		if match(pid, strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// allDead reports whether every pid is gone or a zombie.
func allDead(pids []int) bool {
	for _, pid := range pids {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			continue // gone
		}
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X' {
			return false
		}
	}
	return true
}

// A parked cluster whose port another process took meanwhile comes back on
// other ports, with its objects: a wake does not depend on the machine's
// ports staying free.
func TestDriverUnparkMovesOffTakenPorts(t *testing.T) {
	p := testbed.Provider(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	c := providers.Cluster{Name: "k3", Nodes: 1}
	d := local.NewDriver(p)
	if err := d.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	awaitProgress(t, ctx, d, c, lifecycle.ProgressRunning)
	keep := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"}}
	if _, err := clientFor(t, ctx, d, c).CoreV1().ConfigMaps("default").Create(ctx, keep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := d.Park(ctx, c, v1alpha1.ParkingStop); err != nil {
		t.Fatal(err)
	}
	t.Logf("park in %v", time.Since(start).Round(time.Millisecond))

	before := statePorts(t, p.Workdir(), c.Name)
	taken := []string{"kubeApiserverPort", "etcdPort"}
	for _, name := range taken {
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", before[name]))
		if err != nil {
			t.Fatalf("take port %s %d of the parked cluster: %v", name, before[name], err)
		}
		defer l.Close()
	}

	start = time.Now()
	if err := d.Unpark(ctx, c); err != nil {
		t.Fatal(err)
	}
	_, took := awaitProgress(t, ctx, d, c, lifecycle.ProgressRunning)
	t.Logf("unpark -> Running in %v (unpark call %v)", time.Since(start).Round(time.Millisecond), (time.Since(start) - took).Round(time.Millisecond))
	after := statePorts(t, p.Workdir(), c.Name)
	for name, port := range before {
		switch {
		case slices.Contains(taken, name) && after[name] == port:
			t.Errorf("%s is still %d, which another process holds", name, port)
		case !slices.Contains(taken, name) && after[name] != port:
			t.Errorf("%s moved from %d to %d though it was free", name, port, after[name])
		}
	}
	if got, err := clientFor(t, ctx, d, c).CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Errorf("object from before parking: %v %v", got, err)
	}
	awaitFn(t, ctx, "http://"+net.JoinHostPort(stateAddr(t, p.Workdir(), c.Name), "8080"))
	if err := d.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// A create whose kwokctl keeps dying (killed here the moment it starts) is
// restarted a bounded number of times, then Failed with a message that says
// so; never "at work" for a command that is not running.
func TestDriverCreateThatKeepsDyingFails(t *testing.T) {
	p := testbed.Provider(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c := providers.Cluster{Name: "k4", Nodes: 1}
	d := local.NewDriver(p)
	rc := filepath.Join(p.Workdir(), "state", c.Name+".rc") // named by the shell running kwokctl
	kills := 0
	local.SetCrashAt(d, func(point string) {
		if point != "create-started" {
			return
		}
		named := func(_ int, args []string) bool { return slices.Contains(args, rc) }
		// One start may show as two processes naming the exit-status file
		// (the shell, and its child between fork and exec): one kill each
		// start, of every process it shows.
		killed := scanProcs(t, named)
		if len(killed) > 0 {
			kills++
		}
		for _, pid := range killed {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		// SIGKILL is delivered asynchronously: until the process is gone
		// or a zombie it is still at work, and saying so would be right.
		// Return once it is dead.
		for deadline := time.Now().Add(time.Minute); len(scanProcs(t, named)) > 0 || !allDead(killed); {
			if time.Now().After(deadline) {
				t.Errorf("kwokctl of %s outlived SIGKILL for a minute", c.Name)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	if err := d.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	var st providers.State
	for st.Progress != lifecycle.ProgressFailed {
		var err error
		if st, err = d.Observe(ctx, c); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(st.Message, "at work") {
			t.Fatalf("a killed kwokctl reported at work: %+v", st)
		}
		if ctx.Err() != nil {
			t.Fatalf("not Failed in time; last %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if kills != 4 || !strings.Contains(st.Message, "ended 4 times without an exit status") {
		t.Errorf("after %d kills: %+v, want Failed after 4 (one start, three restarts)", kills, st)
	}
	if st, err := d.Observe(ctx, c); err != nil || st.Progress != lifecycle.ProgressFailed {
		t.Errorf("observed again: %+v %v, want Failed still", st, err)
	}
	if err := d.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
}
