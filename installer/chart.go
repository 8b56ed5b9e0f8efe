package installer

import (
	"fmt"
	"io/fs"
	"sort"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/fnfleet/fnfleet/charts"
)

// loadChart loads one of the charts embedded in the binary (see package charts).
func loadChart(name string) (*chart.Chart, error) {
	fsys, err := charts.FS(name)
	if err != nil {
		return nil, err
	}
	return loadChartFS(fsys, name)
}

// loadChartFS reads every file of a chart directory tree and hands them to
// Helm's loader, which builds the chart (the embedded tree holds only chart files).
func loadChartFS(fsys fs.FS, name string) (*chart.Chart, error) {
	var files []*loader.BufferedFile
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		files = append(files, &loader.BufferedFile{Name: path, Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read chart %q: %w", name, err)
	}
	// WalkDir is already lexical; sorting keeps that true whatever fsys is.
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("load chart %q: %w", name, err)
	}
	return ch, nil
}
