package parking

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	// The zone database is built in, so that a window's zone means the
	// same on every machine, images without /usr/share/zoneinfo included:
	// else every zone there would be "unknown" and every window ignored.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// Time formats of the messages.
const (
	clock     = "2006-01-02 15:04 MST"
	wallClock = "Mon 15:04 MST"
)

// cronParser reads the five-field cron the API documents (minute hour
// day-of-month month day-of-week); descriptors such as @daily are refused.
func cronParser() cron.Parser {
	return cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
}

// maxChain bounds the occurrences followed into one open span (windows that
// overlap or touch, e.g. "0 * * * *" for 2h). 1,500 covers a window opened
// every minute for a whole day; past it the span is cut short, which only
// makes the sweep look again sooner.
const maxChain = 1500

// occurrence is one opening of a window, from start to end.
type occurrence struct {
	window     *v1alpha1.ParkingWindow
	loc        *time.Location
	start, end time.Time
}

func (o *occurrence) describe() string {
	zone := o.window.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	return "hibernation window " + strconv.Quote(o.window.Start) + " (" + zone + ") from " +
		o.start.In(o.loc).Format(wallClock) + " to " + o.end.In(o.loc).Format(wallClock)
}

// windowState is what the windows say at one instant.
type windowState struct {
	open      *occurrence // an open window that applies, the one that closes last
	missed    *occurrence // an open window that opened too long ago to apply
	ahead     *occurrence // the next window to open, within the drain lead
	nextStart time.Time   // the next opening of any window
	notes     string      // windows ignored, and why
}

// windowsAt evaluates every window at now. An open window applies when it
// opened at or after applyFrom; the zero time applies every open window.
//
// A window is read in its own IANA zone and lasts its duration in wall-clock
// time: "0 20 * * 1-5" for 11h closes at 07:00 local time every morning,
// also on the nights the clocks change (it then lasts 10h or 12h). A start
// that falls in the hour skipped in spring does not happen that day, and one
// in the hour repeated in autumn opens at the first of the two, as cron does.
func windowsAt(windows []v1alpha1.ParkingWindow, now, applyFrom time.Time, lead time.Duration) windowState {
	var st windowState
	var notes []string
	for i := range windows {
		w := &windows[i]
		sched, loc, err := parseWindow(w)
		if err != nil {
			notes = append(notes, ignoredNote(i, err))
			continue
		}
		if o := openAt(w, sched, loc, now); o != nil {
			if o.start.Before(applyFrom) {
				st.missed = closesLast(st.missed, o)
			} else {
				st.open = closesLast(st.open, o)
			}
		}
		next := sched.Next(now)
		if next.IsZero() {
			continue
		}
		st.nextStart = earliest(st.nextStart, next)
		if next.Sub(now) <= lead && (st.ahead == nil || next.Before(st.ahead.start)) {
			st.ahead = &occurrence{window: w, loc: loc, start: next, end: wallAdd(next, w.Duration.Duration, loc)}
		}
	}
	st.notes = strings.Join(notes, "; ")
	return st
}

func closesLast(a, b *occurrence) *occurrence {
	if a == nil || b.end.After(a.end) {
		return b
	}
	return a
}

// openAt returns the window's occurrence open at now, nil if none.
func openAt(w *v1alpha1.ParkingWindow, sched cron.Schedule, loc *time.Location, now time.Time) *occurrence {
	d := w.Duration.Duration
	// An occurrence open at now started after now-d-1h: a wall-clock
	// duration is at most one hour longer in absolute time (autumn).
	var open *occurrence
	n := 0
	for s := sched.Next(now.Add(-d - time.Hour - time.Second)); !s.IsZero() && !s.After(now) && n < maxChain; s = sched.Next(s) {
		n++
		if end := wallAdd(s, d, loc); end.After(now) {
			open = &occurrence{window: w, loc: loc, start: s, end: end}
			break
		}
	}
	if open == nil {
		return nil
	}
	// Later openings that begin before this one closes extend it.
	for s := sched.Next(open.start); !s.IsZero() && !s.After(open.end) && n < maxChain; s = sched.Next(s) {
		n++
		if end := wallAdd(s, d, loc); end.After(open.end) {
			open.end = end
		}
	}
	return open
}

// parseWindow reads a window's schedule and zone. Its errors say what is
// wrong and what to do: the evaluation notes them for the windows it
// ignores and WindowProblems reports them, so both read windows here.
func parseWindow(w *v1alpha1.ParkingWindow) (cron.Schedule, *time.Location, error) {
	loc, err := loadZone(w.TimeZone)
	if err != nil {
		return nil, nil, err
	}
	spec, err := parseStart(w.Start)
	if err != nil {
		return nil, nil, err
	}
	if w.Duration.Duration <= 0 {
		return nil, nil, fmt.Errorf("duration %s is not positive: set how long the window stays open, e.g. 11h", w.Duration.Duration)
	}
	// Starts are read in the window's zone, whatever zone now is in.
	if s, ok := spec.(*cron.SpecSchedule); ok {
		s.Location = loc
	}
	return spec, loc, nil
}

// wallAdd adds d to t as a clock on the wall of loc would: 20:00 plus 11h is
// 07:00 the next day even when the clocks change overnight.
func wallAdd(t time.Time, d time.Duration, loc *time.Location) time.Time {
	l := t.In(loc)
	secs := int(d / time.Second)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second()+secs, l.Nanosecond()+int(d%time.Second), loc)
}
