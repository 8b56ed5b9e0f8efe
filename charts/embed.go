// Package charts holds the Helm charts that fnfleet installs, embedded in the
// binary so that installing needs no chart repository.
package charts

import (
	"embed"
	"fmt"
	"io/fs"
)

// files holds every embedded chart, each under its own directory. "all:"
// keeps files whose names start with "." or "_" (.helmignore, _helpers.tpl).
// To embed another chart, add its directory to this directive.
//
//go:embed all:fn
var files embed.FS

// Fn is the name of the Fn server chart.
const Fn = "fn"

// FS returns the file tree of one embedded chart, rooted at its Chart.yaml.
func FS(name string) (fs.FS, error) {
	if _, err := fs.Stat(files, name+"/Chart.yaml"); err != nil {
		return nil, fmt.Errorf("chart %q is not embedded in this binary (known: %v): %w", name, Names(), err)
	}
	sub, err := fs.Sub(files, name)
	if err != nil {
		return nil, fmt.Errorf("open embedded chart %q: %w", name, err)
	}
	return sub, nil
}

// Names lists the embedded charts.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}
