package cloudevent

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// Configuration keys and headers of event authentication.
const (
	ConfigHMACSecret = "FNFLEET_EVENT_HMAC_SECRET"
	ConfigToken      = "FNFLEET_EVENT_TOKEN"
	SignatureHeader  = "X-Fnfleet-Signature"
	signaturePrefix  = "sha256="
)

// Sign returns the X-Fnfleet-Signature value for body under secret, for
// senders of events.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

type authenticator struct {
	hmacSecret []byte
	token      string
}

// authenticatorFor picks the secrets configured in the function's config.
func authenticatorFor(config map[string]string) authenticator {
	a := authenticator{token: config[ConfigToken]}
	if s := config[ConfigHMACSecret]; s != "" {
		a.hmacSecret = []byte(s)
	}
	return a
}

// check accepts the request when no authentication is configured, or when
// it satisfies one configured method.
func (a authenticator) check(h http.Header, body []byte) error {
	if len(a.hmacSecret) == 0 && a.token == "" {
		return nil
	}
	if len(a.hmacSecret) > 0 && validSignature(a.hmacSecret, h.Get(SignatureHeader), body) {
		return nil
	}
	if a.token != "" && validBearer(a.token, h.Get("Authorization")) {
		return nil
	}
	switch {
	case len(a.hmacSecret) > 0 && a.token != "":
		return errors.New("unauthenticated event: send X-Fnfleet-Signature: sha256=<HMAC-SHA256 of the body> or Authorization: Bearer <token>")
	case len(a.hmacSecret) > 0:
		return errors.New("unauthenticated event: send X-Fnfleet-Signature: sha256=<hex HMAC-SHA256 of the body with the shared secret>")
	default:
		return errors.New("unauthenticated event: send Authorization: Bearer <token>")
	}
}

func validSignature(secret []byte, header string, body []byte) bool {
	sig, ok := strings.CutPrefix(strings.TrimSpace(header), signaturePrefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
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
