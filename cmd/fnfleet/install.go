package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"

	"github.com/fnfleet/fnfleet/charts"
	"github.com/fnfleet/fnfleet/installer"
)

func installCommand() command {
	return command{
		name:    "install",
		summary: "install or upgrade Fn on a Kubernetes cluster (embedded Helm chart)",
		run:     runInstall,
	}
}

func uninstallCommand() command {
	return command{
		name:    "uninstall",
		summary: "remove an Fn release from a Kubernetes cluster",
		run:     runUninstall,
	}
}

// stringList is a repeatable string flag (-f a.yaml -f b.yaml).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// releaseFlags are the flags install and uninstall share.
type releaseFlags struct {
	kubeconfig, kubeContext, namespace, release string
	timeout                                     time.Duration
}

func (f *releaseFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file of the target cluster (default $KUBECONFIG)")
	fs.StringVar(&f.kubeContext, "context", "", "kubeconfig context (default: the file's current context)")
	fs.StringVar(&f.namespace, "namespace", installer.DefaultNamespace, "namespace of the release (created if missing)")
	fs.StringVar(&f.release, "release", installer.DefaultReleaseName, "Helm release name")
	fs.DurationVar(&f.timeout, "timeout", installer.DefaultTimeout, "how long to wait for readiness before undoing the change")
}

func (f *releaseFlags) target(stderr io.Writer, fs *flag.FlagSet) (installer.Target, error) {
	if f.kubeconfig == "" {
		fmt.Fprintln(stderr, "fnfleet: no cluster: pass --kubeconfig FILE (or set KUBECONFIG)")
		fs.Usage()
		return installer.Target{}, errUsage
	}
	return installer.Target{KubeconfigPath: f.kubeconfig, Context: f.kubeContext}, nil
}

// parseChartArgs accepts the chart name before or after the flags
// ("install fn --kubeconfig F" and "install --kubeconfig F fn").
func parseChartArgs(fs *flag.FlagSet, args []string, stderr io.Writer) (string, error) {
	var chart string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		chart, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	rest := fs.Args()
	if chart == "" && len(rest) > 0 {
		chart, rest = rest[0], rest[1:]
	}
	switch {
	case chart == "":
		fmt.Fprintf(stderr, "fnfleet: name the chart to install; embedded charts: %s\n", strings.Join(charts.Names(), ", "))
		fs.Usage()
		return "", errUsage
	case len(rest) > 0:
		fmt.Fprintf(stderr, "fnfleet: unexpected arguments %q (flags go before or after the chart name)\n", rest)
		return "", errUsage
	}
	for _, n := range charts.Names() {
		if n == chart {
			return chart, nil
		}
	}
	fmt.Fprintf(stderr, "fnfleet: unknown chart %q; embedded charts: %s\n", chart, strings.Join(charts.Names(), ", "))
	return "", errUsage
}

func runInstall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("install", "<chart> --kubeconfig FILE [-f values.yaml]... [--set key=value]... [flags]", stderr)
	var rf releaseFlags
	rf.register(fs)
	var valueFiles, sets stringList
	fs.Var(&valueFiles, "f", "values file (repeatable; later files win)")
	fs.Var(&valueFiles, "values", "same as -f")
	fs.Var(&sets, "set", "set a value, helm-style: key=value or a.b=v1,c=v2 (repeatable; wins over -f)")
	dryRun := fs.Bool("dry-run", false, "print the manifest that would be applied and exit; needs no cluster")
	chart, err := parseChartArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	opts := values.Options{ValueFiles: valueFiles, Values: sets}
	vals, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		return fmt.Errorf("read values: %w", err)
	}
	rel := installer.Release{Chart: chart, Name: rf.release, Namespace: rf.namespace, Values: vals, Timeout: rf.timeout}

	if *dryRun {
		manifest, _, err := installer.Render(ctx, rel)
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, manifest)
		return err
	}
	target, err := rf.target(stderr, fs)
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

func runUninstall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("uninstall", "<chart> --kubeconfig FILE [flags]", stderr)
	var rf releaseFlags
	rf.register(fs)
	chart, err := parseChartArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	target, err := rf.target(stderr, fs)
	if err != nil {
		return err
	}
	res, err := installer.New(slog.Default()).Uninstall(ctx, target,
		installer.Release{Chart: chart, Name: rf.release, Namespace: rf.namespace, Timeout: rf.timeout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: release %s in namespace %s (%s)\n", res.Outcome, res.Release, res.Namespace, res.Elapsed.Round(time.Millisecond))
	return nil
}
