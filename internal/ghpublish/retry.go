package ghpublish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry says how requests that GitHub answered with a transient failure
// are repeated: 5xx, 429, a secondary rate limit (403 with Retry-After or
// that message), a primary rate limit that resets soon, and network errors.
type Retry struct {
	// Attempts is how often a request is sent at most (5 when 0).
	Attempts int
	// Backoff is the first wait; it doubles with every attempt, with
	// jitter (1 s when 0).
	Backoff time.Duration
	// MaxWait bounds one wait, also one that GitHub asked for with
	// Retry-After or a rate limit reset; a longer one is not waited for
	// (60 s when 0).
	MaxWait time.Duration
	// Sleep waits (tests make it instant); it returns early with
	// ctx.Err().
	Sleep func(ctx context.Context, d time.Duration) error
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 5
	}
	if r.Backoff <= 0 {
		r.Backoff = time.Second
	}
	if r.MaxWait <= 0 {
		r.MaxWait = time.Minute
	}
	if r.Sleep == nil {
		r.Sleep = sleep
	}
	return r
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TransientError is returned when GitHub still failed after every attempt,
// or asked for a wait longer than Retry.MaxWait.
type TransientError struct {
	Method, URL string
	Attempts    int
	// Status is the last HTTP status (0 after a network error); Message
	// GitHub's message or the network error.
	Status  int
	Message string
	// RateLimited says GitHub refused for a rate limit; Reset is when the
	// primary limit resets, when GitHub said so.
	RateLimited bool
	Reset       time.Time
}

func (e *TransientError) Error() string {
	what := fmt.Sprintf("HTTP %d %s", e.Status, e.Message)
	switch {
	case e.Status == 0:
		return fmt.Sprintf("GitHub API unreachable: %s %s failed %d times, last with: %s; check GITHUB_API_URL and the network, or re-run the job later",
			e.Method, e.URL, e.Attempts, e.Message)
	case e.RateLimited && !e.Reset.IsZero():
		return fmt.Sprintf("GitHub API rate limit exhausted for this token until %s (%s): retry after that, or use a token with a higher limit",
			e.Reset.UTC().Format(time.RFC3339), what)
	case e.RateLimited:
		return fmt.Sprintf("GitHub API rate limit still exceeded after %d attempts (%s): retry later", e.Attempts, what)
	}
	return fmt.Sprintf("GitHub API failing: %s %s answered %s to %d attempts; GitHub may be having an outage, re-run the job later",
		e.Method, e.URL, what, e.Attempts)
}

// retryTransport repeats requests that failed transiently. It sits below
// go-github, which so sees only the final answer: its own rate-limit
// bookkeeping never turns a retry into an immediate refusal.
type retryTransport struct {
	next  http.RoundTripper
	retry Retry
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := t.retry
	ctx := req.Context()
	var last *TransientError
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			if req.Body != nil && req.GetBody == nil {
				return nil, last // the body cannot be sent again
			}
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				req = req.Clone(ctx)
				req.Body = body
			}
		}
		resp, err := t.next.RoundTrip(req)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			last = &TransientError{Method: req.Method, URL: redact(req), Attempts: attempt, Message: err.Error()}
		default:
			te, w, retryable := classify(req, resp, attempt)
			if !retryable {
				return resp, nil
			}
			last, wait = te, w
		}
		if last.RateLimited && !last.Reset.IsZero() && wait > r.MaxWait {
			return nil, last // not waiting an hour in a CI job
		}
		if attempt >= r.Attempts {
			return nil, last
		}
		if wait == 0 {
			wait = r.Backoff << (attempt - 1)
			wait += time.Duration(rand.Int64N(int64(wait)/4 + 1))
		}
		wait = min(wait, r.MaxWait)
		if err := r.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// classify decides whether resp is a transient failure. For one it reads
// and closes the body, and returns the wait GitHub asked for (0: back off).
func classify(req *http.Request, resp *http.Response, attempt int) (*TransientError, time.Duration, bool) {
	code := resp.StatusCode
	if code < 400 || (code != http.StatusForbidden && code != http.StatusTooManyRequests && code < 500) {
		return nil, 0, false
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	// The body goes back for go-github to parse, should the response be
	// final after all.
	resp.Body = io.NopCloser(bytes.NewReader(body))
	msg := message(body)
	te := &TransientError{Method: req.Method, URL: redact(req), Attempts: attempt, Status: code, Message: msg}

	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"))
	primary := resp.Header.Get("X-Ratelimit-Remaining") == "0"
	secondary := strings.Contains(strings.ToLower(msg), "secondary rate limit") || strings.Contains(strings.ToLower(msg), "abuse")
	switch {
	case code >= 500:
		return te, retryAfter, true
	case primary:
		te.RateLimited = true
		if s, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
			te.Reset = time.Unix(s, 0)
			if retryAfter == 0 {
				retryAfter = max(time.Until(te.Reset)+time.Second, time.Second)
			}
		}
		return te, retryAfter, true
	case code == http.StatusTooManyRequests || secondary || retryAfter > 0:
		te.RateLimited = true
		return te, retryAfter, true
	}
	// A 403 that is not a rate limit is a permission problem: final.
	return nil, 0, false
}

// message returns GitHub's error message from a JSON error body, or the
// body's first line.
func message(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	s, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// redact is the request's URL without its query (upload URLs carry only
// the asset name, but a query is no place to look for in an error).
func redact(req *http.Request) string {
	u := *req.URL
	u.RawQuery = ""
	u.User = nil
	return u.String()
}

// asTransient finds a TransientError in err.
func asTransient(err error) (*TransientError, bool) {
	var te *TransientError
	ok := errors.As(err, &te)
	return te, ok
}
