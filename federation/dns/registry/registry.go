// Package registry stands between the planner and a provider, as
// external-dns' TXT registry does, with two differences that matter at
// scale: one ownership record per name (not one per record type), at
// _fnfleet.<name> so that it never shares a name with a CNAME (RFC 1034,
// 3.6.2), and a cache of the owned names, so that a cycle reads nothing
// and writes only the differences (zero writes when nothing changed).
//
// fnfleet never changes or deletes a record at a name without its own
// ownership record there; a desired name held by anyone else (records
// without our ownership record, or another owner's) is left alone and
// reported against the app that wants it.
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fnfleet/fnfleet/federation/dns"
)

// DefaultVerifyEvery is how often the cache is checked against the zone.
// Between checks a record someone else changed is not seen: 10 minutes
// keeps a 10,000-name zone's reads (a listing, or 4 queries a name) off
// the 2-second cycle while bounding how long a hand edit lasts.
const DefaultVerifyEvery = 10 * time.Minute

// Name is one name an app wants, with every record set it should hold
// (ownership record excluded).
type Name struct {
	Name    string
	App     string
	TTL     uint32
	Records []dns.Record
}

// Config configures a Registry.
type Config struct {
	Provider dns.Provider
	// Owner is the DNSZone's ownerID: the fleet's name in every ownership
	// record.
	Owner string
	// VerifyEvery defaults to DefaultVerifyEvery.
	VerifyEvery time.Duration
	Logger      *slog.Logger
}

// Registry writes a zone's names through a provider. It is safe for
// concurrent use; syncs of one Registry take turns.
type Registry struct {
	cfg Config

	mu sync.Mutex
	// owned maps each name we own to its record sets as last written or
	// read (ownership record included). nil: cold, read before use.
	owned map[string]map[dns.Key]dns.Record
	// foreign holds names seen holding records we do not own.
	foreign map[string]string
	// stale names are read again before the next diff (a conflict, or an
	// apply whose outcome is unknown).
	stale    map[string]bool
	verified time.Time
}

// Lister is implemented by providers that can list every record set of
// the zone in one go (a zone transfer, a prefix read, a label list). The
// registry lists on its first sync and on each verification; without a
// Lister it reads the names it knows of instead.
type Lister interface {
	List(ctx context.Context) ([]dns.Record, error)
}

// New returns a cold Registry: its first Sync reads the zone.
func New(cfg Config) (*Registry, error) {
	if cfg.Provider == nil {
		return nil, errors.New("dns registry: no provider")
	}
	if cfg.Owner == "" {
		return nil, errors.New("dns registry: no owner id: set the DNSZone's spec.ownerID")
	}
	if cfg.VerifyEvery <= 0 {
		cfg.VerifyEvery = DefaultVerifyEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Registry{cfg: cfg, stale: map[string]bool{}}, nil
}

// Result is what one Sync did.
type Result struct {
	// Written counts the record sets created, updated or deleted.
	Written int
	// Conflicts names, per app, the names it wants that another owner
	// holds, with who holds them.
	Conflicts map[string][]string
	// Names and Records are what the fleet owns in the zone after the
	// sync (ownership records included in Records).
	Names, Records int
	// Verified is true when this sync read the zone before diffing.
	Verified bool
}

// Ownership returns the ownership record text for app.
func (r *Registry) ownership(app string) string {
	return fmt.Sprintf("heritage=fnfleet,owner=%s,app=%s", r.cfg.Owner, app)
}

// parseOwnership reads an ownership record's text: the owner and app, or
// ok false when it is not an fnfleet ownership record.
func parseOwnership(text string) (owner, app string, ok bool) {
	fields := map[string]string{}
	for _, kv := range strings.Split(strings.Trim(text, `"`), ",") {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = v
	}
	if fields["heritage"] != "fnfleet" || fields["owner"] == "" {
		return "", "", false
	}
	return fields["owner"], fields["app"], true
}

// Owners returns which app holds each owned name, for the planner's
// tie-breaks; nil while the registry is cold.
func (r *Registry) Owners() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for name, sets := range r.owned {
		for _, rec := range sets {
			if rec.Type == dns.TypeTXT && rec.Name == dns.OwnerName(name) {
				for _, t := range rec.Targets {
					if _, app, ok := parseOwnership(t); ok {
						out[name] = app
					}
				}
			}
		}
	}
	return out
}

