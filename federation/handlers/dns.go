package handlers

import (
	"context"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"k8s.io/client-go/dynamic"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/dns"
	"github.com/fnfleet/fnfleet/federation/dns/health"
	"github.com/fnfleet/fnfleet/federation/dns/providers"
	"github.com/fnfleet/fnfleet/federation/dns/vantage"
	"github.com/fnfleet/fnfleet/federation/events"
)

// Probe bounds of the dns function: a pass must end within the dns
// schedule's send timeout (5/6 of its 2 s), or a hung member would make
// every pass time out. The hub's probe (600 ms) and, only when it fails,
// the vantage points' (900 ms, their own 600 ms probe inside) run one
// after the other: 1.5 s at worst, plus the hub's reads and writes.
const (
	dnsProbeTimeout   = 600 * time.Millisecond
	dnsVantageTimeout = 900 * time.Millisecond
)

type dnsShell struct {
	dns *control.DNS
}

// NewDNS returns the dns function: one pass of control.DNS (probe the
// members serving apps with names, plan every name, write each zone's
// differences, record what each app's names answer). JSON: {}, answered
// with the pass's summary. Events: dns.due and the decision and health
// events (app placed or deleted, a member changed, turned Ready, Parked
// or Failed).
func NewDNS() fdk.Handler {
	return &function[*dnsShell]{name: DNS, build: buildDNS, event: dnsEvent, json: dnsJSON}
}

func buildDNS(cfg config) (*dnsShell, error) {
	h, rc, log, err := cfg.hub(DNS)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	checker, err := health.NewChecker(health.Config{
		ProxyURL: cfg[ConfigDNSProbeProxy], Timeout: dnsProbeTimeout,
		Vantage: vantage.New(vantage.Config{Timeout: dnsVantageTimeout, Logger: log}),
		Logger:  log,
	})
	if err != nil {
		return nil, err
	}
	zoneProvider := func(ctx context.Context, z *v1alpha1.DNSZone) (dns.Provider, error) {
		return providers.New(ctx, z, providers.Env{Secrets: h.Secrets, Dynamic: dyn, Logger: log})
	}
	d, err := control.NewDNS(control.DNSConfig{Hub: h, Health: checker, Provider: zoneProvider, Logger: log})
	if err != nil {
		return nil, err
	}
	return &dnsShell{dns: d}, nil
}

func dnsJSON(ctx context.Context, s *dnsShell, body []byte) (any, error) {
	var req struct{}
	if err := decodeJSON(body, &req, "{}"); err != nil {
		return nil, err
	}
	sum, err := s.dns.Reconcile(ctx)
	return sum, hubError(err)
}

func dnsEvent(ctx context.Context, s *dnsShell, e event.Event) (deferral, error) {
	switch e.Type() {
	case events.TypeDNSDue, events.TypeAppPlaced, events.TypeAppDeleted, events.TypeClusterChanged,
		events.TypeClusterReady, events.TypeClusterParked, events.TypeClusterFailed:
		_, err := s.dns.Reconcile(ctx)
		return deferral{}, hubError(err)
	}
	return deferral{}, notHandled(DNS, e)
}
