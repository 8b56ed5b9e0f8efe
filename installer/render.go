package installer

import (
	"context"
	"fmt"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
)

// renderKubeVersion is the Kubernetes version Render renders for: the version
// fnfleet's test clusters run.
const renderKubeVersion = "v1.37.2"

// Render returns the manifest rel would install, without a cluster: values
// are checked against the chart's schema and templates are rendered for
// Kubernetes v1.37.2 (renderKubeVersion). NOTES.txt is returned separately.
func Render(ctx context.Context, rel Release) (manifest, notesTxt string, err error) {
	rel = rel.withDefaults()
	if err := rel.validate(); err != nil {
		return "", "", err
	}
	ch, err := loadChart(rel.Chart)
	if err != nil {
		return "", "", err
	}
	kv, err := chartutil.ParseKubeVersion(renderKubeVersion)
	if err != nil {
		return "", "", fmt.Errorf("parse kube version %s: %w", renderKubeVersion, err)
	}
	// A client-only install renders with an in-memory release record that
	// is thrown away; nothing touches a cluster.
	act := action.NewInstall(&action.Configuration{})
	act.ClientOnly = true
	act.DryRun = true
	act.ReleaseName = rel.Name
	act.Namespace = rel.Namespace
	act.KubeVersion = kv
	act.IncludeCRDs = true
	r, err := act.RunWithContext(ctx, ch, rel.Values)
	if err != nil {
		return "", "", fmt.Errorf("render %s (chart %s): %w", rel.Name, rel.Chart, err)
	}
	return r.Manifest, notes(r), nil
}
