package events_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/events"
)

// clock is the sender's clock in tests: Sleep records the wait and moves
// the time on at once, so no test waits for real.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newClock() *clock { return &clock{now: at} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

// answer is one scripted response; hangUp closes the connection instead.
type answer struct {
	status int
	header map[string]string
	body   string
	reply  *event.Event
	hangUp bool
}

// sink answers the script in order, then 200s, and records the requests.
type sink struct {
	mu       sync.Mutex
	script   []answer
	requests []*http.Request
	bodies   [][]byte
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, r)
	s.bodies = append(s.bodies, body)
	a := answer{status: http.StatusOK}
	if n < len(s.script) {
		a = s.script[n]
	}
	s.mu.Unlock()
	switch {
	case a.hangUp:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	case a.reply != nil:
		if err := cehttp.WriteResponseWriter(binding.WithForceBinary(r.Context()), binding.ToMessage(a.reply), a.status, w); err != nil {
			panic(err)
		}
		return
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (s *sink) Request(i int) (*http.Request, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[i], s.bodies[i]
}

func (s *sink) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// deadLetters records the dead letters.
type deadLetters struct {
	mu  sync.Mutex
	got []*events.DeadLetter
}

func (d *deadLetters) Record(ctx context.Context, dl *events.DeadLetter) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dead letter recorded with a context already done: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, dl)
	return nil
}

func (d *deadLetters) All() []*events.DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.got)
}

type fixture struct {
	sink   *sink
	server *httptest.Server
	clock  *clock
	dead   *deadLetters
	sender *events.Sender
}

func newFixture(t *testing.T, script []answer, opts ...events.Option) *fixture {
	t.Helper()
	f := &fixture{sink: &sink{script: script}, clock: newClock(), dead: &deadLetters{}}
	f.server = httptest.NewServer(f.sink)
	t.Cleanup(f.server.Close)
	base := []events.Option{
		events.WithClock(f.clock.Now, f.clock.Sleep),
		events.WithJitter(func(d time.Duration) time.Duration { return d }),
		events.WithDeadLetters(f.dead),
		events.WithRetries(3),
	}
	s, err := events.NewSender(f.server.URL, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	f.sender = s
	return f
}

func readyEvent(t testing.TB, id string) event.Event {
	t.Helper()
	e, err := events.New(events.TypeClusterReady, id, "eu-1", at, events.ClusterReady{FnEndpoint: "http://127.0.1.2:8080", ResourceVersion: "7"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const ms = time.Millisecond

func TestSendRetriesWhatMaySucceedLater(t *testing.T) {
	for _, status := range []int{404, 408, 409, 429, 500, 502, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFixture(t, []answer{{status: status}, {status: status}})
			out, err := f.sender.Send(t.Context(), readyEvent(t, "e1"))
			if err != nil {
				t.Fatal(err)
			}
			if out.Attempts != 3 || out.Status != 200 || f.sink.Requests() != 3 {
				t.Errorf("outcome %+v after %d requests; want 3 attempts, 200", out, f.sink.Requests())
			}
			if got, want := f.clock.Waits(), []time.Duration{200 * ms, 400 * ms}; !slices.Equal(got, want) {
				t.Errorf("waits %v, want %v", got, want)
			}
			if out.Waited != 600*ms {
				t.Errorf("waited %v, want 600ms", out.Waited)
			}
			if dl := f.dead.All(); len(dl) != 0 {
				t.Errorf("dead letters %v for a delivered event", dl)
			}
		})
	}
}

func TestSendNeverRetriesFinalStatuses(t *testing.T) {
	for _, status := range []int{400, 401, 403, 413, 422, 301} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFixture(t, []answer{{status: status, body: `{"message":"invalid CloudEvent: no id"}`, header: map[string]string{"Retry-After": "1"}}})
			out, err := f.sender.Send(t.Context(), readyEvent(t, "e1"))
			var dl *events.DeadLetter
			if !errors.As(err, &dl) || dl.Reason != events.ReasonRejected || dl.Status != status || dl.Attempts != 1 {
				t.Fatalf("Send = %v; want a dead letter, rejected, status %d, 1 attempt", err, status)
			}
			var se *events.StatusError
			if !errors.As(err, &se) || !strings.Contains(se.Message, "no id") {
				t.Errorf("the error %v does not carry the sink's message", err)
			}
			if out.Attempts != 1 || f.sink.Requests() != 1 || len(f.clock.Waits()) != 0 {
				t.Errorf("outcome %+v, %d requests, waits %v; want one attempt, no wait", out, f.sink.Requests(), f.clock.Waits())
			}
			if got := f.dead.All(); len(got) != 1 || got[0] != dl {
				t.Errorf("dead letters %v, want exactly the returned one", got)
			}
		})
	}
}

