package models

import (
	"testing"
	"time"
)

func TestNewIDSortsByTime(t *testing.T) {
	a := NewID(time.UnixMilli(1_700_000_000_000))
	b := NewID(time.UnixMilli(1_700_000_000_001))
	if len(a) != 26 || len(b) != 26 || a >= b {
		t.Errorf("ids %s, %s: want 26 characters, increasing with time", a, b)
	}
	if c, d := NewID(time.UnixMilli(5)), NewID(time.UnixMilli(5)); c == d {
		t.Error("two ids of the same millisecond are equal")
	}
}
