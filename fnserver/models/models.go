// Package models holds the Fn server's objects (apps, fns, triggers) with
// the Fn server's JSON field names, validation rules, defaults and update
// semantics, and the errors that refuse a request, with the Fn server's
// messages. It does no I/O: package store persists the objects, package
// fnserver serves them.
package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Time is a timestamp that marshals the way the Fn server's does (RFC 3339
// with milliseconds, UTC), which fn_go's strfmt.DateTime parses.
type Time time.Time

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format(timeLayout))
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp must be a string: %w", err)
	}
	if s == "" {
		*t = Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("timestamp %q is not RFC 3339: %w", s, err)
	}
	*t = Time(v)
	return nil
}

// IsZero reports whether t is unset.
func (t Time) IsZero() bool { return time.Time(t).IsZero() }

// Annotations are free-form metadata; each value is kept as compact JSON.
type Annotations map[string]json.RawMessage

// isEmptyValue reports whether v deletes its key in a patch ("" or null).
func isEmptyValue(v json.RawMessage) bool {
	s := string(v)
	return s == `""` || s == "null" || s == ""
}

// Compact returns a with every value in compact JSON, as it is stored and
// compared. A value that is not JSON is refused as Invalid.
func (a Annotations) Compact() (Annotations, error) {
	if a == nil {
		return nil, nil
	}
	out := make(Annotations, len(a))
	for k, v := range a {
		var buf bytes.Buffer
		if len(v) > 0 {
			if err := json.Compact(&buf, v); err != nil {
				return nil, Errorf(Invalid, "Invalid JSON: annotation %q: %v", k, err)
			}
		}
		out[k] = buf.Bytes()
	}
	return out, nil
}

// validate checks a final (merged) annotation set, as the Fn server does.
func (a Annotations) validate() error {
	for k, v := range a {
		if k == "" {
			return ErrInvalidAnnotationKey
		}
		for _, c := range k {
			if c < '!' || c > '~' {
				return ErrInvalidAnnotationKey
			}
		}
		if len(k) > maxAnnotationKeyBytes {
			return ErrInvalidAnnotationKeyLen
		}
		if isEmptyValue(v) {
			return ErrInvalidAnnotationValue
		}
		if len(v) > maxAnnotationValueBytes {
			return ErrInvalidAnnotationValueLen
		}
	}
	if len(a) > maxAnnotationKeys {
		return ErrTooManyAnnotationKeys
	}
	return nil
}

