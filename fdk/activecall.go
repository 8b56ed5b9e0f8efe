package fdk

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/fnfleet/fnfleet/internal/fncontract"
)

// activeCall is a call being served. It is the context.Context its handler
// receives, carrying the call's deadline and its fdk.Context (callContext)
// in one allocation, and it is the meeting point of the two possible
// answerers of a call: the handler's goroutine when the handler returns,
// and the deadline timer when it does not return in time.
// Whoever comes first under mu answers; the other keeps away from the
// ResponseWriter.
//
// The standard library's WithDeadline + WithValue + AfterFunc would do the
// same with several allocations and a registration with the request's
// context on every call; here the parent is watched only if the handler
// asks for Done.
type activeCall struct {
	parent   context.Context
	deadline time.Time
	value    Context
	// The call's Context lives here too, to save allocations.
	call     callContext
	httpCall httpCallContext

	// What expire needs to answer 504.
	srv  *server
	w    http.ResponseWriter
	resp *response

	mu        sync.Mutex
	done      chan struct{} // created on demand
	err       error
	watching  bool        // a parent watcher is registered
	stopWatch func() bool // stops the parent watcher
	finished  bool        // the handler returned first
	expired   bool        // the deadline passed first
	timer     *time.Timer
}

func newActiveCall(parent context.Context, deadline time.Time) *activeCall {
	return &activeCall{parent: parent, deadline: deadline}
}

// setCall makes the call described by in the Context handlers get.
func (c *activeCall) setCall(env *fnEnv, in fncontract.IncomingCall) {
	c.call = callContext{env: env, header: in.Header, callID: in.CallID}
	if in.Trigger {
		c.httpCall = httpCallContext{callContext: c.call, requestURL: in.URL, requestMethod: in.Method}
		c.value = &c.httpCall
		return
	}
	c.value = &c.call
}

// start arms the deadline: if it passes before finish is called, srv
// answers 504 on w (under c.mu).
func (c *activeCall) start(srv *server, w http.ResponseWriter, resp *response) {
	if c.deadline.IsZero() {
		return
	}
	c.srv, c.w, c.resp = srv, w, resp
	c.timer = time.AfterFunc(time.Until(c.deadline), c.expire)
}

func (c *activeCall) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished || c.parent.Err() != nil {
		return // answered already, or the agent hung up and nobody listens
	}
	c.expired = true
	c.cancelLocked(context.DeadlineExceeded)
	if c.srv != nil {
		c.srv.expire(c.w, c.resp, c.call.callID)
	}
}

// finish is called by the handler's goroutine when the handler returned.
// It reports false when the deadline answered first.
func (c *activeCall) finish() bool {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expired {
		return false
	}
	c.finished = true
	c.cancelLocked(context.Canceled)
	if c.stopWatch != nil {
		c.stopWatch()
	}
	return true
}

func (c *activeCall) cancelLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
}

func (c *activeCall) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }

func (c *activeCall) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
			return c.done
		}
	}
	if !c.watching && c.err == nil {
		c.watching = true
		c.stopWatch = context.AfterFunc(c.parent, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.cancelLocked(context.Cause(c.parent))
		})
	}
	return c.done
}

func (c *activeCall) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return c.parent.Err()
}

func (c *activeCall) Value(key any) any {
	if _, ok := key.(contextKey); ok {
		return c.value
	}
	return c.parent.Value(key)
}
