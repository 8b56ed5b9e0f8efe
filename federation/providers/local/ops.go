package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A Driver call may be killed (SIGKILL, OOM, a function call's idle reap)
// at any instruction, and the next call, in any process, must take over.
// Each call holds the cluster's flock, which dies with its holder, so a call
// that holds it and finds work half done knows the caller that did it is
// dead. The rule that makes the half done work recognisable:
//
//   - Intent first: the state file says Creating or Starting before kwokctl
//     starts (and no exit status file is left from an earlier command), so
//     a kill before the start leaves a phase with no operation, which the
//     next call restarts; never a cluster nobody knows is being made.
//   - An operation is found by what it is, not only by the pid the state
//     may or may not have recorded: the detached shell running kwokctl
//     names the cluster's exit-status file on its command line (recordExit)
//     and the data plane names the cluster's data plane directory. A kill
//     after the start and before the pid is written leaves a process that
//     the next call finds and adopts instead of starting a second one.
//   - A recorded pid is trusted only with its start time (/proc/<pid>/stat
//     field 22), since pids are reused.
//
// A phase whose operation is neither running nor ended (no exit status) has
// lost it: Observe (or Create, Unpark) restarts it, at most maxOpRestarts
// times, after which the cluster is Failed and says why.

// maxOpRestarts bounds the restarts of one phase's kwokctl command after it
// died without an exit status. A create takes 4-15 s here; three deaths in a
// row are a machine problem (memory, a killer), not bad luck.
const maxOpRestarts = 3

// opStatus is how far a Creating or Starting cluster's kwokctl command got.
type opStatus int

const (
	opRunning opStatus = iota // running, adopted or restarted: wait
	opDone                    // ended with status 0
	opFailed                  // ended otherwise, or died too often
)

// procInfo is what /proc/<pid>/stat tells of a live process; ok is false
// when it is gone or a zombie (which holds no file, socket or memory).
func procInfo(pid int) (session int, start uint64, ok bool) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// Fields follow the command name, which may hold spaces and
	// parentheses: they start after the last ')', at field 3 (state).
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, 0, false
	}
	session, err1 := strconv.Atoi(f[3])             // field 6
	start, err2 := strconv.ParseUint(f[19], 10, 64) // field 22, clock ticks after boot
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return session, start, true
}

// sameProcess reports whether pid still is the process that started at
// start (a pid is reused once its process ends).
func sameProcess(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	_, now, ok := procInfo(pid)
	return ok && now == start
}

// sessionsNaming returns the sessions (by their leader's pid, which the
// detached commands are started as) of the live processes whose command
// line holds every one of args as a whole argument, sorted. A session
// whose leader died still counts while a member lives.
func sessionsNaming(args ...string) ([]int, error) {
	cmdlines, err := commandLines()
	if err != nil {
		return nil, err
	}
	var sessions []int
	for pid, cmdline := range cmdlines {
		if len(cmdline) == 0 {
			continue // exiting, or a zombie
		}
		argv := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
		if !containsAll(argv, args) {
			continue
		}
		if sid, _, ok := procInfo(pid); ok && !slices.Contains(sessions, sid) {
			sessions = append(sessions, sid)
		}
	}
	slices.Sort(sessions)
	return sessions, nil
}

func containsAll(argv, args []string) bool {
	for _, a := range args {
		if !slices.Contains(argv, a) {
			return false
		}
	}
	return true
}

// killSessions sends sig to the process group of each session leader (the
// detached commands' groups are their sessions).
func killSessions(sessions []int, sig syscall.Signal) {
	for _, sid := range sessions {
		_ = syscall.Kill(-sid, sig)
	}
}

