// Package store keeps Fn apps, fns and triggers (package models) in an
// embedded SQLite database, with the Fn server's list semantics
// (name-ordered pages, base64 name cursors). It validates every object with
// package models before writing it, and refuses requests with a
// models.Error. Every write runs in a transaction, so a failed request
// leaves nothing half-written.
package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite" // also registers the pure-Go "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/fnfleet/fnfleet/fnserver/models"
)

// errInvalidCursor refuses a page cursor that no list returned.
var errInvalidCursor = models.Error{Kind: models.Invalid, Message: "Invalid cursor: pass the next_cursor value of a previous page unchanged"}

// Store is the Fn object store.
type Store struct {
	db  *sql.DB
	now func() time.Time
	// Prepared once: the lookups of every call, which would otherwise spend
	// most of their time in SQLite's parser.
	appByID, appByName, fnByID, triggerBySource *sql.Stmt
}

const schema = `
CREATE TABLE IF NOT EXISTS apps (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	config TEXT NOT NULL,
	annotations TEXT NOT NULL,
	syslog_url TEXT,
	shape TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fns (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	image TEXT NOT NULL,
	memory INTEGER NOT NULL,
	timeout INTEGER NOT NULL,
	idle_timeout INTEGER NOT NULL,
	config TEXT NOT NULL,
	annotations TEXT NOT NULL,
	shape TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	CONSTRAINT fns_app_name UNIQUE (app_id, name)
);
CREATE TABLE IF NOT EXISTS triggers (
	id TEXT PRIMARY KEY,
	app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
	fn_id TEXT NOT NULL REFERENCES fns(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	type TEXT NOT NULL,
	source TEXT NOT NULL,
	annotations TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	CONSTRAINT triggers_app_fn_name UNIQUE (app_id, fn_id, name)
);
CREATE INDEX IF NOT EXISTS triggers_source ON triggers (app_id, type, source);
`

// Open opens (creating if needed) the database file at path.
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	// One connection serialises writers; SQLite allows only one anyway, and
	// this avoids SQLITE_BUSY on read-to-write transaction upgrades.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	s := &Store{db: db, now: time.Now}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.appByID, `SELECT ` + appColumns + ` FROM apps WHERE id = ?`},
		{&s.appByName, `SELECT ` + appColumns + ` FROM apps WHERE name = ?`},
		{&s.fnByID, `SELECT ` + fnColumns + ` FROM fns WHERE id = ?`},
		{&s.triggerBySource, `SELECT ` + triggerColumns + ` FROM triggers WHERE app_id = ? AND type = ? AND source = ?`},
	} {
		if *p.stmt, err = db.PrepareContext(ctx, p.query); err != nil {
			db.Close()
			return nil, fmt.Errorf("prepare %q: %w", p.query, err)
		}
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// isUniqueViolation reports whether err is SQLite refusing a row that
// breaks a UNIQUE constraint (an app's name, an fn's name in its app, a
// trigger's name on its fn). A clash of primary keys has its own code
// (SQLITE_CONSTRAINT_PRIMARYKEY) and stays an internal error: ids carry 80
// random bits, so a clash means a bug, not a duplicate.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

func encodeJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only maps of strings and raw JSON are encoded; they always marshal.
		panic(fmt.Sprintf("encode column: %v", err))
	}
	return string(b)
}

func decodeJSON(s string, v any) error {
	if s == "" || s == "null" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode stored column: %w", err)
	}
	return nil
}

func formatTime(t models.Time) string { return time.Time(t).UTC().Format(time.RFC3339Nano) }

func parseTime(s string) (models.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return models.Time{}, fmt.Errorf("decode stored timestamp %q: %w", s, err)
	}
	return models.Time(t), nil
}

// Page selects one page of a list: items whose name sorts after the cursor.
type Page struct {
	Cursor  string
	PerPage int
}

// normalize applies the Fn server's page size rules (default 30, max 100)
// and decodes the cursor.
func (p Page) normalize() (after string, perPage int, err error) {
	perPage = p.PerPage
	switch {
	case perPage > 100:
		perPage = 100
	case perPage <= 0:
		perPage = 30
	}
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		if err != nil {
			return "", 0, errInvalidCursor
		}
		after = string(b)
	}
	return after, perPage, nil
}

