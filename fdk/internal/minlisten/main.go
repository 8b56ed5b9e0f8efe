// Command minlisten is the start-up baseline of the FDK's benchmarks: the
// least a Go program must do to satisfy the Fn socket handshake (listen,
// chmod, relative symlink) with no HTTP server and no FDK. It then waits
// for SIGTERM and cleans up.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "minlisten:", err)
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
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	lis, err := net.Listen("unix", phony)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	defer lis.Close()
	if err := os.Chmod(phony, 0o666); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := os.Symlink(filepath.Base(phony), path); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	defer os.Remove(path)
	<-sig
	return nil
}