// liveOp returns the session of the cluster's kwokctl command if one runs:
// the one the state records, if that process still is the one started,
// else any that names the cluster's exit-status file, which a caller killed
// before it recorded the pid leaves behind.
func (d *Driver) liveOp(s *clusterState) (pid int, start uint64, ok bool, err error) {
	if sameProcess(s.OpPID, s.OpStart) {
		return s.OpPID, s.OpStart, true, nil
	}
	sessions, err := sessionsNaming(d.rcPath(s.Spec.Name))
	if err != nil || len(sessions) == 0 {
		return 0, 0, false, err
	}
	pid = sessions[0]
	_, start, _ = procInfo(pid)
	return pid, start, true, nil
}

// endOp kills the cluster's kwokctl command, if one runs, and waits up to
// opKillWait for it to go: a create or start left running would bring back
// what the caller is about to stop or delete.
func (d *Driver) endOp(s *clusterState) error {
	deadline := time.Now().Add(opKillWait)
	for {
		var sessions []int
		if sameProcess(s.OpPID, s.OpStart) {
			sessions = append(sessions, s.OpPID)
		}
		found, err := sessionsNaming(d.rcPath(s.Spec.Name))
		if err != nil {
			return err
		}
		sessions = append(sessions, found...)
		if len(sessions) == 0 {
			s.OpPID, s.OpStart = 0, 0
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kwokctl of cluster %q (sessions %v) survived SIGKILL for %v", s.Spec.Name, sessions, opKillWait)
		}
		killSessions(sessions, syscall.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
}

// opKillWait bounds the wait for a killed kwokctl command to exit; SIGKILL
// takes milliseconds.
const opKillWait = 5 * time.Second

// resumeOp looks at the kwokctl command of a Creating or Starting cluster:
// it adopts one a killed caller left unrecorded, and restarts one that died
// without an exit status. The message says what it found.
func (d *Driver) resumeOp(ctx context.Context, s *clusterState) (opStatus, string, error) {
	name, verb := s.Spec.Name, opVerb(s.Phase)
	// Liveness before the exit status: the command writes its status and
	// then exits, so one not running now has written it by now, if ever.
	pid, start, live, err := d.liveOp(s)
	if err != nil {
		return opRunning, "", fmt.Errorf("cluster %q: %w", name, err)
	}
	if live {
		if pid != s.OpPID || start != s.OpStart {
			d.p.log.Info("adopting kwokctl command of a killed caller", "cluster", name, "command", verb, "kwokctl_pid", pid)
			s.OpPID, s.OpStart = pid, start
			if err := d.p.writeState(s); err != nil {
				return opRunning, "", err
			}
		}
		return opRunning, fmt.Sprintf("kwokctl %s cluster is at work (pid %d)", verb, pid), nil
	}
	if rc, done := d.opExit(name); done {
		if rc != 0 {
			return opFailed, fmt.Sprintf("kwokctl %s cluster failed (exit %d): %s (full log: %s)", verb, rc, d.logTail(name), d.logPath(name)), nil
		}
		return opDone, "", nil
	}
	if s.Restarts >= maxOpRestarts {
		return opFailed, fmt.Sprintf("kwokctl %s cluster ended %d times without an exit status (killed? out of memory?); see %s and the kernel log, then delete the cluster and create it again",
			verb, s.Restarts+1, d.logPath(name)), nil
	}
	s.Restarts++
	d.p.log.Warn("kwokctl command died without an exit status (its caller was killed?); restarting it", "cluster", name, "command", verb, "restart", s.Restarts, "of", maxOpRestarts)
	if err := d.restartOp(ctx, s); err != nil {
		return opRunning, "", err
	}
	return opRunning, fmt.Sprintf("kwokctl %s cluster restarted (%d of %d) after it died without finishing", verb, s.Restarts, maxOpRestarts), nil
}

// restartOp starts the phase's command again after it died, from a clean
// slate: a create after deleting what the dead one made, a start after
// stopping what the dead one started (kwokctl start skips a component whose
// pid file names a live process, and a port it holds must not look taken).
func (d *Driver) restartOp(ctx context.Context, s *clusterState) error {
	name := s.Spec.Name
	if err := d.endOp(s); err != nil {
		return err
	}
	if err := d.stopDataPlane(s); err != nil {
		return err
	}
	switch s.Phase {
	case phaseCreating:
		if err := d.p.Delete(ctx, name); err != nil {
			return fmt.Errorf("restart the create of cluster %q: remove what the dead one made: %w", name, err)
		}
		return d.beginCreate(ctx, s)
	case phaseStarting:
		if err := d.p.Stop(ctx, name); err != nil {
			return fmt.Errorf("restart the start of cluster %q: stop what the dead one started: %w", name, err)
		}
		return d.beginStart(ctx, s)
	}
	return fmt.Errorf("cluster %q: no command to restart in phase %s", name, s.Phase)
}

// beginCreate takes an address and ports for the cluster, if it lacks them
// or its ports were taken, and starts kwokctl create.
func (d *Driver) beginCreate(ctx context.Context, s *clusterState) error {
	name := s.Spec.Name
	var err error
	if s.Addr == "" {
		if s.Addr, err = d.p.allocateAddr(ctx, d.p.statePath(name)); err != nil {
			return fmt.Errorf("create cluster %q: %w", name, err)
		}
	}
	if s.Ports, err = d.p.reservePorts(ctx, d.p.statePath(name), s.Ports); err != nil {
		return fmt.Errorf("create cluster %q: %w", name, err)
	}
	conf, err := d.p.writeConfig(name, s.Ports)
	if err != nil {
		return fmt.Errorf("create cluster %q: %w", name, err)
	}
	if err := d.beginOp(s, phaseCreating, d.p.createArgs(conf)); err != nil {
		return fmt.Errorf("create cluster %q: %w", name, err)
	}
	d.p.log.Info("creating cluster", "cluster", name, "region", s.Spec.Region, "nodes", s.Spec.nodeCount(), "addr", s.Addr, "kwokctl_pid", s.OpPID)
	return nil
}

// beginStart moves the cluster off any of its ports that something else
// took while it was parked, then starts kwokctl start.
func (d *Driver) beginStart(ctx context.Context, s *clusterState) error {
	name := s.Spec.Name
	ports, err := d.p.reservePorts(ctx, d.p.statePath(name), s.Ports)
	if err != nil {
		return fmt.Errorf("start cluster %q: %w", name, err)
	}
	if ports != s.Ports {
		d.p.log.Info("moving a parked cluster off ports taken meanwhile", "cluster", name, "from", s.Ports, "to", ports)
		// The state first: a caller killed while the files are rewritten
		// leaves the wanted ports recorded, and the rewrite is redone.
		s.Ports = ports
		if err := d.p.writeState(s); err != nil {
			return err
		}
	}
	if err := d.p.setClusterPorts(name, s.Ports); err != nil {
		return fmt.Errorf("start cluster %q: %w", name, err)
	}
	if err := d.beginOp(s, phaseStarting, []string{"start", "cluster"}); err != nil {
		return fmt.Errorf("start cluster %q: %w", name, err)
	}
	d.p.log.Info("starting cluster", "cluster", name, "kwokctl_pid", s.OpPID)
	return nil
}

// beginOp records the intent (phase, no command), starts the command
// detached and records its pid and start time. A caller killed between
// leaves a phase whose command the next call adopts or restarts.
func (d *Driver) beginOp(s *clusterState, ph phase, args []string) error {
	name := s.Spec.Name
	// An exit status left by the last command would pass for this one's.
	if err := os.Remove(d.rcPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	s.Phase, s.OpPID, s.OpStart = ph, 0, 0
	if err := d.p.writeState(s); err != nil {
		return err
	}
	verb := opVerb(ph)
	if ph == phaseStarting {
		verb = "unpark"
	}
	d.crash(verb + "-intent")
	pid, err := startDetached(d.p.env(), d.logPath(name), d.rcPath(name), d.p.cfg.Binaries.Kwokctl, append([]string{"--name", name}, args...)...)
	if err != nil {
		return err
	}
	d.crash(verb + "-started")
	_, start, _ := procInfo(pid)
	s.OpPID, s.OpStart = pid, start
	return d.p.writeState(s)
}
