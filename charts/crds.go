package charts

import (
	"embed"
	"fmt"
	"io/fs"
)

// crdFiles holds the CustomResourceDefinitions of the fnfleet API, generated
// from federation/api by `make generate`.
//
//go:embed fnfleet/crds/*.yaml
var crdFiles embed.FS

// CRDs returns the fnfleet API's CustomResourceDefinitions as YAML
// documents, in file name order.
func CRDs() ([][]byte, error) {
	paths, err := fs.Glob(crdFiles, "fnfleet/crds/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list embedded CRDs: %w", err)
	}
	docs := make([][]byte, 0, len(paths))
	for _, p := range paths {
		data, err := crdFiles.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read embedded CRD %s: %w", p, err)
		}
		docs = append(docs, data)
	}
	return docs, nil
}
