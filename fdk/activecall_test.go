package fdk

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/internal/fncontract"
)

func TestActiveCallCarriesDeadlineAndValue(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "parent value")
	deadline := time.Now().Add(time.Hour)
	c := newActiveCall(parent, deadline)
	c.setCall(&fnEnv{}, fncontract.IncomingCall{CallID: "c1", Header: http.Header{}})
	if d, ok := c.Deadline(); !ok || !d.Equal(deadline) {
		t.Fatalf("Deadline %v %v", d, ok)
	}
	if GetContext(c).CallID() != "c1" || c.Value(key{}) != "parent value" {
		t.Fatal("values not visible")
	}
	if _, ok := GetContext(c).(HTTPContext); ok {
		t.Fatal("an /invoke call must not have an HTTPContext")
	}
	if c.Err() != nil {
		t.Fatalf("Err %v before anything happened", c.Err())
	}
	if !c.finish() {
		t.Fatal("finish reported a deadline that never passed")
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err after finish %v, want Canceled", c.Err())
	}
	<-c.Done() // closed: a channel asked for after the end is closed at once
}

func TestActiveCallPropagatesParentCancellation(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	c := newActiveCall(parent, time.Time{})
	done := c.Done()
	cancel()
	<-done
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err %v, want Canceled", c.Err())
	}
	if _, ok := c.Deadline(); ok {
		t.Fatal("no Fn-Deadline must mean no deadline")
	}
}

// The deadline cancels the context and makes finish report false;
// the handler's context then says DeadlineExceeded.
func TestActiveCallExpiresAtDeadline(t *testing.T) {
	c := newActiveCall(context.Background(), time.Now().Add(time.Millisecond))
	c.start(nil, nil, nil) // no server: expiry only cancels
	<-c.Done()
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err %v, want DeadlineExceeded", c.Err())
	}
	if c.finish() {
		t.Fatal("finish after expiry must report that the deadline answered")
	}
}

// When the agent hangs up, nobody is answered at the deadline.
func TestActiveCallDoesNotExpireForAGoneAgent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	cancel()
	c := newActiveCall(parent, time.Now().Add(-time.Second))
	c.expire()
	if c.expired {
		t.Fatal("expired although the agent is gone")
	}
	if !c.finish() {
		t.Fatal("finish must win when expiry was skipped")
	}
}