// Sync makes the zone hold want: every name in want with exactly its
// record sets and our ownership record, and no name we own outside it.
// known are names that may be ours though not wanted (what the apps'
// statuses list), read on a cold start when the provider cannot list.
func (r *Registry) Sync(ctx context.Context, want []Name, known []string, now time.Time) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var res Result
	if r.owned == nil || now.Sub(r.verified) >= r.cfg.VerifyEvery {
		if err := r.read(ctx, want, known); err != nil {
			return res, err
		}
		r.verified, res.Verified = now, true
	}
	if len(r.stale) > 0 {
		if err := r.refresh(ctx, slices.Sorted(maps.Keys(r.stale))); err != nil {
			return res, err
		}
	}

	changes, conflicts := r.diff(want)
	res.Conflicts = conflicts
	if !changes.Empty() {
		err := r.cfg.Provider.Apply(ctx, changes)
		var conflict *dns.ConflictError
		switch {
		case errors.As(err, &conflict):
			// Another writer got there first. Nothing of ours was written
			// at those names: they are read again next time, and a name we
			// were claiming is reported against its app meanwhile. Not an
			// error of the sync: the rest is written.
			r.record(changes, conflict.Names)
			claimed := map[string]string{}
			for _, n := range want {
				claimed[n.Name] = n.App
			}
			for _, n := range conflict.Names {
				base := dns.Group(n)
				if !r.stale[base] {
					if app, ok := claimed[base]; ok && r.owned[base] == nil {
						res.Conflicts = addConflict(res.Conflicts, app, base+" is being written by another writer")
					}
				}
				r.stale[base] = true
			}
			r.cfg.Logger.Info("names changed by another writer: read again next sync", "names", conflict.Names)
			res.Written = changes.Len() - conflicted(changes, r.stale)
			err = nil
		case err != nil:
			// What was written is unknown: read every touched name again.
			for _, n := range changes.Names() {
				r.stale[dns.Group(n)] = true
			}
			err = fmt.Errorf("dns registry: write %d record sets: %w", changes.Len(), err)
		default:
			r.record(changes, nil)
			res.Written = changes.Len()
		}
		if err != nil {
			res.Names, res.Records = r.counts()
			return res, err
		}
	}
	res.Names, res.Records = r.counts()
	return res, nil
}

func (r *Registry) counts() (names, records int) {
	for _, sets := range r.owned {
		names++
		records += len(sets)
	}
	return names, records
}

// read rebuilds the cache from the zone: a listing where the provider can,
// else the names wanted and known.
func (r *Registry) read(ctx context.Context, want []Name, known []string) error {
	var (
		recs []dns.Record
		err  error
	)
	if l, ok := r.cfg.Provider.(Lister); ok {
		recs, err = l.List(ctx)
	} else {
		names := slices.Clone(known)
		for _, n := range want {
			names = append(names, n.Name)
		}
		for n := range r.owned {
			names = append(names, n)
		}
		recs, err = r.readNames(ctx, names)
	}
	if err != nil {
		return fmt.Errorf("dns registry: read the zone: %w", err)
	}
	r.owned, r.foreign, r.stale = map[string]map[dns.Key]dns.Record{}, map[string]string{}, map[string]bool{}
	r.absorb(recs, nil)
	return nil
}

// readNames reads each name and its ownership name.
func (r *Registry) readNames(ctx context.Context, names []string) ([]dns.Record, error) {
	var all []string
	for _, n := range names {
		all = append(all, n, dns.OwnerName(n))
	}
	slices.Sort(all)
	return r.cfg.Provider.Records(ctx, slices.Compact(all))
}

// refresh reads names again and replaces what the cache says of them.
func (r *Registry) refresh(ctx context.Context, names []string) error {
	recs, err := r.readNames(ctx, names)
	if err != nil {
		return fmt.Errorf("dns registry: read %d names again: %w", len(names), err)
	}
	r.absorb(recs, names)
	for _, n := range names {
		delete(r.stale, n)
	}
	return nil
}

