package models

import "fmt"

// Kind says why a request about apps, fns or triggers was refused; the
// server picks its answer from it.
type Kind int

// The kinds of refusal.
const (
	// Invalid: the request breaks a rule of the models (a bad name, a value
	// out of range, malformed JSON in an annotation).
	Invalid Kind = iota + 1
	// NotFound: the app, fn or trigger does not exist.
	NotFound
	// Conflict: the request clashes with what exists (a duplicate name, a
	// change of an immutable field).
	Conflict
)

// Error is a refused request. Messages are the Fn server's own, so that
// clients (the fn CLI, fn_go) see exactly what they would see from a real
// Fn server.
type Error struct {
	Kind    Kind
	Message string
}

func (e Error) Error() string { return e.Message }

// Errorf builds an Error with a formatted message.
func Errorf(kind Kind, format string, args ...any) Error {
	return Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
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
	ErrMissingName        = Error{Invalid, "Missing Name"}
	ErrAppIDProvided      = Error{Invalid, "App ID cannot be supplied on create"}
	ErrAppsIDMismatch     = Error{Invalid, "App ID in path does not match ID in body"}
	ErrAppsTooLongName    = Error{Invalid, fmt.Sprintf("App name must be %d characters or less", MaxNameLength)}
	ErrAppsInvalidName    = Error{Invalid, "Invalid app name"}
	ErrAppsAlreadyExists  = Error{Conflict, "App already exists"}
	ErrAppsNameImmutable  = Error{Conflict, "Could not update - name is immutable"}
	ErrAppsNotFound       = Error{NotFound, "App not found"}
	ErrAppsInvalidShape   = Error{Invalid, "Invalid app shape"}
	ErrFnsIDMismatch      = Error{Invalid, "Fn ID in path does not match that in body"}
	ErrFnsIDProvided      = Error{Invalid, "ID cannot be provided for Fn creation"}
	ErrFnsMissingName     = Error{Invalid, "Missing Fn name"}
	ErrFnsInvalidName     = Error{Invalid, "name must be a valid string"}
	ErrFnsTooLongName     = Error{Invalid, fmt.Sprintf("Fn name must be %d characters or less", MaxNameLength)}
	ErrFnsMissingAppID    = Error{Invalid, "Missing AppID on Fn"}
	ErrFnsMissingImage    = Error{Invalid, "Missing image on Fn"}
	ErrFnsInvalidTimeout  = Error{Invalid, fmt.Sprintf("timeout value is out of range, must be between 0 and %d", MaxTimeout)}
	ErrFnsInvalidIdle     = Error{Invalid, fmt.Sprintf("idle_timeout value is out of range, must be between 0 and %d", MaxIdleTimeout)}
	ErrInvalidMemory      = Error{Invalid, fmt.Sprintf("memory value is out of range. It should be between 0 and %d", MaxMemoryMB)}
	ErrFnsNotFound        = Error{NotFound, "Fn not found"}
	ErrFnsExists          = Error{Conflict, "Fn with specified name already exists"}
	ErrTriggerIDProvided  = Error{Invalid, "ID cannot be provided for Trigger creation"}
	ErrTriggerIDMismatch  = Error{Invalid, "ID in path does not match ID in body"}
	ErrTriggerMissingName = Error{Invalid, "Missing name on Trigger"}
	ErrTriggerTooLongName = Error{Invalid, fmt.Sprintf("Trigger name must be %d characters or less", MaxNameLength)}
	ErrTriggerInvalidName = Error{Invalid, "Invalid name for Trigger"}
	ErrTriggerMissingApp  = Error{Invalid, "Missing App ID on Trigger"}
	ErrTriggerMissingFn   = Error{Invalid, "Missing Fn ID on Trigger"}
	ErrTriggerFnOtherApp  = Error{Invalid, "Invalid Fn ID - not owned by specified app"}
	ErrTriggerTypeUnknown = Error{Invalid, "Trigger Type Not Supported"}
	ErrTriggerMissingSrc  = Error{Invalid, "Missing Trigger Source"}
	ErrTriggerSrcPrefix   = Error{Invalid, "Missing Trigger Source Prefix '/'"}
	ErrTriggerNotFound    = Error{NotFound, "Trigger not found"}
	ErrTriggerExists      = Error{Conflict, "Trigger already exists"}
	ErrTriggerSrcExists   = Error{Conflict, "Trigger with the same type and source exists on this app"}
	ErrCreatedAtProvided  = Error{Invalid, "Trigger Created At Provided for Create"}
	ErrUpdatedAtProvided  = Error{Invalid, "Trigger ID Provided for Create"}

	ErrInvalidAnnotationKey      = Error{Invalid, "Invalid annotation key, annotation keys must be non-empty ascii strings excluding whitespace"}
	ErrInvalidAnnotationKeyLen   = Error{Invalid, fmt.Sprintf("Invalid annotation key length, annotation keys may not be larger than %d bytes", maxAnnotationKeyBytes)}
	ErrInvalidAnnotationValue    = Error{Invalid, "Invalid annotation value, annotation values may only be non-empty strings, numbers, objects, or arrays"}
	ErrInvalidAnnotationValueLen = Error{Invalid, fmt.Sprintf("Invalid annotation value length, annotation values may not be larger than %d bytes when serialized as JSON", maxAnnotationValueBytes)}
	ErrTooManyAnnotationKeys     = Error{Invalid, fmt.Sprintf("Invalid annotation change, new key(s) exceed maximum permitted number of annotations keys (%d)", maxAnnotationKeys)}
)
