// Package events is fnfleet's event catalog, router and sender.
//
// The catalog (Catalog, the Type* constants and one payload struct per
// type) says, for every dev.fnfleet.<noun>.<verb> type, its source, its
// subject (the key of the object it is about), its payload, its one sender
// and its handlers; docs/events.md shows the same table, and a test keeps
// the two equal. New builds an event as the catalog says; Payload decodes
// one; TickID and ChangeID make the ids that let a repeat collapse.
//
// The Router hands each type to its handlers (function names). A handler
// that must wait answers Defer(e, at, why), a dev.fnfleet.event.deferred
// reply; the sender returns its time as Outcome.AskAgainAt, and the event
// source delivers the event again then.
//
// The Sender delivers events over HTTP (CloudEvents binary mode by
// default, through the CloudEvents SDK), at least once: network errors,
// 404, 408, 409, 429 and 5xx are retried with exponential backoff and
// jitter, honouring Retry-After; 400, 401, 403 and every other status are
// final. What is not delivered becomes a DeadLetter: a structured log line,
// a Prometheus counter, a Kubernetes Event on the object (LogDeadLetters,
// CountDeadLetters, RecordDeadLetters; AllDeadLetters composes them).
//
// Events are hints: handlers read the truth from the hub, so a lost or
// repeated event does no harm, and the resync tick repairs what events
// missed. See docs/events.md.
package events
