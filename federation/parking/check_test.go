package parking

import (
	"strings"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
)

func TestWindowProblems(t *testing.T) {
	good := window("0 20 * * 1-5", 11*time.Hour, "Europe/Berlin")
	for _, tc := range []struct {
		name   string
		policy *v1alpha1.ParkingPolicy
		want   []string // one message per problem, in order
	}{
		{name: "no policy", policy: nil},
		{name: "valid windows", policy: policy("", 0, good,
			window("*/15 9-17 * JAN-MAR MON-FRI", time.Hour, "America/Argentina/Buenos_Aires"),
			window("0 0 1,15 * *", time.Hour, ""),
			window("0 0 29 2 *", time.Hour, "Etc/GMT-14"),
			window("00 08 ? * sun", time.Hour, "EST5EDT"))},
		{name: "unknown zone", policy: policy("", 0, window("0 20 * * *", 8*time.Hour, "Mars/Olympus")),
			want: []string{`window 0 ("0 20 * * *", Mars/Olympus): unknown time zone "Mars/Olympus": use an IANA zone such as Europe/Paris or America/New_York; the window is ignored until it is fixed, so the cluster parks only when idle`}},
		{name: "Local", policy: policy("", 0, window("0 20 * * *", 8*time.Hour, "Local")),
			want: []string{`window 0 ("0 20 * * *", Local): time zone "Local" is the zone of the machine that runs fnfleet: name an IANA zone such as Europe/Paris, or leave timeZone empty for UTC`}},
		{name: "minute out of range, zone and all", policy: policy("", 0, window("99 * * * *", 8*time.Hour, "Mars/Olympus")),
			// The zone is read first: one problem at a time, as the
			// evaluation reads them.
			want: []string{`unknown time zone "Mars/Olympus"`}},
		{name: "minute out of range", policy: policy("", 0, window("99 * * * *", 8*time.Hour, "")),
			want: []string{`window 0 ("99 * * * *", UTC): start "99 * * * *" is not a five-field cron expression: its minute field (99) must be 0-59, *, a range low-high, a step /n or a comma list of these, e.g. '30 20 * * 1-5' opens at 20:30 on weekdays; the window is ignored until it is fixed`}},
		{name: "hour out of range", policy: policy("", 0, window("0 25 * * *", 8*time.Hour, "")),
			want: []string{"its hour field (25) must be 0-23"}},
		{name: "range backwards", policy: policy("", 0, window("0 17-9 * * *", 8*time.Hour, "")),
			want: []string{"its hour field (17-9) must be 0-23"}},
		{name: "Sunday as 7", policy: policy("", 0, window("0 20 * * 7", 8*time.Hour, "")),
			want: []string{"its day-of-week field (7) must be 0-6 or SUN-SAT (Sunday is 0, not 7)"}},
		{name: "month name", policy: policy("", 0, window("0 20 * JANUARY *", 8*time.Hour, "")),
			want: []string{"its month field (JANUARY) must be 1-12 or JAN-DEC"}},
		{name: "day of month zero", policy: policy("", 0, window("0 20 0 * *", 8*time.Hour, "")),
			want: []string{"its day-of-month field (0) must be 1-31"}},
		{name: "four fields", policy: policy("", 0, window("0 20 * *", 8*time.Hour, "")),
			want: []string{`start "0 20 * *" is not a five-field cron expression (minute hour day-of-month month day-of-week): write e.g. '0 20 * * 1-5'`}},
		{name: "descriptor", policy: policy("", 0, window("@daily", 8*time.Hour, "")),
			want: []string{`start "@daily" is not a five-field cron expression`}},
		{name: "zone in the start", policy: policy("", 0, window("TZ=Europe/Paris\t0\t20\t*\t*", 8*time.Hour, "")),
			want: []string{`start "TZ=Europe/Paris\t0\t20\t*\t*" names a zone: remove "TZ=Europe/Paris" and set timeZone instead`}},
		{name: "never happens", policy: policy("", 0, window("0 0 31 2 *", 8*time.Hour, "")),
			want: []string{`start "0 0 31 2 *" never happens: none of the months it names has that day of the month`}},
		{name: "zero duration", policy: policy("", 0, window("0 20 * * *", 0, "")),
			want: []string{`window 0 ("0 20 * * *", UTC): duration 0s is not positive: set how long the window stays open, e.g. 11h`}},
		{name: "other windows still apply", policy: policy("", 0, good, window("0 20 * * *", 8*time.Hour, "Mars/Olympus")),
			want: []string{`window 1 ("0 20 * * *", Mars/Olympus): unknown time zone "Mars/Olympus"`, "so the cluster parks only for its other windows and when idle"}},
		{name: "mode Never", policy: policy(v1alpha1.ParkingNever, 0, window("0 20 * * *", 8*time.Hour, "Mars/Olympus")),
			want: []string{"the window is ignored until it is fixed (parking mode Never keeps the cluster running in any case)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := WindowProblems(tc.policy)
			if tc.want == nil {
				if len(got) > 0 {
					t.Fatalf("problems %v, want none", got)
				}
				return
			}
			// "other windows" lists two expectations of one problem.
			if len(got) != 1 {
				t.Fatalf("got %d problems %v, want 1", len(got), got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got[0].Message, w) {
					t.Errorf("message %q\n  does not say %q", got[0].Message, w)
				}
			}
			p := tc.policy.Windows[got[0].Index]
			if got[0].Start != p.Start || got[0].TimeZone != p.TimeZone || !strings.HasSuffix(got[0].Message, got[0].Problem+"; "+meanwhileOf(got[0].Message)) {
				t.Errorf("problem %+v does not describe window %d (%+v)", got[0], got[0].Index, p)
			}
		})
	}
}

