// Command plainecho is the echo function written without the FDK: a bare
// net/http server behind the FDK's socket handshake (socket.Listen),
// answering each call with its body. The FDK's start-up benchmark measures
// functions/echo against it: any Go function that speaks HTTP on the
// socket pays for what this program does.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/fnfleet/fnfleet/internal/fncontract/socket"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "plainecho:", err)
		os.Exit(1)
	}
}

func run() error {
	link, ok := strings.CutPrefix(os.Getenv("FN_LISTENER"), "unix:")
	if !ok {
		return fmt.Errorf("FN_LISTENER=%q is not a unix: URL", os.Getenv("FN_LISTENER"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	lis, err := socket.Listen(link)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		_, _ = w.Write(body)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	select {
	case err := <-served:
		return errors.Join(fmt.Errorf("serving: %w", err), socket.Remove(link))
	case <-ctx.Done():
		return errors.Join(srv.Shutdown(context.Background()), socket.Remove(link))
	}
}