func TestSendGivesUpAfterTheRetries(t *testing.T) {
	script := slices.Repeat([]answer{{status: 503, body: "overloaded"}}, 20)
	f := newFixture(t, script, events.WithRetries(5), events.WithBackoff(100*ms, 1*time.Second))
	out, err := f.sender.Send(t.Context(), readyEvent(t, "e1"))
	var dl *events.DeadLetter
	if !errors.As(err, &dl) || dl.Reason != events.ReasonExhausted || dl.Attempts != 6 || dl.Status != 503 {
		t.Fatalf("Send = %v; want exhausted after 6 attempts", err)
	}
	if out.Attempts != 6 || f.sink.Requests() != 6 {
		t.Errorf("outcome %+v after %d requests", out, f.sink.Requests())
	}
	if got, want := f.clock.Waits(), []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if got := f.dead.All(); len(got) != 1 || got[0].Event.ID() != "e1" || got[0].Sink != f.server.URL {
		t.Errorf("dead letters %+v, want one for e1", got)
	}
}

func TestSendHonoursRetryAfter(t *testing.T) {
	inSeven := at.Add(7 * time.Second).Format(http.TimeFormat)
	cases := []struct {
		name   string
		script []answer
		waits  []time.Duration
	}{
		{"seconds on 429", []answer{{status: 429, header: map[string]string{"Retry-After": "3"}}}, []time.Duration{3 * time.Second}},
		{"HTTP-date on 503", []answer{{status: 503, header: map[string]string{"Retry-After": inSeven}}}, []time.Duration{7 * time.Second}},
		{"a date past is no wait beyond the backoff", []answer{{status: 503, header: map[string]string{"Retry-After": at.Add(-time.Hour).Format(http.TimeFormat)}}}, []time.Duration{200 * ms}},
		{"shorter than the backoff", []answer{{status: 500}, {status: 429, header: map[string]string{"Retry-After": "0"}}}, []time.Duration{200 * ms, 400 * ms}},
		{"unreadable", []answer{{status: 429, header: map[string]string{"Retry-After": "soon"}}}, []time.Duration{200 * ms}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.script)
			if _, err := f.sender.Send(t.Context(), readyEvent(t, "e1")); err != nil {
				t.Fatal(err)
			}
			if got := f.clock.Waits(); !slices.Equal(got, c.waits) {
				t.Errorf("waits %v, want %v", got, c.waits)
			}
		})
	}
	t.Run("longer than the sender allows", func(t *testing.T) {
		f := newFixture(t, []answer{{status: 429, header: map[string]string{"Retry-After": "3600"}}}, events.WithMaxRetryAfter(time.Minute))
		_, err := f.sender.Send(t.Context(), readyEvent(t, "e1"))
		var dl *events.DeadLetter
		if !errors.As(err, &dl) || dl.Reason != events.ReasonTooLongToWait || !strings.Contains(err.Error(), "1h0m0s") {
			t.Fatalf("Send = %v; want too-long-to-wait naming 1h", err)
		}
		if len(f.clock.Waits()) != 0 || len(f.dead.All()) != 1 {
			t.Errorf("waits %v, dead letters %d", f.clock.Waits(), len(f.dead.All()))
		}
	})
}

