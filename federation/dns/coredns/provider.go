// Package coredns writes a zone's records into etcd for CoreDNS' etcd
// plugin, which answers every query by reading etcd (no watch, no cache
// unless the cache plugin is configured), so a committed write is answered
// by the next query.
//
// # Key layout
//
// The plugin finds a name's records by its path (hello.fleet.example.com.
// under /skydns is /skydns/com/example/fleet/hello) and, for most query
// types (A, AAAA, TXT, MX, SRV), reads every key below that path, the
// whole subtree, falling back to the path itself only when nothing is
// below it; CNAME and PTR queries read the path itself alone. Run against
// CoreDNS 1.15.0 (TestPluginSubtree), with hello's A record at hello/x1,
// the ownership TXT of _fnfleet.hello at hello/_fnfleet/o and an A record
// of a child name at hello/eu/y1:
//
//	A hello      -> 10.0.0.1, 10.9.9.9 (the child's address too)
//	TXT hello    -> "owner" (the ownership record of _fnfleet.hello)
//	CNAME hello  -> NXDOMAIN (nothing at the path itself)
//
// NXDOMAIN is worse than a wrong type: a resolver may take it to mean the
// name and everything below it do not exist (RFC 8020) and cache that. So
// each of the fleet's names is written as:
//
//	<path>                  a marker {"group":"<name>"} while the name
//	                        has records: no host, no text, so the plugin
//	                        answers nothing from it, but CNAME queries get
//	                        NODATA instead of NXDOMAIN
//	<path>/@<type>-<hash>   one key per record (target) of each set, with
//	                        a hash of the target, so an unchanged target
//	                        of an updated set is not rewritten; '@' starts
//	                        no host name label, so a leaf is never taken
//	                        for a child name
//
// and every record carries "group": its name. Of a subtree's records the
// plugin keeps only those of the group of the shallowest ones (msg.Group),
// so a name holding records answers exactly its own: A at hello is hello's
// addresses alone, TXT at hello is NODATA, and _fnfleet.hello still
// answers its TXT. A CNAME and addresses never share a name (the planner's
// rule), and a switch from one to the other is one transaction.
//
// A CNAME is not copied to the name's own key, so a CNAME query at a
// CNAME name gets NODATA (A and AAAA queries get the CNAME and its
// target's addresses): a record at a name's own key is also a record just
// below its parent, at the parent's depth, which defeats the group of the
// parent (TestPluginSubtree: A at a name then answers its child's CNAME).
//
// What no layout fixes: a name holding no records of its own (an empty
// non-terminal such as eu.fleet.example.com. above
// hello.eu.fleet.example.com., or a name left with only its ownership
// record) is answered with its descendants' records; and an A query at a
// CNAME whose target is in the zone but has no addresses gets nothing, not
// the CNAME.
//
// # Concurrent writers
//
// Apply reads the names it changes in one read-only transaction, checks
// each name's record sets against what the changes expect (Create: no set
// of that type; Update, Delete: exactly Old), and writes the names that
// match in transactions guarded by that read: the name's own key and every
// leaf at the ModRevision read (a key deleted meanwhile compares as 0),
// and no '@' leaf newer than the read (a range compare, which catches one
// created meanwhile). When a guard fails, the transaction's else branch
// reads its names again and the check runs on what the other writer left:
// names no longer as expected are conflicts, nothing written there; the
// rest are written on the next try.
//
// A name and its ownership name _fnfleet.<name> are one unit (dns.Group):
// read in the same batch, checked as a whole, and written in one
// transaction under the guards of both. Where either is not as expected,
// both are conflicts and neither is written: an ownership TXT written
// beside another writer's A record would make the registry take that
// record for the fleet's and overwrite it.
package coredns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/fnfleet/fnfleet/federation/dns"
)

// DefaultPrefix is the etcd plugin's default path.
const DefaultPrefix = "/skydns"

// defaultTimeout bounds one etcd request when Config.Timeout is zero: the
// plugin's own etcd timeout is 5 s.
const defaultTimeout = 5 * time.Second

// maxTxnOps is etcd's default --max-txn-ops: the limit on each of a
// transaction's compares, success ops and failure ops.
const maxTxnOps = 128

// maxAttempts bounds how often Apply writes a batch whose guards failed
// while its names still held what the changes expect (another writer
// touched and restored them): names still unwritten after that are
// reported as conflicts.
const maxAttempts = 5

