package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Defaults of a Sender. Knative's Broker retries 10 times from 0.2 s,
// doubling with no ceiling (its 10th wait is 102 s, 204 s in all); the
// same first 8 waits and a 30 s ceiling give up after 111 s, and jitter
// keeps a fleet of senders from retrying in step against a sink coming
// back.
const (
	DefaultRetries       = 10
	DefaultBaseBackoff   = 200 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
	DefaultMaxRetryAfter = 5 * time.Minute
	// DefaultAttemptTimeout bounds one attempt. The fleet's events
	// function may wait for lifecycle, whose call can take Fn's longest
	// timeout (300 s: a Helm install), and the Fn server answers a call
	// that outlasts it itself (504); 310 s leaves room for the hop in
	// front. A shorter bound would send the event again while its first
	// delivery still works (harmless, handlers are idempotent, but the
	// work is done twice).
	DefaultAttemptTimeout = 310 * time.Second
)

// Bounds on what a sender reads of an answer: a handler's reply event is
// under 1 KiB (a deferral), an error's message is for a log line.
const (
	maxReplyBody = 1 << 20
	maxErrorBody = 4 << 10
)

// deadLetterTimeout bounds recording a dead letter (a Kubernetes Event is
// one apiserver call), also when the caller's context is already done.
const deadLetterTimeout = 10 * time.Second

// Signer authenticates one attempt at sending e: it sets headers on req.
// It is called on every attempt, after the CloudEvents headers are set,
// with the sender's clock, so a signature over a timestamp is fresh on a
// retry (fdk/cloudevent's window is 5 minutes; the default retries span
// up to 111 s of backoff plus any Retry-After). req.GetBody returns the
// body, for a scheme that signs the bytes. fdk/cloudevent's HMAC fits in
// a closure:
//
//	func(r *http.Request, e event.Event, now time.Time) error {
//		sig, err := cloudevent.Sign(e, now, secret)
//		r.Header.Set(cloudevent.SignatureHeader, sig)
//		return err
//	}
type Signer func(req *http.Request, e event.Event, now time.Time) error

// BearerToken is the Signer of a shared token (FNFLEET_EVENT_TOKEN).
func BearerToken(token string) Signer {
	return func(req *http.Request, _ event.Event, _ time.Time) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// Outcome is what Send did.
type Outcome struct {
	// Attempts is the number of requests made.
	Attempts int
	// Status is the last HTTP status; 0 when the last attempt got none.
	Status int
	// Waited is the time spent between attempts.
	Waited time.Duration
	// Reply is the handler's reply event, if it sent one.
	Reply *event.Event
	// AskAgainAt is when the handler asked for the event again (a
	// deferral, see Defer); zero when it did not.
	AskAgainAt time.Time
}

// Sender delivers events to one CloudEvents HTTP sink (the events
// function's trigger, a Knative Broker): binary mode unless Structured,
// retrying what may succeed later, recording a dead letter for what does
// not. It is immutable once built and safe for concurrent use.
type Sender struct {
	sink           *url.URL
	retries        int
	base, max      time.Duration
	maxRetryAfter  time.Duration
	client         *http.Client
	sign           Signer
	dead           DeadLetters
	log            *slog.Logger
	now            func() time.Time
	sleep          func(context.Context, time.Duration) error
	jitter         func(time.Duration) time.Duration
	structured     bool
	attemptTimeout time.Duration
}

// Option configures a Sender.
type Option func(*Sender)

// WithRetries sets how many times a failed attempt is repeated (so n+1
// attempts at most).
func WithRetries(n int) Option { return func(s *Sender) { s.retries = n } }

// WithBackoff sets the wait before the first retry and its ceiling; each
// retry doubles it.
func WithBackoff(base, max time.Duration) Option {
	return func(s *Sender) { s.base, s.max = base, max }
}

// WithMaxRetryAfter sets the longest Retry-After honoured; a sink asking
// for more makes a dead letter (ReasonTooLongToWait) rather than hold the
// caller.
func WithMaxRetryAfter(d time.Duration) Option { return func(s *Sender) { s.maxRetryAfter = d } }

// WithHTTPClient sets the client; its Timeout, if any, bounds an attempt
// together with WithAttemptTimeout.
func WithHTTPClient(c *http.Client) Option { return func(s *Sender) { s.client = c } }

// WithAttemptTimeout bounds one attempt; 0 means no bound of the sender's
// own.
func WithAttemptTimeout(d time.Duration) Option { return func(s *Sender) { s.attemptTimeout = d } }

// WithSigner authenticates every attempt.
func WithSigner(sign Signer) Option { return func(s *Sender) { s.sign = sign } }

// WithDeadLetters sets where dead letters go (default: LogDeadLetters of
// the sender's logger). Compose with AllDeadLetters.
func WithDeadLetters(d DeadLetters) Option { return func(s *Sender) { s.dead = d } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Sender) { s.log = l } }

