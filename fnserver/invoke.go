package fnserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/fnfleet/fnfleet/fnserver/models"
	"github.com/fnfleet/fnfleet/fnserver/proc"
	"github.com/fnfleet/fnfleet/internal/fncontract"
)

// invoke serves POST /invoke/{fnID}: the caller's headers reach the
// function unchanged and the function's come back verbatim (no
// Content-Type when it sent none), with status 200.
func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	ctx := r.Context()
	fn, err := s.store.GetFn(ctx, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	app, err := s.store.GetApp(ctx, fn.AppID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, status := s.call(w, r, app, fn, fncontract.RequestToFunction(r.Header, nil))
	if resp != nil {
		copyHeader(w.Header(), resp.Header)
		fncontract.KeepContentType(w.Header())
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(resp.Body)
	}
	s.metrics.observe("invoke", status, began)
}

// trigger serves ANY /t/{app}/{source...}. As in the Fn server, the caller's
// headers reach the function as Fn-Http-H-<Name> (Content-Type unchanged)
// with Fn-Http-Method, Fn-Http-Request-Url and Fn-Intent: httprequest; on
// the way back only Fn-Http-H-* (prefix removed), Content-Type and
// Fn-Call-Id survive, and Fn-Http-Status sets the status (see
// fncontract.RequestToFunction and ResponseToCaller).
func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	ctx := r.Context()
	source := "/" + r.PathValue("source")
	app, err := s.store.GetAppByName(ctx, r.PathValue("app"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.store.GetTriggerBySource(ctx, app.ID, models.TriggerTypeHTTP, source)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fn, err := s.store.GetFn(ctx, t.FnID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	header := fncontract.RequestToFunction(r.Header, &fncontract.Trigger{Method: r.Method, URL: requestURL(r)})
	resp, status := s.call(w, r, app, fn, header)
	if resp == nil {
		s.metrics.observe("trigger", status, began)
		return
	}
	// A bad Fn-Http-Status leaves the status 200, as in the Fn server.
	status, caller, _ := fncontract.ResponseToCaller(resp.Header, true)
	out := w.Header()
	for k, vs := range caller {
		out[k] = vs
	}
	// The function's Content-Type, exactly: none when it sent none.
	fncontract.KeepContentType(out)
	out.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
	s.metrics.observe("trigger", status, began)
}

// requestURL is the full URL the caller used, query included.
func requestURL(r *http.Request) string {
	u := *r.URL
	if u.Scheme == "" {
		u.Scheme = "http"
		if r.TLS != nil {
			u.Scheme = "https"
		}
	}
	if u.Host == "" {
		u.Host = r.Host
	}
	return u.String()
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		if k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

// call runs one call of fn with the given function-bound headers. On
// success it returns the function's response for the caller to write; on
// failure it has answered the error itself and returns nil. status is what
// the caller was (or will be) answered, for metrics.
func (s *Server) call(w http.ResponseWriter, r *http.Request, app *models.App, fn *models.Fn, header http.Header) (*proc.Response, int) {
	callID := models.NewID(time.Now())
	// As the Fn server, every answer (errors too) names the call.
	w.Header().Set(fncontract.HeaderCallID, callID)

	fail := func(err error) (*proc.Response, int) {
		return nil, s.writeError(w, r, err)
	}

	if r.ContentLength > s.cfg.MaxRequestBytes {
		return fail(errorf(http.StatusRequestEntityTooLarge, "Content-Length too large for this server, %d > max %d", r.ContentLength, s.cfg.MaxRequestBytes))
	}
	// The whole body is read before the function sees it: the contract asks
	// functions to read all input before answering, and a slow client must
	// not hold a function process.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(errorf(http.StatusRequestEntityTooLarge, "Request content too large: the limit is %d bytes", tooBig.Limit))
		}
		return fail(errorf(http.StatusBadRequest, "read request body: %v", err))
	}
	exe, err := resolveImage(s.cfg.Images, fn.Image)
	if err != nil {
		return fail(err)
	}
	spec := proc.Spec{
		FnID:        fn.ID,
		Path:        exe.path,
		Revision:    exe.revision,
		Env:         functionEnv(app, fn),
		MemoryMB:    fn.Memory,
		Timeout:     time.Duration(fn.Timeout) * time.Second,
		IdleTimeout: time.Duration(fn.IdleTimeout) * time.Second,
		LogPath:     filepath.Join(s.cfg.DataDir, "logs", fn.ID+".log"),
	}
	req := proc.Request{CallID: callID, Header: header, Body: body}

	if r.Header.Get("Fn-Invoke-Type") == "detached" {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			return fail(errorf(http.StatusServiceUnavailable, "Server is shutting down"))
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			if _, err := s.driver.Call(s.baseCtx, spec, req); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Warn("detached call failed", "fn_id", fn.ID, "call_id", callID, "err", err)
			}
		}()
		w.WriteHeader(http.StatusAccepted)
		return nil, http.StatusAccepted
	}

	resp, err := s.driver.Call(r.Context(), spec, req)
	if err != nil {
		return fail(err)
	}
	return resp, http.StatusOK
}

// functionEnv is the environment the Fn agent gives a function: app config,
// then fn config (fn wins), then FN_* variables that override both.
func functionEnv(app *models.App, fn *models.Fn) map[string]string {
	env := make(map[string]string, len(app.Config)+len(fn.Config)+4)
	for k, v := range app.Config {
		env[k] = v
	}
	for k, v := range fn.Config {
		env[k] = v
	}
	env["FN_APP_ID"] = app.ID
	env["FN_FN_ID"] = fn.ID
	env["FN_MEMORY"] = strconv.FormatUint(fn.Memory, 10)
	env["FN_TYPE"] = "sync"
	return env
}
