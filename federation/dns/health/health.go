// Package health decides, for the dns function, which members an app's
// names answer with: a member is in only while the app itself answers an
// active probe of its trigger on the member's Fn endpoint (k8gb looks only
// at a Service's endpoints, so a broken ingress or Fn goes unseen).
//
// Three parts, the first two pure:
//
//   - hysteresis (Step): two failed probes in a row drop a member, two
//     answered ones bring it back, and a member never probed before enters
//     on its first answer, so an app placed on a new member answers within
//     one probe (the figure "app placed -> answering < 2 s");
//   - split brain (Confirm): before the hub drops a member it asks up to 3
//     other members (their probe function, package vantage) to probe the
//     same URL, and drops only when a majority of those it reached agree;
//     with none reached it holds, as the hub may be the one cut off;
//   - the Prober and the Checker, which probe over HTTP and keep the
//     states between the dns function's calls.
//
// # The figure "member hung -> answers stop < 10 s"
//
// With the dns function called every P (its tick), a probe timeout T and a
// vantage point's call bounded by V (its own probe of T inside), a member
// that hangs just after a probe answered is dropped at worst after
//
//	P (until the next tick) + T (its probe times out) + P (until the
//	next tick after that call; the scheduler skips ticks while a call
//	runs) + T (the second timeout) + V (the vantage points)
//	= 2P + 2T + V.
//
// The dns function's values (P 2 s, T 600 ms, V 900 ms) give 6.1 s, the
// defaults (T 2 s, V 3 s) with P 1 s give 9 s, leaving the rest of the
// 10 s for the plan and the zone write. That holds while every target is
// probed on every call: Config.MaxProbes (256) bounds the probes of one
// call, and when the dns function has more (app, member) pairs the rest
// wait for the next calls, least recently probed first, so each pair is
// probed every ceil(pairs/MaxProbes) calls and the two P above grow by
// that factor. A call's own length is bounded too: its probes run
// Config.Concurrency (32) at a time, so a member whose 32 apps all hang
// costs one T, not 32.
package health

import (
	"log/slog"
	"time"
)

// Config configures a Prober and a Checker. The zero value is ready: every
// field has a default.
type Config struct {
	// Timeout bounds one probe, the hub's and each vantage point's
	// (default DefaultTimeout, 2 s).
	Timeout time.Duration
	// Concurrency bounds the hub's probes in flight (default 32).
	Concurrency int
	// MaxProbes bounds the hub's probes in one Check (default 256).
	MaxProbes int
	// ProxyURL, when set, is an HTTP proxy (http://host:port) every one of
	// the hub's probes goes through; the vantage points' probes do not.
	// It is how a hub reaches members only through a proxy, and how a
	// test cuts the hub's probe path alone.
	ProxyURL string
	// Vantage asks other members to probe a URL (vantage.Client); nil
	// leaves every decision to the hub alone.
	Vantage VantageProber
	// MaxVantages bounds the vantage points asked before one drop
	// (default 3: a majority of 3 outvotes one member's bad link, and 3
	// function calls per drop are cheap).
	MaxVantages int
	// ForgetAfter is how long a target no Check lists is remembered
	// (default 10 minutes): a member re-placed within it keeps its state,
	// and memory holds only the targets of the last 10 minutes.
	ForgetAfter time.Duration
	// Logger receives drops, returns and holds; nil means slog.Default().
	Logger *slog.Logger
}

// Defaults of Config beyond the Prober's.
const (
	// DefaultMaxProbes bounds the hub's probes per Check: 256 probes, 32
	// at a time, take a few milliseconds each against hot members, and
	// 256 (app, member) pairs is a fleet of 64 apps on 4 members each.
	DefaultMaxProbes   = 256
	DefaultMaxVantages = 3
	DefaultForgetAfter = 10 * time.Minute
)

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxProbes <= 0 {
		c.MaxProbes = DefaultMaxProbes
	}
	if c.MaxVantages <= 0 {
		c.MaxVantages = DefaultMaxVantages
	}
	if c.ForgetAfter <= 0 {
		c.ForgetAfter = DefaultForgetAfter
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
