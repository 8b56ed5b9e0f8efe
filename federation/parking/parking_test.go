package parking

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

var t0 = time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC) // a Wednesday

func policy(mode v1alpha1.ParkingMode, ttl time.Duration, windows ...v1alpha1.ParkingWindow) *v1alpha1.ParkingPolicy {
	p := &v1alpha1.ParkingPolicy{Mode: mode, Windows: windows}
	if ttl > 0 {
		p.IdleTTL = &metav1.Duration{Duration: ttl}
	}
	return p
}

func window(start string, d time.Duration, zone string) v1alpha1.ParkingWindow {
	return v1alpha1.ParkingWindow{Start: start, Duration: metav1.Duration{Duration: d}, TimeZone: zone}
}

func TestShouldRun(t *testing.T) {
	// A window opening at 12:00 UTC every day for 2h, so t0 is its opening.
	noon := window("0 12 * * *", 2*time.Hour, "")
	for _, tc := range []struct {
		name        string
		in          Input
		run         bool
		schedulable bool
		reason      Reason
		next        time.Time
		msg         string
	}{
		{name: "placements run", in: Input{Placements: 2, IdleSince: t0.Add(-time.Hour)},
			run: true, schedulable: true, reason: ReasonPlaced, msg: "runs: 2 apps placed"},
		{name: "wake request runs", in: Input{WakeRequested: true, IdleSince: t0.Add(-5 * time.Hour)},
			run: true, schedulable: true, reason: ReasonWakeRequested, msg: "capacity request names it"},
		{name: "idle within the default 20m", in: Input{IdleSince: t0.Add(-19 * time.Minute)},
			run: true, schedulable: true, reason: ReasonIdleWithinTTL, next: t0.Add(time.Minute),
			msg: "runs: idle for 19m of its 20m idleTTL; parks at 2026-06-10 12:01 UTC"},
		{name: "idle past the default 20m", in: Input{IdleSince: t0.Add(-21 * time.Minute)},
			reason: ReasonIdle, schedulable: true, msg: "parked: no apps since 2026-06-10 11:39 UTC, longer than its 20m idleTTL"},
		{name: "idle at exactly the TTL parks", in: Input{IdleSince: t0.Add(-20 * time.Minute)},
			reason: ReasonIdle, schedulable: true},
		{name: "the policy's idleTTL", in: Input{Policy: policy("", time.Hour), IdleSince: t0.Add(-30 * time.Minute)},
			run: true, schedulable: true, reason: ReasonIdleWithinTTL, next: t0.Add(30 * time.Minute), msg: "of its 1h idleTTL"},
		{name: "hysteresis: just woken, idle since long ago", in: Input{IdleSince: t0.Add(-5 * time.Hour), ReadySince: t0.Add(-5 * time.Minute)},
			run: true, schedulable: true, reason: ReasonIdleWithinTTL, next: t0.Add(15 * time.Minute), msg: "idle for 5m of its 20m"},
		{name: "hysteresis: just lost its app", in: Input{IdleSince: t0.Add(-time.Minute), ReadySince: t0.Add(-10 * time.Hour)},
			run: true, schedulable: true, reason: ReasonIdleWithinTTL, next: t0.Add(19 * time.Minute)},
		{name: "first seen idle: the clock starts now", in: Input{},
			run: true, schedulable: true, reason: ReasonIdleWithinTTL, next: t0.Add(20 * time.Minute), msg: "idle for 0s of its 20m"},
		{name: "Ready for hours, its last app just left: a full idleTTL", in: Input{ReadySince: t0.Add(-2 * time.Hour)},
			run: true, schedulable: true, reason: ReasonIdleWithinTTL, next: t0.Add(20 * time.Minute)},
		{name: "idle since unknown while parking: stays parked, no flap", in: Input{Parked: true},
			schedulable: true, reason: ReasonIdleUnknown, msg: "stays parked"},
		{name: "a parked cluster nobody asks for stays parked", in: Input{Parked: true, IdleSince: t0.Add(-3 * time.Hour)},
			reason: ReasonIdle, schedulable: true},
		{name: "manual park with placements", in: Input{ManualPark: true, Placements: 3},
			reason: ReasonManual, msg: "spec.parked is set"},
		{name: "manual park with a wake request", in: Input{ManualPark: true, WakeRequested: true},
			reason: ReasonManual},
		{name: "Never ignores idleness", in: Input{Policy: policy(v1alpha1.ParkingNever, 0), IdleSince: t0.Add(-48 * time.Hour)},
			run: true, schedulable: true, reason: ReasonNeverParks, msg: "runs: parking mode Never"},
		{name: "Never ignores windows", in: Input{Policy: policy(v1alpha1.ParkingNever, 0, noon)},
			run: true, schedulable: true, reason: ReasonNeverParks},
		{name: "Never ignores a manual park and says so", in: Input{Policy: policy(v1alpha1.ParkingNever, 0), ManualPark: true},
			run: true, schedulable: true, reason: ReasonNeverParks, msg: "spec.parked is ignored: set parking.mode to Stop, ScaleToZero or Delete"},
		{name: "a window parks even with placements", in: Input{Policy: policy("", 0, noon), Placements: 4},
			reason: ReasonWindow, next: t0.Add(2 * time.Hour),
			msg: `parked: hibernation window "0 12 * * *" (UTC) from Wed 12:00 UTC to Wed 14:00 UTC`},
		{name: "a window beats a wake request", in: Input{Policy: policy("", 0, noon), WakeRequested: true},
			reason: ReasonWindow, next: t0.Add(2 * time.Hour)},
		{name: "manual park beats a window", in: Input{Policy: policy("", 0, noon), ManualPark: true},
			reason: ReasonManual},
		{name: "drain lead: unschedulable 4m before", in: Input{Policy: policy("", 0, noon), Placements: 1, Now: t0.Add(-4 * time.Minute)},
			run: true, reason: ReasonWindowAhead, next: t0,
			msg: "runs: 1 app placed; unschedulable: hibernation window \"0 12 * * *\" (UTC) from Wed 12:00 UTC to Wed 14:00 UTC opens in 4m"},
		{name: "drain lead: idle and parking anyway stays Idle", in: Input{Policy: policy("", 0, noon), IdleSince: t0.Add(-time.Hour), Now: t0.Add(-4 * time.Minute)},
			reason: ReasonIdle, next: t0},
		{name: "drain lead: schedulable 6m before, looks again at the lead", in: Input{Policy: policy("", 0, noon), Placements: 1, Now: t0.Add(-6 * time.Minute)},
			run: true, schedulable: true, reason: ReasonPlaced, next: t0.Add(-5 * time.Minute)},
		{name: "window closed: usual rules, next opening tomorrow", in: Input{Policy: policy("", 0, noon), Placements: 1, Now: t0.Add(2 * time.Hour)},
			run: true, schedulable: true, reason: ReasonPlaced, next: t0.Add(24*time.Hour - 5*time.Minute)},
		{name: "window opened 9m ago on a running cluster applies", in: Input{Policy: policy("", 0, noon), Placements: 1, Now: t0.Add(9 * time.Minute)},
			reason: ReasonWindow, next: t0.Add(2 * time.Hour)},
		{name: "window opened 11m ago on a running cluster was missed", in: Input{Policy: policy("", 0, noon), Placements: 1, Now: t0.Add(11 * time.Minute)},
			run: true, schedulable: true, reason: ReasonPlaced, next: t0.Add(2 * time.Hour),
			msg: "skipped: it opened 11m ago, more than the 10m deadline for a missed opening"},
		{name: "a missed window on an idle cluster still lets idleness park it", in: Input{Policy: policy("", 0, noon), IdleSince: t0.Add(-time.Hour), Now: t0.Add(time.Hour)},
			reason: ReasonIdle, schedulable: true, next: t0.Add(2 * time.Hour), msg: "skipped"},
		{name: "a cluster parked in its window stays parked to its end", in: Input{Policy: policy("", 0, noon), Parked: true, Placements: 1, Now: t0.Add(90 * time.Minute)},
			reason: ReasonWindow, next: t0.Add(2 * time.Hour)},
		{name: "after days of downtime only the latest opening counts", in: Input{Policy: policy("", 0, noon), Placements: 1, Now: t0.Add(72*time.Hour + 2*time.Minute)},
			reason: ReasonWindow, next: t0.Add(74 * time.Hour), msg: "from Sat 12:00 UTC to Sat 14:00 UTC"},
		{name: "overlapping openings make one span", in: Input{Policy: policy("", 0, window("0 12-14 * * *", 90*time.Minute, "")), Now: t0.Add(5 * time.Minute)},
			reason: ReasonWindow, next: t0.Add(3*time.Hour + 30*time.Minute), msg: "from Wed 12:00 UTC to Wed 15:30 UTC"},
		{name: "a missed span is not made unschedulable by its later openings", in: Input{Policy: policy("", 0, window("0 8-13 * * *", 90*time.Minute, "")), Placements: 1, Now: t0.Add(5 * time.Minute)},
			run: true, schedulable: true, reason: ReasonPlaced, next: t0.Add(150 * time.Minute), msg: "skipped: it opened 1h5m ago"},
		{name: "two windows: the one closing last", in: Input{Policy: policy("", 0, noon, window("5 11 * * *", 4*time.Hour, "")), Parked: true, Placements: 1, Now: t0.Add(5 * time.Minute)},
			reason: ReasonWindow, next: t0.Add(3*time.Hour + 5*time.Minute)},
		{name: "two windows: a missed one does not hide one that applies", in: Input{Policy: policy("", 0, noon, window("0 11 * * *", 4*time.Hour, "")), Placements: 1, Now: t0.Add(5 * time.Minute)},
			reason: ReasonWindow, next: t0.Add(2 * time.Hour)},
		{name: "an unknown zone is ignored and named", in: Input{Policy: policy("", 0, window("0 12 * * *", time.Hour, "Mars/Olympus")), Placements: 1},
			run: true, schedulable: true, reason: ReasonPlaced, msg: `window 0 ignored: unknown time zone "Mars/Olympus"`},
		{name: "a bad cron is ignored and named", in: Input{Policy: policy("", 0, window("0 25 * * *", time.Hour, "")), Placements: 1},
			run: true, schedulable: true, reason: ReasonPlaced, msg: `window 0 ignored: start "0 25 * * *" is not a five-field cron expression`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if in.Now.IsZero() {
				in.Now = t0
			}
			a := ShouldRun(in)
			if a.Run != tc.run || a.Schedulable != tc.schedulable || a.Reason != tc.reason {
				t.Errorf("got run=%v schedulable=%v reason=%s, want run=%v schedulable=%v reason=%s (%s)",
					a.Run, a.Schedulable, a.Reason, tc.run, tc.schedulable, tc.reason, a.Message)
			}
			if !a.NextChange.Equal(tc.next) {
				t.Errorf("next change %v, want %v (%s)", a.NextChange, tc.next, a.Message)
			}
			if !strings.Contains(a.Message, tc.msg) {
				t.Errorf("message %q does not say %q", a.Message, tc.msg)
			}
		})
	}
}