// WithClock replaces the clock and the wait between attempts, for tests:
// sleep returns early with ctx's error when ctx ends.
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(s *Sender) { s.now, s.sleep = now, sleep }
}

// WithJitter replaces the jitter applied to each backoff (default: a wait
// drawn uniformly from [d/2, d]); func(d) d has none.
func WithJitter(j func(time.Duration) time.Duration) Option { return func(s *Sender) { s.jitter = j } }

// Structured sends in structured mode (application/cloudevents+json)
// instead of binary mode.
func Structured() Option { return func(s *Sender) { s.structured = true } }

// NewSender returns a Sender to sink, an absolute http or https URL.
func NewSender(sink string, opts ...Option) (*Sender, error) {
	u, err := url.Parse(sink)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("event sink %q: want an absolute http or https URL", sink)
	}
	s := &Sender{
		sink: u, retries: DefaultRetries, base: DefaultBaseBackoff, max: DefaultMaxBackoff,
		maxRetryAfter: DefaultMaxRetryAfter, attemptTimeout: DefaultAttemptTimeout,
		now: time.Now, sleep: sleepCtx, jitter: equalJitter,
	}
	for _, o := range opts {
		o(s)
	}
	switch {
	case s.retries < 0:
		return nil, fmt.Errorf("event sender: %d retries", s.retries)
	case s.base <= 0 || s.max < s.base:
		return nil, fmt.Errorf("event sender: backoff from %v to %v", s.base, s.max)
	}
	if s.client == nil {
		// A sink that redirects is misconfigured: following a 301-303
		// would turn the POST into a GET without the event, so a 3xx is
		// final.
		s.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.dead == nil {
		s.dead = LogDeadLetters(s.log)
	}
	return s, nil
}

// Sink is the URL the sender delivers to.
func (s *Sender) Sink() string { return s.sink.String() }

// Send delivers e. A 2xx answer is delivery (the handler's effect is in
// the hub); Outcome carries the handler's reply and when it asks for e
// again. Network errors, 404, 408, 409, 429 and 5xx are retried with
// exponential backoff, honouring Retry-After (seconds or an HTTP-date);
// every other status (400, 401, 403 among them) is final. An event not
// delivered is recorded once in the dead letters and returned as a
// *DeadLetter error.
func (s *Sender) Send(ctx context.Context, e event.Event) (Outcome, error) {
	var out Outcome
	req, body, err := s.encode(ctx, e)
	if err != nil {
		return out, s.deadLetter(ctx, &DeadLetter{Event: e, Sink: s.Sink(), Reason: ReasonInvalid, Err: err})
	}
	for {
		out.Attempts++
		res := s.attempt(ctx, e, req, body)
		out.Status = res.status
		fail := &DeadLetter{Event: e, Sink: s.Sink(), Attempts: out.Attempts, Status: res.status, Err: res.err}
		switch {
		case res.err == nil:
			out.Reply = res.reply
			if out.AskAgainAt, err = AskAgainAt(res.reply); err != nil {
				s.log.WarnContext(ctx, "event delivered; its reply is not a readable deferral",
					"event_id", e.ID(), "event_type", e.Type(), "err", err.Error())
			}
			return out, nil
		case res.invalid:
			fail.Reason = ReasonInvalid
			return out, s.deadLetter(ctx, fail)
		case !res.retry:
			fail.Reason = ReasonRejected
			return out, s.deadLetter(ctx, fail)
		case ctx.Err() != nil:
			fail.Reason, fail.Err = ReasonCancelled, errors.Join(ctx.Err(), res.err)
			return out, s.deadLetter(ctx, fail)
		case out.Attempts > s.retries:
			fail.Reason = ReasonExhausted
			return out, s.deadLetter(ctx, fail)
		}
		wait := s.jitter(Backoff(out.Attempts-1, s.base, s.max))
		if res.retryAfter > s.maxRetryAfter {
			fail.Reason = ReasonTooLongToWait
			fail.Err = fmt.Errorf("%w; Retry-After asks for %v, more than %v", res.err, res.retryAfter, s.maxRetryAfter)
			return out, s.deadLetter(ctx, fail)
		}
		wait = max(wait, res.retryAfter)
		if deadline, ok := ctx.Deadline(); ok && s.now().Add(wait).After(deadline) {
			fail.Reason = ReasonCancelled
			fail.Err = fmt.Errorf("%w; the next attempt, in %v, would come after the context's deadline", res.err, wait)
			return out, s.deadLetter(ctx, fail)
		}
		s.log.DebugContext(ctx, "event not delivered yet; retrying", "event_id", e.ID(), "event_type", e.Type(),
			"attempt", out.Attempts, "status", res.status, "err", res.err.Error(), "wait", wait)
		if err := s.sleep(ctx, wait); err != nil {
			fail.Reason, fail.Err = ReasonCancelled, errors.Join(err, res.err)
			return out, s.deadLetter(ctx, fail)
		}
		out.Waited += wait
	}
}