// Config says which etcd and zone to write.
type Config struct {
	// Endpoints are etcd's client URLs.
	Endpoints []string
	// Prefix is the etcd plugin's path; DefaultPrefix when empty.
	Prefix string
	// Zone is the zone CoreDNS serves, fully qualified; names outside it
	// are refused.
	Zone string
	// Username and Password, when etcd has authentication on.
	Username, Password string
	// Timeout bounds each etcd request; 5 s when zero.
	Timeout time.Duration
	// Logger; slog.Default() when nil.
	Logger *slog.Logger
}

// Provider writes a zone's records into etcd for CoreDNS. It implements
// dns.Provider and is safe for concurrent use.
type Provider struct {
	cfg    Config
	client *clientv3.Client
	log    *slog.Logger

	reads, txns, failed, ops atomic.Int64

	// afterRead, when set (by tests), runs between Apply's read of a batch
	// and its writes: where another writer's changes make the guards fail.
	afterRead func()
}

var _ dns.Provider = (*Provider)(nil)

// Stats count the provider's round trips to etcd since New, so that tests
// and benchmarks can show writes in proportion to changes.
type Stats struct {
	// Reads are read-only requests: Records (one per 64 names), List
	// (one per page), and Apply's read of the names it changes.
	Reads int64
	// Txns are write transactions sent, those whose guards failed
	// included.
	Txns int64
	// GuardsFailed are the transactions not committed because another
	// writer changed their names after Apply read them.
	GuardsFailed int64
	// Ops are the puts and deletes of committed transactions.
	Ops int64
}

// New connects to etcd and checks that it answers (and accepts the
// credentials) by reading the zone's key.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("coredns: no etcd endpoints: set the DNSZone's coredns.etcdEndpoints")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || strings.HasSuffix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("coredns: prefix %q must start with '/' and not end with one, e.g. %s", cfg.Prefix, DefaultPrefix)
	}
	if _, ok := mdns.IsDomainName(cfg.Zone); !ok || !mdns.IsFqdn(cfg.Zone) {
		return nil, fmt.Errorf("coredns: zone %q is not a fully qualified name (with its trailing dot, as fleet.example.com. is)", cfg.Zone)
	}
	cfg.Zone = strings.ToLower(cfg.Zone)
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.Timeout,
		Username:    cfg.Username,
		Password:    cfg.Password,
		// The client's own zap logs would repeat, per retry, what the
		// returned errors say.
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("coredns: etcd client for %v: %w", cfg.Endpoints, err)
	}
	p := &Provider{cfg: cfg, client: client, log: log.With("provider", "coredns", "zone", cfg.Zone)}
	zoneKey, err := nameKey(cfg.Prefix, cfg.Zone)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("coredns: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if _, err := client.Get(rctx, zoneKey, clientv3.WithCountOnly()); err != nil {
		client.Close()
		return nil, fmt.Errorf("coredns: etcd at %v does not answer: %w (check etcdEndpoints and the credentials Secret)", cfg.Endpoints, err)
	}
	return p, nil
}

// Close closes the etcd client.
func (p *Provider) Close() error { return p.client.Close() }

// Capabilities: the etcd plugin answers every record at a name, so it can
// express neither weights nor the caller's region.
func (p *Provider) Capabilities() dns.Capabilities { return dns.Capabilities{} }

// Stats returns the counts so far.
func (p *Provider) Stats() Stats {
	return Stats{Reads: p.reads.Load(), Txns: p.txns.Load(), GuardsFailed: p.failed.Load(), Ops: p.ops.Load()}
}

// Records returns the record sets at names, read in one round trip per 64
// names, each batch at one revision.
func (p *Provider) Records(ctx context.Context, names []string) ([]dns.Record, error) {
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	var states []*nameState
	for batch := range slices.Chunk(names, maxTxnOps/readOpsPerName) {
		read, err := p.read(ctx, batch)
		if err != nil {
			return nil, err
		}
		states = append(states, read...)
	}
	return recordSets(states)
}

// recordSets are the sets of every state, sorted by name and type.
func recordSets(states []*nameState) ([]dns.Record, error) {
	var out []dns.Record
	for _, s := range states {
		sets, err := s.sets()
		if err != nil {
			return nil, fmt.Errorf("coredns: %w", err)
		}
		for _, r := range sets {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b dns.Record) int {
		return strings.Compare(a.Name+" "+a.Type, b.Name+" "+b.Type)
	})
	return out, nil
}

// readOpsPerName: the name's key and its leaves.
const readOpsPerName = 2

