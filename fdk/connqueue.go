package fdk

import (
	"bufio"
	"net"
	"sync"
)

// connQueue is a net.Listener whose connections are put to it by the FDK:
// connections taken over from a late handler, which the http.Server then
// serves on as if freshly accepted.
type connQueue struct {
	conns     chan net.Conn
	closeOnce sync.Once
	closed    chan struct{}
}

func newConnQueue() *connQueue {
	return &connQueue{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// put hands c to Accept; it reports false once the queue is closed.
func (q *connQueue) put(c net.Conn) bool {
	select {
	case q.conns <- c:
		return true
	case <-q.closed:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.closed:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.closeOnce.Do(func() { close(q.closed) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return &net.UnixAddr{Name: "fdk-rescued", Net: "unix"} }

// bufferedConn reads first what the server had already buffered from the
// connection before it was taken over.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
