package scheduler

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// failAfter bounds a test's wait for the scheduler to reach a point it
// must reach: a failure's bound, never how long a step takes, so a loaded
// machine only makes a failing test slower to fail.
const failAfter = 60 * time.Second

// fakeClock is a clock the test moves: Sleep blocks until set moves the
// clock past the sleeper's time (or its context ends).
type fakeClock struct {
	mu       sync.Mutex
	now      time.Time
	sleepers []*sleeper
	changed  chan struct{} // closed, and replaced, when sleepers change
}

type sleeper struct {
	until time.Time
	wake  chan struct{}
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, changed: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	s := &sleeper{until: c.now.Add(d), wake: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.signal()
	c.mu.Unlock()
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		if i := slices.Index(c.sleepers, s); i >= 0 {
			c.sleepers = slices.Delete(c.sleepers, i, i+1)
			c.signal()
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

func (c *fakeClock) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// waitSleepers waits until n goroutines sleep, and returns the earliest
// time one of them wakes at.
func (c *fakeClock) waitSleepers(t *testing.T, n int) time.Time {
	t.Helper()
	deadline := time.NewTimer(failAfter)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if len(c.sleepers) >= n {
			earliest := c.sleepers[0].until
			for _, s := range c.sleepers[1:] {
				if s.until.Before(earliest) {
					earliest = s.until
				}
			}
			c.mu.Unlock()
			return earliest
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("the scheduler never waited for its next tick (%d goroutines asleep, want %d)", len(c.sleepers), n)
		}
	}
}

// set moves the clock to now, waking every sleeper whose time has come.
func (c *fakeClock) set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
	kept := c.sleepers[:0]
	for _, s := range c.sleepers {
		if s.until.After(now) {
			kept = append(kept, s)
			continue
		}
		close(s.wake)
	}
	clear(c.sleepers[len(kept):])
	c.sleepers = kept
	c.signal()
}

// syncBuffer is a log's destination that the test reads while the
// scheduler writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
