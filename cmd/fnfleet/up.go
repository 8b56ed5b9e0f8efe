package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fnfleet/fnfleet/federation/providers/local"
)

func upCommand() command {
	return command{
		name:    "up",
		summary: "bring up a local fleet (a hub and member clusters) until Ctrl-C",
		run:     runUp,
	}
}

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	memberRegions := []string{"eu-west", "us-east", "ap-south", "eu-central", "us-west"}
	fs := newFlagSet("up", "[flags]", stderr)
	workdir := fs.String("workdir", ".fnfleet/up", "directory for the clusters' state; emptied at start and removed at exit")
	binDir := fs.String("bin", "", "directory of the Kubernetes and kwok binaries (default: the directory of this executable)")
	members := fs.Int("members", 2, fmt.Sprintf("member clusters to start, 1 to %d, each in its own region", len(memberRegions)))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *members < 1 || *members > len(memberRegions) {
		fmt.Fprintf(stderr, "fnfleet up: --members %d out of range: use 1 to %d\n", *members, len(memberRegions))
		return errUsage
	}
	if *binDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find binaries: %w", err)
		}
		*binDir = filepath.Dir(exe)
	}
	bins, err := local.FindBinaries(*binDir)
	if err != nil {
		return err
	}
	// A previous run that was killed leaves its directory: its watchdog
	// has deleted the clusters, so the rest is stale state.
	if err := os.RemoveAll(*workdir); err != nil {
		return fmt.Errorf("clear %s: %w", *workdir, err)
	}
	p, err := local.New(local.Config{Binaries: bins, Workdir: *workdir, OwnerPID: os.Getpid(), Logger: slog.Default()})
	if err != nil {
		return err
	}
	defer func() {
		teardown(p)
		_ = os.RemoveAll(*workdir)
	}()

	specs := []local.ClusterSpec{{Name: "hub", Region: memberRegions[0], Zone: memberRegions[0] + "-a", NodeLabels: map[string]string{"fnfleet.dev/role": "hub"}}}
	for i := range *members {
		r := memberRegions[i]
		specs = append(specs, local.ClusterSpec{
			Name: fmt.Sprintf("member-%d", i+1), Region: r, Zone: r + "-a", Nodes: 3,
			NodeCapacity: local.Resources{CPU: "16", Memory: "64Gi", Pods: "110"},
			NodeLabels:   map[string]string{"fnfleet.dev/role": "member"},
		})
	}
	start := time.Now()
	fmt.Fprintf(stdout, "Starting %d clusters (hub and %d members) in %s ...\n", len(specs), *members, p.Workdir())
	clusters, err := p.CreateAll(ctx, specs)
	if err != nil {
		return err
	}
	printFleet(stdout, clusters, specs, bins.Kubectl, time.Since(start))

	<-ctx.Done()
	fmt.Fprintln(stdout, "\nTearing the fleet down ...")
	return nil
}

func printFleet(w io.Writer, clusters []*local.Cluster, specs []local.ClusterSpec, kubectl string, took time.Duration) {
	fmt.Fprintf(w, "\nThe local fleet is up (%d clusters in %s):\n\n", len(clusters), took.Round(100*time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CLUSTER\tREGION\tMEMORY\tKUBECONFIG")
	for i, c := range clusters {
		mem := "?"
		if rss, err := c.ResidentMemory(); err == nil {
			mem = fmt.Sprintf("%d MiB", rss>>20)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Name, specs[i].Region, mem, c.KubeconfigPath)
	}
	_ = tw.Flush()
	var b strings.Builder
	fmt.Fprintf(&b, "\nLook at them with kubectl, for example:\n\n")
	for _, c := range clusters {
		fmt.Fprintf(&b, "  %s --kubeconfig %s get nodes -L topology.kubernetes.io/region\n", kubectl, c.KubeconfigPath)
	}
	fmt.Fprintf(&b, "\nPress Ctrl-C to tear everything down.\n")
	fmt.Fprint(w, b.String())
}

// teardown deletes every cluster, even when the command's context is done.
func teardown(p *local.Provider) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := errors.Join(p.DeleteAll(ctx), p.Close()); err != nil {
		slog.Error("teardown incomplete; the watchdog removes what is left when fnfleet exits", "err", err)
	}
}
