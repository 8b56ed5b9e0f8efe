package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fnfleet/fnfleet/internal/fncontract"
	"github.com/fnfleet/fnfleet/internal/fncontract/socket"
)

// process is one running function process.
type process struct {
	d         *Driver
	pool      *pool
	id        string
	cmd       *exec.Cmd
	dir       string
	client    *http.Client
	transport *http.Transport
	exited    chan struct{}
	idleTimer *time.Timer
	started   time.Time

	killOnce sync.Once
}

// runtimeOverheadMB is added to an fn's memory for its RLIMIT_DATA: the
// address space language runtimes map writable without using it.
const runtimeOverheadMB = 256

// baseEnv is what a process gets before the function's config: a container
// image's usual PATH, and HOME and TMPDIR in the private directory (the Fn
// container's /tmp is a private tmpfs too).
func baseEnv(dir string) map[string]string {
	return map[string]string{
		"PATH":   "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME":   dir,
		"TMPDIR": dir,
	}
}

// start launches a process for pool and waits for its socket.
func (d *Driver) start(ctx context.Context, p *pool) (*process, error) {
	begin := time.Now()
	spec := p.spec
	dir, err := os.MkdirTemp(d.cfg.SocketDir, "p")
	if err != nil {
		return nil, fmt.Errorf("create private directory for fn %s: %w", spec.FnID, err)
	}
	sock := filepath.Join(dir, socket.ListenerName)
	if err := socket.CheckPath(sock); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("fn %s: %w: use a shorter socket directory", spec.FnID, err)
	}
	if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("create log directory for fn %s: %w", spec.FnID, err)
	}
	logFile, err := os.OpenFile(spec.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("open log of fn %s: %w", spec.FnID, err)
	}
	// The child holds its own copy of the descriptor.
	defer logFile.Close()

	env := baseEnv(dir)
	for k, v := range spec.Env {
		env[k] = v
	}
	env["FN_LISTENER"] = "unix:" + sock
	env["FN_FORMAT"] = "http-stream"
	envList := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envList = append(envList, k+"="+env[k])
	}

	cmd := exec.Command(spec.Path)
	cmd.Env = envList
	cmd.Dir = dir
	cmd.Stdin = nil
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: killing -pid takes the function's children too.
		Setpgid: true,
		// If the host dies without Close, the kernel kills the function.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		// Like a container that cannot start: the call fails with Fn's
		// message, and the reason goes where the message points, the fn's log.
		fmt.Fprintf(logFile, "fnfleet fn-server: cannot start %s: %v\n", spec.Path, err)
		d.log.Warn("cannot start function", "fn_id", spec.FnID, "path", spec.Path, "err", err)
		return nil, errInitFailed()
	}
	d.metrics.starts.Inc()

	d.mu.Lock()
	d.seq++
	proc := &process{
		d:       d,
		pool:    p,
		id:      spec.FnID + "/" + strconv.FormatUint(d.seq, 10),
		cmd:     cmd,
		dir:     dir,
		exited:  make(chan struct{}),
		started: begin,
		// One connection, reused: the process serves one call at a time.
		transport: fncontract.Transport(sock),
	}
	proc.client = &http.Client{Transport: proc.transport}
	closed := d.closed
	if !closed {
		d.procs[proc] = struct{}{}
		p.live++
		d.wg.Add(1)
	}
	d.mu.Unlock()
	if closed {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		os.RemoveAll(dir)
		return nil, errShuttingDown()
	}
	proc.idleTimer = time.AfterFunc(time.Hour, func() {
		if p.reap(proc) {
			proc.kill("idle")
		}
	})
	proc.idleTimer.Stop()
	go proc.waitExit()

	if spec.MemoryMB > 0 {
		// RLIMIT_DATA, not RLIMIT_AS: Go and JVM runtimes reserve far more
		// address space than they use, while their heaps are private writable
		// mappings, which RLIMIT_DATA counts (Linux >= 4.7). Some of those
		// mappings are never touched though (Go's 32 MiB arena index, 8 MiB
		// glibc thread stacks), so the limit is the fn's memory plus
		// runtimeOverheadMB. It is applied right after exec, before the
		// runtime has grown its heap. A cgroup would bound RSS exactly, but
		// needs a writable cgroup tree, which hosts of this server rarely give.
		//
		// Only the soft limit: the hard one stays the server's. A runaway
		// function still fails its allocations at the soft limit (384 MiB
		// for 128 MB), but a function that starts a local cluster on
		// purpose lifts the soft limit for the processes it detaches
		// (federation/providers/local): their idle kube-apiserver alone has
		// a VmData of 324-337 MiB, and the provider refuses below a hard
		// limit of 1 GiB, so a hard limit here would forbid clusters to
		// every function. Lifting it is a choice a function's code makes,
		// not an accident of its allocations.
		lim := (spec.MemoryMB + runtimeOverheadMB) << 20
		if err := setSoftLimit(cmd.Process.Pid, unix.RLIMIT_DATA, lim); err != nil {
			d.log.Warn("cannot limit function memory", "fn_id", spec.FnID, "memory_mb", spec.MemoryMB, "err", err)
		}
	}

	if err := proc.waitSocket(ctx, sock, d.cfg.StartTimeout); err != nil {
		proc.kill("start failed")
		return nil, err
	}
	d.metrics.coldStart.Observe(time.Since(begin).Seconds())
	d.log.Debug("function process ready", "fn_id", spec.FnID, "proc", proc.id, "pid", cmd.Process.Pid, "took", time.Since(begin))
	return proc, nil
}

