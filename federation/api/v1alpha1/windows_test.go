package v1alpha1_test

import (
	"archive/zip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

const crdDir = "../../../charts/fnfleet/crds"

// TestEveryZoneIsShapedLikeOne checks the timeZone rule of both CRDs that
// carry windows against every zone of Go's zone database: CEL cannot load
// the database, so the rule checks only the shape of a name, and must not
// refuse a real zone ("America/Argentina/Buenos_Aires", "Etc/GMT-14",
// "EST5EDT"). CEL's matches is RE2, as Go's regexp.
func TestEveryZoneIsShapedLikeOne(t *testing.T) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	zr, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Fatalf("Go's zone database: %v", err)
	}
	defer zr.Close()
	var zones []string
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, "/") {
			zones = append(zones, f.Name)
		}
	}
	if len(zones) < 300 {
		t.Fatalf("only %d zones in Go's database", len(zones))
	}
	for _, file := range []string{"fnfleet.dev_memberclusters.yaml", "fnfleet.dev_clusterpools.yaml"} {
		shape := timeZoneShape(t, filepath.Join(crdDir, file))
		for _, z := range zones {
			if !shape.MatchString(z) {
				t.Errorf("%s: the timeZone rule refuses the zone %q", file, z)
			}
		}
		for _, bad := range []string{"Mars Olympus", "", "/etc/localtime", "../zoneinfo/UTC", "Europe/", "2024/Zone"} {
			if shape.MatchString(bad) {
				t.Errorf("%s: the timeZone rule accepts %q", file, bad)
			}
		}
	}
}

// timeZoneShape finds the pattern of the timeZone rule of a CRD's windows.
func timeZoneShape(t *testing.T, path string) *regexp.Regexp {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	spec := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	zone := spec.Properties["parking"].Properties["windows"].Items.Schema.Properties["timeZone"]
	for _, v := range zone.XValidations {
		if rest, ok := strings.CutPrefix(v.Rule, "self.matches(r'"); ok {
			pattern, _, _ := strings.Cut(rest, "'")
			return regexp.MustCompile(pattern)
		}
	}
	t.Fatalf("%s: no timeZone rule with self.matches(r'...')", path)
	return nil
}