// TestWindowsAcrossDaylightSaving checks that windows open and close at
// their wall-clock times in their own zones on the nights the clocks change
// in both directions, so they last an hour less or more in absolute time.
func TestWindowsAcrossDaylightSaving(t *testing.T) {
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name       string
		w          v1alpha1.ParkingWindow
		opens      time.Time // in UTC
		closes     time.Time
		wantLength time.Duration
	}{
		// Berlin: CET (+1) -> CEST (+2) at 02:00 on Sun 29 March 2026.
		{name: "Berlin spring", w: window("0 20 * * *", 11*time.Hour, "Europe/Berlin"),
			opens: utc(2026, 3, 28, 19, 0), closes: utc(2026, 3, 29, 5, 0), wantLength: 10 * time.Hour},
		// Berlin: CEST -> CET at 03:00 on Sun 25 October 2026.
		{name: "Berlin autumn", w: window("0 20 * * *", 11*time.Hour, "Europe/Berlin"),
			opens: utc(2026, 10, 24, 18, 0), closes: utc(2026, 10, 25, 6, 0), wantLength: 12 * time.Hour},
		// New York: EST (-5) -> EDT (-4) at 02:00 on Sun 8 March 2026.
		{name: "New York spring", w: window("0 22 * * *", 9*time.Hour, "America/New_York"),
			opens: utc(2026, 3, 8, 3, 0), closes: utc(2026, 3, 8, 11, 0), wantLength: 8 * time.Hour},
		// New York: EDT -> EST at 02:00 on Sun 1 November 2026.
		{name: "New York autumn", w: window("0 22 * * *", 9*time.Hour, "America/New_York"),
			opens: utc(2026, 11, 1, 2, 0), closes: utc(2026, 11, 1, 12, 0), wantLength: 10 * time.Hour},
		// A weekday window over the spring change: opens Fri 20:00 CET, and
		// a 59h window closes Mon 07:00 CEST.
		{name: "Berlin weekend", w: window("0 20 * * 5", 59*time.Hour, "Europe/Berlin"),
			opens: utc(2026, 3, 27, 19, 0), closes: utc(2026, 3, 30, 5, 0), wantLength: 58 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.closes.Sub(tc.opens); got != tc.wantLength {
				t.Fatalf("test data: %v long, want %v", got, tc.wantLength)
			}
			p := policy("", 0, tc.w)
			at := func(now time.Time, parked bool) Answer {
				return ShouldRun(Input{Policy: p, Placements: 1, Parked: parked, Now: now})
			}
			if a := at(tc.opens.Add(-time.Minute), false); !a.Run || a.Schedulable || !a.NextChange.Equal(tc.opens) {
				t.Errorf("a minute before: %+v, want running, unschedulable, next change at %v", a, tc.opens)
			}
			if a := at(tc.opens, false); a.Run || a.Reason != ReasonWindow || !a.NextChange.Equal(tc.closes) {
				t.Errorf("at opening: %+v, want parked until %v", a, tc.closes)
			}
			if a := at(tc.closes.Add(-time.Second), true); a.Run {
				t.Errorf("a second before closing: %+v, want parked", a)
			}
			if a := at(tc.closes, true); !a.Run || a.Reason != ReasonPlaced {
				t.Errorf("at closing: %+v, want running for its placement", a)
			}
		})
	}

	t.Run("a start in the skipped hour does not happen that day", func(t *testing.T) {
		p := policy("", 0, window("30 2 * * *", time.Hour, "Europe/Berlin"))
		// 03:10 CEST on the day of the change: 02:30 did not exist.
		a := ShouldRun(Input{Policy: p, Placements: 1, Now: utc(2026, 3, 29, 1, 10)})
		if !a.Run || !a.NextChange.Equal(utc(2026, 3, 30, 0, 25)) {
			t.Errorf("got %+v, want running until the drain lead of Monday 02:30 CEST", a)
		}
	})
	t.Run("a start in the repeated hour opens at the first", func(t *testing.T) {
		p := policy("", 0, window("30 1 * * *", 2*time.Hour, "America/New_York"))
		// 01:30 EDT = 05:30 UTC; 01:30 + 2h on the wall is 03:30 EST = 08:30 UTC.
		a := ShouldRun(Input{Policy: p, Placements: 1, Now: utc(2026, 11, 1, 5, 30)})
		if a.Run || !a.NextChange.Equal(utc(2026, 11, 1, 8, 30)) {
			t.Errorf("got %+v, want parked until 08:30 UTC", a)
		}
	})
}

