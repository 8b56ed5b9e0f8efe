package fnserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fnfleet/fnfleet/fnserver/models"
	"github.com/fnfleet/fnfleet/fnserver/store"
	"github.com/fnfleet/fnfleet/internal/fncontract"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, h) }

	handle("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"hello": "world!", "goto": "https://github.com/fnproject/fn"})
	})
	handle("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": s.cfg.Version})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))

	handle("GET /v2/apps", s.listApps)
	handle("POST /v2/apps", s.createApp)
	handle("GET /v2/apps/{id}", s.getApp)
	handle("PUT /v2/apps/{id}", s.updateApp)
	handle("DELETE /v2/apps/{id}", s.deleteApp)

	handle("GET /v2/fns", s.listFns)
	handle("POST /v2/fns", s.createFn)
	handle("GET /v2/fns/{id}", s.getFn)
	handle("PUT /v2/fns/{id}", s.updateFn)
	handle("DELETE /v2/fns/{id}", s.deleteFn)

	handle("GET /v2/triggers", s.listTriggers)
	handle("POST /v2/triggers", s.createTrigger)
	handle("GET /v2/triggers/{id}", s.getTrigger)
	handle("PUT /v2/triggers/{id}", s.updateTrigger)
	handle("DELETE /v2/triggers/{id}", s.deleteTrigger)

	handle("POST /invoke/{id}", s.invoke)
	handle("/t/{app}", s.trigger)
	handle("/t/{app}/{source...}", s.trigger)

	// Known paths with another method answer 405, anything else 404, both
	// as JSON like the Fn server (a method-less pattern is less specific
	// than the ones above, so it only catches the other methods).
	for _, p := range []string{"/version", "/metrics", "/v2/apps", "/v2/apps/{id}", "/v2/fns", "/v2/fns/{id}", "/v2/triggers", "/v2/triggers/{id}", "/invoke/{id}"} {
		handle(p, func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, errorf(http.StatusMethodNotAllowed, "Method not allowed: %s %s", r.Method, r.URL.Path))
		})
	}
	handle("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(http.StatusNotFound, "Path not found: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON request body into v, bounded by MaxRequestBytes.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength > s.cfg.MaxRequestBytes {
		return errorf(http.StatusRequestEntityTooLarge, "Content-Length too large for this server, %d > max %d", r.ContentLength, s.cfg.MaxRequestBytes)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxRequestBytes))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return errorf(http.StatusBadRequest, "Invalid JSON: %v", jsonProblem(err))
	}
	return nil
}

// jsonProblem phrases a decoding error for API users, naming the field
// rather than Go types.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q must be a JSON %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("syntax error at byte %d: %v", syntaxErr.Offset, err)
	case err.Error() == "EOF":
		return "the request body is empty"
	}
	return err.Error()
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "number"
	case goKind == "map" || goKind == "struct":
		return "object"
	case goKind == "slice":
		return "array"
	case goKind == "bool":
		return "boolean"
	}
	return goKind
}

func pageParams(r *http.Request) store.Page {
	n, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	return store.Page{Cursor: r.URL.Query().Get("cursor"), PerPage: n}
}

// baseURL is where clients reach this server: PublicURL, else the request's.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) annotateFn(r *http.Request, f *models.Fn) *models.Fn {
	out := *f
	out.Annotations = f.Annotations.With(fncontract.InvokeEndpointAnnotation, s.baseURL(r)+"/invoke/"+f.ID)
	return &out
}

func (s *Server) annotateTrigger(r *http.Request, appName string, t *models.Trigger) *models.Trigger {
	if t.Type != models.TriggerTypeHTTP {
		return t
	}
	out := *t
	out.Annotations = t.Annotations.With(fncontract.HTTPEndpointAnnotation, s.baseURL(r)+"/t/"+appName+"/"+strings.TrimPrefix(t.Source, "/"))
	return &out
}

