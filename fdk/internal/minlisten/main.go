// Command minlisten is the start-up baseline of the FDK's benchmarks: the
// least a Go program must do to satisfy the Fn socket handshake (the FDK's
// own, socket.Listen) with no HTTP server and no FDK. It then waits for
// SIGTERM and cleans up.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/fnfleet/fnfleet/internal/fncontract/socket"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "minlisten:", err)
		os.Exit(1)
	}
}

func run() error {
	link, ok := strings.CutPrefix(os.Getenv("FN_LISTENER"), "unix:")
	if !ok {
		return fmt.Errorf("FN_LISTENER=%q is not a unix: URL", os.Getenv("FN_LISTENER"))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	lis, err := socket.Listen(link)
	if err != nil {
		return err
	}
	<-sig
	_ = lis.Close()
	return socket.Remove(link)
}
