package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// ProbeURL is the URL the app is probed at on a member whose Fn endpoint
// is endpoint: the app's HTTP triggers answer under <endpoint>/t/<app>, and
// the probe GETs spec.dns.probePath there, by default the source of the
// first trigger of the app's functions (the path its callers use, so a
// broken function is seen, not only a live Fn).
func ProbeURL(endpoint string, app v1alpha1.FleetAppSpec) (string, error) {
	base, err := url.Parse(endpoint)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return "", fmt.Errorf("fn endpoint %q: want http(s)://host:port, as the MemberCluster's status.fnEndpoint is", endpoint)
	}
	path := ""
	if app.DNS != nil {
		path = app.DNS.ProbePath
	}
	for i := 0; path == "" && i < len(app.App.Functions); i++ {
		if tr := app.App.Functions[i].Triggers; len(tr) > 0 {
			path = tr[0].Source
		}
	}
	if path == "" {
		return "", fmt.Errorf("app %s has no HTTP trigger to probe: set spec.dns.probePath, or give a function a trigger", app.App.Name)
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := strings.TrimSuffix(base.String(), "/") + "/t/" + app.App.Name + path
	if _, err := url.Parse(u); err != nil {
		return "", fmt.Errorf("app %s: probe URL %q: %w; fix spec.dns.probePath", app.App.Name, u, err)
	}
	return u, nil
}

// Result is one probe's outcome.
type Result struct {
	// Up is true when the URL answered 2xx within the timeout.
	Up bool
	// Status is the HTTP status, 0 when none came.
	Status int
	// Reason says what happened, e.g. "GET http://...: 503 Service
	// Unavailable" or "GET http://...: timeout after 2s".
	Reason string
	// Took is how long the probe took.
	Took time.Duration
}

// Defaults of Config.
const (
	// DefaultTimeout bounds one probe. An app's trigger on a hot member
	// answers in milliseconds, and a cold start of a function process
	// takes well under a second; 2 s lets those through while two timed
	// out probes and a confirmation still fit in the 10 s a hung member
	// may take to leave the answers (see the package comment).
	DefaultTimeout = 2 * time.Second
	// DefaultConcurrency bounds the probes in flight: 32 connections at
	// once is nothing to a hub, and with every probe of a call hanging,
	// 256 probes take 8 rounds of 2 s; in practice only a hung member's
	// apps hang, and up to 32 of them cost one round.
	DefaultConcurrency = 32
	// maxDrain bounds what is read of an answer's body, so that the
	// connection is reused for the next tick's probe: a probe reads no
	// more than a small health page.
	maxDrain = 4 << 10
)

// Prober GETs probe URLs. It is safe for concurrent use.
type Prober struct {
	client  *http.Client
	timeout time.Duration
}

// NewProber returns a prober whose client goes through cfg.ProxyURL when it
// is set (and never through the environment's proxy: a function's
// environment is its Fn config only, and a test must be able to cut
// exactly one path).
func NewProber(cfg Config) (*Prober, error) {
	cfg = cfg.withDefaults()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if cfg.ProxyURL != "" {
		u, err := url.Parse(cfg.ProxyURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("probe proxy %q: want http://host:port", cfg.ProxyURL)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	// One member serves many apps: keep a connection per probe in flight,
	// not the default 2, so that each tick does not dial again.
	tr.MaxIdleConnsPerHost = cfg.Concurrency
	return &Prober{
		client: &http.Client{
			Transport: tr,
			// A redirect would probe somewhere else than this member:
			// a 3xx is an answer that is not 2xx, so down.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: cfg.Timeout,
	}, nil
}

// Probe GETs url, waiting at most timeout (the prober's own when 0). It
// returns an error only when ctx ended first: then nothing was learned of
// the member, and the caller must not count it as down.
func (p *Prober) Probe(ctx context.Context, rawURL string, timeout time.Duration) (Result, error) {
	if timeout <= 0 {
		timeout = p.timeout
	}
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r := p.get(pctx, rawURL, timeout)
	r.Took = time.Since(start)
	if !r.Up && ctx.Err() != nil {
		return r, fmt.Errorf("probe %s: %w", rawURL, context.Cause(ctx))
	}
	return r, nil
}

func (p *Prober) get(ctx context.Context, rawURL string, timeout time.Duration) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return Result{Reason: fmt.Sprintf("GET %s: %v", rawURL, err)}
	}
	req.Header.Set("User-Agent", "fnfleet-probe")
	resp, err := p.client.Do(req)
	if err != nil {
		return Result{Reason: fmt.Sprintf("GET %s: %s", rawURL, failure(ctx, err, timeout))}
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	return Result{
		Up:     resp.StatusCode >= 200 && resp.StatusCode <= 299,
		Status: resp.StatusCode,
		Reason: fmt.Sprintf("GET %s: %s", rawURL, resp.Status),
	}
}

// failure says why no answer came, without the url.Error's repetition of
// the method and URL: a timeout says the bound, a refused or reset
// connection what the network said.
func failure(ctx context.Context, err error, timeout time.Duration) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return "timeout after " + timeout.String()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout after " + timeout.String()
	}
	return err.Error()
}
