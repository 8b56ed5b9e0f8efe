package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/scheduler"
)

// schedulerOptions are the flags of fnfleet scheduler.
type schedulerOptions struct {
	senderFlags
	config, metricsAddr string
}

func newSchedulerCommand() *cobra.Command {
	var o schedulerOptions
	cmd := &cobra.Command{
		Use:   "scheduler --to URL [flags]",
		Short: "Send fnfleet's ticks (resync, reconcile, parking) on their schedules",
		Long: `Send the dev.fnfleet.<schedule>.due events of the events catalog to --to at the
times of their cron schedules, until Ctrl-C or SIGTERM (docs/scheduler.md).

Without --config the defaults run: reconcile every 30 s, parking every minute,
resync every 5 minutes. A --config file (YAML) lists the schedules to change,
each by name, with a cron spec (an optional seconds field first, an optional
CRON_TZ= zone) and a timeout for one tick's send; the others keep their
defaults. The schedules are printed at start.

A tick's id is the schedule and its scheduled time, so a repeat can be dropped.
A tick not delivered is logged and counted (fnfleet_events_dead_letters_total);
--metrics-addr serves the scheduler's metrics at /metrics.

Secrets are read from files only, which must have mode 0600. fnfleet up runs
one, sending to its events function (fleet.json names its pid).`,
		Example: `  # The default schedules, signed, with metrics on :9101
  fnfleet scheduler --to http://127.0.0.1:8080/t/fnfleet/events --secret-file ~/.fnfleet/event-secret --metrics-addr 127.0.0.1:9101

  # Reconcile every 10 s instead
  printf 'schedules:\n- name: reconcile\n  spec: "*/10 * * * * *"\n' > /tmp/schedules.yaml
  fnfleet scheduler --to http://127.0.0.1:8080/t/fnfleet/events --secret-file ~/.fnfleet/event-secret --config /tmp/schedules.yaml`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runScheduler(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.add(f)
	f.StringVar(&o.config, "config", "", "YAML file of schedules laid over the defaults (docs/scheduler.md)")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "address to serve Prometheus metrics on, at /metrics (default: none)")
	o.markFiles(cmd)
	_ = cmd.MarkFlagFilename("config", "yaml", "yml", "json")
	return cmd
}

func runScheduler(ctx context.Context, o schedulerOptions, stdout, stderr io.Writer) error {
	cfg := scheduler.Default()
	if o.config != "" {
		data, err := os.ReadFile(o.config)
		if err != nil {
			return usageErrorf("--config: %v", err)
		}
		if cfg, err = scheduler.Load(data); err != nil {
			return usageErrorf("--config %s: %v", o.config, err)
		}
	}
	log := commandLogger(stderr)
	reg := prometheus.NewRegistry()
	counted, err := events.CountDeadLetters(reg)
	if err != nil {
		return err
	}
	sender, err := o.sender(log, events.WithDeadLetters(events.AllDeadLetters(events.LogDeadLetters(log), counted)))
	if err != nil {
		return err
	}
	s, err := scheduler.New(cfg, sender, scheduler.WithLogger(log), scheduler.WithMetrics(reg))
	if err != nil {
		return usageErrorf("schedules: %v", err)
	}
	stopMetrics, err := serveMetrics(ctx, o.metricsAddr, reg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	fmt.Fprintf(stdout, "Scheduler sending ticks to %s; Ctrl-C or SIGTERM stops it\n", sender.Sink())
	for _, sc := range cfg.Schedules {
		timeout := "derived from the spec"
		if sc.Timeout.Duration > 0 {
			timeout = sc.Timeout.Duration.String()
		}
		fmt.Fprintf(stdout, "  %-10s %-20q timeout %s\n", sc.Name, sc.Spec, timeout)
	}
	if err := s.Run(ctx); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	return nil
}
