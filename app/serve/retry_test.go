package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

func TestMergeTriggers(t *testing.T) {
	pr := func(sha string, updated time.Time) *plan.PRInfo {
		return &plan.PRInfo{HeadSHA: sha, UpdatedAt: updated}
	}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	old, newer := pr("aaa", t0), pr("bbb", t0.Add(time.Minute))
	type trig = reconcile.Trigger
	tests := []struct {
		name     string
		old, new trig
		wantPR   *plan.PRInfo
	}{
		{"a payload beats none", trig{}, trig{PR: newer}, newer},
		{"an event without payload keeps the queued one", trig{PR: old}, trig{Event: "status"}, old},
		{"the newer payload wins when it comes last", trig{PR: old}, trig{PR: newer}, newer},
		{"an older payload delivered late loses", trig{PR: newer}, trig{PR: old}, newer},
		{"two heads of the same age: read the PR", trig{PR: old}, trig{PR: pr("ccc", t0)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeTriggers(tt.old, tt.new); got.PR != tt.wantPR {
				t.Errorf("kept %+v, want %+v", got.PR, tt.wantPR)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	wait := 42 * time.Second
	answer := func(code int, h ...string) *github.ErrorResponse {
		r := &http.Response{StatusCode: code, Header: http.Header{}, Request: &http.Request{Method: "GET", URL: &url.URL{}}}
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		return &github.ErrorResponse{Response: r}
	}
	tests := []struct {
		name    string
		err     error
		attempt int
		want    time.Duration
		retry   bool
	}{
		{"5xx backs off from 30s", answer(502), 0, 30 * time.Second, true},
		{"and doubles", answer(502), 2, 2 * time.Minute, true},
		{"up to 10 minutes", answer(503), 4, 8 * time.Minute, true},
		{"then gives up", answer(502), MaxRetries, 0, false},
		{"rate limit waits for the reset", fmt.Errorf("read: %w", &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: now.Add(20 * time.Minute)}}}), 0, 20*time.Minute + time.Second, true},
		{"secondary limit waits as told", &github.AbuseRateLimitError{RetryAfter: &wait}, 1, wait, true},
		{"429 waits for its retry-after", answer(429, "Retry-After", "7"), 0, 7 * time.Second, true},
		{"a 404 is not retried", answer(404), 0, 0, false},
		{"a 422 is not retried", answer(422), 0, 0, false},
		{"a cancelled context is not retried", fmt.Errorf("x: %w", context.Canceled), 0, 0, false},
		{"a reconcile timeout is", fmt.Errorf("x: %w", context.DeadlineExceeded), 0, 30 * time.Second, true},
		{"nor a bad rule file", errors.New(".github/fix-status.yml: line 3: unknown key"), 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := retryAfter(tt.err, tt.attempt, now, 30*time.Second)
			if got != tt.want || ok != tt.retry {
				t.Errorf("got %s %v, want %s %v", got, ok, tt.want, tt.retry)
			}
		})
	}
}
