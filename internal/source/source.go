// Package source holds what the remote evidence sources (source/github,
// source/gitlab) share: retrying a request against a rate-limited or failing
// API, a token type that never prints itself, and turning an issue into an
// anomaly record.
//
// The sources read evidence at seal time; what they read is written into
// the release as an ordinary evidence file (an anomaly list, a change-review
// record), so verifying a release never needs the network.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/evidence"
)

// Secret is a credential. It formats as "[redacted]" under every verb and
// in JSON, so that it cannot reach a log line, an error or a record by
// accident; Reveal returns the value for the one place that sends it.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) String() string   { return "[redacted]" }
func (s Secret) GoString() string { return "[redacted]" }

// Format redacts under every verb, %x and %q included.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// MarshalJSON redacts.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Retry says how a source retries a request that failed in a way that may
// pass: a 5xx answer, 429, a rate limit, a broken connection. Waits double
// from Base up to Max; a wait the server asks for (Retry-After, a rate
// limit's reset time) is honoured instead, up to MaxWait. A server that
// asks for longer than MaxWait is not waited for at all: the request fails
// at once with an error saying when to try again, since waiting less than
// asked would only fail again. The zero value means the defaults.
type Retry struct {
	Attempts int           // tries per request, the first included (default 5)
	Base     time.Duration // first backoff (default 1s)
	Max      time.Duration // longest backoff (default 30s)
	MaxWait  time.Duration // longest server-requested wait honoured (default 2m)
	// Sleep waits d or until ctx is done (a timer by default); tests
	// inject one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
	Log   *slog.Logger
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 5
	}
	if r.Base <= 0 {
		r.Base = time.Second
	}
	if r.Max <= 0 {
		r.Max = 30 * time.Second
	}
	if r.MaxWait <= 0 {
		r.MaxWait = 2 * time.Minute
	}
	if r.Sleep == nil {
		r.Sleep = sleep
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	return r
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Verdict is a classifier's judgement of a failed call.
type Verdict struct {
	Retry bool
	// After is the wait the server asked for; zero means back off.
	After time.Duration
	// Until is when the server's limit resets, when it said (for messages).
	Until time.Time
	// Reason names the failure for logs and the final error: "HTTP 502",
	// "secondary rate limit".
	Reason string
}

// GaveUpError is returned when a call still fails after every attempt, or
// when the server asks for a longer wait than Retry.MaxWait.
type GaveUpError struct {
	What     string // "GET /repos/acme/fw/compare/v1...v2"
	Attempts int
	Reason   string
	Until    time.Time // when the server's limit resets, if it said
	Err      error     // the last failure
}

func (e *GaveUpError) Error() string {
	msg := fmt.Sprintf("%s: %s", e.What, e.Reason)
	if e.Attempts > 1 {
		msg += fmt.Sprintf(", %d attempts", e.Attempts)
	}
	if !e.Until.IsZero() {
		msg += fmt.Sprintf("; the limit resets at %s", e.Until.UTC().Format(time.RFC3339))
	}
	return msg
}

func (e *GaveUpError) Unwrap() error { return e.Err }

// Do runs call until it succeeds, fails in a way classify does not retry,
// or runs out of attempts. what names the request in messages.
func (r Retry) Do(ctx context.Context, what string, call func(ctx context.Context) error, classify func(error) Verdict) error {
	r = r.withDefaults()
	backoff := r.Base
	for attempt := 1; ; attempt++ {
		err := call(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		v := classify(err)
		if !v.Retry {
			return err
		}
		if v.After > r.MaxWait {
			return &GaveUpError{What: what, Attempts: attempt, Reason: fmt.Sprintf("%s; the server asks to wait %s, longer than evident waits (%s)", v.Reason, v.After.Round(time.Second), r.MaxWait), Until: v.Until, Err: err}
		}
		if attempt >= r.Attempts {
			return &GaveUpError{What: what, Attempts: attempt, Reason: "still failing: " + v.Reason, Until: v.Until, Err: err}
		}
		wait := backoff
		if v.After > 0 {
			wait = v.After
		}
		r.Log.Warn("retrying", "request", what, "reason", v.Reason, "wait", wait.String(), "attempt", attempt+1)
		if err := r.Sleep(ctx, wait); err != nil {
			return err
		}
		backoff = min(2*backoff, r.Max)
	}
}

// ClassifyHTTP judges an HTTP answer the way both GitHub and GitLab
// document theirs: 429 and 5xx are retried, after Retry-After when given,
// else after the rate limit's reset time (X-RateLimit-Reset or
// RateLimit-Reset, seconds since the epoch) when the answer says the limit
// is used up. A 403 with Retry-After or with no requests remaining is a
// rate limit too (GitHub's primary and secondary limits). Everything else
// is final.
func ClassifyHTTP(status int, h http.Header, now time.Time) Verdict {
	after, until := serverWait(h, now)
	limited := h.Get("X-RateLimit-Remaining") == "0" || h.Get("RateLimit-Remaining") == "0"
	switch {
	case status == http.StatusTooManyRequests:
		return Verdict{Retry: true, After: after, Until: until, Reason: "HTTP 429 (rate limited)"}
	case status == http.StatusForbidden && (h.Get("Retry-After") != "" || limited):
		return Verdict{Retry: true, After: after, Until: until, Reason: "HTTP 403 (rate limited)"}
	case status >= 500:
		return Verdict{Retry: true, After: after, Until: until, Reason: fmt.Sprintf("HTTP %d", status)}
	}
	return Verdict{}
}

// serverWait reads how long the server asks a client to wait.
func serverWait(h http.Header, now time.Time) (time.Duration, time.Time) {
	if ra := strings.TrimSpace(h.Get("Retry-After")); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, now.Add(time.Duration(s) * time.Second)
		}
		if t, err := http.ParseTime(ra); err == nil {
			return max(t.Sub(now), 0), t
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" || h.Get("RateLimit-Remaining") == "0" {
		for _, k := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
			if s, err := strconv.ParseInt(strings.TrimSpace(h.Get(k)), 10, 64); err == nil && s > 0 {
				t := time.Unix(s, 0)
				// A second more: the reset is rounded down to the second.
				return max(t.Sub(now), 0) + time.Second, t
			}
		}
	}
	return 0, time.Time{}
}

// Transient reports whether err is a network failure worth retrying: a
// refused or broken connection, a timeout, an answer cut short. A
// cancelled context is not.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// KindForStatus maps an HTTP status from a source's API to an error kind.
func KindForStatus(status int) evidence.Kind {
	switch status {
	case http.StatusUnauthorized:
		return evidence.KindUnauthorized
	case http.StatusForbidden:
		return evidence.KindForbidden
	case http.StatusNotFound:
		return evidence.KindNotFound
	}
	return evidence.KindInvalid
}
