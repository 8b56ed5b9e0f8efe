package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/localmode"
	"github.com/fnfleet/fnfleet/federation/providers/local"
)

func upCommand() command {
	return command{
		name:    "up",
		summary: "bring up a local fleet (hub, members with Fn, a placed demo app) until Ctrl-C",
		run:     runUp,
	}
}

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	members := []localmode.MemberSpec{
		{Name: "member-1", Region: "eu-west", Tier: 1, CostPerHour: "0.40"},
		{Name: "member-2", Region: "us-east", Tier: 1, CostPerHour: "0.55"},
		{Name: "member-3", Region: "ap-south", Tier: 2, CostPerHour: "0.30"},
		{Name: "member-4", Region: "eu-central", Tier: 2, CostPerHour: "0.35"},
		{Name: "member-5", Region: "us-west", Tier: 2, CostPerHour: "0.50"},
	}
	fs := newFlagSet("up", "[flags]", stderr)
	workdir := fs.String("workdir", ".fnfleet/up", "directory for the fleet's state; emptied at start and removed at exit")
	binDir := fs.String("bin", "", "directory of the cluster binaries and the echo function (default: the directory of this executable)")
	n := fs.Int("members", 2, fmt.Sprintf("member clusters to start, 1 to %d, each in its own region", len(members)))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *n > len(members) {
		fmt.Fprintf(stderr, "fnfleet up: --members %d out of range: use 1 to %d\n", *n, len(members))
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
	echo := filepath.Join(*binDir, "echo")
	if _, err := os.Stat(echo); err != nil {
		return fmt.Errorf("the demo function %s is missing: build it with `make build`", echo)
	}
	// A run that was killed leaves its directory behind; its watchdog has
	// deleted the clusters, so what remains is stale.
	if err := os.RemoveAll(*workdir); err != nil {
		return fmt.Errorf("clear %s: %w", *workdir, err)
	}
	defer os.RemoveAll(*workdir)

	start := time.Now()
	fmt.Fprintf(stdout, "Starting the local fleet: a hub and %d members, Fn installed on each ...\n", *n)
	fleet, err := localmode.Up(ctx, localmode.Config{
		Binaries: bins,
		Workdir:  *workdir,
		Members:  members[:*n],
		Images:   map[string]string{demoImage: echo},
		Logger:   slog.Default(),
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(stdout, "\nTearing the fleet down ...")
		if err := fleet.Close(); err != nil {
			slog.Error("teardown incomplete; the watchdog removes what is left when fnfleet exits", "err", err)
		}
	}()
	app, err := fleet.Deploy(ctx, demoApp(*n))
	if err != nil {
		return err
	}
	printFleet(stdout, fleet, app, bins.Kubectl, time.Since(start))
	<-ctx.Done()
	return nil
}

const demoImage = "fnfleet/echo:0.0.1"

// demoApp is an echo function divided over at least two members when there
// are two.
func demoApp(members int) *v1alpha1.FleetApp {
	return &v1alpha1.FleetApp{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: v1alpha1.FleetAppSpec{
			App: v1alpha1.FnApp{Name: "hello", Functions: []v1alpha1.Function{{
				Name: "echo", Image: demoImage, MemoryMB: 128, TimeoutSeconds: 30,
				Triggers: []v1alpha1.Trigger{{Name: "echo", Type: "http", Source: "/echo"}},
			}}},
			Demand: v1alpha1.Demand{Replicas: 4, CPU: resource.MustParse("250m"), Memory: resource.MustParse("256Mi")},
			Placement: v1alpha1.PlacementPolicy{
				Spread:          &v1alpha1.SpreadPolicy{MinClusters: int32(min(members, 2)), TopologyKey: "region"},
				ReplicaDivision: &v1alpha1.ReplicaDivision{Mode: v1alpha1.Divided, Weighting: v1alpha1.WeightFreeCapacity},
			},
			DNS: &v1alpha1.DNSSpec{Hostname: "hello.fnfleet.local", TTL: 30, Strategy: v1alpha1.DNSRoundRobin},
		},
	}
}

func printFleet(w io.Writer, f *localmode.Fleet, app *v1alpha1.FleetApp, kubectl string, took time.Duration) {
	fmt.Fprintf(w, "\nThe local fleet is up (%s):\n\n", took.Round(100*time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CLUSTER\tREGION\tFN API\tFN RELEASE\tKUBECONFIG")
	fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", f.Hub.Name, "-", "-", "-", f.Hub.KubeconfigPath)
	for _, m := range f.Members {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s rev %d\t%s\n", m.Spec.Name, m.Spec.Region, m.FnURL, m.Install.Release, m.Install.Revision, m.Cluster.KubeconfigPath)
	}
	_ = tw.Flush()

	fmt.Fprintf(w, "\nFleetApp %s/%s: %s\n", app.Namespace, app.Name, app.Status.Explanation)
	for _, p := range app.Status.Placement {
		fmt.Fprintf(w, "  %s: %d replicas (score %d)\n", p.Cluster, p.Replicas, p.Score)
	}

	hubKube := fmt.Sprintf("%s --kubeconfig %s", kubectl, f.Hub.KubeconfigPath)
	fmt.Fprintf(w, "\nThe fleet as the hub sees it:\n\n  %s get memberclusters\n  %s get fleetapps -o wide\n", hubKube, hubKube)
	fmt.Fprintf(w, "\nFn on a member (a real Helm release; kwok plays its pods):\n\n  %s --kubeconfig %s get deploy,svc -n %s\n",
		kubectl, f.Members[0].Cluster.KubeconfigPath, f.Members[0].Install.Namespace)
	fmt.Fprintf(w, "\nCall the app where it was placed:\n\n")
	for _, p := range app.Status.Placement {
		if m := f.Member(p.Cluster); m != nil {
			fmt.Fprintf(w, "  curl -d 'hello %s' %s/t/%s/echo\n", m.Spec.Region, m.FnURL, app.Spec.App.Name)
		}
	}
	fmt.Fprintf(w, "\nPress Ctrl-C to tear everything down.\n")
}
