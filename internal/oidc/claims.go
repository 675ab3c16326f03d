package oidc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evident-dev/evident/internal/evidence"
)

// DefaultAudience is the audience Fulcio expects in an identity token.
const DefaultAudience = "sigstore"

// MaxTokenSize bounds a token read from anywhere. Real identity tokens are
// a few kilobytes; anything this large is not one.
const MaxTokenSize = 64 << 10

// Claims are the claims of an identity token that evident looks at, read
// without verifying the token's signature.
type Claims struct {
	Issuer   string   // iss
	Subject  string   // sub
	Audience []string // aud: a JSON string or array of strings
	// Expiry (exp), NotBefore (nbf) and IssuedAt (iat) are zero when the
	// token does not carry them.
	Expiry    time.Time
	NotBefore time.Time
	IssuedAt  time.Time
}

// ParseUnverified splits a compact JWS (header.payload.signature) and
// decodes its payload's claims. It does not verify the signature, so the
// result must never decide trust: it only lets a caller report an expired
// token or a wrong audience before contacting Fulcio. iss must be present;
// the time claims must be numbers (NumericDate) when present. Errors are
// evidence.KindInvalid and never quote the token.
func ParseUnverified(token string) (*Claims, error) {
	if token == "" {
		return nil, evidence.Errorf(evidence.KindInvalid, "the OIDC token is empty")
	}
	if len(token) > MaxTokenSize {
		return nil, evidence.Errorf(evidence.KindInvalid, "the OIDC token is %d bytes, more than the %d-byte limit: not an identity token", len(token), MaxTokenSize)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, evidence.Errorf(evidence.KindInvalid, "the OIDC token is not a JWT: it has %d dot-separated parts, want 3 (header.payload.signature)", len(parts))
	}
	if _, err := decodeSegment(parts[0]); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "the OIDC token's header is not base64url: %v", err)
	}
	payload, err := decodeSegment(parts[1])
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "the OIDC token's payload is not base64url: %v", err)
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "the OIDC token's claims: %v", err)
	}
	return c, nil
}

// decodeSegment decodes one base64url part of a JWS. JWS leaves out the
// padding; a padded part is accepted too, as some issuers write one.
func decodeSegment(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("it is empty")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		// The error names a byte offset, never the content.
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("bad character at offset %d", int64(ce))
		}
		return nil, errors.New("malformed")
	}
	return b, nil
}

func decodeClaims(payload []byte) (*Claims, error) {
	if !utf8.Valid(payload) {
		return nil, errors.New("not valid UTF-8")
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		// A syntax error could quote part of the payload: say less.
		return nil, errors.New("not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the JSON object")
	}
	c := &Claims{}
	var err error
	if c.Issuer, err = stringClaim(raw, "iss"); err != nil {
		return nil, err
	}
	if c.Issuer == "" {
		return nil, errors.New("iss (issuer) is missing")
	}
	if c.Subject, err = stringClaim(raw, "sub"); err != nil {
		return nil, err
	}
	if c.Audience, err = audienceClaim(raw["aud"]); err != nil {
		return nil, err
	}
	for _, tc := range []struct {
		name string
		dst  *time.Time
	}{{"exp", &c.Expiry}, {"nbf", &c.NotBefore}, {"iat", &c.IssuedAt}} {
		if *tc.dst, err = timeClaim(raw, tc.name); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func stringClaim(raw map[string]json.RawMessage, name string) (string, error) {
	v, ok := raw[name]
	if !ok || string(v) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%s is not a string", name)
	}
	return s, nil
}

func audienceClaim(v json.RawMessage) ([]string, error) {
	if len(v) == 0 || string(v) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(v, &many); err != nil {
		return nil, errors.New("aud is neither a string nor an array of strings")
	}
	return many, nil
}

// timeClaim reads a NumericDate: seconds since the epoch, possibly with a
// fraction.
func timeClaim(raw map[string]json.RawMessage, name string) (time.Time, error) {
	v, ok := raw[name]
	if !ok || string(v) == "null" {
		return time.Time{}, nil
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		return time.Time{}, fmt.Errorf("%s is not a number of seconds since 1970", name)
	}
	// Beyond ±2^53 seconds a float64 is no longer exact and time.Unix
	// would overflow: no real token gets there.
	if math.IsNaN(f) || math.Abs(f) > 1<<53 {
		return time.Time{}, fmt.Errorf("%s is out of range", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// Check reports, as an evidence.KindUnauthorized error, why a token with
// these claims would be refused at time now: it expired (exp at or before
// now), it is not valid yet (nbf after now), or audience (DefaultAudience
// when "") is not among its audiences. A token without exp is accepted
// here; Fulcio decides.
func (c *Claims) Check(now time.Time, audience string) error {
	if audience == "" {
		audience = DefaultAudience
	}
	if !c.Expiry.IsZero() && !now.Before(c.Expiry) {
		return evidence.Errorf(evidence.KindUnauthorized,
			"the OIDC token expired at %s (%s ago); get a fresh one: CI tokens live only minutes, so request it right before signing",
			c.Expiry.UTC().Format(time.RFC3339), now.Sub(c.Expiry).Round(time.Second))
	}
	if !c.NotBefore.IsZero() && now.Before(c.NotBefore) {
		return evidence.Errorf(evidence.KindUnauthorized,
			"the OIDC token is not valid before %s (in %s); check this machine's clock",
			c.NotBefore.UTC().Format(time.RFC3339), c.NotBefore.Sub(now).Round(time.Second))
	}
	for _, a := range c.Audience {
		if a == audience {
			return nil
		}
	}
	got := "no audience"
	if len(c.Audience) > 0 {
		got = fmt.Sprintf("audience %s", quoteList(c.Audience))
	}
	return evidence.Errorf(evidence.KindUnauthorized,
		"the OIDC token is for %s, not %q: request it with audience %q (GitHub Actions: the audience parameter; GitLab: id_tokens with aud: %s)",
		got, audience, audience, audience)
}

func quoteList(ss []string) string {
	const maxShown = 5
	q := make([]string, 0, min(len(ss), maxShown))
	for i, s := range ss {
		if i == maxShown {
			q = append(q, fmt.Sprintf("and %d more", len(ss)-maxShown))
			break
		}
		q = append(q, fmt.Sprintf("%q", truncate(s, 100)))
	}
	return strings.Join(q, ", ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
