package fncontract

import (
	"context"
	"net"
	"net/http"
)

// Transport is how the agent talks to a function's socket at path: one
// HTTP/1.1 connection, kept and reused, whatever the URL's host, as the Fn
// agent keeps one per container and sends one call at a time. fdktest, the
// process-based Fn server and the FDK's benchmarks all use it.
func Transport(path string) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		DisableCompression:  true,
	}
}
