// Package scheduler sends fnfleet's ticks: the dev.fnfleet.<schedule>.due
// events (resync, reconcile, parking) of the events catalog, at the times
// of robfig/cron schedules.
//
// Config (loaded from YAML by Load, defaults in Default) lists the
// schedules: a cron spec, with an optional seconds field and an optional
// CRON_TZ= zone, and a timeout for one tick's send. New compiles it;
// Run sends the ticks through a Sender (an *events.Sender) until its
// context ends.
//
// A tick's id is events.TickID(schedule, scheduled time): the scheduled
// time, not the time the scheduler woke, so two schedulers, or one
// restarted within the same tick, send the same id, and a receiver can
// drop the repeat. A schedule never has two sends at once: a tick due
// while the previous one's send still runs is skipped, logged and counted
// (fnfleet_scheduler_ticks_missed_total), and the next tick sent says how
// many were missed (events.Tick.Missed).
//
// The last tick sent per schedule is kept behind Checkpoint (Memory here);
// a Lease-backed Checkpoint and leader election will let a restarted or
// newly elected scheduler count and catch up on the ticks missed while
// none ran. See docs/scheduler.md.
package scheduler
