package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// Exit statuses of fnfleet.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // the command was called wrongly: unknown command or flag, missing or bad argument
)

// newRootCommand builds the command tree. A subcommand lives in its own
// file as a newXCommand function and is registered here, in one line.
//
// A subcommand's RunE returns usageErrorf for a mistake in how it was called
// (exit 2, with a pointer to --help); any other error it returns is the
// failure of its work (exit 1, printed as "fnfleet <command>: <error>").
// Cobra's own errors (unknown command or flag, bad flag value, a required
// flag missing) are usage errors.
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "fnfleet",
		Short: "fnfleet runs Fn on a fleet of Kubernetes clusters",
		Long: `fnfleet runs Fn, the open-source serverless platform, on a fleet of Kubernetes clusters.

It installs Fn on any Kubernetes cluster from the Helm chart it carries, runs
Fn functions as local processes without Docker, and brings up a local fleet
that places applications on clusters, creates clusters on demand, parks idle
ones and wakes them when needed.

Set FNFLEET_LOG=debug to log more.`,
		Example: `  # Bring up a local fleet and watch a cluster created, parked and woken for an app
  fnfleet up --demo

  # Install Fn on a cluster
  fnfleet install fn --kubeconfig ~/.kube/config

  # Load completion for bash into the current shell
  source <(fnfleet completion bash)`,
		// fnfleet alone is a usage mistake: the help goes to stderr, the
		// exit status is 2.
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			if err := cmd.Help(); err != nil {
				return fmt.Errorf("print help: %w", err)
			}
			return errHelpShown
		},
		SilenceErrors: true, // run prints them, and picks the exit status
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newUpCommand(),
		newInstallCommand(),
		newUninstallCommand(),
		newFnServerCommand(),
		newEventsCommand(),
		newSchedulerCommand(),
		newEventSourceCommand(),
	)
	markRunErrors(root)
	return root
}

// run runs the command args name with the given output and returns the
// exit status. ctx is the commands' context (cmd.Context()).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	var re runError
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelpShown):
		return exitUsage
	case errors.As(err, &re):
		fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), re.err)
		return exitError
	case errors.As(err, &ue):
		err = ue.err
	}
	// A usage error, cobra's or a command's.
	fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", cmd.CommandPath(), err, cmd.CommandPath())
	return exitUsage
}

// usageError is a mistake in how a command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usageErrorf returns a usageError; its message says what was wrong and
// what to pass instead.
func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errHelpShown is a usage error reported by printing the help.
var errHelpShown = errors.New("help shown")

// runError is the failure of a command's work, as opposed to cobra's
// errors before it ran.
type runError struct{ err error }

func (e runError) Error() string { return e.err.Error() }
func (e runError) Unwrap() error { return e.err }

// markRunErrors makes the RunE of every command under c tell its errors
// from cobra's: those that are not usage errors become runErrors.
func markRunErrors(c *cobra.Command) {
	for _, sub := range c.Commands() {
		markRunErrors(sub)
	}
	if c.RunE == nil {
		return
	}
	runE := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		err := runE(cmd, args)
		var ue usageError
		if err == nil || errors.As(err, &ue) || errors.Is(err, errHelpShown) {
			return err
		}
		return runError{err}
	}
}

// logLevel is the level FNFLEET_LOG names (info when unset or unknown).
func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("FNFLEET_LOG"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
