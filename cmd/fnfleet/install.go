package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"

	"github.com/fnfleet/fnfleet/charts"
	"github.com/fnfleet/fnfleet/installer"
)

// installOptions are the flags of fnfleet install.
type installOptions struct {
	releaseFlags
	valueFiles, sets []string
	dryRun           bool
}

func newInstallCommand() *cobra.Command {
	var o installOptions
	cmd := &cobra.Command{
		Use:   "install CHART --kubeconfig FILE [flags]",
		Short: "Install or upgrade Fn on a Kubernetes cluster (embedded Helm chart)",
		Long: `Install or upgrade Fn on a Kubernetes cluster (1.27 or newer) from the Helm
chart fnfleet carries inside its binary (CHART: fn), with the Helm SDK: no chart
repository, no helm binary. It waits until the release is ready, up to --timeout.

Installing again with the same values changes nothing ("unchanged", same
revision). Bad values are refused before anything is applied; a failed install
is removed and a failed upgrade rolled back. A release left pending by an
install killed mid-way is recovered by the next install. Releases are stored as
Helm stores them (helm list -n fn shows them).

Values are set as with helm: -f values files (later files win), then --set
(which wins over -f). Values, modes and trade-offs: docs/install.md.`,
		Example: `  # Install Fn, and wait until it is ready
  fnfleet install fn --kubeconfig ~/.kube/config

  # Upgrade it to split mode with 3 runners
  fnfleet install fn --kubeconfig ~/.kube/config --set mode=split --set runner.replicas=3

  # Install with a values file, waiting up to 10 minutes
  fnfleet install fn --kubeconfig ~/.kube/config -f values.yaml --timeout 10m

  # Print the manifest that would be applied (needs no cluster)
  fnfleet install fn --dry-run --set ingress.enabled=true --set ingress.host=fn.example.com`,
		Args:              chartArg,
		ValidArgsFunction: completeChart,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInstall(cmd.Context(), args[0], o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	o.register(cmd)
	f.StringArrayVarP(&o.valueFiles, "values", "f", nil, "values file (repeatable; later files win)")
	f.StringArrayVar(&o.sets, "set", nil, "set a value, helm-style: key=value or a.b=v1,c=v2 (repeatable; wins over -f)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the manifest that would be applied and exit; needs no cluster")
	_ = cmd.MarkFlagFilename("values", "yaml", "yml")
	return cmd
}

// releaseFlags are the flags install and uninstall share.
type releaseFlags struct {
	kubeconfig, kubeContext, namespace, release string
	timeout                                     time.Duration
}

func (f *releaseFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file of the target cluster (default $KUBECONFIG)")
	fs.StringVar(&f.kubeContext, "context", "", "kubeconfig context (default: the file's current context)")
	fs.StringVar(&f.namespace, "namespace", installer.DefaultNamespace, "namespace of the release (created if missing)")
	fs.StringVar(&f.release, "release", installer.DefaultReleaseName, "Helm release name")
	fs.DurationVar(&f.timeout, "timeout", installer.DefaultTimeout, "how long to wait for readiness before undoing the change")
	_ = cmd.MarkFlagFilename("kubeconfig")
	for _, name := range []string{"context", "namespace", "release"} {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
}

func (f *releaseFlags) target() (installer.Target, error) {
	if f.kubeconfig == "" {
		return installer.Target{}, usageErrorf("no cluster: pass --kubeconfig FILE (or set KUBECONFIG)")
	}
	return installer.Target{KubeconfigPath: f.kubeconfig, Context: f.kubeContext}, nil
}

// chartArg accepts one argument, the name of an embedded chart. Flags go
// before or after it ("install fn --kubeconfig F", "install --kubeconfig F fn").
func chartArg(cmd *cobra.Command, args []string) error {
	names := strings.Join(charts.Names(), ", ")
	switch {
	case len(args) == 0:
		return usageErrorf("name the chart to %s; embedded charts: %s", cmd.Name(), names)
	case len(args) > 1:
		return usageErrorf("unexpected arguments %q (flags go before or after the chart name)", args[1:])
	case !slices.Contains(charts.Names(), args[0]):
		return usageErrorf("unknown chart %q; embedded charts: %s", args[0], names)
	}
	return nil
}

// completeChart completes the chart argument with the embedded charts.
func completeChart(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return charts.Names(), cobra.ShellCompDirectiveNoFileComp
}

func runInstall(ctx context.Context, chart string, o installOptions, stdout io.Writer) error {
	opts := values.Options{ValueFiles: o.valueFiles, Values: o.sets}
	vals, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		return fmt.Errorf("read values: %w", err)
	}
	rel := installer.Release{Chart: chart, Name: o.release, Namespace: o.namespace, Values: vals, Timeout: o.timeout}

	if o.dryRun {
		manifest, _, err := installer.Render(ctx, rel)
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, manifest)
		return err
	}
	target, err := o.target()
	if err != nil {
		return err
	}
	res, err := installer.New(slog.Default()).Apply(ctx, target, rel)
	if err != nil {
		return err
	}
	if res.Recovered != "" {
		fmt.Fprintf(stdout, "recovered first: %s\n", res.Recovered)
	}
	fmt.Fprintf(stdout, "%s: release %s in namespace %s, revision %d (%s)\n",
		res.Outcome, res.Release, res.Namespace, res.Revision, res.Elapsed.Round(time.Millisecond))
	if res.Notes != "" {
		fmt.Fprintf(stdout, "\n%s\n", strings.TrimSpace(res.Notes))
	}
	return nil
}
