package fdk

import (
	"context"
	"io"
	"net/http"
	"net/url"
)

// HTTPHandler adapts an http.Handler to a Handler. The handler sees the
// caller's request: for HTTP-trigger calls its method, URL and headers;
// for /invoke calls a POST to the path "/" with the headers as sent. What
// it writes (headers, status, body) becomes the answer.
func HTTPHandler(h http.Handler) Handler {
	return HandlerFunc(func(ctx context.Context, in io.Reader, out io.Writer) {
		fc := GetContext(ctx)
		method, target := http.MethodPost, "/"
		if hc, ok := fc.(HTTPContext); ok {
			if hc.RequestMethod() != "" {
				method = hc.RequestMethod()
			}
			if hc.RequestURL() != "" {
				target = hc.RequestURL()
			}
		}
		u, err := url.Parse(target)
		if err != nil {
			u = &url.URL{Path: "/"}
		}
		req := (&http.Request{
			Method:     method,
			URL:        u,
			Proto:      "HTTP/1.1",
			ProtoMajor: 1,
			ProtoMinor: 1,
			Header:     fc.Header().Clone(),
			Body:       io.NopCloser(in),
			Host:       u.Host,
			RequestURI: u.RequestURI(),
		}).WithContext(ctx)
		if req.Header == nil {
			req.Header = http.Header{}
		}
		if n, ok := in.(interface{ Len() int }); ok {
			req.ContentLength = int64(n.Len())
		} else {
			req.ContentLength = -1
		}
		w, ok := out.(http.ResponseWriter)
		if !ok {
			w = &writerResponse{w: out, header: http.Header{}}
		}
		h.ServeHTTP(w, req)
	})
}

// writerResponse lets HTTPHandler serve into a plain io.Writer (headers and
// status are then lost), for handlers called outside the FDK.
type writerResponse struct {
	w      io.Writer
	header http.Header
}

func (r *writerResponse) Header() http.Header         { return r.header }
func (r *writerResponse) WriteHeader(int)             {}
func (r *writerResponse) Write(p []byte) (int, error) { return r.w.Write(p) }
