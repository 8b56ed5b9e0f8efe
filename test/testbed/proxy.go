package testbed

import (
	"net"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"testing"
)

// Proxy is a real HTTP forward proxy on a loopback port: a client whose
// transport names it (http.ProxyURL) sends it every request, and Cut stops
// it, so that a test cuts exactly that client's path and no other.
type Proxy struct {
	// URL is the proxy's address, for http.ProxyURL or a config.
	URL string

	srv      *http.Server
	served   chan struct{}
	requests atomic.Int64
}

// StartProxy starts a forward proxy until Cut or the end of the test.
func StartProxy(t testing.TB) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testbed: proxy: %v", err)
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), served: make(chan struct{})}
	// A proxied request names its target in full (GET http://host/path):
	// it goes on as it came.
	forward := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.Out.Host = r.In.Host }}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request: send GET http://host/path", http.StatusBadRequest)
			return
		}
		forward.ServeHTTP(w, r)
	})}
	go func() {
		defer close(p.served)
		_ = p.srv.Serve(ln)
	}()
	t.Cleanup(p.Cut)
	return p
}

// Requests is how many requests the proxy received.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// Cut stops the proxy: its port refuses connections, and the connections
// it held are closed.
func (p *Proxy) Cut() {
	_ = p.srv.Close()
	<-p.served
}