// Backoff is the wait before retry n (0 for the first): base doubled n
// times, at most max.
func Backoff(n int, base, max time.Duration) time.Duration {
	d := base
	for range n {
		if d >= max/2 {
			return max
		}
		d *= 2
	}
	return min(d, max)
}

// Retryable reports whether a sink's status may succeed later: 404 (a
// trigger or broker not there yet), 408, 409 (a Conflict the handler lost),
// 429 and 5xx. 400, 401, 403 and every other status are final.
func Retryable(status int) bool {
	switch status {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return status >= 500 && status <= 599
}

// RetryAfter reads a Retry-After header at now: delay-seconds or an
// HTTP-date (a date in the past is no wait). False when absent or
// unreadable.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		// Beyond 292 years (time.Duration's range) is forever.
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > math.MaxInt64/int64(time.Second) {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// encode writes e once: the request every attempt clones, and its body.
func (s *Sender) encode(ctx context.Context, e event.Event) (*http.Request, []byte, error) {
	if err := e.Validate(); err != nil {
		return nil, nil, fmt.Errorf("invalid event: %w", err)
	}
	req := &http.Request{Method: http.MethodPost, URL: s.sink, Header: http.Header{}, Host: s.sink.Host}
	wctx := binding.WithForceBinary(ctx)
	if s.structured {
		wctx = binding.WithForceStructured(ctx)
	}
	if err := cehttp.WriteRequest(wctx, binding.ToMessage(&e), req); err != nil {
		return nil, nil, fmt.Errorf("encode event: %w", err)
	}
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, nil, fmt.Errorf("encode event: %w", err)
		}
	}
	req.Body, req.GetBody, req.ContentLength = nil, nil, 0
	return req, body, nil
}

type attemptResult struct {
	status     int
	err        error // nil when delivered
	retry      bool
	invalid    bool // the request could not be made: never sent
	retryAfter time.Duration
	reply      *event.Event
}

func (s *Sender) attempt(ctx context.Context, e event.Event, tmpl *http.Request, body []byte) attemptResult {
	if s.attemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.attemptTimeout)
		defer cancel()
	}
	req := tmpl.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
	if s.sign != nil {
		if err := s.sign(req, e, s.now()); err != nil {
			return attemptResult{invalid: true, err: fmt.Errorf("sign event: %w", err)}
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return attemptResult{err: err, retry: true}
	}
	defer func() {
		// Drain what is left (bounded) so the connection is reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReplyBody))
		_ = resp.Body.Close()
	}()
	res := attemptResult{status: resp.StatusCode}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		reply, err := readReply(ctx, resp)
		if err != nil {
			s.log.WarnContext(ctx, "event delivered; its reply is unreadable", "sink", s.Sink(), "err", err.Error())
		}
		res.reply = reply
		return res
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	res.err = &StatusError{Status: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
	res.retry = Retryable(resp.StatusCode)
	if res.retry {
		res.retryAfter, _ = RetryAfter(resp.Header, s.now())
	}
	return res
}

// readReply decodes a 2xx answer's reply event, nil when there is none
// (204, or a body that is no CloudEvent).
func readReply(ctx context.Context, resp *http.Response) (*event.Event, error) {
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody))
	if err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	msg := cehttp.NewMessage(resp.Header, io.NopCloser(bytes.NewReader(body)))
	if msg.ReadEncoding() == binding.EncodingUnknown {
		return nil, nil
	}
	reply, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("decode reply: %w", err)
	}
	return reply, nil
}

// deadLetter records dl and returns it as the error. Recording outlives a
// cancelled caller: the dead letter matters most then.
func (s *Sender) deadLetter(ctx context.Context, dl *DeadLetter) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deadLetterTimeout)
	defer cancel()
	if err := s.dead.Record(rctx, dl); err != nil {
		s.log.ErrorContext(ctx, "recording a dead letter failed", "event_id", dl.Event.ID(),
			"event_type", dl.Event.Type(), "err", err.Error())
	}
	return dl
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// equalJitter draws a wait uniformly from [d/2, d]: never less than half
// the backoff, spread enough that senders retrying together drift apart.
func equalJitter(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}
