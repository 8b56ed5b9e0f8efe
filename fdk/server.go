package fdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/fnfleet/fnfleet/internal/fncontract"
	"github.com/fnfleet/fnfleet/internal/fncontract/socket"
)

// server answers the Fn agent's calls on the socket.
type server struct {
	handler Handler
	env     *fnEnv
	logger  *slog.Logger
	// Header values shared by every answer (read-only once built).
	fdkVersion, fdkRuntime, status200 []string
	// rescued receives connections taken back from a handler that missed
	// its deadline (see expire), to be served on.
	rescued *connQueue
	// responses recycles output buffers of calls that ended normally.
	responses sync.Pool
}

func newServer(h Handler, env *fnEnv, logger *slog.Logger) *server {
	return &server{
		handler: h, env: env, logger: logger,
		fdkVersion: []string{"fnfleet-fdk-go/" + Version},
		fdkRuntime: []string{"go/" + runtime.Version()},
		status200:  []string{"200"},
		rescued:    newConnQueue(),
		responses:  sync.Pool{New: func() any { return newResponse() }},
	}
}

// maxRecycledBody keeps one huge answer from pinning its buffer forever.
const maxRecycledBody = 1 << 20

func (s *server) recycle(r *response) {
	if r.body.Cap() > maxRecycledBody {
		return
	}
	clear(r.header)
	r.status = http.StatusOK
	r.body.Reset()
	r.in.Reset(nil)
	s.responses.Put(r)
}

func (s *server) run(ctx context.Context, lis *net.UnixListener, paths socketPaths, shutdownTimeout time.Duration) error {
	// No read, write or idle timeouts: the agent keeps one connection per
	// container for as long as the container lives, and calls last as long
	// as their Fn-Deadline allows.
	hs := &http.Server{
		Handler:  s,
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(lis) }()
	go func() { _ = hs.Serve(s.rescued) }()

	var serveErr error
	select {
	case err := <-served:
		_ = hs.Close() // also stops serving rescued connections
		serveErr = fmt.Errorf("fdk: serving on %s: %w", paths.phony, err)
	case <-ctx.Done():
		s.logger.Info("fdk: shutting down", "reason", context.Cause(ctx))
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		err := hs.Shutdown(sctx)
		cancel()
		if err != nil {
			_ = hs.Close()
			serveErr = fmt.Errorf("fdk: graceful shutdown: %w", err)
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) && serveErr == nil {
			serveErr = fmt.Errorf("fdk: serving on %s: %w", paths.phony, err)
		}
	}
	// Shutdown closes the queue only if its Serve had started; make sure a
	// late deadline cannot block on it.
	_ = s.rescued.Close()
	if err := socket.Remove(paths.link); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("fdk: %w", err))
	}
	return serveErr
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the whole request first: the Fn LB/runner topology rejects a
	// function that answers before it received the entire request.
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, http.StatusBadGateway, fmt.Sprintf("reading the request body: %v", err))
		return
	}
	in := fncontract.RequestFromAgent(r.Header)
	resp := s.responses.Get().(*response)
	call := newActiveCall(r.Context(), s.parseDeadline(r.Header.Get(HeaderDeadline)))
	call.setCall(s.env, in)

	// The handler runs on this goroutine: handing every call to another
	// goroutine costs more than the rest of the FDK together. When the
	// deadline passes first, expire answers from the timer's goroutine.
	call.start(s, w, resp)
	panicked, value, stack := s.runHandler(call, body, resp)
	if !call.finish() {
		// Answered 504 already; resp may still be referenced by the
		// handler's leftovers, so it is not recycled.
		if panicked {
			s.logger.Error("fdk: late handler panicked after its deadline", "call_id", in.CallID, "panic", fmt.Sprint(value))
		}
		return
	}
	defer s.recycle(resp)

	if panicked {
		s.logger.Error("fdk: handler panicked", "call_id", in.CallID, "panic", fmt.Sprint(value), "stack", string(stack))
		s.writeError(w, http.StatusBadGateway, fmt.Sprintf("function panicked: %v", value))
		return
	}
	h := w.Header()
	fncontract.ResponseToAgent(h, resp.header, in.Trigger)
	fncontract.KeepContentType(h)
	if resp.status == http.StatusOK {
		h[HeaderHTTPStatus] = s.status200
	} else {
		h[HeaderHTTPStatus] = []string{strconv.Itoa(resp.status)}
	}
	s.setFdkHeaders(h)
	// net/http sets Content-Length itself for answers that fit its buffer
	// and would switch to chunked encoding above it.
	if n := resp.body.Len(); n > 2048 {
		h[headerContentLength] = []string{strconv.Itoa(n)}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp.body.Bytes())
}

