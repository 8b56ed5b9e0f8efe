package externaldns_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/fnfleet/fnfleet/federation/dns/externaldns"
)

// label is a DNS label of n letters c.
func label(c string, n int) string { return strings.Repeat(c, n) }

func TestObjectNamesAreValidReadableAndDistinct(t *testing.T) {
	longest := label("a", 63) + "." + label("b", 63) + "." + label("c", 63) + "." + label("d", 43) + ".fleet.example.com."
	if n := len(strings.TrimSuffix(longest, ".")); n != 253 {
		t.Fatalf("test name is %d bytes, want the longest a DNS name can be (253)", n)
	}
	names := []string{
		"hello.fleet.example.com.",
		"_fnfleet.hello.fleet.example.com.",
		"fnfleet.hello.fleet.example.com.",
		"hello-fleet.example.com.",
		"fleet.example.com.",
		"*.fleet.example.com.",
		"_._.fleet.example.com.",
		longest,
		strings.Replace(longest, "d.", "e.", 1),
	}
	seen := map[string]string{}
	for _, name := range names {
		obj := externaldns.ObjectName(name)
		if errs := validation.IsDNS1123Subdomain(obj); len(errs) > 0 {
			t.Errorf("ObjectName(%q) = %q, not an object name: %v", name, obj, errs)
		}
		if other, ok := seen[obj]; ok {
			t.Errorf("ObjectName(%q) = ObjectName(%q) = %q", name, other, obj)
		}
		seen[obj] = name
		if again := externaldns.ObjectName(name); again != obj {
			t.Errorf("ObjectName(%q) = %q, then %q", name, obj, again)
		}
	}
	if got := externaldns.ObjectName("_fnfleet.hello.fleet.example.com."); !strings.HasPrefix(got, "fnfleet-hello-fleet-example-com-") {
		t.Errorf("ObjectName(_fnfleet.hello.fleet.example.com.) = %q: the name should read in it", got)
	}
	// Cut to fit 253 with the hash, and a dash at the cut dropped.
	if got := externaldns.ObjectName(longest); len(got) < 252 || !strings.HasPrefix(got, label("a", 63)+"-"+label("b", 63)) {
		t.Errorf("ObjectName(longest) = %q (%d bytes), want the name's start cut to fit 253 bytes", got, len(got))
	}
}

func TestZoneLabelValue(t *testing.T) {
	if got := externaldns.ZoneLabelValue("fleet.example.com."); got != "fleet.example.com" {
		t.Errorf("ZoneLabelValue(fleet.example.com.) = %q, want the zone itself", got)
	}
	long := label("a", 40) + "." + label("b", 40) + ".example.com."
	got := externaldns.ZoneLabelValue(long)
	if errs := content.IsLabelValue(got); len(errs) > 0 || !strings.HasPrefix(got, label("a", 40)) {
		t.Errorf("ZoneLabelValue(%s) = %q: %v", long, got, errs)
	}
	if other := externaldns.ZoneLabelValue(strings.Replace(long, "b", "c", 1)); other == got {
		t.Errorf("two long zones share the label value %q", got)
	}
}
