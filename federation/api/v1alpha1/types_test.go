package v1alpha1_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// TestExamplesDecodeStrictly catches example fields the types do not have
// (a typo the apiserver would silently prune).
func TestExamplesDecodeStrictly(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatalf("AddToScheme: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in %s: %v", examplesDir, err)
	}
	seen := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := rd.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var meta struct{ Kind string }
			if err := yaml.Unmarshal(doc, &meta); err != nil || meta.Kind == "" {
				continue
			}
			var obj runtime.Object
			switch meta.Kind {
			case "MemberCluster":
				obj = &v1alpha1.MemberCluster{}
			case "FleetApp":
				obj = &v1alpha1.FleetApp{}
			case "ClusterPool":
				obj = &v1alpha1.ClusterPool{}
			case "DNSZone":
				obj = &v1alpha1.DNSZone{}
			default:
				t.Fatalf("%s: unexpected kind %q", f, meta.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s: %s: %v", f, meta.Kind, err)
			}
			if cp := obj.DeepCopyObject(); !reflect.DeepEqual(cp, obj) {
				t.Fatalf("%s: deep copy differs", f)
			}
			gvks, _, err := scheme.ObjectKinds(obj)
			if err != nil || gvks[0].Kind != meta.Kind || gvks[0].GroupVersion() != v1alpha1.GroupVersion() {
				t.Fatalf("scheme kinds for %s: %v %v", meta.Kind, gvks, err)
			}
			seen[meta.Kind]++
		}
	}
	if seen["MemberCluster"] == 0 || seen["FleetApp"] == 0 || seen["ClusterPool"] == 0 {
		t.Fatalf("examples should hold every kind, got %v", seen)
	}
}