func nextCursor(n, perPage int, lastName string) string {
	if n > 0 && n == perPage {
		return base64.RawURLEncoding.EncodeToString([]byte(lastName))
	}
	return ""
}

// listPage finishes a list query (q selects the rows after the cursor) with
// name order and the page size, scans the page and returns it with the
// cursor of the next page.
func listPage[T any](ctx context.Context, db *sql.DB, what, q string, args []any, perPage int, scan func(rowScanner) (T, error), name func(T) string) ([]T, string, error) {
	q += ` ORDER BY name LIMIT ?`
	rows, err := db.QueryContext(ctx, q, append(args, perPage)...)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list %s: %w", what, err)
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list %s: %w", what, err)
	}
	last := ""
	if len(items) > 0 {
		last = name(items[len(items)-1])
	}
	return items, nextCursor(len(items), perPage, last), nil
}

type rowScanner interface{ Scan(dest ...any) error }

// ---- apps ----

const appColumns = `id, name, config, annotations, syslog_url, shape, created_at, updated_at`

func scanApp(r rowScanner) (*models.App, error) {
	var (
		a                   models.App
		config, annotations string
		syslog              sql.NullString
		created, updated    string
	)
	if err := r.Scan(&a.ID, &a.Name, &config, &annotations, &syslog, &a.Shape, &created, &updated); err != nil {
		return nil, err
	}
	if syslog.Valid {
		a.SyslogURL = &syslog.String
	}
	var err error
	if err = decodeJSON(config, &a.Config); err != nil {
		return nil, err
	}
	if err = decodeJSON(annotations, &a.Annotations); err != nil {
		return nil, err
	}
	if a.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if a.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &a, nil
}

// CreateApp validates and stores a new app.
func (s *Store) CreateApp(ctx context.Context, in *models.App) (*models.App, error) {
	if in.ID != "" {
		return nil, models.ErrAppIDProvided
	}
	a := *in
	var err error
	if a.Annotations, err = a.Annotations.Compact(); err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if a.Config == nil {
		a.Config = map[string]string{}
	}
	if a.SyslogURL != nil && *a.SyslogURL == "" {
		a.SyslogURL = nil
	}
	a.ID = models.NewID(s.now())
	a.CreatedAt = models.Time(s.now())
	a.UpdatedAt = a.CreatedAt
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO apps (`+appColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Name, encodeJSON(a.Config), encodeJSON(a.Annotations), nullString(a.SyslogURL), a.Shape,
			formatTime(a.CreatedAt), formatTime(a.UpdatedAt))
		if isUniqueViolation(err) {
			return models.ErrAppsAlreadyExists
		}
		if err != nil {
			return fmt.Errorf("insert app %q: %w", a.Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

func nullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

// GetApp returns the app with id.
func (s *Store) GetApp(ctx context.Context, id string) (*models.App, error) {
	return appFromRow(s.appByID.QueryRowContext(ctx, id), id)
}

// GetAppByName returns the app called name.
func (s *Store) GetAppByName(ctx context.Context, name string) (*models.App, error) {
	return appFromRow(s.appByName.QueryRowContext(ctx, name), name)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getApp(ctx context.Context, q querier, where string, arg string) (*models.App, error) {
	return appFromRow(q.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps `+where, arg), arg)
}

func appFromRow(row *sql.Row, arg string) (*models.App, error) {
	a, err := scanApp(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, models.ErrAppsNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read app %s: %w", arg, err)
	}
	return a, nil
}

