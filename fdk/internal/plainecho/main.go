// Command plainecho is the echo function written without the FDK: a bare
// net/http server that performs the Fn socket handshake (listen, chmod,
// relative symlink) and answers each call with its body. The FDK's
// start-up benchmark measures functions/echo against it: any Go function
// that speaks HTTP on the socket pays for what this program does.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "plainecho:", err)
		os.Exit(1)
	}
}

func run() error {
	path, ok := strings.CutPrefix(os.Getenv("FN_LISTENER"), "unix:")
	if !ok {
		return fmt.Errorf("FN_LISTENER=%q is not a unix: URL", os.Getenv("FN_LISTENER"))
	}
	dir, base := filepath.Split(path)
	phony := filepath.Join(dir, "phony"+base)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	lis, err := net.Listen("unix", phony)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	if err := os.Chmod(phony, 0o666); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := os.Symlink(filepath.Base(phony), path); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	defer os.Remove(path)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		_, _ = w.Write(body)
	})}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.Serve(lis); err != http.ErrServerClosed {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}
