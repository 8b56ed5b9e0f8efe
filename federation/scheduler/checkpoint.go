package scheduler

import (
	"context"
	"sync"
	"time"
)

// Checkpoint remembers, per schedule, the scheduled time of the last tick
// whose send is over (delivered, or given up on and dead-lettered). The
// scheduler reads it before each send, to count the ticks missed since,
// and to skip a tick already sent; it writes it after each send that
// Run's shutdown did not cut short.
//
// Memory is the implementation for one scheduler process. A Lease-backed
// one (the next issue, with leader election) keeps the same answers in the
// hub, so a restarted or newly elected scheduler counts the ticks missed
// while none ran and can catch up on them.
type Checkpoint interface {
	// LastSent is the scheduled time of schedule's last tick sent; zero
	// when none is known.
	LastSent(ctx context.Context, schedule string) (time.Time, error)
	// MarkSent records that schedule's tick scheduled at at has been
	// sent. It never moves the checkpoint back: a tick older than the
	// last one recorded changes nothing.
	MarkSent(ctx context.Context, schedule string, at time.Time) error
}

// Memory is a Checkpoint in this process's memory: a restart forgets it,
// so the first tick after one reports no missed ticks. Safe for concurrent
// use; the zero value is empty and ready.
type Memory struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// LastSent implements Checkpoint.
func (m *Memory) LastSent(_ context.Context, schedule string) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last[schedule], nil
}

// MarkSent implements Checkpoint.
func (m *Memory) MarkSent(_ context.Context, schedule string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[string]time.Time{}
	}
	if at.After(m.last[schedule]) {
		m.last[schedule] = at
	}
	return nil
}
