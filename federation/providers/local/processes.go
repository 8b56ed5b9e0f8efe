package local

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	cmdlines, err := commandLines()
	if err != nil {
		return nil, err
	}
	needle := []byte(dir + string(filepath.Separator))
	var procs []Process
	for _, pid := range sortedPIDs(cmdlines) {
		cmdline := cmdlines[pid]
		if !bytes.Contains(cmdline, needle) {
			continue // not ours
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

// commandLines reads /proc once: the command line (its arguments, each
// ended by a NUL) of every process but this one. A process that ends
// meanwhile is left out; one that is exiting, or a zombie, has an empty
// command line. Every search for a cluster's processes starts here.
func commandLines() (map[int][]byte, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := os.Getpid()
	out := make(map[int][]byte, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil {
			out[pid] = cmdline
		}
	}
	return out, nil
}

func sortedPIDs(cmdlines map[int][]byte) []int {
	pids := make([]int, 0, len(cmdlines))
	for pid := range cmdlines {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

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

// Stopping. kwokctl's own stop and delete send SIGKILL to the pids its pid
// files record, without waiting for them to exit, and only once the
// cluster's kwok.yaml is written: a cluster half made (kwokctl killed during
// its create) keeps its processes, and deleting a cluster's directory first
// leaves them running with their binaries deleted (seen after `fnfleet up`
// was interrupted during its start). So the provider stops processes itself,
// found in two ways: the pids kwokctl recorded, <cluster>/pids/<component>.pid
// (written right after it starts each component, in a session of its own,
// so killing a process group does not reach it), and every process whose
// command line names a path under the directory (a component whose pid file
// kwokctl did not get to write, a data plane, kwokctl's kubectl) or whose
// environment names the directory as KWOK_WORKDIR (kwokctl commands, whose
// command line need not name it; env below) or as WorkdirEnv (the fleet's
// management functions on the hub's Fn, whose command line is their
// executable alone). Only then is anything removed.
//
// They are stopped rank by rank, each rank gone before the next is
// signalled (stopRank): a kube-apiserver whose etcd is already gone ignored
// SIGTERM for more than 20 s, waiting on storage (checked 2026-12-06).

const (
	// stopRanks is the number of ranks stopRank returns.
	stopRanks = 5
	// killWait bounds the wait for a process to go after SIGKILL; it
	// leaves as soon as it is scheduled out of the kernel, well under a
	// second even on a loaded 2-core machine, unless stuck in I/O.
	killWait = 10 * time.Second
	// stopRounds bounds how often stopAll lists and stops again: a
	// command killed mid-way may have started a process just before, and
	// its pid appears only in the next listing.
	stopRounds = 3
	// watchdogName is the watchdog's $0, which StopWorkdir looks for.
	watchdogName = "fnfleet-watchdog"
)

// WorkdirEnv is the environment variable that ties a process to a work
// directory when its command line does not name it: a process whose
// environment sets it to the work directory is stopped with the work
// directory's clusters (StopWorkdir, the watchdog). The Fn server passes a
// function its app's config as its environment, so the management
// functions, configured with the work directory under this name
// (handlers.ConfigLocalWorkdir), are found even though the Fn server runs
// them from their executable alone.
const WorkdirEnv = "FNFLEET_LOCAL_WORKDIR"

// workdirEnvs are the environment entries that tie a process to workdir.
func workdirEnvs(workdir string) [][]byte {
	return [][]byte{[]byte("KWOK_WORKDIR=" + workdir), []byte(WorkdirEnv + "=" + workdir)}
}

// stopRank is when a process is stopped: the commands at work first
// (kwokctl would start components again; they keep no data), then the data
// planes (the clients), the controllers, kube-apiserver, and etcd last.
func stopRank(name string) int {
	switch name {
	case "kwokctl", "kubectl", "sh", "bash":
		return 0
	case "fnfleet":
		return 1
	case "kube-apiserver":
		return 3
	case "etcd":
		return 4
	default: // kwok-controller, kube-controller-manager, kube-scheduler
		return 2
	}
}

// procsOf lists the live processes of dir, a cluster's directory or a
// provider's work directory (see Stopping above), but never this process.
func procsOf(dir string) ([]Process, error) {
	found := map[int]bool{}
	for _, pattern := range []string{
		filepath.Join(dir, "pids", "*.pid"),                  // a cluster's
		filepath.Join(dir, "clusters", "*", "pids", "*.pid"), // a work directory's
	} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("list pid files: %w", err)
		}
		for _, f := range files {
			if pid, ok := recordedPID(f); ok {
				found[pid] = true
			}
		}
	}
	cmdlines, err := commandLines()
	if err != nil {
		return nil, err
	}
	path := []byte(dir + string(filepath.Separator))
	envs := workdirEnvs(dir)
	for pid, cmdline := range cmdlines {
		if !found[pid] && (bytes.Contains(cmdline, path) || hasEnv(pid, envs...)) {
			found[pid] = true
		}
	}
	delete(found, os.Getpid())
	procs := make([]Process, 0, len(found))
	for pid := range found {
		// A zombie holds nothing, and signals do not reach it: it is
		// its parent's to reap, not ours to stop.
		if p := (Process{PID: pid, Name: procName(pid)}); !allExited([]Process{p}) {
			procs = append(procs, p)
		}
	}
	slices.SortFunc(procs, func(a, b Process) int { return a.PID - b.PID })
	return procs, nil
}

// hasEnv reports whether the process's environment holds one of the
// entries kvs (NAME=value) exactly; false when it cannot be read (gone, or
// another user's).
func hasEnv(pid int, kvs ...[]byte) bool {
	environ, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		return false
	}
	for entry := range bytes.SplitSeq(environ, []byte{0}) {
		for _, kv := range kvs {
			if bytes.Equal(entry, kv) {
				return true
			}
		}
	}
	return false
}

// procName is the base name of the process's executable as it was started
// (argv[0]), or its kernel name when its command line is gone (it is
// exiting).
func procName(pid int) string {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	if cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && len(cmdline) > 0 {
		argv0, _, _ := bytes.Cut(cmdline, []byte{0})
		return filepath.Base(string(argv0))
	}
	comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
	return strings.TrimSpace(string(comm))
}

// pidFileSlack allows for the clocks compared in recordedPID: the process's
// start time is known to 10 ms (a clock tick) from an uptime known to 10 ms.
// A pid reused within a second of its pid file being written would need
// the machine's whole pid space to wrap in that second.
const pidFileSlack = time.Second

// recordedPID reads a pid file and returns its pid if that process still
// is the one recorded: kwokctl writes the file right after starting the
// process, so a process that started later merely reuses the pid.
func recordedPID(file string) (int, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	fi, err := os.Stat(file)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	started, err := startTime(pid)
	if err != nil {
		return 0, false // gone
	}
	return pid, !started.After(fi.ModTime().Add(pidFileSlack))
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's start time: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// startTime is when the live process started, from its start time
// (procInfo: clock ticks after boot) and /proc/uptime.
func startTime(pid int) (time.Time, error) {
	_, ticks, ok := procInfo(pid)
	if !ok {
		return time.Time{}, fmt.Errorf("process %d is gone", pid)
	}
	uptime, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return time.Time{}, err
	}
	now := time.Now()
	up, _, _ := strings.Cut(string(uptime), " ")
	secs, err := strconv.ParseFloat(up, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse /proc/uptime: %w", err)
	}
	age := time.Duration(secs*float64(time.Second)) - time.Duration(ticks)*time.Second/clockTicks
	return now.Add(-age), nil
}

// stopAll stops every process of dir (procsOf), rank by rank (stopRank):
// SIGTERM, then SIGKILL for what outlives grace; SIGKILL at once when grace
// is 0, for the commands at work, and once ctx ends. It returns nil only
// when a listing finds nothing left.
func stopAll(ctx context.Context, dir string, grace time.Duration) error {
	for round := 0; ; round++ {
		procs, err := procsOf(dir)
		if err != nil {
			return err
		}
		if len(procs) == 0 {
			return nil
		}
		if round == stopRounds {
			return fmt.Errorf("processes of %s still run after %d rounds of stopping: %v", dir, stopRounds, procs)
		}
		for rank := range stopRanks {
			var group []Process
			for _, p := range procs {
				if stopRank(p.Name) == rank {
					group = append(group, p)
				}
			}
			g := grace
			if rank == 0 {
				g = 0
			}
			if err := stopGroup(ctx, group, g); err != nil {
				return fmt.Errorf("stop the processes of %s: %w", dir, err)
			}
		}
	}
}

// stopGroup signals the processes and waits until every one has exited.
func stopGroup(ctx context.Context, procs []Process, grace time.Duration) error {
	if len(procs) == 0 {
		return nil
	}
	if grace > 0 {
		signalAll(procs, syscall.SIGTERM)
		if waitExited(ctx, procs, grace) {
			return nil
		}
	}
	signalAll(procs, syscall.SIGKILL)
	// Past SIGKILL there is nothing left to cut short: wait whatever ctx.
	if waitExited(context.WithoutCancel(ctx), procs, killWait) {
		return nil
	}
	var left []Process
	for _, p := range procs {
		if !allExited([]Process{p}) {
			left = append(left, p)
		}
	}
	return fmt.Errorf("%v survived SIGKILL for %s", left, killWait)
}

func signalAll(procs []Process, sig syscall.Signal) {
	for _, p := range procs {
		if !allExited([]Process{p}) {
			_ = syscall.Kill(p.PID, sig)
		}
	}
}

// waitExited polls until every process has exited (true), d passes or ctx
// ends.
func waitExited(ctx context.Context, procs []Process, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !allExited(procs) {
		select {
		case <-ctx.Done():
			return allExited(procs)
		case <-tick.C:
		}
	}
	return true
}

// StopWorkdir stops everything of a provider's work directory that still
// runs: first the watchdogs of its earlier providers (one whose owner was
// killed is about to stop processes and remove their directories, and would
// do so under a new provider's feet), then every process of its clusters as
// Delete stops them. It removes nothing; it returns nil only when nothing is
// left. No live provider may own workdir meanwhile: `fnfleet up` makes sure
// with a lock.
func StopWorkdir(ctx context.Context, workdir string) error {
	dir, err := filepath.Abs(workdir)
	if err != nil {
		return fmt.Errorf("stop the processes of %s: %w", workdir, err)
	}
	if err := stopWatchdogs(ctx, dir); err != nil {
		return err
	}
	return stopAll(ctx, dir, 0)
}

// stopWatchdogs kills the watchdogs of workdir (whose command line is
// /bin/sh -c SCRIPT fnfleet-watchdog OWNER WORKDIR) with their sessions,
// and waits for them to go.
func stopWatchdogs(ctx context.Context, workdir string) error {
	cmdlines, err := commandLines()
	if err != nil {
		return err
	}
	var dogs []Process
	for _, pid := range sortedPIDs(cmdlines) {
		args := strings.Split(string(cmdlines[pid]), "\x00")
		if len(args) >= 6 && args[3] == watchdogName && args[5] == workdir {
			dogs = append(dogs, Process{PID: pid, Name: watchdogName})
			// It leads its session, its sleep included.
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	if !waitExited(context.WithoutCancel(ctx), dogs, killWait) {
		return fmt.Errorf("the watchdogs of %s survived SIGKILL: %v", workdir, dogs)
	}
	return nil
}

// watchdogScript waits for the owner process to end, then stops every
// process of the work directory as stopAll does with grace 0 (their data is
// deleted: a graceful stop buys nothing), rank by rank (stopRank), and only
// once none is left removes the clusters and their state (which frees the
// data planes' addresses). It relies on neither kwokctl nor its state,
// which may be half made. It runs in its own session so that it outlives
// the owner, however the owner ends, and it writes its log to
// logs/watchdog.log.
const watchdogScript = `owner="$1"; workdir="$2"
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
log() { echo "$(date '+%F %T') $*"; }
log "owner $owner is gone: stopping every process of $workdir"

# procs prints "RANK PID" for each live process of the work directory: the
# pids its clusters' pid files record, and every process whose command line
# names a path under it or whose environment sets KWOK_WORKDIR or
# FNFLEET_LOCAL_WORKDIR (WorkdirEnv: the hub's functions) to it. A
# recorded pid counts only while its process names the work directory too,
# since a pid is reused once its process ends.
procs() {
  { for f in "$workdir"/clusters/*/pids/*.pid; do [ -f "$f" ] && cat "$f" && echo; done
    grep -lzF -e "$workdir/" /proc/[0-9]*/cmdline
    grep -lzxF -e "KWOK_WORKDIR=$workdir" -e "FNFLEET_LOCAL_WORKDIR=$workdir" /proc/[0-9]*/environ
  } 2>/dev/null | sed -n 's,^/proc/\([0-9]*\)/.*,\1,p; s,^\([0-9][0-9]*\)$,\1,p' | sort -un |
  while read -r pid; do
    [ "$pid" = "$$" ] && continue
    cmd=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null) || continue
    case "$cmd" in
      *"$workdir/"*) ;;
      *) grep -qzxF -e "KWOK_WORKDIR=$workdir" -e "FNFLEET_LOCAL_WORKDIR=$workdir" "/proc/$pid/environ" 2>/dev/null || continue ;;
    esac
    name=$(printf '%s\n' "$cmd" | head -n 1); name=${name##*/}
    case "$name" in
      kwokctl|kubectl|sh|bash) echo "0 $pid" ;;
      fnfleet) echo "1 $pid" ;;
      kube-apiserver) echo "3 $pid" ;;
      etcd) echo "4 $pid" ;;
      *) echo "2 $pid" ;;
    esac
  done
}

# gone: the process has exited (a zombie with no thread left holds nothing).
gone() {
  [ -d "/proc/$1" ] || return 0
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  case "$state" in Z|X|"") ;; *) return 1 ;; esac
  [ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" -le 1 ]
}

round=0
while list=$(procs); [ -n "$list" ]; do
  round=$((round + 1))
  if [ "$round" -gt 3 ]; then
    log "processes survive; nothing removed:" $list
    exit 1
  fi
  for rank in 0 1 2 3 4; do
    pids=$(printf '%s\n' "$list" | awk -v r="$rank" '$1 == r { print $2 }')
    [ -n "$pids" ] || continue
    log "SIGKILL (rank $rank):" $pids
    kill -9 $pids 2>/dev/null
    # Each rank gone before the next (kube-apiserver before etcd), within
    # 10 s (200 x 50 ms).
    n=0
    for pid in $pids; do
      while ! gone "$pid" && [ "$n" -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
    done
  done
done
log "nothing of $workdir runs: removing its clusters"
rm -rf "$workdir/clusters" "$workdir/state"
log "done"
`

func (p *Provider) startWatchdog() error {
	logFile, err := os.OpenFile(filepath.Join(p.cfg.Workdir, "logs", "watchdog.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("local provider: watchdog log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, watchdogName, strconv.Itoa(p.cfg.OwnerPID), p.cfg.Workdir)
	// Not the clusters' environment: the watchdog must not match its own
	// KWOK_WORKDIR or WorkdirEnv test.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "KWOK_WORKDIR=") || strings.HasPrefix(kv, WorkdirEnv+"=")
	})
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("local provider: start watchdog: %w", err)
	}
	p.watchdog = cmd
	return nil
}
