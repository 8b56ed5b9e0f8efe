package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/dns/health"
	"github.com/fnfleet/fnfleet/federation/dns/vantage"
)

// Probe is the probe function's name. It is not a function of app fnfleet:
// it runs on every member's Fn, in app vantage.AppName, where the hub's dns
// function asks it to probe another member (package vantage).
const Probe = vantage.Function

// probeExample is what the probe function reads.
const probeExample = `{"url":"http://127.0.1.2:8080/t/hello/hello","timeoutMs":2000}`

// NewProbe returns the probe function: JSON {"url": ..., "timeoutMs": n}
// GETs the URL from the member it runs on and answers {"up", "status",
// "reason", "ms"} (vantage.Answer), 2xx within the timeout being up. It
// reads no config and no hub: a member runs it with nothing of the hub's.
// It takes no events.
func NewProbe() fdk.Handler {
	return &function[*health.Prober]{name: Probe, build: buildProbe, event: probeEvent, json: probeJSON}
}

func buildProbe(config) (*health.Prober, error) {
	return health.NewProber(health.Config{})
}

func probeEvent(_ context.Context, _ *health.Prober, e event.Event) (deferral, error) {
	return deferral{}, notHandled(Probe, e)
}

func probeJSON(ctx context.Context, p *health.Prober, body []byte) (any, error) {
	var req vantage.Request
	if err := decodeJSON(body, &req, probeExample); err != nil {
		return nil, err
	}
	if req.URL == "" {
		return nil, missing("url", probeExample)
	}
	// Only http(s): the function answers anyone who reaches the member's
	// Fn API, and must not be a way to read files or other schemes.
	if u, err := url.Parse(req.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, cloudevent.Errorf(http.StatusBadRequest, "url %q is not an http(s) URL with a host; send JSON like %s", req.URL, probeExample)
	}
	timeout := health.DefaultTimeout
	if req.TimeoutMs != 0 {
		timeout = time.Duration(req.TimeoutMs) * time.Millisecond
	}
	if timeout <= 0 || timeout > vantage.MaxTimeout {
		return nil, cloudevent.Errorf(http.StatusBadRequest, "timeoutMs %d is out of range: send 1 to %d (the function's own Fn timeout must outlast it)",
			req.TimeoutMs, vantage.MaxTimeout.Milliseconds())
	}
	r, err := p.Probe(ctx, req.URL, timeout)
	if err != nil {
		return nil, cloudevent.WithStatus(http.StatusServiceUnavailable, fmt.Errorf("the call ended before the probe: %w", err))
	}
	return vantage.Answer{Up: r.Up, Status: r.Status, Reason: r.Reason, Ms: r.Took.Milliseconds()}, nil
}