// meanwhileOf is the part of a message after the problem.
func meanwhileOf(msg string) string {
	return msg[strings.LastIndex(msg, "; ")+2:]
}

// TestWindowProblemsAgreeWithShouldRun checks that a window WindowProblems
// lists is one ShouldRun ignores and names with the same words, and that
// one it does not list is evaluated.
func TestWindowProblemsAgreeWithShouldRun(t *testing.T) {
	for _, w := range []v1alpha1.ParkingWindow{
		window("0 12 * * *", time.Hour, ""),
		window("0 12 * * *", time.Hour, "Mars/Olympus"),
		window("0 12 * * *", time.Hour, "Local"),
		window("0 25 * * *", time.Hour, ""),
		window("0 12 31 2 *", time.Hour, ""),
		window("0 12 * * *", 0, ""),
		window("*/0 * * * *", time.Hour, ""),
	} {
		p := policy("", 0, w)
		problems := WindowProblems(p)
		a := ShouldRun(Input{Policy: p, Placements: 1, Now: t0})
		switch {
		case len(problems) == 0:
			if a.Reason != ReasonWindow || strings.Contains(a.Message, "ignored") {
				t.Errorf("%+v: no problem listed, but the answer is %s: %s", w, a.Reason, a.Message)
			}
		case !strings.Contains(a.Message, "window 0 ignored: "+problems[0].Problem):
			t.Errorf("%+v: answer %q does not note %q", w, a.Message, problems[0].Problem)
		}
	}
}

// TestParseStartMatchesTheParser checks that naming the field changes no
// verdict: parseStart refuses exactly what robfig/cron refuses (and a
// schedule that never happens).
func TestParseStartMatchesTheParser(t *testing.T) {
	for _, start := range []string{
		"0 20 * * 1-5", "*/15 9-17 * JAN-MAR MON-FRI", "0 0 1,15 * *", "5/15 * * * *", "*-5 * * * *", "0 20, * * *",
		"  0   20 * *\t1-5  ", "1-5/2,10-20/3,30 */2 1-31/7 1,6,12 0,6", "0 20 ? * ?", "+5 * * * *",
		"99 * * * *", "0 25 * * *", "0 17-9 * * *", "0 20 * * 7", "0 20 * dec-jan *", "every night", "@daily", "", "0 20 * * * *",
		"*/0 * * * *", "0 0 0 * *", "1-2-3 * * * *", "1/2/3 * * * *", "0 20 * * MONDAY",
	} {
		_, err := parseStart(start)
		_, perr := cronParser().Parse(start)
		if (err == nil) != (perr == nil) {
			t.Errorf("%q: parseStart says %v, the parser %v", start, err, perr)
		}
	}
}
