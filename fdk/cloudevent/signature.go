package cloudevent

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// Signature scheme, after Stripe's and Standard Webhooks' signed webhooks:
//
//	X-Fnfleet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=<hex>...]
//
// v1 is HMAC-SHA256, under a shared secret, of the string that
// SignedContent returns: the timestamp, every context attribute and
// extension of the event and its data, each length-prefixed. It is
// computed from the decoded event, so one signature verifies whether the
// event travels in binary or structured mode, and changing any ce-*
// header, JSON attribute or byte of data breaks it. Several v1 values
// (one per secret) let senders and receivers rotate secrets without a
// flag day; the receiver accepts the event when any v1 matches any of its
// secrets. The timestamp bounds replays to the receiver's window
// (DefaultMaxAge).
const (
	SignatureHeader = "X-Fnfleet-Signature"

	// DefaultMaxAge is how far a signature's timestamp may lie from the
	// receiver's clock, either way: Stripe's default tolerance, which
	// covers delivery retries of a few seconds and clock skew of a few
	// more while keeping a captured event replayable for 5 minutes at
	// most.
	DefaultMaxAge = 5 * time.Minute

	signedContentVersion = "fnfleet-cloudevent-v1\n"
	// maxSignatures caps the v1 values checked per event: rotation needs
	// two, and each costs the receiver an HMAC per secret.
	maxSignatures = 8
)

// Verification failures. Verify wraps one of them with the details.
var (
	// ErrSignatureMalformed: the header is not t=<unix>,v1=<hex>, or the
	// event cannot be signed (its specversion is not 1.0). Handler
	// answers 400.
	ErrSignatureMalformed = errors.New("malformed signature")
	// ErrSignatureExpired: the timestamp lies outside the window. Handler
	// answers 401.
	ErrSignatureExpired = errors.New("signature outside its time window")
	// ErrSignatureMismatch: no v1 value matches any secret. Handler
	// answers 401.
	ErrSignatureMismatch = errors.New("signature does not match")
)

// Sign returns the X-Fnfleet-Signature value for e, signed at now with
// each secret (one v1 value per secret, in order: sign with the new and
// the old secret while receivers rotate). Send e unchanged, in binary or
// structured mode, within the receiver's window of now.
func Sign(e event.Event, now time.Time, secrets ...[]byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("cloudevent: signing needs at least one secret")
	}
	if len(secrets) > maxSignatures {
		return "", fmt.Errorf("cloudevent: %d secrets, receivers check at most %d signatures", len(secrets), maxSignatures)
	}
	if err := e.Validate(); err != nil {
		return "", fmt.Errorf("cloudevent: signing an invalid event: %s", validationMessage(err))
	}
	t := now.Unix()
	content, err := SignedContent(e, t)
	if err != nil {
		return "", fmt.Errorf("cloudevent: signing: %w", err)
	}
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(strconv.FormatInt(t, 10))
	for i, s := range secrets {
		if len(s) == 0 {
			return "", fmt.Errorf("cloudevent: signing: secret %d is empty", i)
		}
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(mac(s, content)))
	}
	return b.String(), nil
}

// Verify checks signature, an X-Fnfleet-Signature value, against the
// decoded event e: its timestamp must lie within maxAge of now (either
// way; DefaultMaxAge when maxAge is 0) and one of its v1 values must be
// the HMAC of SignedContent under one of secrets. The error wraps
// ErrSignatureMalformed, ErrSignatureExpired or ErrSignatureMismatch and
// never contains a secret or an expected signature.
func Verify(e event.Event, signature string, now time.Time, maxAge time.Duration, secrets ...[]byte) error {
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	t, sigs, err := parseSignature(signature)
	if err != nil {
		return err
	}
	// Compare whole seconds: the header carries no more.
	age := now.Unix() - t
	window := int64(maxAge / time.Second)
	switch {
	case age > window:
		return fmt.Errorf("%w: signed %d s ago, %d s past the %d s window; sign every delivery anew, a replayed event is refused",
			ErrSignatureExpired, age, age-window, window)
	case -age > window:
		return fmt.Errorf("%w: timestamp %d s in the future, beyond the %d s window; check the sender's clock",
			ErrSignatureExpired, -age, window)
	}
	content, err := SignedContent(e, t)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignatureMalformed, err)
	}
	// Every pair is compared, in constant time each, so the time taken
	// does not tell which secret or which signature came close.
	matched := false
	for _, s := range secrets {
		if len(s) == 0 {
			continue
		}
		want := mac(s, content)
		for _, got := range sigs {
			if hmac.Equal(got, want) {
				matched = true
			}
		}
	}
	if !matched {
		return fmt.Errorf("%w: no v1 signature matches the event under the configured secret(s); "+
			"sign the event exactly as sent (every attribute, extension and the data) with the shared secret", ErrSignatureMismatch)
	}
	return nil
}

