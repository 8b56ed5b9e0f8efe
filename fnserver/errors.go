package fnserver

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fnfleet/fnfleet/fnserver/models"
	"github.com/fnfleet/fnfleet/fnserver/proc"
)

// apiError is an answer of the Fn API that is not a success: its status,
// Fn's message and, for 503, when to retry. It is the only error type that
// knows HTTP statuses; apiErrorOf translates the others.
type apiError struct {
	status     int
	message    string
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.message }

// errorf builds an apiError with a formatted message.
func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, message: fmt.Sprintf(format, args...)}
}

// apiErrorOf is the one place that decides how a failure is answered. The
// message is the whole of err's text, which for the errors of the layers
// below is Fn's own message. It reports false for errors the API does not
// explain (internal errors, a caller that went away).
func apiErrorOf(err error) (*apiError, bool) {
	var (
		ae     *apiError
		me     models.Error
		ce     *proc.CallError
		tooBig *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		return &apiError{status: ae.status, message: err.Error(), retryAfter: ae.retryAfter}, true
	case errors.As(err, &me):
		return &apiError{status: modelStatus(me.Kind), message: err.Error()}, true
	case errors.As(err, &ce):
		return &apiError{status: callStatus(ce.Kind), message: err.Error(), retryAfter: ce.RetryAfter}, true
	case errors.As(err, &tooBig):
		return errorf(http.StatusRequestEntityTooLarge, "Request content too large: the limit is %d bytes", tooBig.Limit), true
	}
	return nil, false
}

func modelStatus(k models.Kind) int {
	switch k {
	case models.Invalid:
		return http.StatusBadRequest
	case models.NotFound:
		return http.StatusNotFound
	case models.Conflict:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// callStatus answers a failed call as the Fn agent does.
func callStatus(k proc.Kind) int {
	switch k {
	case proc.Failed:
		return http.StatusBadGateway
	case proc.TimedOut:
		return http.StatusGatewayTimeout
	case proc.Busy, proc.ShuttingDown:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// statusClientGone is the Fn server's private status for a request whose
// client went away before the answer.
const statusClientGone = 444

// writeError answers err as the Fn server does: {"message": ...} with the
// error's status; an error the API does not explain is a 500 whose detail
// is only logged. It returns the status err stands for, which the call
// metrics count, even when the client went away and heard nothing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	e, known := apiErrorOf(err)
	switch {
	case known && e.retryAfter > 0:
		// Answered even when the request's context has ended: Close ends
		// every request's context, and the caller should still hear that
		// it may retry.
		w.Header().Set("Retry-After", strconv.Itoa(int(e.retryAfter/time.Second)))
	case r.Context().Err() != nil:
		w.WriteHeader(statusClientGone)
		if known {
			return e.status
		}
		return http.StatusInternalServerError
	case !known:
		s.log.Error("internal server error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = errorf(http.StatusInternalServerError, "internal server error")
	}
	writeJSON(w, e.status, map[string]string{"message": e.message})
	return e.status
}
