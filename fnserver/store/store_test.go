package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/fnfleet/fnfleet/fnserver/models"
)

func TestFailedWritesChangeNothing(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "fn.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, err := s.CreateApp(ctx, &models.App{Name: "a", Config: map[string]string{"K": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	fn, err := s.CreateFn(ctx, &models.Fn{AppID: app.ID, Name: "f", Image: "i"})
	if err != nil {
		t.Fatal(err)
	}

	// An update that fails validation leaves the fn as it was.
	_, err = s.UpdateFn(ctx, &models.Fn{ID: fn.ID, Image: "j", Timeout: 301})
	if !errors.Is(err, models.ErrFnsInvalidTimeout) {
		t.Fatalf("update with bad timeout: err = %v", err)
	}
	got, err := s.GetFn(ctx, fn.ID)
	if err != nil || got.Image != "i" || got.Timeout != models.DefaultTimeout {
		t.Errorf("fn after failed update = %+v, %v", got, err)
	}

	// A trigger for an fn of another app is refused and not stored.
	other, err := s.CreateApp(ctx, &models.App{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateTrigger(ctx, &models.Trigger{AppID: other.ID, FnID: fn.ID, Name: "t", Type: "http", Source: "/x"})
	if !errors.Is(err, models.ErrTriggerFnOtherApp) {
		t.Fatalf("cross-app trigger: err = %v", err)
	}
	ts, _, err := s.ListTriggers(ctx, TriggerFilter{AppID: other.ID})
	if err != nil || len(ts) != 0 {
		t.Errorf("triggers after refused create: %v %v", ts, err)
	}

	// Annotations: "" in a patch deletes, other values merge.
	upd, err := s.UpdateApp(ctx, &models.App{ID: app.ID, Annotations: models.Annotations{"x": []byte(`"1"`), "y": []byte(`{"a": 1}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if string(upd.Annotations["y"]) != `{"a":1}` {
		t.Errorf("annotation not compacted: %s", upd.Annotations["y"])
	}
	upd, err = s.UpdateApp(ctx, &models.App{ID: app.ID, Annotations: models.Annotations{"x": []byte(`""`)}})
	if err != nil || len(upd.Annotations) != 1 || upd.Annotations["y"] == nil {
		t.Errorf("annotations after delete = %v, %v", upd.Annotations, err)
	}
}

// Duplicates are recognised by SQLite's error code on each of the three
// UNIQUE constraints, and answered with the Fn server's message.
func TestDuplicatesConflict(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "fn.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, err := s.CreateApp(ctx, &models.App{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	fn, err := s.CreateFn(ctx, &models.Fn{AppID: app.ID, Name: "f", Image: "i"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTrigger(ctx, &models.Trigger{AppID: app.ID, FnID: fn.ID, Name: "t", Type: "http", Source: "/x"}); err != nil {
		t.Fatal(err)
	}
	renamed, err := s.CreateTrigger(ctx, &models.Trigger{AppID: app.ID, FnID: fn.ID, Name: "u", Type: "http", Source: "/y"})
	if err != nil {
		t.Fatal(err)
	}
	for name, try := range map[string]struct {
		write func() error
		want  models.Error
	}{
		"app name":           {func() error { _, err := s.CreateApp(ctx, &models.App{Name: "a"}); return err }, models.ErrAppsAlreadyExists},
		"fn name in its app": {func() error { _, err := s.CreateFn(ctx, &models.Fn{AppID: app.ID, Name: "f", Image: "j"}); return err }, models.ErrFnsExists},
		"trigger name on create": {func() error {
			_, err := s.CreateTrigger(ctx, &models.Trigger{AppID: app.ID, FnID: fn.ID, Name: "t", Type: "http", Source: "/z"})
			return err
		}, models.ErrTriggerExists},
		"trigger name on update": {func() error {
			_, err := s.UpdateTrigger(ctx, &models.Trigger{ID: renamed.ID, Name: "t"})
			return err
		}, models.ErrTriggerExists},
	} {
		if err := try.write(); !errors.Is(err, try.want) || try.want.Kind != models.Conflict {
			t.Errorf("duplicate %s: err = %v, want %q (a Conflict)", name, err, try.want.Message)
		}
	}
}