type list[T any] struct {
	NextCursor string `json:"next_cursor,omitempty"`
	Items      []T    `json:"items"`
}

// ---- apps ----

func (s *Server) createApp(w http.ResponseWriter, r *http.Request) {
	var in models.App
	if err := s.decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.store.CreateApp(r.Context(), &in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	a, err := s.store.GetApp(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) updateApp(w http.ResponseWriter, r *http.Request) {
	var in models.App
	if err := s.decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	if in.ID == "" {
		in.ID = id
	}
	if in.ID != id {
		s.writeError(w, r, models.ErrAppsIDMismatch)
		return
	}
	a, err := s.store.UpdateApp(r.Context(), &in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) deleteApp(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DeleteApp(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	items, next, err := s.store.ListApps(r.Context(), store.AppFilter{Name: r.URL.Query().Get("name"), Page: pageParams(r)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[*models.App]{NextCursor: next, Items: items})
}

// ---- fns ----

func (s *Server) createFn(w http.ResponseWriter, r *http.Request) {
	var in models.Fn
	if err := s.decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.store.CreateFn(r.Context(), &in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.annotateFn(r, f))
}

func (s *Server) getFn(w http.ResponseWriter, r *http.Request) {
	f, err := s.store.GetFn(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.annotateFn(r, f))
}

func (s *Server) updateFn(w http.ResponseWriter, r *http.Request) {
	var in models.Fn
	if err := s.decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	if in.ID == "" {
		in.ID = id
	}
	if in.ID != id {
		s.writeError(w, r, models.ErrFnsIDMismatch)
		return
	}
	f, err := s.store.UpdateFn(r.Context(), &in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.annotateFn(r, f))
}

func (s *Server) deleteFn(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DeleteFn(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listFns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	items, next, err := s.store.ListFns(r.Context(), store.FnFilter{AppID: q.Get("app_id"), Name: q.Get("name"), Page: pageParams(r)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for i, f := range items {
		items[i] = s.annotateFn(r, f)
	}
	writeJSON(w, http.StatusOK, list[*models.Fn]{NextCursor: next, Items: items})
}

// ---- triggers ----

func (s *Server) createTrigger(w http.ResponseWriter, r *http.Request) {
	var in models.Trigger
	if err := s.decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.store.CreateTrigger(r.Context(), &in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeTrigger(w, r, t)
}

// writeTrigger answers t with its httpEndpoint annotation.
func (s *Server) writeTrigger(w http.ResponseWriter, r *http.Request, t *models.Trigger) {
	app, err := s.store.GetApp(r.Context(), t.AppID)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("read app of trigger %s: %w", t.ID, err))
		return
	}
	writeJSON(w, http.StatusOK, s.annotateTrigger(r, app.Name, t))
}

func (s *Server) getTrigger(w http.ResponseWriter, r *http.Request) {
	t, err := s.store.GetTrigger(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeTrigger(w, r, t)
}

func (s *Server) updateTrigger(w http.ResponseWriter, r *http.Request) {
	var in models.Trigger
	if err := s.decode(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	if in.ID == "" {
		in.ID = id
	}
	if in.ID != id {
		s.writeError(w, r, models.ErrTriggerIDMismatch)
		return
	}
	t, err := s.store.UpdateTrigger(r.Context(), &in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeTrigger(w, r, t)
}

func (s *Server) deleteTrigger(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DeleteTrigger(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTriggers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.TriggerFilter{AppID: q.Get("app_id"), FnID: q.Get("fn_id"), Name: q.Get("name"), Page: pageParams(r)}
	items, next, err := s.store.ListTriggers(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(items) > 0 {
		app, err := s.store.GetApp(r.Context(), f.AppID)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("read app of triggers: %w", err))
			return
		}
		for i, t := range items {
			items[i] = s.annotateTrigger(r, app.Name, t)
		}
	}
	writeJSON(w, http.StatusOK, list[*models.Trigger]{NextCursor: next, Items: items})
}
