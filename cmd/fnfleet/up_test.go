package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/test/testbed"
)

// Bounds of the waits below. They bound waits for conditions, never sleep:
// on a 2-core CI machine running other packages' clusters at once, a hub
// took several times the 4 s it takes on an idle one.
const (
	// pointTimeout bounds reaching a point of `fnfleet up`'s start.
	pointTimeout = 5 * time.Minute
	// exitTimeout bounds `fnfleet up`'s exit after SIGINT: it deletes
	// its hub first (SIGKILL, rank by rank: seconds).
	exitTimeout = 3 * time.Minute
	// goneTimeout bounds the stop of whatever `fnfleet up` left, by
	// itself or, after SIGKILL, by its watchdog (which looks for its
	// owner every second).
	goneTimeout = 2 * time.Minute
)

// upRun is one `fnfleet up` child process.
type upRun struct {
	t       *testing.T
	workdir string
	cmd     *exec.Cmd
	stdout  syncBuffer
	stderr  syncBuffer
	done    chan struct{} // closed once it has exited
	err     error         // its exit, once done
}

// syncBuffer is a bytes.Buffer that the child's output copier writes while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// upBinaries builds fnfleet and every function (the fleet's and echo) from
// this tree, in one go build as `make build` does (the binaries a stale
// bin/ holds are not what is under test), into a directory that links the
// cluster binaries too, for `fnfleet up --bin`.
func upBinaries(t *testing.T) string {
	t.Helper()
	bins, err := testbed.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// coredns serves the fleet's DNS zone: a tool beside the cluster
	// binaries (make tools).
	coredns := filepath.Join(filepath.Dir(bins.Kwokctl), "coredns")
	for _, b := range []string{bins.Kwokctl, bins.KwokController, bins.KubeApiserver, bins.KubeControllerManager, bins.KubeScheduler, bins.Kubectl, bins.Etcd, coredns} {
		if err := os.Symlink(b, filepath.Join(dir, filepath.Base(b))); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", dir+"/", "github.com/fnfleet/fnfleet/cmd/fnfleet", "github.com/fnfleet/fnfleet/functions/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, out)
	}
	return dir
}

func startUp(t *testing.T, bin, workdir string, args ...string) *upRun {
	t.Helper()
	r := &upRun{t: t, workdir: workdir, done: make(chan struct{})}
	r.cmd = exec.Command(filepath.Join(bin, "fnfleet"), append([]string{"up", "--workdir", workdir, "--bin", bin, "--idle-ttl", "5s"}, args...)...)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	// Whatever happens to the test, the child ends; its watchdog stops
	// its clusters.
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

// await waits until cond holds, failing the test if the child exits first
// or pointTimeout passes.
func (r *upRun) await(what string, cond func() bool) {
	r.t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(pointTimeout)
	for !cond() {
		select {
		case <-r.done:
			r.t.Fatalf("fnfleet up exited (%v) before %s\nstdout:\n%s\nstderr:\n%s", r.err, what, r.stdout.String(), r.stderr.String())
		case <-deadline:
			r.t.Fatalf("fnfleet up did not reach %s within %s\nstdout:\n%s\nstderr:\n%s", what, pointTimeout, r.stdout.String(), r.stderr.String())
		case <-tick.C:
		}
	}
}

// signal sends sig and, for SIGINT, waits for the child to exit by itself
// and checks it did not panic.
func (r *upRun) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(exitTimeout):
		r.t.Fatalf("fnfleet up still runs %s after %v\nstdout:\n%s\nstderr:\n%s", exitTimeout, sig, r.stdout.String(), r.stderr.String())
	}
	if out := r.stdout.String() + r.stderr.String(); strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		r.t.Errorf("fnfleet up panicked on %v:\n%s", sig, out)
	}
	if sig == syscall.SIGINT {
		var exit *exec.ExitError
		if errors.As(r.err, &exit) && exit.ExitCode() == 2 {
			r.t.Errorf("fnfleet up exited with status 2 (a Go panic's) on SIGINT:\n%s", r.stderr.String())
		}
	}
}

// assertNothingLeft waits, within goneTimeout, until no process names the
// work directory (components, data planes, kwokctl, the watchdog), then
// checks what is left of the directory: nothing after SIGINT; after SIGKILL
// the directory, marked for the next run, without clusters.
func (r *upRun) assertNothingLeft(sig syscall.Signal) {
	r.t.Helper()
	var left []string
	deadline := time.Now().Add(goneTimeout)
	for {
		left = testbed.ProcessesNaming(r.workdir)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(left) > 0 {
		r.t.Fatalf("%s after %v, still running:\n%s\nstdout:\n%s\nstderr:\n%s\nwatchdog:\n%s", goneTimeout, sig, strings.Join(left, "\n"),
			r.stdout.String(), r.stderr.String(), readFile(filepath.Join(r.workdir, "logs", "watchdog.log")))
	}
	if sig == syscall.SIGINT {
		if _, err := os.Stat(r.workdir); !errors.Is(err, fs.ErrNotExist) {
			r.t.Errorf("the work directory is still there after fnfleet up exited (%v)\nstderr:\n%s", err, r.stderr.String())
		}
		return
	}
	if _, err := os.Stat(filepath.Join(r.workdir, workdirMarker)); err != nil {
		r.t.Errorf("the work directory lost its marker: %v", err)
	}
	// The watchdog removes the clusters once their processes are gone.
	for deadline := time.Now().Add(goneTimeout); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(r.workdir, "clusters")); errors.Is(err, fs.ErrNotExist) {
			break
		} else if time.Now().After(deadline) {
			r.t.Fatalf("%s/clusters still there %s after SIGKILL (%v)\nwatchdog:\n%s", r.workdir, goneTimeout, err, readFile(filepath.Join(r.workdir, "logs", "watchdog.log")))
		}
	}
}

func readFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// The points of `fnfleet up`'s start a test stops it at, each reached by
// watching what the run leaves in its work directory or prints.
type upPoint struct {
	name string
	// reached holds once the run is at the point.
	reached func(r *upRun) bool
}

func upPoints() []upPoint {
	exists := func(path ...string) func(r *upRun) bool {
		return func(r *upRun) bool {
			_, err := os.Stat(filepath.Join(append([]string{r.workdir}, path...)...))
			return err == nil
		}
	}
	return []upPoint{
		// kwokctl create has started etcd and is still at work: the hub
		// is half made.
		{"hub being created", exists("clusters", "hub", "pids", "etcd.pid")},
		// The hub serves; the fnfleet API is being installed, the pools
		// not applied yet: Up fails with the hub running.
		{"hub created", func(r *upRun) bool {
			return strings.Contains(readFile(filepath.Join(r.workdir, "fnfleet-up.log")), "installing the fnfleet API")
		}},
		// The hub's Fn is up and the functions deployed, the scheduler
		// and the event source run: Up has returned.
		{"functions deployed", func(r *upRun) bool { return strings.Contains(r.stdout.String(), "pools applied; app fnfleet deployed") }},
	}
}

// TestUpStoppedDuringItsStartLeavesNothingRunning: `fnfleet up` interrupted
// (SIGINT, as Ctrl-C) or killed (SIGKILL) at several points of its start
// leaves no process of its fleet running, and never panics. On SIGINT it
// tears down and removes its work directory itself; on SIGKILL its
// watchdog stops every process and removes the clusters, leaving the
// directory marked, and the next run with the same --workdir takes it over.
func TestUpStoppedDuringItsStartLeavesNothingRunning(t *testing.T) {
	bin := upBinaries(t)
	for _, point := range upPoints() {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
			t.Run(fmt.Sprintf("%s at %s", sig, point.name), func(t *testing.T) {
				r := startUp(t, bin, filepath.Join(t.TempDir(), "up"))
				r.await(point.name, func() bool { return point.reached(r) })
				r.signal(sig)
				r.assertNothingLeft(sig)
			})
		}
	}

	// Killed with its hub running, then started again at once on the same
	// directory, before the watchdog is done: the second run stops what
	// the first left, empties the directory and starts afresh.
	t.Run("a killed run's directory is taken over", func(t *testing.T) {
		workdir := filepath.Join(t.TempDir(), "up")
		first := startUp(t, bin, workdir)
		first.await("hub created", func() bool { return upPoints()[1].reached(first) })
		first.signal(syscall.SIGKILL)
		second := startUp(t, bin, workdir)
		second.await("its own start", func() bool { return strings.Contains(second.stdout.String(), "Starting the hub") })
		second.await("hub being created", func() bool { return upPoints()[0].reached(second) })
		second.signal(syscall.SIGINT)
		second.assertNothingLeft(syscall.SIGINT)
	})
}

// TestUpRefusesADirectoryItDidNotMake: --workdir naming a directory with
// files in it and no marker is refused, saying why and what to do, and the
// directory is left as it was.
func TestUpRefusesADirectoryItDidNotMake(t *testing.T) {
	bin := upBinaries(t)
	workdir := t.TempDir()
	keep := filepath.Join(workdir, "notes.txt")
	if err := os.WriteFile(keep, []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startUp(t, bin, workdir)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(exitTimeout)
	for exited, killed := false, false; !exited; {
		select {
		case <-r.done:
			exited = true
		case <-tick.C:
			if !killed && strings.Contains(r.stdout.String(), "Starting the hub") {
				t.Errorf("fnfleet up started a fleet in a directory it did not make:\n%s", r.stdout.String())
				_ = r.cmd.Process.Kill()
				killed = true
			}
		case <-deadline:
			t.Fatalf("fnfleet up still runs %s after its start with a foreign --workdir\nstdout:\n%s", exitTimeout, r.stdout.String())
		}
	}
	var exit *exec.ExitError
	if !errors.As(r.err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("fnfleet up exited with %v, want status 1", r.err)
	}
	msg := r.stderr.String()
	for _, want := range []string{workdir, "is not empty", workdirMarker, "name a new or empty directory"} {
		if !strings.Contains(msg, want) {
			t.Errorf("its error lacks %q:\n%s", want, msg)
		}
	}
	entries, err := os.ReadDir(workdir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || readFile(keep) != "mine\n" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the directory now holds %v (notes.txt: %q), want notes.txt alone, untouched", names, readFile(keep))
	}
	if left := testbed.ProcessesNaming(workdir); len(left) > 0 {
		t.Errorf("processes started in a refused directory: %v", left)
	}
}