func TestSendRetriesNetworkErrors(t *testing.T) {
	f := newFixture(t, []answer{{hangUp: true}, {hangUp: true}})
	out, err := f.sender.Send(t.Context(), readyEvent(t, "e1"))
	if err != nil || out.Attempts != 3 {
		t.Fatalf("Send = %+v, %v; want delivered at the third attempt", out, err)
	}

	// A sink nobody listens on: refused, retried, then a dead letter with no status.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c, dead := newClock(), &deadLetters{}
	s, err := events.NewSender("http://"+addr+"/", events.WithClock(c.Now, c.Sleep), events.WithRetries(2),
		events.WithJitter(func(d time.Duration) time.Duration { return d }), events.WithDeadLetters(dead))
	if err != nil {
		t.Fatal(err)
	}
	out, err = s.Send(t.Context(), readyEvent(t, "e2"))
	var dl *events.DeadLetter
	if !errors.As(err, &dl) || dl.Reason != events.ReasonExhausted || dl.Status != 0 || out.Attempts != 3 {
		t.Fatalf("Send to a closed port = %+v, %v; want exhausted after 3 attempts, no status", out, err)
	}
	if len(dead.All()) != 1 {
		t.Errorf("%d dead letters, want 1", len(dead.All()))
	}
}

func TestSendStopsWithTheContext(t *testing.T) {
	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		f := newFixture(t, []answer{{status: 503}})
		s, err := events.NewSender(f.server.URL, events.WithDeadLetters(f.dead), events.WithClock(f.clock.Now,
			func(ctx context.Context, d time.Duration) error { cancel(); return f.clock.Sleep(ctx, d) }))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Send(ctx, readyEvent(t, "e1"))
		var dl *events.DeadLetter
		if !errors.As(err, &dl) || dl.Reason != events.ReasonCancelled || !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v; want cancelled, wrapping context.Canceled", err)
		}
		if got := f.dead.All(); len(got) != 1 {
			t.Errorf("%d dead letters, want 1, recorded though the caller's context is done", len(got))
		}
	})
	t.Run("deadline before the next attempt", func(t *testing.T) {
		f := newFixture(t, []answer{{status: 503}}, events.WithBackoff(2*time.Hour, 2*time.Hour))
		// The deadline is on the real clock; the sender's reads the same time.
		f.clock.now = time.Now()
		ctx, cancel := context.WithDeadline(t.Context(), f.clock.now.Add(time.Hour))
		defer cancel()
		_, err := f.sender.Send(ctx, readyEvent(t, "e1"))
		var dl *events.DeadLetter
		if !errors.As(err, &dl) || dl.Reason != events.ReasonCancelled || !strings.Contains(err.Error(), "deadline") {
			t.Fatalf("Send = %v; want cancelled before waiting", err)
		}
		if len(f.clock.Waits()) != 0 || f.sink.Requests() != 1 {
			t.Errorf("waits %v, %d requests; want no wait, 1 request", f.clock.Waits(), f.sink.Requests())
		}
	})
}

func TestSendWireFormat(t *testing.T) {
	t.Run("binary by default", func(t *testing.T) {
		f := newFixture(t, nil)
		if _, err := f.sender.Send(t.Context(), readyEvent(t, "e1")); err != nil {
			t.Fatal(err)
		}
		r, body := f.sink.Request(0)
		if r.Method != http.MethodPost || r.Header.Get("Ce-Id") != "e1" || r.Header.Get("Ce-Type") != events.TypeClusterReady ||
			r.Header.Get("Ce-Subject") != "eu-1" || r.Header.Get("Ce-Source") != "/fnfleet/event-source" ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s with headers %v", r.Method, r.Header)
		}
		if got := string(body); got != `{"fnEndpoint":"http://127.0.1.2:8080","resourceVersion":"7"}` {
			t.Errorf("body %s", got)
		}
	})
	t.Run("structured", func(t *testing.T) {
		f := newFixture(t, nil, events.Structured())
		if _, err := f.sender.Send(t.Context(), readyEvent(t, "e1")); err != nil {
			t.Fatal(err)
		}
		r, body := f.sink.Request(0)
		msg := cehttp.NewMessage(r.Header, io.NopCloser(strings.NewReader(string(body))))
		e, err := binding.ToEvent(t.Context(), msg)
		if err != nil || r.Header.Get("Content-Type") != "application/cloudevents+json" || e.ID() != "e1" {
			t.Fatalf("structured request %v, %v: %v", r.Header, e, err)
		}
		if p, err := events.Payload[events.ClusterReady](*e); err != nil || p.ResourceVersion != "7" {
			t.Errorf("payload %+v, %v", p, err)
		}
	})
	t.Run("invalid event never sent", func(t *testing.T) {
		f := newFixture(t, nil)
		e := event.New()
		e.SetType(events.TypeClusterReady)
		_, err := f.sender.Send(t.Context(), e)
		var dl *events.DeadLetter
		if !errors.As(err, &dl) || dl.Reason != events.ReasonInvalid || f.sink.Requests() != 0 {
			t.Errorf("Send of an event without id and source = %v after %d requests", err, f.sink.Requests())
		}
	})
}

