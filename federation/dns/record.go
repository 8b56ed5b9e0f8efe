// Package dns plans the fleet's DNS: for every FleetApp with spec.dns, the
// full set of records its names should hold (global, region and zone
// levels), from the members that serve it and are healthy for it. Plan is
// pure (same input, same plan); the providers beside it (rfc2136,
// coredns, externaldns) write records, and the registry between the two
// owns names (one TXT record at _fnfleet.<name>) and writes only what
// changed.
package dns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Record types the fleet writes.
const (
	TypeA     = "A"
	TypeAAAA  = "AAAA"
	TypeCNAME = "CNAME"
	TypeTXT   = "TXT"
)

// Record is one record set: every record of one type at one name (and,
// for providers that answer by weight or region, one set identifier).
type Record struct {
	// Name is fully qualified, lower case, with its trailing dot.
	Name string
	// Type is A, AAAA, CNAME or TXT.
	Type string
	// TTL in seconds.
	TTL uint32
	// Targets are the addresses, the CNAME's target (fully qualified) or
	// each TXT string, sorted.
	Targets []string
	// SetID tells apart record sets of one name and type that a weighted
	// or geo provider answers from (one per member, or per region); empty
	// for plain DNS.
	SetID string
	// Weight is the set's share under strategy Weighted (0-255).
	Weight int32
	// Region is the callers' region a Geo set answers.
	Region string
}

// Key identifies a record set.
type Key struct {
	Name, Type, SetID string
}

// Key is the record set's identity.
func (r Record) Key() Key { return Key{Name: r.Name, Type: r.Type, SetID: r.SetID} }

// Equal reports whether a and b hold the same data.
func (r Record) Equal(o Record) bool {
	return r.Key() == o.Key() && r.TTL == o.TTL && r.Weight == o.Weight && r.Region == o.Region &&
		slices.Equal(r.Targets, o.Targets)
}

func (r Record) String() string {
	s := fmt.Sprintf("%s %d %s %s", r.Name, r.TTL, r.Type, strings.Join(r.Targets, ","))
	if r.SetID != "" {
		s += fmt.Sprintf(" (set %s weight %d region %q)", r.SetID, r.Weight, r.Region)
	}
	return s
}

// Update replaces one record set with another of the same key.
type Update struct {
	Old, New Record
}

// Changes are what a provider writes in one Apply.
type Changes struct {
	Create []Record
	Update []Update
	Delete []Record
}

// Empty reports whether there is nothing to write.
func (c Changes) Empty() bool { return len(c.Create)+len(c.Update)+len(c.Delete) == 0 }

// Len is the number of record sets written.
func (c Changes) Len() int { return len(c.Create) + len(c.Update) + len(c.Delete) }

// Names are the names the changes touch, sorted, each once.
func (c Changes) Names() []string {
	var names []string
	for _, r := range c.Create {
		names = append(names, r.Name)
	}
	for _, u := range c.Update {
		names = append(names, u.New.Name)
	}
	for _, r := range c.Delete {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// OwnershipPrefix is the label in front of a name that holds its
// ownership record: _fnfleet.<name>, so that it never shares a name with
// a CNAME (RFC 1034, 3.6.2).
const OwnershipPrefix = "_fnfleet."

// OwnerName is the name holding name's ownership record.
func OwnerName(name string) string { return OwnershipPrefix + name }

// Group is the name an ownership name is for, and any other name itself.
// A name and its ownership name are one unit to a provider: Apply writes
// both or neither, so that an ownership record never lands beside records
// another writer holds (the registry would then take them for its own).
func Group(name string) string { return strings.TrimPrefix(name, OwnershipPrefix) }

// Capabilities say what a provider can express.
type Capabilities struct {
	// Weighted: record sets with a SetID and a Weight are answered in
	// proportion to their weights.
	Weighted bool
	// Geo: record sets with a SetID and a Region answer callers in that
	// region.
	Geo bool
}

// Provider reads and writes a zone's records. Implementations are safe
// for concurrent use.
type Provider interface {
	// Records returns the record sets at the given names (every type the
	// fleet writes); a name holding none is absent from the result. An
	// error means the names' state is unknown, never that they are empty.
	Records(ctx context.Context, names []string) ([]Record, error)

	// Apply writes the changes, in as few round trips as the provider
	// allows. Each change holds only if the name's record sets are still
	// what the change says they were (Create: none of that key; Update and
	// Delete: exactly Old), so that a concurrent writer is never
	// overwritten. A name and its ownership name (Group) are one unit:
	// where that fails for either, nothing is written at both, the rest is
	// written, and the error is a *ConflictError naming them. Any other
	// error leaves what was written unknown.
	Apply(ctx context.Context, changes Changes) error

	// Capabilities says what the provider can express.
	Capabilities() Capabilities
}

// ErrConflict is what a *ConflictError matches with errors.Is.
var ErrConflict = errors.New("records changed by another writer")

// ConflictError names the names Apply left alone because their records
// were not what the changes expected.
type ConflictError struct {
	Names []string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%v at %s: read them again and replan", ErrConflict, strings.Join(e.Names, ", "))
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
