package proc

import "net/http"

// CallError is a failed call, with the status and message the Fn agent
// answers with in the same situation.
type CallError struct {
	Code    int
	Message string
	// RetryAfter, in seconds, is set on "server busy" answers.
	RetryAfter int
}

func (e *CallError) Error() string { return e.Message }

// StatusCode is the HTTP status for this error.
func (e *CallError) StatusCode() int { return e.Code }

// The Fn agent's errors (api/models/error.go in fnproject/fn).
func errFunctionFailed() error {
	return &CallError{Code: http.StatusBadGateway, Message: "function failed"}
}

func errInvalidResponse() error {
	return &CallError{Code: http.StatusBadGateway, Message: "invalid function response"}
}

func errFunctionResponse() error {
	return &CallError{Code: http.StatusBadGateway, Message: "error receiving function response"}
}

func errResponseTooBig() error {
	return &CallError{Code: http.StatusBadGateway, Message: "function response body too large"}
}

func errTimeout() error {
	return &CallError{Code: http.StatusGatewayTimeout, Message: "Timed out"}
}

func errInitFailed() error {
	return &CallError{Code: http.StatusBadGateway, Message: "Container failed to initialize, please ensure you are using the latest fdk and check the logs"}
}

func errInitTimeout() error {
	return &CallError{Code: http.StatusGatewayTimeout, Message: "Container initialization timed out, please ensure you are using the latest fdk and check the logs"}
}

func errServerBusy() error {
	return &CallError{Code: http.StatusServiceUnavailable, Message: "Timed out - server too busy", RetryAfter: 15}
}

func errShuttingDown() error {
	return &CallError{Code: http.StatusServiceUnavailable, Message: "Server is shutting down", RetryAfter: 15}
}
