package testbed

import (
	"context"
	"net"
	"testing"

	"github.com/fnfleet/fnfleet/fnserver"
)

// FnServer runs a real Fn server (fnserver, in-process) on a loopback port
// until the test ends, with images mapping image names to executables, and
// returns its base URL.
func FnServer(t testing.TB, images map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := fnserver.New(ctx, fnserver.Config{DataDir: t.TempDir(), Images: images, Logger: Logger(t)})
	if err != nil {
		cancel()
		t.Fatalf("testbed: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatalf("testbed: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("testbed: Fn server: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("testbed: Fn server: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
