// Package agentconn is how fnfleet talks to a function's socket when it
// plays the Fn agent (fdktest, the process host, the FDK's benchmarks): one
// HTTP/1.1 connection to the unix socket, kept and reused, as the agent
// keeps one per container and sends one call at a time. It is apart from
// agentsock because the functions' side of the handshake must not import
// net/http.
package agentconn

import (
	"context"
	"net"
	"net/http"
)

// Transport dials the unix socket at path for every request, whatever the
// URL's host, and keeps at most one connection.
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
