package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestNewIDSortsByTime(t *testing.T) {
	a := NewID(time.UnixMilli(1_700_000_000_000))
	b := NewID(time.UnixMilli(1_700_000_000_001))
	if len(a) != 26 || len(b) != 26 || a >= b {
		t.Errorf("ids %s, %s: want 26 characters, increasing with time", a, b)
	}
	if NewID(time.UnixMilli(5)) == NewID(time.UnixMilli(5)) {
		t.Error("two ids of the same millisecond are equal")
	}
}

func TestFailedWritesChangeNothing(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "fn.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, err := s.CreateApp(ctx, &App{Name: "a", Config: map[string]string{"K": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	fn, err := s.CreateFn(ctx, &Fn{AppID: app.ID, Name: "f", Image: "i"})
	if err != nil {
		t.Fatal(err)
	}

	// An update that fails validation leaves the fn as it was.
	_, err = s.UpdateFn(ctx, &Fn{ID: fn.ID, Image: "j", Timeout: 301})
	if !errors.Is(err, ErrFnsInvalidTimeout) {
		t.Fatalf("update with bad timeout: err = %v", err)
	}
	got, err := s.GetFn(ctx, fn.ID)
	if err != nil || got.Image != "i" || got.Timeout != DefaultTimeout {
		t.Errorf("fn after failed update = %+v, %v", got, err)
	}

	// A trigger for an fn of another app is refused and not stored.
	other, err := s.CreateApp(ctx, &App{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateTrigger(ctx, &Trigger{AppID: other.ID, FnID: fn.ID, Name: "t", Type: "http", Source: "/x"})
	if !errors.Is(err, ErrTriggerFnOtherApp) {
		t.Fatalf("cross-app trigger: err = %v", err)
	}
	ts, _, err := s.ListTriggers(ctx, TriggerFilter{AppID: other.ID})
	if err != nil || len(ts) != 0 {
		t.Errorf("triggers after refused create: %v %v", ts, err)
	}

	// Annotations: "" in a patch deletes, other values merge.
	upd, err := s.UpdateApp(ctx, &App{ID: app.ID, Annotations: Annotations{"x": []byte(`"1"`), "y": []byte(`{"a": 1}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if string(upd.Annotations["y"]) != `{"a":1}` {
		t.Errorf("annotation not compacted: %s", upd.Annotations["y"])
	}
	upd, err = s.UpdateApp(ctx, &App{ID: app.ID, Annotations: Annotations{"x": []byte(`""`)}})
	if err != nil || len(upd.Annotations) != 1 || upd.Annotations["y"] == nil {
		t.Errorf("annotations after delete = %v, %v", upd.Annotations, err)
	}
}
