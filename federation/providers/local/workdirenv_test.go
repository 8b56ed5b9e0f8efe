package local_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// startTied starts a process whose command line does not name workdir but
// whose environment sets local.WorkdirEnv to it, as the Fn server runs the
// hub's functions in local mode; the channel is closed once it has been
// reaped.
func startTied(t *testing.T, workdir string) chan struct{} {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	cmd.Env = []string{local.WorkdirEnv + "=" + workdir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	return exited
}

func awaitExit(t *testing.T, what string, exited chan struct{}) {
	t.Helper()
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s still runs", what)
	}
}

// A process tied to a work directory by local.WorkdirEnv alone is stopped
// with it, by StopWorkdir and by the watchdog once the owner is gone; one
// tied to another directory is left alone.
func TestWorkdirEnvTiesAProcessToItsWorkdir(t *testing.T) {
	bins, err := testbed.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	owner := exec.Command("sleep", "1000")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	ownerGone := make(chan struct{})
	go func() { _ = owner.Wait(); close(ownerGone) }()
	t.Cleanup(func() { _ = owner.Process.Kill(); <-ownerGone })
	p, err := local.New(local.Config{Binaries: bins, Workdir: filepath.Join(t.TempDir(), "fleet"), OwnerPID: owner.Process.Pid, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	workdir := p.Workdir()
	otherExited := startTied(t, filepath.Join(t.TempDir(), "other"))

	exited := startTied(t, workdir)
	if len(testbed.ProcessesNaming(workdir)) == 0 {
		t.Fatal("testbed.ProcessesNaming does not see a process tied by the environment")
	}
	if err := local.StopWorkdir(context.Background(), workdir); err != nil {
		t.Fatal(err)
	}
	awaitExit(t, "the tied process after StopWorkdir", exited)

	// StopWorkdir stopped the watchdog too: a new provider has one.
	p2, err := local.New(local.Config{Binaries: bins, Workdir: workdir, OwnerPID: owner.Process.Pid, Logger: testbed.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p2.Close() })
	exited = startTied(t, workdir)
	_ = owner.Process.Kill()
	awaitExit(t, "the tied process after its owner was killed", exited)
	select {
	case <-otherExited:
		t.Error("a process tied to another work directory was stopped too")
	default:
	}
	// The watchdog, which names the directory, ends once it is done.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		left := testbed.ProcessesNaming(workdir)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still running: %v", left)
		}
	}
}
