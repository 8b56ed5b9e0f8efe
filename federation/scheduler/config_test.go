package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/fnfleet/fnfleet/federation/events"
)

// Every tick type of the catalog has a schedule, and the defaults tick
// them all.
func TestEveryCatalogTickHasASchedule(t *testing.T) {
	defaults := map[string]bool{}
	for _, s := range Default().Schedules {
		defaults[s.Name] = true
	}
	n := 0
	for _, spec := range events.Catalog() {
		if spec.Sender != events.Scheduler {
			continue
		}
		n++
		if _, ok := spec.Payload.(events.Tick); !ok {
			t.Errorf("%s: payload %T, want events.Tick", spec.Type, spec.Payload)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(spec.Type, "dev.fnfleet."), ".due")
		if typ, ok := tickType(name); !ok || typ != spec.Type {
			t.Errorf("schedule %q: tick type %q, want %q", name, typ, spec.Type)
		}
		if !defaults[name] {
			t.Errorf("the defaults have no %q schedule", name)
		}
	}
	if n != len(Default().Schedules) {
		t.Errorf("the catalog has %d tick types, the defaults %d schedules", n, len(Default().Schedules))
	}
}

func TestDefaults(t *testing.T) {
	compiled, err := compile(Default())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{
		events.ScheduleReconcile: 25 * time.Second,
		events.ScheduleParking:   50 * time.Second,
		events.ScheduleResync:    4*time.Minute + 10*time.Second,
		// 5/6 of the 2 s between ticks: the dns pass must end sooner
		// (its probes' timeouts are set for that).
		events.ScheduleDNS: 1666666667 * time.Nanosecond,
	}
	for _, sc := range compiled {
		if sc.timeout != want[sc.name] {
			t.Errorf("%s: default timeout %v, want %v", sc.name, sc.timeout, want[sc.name])
		}
	}
	if got := defaultTimeout(24 * time.Hour); got != DefaultMaxTimeout {
		t.Errorf("a daily schedule's timeout = %v, want %v", got, DefaultMaxTimeout)
	}
}

func TestLoad(t *testing.T) {
	for _, in := range []string{"", "schedules: []", "{}"} {
		cfg, err := Load([]byte(in))
		if err != nil {
			t.Fatalf("Load(%q): %v", in, err)
		}
		if len(cfg.Schedules) != 4 {
			t.Errorf("Load(%q) = %+v, want the defaults", in, cfg)
		}
	}

	cfg, err := Load([]byte(`
schedules:
- name: parking
  spec: "CRON_TZ=Europe/Berlin 15 */2 * * * *"
- name: resync
  timeout: 1m30s
`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Schedule{}
	for _, s := range cfg.Schedules {
		got[s.Name] = s
	}
	if s := got["parking"]; s.Spec != "CRON_TZ=Europe/Berlin 15 */2 * * * *" || s.Timeout.Duration != 0 {
		t.Errorf("parking = %+v, want the file's spec and no timeout (derived)", s)
	}
	if s := got["resync"]; s.Spec != DefaultResyncSpec || s.Timeout.Duration != 90*time.Second {
		t.Errorf("resync = %+v, want the default spec and the file's timeout", s)
	}
	if s := got["reconcile"]; s.Spec != DefaultReconcileSpec {
		t.Errorf("reconcile = %+v, want the default", s)
	}
}

// Each error names the schedule, what is wrong, and what to write.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"misspelt field", "schedules:\n- name: parking\n  sepc: '* * * * *'", []string{`unknown field "sepc"`}},
		{"unknown name", "schedules:\n- name: reconciles\n  spec: '* * * * *'",
			[]string{`schedule "reconciles": unknown name: want one of resync, reconcile, parking`}},
		{"no name", "schedules:\n- spec: '* * * * *'", []string{`a schedule (spec "* * * * *") has no name`}},
		{"listed twice", "schedules:\n- name: parking\n- name: resync\n- name: parking",
			[]string{`schedule "parking" is listed twice (entries 0 and 2): list each schedule once`}},
		{"a field out of range", "schedules:\n- name: parking\n  spec: '61 * * * * *'",
			[]string{`schedule "parking": spec "61 * * * * *": end of range (61) above maximum (59)`, `six with seconds first`}},
		{"seven fields", "schedules:\n- name: parking\n  spec: '0 * * * * * *'",
			[]string{`schedule "parking": spec "0 * * * * * *": expected 5 to 6 fields, found 7`, `e.g. "*/30 * * * * *"`}},
		{"@every", "schedules:\n- name: reconcile\n  spec: '@every 30s'",
			[]string{`schedule "reconcile": spec "@every 30s" counts from when the scheduler starts`, `"*/30 * * * * *"`}},
		{"a zone and no schedule", "schedules:\n- name: parking\n  spec: 'CRON_TZ=Europe/Berlin'",
			[]string{`schedule "parking": spec "CRON_TZ=Europe/Berlin" names a zone and no schedule`, `"CRON_TZ=Europe/Berlin 0 3 * * *"`}},
		{"an unknown zone", "schedules:\n- name: parking\n  spec: 'CRON_TZ=Mars/Olympus * * * * *'",
			[]string{`schedule "parking": spec "CRON_TZ=Mars/Olympus * * * * *": unknown time zone "Mars/Olympus": use an IANA zone such as Europe/Berlin`}},
		{"the machine's zone", "schedules:\n- name: parking\n  spec: 'CRON_TZ=Local * * * * *'",
			[]string{`zone "Local" is the zone of the machine`}},
		{"never", "schedules:\n- name: resync\n  spec: '0 0 31 2 *'",
			[]string{`schedule "resync": spec "0 0 31 2 *" never happens`}},
		{"a negative timeout", "schedules:\n- name: parking\n  timeout: -5s",
			[]string{`schedule "parking": timeout -5s is negative: leave it out for 50s`}},
		{"a timeout as long as the gap", "schedules:\n- name: reconcile\n  timeout: 30s",
			[]string{`schedule "reconcile": timeout 30s is not shorter than the 30s between two of its ticks (spec "*/30 * * * * *")`, `leave it out for 25s, or, if a tick's call needs longer, tick less often`}},
		{"a timeout that is not a duration", "schedules:\n- name: reconcile\n  timeout: 30",
			[]string{`scheduler config:`, `write a timeout with its unit, e.g. timeout: 20s`}},
		{"every problem at once", "schedules:\n- name: parking\n  spec: 'x'\n- name: resync\n  timeout: -1s",
			[]string{`schedule "parking": spec "x"`, `schedule "resync": timeout -1s`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load([]byte(tc.yaml))
			if err == nil {
				t.Fatal("Load accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to say:\n%s", err, w)
				}
			}
		})
	}
}

func TestValidateRefusesAnEmptyConfig(t *testing.T) {
	err := Config{}.Validate()
	if err == nil || !strings.Contains(err.Error(), "lists no schedule") {
		t.Errorf("err = %v, want \"lists no schedule\"", err)
	}
	if err := (Config{Schedules: []Schedule{{Name: "parking", Spec: "TZ=Asia/Tokyo 0 9 * * *"}}}).Validate(); err != nil {
		t.Errorf("robfig/cron's TZ= prefix: %v", err)
	}
}
