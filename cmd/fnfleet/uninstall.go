package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/fnfleet/fnfleet/installer"
)

func newUninstallCommand() *cobra.Command {
	var o releaseFlags
	cmd := &cobra.Command{
		Use:   "uninstall CHART --kubeconfig FILE [flags]",
		Short: "Remove an Fn release from a Kubernetes cluster",
		Long: `Remove a release of an embedded chart, as fnfleet install made it, and
everything it created, and wait until those objects are gone, up to --timeout.
The namespace stays (Helm does not own it). A release that does not exist is
not an error: the command says so.`,
		Example: `  # Remove Fn, installed with fnfleet install fn
  fnfleet uninstall fn --kubeconfig ~/.kube/config

  # Remove the release fn-edge from the namespace edge of the context staging
  fnfleet uninstall fn --kubeconfig ~/.kube/config --context staging --namespace edge --release fn-edge`,
		Args:              chartArg,
		ValidArgsFunction: completeChart,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUninstall(cmd.Context(), args[0], o, cmd.OutOrStdout())
		},
	}
	o.register(cmd)
	return cmd
}

func runUninstall(ctx context.Context, chart string, o releaseFlags, stdout io.Writer) error {
	target, err := o.target()
	if err != nil {
		return err
	}
	res, err := installer.New(slog.Default()).Uninstall(ctx, target,
		installer.Release{Chart: chart, Name: o.release, Namespace: o.namespace, Timeout: o.timeout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: release %s in namespace %s (%s)\n", res.Outcome, res.Release, res.Namespace, res.Elapsed.Round(time.Millisecond))
	return nil
}
