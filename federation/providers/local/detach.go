package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// A local cluster must not share the fate of the process that asked for it.
// That process may be a function call of the Fn server, which runs each call
// in a process group of its own, kills the group when the call ends or idles
// out, and limits the call's RLIMIT_DATA to the function's memory + 256 MiB,
// which every child inherits: 384 MiB was seen reaching etcd and
// kube-apiserver. So every cluster command (kwokctl, which starts the
// components, and through it the components) starts in a session of its
// own, out of the caller's process group, with RLIMIT_DATA and RLIMIT_AS
// lifted as far as the caller may lift them: to unlimited with
// CAP_SYS_RESOURCE, else the soft limit to the hard one.
//
// Unlimited rather than a bound: the components of an idle 1-node cluster
// were measured at VmData kube-apiserver 324 MiB (RSS 277), etcd 159,
// kube-controller-manager 156, kube-scheduler 143, kwok-controller 131 MiB,
// and the apiserver grows with objects and watches. A bound low enough to
// protect the machine would kill apiservers under ordinary load; the fleet
// bounds local clusters by count (ClusterPool maxClusters) instead.
//
// A hard limit cannot be raised without CAP_SYS_RESOURCE; the Fn server
// sets only the soft limit, for this reason. Below minDataLimit a cluster would start and die
// later, under load, far from the cause; checkLimits refuses it at once.

// minDataLimit is the least RLIMIT_DATA a cluster may inherit: three times
// the kube-apiserver's idle VmData (324 MiB), the largest component.
const minDataLimit = 1 << 30

// checkLimits fails when this process's hard RLIMIT_DATA or RLIMIT_AS,
// which the cluster's processes would inherit, is below minDataLimit.
func checkLimits() error {
	for _, l := range []struct {
		resource int
		name     string
	}{{unix.RLIMIT_DATA, "RLIMIT_DATA"}, {unix.RLIMIT_AS, "RLIMIT_AS"}} {
		var lim unix.Rlimit
		if err := unix.Getrlimit(l.resource, &lim); err != nil {
			return fmt.Errorf("read %s: %w", l.name, err)
		}
		if lim.Max != unix.RLIM_INFINITY && lim.Max < minDataLimit {
			return fmt.Errorf("this process runs under a hard %s of %d MiB (an Fn function's memory limit?), which every cluster process would inherit, and a kube-apiserver needs more than %d MiB: "+
				"drive the local provider from a process without that hard limit (the Fn server may set the soft limit only) or give it CAP_SYS_RESOURCE", l.name, lim.Max>>20, minDataLimit>>20)
		}
	}
	return nil
}

// liftLimits runs its arguments with RLIMIT_DATA and RLIMIT_AS lifted. It
// is a shell prelude because Go's os/exec cannot set a child's limits
// between fork and exec, and setting them on the child after it starts
// would race with the components it forks.
const liftLimits = limitsPrelude + `exec "$@"`

const limitsPrelude = `for flag in d v; do
  ulimit -$flag unlimited 2>/dev/null || ulimit -S -$flag "$(ulimit -H -$flag)"
done
echo "limits: data=$(ulimit -d) as=$(ulimit -v)"
`

// recordExit runs its arguments after the first like liftLimits, then
// writes their exit status to the file named by the first, so that a later
// call in another process can tell a command that failed from one that is
// still running.
const recordExit = limitsPrelude + `rc="$1"; shift
"$@"
echo $? > "$rc.tmp" && mv "$rc.tmp" "$rc"`

// detachedCommand returns a command running name with args in a session of
// its own, with lifted memory limits. Cancelling ctx kills only that
// process (kwokctl), never the components it started.
func detachedCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", liftLimits, "fnfleet-detach", name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

// startDetached starts name with args and env like detachedCommand, but not tied
// to any context: it runs to its end whatever happens to the caller, its
// output appended to logPath and its exit status written to rcPath. It
// returns the pid, which leads the command's session.
func startDetached(env []string, logPath, rcPath, name string, args ...string) (int, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, fmt.Errorf("open log: %w", err)
	}
	fmt.Fprintf(logFile, "\n$ %s %s\n", filepath.Base(name), strings.Join(args, " "))
	cmd := exec.Command("/bin/sh", append([]string{"-c", recordExit, "fnfleet-detach", rcPath, name}, args...)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return 0, fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	// A long-lived caller reaps it; a short-lived one leaves it to init.
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
	}()
	return cmd.Process.Pid, nil
}
