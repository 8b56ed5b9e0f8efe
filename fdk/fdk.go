package fdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fnfleet/fnfleet/internal/fncontract/socket"
)

// Version is this FDK's version, sent in the Fn-Fdk-Version header.
const Version = "0.1.0"

// Handler serves one call: it reads the request body from in and writes
// the answer to out. Use SetHeader, AddHeader and WriteStatus on out, and
// GetContext(ctx) for the call's details. ctx ends at the call's deadline.
// As with http.Handler, in and out must not be used after Serve returns:
// the FDK recycles them.
type Handler interface {
	Serve(ctx context.Context, in io.Reader, out io.Writer)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, in io.Reader, out io.Writer)

// Serve calls f.
func (f HandlerFunc) Serve(ctx context.Context, in io.Reader, out io.Writer) { f(ctx, in, out) }

// Options configure Serve.
type Options struct {
	// Env is the function's environment in os.Environ form ("KEY=value").
	// Serve reads FN_LISTENER, FN_FORMAT and the FN_* ids from it, and
	// Context.Config returns all of it. Nil means no variables, which fails
	// because FN_LISTENER is required.
	Env []string
	// Logger receives the FDK's own logs (panics, deadlines, shutdown).
	// Nil means slog.Default().
	Logger *slog.Logger
	// ShutdownTimeout bounds how long Serve waits for the call in flight
	// when ctx ends. Zero means 10 seconds, the grace period docker stop
	// gives a container before killing it.
	ShutdownTimeout time.Duration
}

// Handle serves h under the Fn contract until SIGTERM or SIGINT, then
// exits. A bad environment or a socket that cannot be created exits with
// status 1 and a message on stderr saying what was wrong.
func Handle(h Handler) { HandleContext(context.Background(), h) }

// HandleContext is Handle with a parent context: the FDK also shuts down
// gracefully when ctx ends.
func HandleContext(ctx context.Context, h Handler) {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := Serve(ctx, h, Options{Env: os.Environ(), Logger: logger}); err != nil {
		logger.Error("fdk: function stopped", "err", err.Error())
		stop()
		os.Exit(1)
	}
}

// Serve listens on the socket FN_LISTENER names (creating the phony socket
// and its relative lsnr.sock symlink as the Fn agent expects) and serves h
// until ctx ends. It then stops accepting calls, lets the call in flight
// finish (bounded by Options.ShutdownTimeout), removes the socket and the
// symlink, and returns nil. Any failure to start is returned as an error
// that says what to fix.
func Serve(ctx context.Context, h Handler, opts Options) error {
	if h == nil {
		return errors.New("fdk: nil Handler: pass the function's handler to Serve")
	}
	cfg, err := parseEnv(opts.Env)
	if err != nil {
		return err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	shutdownTimeout := opts.ShutdownTimeout
	if shutdownTimeout <= 0 {
		shutdownTimeout = 10 * time.Second
	}
	lis, err := socket.Listen(cfg.socket.link)
	if err != nil {
		return fmt.Errorf("fdk: %w", err)
	}
	srv := newServer(h, &cfg.fn, logger)
	return srv.run(ctx, lis, cfg.socket, shutdownTimeout)
}
