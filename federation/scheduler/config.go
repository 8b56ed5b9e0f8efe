package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/fnfleet/fnfleet/federation/events"
)

// Config is what the scheduler ticks: one entry per schedule. It is data
// only; New compiles it, Validate says what is wrong with it.
//
//	schedules:
//	- name: reconcile
//	  spec: "*/30 * * * * *"
//	- name: parking
//	  spec: "CRON_TZ=Europe/Berlin 15 * * * * *"
//	  timeout: 40s
type Config struct {
	Schedules []Schedule `json:"schedules"`
}

// Schedule is one schedule: when its tick, a dev.fnfleet.<name>.due event,
// is sent.
type Schedule struct {
	// Name is the schedule's, one of events.ScheduleResync,
	// events.ScheduleReconcile, events.ScheduleParking: it names the
	// event's type, its subject and its id.
	Name string `json:"name"`
	// Spec is a robfig/cron expression in UTC: five fields (minute hour
	// day-of-month month day-of-week), six with a seconds field first, or
	// a descriptor (@hourly); a "CRON_TZ=Zone " prefix reads it in an IANA
	// zone. Empty in a file: the default's.
	Spec string `json:"spec,omitempty"`
	// Timeout bounds one tick's send, retries included. Empty: five sixths
	// of the shortest gap between two ticks, at most DefaultMaxTimeout.
	Timeout metav1.Duration `json:"timeout,omitempty"`
}

// The default schedules. Each is sub-hourly and in UTC, so no DST change
// touches it, and they are staggered within the minute so that the hub's
// Fn does not start all three calls in the same second.
const (
	// DefaultReconcileSpec: every 30 s, the observation resync
	// (control.ObservationResync): placement treats a member whose
	// heartbeat is 10 minutes old as gone, so 30 s gives 20 beats first.
	DefaultReconcileSpec = "*/30 * * * * *"
	// DefaultParkingSpec: every minute, 15 s after a reconcile tick, so the
	// sweep reads heartbeats and idle times just written. A minute is
	// small next to the idle TTLs (minutes to hours) and the 5-minute
	// drain lead before a hibernation window.
	DefaultParkingSpec = "15 * * * * *"
	// DefaultResyncSpec: every 5 minutes, at second 45 (away from the
	// other two). It only repairs what events missed, and makes placement,
	// lifecycle and dns look at every object: 5 minutes bounds how long a
	// lost event delays a change at a cost of one full pass per 5 minutes.
	DefaultResyncSpec = "45 */5 * * * *"
	// DefaultDNSSpec: every 2 seconds. A hung member leaves its apps'
	// answers after two failed probes (hysteresis), so the tick bounds
	// the failover: 2 ticks of 2 s plus a 1 s probe timeout and the
	// vantage points' 1 s keeps it under the 10 s the design promises
	// (k8gb: about a minute). An unchanged pass writes nothing.
	DefaultDNSSpec = "*/2 * * * * *"
)

// DefaultMaxTimeout caps a derived timeout: the events sender gives up by
// then with its defaults (11 attempts of at most 45 s and 111 s of
// backoff), so waiting longer only holds the schedule back.
const DefaultMaxTimeout = 10 * time.Minute

// Default is the configuration used when none is given, and what a file's
// schedules are laid over: the three schedules of the catalog.
func Default() Config {
	return Config{Schedules: []Schedule{
		{Name: events.ScheduleReconcile, Spec: DefaultReconcileSpec},
		{Name: events.ScheduleParking, Spec: DefaultParkingSpec},
		{Name: events.ScheduleResync, Spec: DefaultResyncSpec},
		{Name: events.ScheduleDNS, Spec: DefaultDNSSpec},
	}}
}

// Load reads a configuration from YAML (or JSON): the defaults, with the
// fields each listed schedule sets replacing the default's of that name.
// Unknown fields are refused, so a misspelt one does not silently keep a
// default. The result is validated.
func Load(data []byte) (Config, error) {
	var file Config
	if err := yaml.UnmarshalStrict(data, &file); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && strings.HasSuffix(typeErr.Field, ".timeout") {
			return Config{}, fmt.Errorf("scheduler config: %w: write a timeout with its unit, e.g. timeout: 20s", err)
		}
		return Config{}, fmt.Errorf("scheduler config: %w", err)
	}
	if err := checkListedOnce(file.Schedules); err != nil {
		return Config{}, fmt.Errorf("scheduler config: %w", err)
	}
	cfg := Default()
	for _, s := range file.Schedules {
		i := slices.IndexFunc(cfg.Schedules, func(d Schedule) bool { return d.Name == s.Name })
		if i < 0 {
			// Validate names what is wrong with it.
			cfg.Schedules = append(cfg.Schedules, s)
			continue
		}
		d := &cfg.Schedules[i]
		if s.Spec != "" {
			d.Spec = s.Spec
		}
		if s.Timeout.Duration != 0 {
			d.Timeout = s.Timeout
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate reports every problem of c, each naming its schedule, what is
// wrong and what to write instead.
func (c Config) Validate() error {
	_, err := compile(c)
	return err
}

func checkListedOnce(schedules []Schedule) error {
	var errs []error
	for i, s := range schedules {
		if j := slices.IndexFunc(schedules[:i], func(o Schedule) bool { return o.Name == s.Name }); j >= 0 {
			errs = append(errs, fmt.Errorf("schedule %q is listed twice (entries %d and %d): list each schedule once", s.Name, j, i))
		}
	}
	return errors.Join(errs...)
}

// tickType is the event type of schedule name's ticks: the catalog's
// dev.fnfleet.<name>.due.
func tickType(name string) (string, bool) {
	switch name {
	case events.ScheduleResync:
		return events.TypeResyncDue, true
	case events.ScheduleReconcile:
		return events.TypeReconcileDue, true
	case events.ScheduleParking:
		return events.TypeParkingDue, true
	case events.ScheduleDNS:
		return events.TypeDNSDue, true
	}
	return "", false
}

// scheduleNames lists the names tickType knows, for error messages.
func scheduleNames() string {
	return strings.Join([]string{events.ScheduleResync, events.ScheduleReconcile, events.ScheduleParking, events.ScheduleDNS}, ", ")
}