func TestFor(t *testing.T) {
	ready := metav1.NewTime(t0.Add(-time.Hour))
	idle := metav1.NewTime(t0.Add(-2 * time.Hour))
	mc := &v1alpha1.MemberCluster{
		Spec:   v1alpha1.MemberClusterSpec{Parked: true, Parking: policy(v1alpha1.ParkingDelete, time.Hour)},
		Status: v1alpha1.MemberClusterStatus{Phase: v1alpha1.PhaseReady, PhaseSince: &ready, IdleSince: &idle},
	}
	in := For(mc, 2, true, t0)
	if !in.ManualPark || in.Parked || in.Placements != 2 || !in.WakeRequested || !in.ReadySince.Equal(ready.Time) ||
		!in.IdleSince.Equal(idle.Time) || in.Policy != mc.Spec.Parking || !in.Now.Equal(t0) {
		t.Errorf("For(ready) = %+v", in)
	}
	mc.Status.Phase = v1alpha1.PhaseParked
	if in := For(mc, 0, false, t0); !in.Parked || !in.ReadySince.IsZero() {
		t.Errorf("For(parked) = %+v, want Parked and no ReadySince", in)
	}
}

// TestIdleClock: the clock runs from the first look that finds the cluster
// without apps, whatever became Ready when, and only placements stop it.
func TestIdleClock(t *testing.T) {
	t0 := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	left := t0.Add(-7 * time.Minute)
	for _, tc := range []struct {
		name string
		in   Input
		want time.Time
	}{
		{"apps placed: no clock", Input{Placements: 1, IdleSince: left, Now: t0}, time.Time{}},
		{"first seen idle: now", Input{ReadySince: t0.Add(-2 * time.Hour), Now: t0}, t0},
		{"recorded: kept, not restarted", Input{IdleSince: left, ReadySince: t0.Add(-time.Minute), Now: t0}, left},
		{"parked without a clock: none, so it stays parked", Input{Parked: true, Now: t0}, time.Time{}},
		{"parked with a clock: kept", Input{Parked: true, IdleSince: left, Now: t0}, left},
		{"a wake request does not stop it", Input{WakeRequested: true, IdleSince: left, Now: t0}, left},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IdleClock(tc.in); !got.Equal(tc.want) {
				t.Errorf("IdleClock = %v, want %v", got, tc.want)
			}
			if got := ShouldRun(tc.in).IdleSince; !got.Equal(tc.want) {
				t.Errorf("ShouldRun(...).IdleSince = %v, want %v", got, tc.want)
			}
		})
	}
}
