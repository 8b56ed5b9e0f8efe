// Package proc runs Fn functions as local processes under the Fn container
// contract (format http-stream): each process gets a private socket
// directory, announces itself by creating lsnr.sock there, and serves
// POST /call over HTTP/1.1 on one keep-alive connection, one call at a time.
//
// Hot processes are reused; more are started for concurrent calls, up to a
// limit per function; idle ones are reaped after the function's idle
// timeout. A call that outlives the function's timeout kills its process and
// fails as TimedOut; a process that crashes fails its call as Failed and is
// replaced on the next call. Failures carry the Fn agent's messages; which
// HTTP status answers them is the server's business. Every process runs in
// its own process group, so killing it also kills anything it spawned, and
// Close leaves no process behind.
package proc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Spec describes how to run one function.
type Spec struct {
	// FnID names the function in logs and metrics.
	FnID string
	// Path is the executable to run.
	Path string
	// Env is the function's environment without FN_LISTENER and FN_FORMAT,
	// which the driver sets: app config, fn config and the FN_* variables.
	Env map[string]string
	// MemoryMB limits the process's data segment (0 = no limit).
	MemoryMB uint64
	// Timeout bounds one call, from the moment a process is ready for it.
	Timeout time.Duration
	// IdleTimeout is how long an idle process is kept for the next call.
	IdleTimeout time.Duration
	// LogPath is the file the process's stdout and stderr are appended to.
	LogPath string
	// Revision changes when the executable changes (e.g. its mtime and
	// size), so that a rebuilt function gets fresh processes.
	Revision string
}

// key identifies processes that can serve a spec: any change of executable,
// environment, memory, idle timeout or log file needs fresh processes.
func (s *Spec) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%d\x00%s\x00", s.FnID, s.Path, s.Revision, s.MemoryMB, s.IdleTimeout, s.LogPath)
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		fmt.Fprintf(h, "%s=%s\x00", k, s.Env[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Request is one call's input. Header is sent as is (the caller has mapped
// it with fncontract.RequestToFunction), plus Fn-Call-Id and Fn-Deadline.
type Request struct {
	CallID string
	Header http.Header
	Body   []byte
}

// Response is a function's successful (200) answer, fully read.
type Response struct {
	Header http.Header
	Body   []byte
}

// Config configures a Driver.
type Config struct {
	// SocketDir holds the per-process socket directories. Unix socket paths
	// are limited to 107 bytes (socket.CheckPath), so it should be short.
	// Default: a new directory under os.TempDir(), removed by Close.
	SocketDir string
	// MaxProcsPerFn bounds the concurrent processes (and calls) of one
	// function. Default 8.
	MaxProcsPerFn int
	// StartTimeout bounds the wait for a new process's socket. Default 5 s,
	// as the Fn agent's FN_HOT_START_TIMEOUT_MSECS.
	StartTimeout time.Duration
	// MaxResponseBytes bounds a function's response body. Default 64 MiB.
	MaxResponseBytes int64
	// Registerer receives the driver's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger logs process lifecycle events. Default slog.Default().
	Logger *slog.Logger
}

// Driver runs function processes.
type Driver struct {
	cfg        Config
	log        *slog.Logger
	ownSockDir bool
	metrics    metrics

	mu     sync.Mutex
	closed bool
	pools  map[string]*pool
	procs  map[*process]struct{}
	seq    uint64
	wg     sync.WaitGroup // one per running process
}

// New returns a driver.
func New(cfg Config) (*Driver, error) {
	if cfg.MaxProcsPerFn <= 0 {
		cfg.MaxProcsPerFn = 8
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 5 * time.Second
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d := &Driver{cfg: cfg, log: cfg.Logger, pools: map[string]*pool{}, procs: map[*process]struct{}{}}
	if d.cfg.SocketDir == "" {
		dir, err := os.MkdirTemp("", "fnh")
		if err != nil {
			return nil, fmt.Errorf("create socket directory: %w", err)
		}
		d.cfg.SocketDir = dir
		d.ownSockDir = true
	} else if err := os.MkdirAll(d.cfg.SocketDir, 0o700); err != nil {
		return nil, fmt.Errorf("create socket directory %s: %w", d.cfg.SocketDir, err)
	}
	m, err := newMetrics(cfg.Registerer, d.running)
	if err != nil {
		return nil, err
	}
	d.metrics = m
	return d, nil
}

// running counts live processes.
func (d *Driver) running() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.procs)
}

// Close kills every process and waits for them to exit.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	procs := slices.Collect(maps.Keys(d.procs))
	d.mu.Unlock()
	for _, p := range procs {
		p.kill("shutdown")
	}
	d.wg.Wait()
	if d.ownSockDir {
		if err := os.RemoveAll(d.cfg.SocketDir); err != nil {
			return fmt.Errorf("remove socket directory: %w", err)
		}
	}
	return nil
}

