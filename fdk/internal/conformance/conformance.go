// Package conformance holds the handler the FDK's conformance tests run,
// both in-process and as a built binary (conformfn). The caller's
// Conformance-Mode header picks the behaviour under test.
package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/fnfleet/fnfleet/fdk"
)

// Header names the tests send.
const (
	ModeHeader   = "Conformance-Mode"
	StatusHeader = "Conformance-Status"
	SleepHeader  = "Conformance-Sleep"
)

// Report is what the "context" mode answers.
type Report struct {
	CallID, AppID, FnID, AppName, FnName, ContentType string
	Header                                            http.Header
	Config                                            map[string]string
	HTTP                                              bool
	RequestURL, RequestMethod                         string
	HasDeadline                                       bool
	Deadline                                          time.Time
	Body                                              string
}

// Handler returns the conformance handler.
func Handler() fdk.Handler {
	httpMode := fdk.HTTPHandler(http.HandlerFunc(serveHTTP))
	return fdk.HandlerFunc(func(ctx context.Context, in io.Reader, out io.Writer) {
		fc := fdk.GetContext(ctx)
		switch mode := fc.Header().Get(ModeHeader); mode {
		case "", "echo":
			if ct := fc.ContentType(); ct != "" {
				fdk.SetHeader(out, "Content-Type", ct)
			}
			_, _ = io.Copy(out, in)
		case "context":
			body, _ := io.ReadAll(in)
			r := Report{
				CallID: fc.CallID(), AppID: fc.AppID(), FnID: fc.FnID(), AppName: fc.AppName(),
				FnName: fc.FnName(), ContentType: fc.ContentType(), Header: fc.Header(),
				Config: fc.Config(), Body: string(body),
			}
			if hc, ok := fc.(fdk.HTTPContext); ok {
				r.HTTP, r.RequestURL, r.RequestMethod = true, hc.RequestURL(), hc.RequestMethod()
			}
			r.Deadline, r.HasDeadline = ctx.Deadline()
			fdk.SetHeader(out, "Content-Type", "application/json")
			_ = json.NewEncoder(out).Encode(r)
		case "headers":
			fdk.SetHeader(out, "X-Single", "one")
			fdk.AddHeader(out, "X-Multi", "a")
			fdk.AddHeader(out, "X-Multi", "b")
			fdk.SetHeader(out, "Content-Type", "text/plain")
			if s, err := strconv.Atoi(fc.Header().Get(StatusHeader)); err == nil {
				fdk.WriteStatus(out, s)
			}
			_, _ = io.WriteString(out, "headers")
		case "panic":
			panic("conformance panic")
		case "sleep":
			// Ignores ctx on purpose: the FDK must answer 504 at the deadline
			// anyway, and this late write must not reach the agent.
			d, _ := time.ParseDuration(fc.Header().Get(SleepHeader))
			time.Sleep(d)
			_, _ = io.WriteString(out, "late")
		case "http":
			httpMode.Serve(ctx, in, out)
		default:
			fdk.WriteStatus(out, http.StatusBadRequest)
			_, _ = fmt.Fprintf(out, "unknown %s %q", ModeHeader, mode)
		}
	})
}

// serveHTTP answers with the request as the http.Handler saw it.
func serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Http-Handler", "yes")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
		"header": r.Header.Get("X-Caller"), "body": string(body),
	})
}