// read reads names' own keys in one read-only transaction.
func (p *Provider) read(ctx context.Context, names []string) ([]*nameState, error) {
	states := make([]*nameState, len(names))
	var ops []clientv3.Op
	for i, name := range names {
		s, err := p.newState(name)
		if err != nil {
			return nil, err
		}
		states[i] = s
		ops = append(ops, s.readOps()...)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	p.reads.Add(1)
	resp, err := p.client.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return nil, fmt.Errorf("coredns: read %d names from etcd at %v: %w", len(names), p.cfg.Endpoints, err)
	}
	fillStates(states, resp)
	return states, nil
}

func (p *Provider) newState(name string) (*nameState, error) {
	name = strings.ToLower(name)
	if !mdns.IsFqdn(name) || !mdns.IsSubDomain(p.cfg.Zone, name) {
		return nil, fmt.Errorf("coredns: name %q is not in zone %s (the CoreDNS this provider writes for serves only that zone)", name, p.cfg.Zone)
	}
	key, err := nameKey(p.cfg.Prefix, name)
	if err != nil {
		return nil, fmt.Errorf("coredns: %w", err)
	}
	return &nameState{name: name, key: key}, nil
}

// readOps read the name's key and the keys below it; fillStates keeps the
// leaves of the latter (the keys deeper down belong to other names).
func (s *nameState) readOps() []clientv3.Op {
	return []clientv3.Op{clientv3.OpGet(s.key), clientv3.OpGet(s.dir(), clientv3.WithPrefix())}
}

// fillStates sets each state from the responses of its readOps, in order.
func fillStates(states []*nameState, resp *clientv3.TxnResponse) {
	for i, s := range states {
		s.rev = resp.Header.Revision
		s.exact, s.leaves = nil, nil
		if kvs := resp.Responses[readOpsPerName*i].GetResponseRange().Kvs; len(kvs) > 0 {
			s.exact = kvs[0]
		}
		for _, kv := range resp.Responses[readOpsPerName*i+1].GetResponseRange().Kvs {
			// A marker just below the name is a child name's own key
			// (_fnfleet.<name>'s among them), no record of this name.
			if s.isLeaf(string(kv.Key)) && !isMarker(kv) {
				s.leaves = append(s.leaves, kv)
			}
		}
	}
}

// listPage is how many keys one read of List returns: a 10,000-name zone
// holds about 40,000 keys (a marker and a record for each name and each
// ownership name), some 100 bytes each.
const listPage = 1000

// List returns every record set in the zone, as Records returns them for
// each name holding any, from a read of the zone's whole path in pages of
// listPage keys, all at the revision of the first: the registry's cold
// start and verification (registry.Lister), and the way it finds names it
// owns but no longer knows of.
func (p *Provider) List(ctx context.Context) ([]dns.Record, error) {
	zoneKey, err := nameKey(p.cfg.Prefix, p.cfg.Zone)
	if err != nil {
		return nil, fmt.Errorf("coredns: %w", err)
	}
	from, end := zoneKey+"/", clientv3.GetPrefixRangeEnd(zoneKey+"/")
	states := make(map[string]*nameState)
	state := func(key string) *nameState {
		s := states[key]
		if s == nil {
			s = &nameState{name: p.keyName(key), key: key}
			states[key] = s
		}
		return s
	}
	var rev int64
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(listPage)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		rctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		p.reads.Add(1)
		resp, err := p.client.Get(rctx, from, opts...)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("coredns: list %s from etcd at %v: %w", zoneKey, p.cfg.Endpoints, err)
		}
		rev = resp.Header.Revision
		for _, kv := range resp.Kvs {
			if isMarker(kv) {
				continue
			}
			key := string(kv.Key)
			parent, leaf := key[:strings.LastIndex(key, "/")], key[strings.LastIndex(key, "/")+1:]
			state(parent).leaves = append(state(parent).leaves, kv)
			// A key that is not the fleet's leaf is also a record at its
			// own name, as the plugin answers it there (Records reads it
			// as that name's own key).
			if !strings.HasPrefix(leaf, leafMark) {
				state(key).exact = kv
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	return recordSets(slices.Collect(maps.Values(states)))
}

// keyName is the DNS name of a key below the prefix, nameKey undone.
func (p *Provider) keyName(key string) string {
	labels := strings.Split(strings.TrimPrefix(key, p.cfg.Prefix+"/"), "/")
	slices.Reverse(labels)
	return strings.Join(labels, ".") + "."
}
