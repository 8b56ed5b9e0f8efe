package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/eventsource"
	"github.com/fnfleet/fnfleet/federation/hub"
)

// eventSourceOptions are the flags of fnfleet event-source.
type eventSourceOptions struct {
	senderFlags
	kubeconfig, metricsAddr string
}

// eventSourceComponent names the event source in the Kubernetes Events it
// records about an event not delivered.
const eventSourceComponent = "fnfleet-event-source"

func newEventSourceCommand() *cobra.Command {
	var o eventSourceOptions
	cmd := &cobra.Command{
		Use:   "event-source --to URL --kubeconfig HUB [flags]",
		Short: "Send the hub's changes (FleetApps, MemberClusters, ClusterPools) as events",
		Long: `Watch the hub's FleetApps, MemberClusters and ClusterPools and send each change a
handler acts on as an event of the catalog to --to, until Ctrl-C or SIGTERM
(docs/events.md, "The event source"). On start every object is sent once.

An event not delivered is logged, counted (fnfleet_events_dead_letters_total,
served with --metrics-addr) and recorded as a Kubernetes Event
(EventNotDelivered) on its object in the hub.

Secrets are read from files only, which must have mode 0600. fnfleet up runs
one against its hub, sending to its events function (fleet.json names its pid).`,
		Example: `  # Against a hub, signing with the secret the receiver knows (use the hub
  # kubeconfig fnfleet up prints to watch a local fleet)
  fnfleet event-source --to http://127.0.0.1:8080/t/fnfleet/events --kubeconfig ~/.kube/hub --secret-file ~/.fnfleet/event-secret

  # With a bearer token, and metrics on 127.0.0.1:9102
  fnfleet event-source --to http://127.0.0.1:8080/t/fnfleet/events --kubeconfig ~/.kube/hub --token-file ~/.fnfleet/event-token --metrics-addr 127.0.0.1:9102`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEventSource(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.add(f)
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file of the hub cluster; required")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "address to serve Prometheus metrics on, at /metrics (default: none)")
	o.markFiles(cmd)
	_ = cmd.MarkFlagFilename("kubeconfig")
	return cmd
}

func runEventSource(ctx context.Context, o eventSourceOptions, stdout, stderr io.Writer) error {
	if o.kubeconfig == "" {
		return usageErrorf("--kubeconfig HUB is required: the kubeconfig file of the hub to watch")
	}
	if _, err := os.Stat(o.kubeconfig); err != nil {
		return usageErrorf("--kubeconfig: %v", err)
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return usageErrorf("--kubeconfig %s: %v", o.kubeconfig, err)
	}
	hc, err := hub.New(restCfg)
	if err != nil {
		return fmt.Errorf("connect to the hub of %s: %w", o.kubeconfig, err)
	}
	core, err := corev1client.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("connect to the hub of %s: %w", o.kubeconfig, err)
	}
	log := commandLogger(stderr)
	reg := prometheus.NewRegistry()
	counted, err := events.CountDeadLetters(reg)
	if err != nil {
		return err
	}
	dead := events.AllDeadLetters(events.LogDeadLetters(log), counted,
		events.RecordDeadLetters(core, hc, eventSourceComponent))
	sender, err := o.sender(log, events.WithDeadLetters(dead))
	if err != nil {
		return err
	}
	src, err := eventsource.New(eventsource.Config{Hub: hc, Sender: sender, Logger: log})
	if err != nil {
		return fmt.Errorf("event source: %w", err)
	}
	stopMetrics, err := serveMetrics(ctx, o.metricsAddr, reg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	fmt.Fprintf(stdout, "Event source watching the hub of %s, sending to %s; Ctrl-C or SIGTERM stops it\n", o.kubeconfig, sender.Sink())
	if err := src.Run(ctx); err != nil {
		return fmt.Errorf("event source: %w; check that the hub of %s is reachable and has fnfleet's API installed", err, o.kubeconfig)
	}
	return nil
}
