package fdk

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// ErrCallAbandoned is returned by writes to a call's output after the FDK
// has already answered the call (its deadline passed).
var ErrCallAbandoned = errors.New("fdk: call already answered (deadline passed); output discarded")

// response is the out io.Writer a Handler receives. It buffers the whole
// answer so that the FDK can still answer 502 or 504 instead, and it is an
// http.ResponseWriter so that HTTPHandler can pass it straight through.
//
// Only the handler's goroutine touches header, status and body; the FDK
// reads them after the handler returned (a channel orders the two). When
// the deadline passes the FDK answers on its own and never looks at this
// response again, so a late handler races with nothing.
type response struct {
	in        bytes.Reader // the handler's input, recycled with the response
	header    http.Header
	status    int
	body      bytes.Buffer
	abandoned atomic.Bool
}

func newResponse() *response { return &response{header: make(http.Header), status: http.StatusOK} }

func (r *response) Header() http.Header { return r.header }

func (r *response) WriteHeader(status int) { r.status = status }

func (r *response) Write(p []byte) (int, error) {
	if r.abandoned.Load() {
		return 0, ErrCallAbandoned
	}
	return r.body.Write(p)
}

// ReadFrom lets io.Copy fill the buffer without an intermediate copy.
func (r *response) ReadFrom(src io.Reader) (int64, error) {
	if r.abandoned.Load() {
		return 0, ErrCallAbandoned
	}
	return r.body.ReadFrom(src)
}

// SetHeader sets a response header on out, the writer a Handler receives.
// It does nothing if out is not the FDK's output (or an http.ResponseWriter).
func SetHeader(out io.Writer, key, value string) {
	if hw, ok := out.(interface{ Header() http.Header }); ok {
		hw.Header().Set(key, value)
	}
}

// AddHeader adds a response header value on out, keeping earlier values.
func AddHeader(out io.Writer, key, value string) {
	if hw, ok := out.(interface{ Header() http.Header }); ok {
		hw.Header().Add(key, value)
	}
}

// WriteStatus sets the status of the answer. It reaches the caller through
// the Fn-Http-Status header (see the package documentation); the container
// itself answers 200. Call it before or after writing the body: the answer
// is sent when the handler returns.
func WriteStatus(out io.Writer, status int) {
	if sw, ok := out.(interface{ WriteHeader(int) }); ok {
		sw.WriteHeader(status)
	}
}
