package parking

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

// WindowProblem is a hibernation window the evaluation cannot read, and so
// ignores: a start robfig/cron refuses or that never happens, a zone the
// zone database does not know, a duration that is not positive. The API
// refuses most of these (CEL on ParkingWindow); what remains is a zone
// shaped like an IANA name that does not exist ("Mars/Olympus"), a start
// that never happens ("0 0 31 2 *"), and objects stored before the rules.
type WindowProblem struct {
	// Index is the window's position in spec.parking.windows.
	Index int
	// Start and TimeZone are the window's, as written.
	Start, TimeZone string
	// Problem says what is wrong and what to do, e.g. `unknown time zone
	// "Mars/Olympus": use an IANA zone such as Europe/Paris or
	// America/New_York`. The answer of ShouldRun notes the same words.
	Problem string
	// Message is the sentence for a condition or an Event: the window, the
	// problem, and what parking does until it is fixed.
	Message string
}

func (p WindowProblem) String() string { return p.Message }

// WindowProblems lists the windows of a parking policy that the evaluation
// ignores, in order; none for a nil policy or valid windows. It reads each
// window with parseWindow, as ShouldRun does, so the two never disagree:
// a window listed here is exactly one ShouldRun ignores.
func WindowProblems(p *v1alpha1.ParkingPolicy) []WindowProblem {
	if p == nil {
		return nil
	}
	var problems []WindowProblem
	readable := 0
	for i := range p.Windows {
		w := &p.Windows[i]
		if _, _, err := parseWindow(w); err != nil {
			problems = append(problems, WindowProblem{Index: i, Start: w.Start, TimeZone: w.TimeZone, Problem: err.Error()})
		} else {
			readable++
		}
	}
	// What parking does meanwhile, so that a person knows whether to hurry.
	meanwhile := "the window is ignored until it is fixed, so the cluster parks only when idle"
	switch {
	case p.Mode == v1alpha1.ParkingNever:
		meanwhile = "the window is ignored until it is fixed (parking mode Never keeps the cluster running in any case)"
	case readable > 0:
		meanwhile = "the window is ignored until it is fixed, so the cluster parks only for its other windows and when idle"
	}
	for i := range problems {
		pr := &problems[i]
		zone := pr.TimeZone
		if zone == "" {
			zone = "UTC"
		}
		pr.Message = "window " + strconv.Itoa(pr.Index) + " (" + strconv.Quote(pr.Start) + ", " + zone + "): " + pr.Problem + "; " + meanwhile
	}
	return problems
}

// ignoredNote is how the answer of ShouldRun names a window it ignores,
// with the words of WindowProblem.Problem.
func ignoredNote(i int, err error) string {
	return "window " + strconv.Itoa(i) + " ignored: " + err.Error()
}

// cronField is one field of the five-field cron, as robfig/cron reads it.
// The words are those of the CEL rules on ParkingWindow.Start, so that the
// API and the hub say the same thing about the same field.
type cronField struct {
	name    string // as in "the hour field"
	values  string // what a value may be
	example string // a start that uses the field, and what it means
}

// cronFieldAt is field i (0-4) of the five; a function, not a table, so
// that no package-level state can be changed by anyone.
func cronFieldAt(i int) cronField {
	return [5]cronField{
		{"minute", "0-59", "'30 20 * * 1-5' opens at 20:30 on weekdays"},
		{"hour", "0-23", "'0 20 * * 1-5' opens at 20:00 on weekdays"},
		{"day-of-month", "1-31", "'0 20 1,15 * *' opens at 20:00 on the 1st and the 15th"},
		{"month", "1-12 or JAN-DEC", "'0 20 * DEC *' opens at 20:00 every day of December"},
		{"day-of-week", "0-6 or SUN-SAT (Sunday is 0, not 7)", "'0 20 * * MON-FRI' opens at 20:00 on weekdays"},
	}[i]
}

// parseStart reads a start with the parser the evaluation uses. Its errors
// name the field that is wrong, in the words of the API's rules.
func parseStart(start string) (cron.Schedule, error) {
	// robfig/cron reads a "TZ=zone " prefix itself, and panics on one that
	// no space follows; the zone is timeZone's job.
	if strings.HasPrefix(start, "TZ=") || strings.HasPrefix(start, "CRON_TZ=") {
		prefix, _, _ := strings.Cut(strings.Join(strings.Fields(start), " "), " ")
		return nil, fmt.Errorf("start %q names a zone: remove %q and set timeZone instead", start, prefix)
	}
	sched, err := cronParser().Parse(start)
	if err != nil {
		fields := strings.Fields(start)
		if len(fields) != 5 {
			return nil, fmt.Errorf("start %q is not a five-field cron expression (minute hour day-of-month month day-of-week): write e.g. '0 20 * * 1-5'", start)
		}
		// Find the field: the parser has no rule across fields, so the one
		// it refuses among stars is the one it refused.
		for i, f := range fields {
			alone := []string{"*", "*", "*", "*", "*"}
			alone[i] = f
			if _, ferr := cronParser().Parse(strings.Join(alone, " ")); ferr != nil {
				c := cronFieldAt(i)
				return nil, fmt.Errorf("start %q is not a five-field cron expression: its %s field (%s) must be %s, *, a range low-high, a step /n or a comma list of these, e.g. %s",
					start, c.name, f, c.values, c.example)
			}
		}
		return nil, fmt.Errorf("start %q is not a five-field cron expression: %w", start, err)
	}
	// Looked for from 2024: robfig/cron looks 5 years ahead, which from
	// there includes a 29 February, so only a day no month has (31
	// February) is never found.
	if sched.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("start %q never happens: none of the months it names has that day of the month; use a day they have, e.g. '0 20 28 2 *' for 28 February", start)
	}
	return sched, nil
}

// loadZone reads a window's zone; UTC when empty.
func loadZone(name string) (*time.Location, error) {
	switch name {
	case "":
		return time.UTC, nil
	case "Local":
		// time.LoadLocation returns the zone of the machine: a window would
		// open at another hour wherever fnfleet runs.
		return nil, errors.New(`time zone "Local" is the zone of the machine that runs fnfleet: name an IANA zone such as Europe/Paris, or leave timeZone empty for UTC`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: use an IANA zone such as Europe/Paris or America/New_York", name)
	}
	return loc, nil
}
