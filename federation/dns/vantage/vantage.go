// Package vantage is the hub's way of seeing a member from elsewhere: it
// puts the probe function (Fn app fnfleet-probe, function probe) on other
// members' Fn and asks it to probe a URL, so that the dns function drops a
// member only when members other than the hub find it down too (package
// health, Confirm). The function itself is handlers.NewProbe; this package
// holds what both sides share: the Fn app, the request and the answer.
package vantage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/dns/health"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	"github.com/fnfleet/fnfleet/federation/fninvoke"
)

// The probe function on every member's Fn.
const (
	// AppName is its Fn app: one of its own, not app fnfleet, which runs
	// on the hub only and needs the hub's config.
	AppName = "fnfleet-probe"
	// Function is its Fn function name.
	Function = "probe"
	// MaxTimeout bounds one probe the function makes: above the hub's 2 s
	// and below the function's Fn timeout (limits below), so a probe that
	// runs its whole timeout still answers.
	MaxTimeout = 10 * time.Second
)

// The probe function's Fn limits (functions/probe/func.yaml says the same;
// a test holds them equal). Memory: the function does one GET at a time,
// but links the handlers package and with it client-go, whose package
// initialisation is most of its peak RSS: 71-72 MiB measured
// (TestClientDeploysAndAsks holds it under the limit), so 64 MB is too
// little and 128 MB leaves 75% headroom. Timeout: MaxTimeout plus margin. Idle timeout: Fn's most, an
// hour, as a drop waits for the function's answer and a cold start (a
// container's, on Fn with Docker: up to a second) would eat into the 10 s
// a hung member may take to leave the answers.
const (
	memoryMB           = 128
	timeoutSeconds     = 15
	idleTimeoutSeconds = 3600
)

// Image is the probe function's image, at the fnfleet version the
// management functions are (localmode.FunctionsVersion: the local fleet
// maps it to bin/probe, and its test holds the two equal).
const Image = "fnfleet/probe:0.0.1"

// App is the Fn app deployed on each member.
func App() *v1alpha1.FnApp {
	return &v1alpha1.FnApp{Name: AppName, Functions: []v1alpha1.Function{{
		Name: Function, Image: Image,
		MemoryMB: memoryMB, TimeoutSeconds: timeoutSeconds, IdleTimeoutSeconds: idleTimeoutSeconds,
	}}}
}

// Request is what the probe function reads: `fn invoke fnfleet-probe
// probe` with {"url": "http://...", "timeoutMs": 2000}.
type Request struct {
	// URL is the http(s) URL to GET.
	URL string `json:"url"`
	// TimeoutMs bounds the GET, in milliseconds: 1 to 10000, 2000 when
	// unset.
	TimeoutMs int64 `json:"timeoutMs,omitempty"`
}

// Answer is what the probe function answers.
type Answer struct {
	// Up: the URL answered 2xx in time.
	Up bool `json:"up"`
	// Status is the HTTP status, 0 when none came.
	Status int `json:"status"`
	// Reason says what happened.
	Reason string `json:"reason"`
	// Ms is how long the GET took.
	Ms int64 `json:"ms"`
}

// callMargin is what a call to the probe function may take beyond its
// probe's timeout when Config.Timeout does not say: Fn's dispatch to a hot
// function is milliseconds, and a cold start of the process (Fn's first
// call after a deploy) well under a second.
const callMargin = time.Second

// deployTimeout bounds one deploy of the probe function on a member: five
// or six Fn API calls, milliseconds on a healthy Fn, seconds on a loaded
// one. It runs beside the calls that wait for it, not inside their bound,
// so a deploy slower than a call still completes for the next one.
const deployTimeout = 30 * time.Second

// Config configures a Client. The zero value is ready.
type Config struct {
	// Timeout bounds one call to a vantage point, from asking to its
	// answer (its own probe, with the timeout the checker passes,
	// inside). Unset, or not above that probe timeout, it is the probe
	// timeout plus a second: a vantage point must be able to wait out a
	// hung member's probe, or it would never find the member down.
	Timeout time.Duration
	// HTTPClient calls the members' Fn APIs; nil means a client of its own.
	HTTPClient *http.Client
	// Logger receives the deploys; nil means slog.Default().
	Logger *slog.Logger
}

// Client asks members' probe functions to probe URLs, deploying the
// function (Image) on a member's Fn the first time it is asked there (once
// per process) and again when the member lost it. It implements
// health.VantageProber and is safe for concurrent use.
type Client struct {
	cfg Config

	mu      sync.Mutex
	members map[string]*member // by Fn API URL
}

// member is one member's Fn, as the client knows it.
type member struct {
	inv *fninvoke.Client

	mu       sync.Mutex
	ensured  bool
	ensuring chan struct{} // closed when the deploy in flight ends; nil when none is
	lastErr  error         // the last deploy's failure
}

// New returns a client.
func New(cfg Config) *Client {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Client{cfg: cfg, members: map[string]*member{}}
}