// Call runs one call of spec's function on a hot process, starting one if
// none is idle. Errors the caller should pass on are *CallError; any other
// error means the call was abandoned (ctx ended) or the driver broke.
func (d *Driver) Call(ctx context.Context, spec Spec, req Request) (*Response, error) {
	p, err := d.pool(spec)
	if err != nil {
		return nil, err
	}
	defer d.unusePool(p)
	if err := p.acquire(ctx, spec.Timeout); err != nil {
		return nil, err
	}
	defer p.release()

	proc, err := p.take(ctx)
	if err != nil {
		return nil, err
	}
	resp, reusable, err := proc.call(ctx, spec.Timeout, req, d.cfg.MaxResponseBytes)
	if reusable {
		p.putIdle(proc)
	} else {
		proc.kill(killReason(err))
	}
	return resp, err
}

// killReason labels the kill of a process whose call ended with err.
func killReason(err error) string {
	var ce *CallError
	if errors.As(err, &ce) {
		switch ce.Kind {
		case TimedOut:
			return "timeout"
		case Failed:
			return "failed"
		}
	}
	return "aborted"
}

func (d *Driver) pool(spec Spec) (*pool, error) {
	key := spec.key()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errShuttingDown()
	}
	p, ok := d.pools[key]
	if !ok {
		p = &pool{d: d, key: key, spec: spec, slots: make(chan struct{}, d.cfg.MaxProcsPerFn)}
		d.pools[key] = p
	}
	p.users++
	return p, nil
}

// unusePool ends a call's use of p.
func (d *Driver) unusePool(p *pool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p.users--
	d.dropIfUnused(p)
}

// dropIfUnused forgets a pool that has neither calls nor processes, so that
// pools of deleted or updated fns do not accumulate. d.mu must be held.
func (d *Driver) dropIfUnused(p *pool) {
	if p.users == 0 && p.live == 0 && d.pools[p.key] == p {
		delete(d.pools, p.key)
	}
}

// pool holds the processes of one spec.
type pool struct {
	d     *Driver
	key   string
	spec  Spec
	slots chan struct{} // one token per call in progress

	// Guarded by d.mu: calls using the pool, and its live processes.
	users, live int

	mu   sync.Mutex
	idle []*process // most recently used last
}

// acquire waits for a call slot; as the Fn agent, it gives up with "server
// busy" when none frees within the function's timeout.
func (p *pool) acquire(ctx context.Context, wait time.Duration) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-t.C:
		return errServerBusy()
	case <-ctx.Done():
		return fmt.Errorf("wait for a free process: %w", ctx.Err())
	}
}

func (p *pool) release() { <-p.slots }

// take returns an idle live process, or starts one.
func (p *pool) take(ctx context.Context) (*process, error) {
	p.mu.Lock()
	for len(p.idle) > 0 {
		proc := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		proc.idleTimer.Stop()
		select {
		case <-proc.exited:
			continue // died while idle; its exit handler cleans up
		default:
		}
		p.mu.Unlock()
		return proc, nil
	}
	p.mu.Unlock()
	return p.d.start(ctx, p)
}

// putIdle keeps proc for the next call, until the idle timeout reaps it.
func (p *pool) putIdle(proc *process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = append(p.idle, proc)
	proc.idleTimer.Reset(p.spec.IdleTimeout)
}

// reap removes proc from the idle list if it is still there.
func (p *pool) reap(proc *process) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.Index(p.idle, proc)
	if i < 0 {
		return false
	}
	p.idle = slices.Delete(p.idle, i, i+1)
	return true
}

// drainBody reads what is left of a response so its connection can be reused.
func drainBody(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	_ = r.Close()
}
