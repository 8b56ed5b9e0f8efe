package fdk

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// discardResponse is the cheapest http.ResponseWriter, so that the
// benchmark measures the FDK's own work per call.
type discardResponse struct{ h http.Header }

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) WriteHeader(int)             {}
func (d *discardResponse) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkServeHTTPOverhead measures the FDK's work per call without the
// socket, against a bare echo handler doing the same reads and writes.
func BenchmarkServeHTTPOverhead(b *testing.B) {
	body := bytes.Repeat([]byte("a"), 1024)
	echo := func(ctx context.Context, in io.Reader, out io.Writer) {
		SetHeader(out, "Content-Type", GetContext(ctx).ContentType())
		_, _ = io.Copy(out, in)
	}
	deadline := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	rd := bytes.NewReader(body)
	r := httptest.NewRequest(http.MethodPost, "http://localhost/call", rd)
	r.Header.Set("Content-Type", "application/octet-stream")
	r.Header.Set(HeaderCallID, "01BENCH")
	r.Header.Set(HeaderDeadline, deadline)
	newReq := func() *http.Request {
		rd.Reset(body)
		r.Body = io.NopCloser(rd)
		return r
	}
	b.Run("fdk", func(b *testing.B) {
		s := newServer(HandlerFunc(echo), &fnEnv{}, slog.New(slog.DiscardHandler))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r := newReq()
			s.ServeHTTP(&discardResponse{h: http.Header{}}, r)
		}
	})
	b.Run("plain", func(b *testing.B) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
			_, _ = w.Write(body)
		})
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r := newReq()
			h.ServeHTTP(&discardResponse{h: http.Header{}}, r)
		}
	})
}
