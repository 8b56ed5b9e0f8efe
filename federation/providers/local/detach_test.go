package local_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/client-go/kubernetes"

	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// When childWorkdirEnv is set, the test binary is the child of the tests
// below: a function call that creates a cluster there under the memory
// limit named by childLimitEnv ("soft" or "hard"), prints "ready" or
// "error: ...", and waits to be killed.
const (
	childWorkdirEnv = "FNFLEET_TEST_CREATE_IN"
	childLimitEnv   = "FNFLEET_TEST_LIMIT"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		// runCrashChild returns only if it was not killed where told.
		fmt.Println("error:", runCrashChild(spec))
		os.Exit(1)
	}
	if dir := os.Getenv(childWorkdirEnv); dir != "" {
		err := createAndWait(dir, os.Getenv(childLimitEnv))
		fmt.Println("error:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// callDataLimit is the Fn server's limit on a 128 MiB function: its memory
// + 256 MiB over what the process uses.
const callDataLimit = 384 << 20

// createAndWait returns only on failure.
func createAndWait(workdir, kind string) error {
	bins, err := testbed.Binaries()
	if err != nil {
		return err
	}
	// The Fn server sets a call's limit right after starting its process.
	// A test binary with the race detector maps ~420 MiB before main, so
	// the limit is 384 MiB above what this process already has.
	lim := unix.Rlimit{Cur: uint64(vmDataBytes("self")) + callDataLimit, Max: unix.RLIM_INFINITY}
	if kind == "hard" {
		lim.Max = lim.Cur
	}
	if err := unix.Setrlimit(unix.RLIMIT_DATA, &lim); err != nil {
		return err
	}
	p, err := local.New(local.Config{Binaries: bins, Workdir: workdir})
	if err != nil {
		return err
	}
	if _, err := p.Create(context.Background(), local.ClusterSpec{Name: "detached"}); err != nil {
		return err
	}
	fmt.Println("ready")
	select {} // until the parent kills our process group
}

// startChild runs the child in a process group of its own, as the Fn server
// runs a call, and returns it with the first line it printed.
func startChild(t *testing.T, ctx context.Context, workdir, limit string) (*exec.Cmd, string) {
	t.Helper()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childWorkdirEnv+"="+workdir, childLimitEnv+"="+limit)
	child.Stderr = t.Output()
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	lines.Scan()
	return child, lines.Text()
}

// A cluster created by a function call keeps serving after the call's whole
// process group is killed, and none of its processes carries the call's
// (soft) memory limit.
func TestClusterOutlivesItsCaller(t *testing.T) {
	p := testbed.Provider(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	child, first := startChild(t, ctx, p.Workdir(), "soft")
	if first != "ready" {
		_ = child.Wait()
		t.Fatalf("child did not create the cluster: %q", first)
	}
	if got := dataLimit(t, child.Process.Pid); got == "unlimited" {
		t.Fatalf("child runs with RLIMIT_DATA unlimited: the test does not test what it claims")
	}
	if err := syscall.Kill(-child.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the child's process group: %v", err)
	}
	_ = child.Wait()

	// Give a dying component time to show.
	time.Sleep(time.Second)
	c, err := p.Open("detached")
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error(); err != nil {
		t.Fatalf("cluster stopped serving with its caller: %v", err)
	}
	procs, err := c.Processes()
	if err != nil {
		t.Fatal(err)
	}
	running := map[string]bool{}
	for _, proc := range procs {
		running[proc.Name] = true
		t.Logf("%s: VmData %d MiB, RSS %d MiB", proc.Name, vmDataBytes(fmt.Sprint(proc.PID))>>20, proc.RSS>>20)
		if got := dataLimit(t, proc.PID); got != "unlimited" {
			t.Errorf("%s (pid %d) runs with RLIMIT_DATA %s, want unlimited", proc.Name, proc.PID, got)
		}
		if pgid, _ := unix.Getpgid(proc.PID); pgid == child.Process.Pid {
			t.Errorf("%s (pid %d) is in the caller's process group", proc.Name, proc.PID)
		}
	}
	for _, name := range local.Components() {
		if !running[name] {
			t.Errorf("%s died with its caller; running: %v", name, procs)
		}
	}
}

// Under a hard limit too low for an apiserver, which only CAP_SYS_RESOURCE
// could lift, Create refuses at once and says why, rather than starting a
// cluster that dies under load.
func TestCreateRefusesAHardMemoryLimit(t *testing.T) {
	workdir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	child, first := startChild(t, ctx, workdir, "hard")
	defer func() { _ = syscall.Kill(-child.Process.Pid, syscall.SIGKILL); _ = child.Wait() }()
	if !strings.HasPrefix(first, "error: ") || !strings.Contains(first, "hard RLIMIT_DATA") || !strings.Contains(first, "CAP_SYS_RESOURCE") {
		t.Fatalf("child said %q, want the hard RLIMIT_DATA refusal", first)
	}
	if left, err := local.ProcessesUnder(workdir); err != nil || len(left) > 0 {
		t.Errorf("processes started despite the refusal: %v %v", left, err)
	}
}

// dataLimit returns the soft RLIMIT_DATA of pid as /proc shows it: bytes,
// or "unlimited".
func dataLimit(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "limits"))
	if err != nil {
		t.Fatalf("limits of pid %d: %v", pid, err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max data size"); ok {
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("no data size limit in /proc/%d/limits", pid)
	return ""
}

// vmDataBytes reads VmData (the private writable memory RLIMIT_DATA
// bounds) of a /proc entry ("self" or a pid); 0 if unreadable.
func vmDataBytes(pid string) int64 {
	data, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmData:"); ok {
			var kb int64
			_, _ = fmt.Sscan(rest, &kb)
			return kb << 10
		}
	}
	return 0
}
