package fdktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/internal/fncontract"
	"github.com/fnfleet/fnfleet/internal/fncontract/socket"
)

// Agent is a fake Fn agent bound to one running function container.
type Agent struct {
	// Dir is the container's socket directory; Env its environment.
	Dir string
	Env []string

	client *http.Client
	callMu sync.Mutex // the agent sends one call at a time

	stopOnce sync.Once
	stop     func() error
	stopErr  error
	stderr   *lockedBuffer
}

// Start runs h in this process under the Fn contract (fdk.Serve with an
// injected environment) and returns once its socket passed the agent's
// checks. The function is stopped, and its Serve error reported, when the
// test ends.
func Start(t testing.TB, h fdk.Handler, opts Options) *Agent {
	t.Helper()
	dir := socketDir(t, opts)
	env := Environ(dir, opts)
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- fdk.Serve(ctx, h, fdk.Options{Env: env, Logger: logger}) }()

	a := newAgent(dir, env)
	a.stop = func() error {
		cancel()
		return <-served
	}
	exited := make(chan error, 1)
	go func() {
		// Relay an early return of Serve without consuming it for stop.
		select {
		case err := <-served:
			served <- err
			exited <- err
		case <-ctx.Done():
		}
	}()
	wctx, wcancel := context.WithTimeout(ctx, HotStartTimeout)
	defer wcancel()
	if _, err := WaitForSocket(wctx, dir, exited); err != nil {
		cancel()
		t.Fatalf("fdktest: starting in-process function: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("fdktest: in-process function stopped with an error: %v", err)
		}
	})
	return a
}

// StartBinary runs the built function at path as the agent would (its
// environment only, no arguments) and returns once its socket passed the
// agent's checks. When the test ends the process gets SIGTERM and must exit
// cleanly; its stderr is logged on failure.
func StartBinary(t testing.TB, path string, opts Options) *Agent {
	t.Helper()
	dir := socketDir(t, opts)
	a, err := StartProcess(context.Background(), path, dir, opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("fdktest: function process did not stop cleanly: %v\nstderr:\n%s", err, a.Stderr())
		}
	})
	return a
}