func TestSendSignsEveryAttempt(t *testing.T) {
	secret := []byte("shared secret")
	sign := func(r *http.Request, e event.Event, now time.Time) error {
		if r.Header.Get("Ce-Id") == "" {
			return errors.New("signed before the CloudEvents headers were set")
		}
		sig, err := cloudevent.Sign(e, now, secret)
		r.Header.Set(cloudevent.SignatureHeader, sig)
		return err
	}
	// Two failures 6 minutes apart (Retry-After): a signature made at the
	// first attempt would be outside the receiver's 5-minute window by the
	// third.
	f := newFixture(t, []answer{{status: 503, header: map[string]string{"Retry-After": "360"}}, {status: 503}},
		events.WithSigner(sign), events.WithMaxRetryAfter(10*time.Minute))
	if _, err := f.sender.Send(t.Context(), readyEvent(t, "e1")); err != nil {
		t.Fatal(err)
	}
	if f.sink.Requests() != 3 {
		t.Fatalf("%d requests, want 3", f.sink.Requests())
	}
	r, body := f.sink.Request(2)
	e, err := binding.ToEvent(t.Context(), cehttp.NewMessage(r.Header, io.NopCloser(bytes.NewReader(body))))
	if err != nil {
		t.Fatal(err)
	}
	if err := cloudevent.Verify(*e, r.Header.Get(cloudevent.SignatureHeader), f.clock.Now(), cloudevent.DefaultMaxAge, secret); err != nil {
		t.Errorf("the last attempt's signature: %v", err)
	}
	first, _ := f.sink.Request(0)
	if first.Header.Get(cloudevent.SignatureHeader) == r.Header.Get(cloudevent.SignatureHeader) {
		t.Error("the retry carries the first attempt's signature")
	}

	f = newFixture(t, nil, events.WithSigner(events.BearerToken("s3cret")))
	if _, err := f.sender.Send(t.Context(), readyEvent(t, "e1")); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.sink.Request(0); r.Header.Get("Authorization") != "Bearer s3cret" {
		t.Errorf("bearer: header %q", r.Header.Get("Authorization"))
	}

	f = newFixture(t, nil, events.WithSigner(func(*http.Request, event.Event, time.Time) error { return errors.New("no key") }))
	_, err = f.sender.Send(t.Context(), readyEvent(t, "e1"))
	var dl *events.DeadLetter
	if !errors.As(err, &dl) || dl.Reason != events.ReasonInvalid || f.sink.Requests() != 0 {
		t.Errorf("a signer failing: %v after %d requests; want invalid, none sent", err, f.sink.Requests())
	}
}

func TestSendReturnsTheAskAgainTime(t *testing.T) {
	e := readyEvent(t, "e1")
	next := at.Add(45 * time.Second)
	reply, err := events.Defer(e, next, "Installing")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, []answer{{status: 500}, {status: 200, reply: reply}})
	out, err := f.sender.Send(t.Context(), e)
	if err != nil {
		t.Fatal(err)
	}
	if !out.AskAgainAt.Equal(next) || out.Reply == nil || out.Reply.Type() != events.TypeEventDeferred || out.Attempts != 2 {
		t.Errorf("outcome %+v; want ask again at %v after 2 attempts", out, next)
	}

	f = newFixture(t, []answer{{status: 204}, {status: 200}})
	for range 2 {
		out, err := f.sender.Send(t.Context(), e)
		if err != nil || !out.AskAgainAt.IsZero() || out.Reply != nil {
			t.Errorf("a handler with no reply: %+v, %v", out, err)
		}
	}
}

