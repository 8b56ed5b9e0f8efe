// Package supervise keeps a process running: it starts a command, starts it
// again whenever it exits or is killed (with a backoff, so a command that
// cannot start does not spin), tells who asks the pid of the instance now
// running, and stops it cleanly. `fnfleet up` runs the fleet's own
// processes under it (the hub's Fn server, the scheduler, the event
// source), so one that dies is back within a second and the fleet carries
// on.
//
// Each instance runs in a process group of its own: Ctrl-C at the terminal
// reaches `fnfleet up` alone, which then stops its processes in order, and
// Close's signals reach whatever the instance started in its group.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Defaults. A command that dies at once is started again after 200 ms, then
// 400 ms, doubling to 5 s: a crash loop costs a start every 5 s, while one
// death after a long run is repaired in 200 ms. An instance that ran 10 s
// counts as having started well, and the next death starts the backoff
// over. A stop waits 10 s after SIGTERM before SIGKILL: the Fn server lets
// calls in flight finish for up to its --shutdown-timeout, which `fnfleet
// up` sets below that.
const (
	DefaultMinBackoff = 200 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
	DefaultStableRun  = 10 * time.Second
	DefaultGrace      = 10 * time.Second
)

// Spec is what to run and how.
type Spec struct {
	// Name names the process in logs, e.g. "scheduler".
	Name string
	// Path is the executable; Args its arguments (without argv[0]).
	Path string
	Args []string
	// Env is the environment; nil means this process's.
	Env []string
	// Log is the file every instance's stdout and stderr are appended
	// to; its directory is made if missing.
	Log string
	// OnStart, if set, is called with the pid of each instance right
	// after it started, one call at a time.
	OnStart func(pid int)
	// MinBackoff, MaxBackoff, StableRun and Grace default to the
	// constants above.
	MinBackoff, MaxBackoff, StableRun, Grace time.Duration
	// Logger receives a line per start and exit; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Process is a supervised command.
type Process struct {
	spec Spec
	log  *slog.Logger
	stop chan struct{} // closed by Close
	done chan struct{} // closed when supervising ended

	mu      sync.Mutex
	cmd     *exec.Cmd // the instance running, nil between instances
	started time.Time // when cmd started
	exited  chan struct{}
	starts  int

	closeOnce sync.Once
	closeErr  error
}

// Start starts spec's command and supervises it until Close. It fails only
// if the first instance cannot be started (a wrong path, an unwritable
// log): later instances that fail to start are retried with the backoff.
func Start(spec Spec) (*Process, error) {
	if spec.Name == "" {
		spec.Name = filepath.Base(spec.Path)
	}
	if spec.MinBackoff <= 0 {
		spec.MinBackoff = DefaultMinBackoff
	}
	if spec.MaxBackoff <= 0 {
		spec.MaxBackoff = DefaultMaxBackoff
	}
	if spec.StableRun <= 0 {
		spec.StableRun = DefaultStableRun
	}
	if spec.Grace <= 0 {
		spec.Grace = DefaultGrace
	}
	p := &Process{spec: spec, log: spec.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.log = p.log.With("process", spec.Name)
	if spec.Log != "" {
		if err := os.MkdirAll(filepath.Dir(spec.Log), 0o755); err != nil {
			return nil, fmt.Errorf("supervise %s: log directory: %w", spec.Name, err)
		}
	}
	if err := p.startInstance(); err != nil {
		return nil, fmt.Errorf("supervise %s: %w", spec.Name, err)
	}
	go p.supervise()
	return p, nil
}

// errStopping: Close came first, nothing is started.
var errStopping = errors.New("stopping")

// startInstance starts one instance and records it, unless Close came
// first: the check and the start are under one lock, so Close either sees
// the instance or keeps it from starting.
func (p *Process) startInstance() error {
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = p.spec.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if p.spec.Log != "" {
		f, err := os.OpenFile(p.spec.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("open log: %w", err)
		}
		// The child holds its own descriptor.
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	p.mu.Lock()
	if p.stopping() {
		p.mu.Unlock()
		return errStopping
	}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.spec.Path, err)
	}
	p.cmd, p.started, p.exited = cmd, time.Now(), make(chan struct{})
	p.starts++
	starts := p.starts
	p.mu.Unlock()
	pid := cmd.Process.Pid
	if starts == 1 {
		p.log.Info("started", "pid", pid, "log", p.spec.Log)
	} else {
		p.log.Warn("restarted", "pid", pid, "start", starts, "log", p.spec.Log)
	}
	if p.spec.OnStart != nil {
		p.spec.OnStart(pid)
	}
	return nil
}

// supervise waits for each instance to exit and starts the next, until
// Close.
func (p *Process) supervise() {
	defer close(p.done)
	backoff := p.spec.MinBackoff
	for {
		p.mu.Lock()
		cmd, started, exited := p.cmd, p.started, p.exited
		p.mu.Unlock()
		if cmd != nil {
			err := cmd.Wait()
			ran := time.Since(started)
			// Whatever the instance left in its group goes with it,
			// so the next instance starts alone.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			close(exited)
			p.mu.Lock()
			p.cmd = nil
			p.mu.Unlock()
			if p.stopping() {
				p.log.Info("stopped", "pid", cmd.Process.Pid, "exit", exitOf(err))
				return
			}
			if ran >= p.spec.StableRun {
				backoff = p.spec.MinBackoff
			}
			p.log.Warn("exited; starting it again", "pid", cmd.Process.Pid, "exit", exitOf(err), "ran", ran.Round(time.Millisecond), "after", backoff)
		}
		select {
		case <-p.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, p.spec.MaxBackoff)
		if err := p.startInstance(); errors.Is(err, errStopping) {
			return
		} else if err != nil {
			p.log.Error("cannot start; trying again", "err", err, "after", backoff)
		}
	}
}

func (p *Process) stopping() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// exitOf describes how an instance ended.
func exitOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "signal " + ws.Signal().String()
		}
		return fmt.Sprintf("status %d", ee.ExitCode())
	}
	if err != nil {
		return err.Error()
	}
	return "status 0"
}

// PID is the pid of the instance running now; 0 between instances and
// after Close.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Starts is how many instances have been started.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Close stops supervising and the instance running: SIGTERM to its process
// group, SIGKILL once Grace has passed or ctx ended. It returns once the
// instance has exited; an error says the instance did not stop on SIGTERM
// and was killed. Later calls return the first one's answer.
func (p *Process) Close(ctx context.Context) error {
	p.closeOnce.Do(func() { p.closeErr = p.close(ctx) })
	return p.closeErr
}

func (p *Process) close(ctx context.Context) error {
	p.mu.Lock()
	close(p.stop)
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	var err error
	if cmd != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		grace := time.NewTimer(p.spec.Grace)
		defer grace.Stop()
		select {
		case <-exited:
		case <-grace.C:
			err = fmt.Errorf("%s (pid %d) still ran %s after SIGTERM: killed", p.spec.Name, cmd.Process.Pid, p.spec.Grace)
		case <-ctx.Done():
			err = fmt.Errorf("%s (pid %d) still ran when its stop was cut short (%w): killed", p.spec.Name, cmd.Process.Pid, context.Cause(ctx))
		}
		if err != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	<-p.done
	return err
}
