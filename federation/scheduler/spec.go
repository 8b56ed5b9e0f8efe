package scheduler

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	// The zone database is built in, so that a CRON_TZ zone means the same
	// on every machine, images without /usr/share/zoneinfo included.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// schedule is a compiled Schedule.
type schedule struct {
	name    string
	typ     string // its ticks' event type
	spec    string // as written, for messages
	cron    cron.Schedule
	timeout time.Duration
}

// compile reads every schedule of c, reporting every problem at once.
func compile(c Config) ([]schedule, error) {
	if len(c.Schedules) == 0 {
		return nil, fmt.Errorf("scheduler config lists no schedule: list some of %s, or start from scheduler.Default()", scheduleNames())
	}
	var (
		out  []schedule
		errs []error
	)
	for _, s := range c.Schedules {
		sc, err := compileSchedule(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, sc)
	}
	errs = append(errs, checkListedOnce(c.Schedules))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func compileSchedule(s Schedule) (schedule, error) {
	typ, ok := tickType(s.Name)
	switch {
	case s.Name == "":
		return schedule{}, fmt.Errorf("a schedule (spec %q) has no name: name it one of %s", s.Spec, scheduleNames())
	case !ok:
		return schedule{}, fmt.Errorf("schedule %q: unknown name: want one of %s (the schedules whose dev.fnfleet.<name>.due ticks the catalog has)", s.Name, scheduleNames())
	}
	sched, err := parseSpec(s.Spec)
	if err != nil {
		return schedule{}, fmt.Errorf("schedule %q: %w", s.Name, err)
	}
	gap := shortestGap(sched)
	timeout := s.Timeout.Duration
	switch {
	case timeout < 0:
		return schedule{}, fmt.Errorf("schedule %q: timeout %v is negative: leave it out for %v, or set a positive duration such as 20s",
			s.Name, timeout, defaultTimeout(gap))
	case timeout == 0:
		timeout = defaultTimeout(gap)
	case timeout >= gap:
		return schedule{}, fmt.Errorf("schedule %q: timeout %v is not shorter than the %v between two of its ticks (spec %q), so a send that runs its whole timeout makes the next tick skipped: leave it out for %v, or, if a tick's call needs longer, tick less often",
			s.Name, timeout, gap, s.Spec, defaultTimeout(gap))
	}
	return schedule{name: s.Name, typ: typ, spec: s.Spec, cron: sched, timeout: timeout}, nil
}

// parser reads five fields, six with seconds first, and descriptors
// (@hourly); its zone prefix is always set by parseSpec, so robfig/cron's
// default, the machine's zone, never applies.
func parser() cron.Parser {
	return cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
}

// specExample is what a spec error suggests.
const specExample = `write five fields (minute hour day-of-month month day-of-week) or six with seconds first, e.g. "*/30 * * * * *" for every 30 seconds, optionally after a zone: "CRON_TZ=Europe/Berlin 0 3 * * *"`

// reference is when a spec is checked from: robfig/cron looks 5 years
// ahead, which from 2024 includes a 29 February, so only a day no month
// has (31 February) is never found. A function, so nobody can change it.
func reference() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }

// parseSpec reads a spec in UTC, or in the zone of its CRON_TZ= (or TZ=)
// prefix.
func parseSpec(spec string) (cron.Schedule, error) {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return nil, errors.New("spec is empty: " + specExample)
	}
	zone := "UTC"
	if name, ok := zonePrefix(fields[0]); ok {
		if len(fields) == 1 {
			return nil, fmt.Errorf(`spec %q names a zone and no schedule: write the schedule after it, e.g. "CRON_TZ=Europe/Berlin 0 3 * * *"`, spec)
		}
		if err := checkZone(name); err != nil {
			return nil, fmt.Errorf("spec %q: %w", spec, err)
		}
		zone, fields = name, fields[1:]
	}
	if strings.HasPrefix(fields[0], "@every") {
		return nil, fmt.Errorf(`spec %q counts from when the scheduler starts, so two schedulers (or one restarted) tick at different times and their ticks' ids differ: write fields aligned to the clock instead, e.g. "*/30 * * * * *" for every 30 seconds or "0 */5 * * * *" for every 5 minutes`, spec)
	}
	// robfig/cron reads the prefix itself (and panics on one no space
	// follows, which cannot happen here).
	sched, err := parser().Parse("CRON_TZ=" + zone + " " + strings.Join(fields, " "))
	if err != nil {
		return nil, fmt.Errorf("spec %q: %w: %s", spec, err, specExample)
	}
	if sched.Next(reference()).IsZero() {
		return nil, fmt.Errorf("spec %q never happens: none of the months it names has that day of the month; use a day they have, e.g. 28 for February", spec)
	}
	return sched, nil
}

// zonePrefix reads the zone of a CRON_TZ=Zone (or robfig/cron's TZ=Zone)
// field.
func zonePrefix(field string) (string, bool) {
	if name, ok := strings.CutPrefix(field, "CRON_TZ="); ok {
		return name, true
	}
	return strings.CutPrefix(field, "TZ=")
}

func checkZone(name string) error {
	switch name {
	case "":
		return errors.New(`CRON_TZ= names no zone: name an IANA zone such as Europe/Berlin, or leave the prefix out for UTC`)
	case "Local":
		// time.LoadLocation gives the machine's zone: two schedulers on
		// machines set differently would tick at different times.
		return errors.New(`zone "Local" is the zone of the machine that runs the scheduler: name an IANA zone such as Europe/Berlin, or leave CRON_TZ= out for UTC`)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Errorf("unknown time zone %q: use an IANA zone such as Europe/Berlin or America/New_York", name)
	}
	return nil
}

// Bounds on shortestGap's look ahead: a year covers every month, weekday
// and DST change; 1,000 ticks cover 16 minutes of a schedule ticking every
// second, whose gap does not vary.
const (
	gapLookAheadTicks = 1000
	gapLookAheadYears = 1
)

// shortestGap is the shortest time between two consecutive ticks of s.
func shortestGap(s cron.Schedule) time.Duration {
	from := reference()
	end := from.AddDate(gapLookAheadYears, 0, 0)
	gap := time.Duration(math.MaxInt64)
	prev := s.Next(from)
	for range gapLookAheadTicks {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		gap = min(gap, next.Sub(prev))
		if next.After(end) {
			break
		}
		prev = next
	}
	return gap
}

// defaultTimeout is five sixths of the gap between ticks, so that a send
// that runs its whole timeout is over before the next tick (5 s before it
// for the 30 s reconcile schedule), which is then sent rather than
// skipped; at most DefaultMaxTimeout.
func defaultTimeout(gap time.Duration) time.Duration {
	return min(gap-gap/6, DefaultMaxTimeout)
}