// absorb sorts records read from the zone into owned and foreign names;
// names, when given, are the names the read covered (forgotten first).
func (r *Registry) absorb(recs []dns.Record, names []string) {
	for _, n := range names {
		delete(r.owned, n)
		delete(r.foreign, n)
	}
	byName := map[string][]dns.Record{}
	for _, rec := range recs {
		base := dns.Group(rec.Name)
		byName[base] = append(byName[base], rec)
	}
	for name, sets := range byName {
		holder := "" // "" none, r.cfg.Owner us, else who
		for _, rec := range sets {
			if rec.Type != dns.TypeTXT || rec.Name != dns.OwnerName(name) {
				continue
			}
			holder = "an unknown owner (a TXT record at " + rec.Name + ")"
			for _, t := range rec.Targets {
				if owner, _, ok := parseOwnership(t); ok {
					holder = owner
				}
			}
		}
		if holder != r.cfg.Owner {
			if holder == "" {
				holder = "records without an ownership record"
			} else if !strings.HasPrefix(holder, "an unknown") {
				holder = "fleet " + holder
			}
			r.foreign[name] = holder
			continue
		}
		m := map[dns.Key]dns.Record{}
		for _, rec := range sets {
			m[rec.Key()] = rec
		}
		r.owned[name] = m
	}
}

// diff is the change from the cache to want, and the names wanted that
// another owner holds (by app).
func (r *Registry) diff(want []Name) (dns.Changes, map[string][]string) {
	var (
		ch        dns.Changes
		conflicts map[string][]string
		wanted    = map[string]bool{}
	)
	for _, n := range want {
		wanted[n.Name] = true
		if holder, ok := r.foreign[n.Name]; ok {
			conflicts = addConflict(conflicts, n.App, fmt.Sprintf("%s is held by %s", n.Name, holder))
			continue
		}
		target := map[dns.Key]dns.Record{}
		for _, rec := range n.Records {
			target[rec.Key()] = rec
		}
		own := dns.Record{Name: dns.OwnerName(n.Name), Type: dns.TypeTXT, TTL: n.TTL, Targets: []string{r.ownership(n.App)}}
		target[own.Key()] = own
		have := r.owned[n.Name]
		for _, k := range sortedKeys(target) {
			next := target[k]
			prev, ok := have[k]
			switch {
			case !ok:
				ch.Create = append(ch.Create, next)
			case !prev.Equal(next):
				ch.Update = append(ch.Update, dns.Update{Old: prev, New: next})
			}
		}
		for _, k := range sortedKeys(have) {
			if _, ok := target[k]; !ok {
				ch.Delete = append(ch.Delete, have[k])
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.owned)) {
		if wanted[name] {
			continue
		}
		for _, k := range sortedKeys(r.owned[name]) {
			ch.Delete = append(ch.Delete, r.owned[name][k])
		}
	}
	return ch, conflicts
}

// record updates the cache with the changes written, skipping names that
// conflicted (read again before the next diff).
func (r *Registry) record(ch dns.Changes, conflicted []string) {
	skip := map[string]bool{}
	for _, n := range conflicted {
		skip[dns.Group(n)] = true
	}
	set := func(rec dns.Record) {
		base := dns.Group(rec.Name)
		if skip[base] {
			return
		}
		if r.owned[base] == nil {
			r.owned[base] = map[dns.Key]dns.Record{}
		}
		r.owned[base][rec.Key()] = rec
	}
	for _, rec := range ch.Create {
		set(rec)
	}
	for _, u := range ch.Update {
		set(u.New)
	}
	for _, rec := range ch.Delete {
		base := dns.Group(rec.Name)
		if skip[base] {
			continue
		}
		delete(r.owned[base], rec.Key())
		if len(r.owned[base]) == 0 {
			delete(r.owned, base)
		}
	}
}

func addConflict(m map[string][]string, app, why string) map[string][]string {
	if m == nil {
		m = map[string][]string{}
	}
	m[app] = append(m[app], why)
	return m
}

// conflicted counts the record sets of ch at stale names (not written).
func conflicted(ch dns.Changes, stale map[string]bool) int {
	n := 0
	for _, r := range ch.Create {
		if stale[dns.Group(r.Name)] {
			n++
		}
	}
	for _, u := range ch.Update {
		if stale[dns.Group(u.New.Name)] {
			n++
		}
	}
	for _, r := range ch.Delete {
		if stale[dns.Group(r.Name)] {
			n++
		}
	}
	return n
}

func sortedKeys(m map[dns.Key]dns.Record) []dns.Key {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b dns.Key) int {
		return strings.Compare(a.Name+"\x00"+a.Type+"\x00"+a.SetID, b.Name+"\x00"+b.Type+"\x00"+b.SetID)
	})
	return keys
}
