package rfc2136

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/miekg/dns"
	"golang.org/x/sync/errgroup"

	fleetdns "github.com/fnfleet/fnfleet/federation/dns"
)

// queryConns is how many TCP connections Records queries over at once,
// each carrying its queries one after another: 16 keep a server busy
// without taking much of BIND's 150 TCP clients.
const queryConns = 16

// readTypes are the types Records asks for at each name, in order.
var readTypes = []string{fleetdns.TypeA, fleetdns.TypeAAAA, fleetdns.TypeCNAME, fleetdns.TypeTXT}

// query is one name and type to ask for.
type query struct {
	name   string
	rrtype uint16
}

// Records asks the server for the A, AAAA, CNAME and TXT records at each
// name (four queries a name, over a few reused TCP connections). A name
// that does not exist or holds none of them is absent from the result;
// an answer other than that (SERVFAIL, REFUSED, no answer in time) fails
// the whole call, because the state of that name is then unknown.
func (p *Provider) Records(ctx context.Context, names []string) ([]fleetdns.Record, error) {
	var queries []query
	seen := map[string]bool{}
	for _, name := range names {
		n, err := p.inZone(name)
		if err != nil {
			return nil, err
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		for _, t := range readTypes {
			queries = append(queries, query{name: n, rrtype: types[t]})
		}
	}
	if len(queries) == 0 {
		return nil, nil
	}

	var (
		mu      sync.Mutex
		records []fleetdns.Record
	)
	work := make(chan query)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(work)
		for _, q := range queries {
			select {
			case work <- q:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range min(queryConns, len(queries)) {
		g.Go(func() error {
			conn, err := p.client.DialContext(ctx, p.server)
			if err != nil {
				return fmt.Errorf("rfc2136: connect to %s: %w", p.server, err)
			}
			defer conn.Close()
			for q := range work {
				r, err := p.ask(ctx, conn, q)
				if err != nil {
					return err
				}
				if r != nil {
					mu.Lock()
					records = append(records, *r)
					mu.Unlock()
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(records, func(a, b fleetdns.Record) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type))
	})
	return records, nil
}

// ask sends one query on conn and returns the record set it finds, or nil
// when there is none.
func (p *Provider) ask(ctx context.Context, conn *dns.Conn, q query) (*fleetdns.Record, error) {
	m := new(dns.Msg)
	m.SetQuestion(q.name, q.rrtype)
	p.queries.Add(1)
	r, _, err := p.client.ExchangeWithConnContext(ctx, m, conn)
	what := fmt.Sprintf("%s %s", q.name, dns.TypeToString[q.rrtype])
	if err != nil {
		return nil, fmt.Errorf("rfc2136: query %s at %s: %w", what, p.server, err)
	}
	switch {
	case r.Rcode == dns.RcodeNameError:
		return nil, nil
	case r.Rcode != dns.RcodeSuccess:
		return nil, fmt.Errorf("rfc2136: query %s at %s answered %s: the records there are unknown",
			what, p.server, dns.RcodeToString[r.Rcode])
	case !r.Authoritative:
		return nil, fmt.Errorf("rfc2136: %s is not authoritative for zone %s (query %s): check the server address and that it serves the zone",
			p.server, p.zone, what)
	}
	var rec *fleetdns.Record
	for _, rr := range r.Answer {
		// A query of a name holding a CNAME is answered with the CNAME
		// and what it leads to: keep only the name's own records of
		// the type asked.
		h := rr.Header()
		if h.Rrtype != q.rrtype || dns.CanonicalName(h.Name) != q.name {
			continue
		}
		if rec == nil {
			rec = &fleetdns.Record{Name: q.name, Type: dns.TypeToString[q.rrtype], TTL: h.Ttl}
		}
		// A record set has one TTL (RFC 2181 5.2); take the lowest if a
		// server says otherwise.
		rec.TTL = min(rec.TTL, h.Ttl)
		rec.Targets = append(rec.Targets, target(rr))
	}
	if rec != nil {
		slices.Sort(rec.Targets)
	}
	return rec, nil
}