// waitSocket waits for the function to create its listener socket, as the
// Fn agent does: a relative symlink or the socket itself, within timeout.
func (proc *process) waitSocket(ctx context.Context, sock string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	// Poll: an Lstat every 2 ms costs little, and notices the socket within
	// 2 ms of its creation (most FDKs are ready in a few milliseconds).
	interval := 500 * time.Microsecond
	for {
		if _, err := os.Lstat(sock); err == nil {
			if err := socket.Check(sock); err != nil {
				proc.d.log.Warn("function created an invalid listener", "fn_id", proc.pool.spec.FnID, "err", err)
				return errInitFailed()
			}
			return nil
		}
		select {
		case <-proc.exited:
			proc.d.log.Warn("function exited before creating its socket", "fn_id", proc.pool.spec.FnID, "state", proc.cmd.ProcessState.String())
			return errInitFailed()
		case <-deadline.C:
			proc.d.log.Warn("function did not create its socket in time", "fn_id", proc.pool.spec.FnID, "timeout", timeout)
			return errInitTimeout()
		case <-ctx.Done():
			return fmt.Errorf("wait for function socket: %w", ctx.Err())
		case <-time.After(interval):
		}
		interval = min(interval*2, 2*time.Millisecond)
	}
}

// call sends one request. reusable reports whether the process may serve
// another call.
func (proc *process) call(ctx context.Context, timeout time.Duration, req Request, maxBody int64) (resp *Response, reusable bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	deadline, _ := cctx.Deadline()

	hreq, err := http.NewRequestWithContext(cctx, http.MethodPost, "http://localhost/call", bytes.NewReader(req.Body))
	if err != nil {
		return nil, true, fmt.Errorf("build call request: %w", err)
	}
	hreq.Header = req.Header.Clone()
	if hreq.Header == nil {
		hreq.Header = http.Header{}
	}
	hreq.Header.Set(fncontract.HeaderCallID, req.CallID)
	hreq.Header.Set(fncontract.HeaderDeadline, deadline.UTC().Format(time.RFC3339))
	hreq.ContentLength = int64(len(req.Body))

	hresp, err := proc.client.Do(hreq)
	if err != nil {
		return nil, false, proc.transportError(ctx, cctx, err)
	}
	switch hresp.StatusCode {
	case http.StatusOK:
	case http.StatusBadGateway:
		drainBody(hresp.Body)
		return nil, true, errFunctionFailed()
	case http.StatusGatewayTimeout:
		drainBody(hresp.Body)
		return nil, true, errTimeout()
	default:
		hresp.Body.Close()
		proc.d.log.Warn("function answered an invalid status", "fn_id", proc.pool.spec.FnID, "status", hresp.StatusCode)
		return nil, false, errInvalidResponse()
	}
	body, err := io.ReadAll(io.LimitReader(hresp.Body, maxBody+1))
	hresp.Body.Close()
	if err != nil {
		return nil, false, proc.transportError(ctx, cctx, err)
	}
	if int64(len(body)) > maxBody {
		return nil, false, errResponseTooBig()
	}
	fncontract.StripHopByHop(hresp.Header)
	return &Response{Header: hresp.Header, Body: body}, true, nil
}

