package dnstest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/test/testbed"
)

// spawned is a server process the test owns: killed when the test ends, its
// output kept in a file and shown when the test failed.
type spawned struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// toolBinary is the path of a binary `make tools` builds, failing the test
// (not skipping it: a missing binary is a broken setup) when it is absent.
func toolBinary(t testing.TB, name string) string {
	t.Helper()
	dir, err := testbed.BinDir()
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	path := filepath.Join(dir, name)
	if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("dnstest: no executable %s: run make tools", path)
	}
	return path
}

// spawnServer starts path with args, its output to logPath. The process is
// in its own group and dies with the test binary (Pdeathsig), so a test
// killed mid-way leaves no server behind.
func spawnServer(t testing.TB, name, logPath, path string, args ...string) *spawned {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("dnstest: %s log: %v", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("dnstest: start %s: %v", name, err)
	}
	s := &spawned{name: name, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status says nothing the log does not
		logFile.Close()
		close(s.exited)
	}()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop kills the server and waits until it is gone; the log is shown if the
// test failed, since it says what the server saw.
func (s *spawned) stop(t testing.TB) {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL) // already gone when it exited early
	<-s.exited
	if t.Failed() {
		t.Logf("dnstest: %s log (%s), last lines:\n%s", s.name, s.logPath, s.logTail())
	}
}

// exitedEarly reports whether the server is gone.
func (s *spawned) exitedEarly() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// addrInUse reports whether the server died because its port was taken.
func (s *spawned) addrInUse() bool {
	data, _ := os.ReadFile(s.logPath)
	return bytes.Contains(data, []byte("address already in use"))
}

// logTail is the end of the log: 4 KiB hold the error that stopped a
// server, without flooding the test output with a long query log.
func (s *spawned) logTail() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	const tail = 4 << 10
	if len(data) > tail {
		data = data[len(data)-tail:]
	}
	return string(data)
}

// waitUntil polls ready until it succeeds, the server exits or the start
// timeout passes; the error says which, with the last failure.
func (s *spawned) waitUntil(ready func() error) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if s.exitedEarly() {
			return fmt.Errorf("%s exited: %w", s.name, errExited)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %w", s.name, startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var errExited = errors.New("the server exited while starting (its log says why)")

// loopbackPort is "127.0.0.1:PORT" with a port free for TCP and UDP.
func loopbackPort(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}
