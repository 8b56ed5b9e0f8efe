package store

import (
	"fmt"
	"net/http"
)

// Error is an API error: the HTTP status the Fn server answers with and its
// message. Messages are the Fn server's own, so that clients (the fn CLI,
// fn_go) see exactly what they would see from a real Fn server.
type Error struct {
	Code    int
	Message string
}

func (e Error) Error() string { return e.Message }

// StatusCode is the HTTP status for this error.
func (e Error) StatusCode() int { return e.Code }

// Errorf builds an Error with a formatted message.
func Errorf(code int, format string, args ...any) Error {
	return Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Limits, as in the Fn server.
const (
	MaxNameLength      = 255
	MaxMemoryMB        = 8 * 1024
	MaxTimeout         = 300
	MaxIdleTimeout     = 3600
	DefaultMemoryMB    = 128
	DefaultTimeout     = 30
	DefaultIdleTimeout = 30

	maxAnnotationKeyBytes   = 128
	maxAnnotationValueBytes = 512
	maxAnnotationKeys       = 100
)

// The errors below carry the Fn server's messages (api/models in fnproject/fn).
var (
	ErrMissingName        = Error{http.StatusBadRequest, "Missing Name"}
	ErrAppIDProvided      = Error{http.StatusBadRequest, "App ID cannot be supplied on create"}
	ErrAppsIDMismatch     = Error{http.StatusBadRequest, "App ID in path does not match ID in body"}
	ErrAppsTooLongName    = Error{http.StatusBadRequest, fmt.Sprintf("App name must be %d characters or less", MaxNameLength)}
	ErrAppsInvalidName    = Error{http.StatusBadRequest, "Invalid app name"}
	ErrAppsAlreadyExists  = Error{http.StatusConflict, "App already exists"}
	ErrAppsNameImmutable  = Error{http.StatusConflict, "Could not update - name is immutable"}
	ErrAppsNotFound       = Error{http.StatusNotFound, "App not found"}
	ErrAppsInvalidShape   = Error{http.StatusBadRequest, "Invalid app shape"}
	ErrFnsIDMismatch      = Error{http.StatusBadRequest, "Fn ID in path does not match that in body"}
	ErrFnsIDProvided      = Error{http.StatusBadRequest, "ID cannot be provided for Fn creation"}
	ErrFnsMissingName     = Error{http.StatusBadRequest, "Missing Fn name"}
	ErrFnsInvalidName     = Error{http.StatusBadRequest, "name must be a valid string"}
	ErrFnsTooLongName     = Error{http.StatusBadRequest, fmt.Sprintf("Fn name must be %d characters or less", MaxNameLength)}
	ErrFnsMissingAppID    = Error{http.StatusBadRequest, "Missing AppID on Fn"}
	ErrFnsMissingImage    = Error{http.StatusBadRequest, "Missing image on Fn"}
	ErrFnsInvalidTimeout  = Error{http.StatusBadRequest, fmt.Sprintf("timeout value is out of range, must be between 0 and %d", MaxTimeout)}
	ErrFnsInvalidIdle     = Error{http.StatusBadRequest, fmt.Sprintf("idle_timeout value is out of range, must be between 0 and %d", MaxIdleTimeout)}
	ErrInvalidMemory      = Error{http.StatusBadRequest, fmt.Sprintf("memory value is out of range. It should be between 0 and %d", MaxMemoryMB)}
	ErrFnsNotFound        = Error{http.StatusNotFound, "Fn not found"}
	ErrFnsExists          = Error{http.StatusConflict, "Fn with specified name already exists"}
	ErrTriggerIDProvided  = Error{http.StatusBadRequest, "ID cannot be provided for Trigger creation"}
	ErrTriggerIDMismatch  = Error{http.StatusBadRequest, "ID in path does not match ID in body"}
	ErrTriggerMissingName = Error{http.StatusBadRequest, "Missing name on Trigger"}
	ErrTriggerTooLongName = Error{http.StatusBadRequest, fmt.Sprintf("Trigger name must be %d characters or less", MaxNameLength)}
	ErrTriggerInvalidName = Error{http.StatusBadRequest, "Invalid name for Trigger"}
	ErrTriggerMissingApp  = Error{http.StatusBadRequest, "Missing App ID on Trigger"}
	ErrTriggerMissingFn   = Error{http.StatusBadRequest, "Missing Fn ID on Trigger"}
	ErrTriggerFnOtherApp  = Error{http.StatusBadRequest, "Invalid Fn ID - not owned by specified app"}
	ErrTriggerTypeUnknown = Error{http.StatusBadRequest, "Trigger Type Not Supported"}
	ErrTriggerMissingSrc  = Error{http.StatusBadRequest, "Missing Trigger Source"}
	ErrTriggerSrcPrefix   = Error{http.StatusBadRequest, "Missing Trigger Source Prefix '/'"}
	ErrTriggerNotFound    = Error{http.StatusNotFound, "Trigger not found"}
	ErrTriggerExists      = Error{http.StatusConflict, "Trigger already exists"}
	ErrTriggerSrcExists   = Error{http.StatusConflict, "Trigger with the same type and source exists on this app"}
	ErrCreatedAtProvided  = Error{http.StatusBadRequest, "Trigger Created At Provided for Create"}
	ErrUpdatedAtProvided  = Error{http.StatusBadRequest, "Trigger ID Provided for Create"}
	ErrInvalidCursor      = Error{http.StatusBadRequest, "Invalid cursor: pass the next_cursor value of a previous page unchanged"}

	ErrInvalidAnnotationKey      = Error{http.StatusBadRequest, "Invalid annotation key, annotation keys must be non-empty ascii strings excluding whitespace"}
	ErrInvalidAnnotationKeyLen   = Error{http.StatusBadRequest, fmt.Sprintf("Invalid annotation key length, annotation keys may not be larger than %d bytes", maxAnnotationKeyBytes)}
	ErrInvalidAnnotationValue    = Error{http.StatusBadRequest, "Invalid annotation value, annotation values may only be non-empty strings, numbers, objects, or arrays"}
	ErrInvalidAnnotationValueLen = Error{http.StatusBadRequest, fmt.Sprintf("Invalid annotation value length, annotation values may not be larger than %d bytes when serialized as JSON", maxAnnotationValueBytes)}
	ErrTooManyAnnotationKeys     = Error{http.StatusBadRequest, fmt.Sprintf("Invalid annotation change, new key(s) exceed maximum permitted number of annotations keys (%d)", maxAnnotationKeys)}
)
