package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/localmode"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/test/testbed"
)

// waitLimit bounds every wait for something to happen: generous, since CI
// runs packages in parallel on 2 cores.
const waitLimit = 2 * time.Minute

const testSecret = "s3cret-for-tests"

// secretFile writes content to a file of mode perm and returns its path.
func secretFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

// sink is an httptest CloudEvents receiver: it decodes each event, checks
// its signature under testSecret (401 when it does not verify) and answers
// with answer's status and reply; the events it accepted arrive on got.
type sink struct {
	*httptest.Server
	got chan event.Event
}

func newSink(t *testing.T, answer func(e event.Event) (int, *event.Event)) *sink {
	t.Helper()
	s := &sink{got: make(chan event.Event, 1000)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e, err := cloudevent.Decode(r.Context(), r.Header, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := cloudevent.Verify(*e, r.Header.Get(cloudevent.SignatureHeader), time.Now(), 0, []byte(testSecret)); err != nil {
			t.Errorf("event %s: %v", e.ID(), err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		select {
		case s.got <- *e:
		default:
		}
		status, reply := answer(*e)
		if reply == nil {
			w.WriteHeader(status)
			return
		}
		if err := cehttp.WriteResponseWriter(r.Context(), binding.ToMessage(reply), status, w); err != nil {
			t.Errorf("write the reply: %v", err)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// next returns the next event the sink accepted for which keep is true.
func (s *sink) next(t *testing.T, what string, keep func(event.Event) bool) event.Event {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case e := <-s.got:
			if keep(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s arrived within %v", what, waitLimit)
		}
	}
}

// TestEventsSendPrintsTheReply: a signed event reaches the sink, whose
// deferral is printed with its time; exit 0.
func TestEventsSendPrintsTheReply(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := newSink(t, func(e event.Event) (int, *event.Event) {
		reply, err := events.Defer(e, at, "pool busy")
		if err != nil {
			t.Errorf("defer: %v", err)
		}
		return http.StatusOK, reply
	})
	code, out, errOut := runCLI(t, "events", "send", "--to", s.URL, "--secret-file", secretFile(t, testSecret+"\n", 0o600),
		"--type", events.TypePoolChanged, "--subject", "pool-a", "--data", `{"generation": 3}`, "--id", "by-hand-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	e := s.next(t, "event", func(event.Event) bool { return true })
	if e.ID() != "by-hand-1" || e.Type() != events.TypePoolChanged || e.Subject() != "pool-a" || e.Source() != events.SourceOf(events.EventSource) {
		t.Errorf("sink got %s", e)
	}
	if p, err := events.Payload[events.PoolChanged](e); err != nil || p.Generation != 3 {
		t.Errorf("payload %+v, %v; want generation 3", p, err)
	}
	for _, want := range []string{"delivered event by-hand-1", "status 200 after 1 attempt(s)", events.TypeEventDeferred, "pool busy", "ask again at 2030-01-02T03:04:05Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

// TestEventsSendToTheLocalFleet: without --to, the event goes to the events
// URL that the fleet.json of --workdir names, signed with its secret file.
func TestEventsSendToTheLocalFleet(t *testing.T) {
	s := newSink(t, func(event.Event) (int, *event.Event) { return http.StatusNoContent, nil })
	workdir := t.TempDir()
	ff := localmode.FleetFile{EventsURL: s.URL, SecretFile: secretFile(t, testSecret, 0o600)}
	if err := ff.Write(filepath.Join(workdir, localmode.FleetFileName)); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "events", "send", "--workdir", workdir, "--type", events.TypeResyncDue, "--subject", events.ScheduleResync, "--id", "from-fleet-file")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if e := s.next(t, "event", func(event.Event) bool { return true }); e.ID() != "from-fleet-file" {
		t.Errorf("sink got %s", e)
	}
	if !strings.Contains(out, "delivered event from-fleet-file") || !strings.Contains(out, s.URL) {
		t.Errorf("stdout:\n%s", out)
	}
}

// TestEventsSendRefused: a 400 is final: exit 1, with the reason.
func TestEventsSendRefused(t *testing.T) {
	s := newSink(t, func(event.Event) (int, *event.Event) { return http.StatusBadRequest, nil })
	code, out, errOut := runCLI(t, "events", "send", "--to", s.URL, "--secret-file", secretFile(t, testSecret, 0o600),
		"--type", events.TypeReconcileDue, "--subject", events.ScheduleReconcile)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	for _, want := range []string{"fnfleet events send: event manual-", "after 1 attempts (rejected)", "status 400"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing", out)
	}
}

// TestEventsSendUsageErrors: what is wrong in the call is said, exit 2,
// and nothing is sent.
func TestEventsSendUsageErrors(t *testing.T) {
	s := newSink(t, func(event.Event) (int, *event.Event) {
		t.Error("an event was sent")
		return http.StatusOK, nil
	})
	secret := secretFile(t, testSecret, 0o600)
	noFleet := t.TempDir()
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--type", "dev.fnfleet.nosuch", "--subject", "x", "--to", s.URL}, []string{"--type dev.fnfleet.nosuch: not in the events catalog", "known types: dev.fnfleet.app.changed", events.TypePoolChanged}},
		{[]string{"--type", events.TypePoolChanged, "--subject", "x", "--to", s.URL, "--secret-file", secretFile(t, testSecret, 0o644)}, []string{"has mode 0644", "chmod 600"}},
		{[]string{"--type", events.TypePoolChanged, "--subject", "x", "--to", s.URL, "--data", `{"generation": "two"}`}, []string{`field "generation"`, "int64"}},
		{[]string{"--type", events.TypePoolChanged, "--subject", "x", "--to", s.URL, "--data", `{"gen": 2}`}, []string{`unknown field "gen"`, `"generation": int64`}},
		{[]string{"--type", events.TypePoolChanged, "--subject", "x", "--workdir", noFleet}, []string{"no --to, and no local fleet in --workdir " + noFleet, "pass --to URL"}},
		{[]string{"--type", events.TypePoolChanged, "--to", s.URL}, []string{"--subject is required"}},
		{[]string{"--type", events.TypePoolChanged, "--subject", "x", "--to", "not-a-url"}, []string{"--to not-a-url"}},
		{[]string{"--type", events.TypePoolChanged, "--subject", "x", "--to", s.URL, "--secret-file", secret, "--token-file", secret}, []string{"both given"}},
	}
	for _, tc := range cases {
		code, out, errOut := runCLI(t, append([]string{"events", "send"}, tc.args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", tc.args, code, errOut)
		}
		for _, want := range append(tc.want, "Run 'fnfleet events send --help' for usage.") {
			if !strings.Contains(errOut, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, want, errOut)
			}
		}
		if strings.Contains(errOut, testSecret) || out != "" {
			t.Errorf("%v: stdout %q; stderr shows the secret or more:\n%s", tc.args, out, errOut)
		}
	}
}

// runAsync runs fnfleet with args until ctx ends; the exit status arrives
// on the channel.
func runAsync(ctx context.Context, args []string, out, errOut *syncBuffer) <-chan int {
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, out, errOut) }()
	return done
}

// awaitExit waits for a command stopped by its context to exit 0.
func awaitExit(t *testing.T, done <-chan int, errOut *syncBuffer) {
	t.Helper()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("stopped by its context: exit %d: %s", code, errOut.String())
		}
	case <-time.After(waitLimit):
		t.Fatalf("still running %v after its context ended", waitLimit)
	}
}

// TestSchedulerSendsSignedTicks: a schedule ticking every second sends
// signed ticks with the ids events.TickID gives; cancelling the context
// (as SIGINT does) stops the scheduler, exit 0.
func TestSchedulerSendsSignedTicks(t *testing.T) {
	s := newSink(t, func(event.Event) (int, *event.Event) { return http.StatusNoContent, nil })
	config := filepath.Join(t.TempDir(), "schedules.yaml")
	if err := os.WriteFile(config, []byte("schedules:\n- name: reconcile\n  spec: \"* * * * * *\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := runAsync(ctx, []string{"scheduler", "--to", s.URL, "--secret-file", secretFile(t, testSecret, 0o600),
		"--config", config, "--metrics-addr", "127.0.0.1:0"}, &out, &errOut)
	e := s.next(t, "reconcile tick", func(e event.Event) bool { return e.Type() == events.TypeReconcileDue })
	tick, err := events.Payload[events.Tick](e)
	if err != nil {
		t.Fatal(err)
	}
	if want := events.TickID(events.ScheduleReconcile, tick.ScheduledAt); e.ID() != want || e.Subject() != events.ScheduleReconcile {
		t.Errorf("tick id %q, subject %q; want id %q, subject %q", e.ID(), e.Subject(), want, events.ScheduleReconcile)
	}
	cancel()
	awaitExit(t, done, &errOut)
	for _, want := range []string{"Scheduler sending ticks to " + s.URL, `reconcile  "* * * * * *"`, "parking"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(errOut.String(), testSecret) {
		t.Errorf("the secret is in the log:\n%s", errOut.String())
	}
}

// TestSchedulerUsageErrors: a bad config or a missing --to is a usage
// error.
func TestSchedulerUsageErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("schedules:\n- name: reconcile\n  spec: \"every second\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scheduler"}, "--to URL is required"},
		{[]string{"scheduler", "--to", "http://127.0.0.1:1", "--config", bad}, "--config " + bad},
		{[]string{"scheduler", "--to", "http://127.0.0.1:1", "--config", "/nonexistent.yaml"}, "--config: open /nonexistent.yaml"},
		{[]string{"event-source", "--to", "http://127.0.0.1:1"}, "--kubeconfig HUB is required"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q in stderr:\n%s", tc.args, code, tc.want, errOut)
		}
	}
}