// UpdateApp merges patch into the app patch.ID.
func (s *Store) UpdateApp(ctx context.Context, patch *models.App) (*models.App, error) {
	annotations, err := patch.Annotations.Compact()
	if err != nil {
		return nil, err
	}
	var out *models.App
	err = s.tx(ctx, func(tx *sql.Tx) error {
		a, err := getApp(ctx, tx, `WHERE id = ?`, patch.ID)
		if err != nil {
			return err
		}
		if patch.Name != "" && patch.Name != a.Name {
			return models.ErrAppsNameImmutable
		}
		p := *patch
		p.Annotations = annotations
		a.ApplyPatch(&p)
		if err := a.Validate(); err != nil {
			return err
		}
		a.UpdatedAt = models.Time(s.now())
		if a.Config == nil {
			a.Config = map[string]string{}
		}
		_, err = tx.ExecContext(ctx, `UPDATE apps SET config = ?, annotations = ?, syslog_url = ?, updated_at = ? WHERE id = ?`,
			encodeJSON(a.Config), encodeJSON(a.Annotations), nullString(a.SyslogURL), formatTime(a.UpdatedAt), a.ID)
		if err != nil {
			return fmt.Errorf("update app %s: %w", a.ID, err)
		}
		out = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteApp removes an app with its fns and triggers.
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Explicit deletes, not only ON DELETE CASCADE, so that the outcome
		// does not depend on the foreign_keys pragma.
		for _, q := range []string{`DELETE FROM triggers WHERE app_id = ?`, `DELETE FROM fns WHERE app_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("delete app %s: %w", id, err)
			}
		}
		return deleteByID(ctx, tx, "apps", id, models.ErrAppsNotFound)
	})
}

// deleteByID deletes the row of table with id, answering notFound when
// there is none. table is one of ours, never user input.
func deleteByID(ctx context.Context, tx *sql.Tx, table, id string, notFound error) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete from %s %s: %w", table, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete from %s %s: %w", table, id, err)
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// AppFilter selects apps to list.
type AppFilter struct {
	Name string
	Page
}

// ListApps returns one page of apps ordered by name.
func (s *Store) ListApps(ctx context.Context, f AppFilter) ([]*models.App, string, error) {
	after, perPage, err := f.normalize()
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + appColumns + ` FROM apps WHERE name > ?`
	args := []any{after}
	if f.Name != "" {
		q += ` AND name = ?`
		args = append(args, f.Name)
	}
	return listPage(ctx, s.db, "apps", q, args, perPage, scanApp, func(x *models.App) string { return x.Name })
}

// ---- fns ----

const fnColumns = `id, app_id, name, image, memory, timeout, idle_timeout, config, annotations, shape, created_at, updated_at`

func scanFn(r rowScanner) (*models.Fn, error) {
	var (
		f                   models.Fn
		config, annotations string
		created, updated    string
	)
	if err := r.Scan(&f.ID, &f.AppID, &f.Name, &f.Image, &f.Memory, &f.Timeout, &f.IdleTimeout, &config, &annotations, &f.Shape, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if err = decodeJSON(config, &f.Config); err != nil {
		return nil, err
	}
	if f.Config == nil {
		f.Config = map[string]string{}
	}
	if err = decodeJSON(annotations, &f.Annotations); err != nil {
		return nil, err
	}
	if f.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if f.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &f, nil
}

// CreateFn validates and stores a new fn in an existing app.
func (s *Store) CreateFn(ctx context.Context, in *models.Fn) (*models.Fn, error) {
	switch {
	case in.ID != "":
		return nil, models.ErrFnsIDProvided
	case in.AppID == "":
		return nil, models.ErrFnsMissingAppID
	case in.Name == "":
		return nil, models.ErrFnsMissingName
	}
	f := *in
	var err error
	if f.Annotations, err = f.Annotations.Compact(); err != nil {
		return nil, err
	}
	f.SetDefaults()
	if err := f.Validate(); err != nil {
		return nil, err
	}
	f.ID = models.NewID(s.now())
	f.CreatedAt = models.Time(s.now())
	f.UpdatedAt = f.CreatedAt
	err = s.tx(ctx, func(tx *sql.Tx) error {
		app, err := getApp(ctx, tx, `WHERE id = ?`, f.AppID)
		if err != nil {
			return err
		}
		f.Shape = app.Shape
		_, err = tx.ExecContext(ctx, `INSERT INTO fns (`+fnColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.AppID, f.Name, f.Image, f.Memory, f.Timeout, f.IdleTimeout, encodeJSON(f.Config),
			encodeJSON(f.Annotations), f.Shape, formatTime(f.CreatedAt), formatTime(f.UpdatedAt))
		if isUniqueViolation(err) {
			return models.ErrFnsExists
		}
		if err != nil {
			return fmt.Errorf("insert fn %q: %w", f.Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// GetFn returns the fn with id.
func (s *Store) GetFn(ctx context.Context, id string) (*models.Fn, error) {
	return fnFromRow(s.fnByID.QueryRowContext(ctx, id), id)
}

func getFn(ctx context.Context, q querier, id string) (*models.Fn, error) {
	return fnFromRow(q.QueryRowContext(ctx, `SELECT `+fnColumns+` FROM fns WHERE id = ?`, id), id)
}

func fnFromRow(row *sql.Row, id string) (*models.Fn, error) {
	f, err := scanFn(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, models.ErrFnsNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read fn %s: %w", id, err)
	}
	return f, nil
}

// UpdateFn merges patch into the fn patch.ID.
func (s *Store) UpdateFn(ctx context.Context, patch *models.Fn) (*models.Fn, error) {
	annotations, err := patch.Annotations.Compact()
	if err != nil {
		return nil, err
	}
	var out *models.Fn
	err = s.tx(ctx, func(tx *sql.Tx) error {
		f, err := getFn(ctx, tx, patch.ID)
		if err != nil {
			return err
		}
		p := *patch
		p.Annotations = annotations
		f.ApplyPatch(&p)
		if err := f.Validate(); err != nil {
			return err
		}
		f.UpdatedAt = models.Time(s.now())
		_, err = tx.ExecContext(ctx, `UPDATE fns SET image = ?, memory = ?, timeout = ?, idle_timeout = ?, config = ?, annotations = ?, updated_at = ? WHERE id = ?`,
			f.Image, f.Memory, f.Timeout, f.IdleTimeout, encodeJSON(f.Config), encodeJSON(f.Annotations), formatTime(f.UpdatedAt), f.ID)
		if err != nil {
			return fmt.Errorf("update fn %s: %w", f.ID, err)
		}
		out = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteFn removes an fn and its triggers.
func (s *Store) DeleteFn(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM triggers WHERE fn_id = ?`, id); err != nil {
			return fmt.Errorf("delete fn %s: %w", id, err)
		}
		return deleteByID(ctx, tx, "fns", id, models.ErrFnsNotFound)
	})
}

// FnFilter selects fns to list; AppID is required.
type FnFilter struct {
	AppID string
	Name  string
	Page
}

// ListFns returns one page of an app's fns ordered by name.
func (s *Store) ListFns(ctx context.Context, f FnFilter) ([]*models.Fn, string, error) {
	if f.AppID == "" {
		return nil, "", models.ErrFnsMissingAppID
	}
	after, perPage, err := f.normalize()
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + fnColumns + ` FROM fns WHERE app_id = ? AND name > ?`
	args := []any{f.AppID, after}
	if f.Name != "" {
		q += ` AND name = ?`
		args = append(args, f.Name)
	}
	return listPage(ctx, s.db, "fns", q, args, perPage, scanFn, func(x *models.Fn) string { return x.Name })
}

// ---- triggers ----

const triggerColumns = `id, app_id, fn_id, name, type, source, annotations, created_at, updated_at`

func scanTrigger(r rowScanner) (*models.Trigger, error) {
	var (
		t                models.Trigger
		annotations      string
		created, updated string
	)
	if err := r.Scan(&t.ID, &t.AppID, &t.FnID, &t.Name, &t.Type, &t.Source, &annotations, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if err = decodeJSON(annotations, &t.Annotations); err != nil {
		return nil, err
	}
	if t.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if t.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &t, nil
}

// checkTriggerTarget checks that the app exists and owns the fn, and that no
// other trigger of the app serves the same type and source.
func checkTriggerTarget(ctx context.Context, tx *sql.Tx, t *models.Trigger) error {
	if _, err := getApp(ctx, tx, `WHERE id = ?`, t.AppID); err != nil {
		return err
	}
	fn, err := getFn(ctx, tx, t.FnID)
	if err != nil {
		return err
	}
	if fn.AppID != t.AppID {
		return models.ErrTriggerFnOtherApp
	}
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM triggers WHERE app_id = ? AND type = ? AND source = ? AND id != ?`,
		t.AppID, t.Type, t.Source, t.ID).Scan(&one)
	switch {
	case err == nil:
		return models.ErrTriggerSrcExists
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("check trigger source %s: %w", t.Source, err)
	}
	return nil
}

// CreateTrigger validates and stores a new trigger.
func (s *Store) CreateTrigger(ctx context.Context, in *models.Trigger) (*models.Trigger, error) {
	switch {
	case in.ID != "":
		return nil, models.ErrTriggerIDProvided
	case !in.CreatedAt.IsZero():
		return nil, models.ErrCreatedAtProvided
	case !in.UpdatedAt.IsZero():
		return nil, models.ErrUpdatedAtProvided
	}
	t := *in
	var err error
	if t.Annotations, err = t.Annotations.Compact(); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	t.ID = models.NewID(s.now())
	t.CreatedAt = models.Time(s.now())
	t.UpdatedAt = t.CreatedAt
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkTriggerTarget(ctx, tx, &t); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO triggers (`+triggerColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.AppID, t.FnID, t.Name, t.Type, t.Source, encodeJSON(t.Annotations), formatTime(t.CreatedAt), formatTime(t.UpdatedAt))
		if isUniqueViolation(err) {
			return models.ErrTriggerExists
		}
		if err != nil {
			return fmt.Errorf("insert trigger %q: %w", t.Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// GetTrigger returns the trigger with id.
func (s *Store) GetTrigger(ctx context.Context, id string) (*models.Trigger, error) {
	return getTrigger(ctx, s.db, `WHERE id = ?`, id)
}

// GetTriggerBySource returns the app's trigger of type typ serving source.
func (s *Store) GetTriggerBySource(ctx context.Context, appID, typ, source string) (*models.Trigger, error) {
	return triggerFromRow(s.triggerBySource.QueryRowContext(ctx, appID, typ, source), appID, typ, source)
}

func getTrigger(ctx context.Context, q querier, where string, args ...any) (*models.Trigger, error) {
	return triggerFromRow(q.QueryRowContext(ctx, `SELECT `+triggerColumns+` FROM triggers `+where, args...), args...)
}

func triggerFromRow(row *sql.Row, args ...any) (*models.Trigger, error) {
	t, err := scanTrigger(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, models.ErrTriggerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read trigger %v: %w", args, err)
	}
	return t, nil
}

// UpdateTrigger merges patch into the trigger patch.ID.
func (s *Store) UpdateTrigger(ctx context.Context, patch *models.Trigger) (*models.Trigger, error) {
	annotations, err := patch.Annotations.Compact()
	if err != nil {
		return nil, err
	}
	var out *models.Trigger
	err = s.tx(ctx, func(tx *sql.Tx) error {
		t, err := getTrigger(ctx, tx, `WHERE id = ?`, patch.ID)
		if err != nil {
			return err
		}
		p := *patch
		p.Annotations = annotations
		t.ApplyPatch(&p)
		if err := t.Validate(); err != nil {
			return err
		}
		if err := checkTriggerTarget(ctx, tx, t); err != nil {
			return err
		}
		t.UpdatedAt = models.Time(s.now())
		_, err = tx.ExecContext(ctx, `UPDATE triggers SET fn_id = ?, name = ?, source = ?, annotations = ?, updated_at = ? WHERE id = ?`,
			t.FnID, t.Name, t.Source, encodeJSON(t.Annotations), formatTime(t.UpdatedAt), t.ID)
		if isUniqueViolation(err) {
			return models.ErrTriggerExists
		}
		if err != nil {
			return fmt.Errorf("update trigger %s: %w", t.ID, err)
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteTrigger removes a trigger.
func (s *Store) DeleteTrigger(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return deleteByID(ctx, tx, "triggers", id, models.ErrTriggerNotFound)
	})
}

// TriggerFilter selects triggers to list; AppID is required.
type TriggerFilter struct {
	AppID string
	FnID  string
	Name  string
	Page
}

// ListTriggers returns one page of an app's triggers ordered by name.
func (s *Store) ListTriggers(ctx context.Context, f TriggerFilter) ([]*models.Trigger, string, error) {
	if f.AppID == "" {
		return nil, "", models.ErrTriggerMissingApp
	}
	after, perPage, err := f.normalize()
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + triggerColumns + ` FROM triggers WHERE app_id = ? AND name > ?`
	args := []any{f.AppID, after}
	if f.FnID != "" {
		q += ` AND fn_id = ?`
		args = append(args, f.FnID)
	}
	if f.Name != "" {
		q += ` AND name = ?`
		args = append(args, f.Name)
	}
	return listPage(ctx, s.db, "triggers", q, args, perPage, scanTrigger, func(x *models.Trigger) string { return x.Name })
}