// runHandler runs the handler and turns a panic into a result.
func (s *server) runHandler(ctx context.Context, body []byte, resp *response) (panicked bool, value any, stack []byte) {
	defer func() {
		if v := recover(); v != nil {
			panicked, value, stack = true, v, debug.Stack()
		}
	}()
	resp.in.Reset(body)
	s.handler.Serve(ctx, &resp.in, resp)
	return false, nil, nil
}

// expire answers 504 when the call's deadline passes before the handler
// returned. The handler's goroutine is the server's goroutine for this
// connection, so expire takes the connection over (Hijack), answers on it
// and hands it back to the server through s.rescued: the agent can send
// its next call at once while the late handler runs on, writing into a
// buffer nobody reads.
func (s *server) expire(w http.ResponseWriter, resp *response, callID string) {
	resp.abandoned.Store(true) // the late handler's writes now fail
	s.logger.Warn("fdk: call deadline passed; answering 504 while the handler still runs", "call_id", callID)

	hj, ok := w.(http.Hijacker)
	if !ok {
		s.logger.Error("fdk: cannot answer 504: connection cannot be taken over", "call_id", callID)
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		s.logger.Error("fdk: cannot answer 504", "call_id", callID, "err", err.Error())
		return
	}
	b := errorBody("function timed out: the call's Fn-Deadline passed before the handler returned")
	h := http.Header{}
	s.setFdkHeaders(h)
	h[headerContentType] = []string{"application/json"}
	answer := &http.Response{
		StatusCode: http.StatusGatewayTimeout, ProtoMajor: 1, ProtoMinor: 1,
		Header: h, ContentLength: int64(len(b)), Body: io.NopCloser(bytes.NewReader(b)),
	}
	// The Hijack error above is nil here; this err is the answer's.
	if err = answer.Write(rw.Writer); err == nil {
		err = rw.Flush()
	}
	if err != nil {
		s.logger.Error("fdk: writing the 504 answer", "call_id", callID, "err", err.Error())
		_ = conn.Close()
		return
	}
	if !s.rescued.put(&bufferedConn{Conn: conn, r: rw.Reader}) {
		_ = conn.Close() // shutting down
	}
}

func (s *server) setFdkHeaders(h http.Header) {
	h[HeaderFdkVersion] = s.fdkVersion
	h[HeaderFdkRuntime] = s.fdkRuntime
}

// writeError answers the agent itself (502 or 504) with a JSON message.
func (s *server) writeError(w http.ResponseWriter, status int, message string) {
	b := errorBody(message)
	h := w.Header()
	s.setFdkHeaders(h)
	h[headerContentType] = []string{"application/json"}
	h[headerContentLength] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func errorBody(message string) []byte {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	return b
}

// readBody reads the whole request body, in one allocation when its length
// is known.
func readBody(r *http.Request) ([]byte, error) {
	switch n := r.ContentLength; {
	case n == 0:
		return nil, nil
	case n > 0 && n < 1<<30:
		body := make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		// net/http ends a sized body itself; this read only confirms it.
		var probe [1]byte
		if k, err := r.Body.Read(probe[:]); k != 0 || (err != nil && err != io.EOF) {
			return nil, fmt.Errorf("body longer than its Content-Length %d", n)
		}
		return body, nil
	default:
		return io.ReadAll(r.Body)
	}
}

// parseDeadline reads Fn-Deadline (RFC 3339). A missing or unreadable
// deadline leaves the call without one (zero time): the agent still kills
// the container when its own timeout passes.
func (s *server) parseDeadline(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		s.logger.Warn("fdk: ignoring unreadable Fn-Deadline", "value", v, "err", err.Error())
		return time.Time{}
	}
	return t
}