// TestEventSourceSendsTheHubsChanges: against a real hub, a ClusterPool
// created makes a signed pool.changed event.
func TestEventSourceSendsTheHubsChanges(t *testing.T) {
	c := testbed.Start(t, local.ClusterSpec{Name: "hub"})
	hc := testbed.FleetAPI(t, c)
	kubeconfig := filepath.Join(t.TempDir(), "hub.kubeconfig")
	if err := os.WriteFile(kubeconfig, testbed.Kubeconfig(t, c), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSink(t, func(event.Event) (int, *event.Event) { return http.StatusNoContent, nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := runAsync(ctx, []string{"event-source", "--to", s.URL, "--kubeconfig", kubeconfig,
		"--secret-file", secretFile(t, testSecret, 0o600), "--metrics-addr", "127.0.0.1:0"}, &out, &errOut)
	pool, err := hc.CreateClusterPool(t.Context(), &v1alpha1.ClusterPool{
		ObjectMeta: metav1.ObjectMeta{Name: "cli-pool"},
		Spec:       v1alpha1.ClusterPoolSpec{Provider: v1alpha1.ProviderSpec{Name: "local"}, Region: "eu-west", MaxClusters: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := s.next(t, "pool.changed of cli-pool", func(e event.Event) bool {
		return e.Type() == events.TypePoolChanged && e.Subject() == pool.Name
	})
	if e.Source() != events.SourceOf(events.EventSource) {
		t.Errorf("source %q", e.Source())
	}
	cancel()
	awaitExit(t, done, &errOut)
	if !strings.Contains(out.String(), "Event source watching the hub of "+kubeconfig) {
		t.Errorf("stdout:\n%s", out.String())
	}
	if strings.Contains(errOut.String(), testSecret) {
		t.Errorf("the secret is in the log:\n%s", errOut.String())
	}
}