// StartProcess starts the function binary at path with dir as its socket
// directory and waits (up to HotStartTimeout) for its socket. The caller
// must call Stop. It is the building block of StartBinary, for benchmarks
// that time the start.
func StartProcess(ctx context.Context, path, dir string, opts Options) (*Agent, error) {
	env := Environ(dir, opts)
	cmd := exec.Command(path)
	cmd.Env = env
	cmd.Dir = dir
	stderr := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fdktest: starting %s: %w", path, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	a := newAgent(dir, env)
	a.stderr = stderr
	a.stop = func() error {
		select {
		case err := <-waited:
			return fmt.Errorf("fdktest: function had already exited: %w", errOrExit(err))
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-waited:
			return errOrExit(err)
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			return fmt.Errorf("fdktest: function ignored SIGTERM for 15 s and was killed: %w", <-waited)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, HotStartTimeout)
	defer cancel()
	if _, err := WaitForSocket(wctx, dir, waited); err != nil {
		_ = cmd.Process.Kill()
		select {
		case <-waited: //nolint:errcheck // killed on purpose: how it died adds nothing to the start error
		case <-time.After(5 * time.Second):
		}
		return nil, fmt.Errorf("fdktest: starting %s: %w\nstderr:\n%s", path, err, stderr.String())
	}
	return a, nil
}

func socketDir(t testing.TB, opts Options) string {
	if opts.Dir != "" {
		return opts.Dir
	}
	return NewSocketDir(t)
}

func errOrExit(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("fdktest: function exited: %w", err)
}

// Connect returns an Agent for a function that something else started and
// that listens in dir (for example the process-based Fn server). Its Stop only
// closes the connection.
func Connect(dir string) *Agent {
	a := newAgent(dir, nil)
	a.stop = func() error { return nil }
	return a
}

func newAgent(dir string, env []string) *Agent {
	tr := fncontract.Transport(filepath.Join(dir, socket.ListenerName))
	return &Agent{Dir: dir, Env: env, client: &http.Client{Transport: tr}}
}

// Stop stops the function: SIGTERM for a process, cancellation for an
// in-process handler. It waits for the exit and returns its error, if any.
// Later calls return the same result.
func (a *Agent) Stop() error {
	a.stopOnce.Do(func() {
		a.stopErr = a.stop()
		a.client.CloseIdleConnections()
	})
	return a.stopErr
}

// Stderr returns what a function process wrote to stdout and stderr so far.
func (a *Agent) Stderr() string {
	if a.stderr == nil {
		return ""
	}
	return a.stderr.String()
}

// Call is one call as the agent sends it.
type Call struct {
	Body []byte
	// BodyReader, when set, is streamed instead of Body.
	BodyReader  io.Reader
	ContentType string
	// Header holds the caller's headers (before the agent's mapping).
	Header http.Header
	// CallID defaults to a random id.
	CallID string
	// Deadline becomes Fn-Deadline; zero means 30 s from now (Fn's default
	// timeout). The call gives up 2 s after it, so a function that never
	// answers fails the test instead of hanging it.
	Deadline time.Time
	// Trigger, when set, sends the call as an HTTP trigger would.
	Trigger *Trigger
}

// Trigger is the caller's side of an HTTP-trigger call.
type Trigger struct {
	Method string // default GET
	URL    string // default http://localhost:8080/t/app/fn
}

// Result is the container's answer and what the caller would see after
// the agent's mapping.
type Result struct {
	Status int
	Header http.Header
	Body   []byte
	// CallerStatus and CallerHeader are what the caller receives: through
	// a trigger, Fn-Http-Status and the Fn-Http-H-* headers (prefix
	// removed) plus Content-Type and Fn-Call-Id; through /invoke, 200 and
	// the headers as they are. For 502 and 504 they equal Status and Header.
	CallerStatus int
	CallerHeader http.Header
}

// ErrInvalidResponse is wrapped by Call when the function answered with a
// status the agent rejects (anything but 200, 502 and 504), which would
// make the agent shut the container down.
var ErrInvalidResponse = errors.New("fdktest: invalid function response")

// Call sends c to the function and reads the whole answer.
func (a *Agent) Call(ctx context.Context, c Call) (*Result, error) {
	req, err := a.request(ctx, c)
	if err != nil {
		return nil, err
	}
	defer req.cancel()
	a.callMu.Lock()
	defer a.callMu.Unlock()
	resp, err := a.client.Do(req.Request)
	if err != nil {
		return nil, fmt.Errorf("fdktest: calling the function: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("fdktest: reading the function's answer: %w", err)
	}
	res := &Result{Status: resp.StatusCode, Header: resp.Header, Body: body}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		res.CallerStatus, res.CallerHeader = res.Status, res.Header
		return res, nil
	default:
		return res, fmt.Errorf("%w: status %d (the agent accepts only 200, 502 and 504)", ErrInvalidResponse, resp.StatusCode)
	}
	res.CallerStatus, res.CallerHeader, err = fncontract.ResponseToCaller(resp.Header, c.Trigger != nil)
	if err != nil {
		// The Fn server would answer 200; a test wants to hear of it.
		return res, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	if c.Trigger != nil {
		// As the Fn server, the agent names the call in its answer.
		res.CallerHeader.Set(fdk.HeaderCallID, req.Header.Get(fdk.HeaderCallID))
	}
	return res, nil
}

type callRequest struct {
	*http.Request
	cancel context.CancelFunc
}

func (a *Agent) request(ctx context.Context, c Call) (callRequest, error) {
	deadline := c.Deadline
	if deadline.IsZero() {
		deadline = time.Now().Add(30 * time.Second)
	}
	callID := c.CallID
	if callID == "" {
		var b [13]byte
		_, _ = rand.Read(b[:])
		callID = strings.ToUpper(hex.EncodeToString(b[:]))
	}
	rctx, cancel := context.WithDeadline(ctx, deadline.Add(2*time.Second))
	var body io.Reader = bytes.NewReader(c.Body)
	if c.BodyReader != nil {
		body = c.BodyReader
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, "http://localhost/call", body)
	if err != nil {
		cancel()
		return callRequest{}, fmt.Errorf("fdktest: building the call: %w", err)
	}
	caller := c.Header
	if c.ContentType != "" {
		caller = c.Header.Clone()
		if caller == nil {
			caller = http.Header{}
		}
		caller.Set("Content-Type", c.ContentType)
	}
	var trigger *fncontract.Trigger
	if c.Trigger != nil {
		trigger = &fncontract.Trigger{Method: c.Trigger.Method, URL: c.Trigger.URL}
		if trigger.Method == "" {
			trigger.Method = http.MethodGet
		}
		if trigger.URL == "" {
			trigger.URL = "http://localhost:8080/t/app/fn"
		}
	}
	req.Header = fncontract.RequestToFunction(caller, trigger)
	req.Header.Set(fdk.HeaderCallID, callID)
	req.Header.Set(fdk.HeaderDeadline, deadline.UTC().Format(time.RFC3339))
	return callRequest{Request: req, cancel: cancel}, nil
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Build compiles the main package pkg (an import path or a directory) into
// the test's temporary directory and returns the binary's path. It builds
// as a function's image does (see functions/echo/Dockerfile): static, with
// no cgo, symbols stripped, so that tests and benchmarks run what Fn runs.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fdktest: go build %s: %v\n%s", pkg, err, b)
	}
	return out
}
