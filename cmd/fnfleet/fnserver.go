package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/fnfleet/fnfleet/fnserver"
)

func fnServerCommand() command {
	return command{
		name:    "fn-server",
		summary: "serve the Fn API and run functions as local processes (no Docker)",
		run:     runFnServer,
	}
}

func runFnServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fn-server", "--addr HOST:PORT --data DIR [--images FILE] [flags]", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (any 127.x.y.z works on Linux)")
	data := fs.String("data", "", "data directory: the SQLite database (fn.db) and function logs (logs/<fn id>.log); required")
	images := fs.String("images", "", "YAML file mapping image names to executables (image: path); file:///abs/path images need no entry")
	publicURL := fs.String("public-url", "", "base URL in invokeEndpoint/httpEndpoint annotations, like FN_PUBLIC_LB_URL (default: each request's scheme and host)")
	maxBody := fs.Int64("max-request-bytes", 10<<20, "largest accepted request body; larger ones answer 413")
	maxProcs := fs.Int("max-procs-per-fn", 8, "most processes (concurrent calls) per function")
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM, how long calls in flight may finish")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" {
		fmt.Fprintln(stderr, "fnfleet fn-server: --data DIR is required (the database and function logs live there)")
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fnfleet fn-server: unexpected arguments %q: everything is set with flags\n", fs.Args())
		return errUsage
	}
	cfg := fnserver.Config{
		DataDir:         *data,
		PublicURL:       *publicURL,
		MaxRequestBytes: *maxBody,
		MaxProcsPerFn:   *maxProcs,
		ShutdownTimeout: *shutdown,
		Logger:          slog.Default(),
	}
	if *images != "" {
		m, err := fnserver.LoadImages(*images)
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
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	fmt.Fprintf(stdout, "Fn server on http://%s (data %s); Ctrl-C or SIGTERM stops it\n", ln.Addr(), *data)
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	return srv.Close()
}
