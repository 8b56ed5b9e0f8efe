// Package rfc2136 writes the fleet's records into an authoritative DNS
// server by dynamic update (RFC 2136), signed with a TSIG key (RFC 8945):
// BIND, Knot, PowerDNS and others. It reads records by plain queries of
// the names it is asked about, never by transferring the zone (which
// external-dns' rfc2136 provider does every cycle), and guards every write
// with prerequisites, so a concurrent writer is never overwritten: the
// server applies a message only if the records are still what the writer
// last read.
package rfc2136

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	fleetdns "github.com/fnfleet/fnfleet/federation/dns"
)

// Defaults for the Config fields left zero.
const (
	// DefaultTimeout bounds each message's round trip, connecting
	// included.
	DefaultTimeout = 5 * time.Second
	// DefaultBatchNames names per update message, a name and its
	// ownership name counting as one: 100 such pairs of a few records each
	// stay far below the 64 KiB a DNS message holds over TCP, and 10,000
	// changed names take 100 round trips.
	DefaultBatchNames = 100
)

// Config says which server and zone, and the key that signs updates.
type Config struct {
	// Server is the primary server's host:port, e.g. 192.0.2.53:53.
	Server string
	// Zone is the zone's fully qualified name, e.g. fleet.example.com.
	Zone string
	// KeyName is the TSIG key's name as the server knows it.
	KeyName string
	// Algorithm is hmac-sha256 (when empty) or hmac-sha512.
	Algorithm v1alpha1.TSIGAlgorithm
	// Secret is the key's secret in base64, as tsig-keygen prints it.
	Secret string
	// Timeout bounds each message (DefaultTimeout when zero).
	Timeout time.Duration
	// BatchNames is the most names one update message carries, a name
	// and its ownership name counting as one (DefaultBatchNames when
	// zero).
	BatchNames int
	// Logger receives a line per update message at debug level and one
	// per conflict (none when nil).
	Logger *slog.Logger
}

// Provider reads and writes one zone's records on one server. It is safe
// for concurrent use.
type Provider struct {
	server, zone string
	// keyName is the configured name, for messages; the wire uses keyFQDN.
	keyName, keyFQDN, algorithm string
	batchNames                  int
	client                      *dns.Client
	log                         *slog.Logger

	queries, updates atomic.Int64
}

var _ fleetdns.Provider = (*Provider)(nil)

// ErrRefused is what errors.Is finds in an error for an update the server
// refused for its key: unknown key, bad signature, or a key the zone does
// not grant updates to.
var ErrRefused = errors.New("refused")

// New checks the config and returns a provider; it does not contact the
// server.
func New(cfg Config) (*Provider, error) {
	host, port, err := net.SplitHostPort(cfg.Server)
	if err != nil || host == "" {
		return nil, fmt.Errorf("rfc2136: server %q must be host:port, e.g. 192.0.2.53:53", cfg.Server)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("rfc2136: server %q: port must be 1-65535", cfg.Server)
	}
	zone := strings.ToLower(cfg.Zone)
	if _, ok := dns.IsDomainName(zone); !ok || !dns.IsFqdn(zone) {
		return nil, fmt.Errorf("rfc2136: zone %q must be fully qualified, ending in a dot (fleet.example.com.)", cfg.Zone)
	}
	if cfg.KeyName == "" {
		return nil, errors.New("rfc2136: the TSIG key name is empty: set tsigKeyName to the key's name as the server knows it")
	}
	keyFQDN := dns.CanonicalName(cfg.KeyName)
	if _, ok := dns.IsDomainName(keyFQDN); !ok {
		return nil, fmt.Errorf("rfc2136: TSIG key name %q is not a valid DNS name", cfg.KeyName)
	}
	var algorithm string
	switch cfg.Algorithm {
	case "", v1alpha1.TSIGHMACSHA256:
		algorithm = dns.HmacSHA256
	case v1alpha1.TSIGHMACSHA512:
		algorithm = dns.HmacSHA512
	default:
		return nil, fmt.Errorf("rfc2136: TSIG algorithm %q is not supported: use %s or %s",
			cfg.Algorithm, v1alpha1.TSIGHMACSHA256, v1alpha1.TSIGHMACSHA512)
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("rfc2136: the secret of TSIG key %s is empty", cfg.KeyName)
	}
	if _, err := base64.StdEncoding.DecodeString(cfg.Secret); err != nil {
		return nil, fmt.Errorf("rfc2136: the secret of TSIG key %s is not valid base64 (give it as tsig-keygen prints it): %w", cfg.KeyName, err)
	}
	if cfg.Timeout < 0 || cfg.BatchNames < 0 {
		return nil, fmt.Errorf("rfc2136: timeout %v and batch size %d must not be negative", cfg.Timeout, cfg.BatchNames)
	}
	timeout := cmp.Or(cfg.Timeout, DefaultTimeout)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Provider{
		server:     cfg.Server,
		zone:       zone,
		keyName:    cfg.KeyName,
		keyFQDN:    keyFQDN,
		algorithm:  algorithm,
		batchNames: cmp.Or(cfg.BatchNames, DefaultBatchNames),
		// TCP for everything: an update of 100 names does not fit in a
		// UDP datagram, and a query over TCP is never truncated.
		client: &dns.Client{
			Net:        "tcp",
			Timeout:    timeout,
			TsigSecret: map[string]string{keyFQDN: cfg.Secret},
		},
		log: log.With("server", cfg.Server, "zone", zone),
	}, nil
}

// Capabilities: plain DNS answers every record of a set; it has no
// weights and no view of the caller's region.
func (p *Provider) Capabilities() fleetdns.Capabilities { return fleetdns.Capabilities{} }

// Stats counts the messages a provider has sent.
type Stats struct {
	// Queries is how many queries Records sent (four per name).
	Queries int64
	// Updates is how many update messages Apply sent.
	Updates int64
}

// Stats is how many messages the provider has sent so far: what shows
// that writes follow the changes, not the zone's size.
func (p *Provider) Stats() Stats {
	return Stats{Queries: p.queries.Load(), Updates: p.updates.Load()}
}

// inZone checks that name is a fully qualified name in the provider's
// zone, and returns it lower-cased.
func (p *Provider) inZone(name string) (string, error) {
	n := strings.ToLower(name)
	if _, ok := dns.IsDomainName(n); !ok || !dns.IsFqdn(n) {
		return "", fmt.Errorf("rfc2136: %q is not a fully qualified DNS name", name)
	}
	if !dns.IsSubDomain(p.zone, n) {
		return "", fmt.Errorf("rfc2136: %s is outside zone %s", name, p.zone)
	}
	return n, nil
}
