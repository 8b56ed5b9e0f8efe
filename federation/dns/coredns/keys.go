package coredns

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/fnfleet/fnfleet/federation/dns"
)

// leafMark starts the leaf of every key the provider writes under a name.
// '@' cannot start a host name's label, so a leaf is never mistaken for a
// child name (_fnfleet included), and the leaves of a name are exactly the
// key range [dir+"@", dir+"A"): '@' is 0x40, 'A' the byte after it.
const (
	leafMark    = "@"
	leafMarkEnd = "A"
)

// service is a record as the etcd plugin reads it: SkyDNS' message, of
// which the fleet uses host (an address or a CNAME's target), text, ttl
// and group.
type service struct {
	Host  string `json:"host,omitempty"`
	Text  string `json:"text,omitempty"`
	TTL   uint32 `json:"ttl,omitempty"`
	Group string `json:"group,omitempty"`
}

// recordType is the type the plugin answers a service as (its
// msg.Service.HostType): an IPv4 address is A, an IPv6 one AAAA, another
// host a CNAME, no host with text a TXT. Nothing at all is a marker (the
// plugin answers nothing from it): "".
func (s service) recordType() string {
	ip := net.ParseIP(s.Host)
	switch {
	case s.Host == "" && s.Text == "":
		return ""
	case ip == nil && s.Text == "":
		return dns.TypeCNAME
	case ip == nil:
		return dns.TypeTXT
	case ip.To4() != nil:
		return dns.TypeA
	default:
		return dns.TypeAAAA
	}
}

// target is the record's data as Record.Targets holds it.
func (s service) target() string {
	if s.recordType() == dns.TypeTXT {
		return s.Text
	}
	return s.Host
}

// recordService is one target of a record set, grouped under its name.
func recordService(r dns.Record, target string) service {
	s := service{TTL: r.TTL, Group: r.Name}
	if r.Type == dns.TypeTXT {
		s.Text = target
	} else {
		s.Host = target
	}
	return s
}

// markerService is what the name's own key holds while the name has
// records: no host and no text, so the plugin answers nothing from it, but
// the key exists, and a CNAME query (which reads only that key) gets
// NODATA instead of NXDOMAIN.
func markerService(name string) service { return service{Group: name} }

// isMarker reports whether kv holds a service with no record in it (one
// that does not decode is a record gone wrong, not a marker).
func isMarker(kv *mvccpb.KeyValue) bool {
	svc, err := decodeService(kv)
	return err == nil && svc.recordType() == ""
}

func (s service) encode() string {
	data, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("coredns: encode %+v: %v", s, err)) // strings and a number always encode
	}
	return string(data)
}

func decodeService(kv *mvccpb.KeyValue) (service, error) {
	var s service
	if err := json.Unmarshal(kv.Value, &s); err != nil {
		return service{}, fmt.Errorf("record %s is not SkyDNS JSON (CoreDNS answers SERVFAIL at its name until it is fixed or deleted): %w", kv.Key, err)
	}
	return s, nil
}

// leafKey is the key of one target of a record set under the name's dir:
// the type and a hash of the target, so a target that stays in an updated
// set keeps its key and is not rewritten.
func leafKey(dir, typ, target string) string {
	h := fnv.New64a()
	h.Write([]byte(target))
	return fmt.Sprintf("%s%s%s-%016x", dir, leafMark, strings.ToLower(typ), h.Sum64())
}

// nameKey is the etcd key of a DNS name as the etcd plugin derives it
// (msg.Path): the prefix, then the labels from the top down, so
// hello.fleet.example.com. under /skydns is /skydns/com/example/fleet/hello.
func nameKey(prefix, name string) (string, error) {
	labels := strings.Split(strings.TrimSuffix(strings.ToLower(name), "."), ".")
	for _, l := range labels {
		// A '/' would split a label into two path segments; an escape
		// means a name the plugin's path would not spell like ours.
		if l == "" || strings.ContainsAny(l, `/\`) {
			return "", fmt.Errorf("name %q cannot be an etcd key of the etcd plugin: empty label, '/' or escape", name)
		}
	}
	slices.Reverse(labels)
	return prefix + "/" + strings.Join(labels, "/"), nil
}

// nameState is a name's own keys as read at one revision: its key (the
// marker or CNAME) and the leaves just below it. Keys deeper down belong
// to other names (_fnfleet.<name> among them).
type nameState struct {
	name, key string
	exact     *mvccpb.KeyValue // nil when absent
	leaves    []*mvccpb.KeyValue
	// rev is the store's revision when read: every own key's ModRevision
	// is at most rev then.
	rev int64
}

// dir is the prefix of the keys below the name.
func (s *nameState) dir() string { return s.key + "/" }

// isLeaf reports whether key is just below the name (one more segment).
func (s *nameState) isLeaf(key string) bool {
	rest, ok := strings.CutPrefix(key, s.dir())
	return ok && rest != "" && !strings.Contains(rest, "/")
}

// sets are the name's record sets as CoreDNS answers them, by type: every
// leaf, and the name's own key when it holds a record (another writer's;
// the fleet keeps only its marker there). When the services of a set
// disagree on TTL the smallest counts: that is what a resolver may cache.
func (s *nameState) sets() (map[string]dns.Record, error) {
	sets := make(map[string]dns.Record)
	add := func(kv *mvccpb.KeyValue) error {
		svc, err := decodeService(kv)
		if err != nil {
			return err
		}
		typ := svc.recordType()
		if typ == "" {
			return nil
		}
		r, ok := sets[typ]
		if !ok {
			r = dns.Record{Name: s.name, Type: typ, TTL: svc.TTL}
		}
		r.TTL = min(r.TTL, svc.TTL)
		if !slices.Contains(r.Targets, svc.target()) {
			r.Targets = append(r.Targets, svc.target())
		}
		sets[typ] = r
		return nil
	}
	for _, kv := range s.leaves {
		if err := add(kv); err != nil {
			return nil, err
		}
	}
	if s.exact != nil {
		if err := add(s.exact); err != nil {
			return nil, err
		}
	}
	for typ, r := range sets {
		slices.Sort(r.Targets)
		sets[typ] = r
	}
	return sets, nil
}
