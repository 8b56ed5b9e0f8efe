package cloudevent

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Configuration keys of event authentication (fn or app config).
const (
	// ConfigHMACSecret holds the shared secret events are signed with
	// (see Sign).
	ConfigHMACSecret = "FNFLEET_EVENT_HMAC_SECRET"
	// ConfigHMACPreviousSecret holds the secret being rotated out: events
	// signed with it are accepted too until it is removed.
	ConfigHMACPreviousSecret = "FNFLEET_EVENT_HMAC_SECRET_PREVIOUS"
	// ConfigMaxAge is how far a signature's timestamp may lie from the
	// function's clock, as a Go duration ("5m", "90s"); DefaultMaxAge
	// when unset.
	ConfigMaxAge = "FNFLEET_EVENT_MAX_AGE"
	// ConfigToken holds the bearer token accepted instead of a signature.
	ConfigToken = "FNFLEET_EVENT_TOKEN"
)

type authenticator struct {
	secrets [][]byte
	token   string
	maxAge  time.Duration
}

// authenticatorFor reads the authentication settings from the function's
// config. An unreadable FNFLEET_EVENT_MAX_AGE is an error: guessing a
// window would either refuse every event or widen the replay window.
func authenticatorFor(config map[string]string) (authenticator, error) {
	a := authenticator{token: config[ConfigToken], maxAge: DefaultMaxAge}
	for _, k := range []string{ConfigHMACSecret, ConfigHMACPreviousSecret} {
		if s := config[k]; s != "" {
			a.secrets = append(a.secrets, []byte(s))
		}
	}
	if v := config[ConfigMaxAge]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return a, fmt.Errorf("function config %s=%q is not a duration of at least 1s; set it like 5m or 90s, or remove it for %v",
				ConfigMaxAge, v, DefaultMaxAge)
		}
		a.maxAge = d
	}
	return a, nil
}

func (a authenticator) enabled() bool { return len(a.secrets) > 0 || a.token != "" }

// authError is a refused event: status 401 (unauthenticated) or 400 (a
// signature header that cannot be read).
type authError struct {
	status int
	msg    string
}

func (e *authError) Error() string { return e.msg }

func unauthenticated(format string, args ...any) *authError {
	return &authError{status: http.StatusUnauthorized, msg: "unauthenticated event: " + fmt.Sprintf(format, args...)}
}

// credentials decides, before the event is decoded, how the request is
// authenticated. It returns the signature to verify once the event is
// decoded ("" when none needs verifying: authentication is off or the
// bearer token matched), or an error when the request carries no usable
// credential.
func (a authenticator) credentials(h http.Header) (signature string, err *authError) {
	if !a.enabled() {
		return "", nil
	}
	bearer := h.Get("Authorization")
	if a.token != "" && validBearer(a.token, bearer) {
		return "", nil
	}
	if sig := h.Get(SignatureHeader); len(a.secrets) > 0 && sig != "" {
		return sig, nil
	}
	switch {
	case a.token != "" && bearer != "":
		return "", unauthenticated("the Authorization bearer token does not match; send the configured %s", ConfigToken)
	case len(a.secrets) > 0 && a.token != "":
		return "", unauthenticated("no %s header and no bearer token; sign the event (cloudevent.Sign: t=<unix seconds>,v1=<hex HMAC-SHA256>) "+
			"or send Authorization: Bearer <token>", SignatureHeader)
	case len(a.secrets) > 0:
		return "", unauthenticated("no %s header; sign the event with the shared secret (cloudevent.Sign: t=<unix seconds>,v1=<hex HMAC-SHA256>)", SignatureHeader)
	default:
		return "", unauthenticated("no bearer token; send Authorization: Bearer <token>")
	}
}

// verify checks the signature of the decoded event at now.
func (a authenticator) verify(e event.Event, signature string, now time.Time) *authError {
	err := Verify(e, signature, now, a.maxAge, a.secrets...)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrSignatureMalformed):
		return &authError{status: http.StatusBadRequest, msg: "invalid event signature: " + err.Error()}
	default:
		return unauthenticated("%v", err)
	}
}

func validBearer(token, header string) bool {
	scheme, value, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	// Compare digests so the comparison time does not depend on the
	// token's length either.
	want := sha256.Sum256([]byte(token))
	got := sha256.Sum256([]byte(strings.TrimSpace(value)))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}