// TestSendConcurrently shares one Sender among 16 goroutines; the sink
// fails the first attempt of every event. Run with -race.
func TestSendConcurrently(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		id := r.Header.Get("Ce-Id")
		seen[id]++
		n := seen[id]
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer server.Close()
	c, dead := newClock(), &deadLetters{}
	s, err := events.NewSender(server.URL, events.WithClock(c.Now, c.Sleep), events.WithDeadLetters(dead))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16*8)
	for g := range 16 {
		batch := make([]event.Event, 8)
		for i := range batch {
			batch[i] = readyEvent(t, fmt.Sprintf("g%d-%d", g, i))
		}
		wg.Go(func() {
			for _, e := range batch {
				out, err := s.Send(t.Context(), e)
				if err == nil && out.Attempts != 2 {
					err = fmt.Errorf("%d attempts, want 2", out.Attempts)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(seen) != 128 || len(dead.All()) != 0 {
		t.Errorf("%d events seen, %d dead letters; want 128, 0", len(seen), len(dead.All()))
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 12800 * ms, 25600 * ms, 30 * time.Second, 30 * time.Second}
	for n, w := range want {
		if got := events.Backoff(n, events.DefaultBaseBackoff, events.DefaultMaxBackoff); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, w)
		}
	}
	if got := events.Backoff(500, time.Second, time.Duration(1<<62)); got != time.Duration(1<<62) {
		t.Errorf("Backoff(500) = %v: overflowed", got)
	}
	var total time.Duration
	for n := range events.DefaultRetries {
		total += events.Backoff(n, events.DefaultBaseBackoff, events.DefaultMaxBackoff)
	}
	if total != 111*time.Second {
		t.Errorf("the default schedule waits %v in all; docs/events.md says 111 s", total)
	}
}

func TestDefaultJitterStaysWithinHalfAndWhole(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer server.Close()
	c := newClock()
	s, err := events.NewSender(server.URL, events.WithClock(c.Now, c.Sleep), events.WithRetries(8),
		events.WithDeadLetters(&deadLetters{}))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.Send(t.Context(), readyEvent(t, "e1"))
	for n, w := range c.Waits() {
		d := events.Backoff(n, events.DefaultBaseBackoff, events.DefaultMaxBackoff)
		if w < d/2 || w > d {
			t.Errorf("wait %d = %v, outside [%v, %v]", n, w, d/2, d)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	cases := map[string]struct {
		d  time.Duration
		ok bool
	}{
		"":                              {0, false},
		"120":                           {2 * time.Minute, true},
		" 5 ":                           {5 * time.Second, true},
		"-3":                            {0, false},
		"99999999999999999999999":       {time.Duration(math.MaxInt64), true},
		"Sun, 01 Mar 2026 12:31:00 GMT": {time.Minute, true},
		"Sun, 01 Mar 2026 12:00:00 GMT": {0, true},
		"tomorrow":                      {0, false},
	}
	for v, want := range cases {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		if d, ok := events.RetryAfter(h, at); d != want.d || ok != want.ok {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", v, d, ok, want.d, want.ok)
		}
	}
}

func TestNewSenderRefuses(t *testing.T) {
	for _, sink := range []string{"", "localhost:8080", "ftp://x/", "/relative"} {
		if _, err := events.NewSender(sink); err == nil {
			t.Errorf("NewSender(%q): no error", sink)
		}
	}
	if _, err := events.NewSender("http://x/", events.WithBackoff(time.Second, time.Millisecond)); err == nil {
		t.Error("a ceiling below the base: no error")
	}
	if _, err := events.NewSender("http://x/", events.WithRetries(-1)); err == nil {
		t.Error("-1 retries: no error")
	}
}
