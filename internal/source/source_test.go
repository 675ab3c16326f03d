package source_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/source"
)

func TestClassifyHTTP(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
		retry  bool
		after  time.Duration
	}{
		{"ok is final", 200, nil, false, 0},
		{"404 is final", 404, nil, false, 0},
		{"401 is final", 401, nil, false, 0},
		{"403 without a limit is final", 403, nil, false, 0},
		{"502 backs off", 502, nil, true, 0},
		{"429 with Retry-After", 429, map[string]string{"Retry-After": "12"}, true, 12 * time.Second},
		{"429 with an HTTP date", 429, map[string]string{"Retry-After": now.Add(time.Minute).UTC().Format(http.TimeFormat)}, true, time.Minute},
		{"403 secondary limit", 403, map[string]string{"Retry-After": "60"}, true, time.Minute},
		{"403 primary limit waits for the reset", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(now.Unix() + 30)}, true, 31 * time.Second},
		{"GitLab's RateLimit-Reset", 429, map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": fmt.Sprint(now.Unix() + 5)}, true, 6 * time.Second},
		{"a reset in the past", 429, map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": fmt.Sprint(now.Unix() - 5)}, true, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			v := source.ClassifyHTTP(tc.status, h, now)
			if v.Retry != tc.retry || v.After != tc.after {
				t.Errorf("got retry %t after %s, want %t %s", v.Retry, v.After, tc.retry, tc.after)
			}
		})
	}
}

func TestRetryDo(t *testing.T) {
	var waits []time.Duration
	r := source.Retry{Attempts: 4, Base: time.Second, Max: 3 * time.Second, Sleep: func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}}
	retryable := func(error) source.Verdict { return source.Verdict{Retry: true, Reason: "HTTP 503"} }
	calls := 0
	err := r.Do(context.Background(), "GET /x", func(context.Context) error { calls++; return errors.New("503") }, retryable)
	var gu *source.GaveUpError
	if !errors.As(err, &gu) || calls != 4 || fmt.Sprint(waits) != "[1s 2s 3s]" {
		t.Errorf("err %v, %d calls, waits %v; want a GaveUpError after 4 calls, waits [1s 2s 3s]", err, calls, waits)
	}
	if !strings.Contains(err.Error(), "GET /x: still failing: HTTP 503, 4 attempts") {
		t.Errorf("message %q", err)
	}

	// A final error passes through at once.
	final := errors.New("404")
	calls = 0
	err = r.Do(context.Background(), "GET /y", func(context.Context) error { calls++; return final }, func(error) source.Verdict { return source.Verdict{} })
	if err != final || calls != 1 {
		t.Errorf("err %v after %d calls, want the error after 1", err, calls)
	}

	// A cancelled wait ends the retry with the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	r.Sleep = func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }
	err = r.Do(ctx, "GET /z", func(context.Context) error { return errors.New("503") }, retryable)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

func TestTransient(t *testing.T) {
	if source.Transient(context.Canceled) || source.Transient(errors.New("x")) || !source.Transient(io.ErrUnexpectedEOF) {
		t.Error("Transient misjudges")
	}
	_, err := http.Get("http://127.0.0.1:1/") // nothing listens on port 1
	if !source.Transient(err) {
		t.Errorf("a refused connection is not transient: %v", err)
	}
}

func TestSecret(t *testing.T) {
	s := source.Secret("hunter2")
	b, _ := json.Marshal(map[string]any{"t": s})
	out := fmt.Sprintf("%v %s %q %x %+v %#v %d", s, s, s, s, s, s, s) + string(b)
	if strings.Contains(out, "hunter2") {
		t.Errorf("the secret shows: %s", out)
	}
	if s.Reveal() != "hunter2" || !s.IsSet() || source.Secret("").IsSet() {
		t.Error("Reveal or IsSet")
	}
}

func TestIssueAnomaliesDuplicateID(t *testing.T) {
	body := "```yaml\nid: ANOM-1\nkind: defect\n```"
	_, err := source.IssueAnomalies([]source.Issue{{Number: 2, Title: "a", Body: body}, {Number: 1, Title: "b", Body: body, URL: "https://x/1"}}, "GH-")
	if err == nil || !strings.Contains(err.Error(), "issue #2: anomaly id ANOM-1 is also issue #1's") {
		t.Errorf("err %v", err)
	}
}

func TestEncodeAnomalyListEmpty(t *testing.T) {
	b, err := source.EncodeAnomalyList(nil)
	if err != nil || strings.TrimSpace(string(b)) != "{\n  \"anomalies\": []\n}" {
		t.Errorf("%q %v", b, err)
	}
}
