// Package echo is the handler of the echo function: it answers with the
// request body and Content-Type it received. It is the FDK's smallest
// complete example and the function its benchmarks measure.
package echo

import (
	"context"
	"io"

	"github.com/fnfleet/fnfleet/fdk"
)

// Serve echoes the body and Content-Type of a call; use it as
// fdk.HandlerFunc(echo.Serve).
func Serve(ctx context.Context, in io.Reader, out io.Writer) {
	if ct := fdk.GetContext(ctx).ContentType(); ct != "" {
		fdk.SetHeader(out, "Content-Type", ct)
	}
	_, _ = io.Copy(out, in)
}
