package supervise

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/test/testbed"
)

// waitLimit bounds waits for what must happen; only a failing test reaches
// it, however loaded the machine.
const waitLimit = time.Minute

// starts records each instance's pid and start time.
type starts struct {
	mu   sync.Mutex
	pids []int
	at   []time.Time
}

func (s *starts) record(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pids = append(s.pids, pid)
	s.at = append(s.at, time.Now())
}

func (s *starts) get() ([]int, []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pids), slices.Clone(s.at)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}

func start(t *testing.T, spec Spec) (*Process, *starts) {
	t.Helper()
	rec := &starts{}
	spec.OnStart = rec.record
	spec.Logger = testbed.Logger(t)
	p, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p, rec
}

// A killed instance is replaced by a new one, whose pid PID and OnStart
// tell; Close stops it and no instance starts after.
func TestKilledInstanceIsRestarted(t *testing.T) {
	log := filepath.Join(t.TempDir(), "logs", "sleeper.log")
	p, rec := start(t, Spec{Name: "sleeper", Path: "/bin/sh", Args: []string{"-c", "echo up $SUPERVISE_TEST; exec sleep 1000"},
		Env: []string{"SUPERVISE_TEST=42"}, Log: log})
	first := p.PID()
	if pids, _ := rec.get(); !slices.Equal(pids, []int{first}) {
		t.Fatalf("OnStart saw %v, want the first pid %d", pids, first)
	}
	logged := func(n int) func() bool {
		return func() bool {
			data, _ := os.ReadFile(log)
			return strings.Count(string(data), "up 42\n") == n
		}
	}
	waitUntil(t, "the first instance logged", logged(1))
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a second instance runs", func() bool { pid := p.PID(); return pid != 0 && pid != first })
	second := p.PID()
	// OnStart is called once the new pid is recorded, so PID() may tell
	// of the second instance a moment before OnStart does.
	waitUntil(t, "OnStart told of the second instance", func() bool { pids, _ := rec.get(); return len(pids) >= 2 })
	if pids, _ := rec.get(); !slices.Equal(pids, []int{first, second}) {
		t.Errorf("OnStart saw %v, want %d then %d", pids, first, second)
	}
	waitUntil(t, "the second instance logged", logged(2))

	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if alive(second) {
		t.Errorf("pid %d still runs after Close", second)
	}
	if pid := p.PID(); pid != 0 {
		t.Errorf("PID() = %d after Close, want 0", pid)
	}
	if n := p.Starts(); n != 2 {
		t.Errorf("%d starts, want 2: an instance started after Close", n)
	}
}

// A command that keeps dying is started again after a backoff that doubles
// up to the most, never sooner.
func TestRestartsBackOff(t *testing.T) {
	p, rec := start(t, Spec{Name: "crasher", Path: "/bin/sh", Args: []string{"-c", "exit 3"},
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond})
	// Counted by OnStart, which is told of a start just after Starts is.
	waitUntil(t, "six starts", func() bool { _, at := rec.get(); return len(at) >= 6 })
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, at := rec.get()
	want := []time.Duration{20, 40, 80, 80, 80}
	for i, w := range want {
		if gap := at[i+1].Sub(at[i]); gap < w*time.Millisecond {
			t.Errorf("start %d came %s after start %d, want at least %dms", i+2, gap, i+1, w)
		}
	}
}

// Close sends SIGTERM to the instance's whole process group, and SIGKILL
// to one that ignores it once the grace has passed, saying so.
func TestCloseStopsTheProcessGroup(t *testing.T) {
	dir := t.TempDir()
	t.Run("SIGTERM", func(t *testing.T) {
		pidFile := filepath.Join(dir, "child.pid")
		p, _ := start(t, Spec{Name: "parent", Path: "/bin/sh", Args: []string{"-c", "sleep 1000 & echo $! > " + pidFile + "; wait"}})
		child := 0
		waitUntil(t, "the child's pid written", func() bool {
			data, _ := os.ReadFile(pidFile)
			child, _ = strconv.Atoi(strings.TrimSpace(string(data)))
			return child > 0
		})
		leader := p.PID()
		if err := p.Close(context.Background()); err != nil {
			t.Fatalf("Close: %v", err)
		}
		waitUntil(t, "the group's child gone", func() bool { return !alive(child) })
		if alive(leader) {
			t.Errorf("pid %d still runs after Close", leader)
		}
	})
	t.Run("SIGKILL after the grace", func(t *testing.T) {
		p, _ := start(t, Spec{Name: "stubborn", Path: "/bin/sh", Args: []string{"-c", `trap "" TERM; echo ready; while :; do sleep 0.05; done`},
			Grace: 300 * time.Millisecond, Log: filepath.Join(dir, "stubborn.log")})
		waitUntil(t, "the trap set", func() bool {
			data, _ := os.ReadFile(filepath.Join(dir, "stubborn.log"))
			return strings.Contains(string(data), "ready")
		})
		leader := p.PID()
		err := p.Close(context.Background())
		if err == nil || !strings.Contains(err.Error(), "after SIGTERM: killed") {
			t.Errorf("Close of a process ignoring SIGTERM: %v, want it said killed", err)
		}
		if alive(leader) {
			t.Errorf("pid %d still runs after Close", leader)
		}
		if again := p.Close(context.Background()); again == nil || again.Error() != err.Error() {
			t.Errorf("a second Close said %v, want the first's %v", again, err)
		}
	})
}

// A command that cannot start is an error of Start, naming it.
func TestStartFailsForAMissingCommand(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-command")
	_, err := Start(Spec{Name: "ghost", Path: missing})
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("Start of a missing command: %v, want an error naming it", err)
	}
}