// merge applies patch to a: empty values delete keys, others set them.
func (a Annotations) merge(patch Annotations) Annotations {
	out := make(Annotations, len(a)+len(patch))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range patch {
		if isEmptyValue(v) {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// With returns a copy of a with key set to the JSON encoding of value.
func (a Annotations) With(key string, value any) Annotations {
	b, err := json.Marshal(value)
	if err != nil {
		// Only strings are set by this package; they always marshal.
		panic(fmt.Sprintf("annotation %q: %v", key, err))
	}
	out := make(Annotations, len(a)+1)
	for k, v := range a {
		out[k] = v
	}
	out[key] = b
	return out
}

// mergeConfig applies patch to c: a key set to "" is deleted.
func mergeConfig(c, patch map[string]string) map[string]string {
	out := make(map[string]string, len(c)+len(patch))
	for k, v := range c {
		out[k] = v
	}
	for k, v := range patch {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// App is an Fn application, with the Fn server's JSON field names.
type App struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Config      map[string]string `json:"config,omitempty"`
	Annotations Annotations       `json:"annotations,omitempty"`
	SyslogURL   *string           `json:"syslog_url,omitempty"`
	Shape       string            `json:"shape,omitempty"`
	CreatedAt   Time              `json:"created_at"`
	UpdatedAt   Time              `json:"updated_at"`
}

// Fn is an Fn function, with the Fn server's JSON field names.
type Fn struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	AppID       string            `json:"app_id"`
	Image       string            `json:"image"`
	Memory      uint64            `json:"memory,omitempty"`
	Timeout     int32             `json:"timeout,omitempty"`
	IdleTimeout int32             `json:"idle_timeout,omitempty"`
	Config      map[string]string `json:"config"`
	Annotations Annotations       `json:"annotations,omitempty"`
	Shape       string            `json:"shape,omitempty"`
	CreatedAt   Time              `json:"created_at"`
	UpdatedAt   Time              `json:"updated_at"`
}

// Trigger binds an HTTP path of an app to one of its fns.
type Trigger struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	AppID       string      `json:"app_id"`
	FnID        string      `json:"fn_id"`
	Type        string      `json:"type"`
	Source      string      `json:"source"`
	Annotations Annotations `json:"annotations,omitempty"`
	CreatedAt   Time        `json:"created_at"`
	UpdatedAt   Time        `json:"updated_at"`
}

// TriggerTypeHTTP is the only trigger type the Fn server supports.
const TriggerTypeHTTP = "http"

// validShape reports whether s is an app shape the Fn server accepts (""
// means the default).
func validShape(s string) bool {
	switch s {
	case "", "GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM":
		return true
	}
	return false
}

// validName is the app and trigger name rule: letters, digits, '_' and '-'.
func validName(name string) bool {
	for _, c := range name {
		if !unicode.IsLetter(c) && !unicode.IsNumber(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// Validate checks a as the Fn server does before storing it.
func (a *App) Validate() error {
	switch {
	case a.Name == "":
		return ErrMissingName
	case len(a.Name) > MaxNameLength:
		return ErrAppsTooLongName
	case !validName(a.Name):
		return ErrAppsInvalidName
	}
	if err := a.Annotations.validate(); err != nil {
		return err
	}
	if a.SyslogURL != nil && *a.SyslogURL != "" {
		u, err := url.Parse(strings.TrimSpace(*a.SyslogURL))
		if err == nil {
			switch u.Scheme {
			case "udp", "tcp", "unix", "unixgram", "tcp+tls":
			default:
				err = fmt.Errorf("invalid scheme, only [tcp, udp, unix, unixgram, tcp+tls] are supported")
			}
		}
		if err != nil {
			return Errorf(Invalid, "invalid syslog url: %q %v", *a.SyslogURL, err)
		}
	}
	if !validShape(a.Shape) {
		return ErrAppsInvalidShape
	}
	return nil
}

// ApplyPatch merges an update into a, as the Fn server's App.Update does:
// a config key set to "" is deleted, an empty annotation value deletes its
// key, an empty syslog URL clears it.
func (a *App) ApplyPatch(p *App) {
	if p.Config != nil {
		a.Config = mergeConfig(a.Config, p.Config)
	}
	if p.SyslogURL != nil {
		if *p.SyslogURL == "" {
			a.SyslogURL = nil
		} else {
			s := *p.SyslogURL
			a.SyslogURL = &s
		}
	}
	a.Annotations = a.Annotations.merge(p.Annotations)
}

// SetDefaults fills unset resource fields, as the Fn server does on create.
func (f *Fn) SetDefaults() {
	if f.Memory == 0 {
		f.Memory = DefaultMemoryMB
	}
	if f.Timeout == 0 {
		f.Timeout = DefaultTimeout
	}
	if f.IdleTimeout == 0 {
		f.IdleTimeout = DefaultIdleTimeout
	}
	if f.Config == nil {
		f.Config = map[string]string{}
	}
}

// Validate checks f as the Fn server does before storing it.
func (f *Fn) Validate() error {
	switch {
	case f.Name == "":
		return ErrFnsMissingName
	case len(f.Name) > MaxNameLength:
		return ErrFnsTooLongName
	case url.PathEscape(f.Name) != f.Name:
		return ErrFnsInvalidName
	case f.AppID == "":
		return ErrFnsMissingAppID
	case f.Image == "":
		return ErrFnsMissingImage
	case f.Timeout <= 0 || f.Timeout > MaxTimeout:
		return ErrFnsInvalidTimeout
	case f.IdleTimeout <= 0 || f.IdleTimeout > MaxIdleTimeout:
		return ErrFnsInvalidIdle
	case f.Memory < 1 || f.Memory > MaxMemoryMB:
		return ErrInvalidMemory
	}
	return f.Annotations.validate()
}

// ApplyPatch merges an update into f, as the Fn server's Fn.Update does: the
// name and app are immutable, zero values leave a field unchanged.
func (f *Fn) ApplyPatch(p *Fn) {
	if p.Image != "" {
		f.Image = p.Image
	}
	if p.Memory != 0 {
		f.Memory = p.Memory
	}
	if p.Timeout != 0 {
		f.Timeout = p.Timeout
	}
	if p.IdleTimeout != 0 {
		f.IdleTimeout = p.IdleTimeout
	}
	if p.Config != nil {
		f.Config = mergeConfig(f.Config, p.Config)
	}
	f.Annotations = f.Annotations.merge(p.Annotations)
}

// Validate checks t as the Fn server does before storing it.
func (t *Trigger) Validate() error {
	if t.AppID == "" {
		return ErrTriggerMissingApp
	}
	switch {
	case t.Name == "":
		return ErrTriggerMissingName
	case len(t.Name) > MaxNameLength:
		return ErrTriggerTooLongName
	case !validName(t.Name):
		return ErrTriggerInvalidName
	case t.FnID == "":
		return ErrTriggerMissingFn
	case t.Type != TriggerTypeHTTP:
		return ErrTriggerTypeUnknown
	case t.Source == "":
		return ErrTriggerMissingSrc
	case !strings.HasPrefix(t.Source, "/"):
		return ErrTriggerSrcPrefix
	}
	return t.Annotations.validate()
}

// ApplyPatch merges an update into t, as the Fn server's Trigger.Update does.
func (t *Trigger) ApplyPatch(p *Trigger) {
	if p.FnID != "" {
		t.FnID = p.FnID
	}
	if p.Name != "" {
		t.Name = p.Name
	}
	if p.Source != "" {
		t.Source = p.Source
	}
	t.Annotations = t.Annotations.merge(p.Annotations)
}
