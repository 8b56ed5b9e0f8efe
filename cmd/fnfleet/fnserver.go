package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/fnfleet/fnfleet/fnserver"
)

// fnServerOptions are the flags of fnfleet fn-server.
type fnServerOptions struct {
	addr, data, images, publicURL string
	maxRequestBytes               int64
	maxProcsPerFn                 int
	shutdownTimeout               time.Duration
}

func newFnServerCommand() *cobra.Command {
	var o fnServerOptions
	cmd := &cobra.Command{
		Use:   "fn-server --data DIR [flags]",
		Short: "Serve the Fn API and run functions as local processes (no Docker)",
		Long: `Serve the Fn API (apps, fns, triggers, /invoke, /t/..., /metrics) and run each
function as a local process under the Fn container contract. The fn CLI and
fn_go work against it unchanged.

State persists in --data: the SQLite database fn.db, and each function's output
in logs/<fn id>.log. An image is run as the executable --images maps it to; a
file:///abs/path image needs no entry. Ctrl-C or SIGTERM shuts down gracefully,
letting calls in flight finish for up to --shutdown-timeout, and leaves no
function process behind. The API and the contract: docs/fn-server.md.`,
		Example: `  # Serve on 127.0.0.1:8080, running the image fnfleet/echo as bin/echo
  echo "fnfleet/echo: $PWD/bin/echo" > /tmp/images.yaml
  fnfleet fn-server --addr 127.0.0.1:8080 --data /tmp/fn-data --images /tmp/images.yaml

  # As the local fleet runs a cluster's Fn: on a loopback address of its own,
  # announcing that address in the endpoints of its functions
  fnfleet fn-server --addr 127.0.1.2:8080 --data /tmp/fn-data-2 --public-url http://127.0.1.2:8080`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected arguments %q: everything is set with flags", args)
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.data == "" {
				return usageErrorf("--data DIR is required (the database and function logs live there)")
			}
			return runFnServer(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on (any 127.x.y.z works on Linux)")
	f.StringVar(&o.data, "data", "", "data directory: the SQLite database (fn.db) and function logs (logs/<fn id>.log); required")
	f.StringVar(&o.images, "images", "", "YAML file mapping image names to executables (image: path); file:///abs/path images need no entry")
	f.StringVar(&o.publicURL, "public-url", "", "base URL in invokeEndpoint/httpEndpoint annotations, like FN_PUBLIC_LB_URL (default: each request's scheme and host)")
	f.Int64Var(&o.maxRequestBytes, "max-request-bytes", 10<<20, "largest accepted request body; larger ones answer 413")
	f.IntVar(&o.maxProcsPerFn, "max-procs-per-fn", 8, "most processes (concurrent calls) per function")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long calls in flight may finish")
	_ = cmd.MarkFlagDirname("data")
	_ = cmd.MarkFlagFilename("images", "yaml", "yml")
	return cmd
}

func runFnServer(ctx context.Context, o fnServerOptions, stdout io.Writer) error {
	cfg := fnserver.Config{
		DataDir:         o.data,
		PublicURL:       o.publicURL,
		MaxRequestBytes: o.maxRequestBytes,
		MaxProcsPerFn:   o.maxProcsPerFn,
		ShutdownTimeout: o.shutdownTimeout,
		Logger:          slog.Default(),
	}
	if o.images != "" {
		m, err := fnserver.LoadImages(o.images)
		if err != nil {
			return err
		}
		cfg.Images = m
	}
	srv, err := fnserver.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	fmt.Fprintf(stdout, "Fn server on http://%s (data %s); Ctrl-C or SIGTERM stops it\n", ln.Addr(), o.data)
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	return srv.Close()
}