// Ensure deploys the probe function on the Fn at fnAPI unless this client
// did already, waiting for the deploy as long as ctx lets it. Probe does it
// on its own; a caller may do it earlier, when a member becomes ready, so
// that the first confirmation there does not wait for the deploy.
func (c *Client) Ensure(ctx context.Context, fnAPI string) error {
	m, err := c.member(fnAPI)
	if err != nil {
		return err
	}
	return c.ensure(ctx, fnAPI, m)
}

// Probe asks the probe function on member from to GET url within timeout.
// An error means no answer came from the function (the member or its Fn is
// unreachable, the function is still being deployed there, or it failed):
// the member then has no say.
func (c *Client) Probe(ctx context.Context, from health.Vantage, url string, timeout time.Duration) (health.Result, error) {
	if timeout <= 0 {
		timeout = health.DefaultTimeout
	}
	timeout = min(timeout, MaxTimeout)
	bound := c.cfg.Timeout
	if bound <= timeout {
		bound = timeout + callMargin
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	m, err := c.member(from.FnAPI)
	if err != nil {
		return health.Result{}, fmt.Errorf("vantage %s: %w", from.Cluster, err)
	}
	if err := c.ensure(ctx, from.FnAPI, m); err != nil {
		return health.Result{}, fmt.Errorf("vantage %s: %w", from.Cluster, err)
	}
	body, err := json.Marshal(Request{URL: url, TimeoutMs: timeout.Milliseconds()})
	if err != nil {
		return health.Result{}, fmt.Errorf("vantage %s: %w", from.Cluster, err)
	}
	header := http.Header{"Content-Type": {"application/json"}}
	a, err := m.inv.Invoke(ctx, AppName, Function, header, body)
	if errors.Is(err, fninvoke.ErrNotFound) {
		// The member's Fn lost the app (its data reset, or someone
		// removed it): deploy it again, once.
		m.forget()
		if err = c.ensure(ctx, from.FnAPI, m); err == nil {
			a, err = m.inv.Invoke(ctx, AppName, Function, header, body)
		}
	}
	if err != nil {
		return health.Result{}, fmt.Errorf("vantage %s: %w", from.Cluster, err)
	}
	if a.Status != http.StatusOK {
		return health.Result{}, fmt.Errorf("vantage %s: the probe function at %s answered %d: %.200s", from.Cluster, from.FnAPI, a.Status, a.Body)
	}
	var ans Answer
	if err := json.Unmarshal(a.Body, &ans); err != nil {
		return health.Result{}, fmt.Errorf("vantage %s: the probe function at %s answered what is not its JSON (%w): %.200s", from.Cluster, from.FnAPI, err, a.Body)
	}
	return health.Result{Up: ans.Up, Status: ans.Status, Reason: ans.Reason, Took: time.Duration(ans.Ms) * time.Millisecond}, nil
}

// member returns the client's record of the Fn at fnAPI.
func (c *Client) member(fnAPI string) (*member, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.members[fnAPI]; ok {
		return m, nil
	}
	inv, err := fninvoke.New(fnAPI, c.cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	m := &member{inv: inv}
	c.members[fnAPI] = m
	return m, nil
}

// ensure deploys the app on m unless it is known to be there, and waits
// for the deploy while ctx lets it. The deploy runs on its own, bounded by
// deployTimeout: a call's bound (about a second) may be shorter than a
// first deploy on a loaded Fn, which must still finish for the next call.
// Concurrent calls on one member wait for the one deploy.
func (c *Client) ensure(ctx context.Context, fnAPI string, m *member) error {
	m.mu.Lock()
	if m.ensured {
		m.mu.Unlock()
		return nil
	}
	done := m.ensuring
	if done == nil {
		done = make(chan struct{})
		m.ensuring = done
		go c.deploy(context.WithoutCancel(ctx), fnAPI, m, done)
	}
	m.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("deploy the probe function on %s: still running: %w", fnAPI, context.Cause(ctx))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.ensured {
		return m.lastErr
	}
	return nil
}

// deploy puts the app on m's Fn and records the outcome.
func (c *Client) deploy(ctx context.Context, fnAPI string, m *member, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, deployTimeout)
	defer cancel()
	_, err := fndeploy.Apply(ctx, fnAPI, App())
	m.mu.Lock()
	m.ensured, m.ensuring, m.lastErr = err == nil, nil, err
	if err != nil {
		m.lastErr = fmt.Errorf("deploy the probe function on %s: %w", fnAPI, err)
	}
	m.mu.Unlock()
	close(done)
	if err != nil {
		c.cfg.Logger.WarnContext(ctx, "probe function not deployed on a member", "fn_api", fnAPI, "err", err.Error())
		return
	}
	c.cfg.Logger.InfoContext(ctx, "probe function deployed on a member", "fn_api", fnAPI, "image", Image)
}

// forget makes the next ensure deploy again.
func (m *member) forget() {
	m.mu.Lock()
	m.ensured = false
	m.mu.Unlock()
}
