package local

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is one running process of a cluster.
type Process struct {
	PID  int
	Name string // executable base name, e.g. "kube-apiserver"
	// RSS is the resident memory in bytes.
	RSS int64
}

// Processes lists the running processes of the cluster: every process whose
// command line names the cluster's directory (kwokctl passes each component
// its paths there).
func (c *Cluster) Processes() ([]Process, error) {
	return ProcessesUnder(c.Workdir)
}

// ProcessesOf lists the running processes of the named cluster, which
// need not be running (a parked cluster has none).
func (p *Provider) ProcessesOf(name string) ([]Process, error) {
	return ProcessesUnder(p.clusterDir(name))
}

// ResidentMemory is the sum of the resident memory of the cluster's
// processes, in bytes.
func (c *Cluster) ResidentMemory() (int64, error) {
	procs, err := c.Processes()
	if err != nil {
		return 0, err
	}
	var total int64
	for _, p := range procs {
		total += p.RSS
	}
	return total, nil
}

// ProcessesUnder lists the running processes whose command line names a
// path under dir: the components of the clusters kept there.
func ProcessesUnder(dir string) ([]Process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	needle := []byte(dir + string(filepath.Separator))
	self := os.Getpid()
	var procs []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, needle) {
			continue // gone meanwhile, or not ours
		}
		args := bytes.Split(cmdline, []byte{0})
		name := filepath.Base(string(args[0]))
		if name == "kwokctl" || isShell(name) {
			continue // a command at work on the cluster, not a component
		}
		procs = append(procs, Process{PID: pid, Name: name, RSS: rss(pid)})
	}
	return procs, nil
}

func isShell(name string) bool { return name == "bash" || name == "sh" }

// rss reads VmRSS from /proc/PID/status; 0 when the process is gone.
func rss(pid int) int64 {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// stopProcesses waits up to grace for the processes under dir, and those
// of before (listed before they were told to stop), to exit, then kills the
// rest. A process counts as exited only once it is gone or a zombie: one
// that is exiting has already lost its command line, so ProcessesUnder no
// longer lists it, but it may still hold its listening sockets (the kernel
// releases memory before files).
func stopProcesses(dir string, before []Process, grace time.Duration) error {
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		procs, err := ProcessesUnder(dir)
		if err != nil {
			return err
		}
		if len(procs) == 0 && allExited(before) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, p := range before {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
	return killProcesses(dir, before)
}

// killProcesses kills whatever still runs under dir and waits for it, and
// for the processes of before, to go.
func killProcesses(dir string, before []Process) error {
	procs, err := ProcessesUnder(dir)
	if err != nil {
		return err
	}
	for _, p := range procs {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if procs, err = ProcessesUnder(dir); err != nil || len(procs) == 0 && allExited(before) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("processes of %s survived SIGKILL: %v", dir, procs)
}

// allExited reports whether every process is gone or a zombie with no
// thread left (such a zombie holds no file, socket or memory; its parent, or
// init, reaps it). A zombie leader whose other threads still run shares
// their files: a kube-apiserver in that state was seen still listening.
func allExited(procs []Process) bool {
	for _, p := range procs {
		dir := filepath.Join("/proc", strconv.Itoa(p.PID))
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue // gone
		}
		if tasks, err := os.ReadDir(filepath.Join(dir, "task")); err == nil && len(tasks) > 1 {
			return false
		}
		// The state follows the command name, which may hold spaces and
		// parentheses: it is the field after the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) {
			continue
		}
		if state := stat[i+2]; state != 'Z' && state != 'X' {
			return false
		}
	}
	return true
}

// watchdogScript waits for the owner process to end, then deletes every
// cluster of the work directory, data planes first: kwokctl knows nothing
// of them, so it kills every process whose command line names the
// cluster's directory (as ProcessesUnder finds them). It runs in its own
// session so that it outlives the owner, however the owner ends.
const watchdogScript = `owner="$1"; workdir="$2"; kwokctl="$3"
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
for dir in "$workdir"/clusters/*/; do
  [ -d "$dir" ] || continue
  name=$(basename "$dir")
  for proc in /proc/[0-9]*; do
    case "$(tr '\0' ' ' < "$proc/cmdline" 2>/dev/null)" in
      *"$dir"*fn-server*|*fn-server*"$dir"*) kill -9 "${proc#/proc/}" 2>/dev/null ;;
    esac
  done
  "$kwokctl" --name "$name" delete cluster
done
`

func (p *Provider) startWatchdog() error {
	logFile, err := os.OpenFile(filepath.Join(p.cfg.Workdir, "logs", "watchdog.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("local provider: watchdog log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "watchdog",
		strconv.Itoa(p.cfg.OwnerPID), p.cfg.Workdir, p.cfg.Binaries.Kwokctl)
	cmd.Env = p.env()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("local provider: start watchdog: %w", err)
	}
	p.watchdog = cmd
	return nil
}
