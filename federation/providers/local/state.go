package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// phase is where the provider knows a cluster to be. It is what the
// provider did last, not what the cluster does now: Observe compares the
// two (a Creating cluster whose apiserver answers becomes Running).
type phase string

const (
	phaseCreating phase = "Creating" // kwokctl create runs, detached
	phaseStarting phase = "Starting" // kwokctl start runs, detached
	phaseRunning  phase = "Running"
	phaseStopped  phase = "Stopped" // parked: no process, data kept
)

// clusterState is a cluster's state file, <workdir>/state/<name>.json: all a
// process needs to operate a cluster another process created.
type clusterState struct {
	Spec  ClusterSpec `json:"spec"`
	Phase phase       `json:"phase"`
	// Ports are the TCP ports its components listen on, reserved
	// machine-wide for the cluster's whole life (ports.go).
	Ports clusterPorts `json:"ports"`
	// OpPID leads the session of the detached kwokctl command under way
	// (create or start), so Delete can end it; 0 when none, or when a
	// caller was killed before it recorded the command (ops.go). OpStart
	// is that process's start time (/proc/<pid>/stat field 22): the pid is
	// the command's only while its start time is the same.
	OpPID   int    `json:"opPID,omitempty"`
	OpStart uint64 `json:"opStart,omitempty"`
	// Restarts counts the restarts of the phase's command after it died
	// without finishing (maxOpRestarts bounds them).
	Restarts int `json:"restarts,omitempty"`
	// Addr is the data plane's loopback address (addrs.go), the cluster's
	// for its whole life; DataPlanePID leads the data plane's session.
	Addr         string `json:"addr"`
	DataPlanePID int    `json:"dataPlanePID,omitempty"`
	// Since is when Phase was entered.
	Since time.Time `json:"since"`
}

// The state files and locks live apart from the cluster's own directory,
// which kwokctl creates and removes: a lock file removed while held would
// let a second process lock a new file of the same name.
func (p *Provider) statePath(name string) string {
	return filepath.Join(p.cfg.Workdir, "state", name+".json")
}

// lockCluster takes the cluster's lock, <workdir>/state/<name>.lock, which
// serializes every call for one cluster across processes. The lock is an
// flock, so it dies with its holder: a call killed mid-way never leaves the
// cluster locked. It waits for ctx, polling, because flock's blocking wait
// cannot be interrupted.
func (p *Provider) lockCluster(ctx context.Context, name string) (unlock func(), err error) {
	dir := filepath.Join(p.cfg.Workdir, "state")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock cluster %q: %w", name, err)
	}
	unlock, err = lockFile(ctx, filepath.Join(dir, name+".lock"))
	if err != nil {
		return nil, fmt.Errorf("lock cluster %q: %w", name, err)
	}
	return unlock, nil
}

// lockFile takes an exclusive flock on path, creating the file.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil // closing releases the flock
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// readState returns the cluster's state, or nil when it has none.
func (p *Provider) readState(name string) (*clusterState, error) {
	data, err := os.ReadFile(p.statePath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state of cluster %q: %w", name, err)
	}
	var s clusterState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read state of cluster %q: %s: %w", name, p.statePath(name), err)
	}
	return &s, nil
}

// writeState replaces the state file whole (write and rename), so a reader
// or a crash never sees half of one.
func (p *Provider) writeState(s *clusterState) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state of cluster %q: %w", s.Spec.Name, err)
	}
	path := p.statePath(s.Spec.Name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write state of cluster %q: %w", s.Spec.Name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write state of cluster %q: %w", s.Spec.Name, err)
	}
	return nil
}

func (p *Provider) removeState(name string) error {
	err := os.Remove(p.statePath(name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove state of cluster %q: %w", name, err)
	}
	return nil
}
