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

// App is the Fn app deployed on each member, its function run from image
// (handlers.ProbeImage names it for a version).
func App(image string) *v1alpha1.FnApp {
	return &v1alpha1.FnApp{Name: AppName, Functions: []v1alpha1.Function{{
		Name: Function, Image: image,
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
// probe's timeout: Fn's dispatch to a hot function is milliseconds, and a
// cold start of the process (Fn's first call after a deploy) well under a
// second.
const callMargin = time.Second

// Config configures a Client.
type Config struct {
	// Image is the probe function's image (handlers.ProbeImage).
	Image string
	// HTTPClient calls the members' Fn APIs; nil means a client of its own.
	HTTPClient *http.Client
}

// Client asks members' probe functions to probe URLs, deploying the
// function on a member's Fn the first time it is asked there (once per
// process) and again when the member lost it. It implements
// health.VantageProber and is safe for concurrent use.
type Client struct {
	cfg Config

	mu      sync.Mutex
	members map[string]*member // by Fn API URL
}

// member is one member's Fn, as the client knows it.
type member struct {
	inv *fninvoke.Client

	mu      sync.Mutex // one deploy at a time
	ensured bool
}

// New returns a client that deploys the probe function from cfg.Image.
func New(cfg Config) (*Client, error) {
	if cfg.Image == "" {
		return nil, errors.New("vantage: Config.Image is empty: set it to the probe function's image, handlers.ProbeImage(version)")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	return &Client{cfg: cfg, members: map[string]*member{}}, nil
}

// Ensure deploys the probe function on the Fn at fnAPI unless this client
// did already. The dns function may call it when a member becomes ready,
// so that its first confirmation does not wait for the deploy.
func (c *Client) Ensure(ctx context.Context, fnAPI string) error {
	m, err := c.member(fnAPI)
	if err != nil {
		return err
	}
	return c.ensure(ctx, fnAPI, m)
}

// Probe asks the probe function on member from to GET url within timeout.
// An error means no answer came from the function (the member or its Fn is
// unreachable, or the function failed): the member then has no say.
func (c *Client) Probe(ctx context.Context, from health.Vantage, url string, timeout time.Duration) (health.Result, error) {
	if timeout <= 0 {
		timeout = health.DefaultTimeout
	}
	timeout = min(timeout, MaxTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout+callMargin)
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

// ensure deploys the app on m unless it is known to be there. Concurrent
// confirmations on one member wait for one deploy.
func (c *Client) ensure(ctx context.Context, fnAPI string, m *member) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ensured {
		return nil
	}
	if _, err := fndeploy.Apply(ctx, fnAPI, App(c.cfg.Image)); err != nil {
		return fmt.Errorf("deploy the probe function: %w", err)
	}
	m.ensured = true
	return nil
}

// forget makes the next ensure deploy again.
func (m *member) forget() {
	m.mu.Lock()
	m.ensured = false
	m.mu.Unlock()
}
