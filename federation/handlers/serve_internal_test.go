package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/fnfleet/fnfleet/fdk"
	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/events"
)

// callContext is an fdk.Context of the test's making.
type callContext struct {
	config map[string]string
	header http.Header
}

func (c callContext) Config() map[string]string { return c.config }
func (c callContext) Header() http.Header       { return c.header }
func (c callContext) ContentType() string       { return c.header.Get("Content-Type") }
func (callContext) CallID() string              { return "call" }
func (callContext) AppID() string               { return "app" }
func (callContext) FnID() string                { return "fn" }
func (callContext) AppName() string             { return AppName }
func (callContext) FnName() string              { return "" }

func serve(h fdk.Handler, config map[string]string, header http.Header, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	ctx := fdk.WithContext(context.Background(), callContext{config: config, header: header})
	h.Serve(ctx, strings.NewReader(body), rec)
	return rec
}

func TestMissingConfigIsA500NamingTheKey(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      fdk.Handler
		config map[string]string
		key    string
	}{
		{"placement", NewPlacement(), nil, ConfigHubKubeconfig},
		{"lifecycle", NewLifecycle(), nil, ConfigHubKubeconfig},
		{"deploy", NewDeploy(), nil, ConfigHubKubeconfig},
		{"reconcile", NewReconcile(), nil, ConfigHubKubeconfig},
		{"parking", NewParking(), nil, ConfigHubKubeconfig},
		{"events without a secret", NewEvents(), map[string]string{ConfigFnAPIURL: "http://127.0.0.1:1"}, cloudevent.ConfigHMACSecret},
		{"events without the Fn API", NewEvents(), map[string]string{cloudevent.ConfigHMACSecret: "s"}, ConfigFnAPIURL},
		{"a bad log level", NewPlacement(), map[string]string{ConfigLogLevel: "loud"}, ConfigLogLevel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(tc.h, tc.config, http.Header{}, `{"app":"default/hello"}`)
			if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), tc.key) {
				t.Errorf("answered %d %s, want 500 naming %s", rec.Code, rec.Body, tc.key)
			}
		})
	}
}

func TestIsEvent(t *testing.T) {
	for _, tc := range []struct {
		header http.Header
		want   bool
	}{
		{http.Header{"Ce-Specversion": {"1.0"}}, true},
		{http.Header{"Content-Type": {"application/cloudevents+json; charset=utf-8"}}, true},
		{http.Header{"Content-Type": {"application/cloudevents-batch+json"}}, true}, // Decode refuses it, 400
		{http.Header{"Content-Type": {"application/json"}}, false},
		{http.Header{}, false},
	} {
		if got := isEvent(tc.header); got != tc.want {
			t.Errorf("isEvent(%v) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestCombine(t *testing.T) {
	e, err := events.New(events.TypeAppPlaced, "id", "default/hello", time.Time{}, events.AppPlaced{})
	if err != nil {
		t.Fatal(err)
	}
	soon, later := time.Now().Add(2*time.Second).UTC(), time.Now().Add(time.Minute).UTC()
	t.Run("a 5xx wins over a 4xx and names the handler", func(t *testing.T) {
		_, err := combine(e, []handlerOutcome{
			{name: Deploy, status: 409, err: errors.New("lost")},
			{name: Lifecycle, status: 503, err: errors.New("hub down")},
		})
		if cloudevent.StatusOf(err) != 503 || !strings.Contains(err.Error(), "handler lifecycle answered 503") || !strings.Contains(err.Error(), "handler deploy") {
			t.Errorf("combine = %v (%d), want 503 naming both handlers", err, cloudevent.StatusOf(err))
		}
	})
	t.Run("the earliest deferral", func(t *testing.T) {
		reply, err := combine(e, []handlerOutcome{
			{name: Deploy, status: 200, wait: deferral{at: later, reason: "deploy"}},
			{name: Lifecycle, status: 200, wait: deferral{at: soon, reason: "lifecycle"}},
			{name: Placement, status: 204},
		})
		at, aerr := events.AskAgainAt(reply)
		if err != nil || aerr != nil || !at.Equal(soon) {
			t.Errorf("combine = %v, %v (at %v); want a deferral to %v", reply, err, at, soon)
		}
	})
	t.Run("done", func(t *testing.T) {
		if reply, err := combine(e, []handlerOutcome{{name: Deploy, status: 204}}); reply != nil || err != nil {
			t.Errorf("combine = %v, %v; want nothing (204)", reply, err)
		}
	})
}

// TestFrameAnswersEventsInBothModes runs the frame every handler function
// shares over a step of the test's making: a CloudEvent in binary or
// structured mode gets 204 or the deferral, JSON gets JSON.
func TestFrameAnswersEventsInBothModes(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 2, 0, time.UTC)
	f := &function[string]{
		name:  "test",
		build: func(config) (string, error) { return "shell", nil },
		event: func(_ context.Context, _ string, e event.Event) (deferral, error) {
			if e.Subject() == "moving" {
				return deferral{at: at, reason: "in motion"}, nil
			}
			return deferral{}, nil
		},
		json: func(_ context.Context, s string, body []byte) (any, error) {
			var req struct {
				Cluster string `json:"cluster"`
			}
			if err := decodeJSON(body, &req, clusterExample); err != nil {
				return nil, err
			}
			return map[string]string{"shell": s, "cluster": req.Cluster}, nil
		},
	}
	binary := func(subject string) http.Header {
		return http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {"1"}, "Ce-Source": {"/fnfleet/event-source"},
			"Ce-Type": {events.TypeClusterChanged}, "Ce-Subject": {subject}, "Content-Type": {"application/json"}}
	}
	structured := http.Header{"Content-Type": {"application/cloudevents+json"}}
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		status int
		wantAt bool
	}{
		{"binary, done", binary("still"), `{}`, http.StatusNoContent, false},
		{"binary, in motion", binary("moving"), `{}`, http.StatusOK, true},
		{"structured, in motion", structured, `{"specversion":"1.0","id":"1","source":"/x","type":"` + events.TypeClusterChanged + `","subject":"moving","data":{}}`, http.StatusOK, true},
		{"malformed structured", structured, `{"specversion":"1.0"`, http.StatusBadRequest, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(f, nil, tc.header, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("answered %d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			if !tc.wantAt {
				return
			}
			reply, err := cloudevent.Decode(context.Background(), rec.Header(), rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			got, err := events.AskAgainAt(reply)
			if err != nil || !got.Equal(at) || reply.Type() != events.TypeEventDeferred || reply.Subject() != "moving" {
				t.Errorf("reply %v (ask again at %v, %v); want a deferral of moving to %v", reply, got, err, at)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		rec := serve(f, nil, http.Header{"Content-Type": {"application/json"}}, `{"cluster":"eu"}`)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"cluster": "eu"`) {
			t.Errorf("answered %d %s, want 200 with the answer", rec.Code, rec.Body)
		}
		rec = serve(f, nil, http.Header{}, `{"cluster":"eu","extra":1}`)
		var m struct{ Message string }
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Code != http.StatusBadRequest || !strings.Contains(m.Message, clusterExample) {
			t.Errorf("answered %d %s, want 400 showing %s", rec.Code, rec.Body, clusterExample)
		}
	})
}