// parseSignature reads t=<unix>,v1=<hex>[,v1=<hex>...]. Unknown keys are
// skipped, so a later scheme (v2=) can be sent alongside v1.
func parseSignature(h string) (int64, [][]byte, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, nil, fmt.Errorf("%w: %s is empty", ErrSignatureMalformed, SignatureHeader)
	}
	if strings.HasPrefix(h, "sha256=") {
		return 0, nil, fmt.Errorf("%w: %s uses the retired sha256=<body HMAC> form, which left ce-* headers unsigned and "+
			"allowed replays; send t=<unix seconds>,v1=<hex> (cloudevent.Sign)", ErrSignatureMismatch, SignatureHeader)
	}
	var (
		t    int64
		seen bool
		sigs [][]byte
	)
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, nil, fmt.Errorf("%w: %s part %q is not key=value; want t=<unix seconds>,v1=<hex>", ErrSignatureMalformed, SignatureHeader, part)
		}
		switch k {
		case "t":
			if seen {
				return 0, nil, fmt.Errorf("%w: %s has t= twice", ErrSignatureMalformed, SignatureHeader)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || n > math.MaxInt64/2 {
				return 0, nil, fmt.Errorf("%w: %s t=%q is not a unix time in seconds", ErrSignatureMalformed, SignatureHeader, v)
			}
			t, seen = n, true
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return 0, nil, fmt.Errorf("%w: %s v1= is not %d hex digits (HMAC-SHA256)", ErrSignatureMalformed, SignatureHeader, 2*sha256.Size)
			}
			if len(sigs) == maxSignatures {
				return 0, nil, fmt.Errorf("%w: %s has more than %d v1= signatures", ErrSignatureMalformed, SignatureHeader, maxSignatures)
			}
			sigs = append(sigs, b)
		}
	}
	if !seen {
		return 0, nil, fmt.Errorf("%w: %s has no t=<unix seconds>", ErrSignatureMalformed, SignatureHeader)
	}
	if len(sigs) == 0 {
		return 0, nil, fmt.Errorf("%w: %s has no v1=<hex> signature", ErrSignatureMalformed, SignatureHeader)
	}
	return t, sigs, nil
}

// SignedContent returns the string a v1 signature of e at unix time t is
// the HMAC-SHA256 of:
//
//	fnfleet-cloudevent-v1\n
//	t=<len>:<unix seconds>\n
//	attributes=<len>:<count>\n
//	<name>=<len>:<value>\n      one per context attribute and extension, sorted by name
//	data=<len>:<data bytes>\n
//
// <len> is the decimal byte length of what follows the colon up to the
// line's final newline, so values may hold any bytes (newlines too) and
// no two events share a string; names are CloudEvents attribute names
// ([a-z0-9]) and never contain "=". Values are the attributes' canonical
// string forms (those of binary mode: time in RFC 3339 UTC, integers in
// decimal, binary in base64), so an attribute sent as a JSON number in
// structured mode and as a ce-* header in binary mode signs the same. Only
// specversion 1.0 events can be signed.
func SignedContent(e event.Event, t int64) ([]byte, error) {
	if v := e.SpecVersion(); v != event.CloudEventsVersionV1 {
		return nil, fmt.Errorf("specversion %q: only 1.0 events are signed; send 1.0", v)
	}
	attrs := map[string]string{
		"specversion": e.SpecVersion(),
		"id":          e.ID(),
		"source":      e.Source(),
		"type":        e.Type(),
	}
	for name, v := range map[string]string{
		"datacontenttype": e.DataContentType(),
		"dataschema":      e.DataSchema(),
		"subject":         e.Subject(),
	} {
		if v != "" {
			attrs[name] = v
		}
	}
	if tm := e.Time(); !tm.IsZero() {
		attrs["time"] = types.FormatTime(tm)
	}
	for name, v := range e.Extensions() {
		if !event.IsExtensionNameValid(name) {
			return nil, fmt.Errorf("extension name %q: use lowercase letters and digits only", name)
		}
		if _, core := attrs[name]; core {
			return nil, fmt.Errorf("extension %q has the name of a context attribute", name)
		}
		s, err := types.Format(v)
		if err != nil {
			return nil, fmt.Errorf("extension %s: %w", name, err)
		}
		attrs[name] = s
	}
	names := make([]string, 0, len(attrs))
	size := len(signedContentVersion) + 64 + len(e.Data())
	for name, v := range attrs {
		names = append(names, name)
		size += len(name) + len(v) + 12
	}
	slices.Sort(names)

	b := make([]byte, 0, size)
	b = append(b, signedContentVersion...)
	b = appendField(b, "t", []byte(strconv.FormatInt(t, 10)))
	b = appendField(b, "attributes", []byte(strconv.Itoa(len(names))))
	for _, name := range names {
		b = appendField(b, name, []byte(attrs[name]))
	}
	return appendField(b, "data", e.Data()), nil
}

func appendField(b []byte, name string, value []byte) []byte {
	b = append(b, name...)
	b = append(b, '=')
	b = strconv.AppendInt(b, int64(len(value)), 10)
	b = append(b, ':')
	b = append(b, value...)
	return append(b, '\n')
}

func mac(secret, content []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(content)
	return m.Sum(nil)
}
