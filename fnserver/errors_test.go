package fnserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/fnserver/models"
	"github.com/fnfleet/fnfleet/fnserver/proc"
)

// The layers below say what happened; this table pins the status and
// message each of their errors is answered with. Most are also asserted on
// the wire by the API tests; the proc kinds that no test can provoke
// cheaply (busy, shutting down) are pinned only here.
func TestWriteErrorAnswersEachKind(t *testing.T) {
	for _, tc := range []struct {
		err        error
		status     int
		message    string
		retryAfter string
	}{
		{models.ErrAppsNotFound, 404, "App not found", ""},
		{fmt.Errorf("read app of trigger T: %w", models.ErrAppsNotFound), 404, "read app of trigger T: App not found", ""},
		{models.ErrAppsInvalidName, 400, "Invalid app name", ""},
		{models.ErrAppsAlreadyExists, 409, "App already exists", ""},
		{&proc.CallError{Kind: proc.Failed, Message: "function failed"}, 502, "function failed", ""},
		{&proc.CallError{Kind: proc.TimedOut, Message: "Timed out"}, 504, "Timed out", ""},
		{&proc.CallError{Kind: proc.Busy, Message: "Timed out - server too busy", RetryAfter: 15 * time.Second}, 503, "Timed out - server too busy", "15"},
		{&proc.CallError{Kind: proc.ShuttingDown, Message: "Server is shutting down", RetryAfter: 15 * time.Second}, 503, "Server is shutting down", "15"},
		{errorf(405, "Method not allowed: PATCH /v2/apps"), 405, "Method not allowed: PATCH /v2/apps", ""},
		{&http.MaxBytesError{Limit: 10}, 413, "Request content too large: the limit is 10 bytes", ""},
		{errors.New("disk on fire"), 500, "internal server error", ""},
	} {
		s := &Server{log: slog.New(slog.DiscardHandler)}
		w := httptest.NewRecorder()
		got := s.writeError(w, httptest.NewRequest("GET", "/", nil), tc.err)
		want := fmt.Sprintf(`{"message":%q}`+"\n", tc.message)
		if got != tc.status || w.Code != tc.status || w.Body.String() != want || w.Header().Get("Retry-After") != tc.retryAfter {
			t.Errorf("%v: answered %d (returned %d) %q Retry-After %q, want %d %q %q",
				tc.err, w.Code, got, w.Body.String(), w.Header().Get("Retry-After"), tc.status, want, tc.retryAfter)
		}
	}
}

// A client that went away gets the Fn server's 444 and no body, but the
// metrics still count what the error stands for; a retry answer is written
// regardless, because Close ends the context of every request in flight.
func TestWriteErrorToAGoneClient(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)

	w := httptest.NewRecorder()
	if got := s.writeError(w, r, models.ErrFnsNotFound); got != 404 || w.Code != 444 || w.Body.Len() != 0 {
		t.Errorf("not found to a gone client: %d (returned %d) %q, want 444 and 404 counted", w.Code, got, w.Body.String())
	}
	w = httptest.NewRecorder()
	if got := s.writeError(w, r, errors.New("x")); got != 500 || w.Code != 444 {
		t.Errorf("internal error to a gone client: %d (returned %d), want 444 and 500 counted", w.Code, got)
	}
	w = httptest.NewRecorder()
	busy := &proc.CallError{Kind: proc.ShuttingDown, Message: "Server is shutting down", RetryAfter: 15 * time.Second}
	if got := s.writeError(w, r, busy); got != 503 || w.Code != 503 || w.Header().Get("Retry-After") != "15" {
		t.Errorf("shutting down with the context ended: %d (returned %d) %v, want 503 Retry-After 15", w.Code, got, w.Header())
	}
}