// transportError maps a failed exchange with the process: the call's own
// deadline is TimedOut, the caller going away is its context error, anything
// else means the process broke the connection (crashed).
func (proc *process) transportError(ctx, cctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("call fn %s: %w", proc.pool.spec.FnID, ctx.Err())
	case cctx.Err() != nil:
		return errTimeout()
	}
	proc.d.log.Warn("function connection failed", "fn_id", proc.pool.spec.FnID, "proc", proc.id, "err", err)
	return errFunctionResponse()
}

// kill stops the process group. It returns at once; waitExit cleans up.
func (proc *process) kill(reason string) {
	proc.killOnce.Do(func() {
		proc.d.log.Debug("stopping function process", "fn_id", proc.pool.spec.FnID, "proc", proc.id, "reason", reason)
		proc.d.metrics.kills.WithLabelValues(reason).Inc()
		if err := syscall.Kill(-proc.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			proc.d.log.Warn("kill function process", "fn_id", proc.pool.spec.FnID, "pid", proc.cmd.Process.Pid, "err", err)
		}
	})
}

// waitExit reaps the process and releases what it held.
func (proc *process) waitExit() {
	defer proc.d.wg.Done()
	_ = proc.cmd.Wait()
	// Children left in the group go too; the group id cannot be reused
	// while any member lives.
	_ = syscall.Kill(-proc.cmd.Process.Pid, syscall.SIGKILL)
	close(proc.exited)
	proc.idleTimer.Stop()
	proc.pool.reap(proc)
	proc.transport.CloseIdleConnections()
	if err := os.RemoveAll(proc.dir); err != nil {
		proc.d.log.Warn("remove function directory", "dir", proc.dir, "err", err)
	}
	proc.d.mu.Lock()
	delete(proc.d.procs, proc)
	proc.pool.live--
	proc.d.dropIfUnused(proc.pool)
	proc.d.mu.Unlock()
	proc.d.log.Debug("function process exited", "fn_id", proc.pool.spec.FnID, "proc", proc.id, "state", proc.cmd.ProcessState.String())
}

// setSoftLimit sets pid's soft limit of resource to lim, or to its hard
// limit when that is lower (a soft limit cannot pass it), and keeps the
// hard limit.
func setSoftLimit(pid, resource int, lim uint64) error {
	var cur unix.Rlimit
	if err := unix.Prlimit(pid, resource, nil, &cur); err != nil {
		return fmt.Errorf("read limit %d of pid %d: %w", resource, pid, err)
	}
	lim = min(lim, cur.Max) // RLIM_INFINITY is the largest uint64
	if err := unix.Prlimit(pid, resource, &unix.Rlimit{Cur: lim, Max: cur.Max}, nil); err != nil {
		return fmt.Errorf("set soft limit %d of pid %d to %d: %w", resource, pid, lim, err)
	}
	return nil
}
