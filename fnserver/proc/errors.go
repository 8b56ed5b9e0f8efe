package proc

import "time"

// Kind says why a call failed; the server picks its answer from it.
type Kind int

// The kinds of failed call, as the Fn agent tells them apart.
const (
	// Failed: the function failed, answered something the contract does not
	// allow, broke the connection or could not start.
	Failed Kind = iota + 1
	// TimedOut: the call, or the function's start, outlived its timeout.
	TimedOut
	// Busy: every process the function may run was busy for as long as the
	// call may last.
	Busy
	// ShuttingDown: the driver is closing and starts no call.
	ShuttingDown
)

// CallError is a failed call, with the Fn agent's message for the same
// situation (api/models/error.go in fnproject/fn).
type CallError struct {
	Kind    Kind
	Message string
	// RetryAfter is set for Busy and ShuttingDown: when the caller may try
	// again.
	RetryAfter time.Duration
}

func (e *CallError) Error() string { return e.Message }

// retryAfter is what the Fn agent tells a caller it turns away (15 s).
const retryAfter = 15 * time.Second

func errFunctionFailed() error {
	return &CallError{Kind: Failed, Message: "function failed"}
}

func errInvalidResponse() error {
	return &CallError{Kind: Failed, Message: "invalid function response"}
}

func errFunctionResponse() error {
	return &CallError{Kind: Failed, Message: "error receiving function response"}
}

func errResponseTooBig() error {
	return &CallError{Kind: Failed, Message: "function response body too large"}
}

func errTimeout() error {
	return &CallError{Kind: TimedOut, Message: "Timed out"}
}

func errInitFailed() error {
	return &CallError{Kind: Failed, Message: "Container failed to initialize, please ensure you are using the latest fdk and check the logs"}
}

func errInitTimeout() error {
	return &CallError{Kind: TimedOut, Message: "Container initialization timed out, please ensure you are using the latest fdk and check the logs"}
}

func errServerBusy() error {
	return &CallError{Kind: Busy, Message: "Timed out - server too busy", RetryAfter: retryAfter}
}

func errShuttingDown() error {
	return &CallError{Kind: ShuttingDown, Message: "Server is shutting down", RetryAfter: retryAfter}
}
