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

	"github.com/fix-status/fix-status/app/ghapi"
)

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
			got, ok := retryAfter(ghapi.Classify(tt.err, now), tt.attempt, 30*time.Second)
			if got != tt.want || ok != tt.retry {
				t.Errorf("got %s %v, want %s %v", got, ok, tt.want, tt.retry)
			}
		})
	}
	// From 30s the last attempt waits 8 minutes; a longer first wait meets
	// the bound.
	if got, ok := retryAfter(ghapi.Classify(answer(502), now), MaxRetries-1, 2*time.Minute); got != maxBackoff || !ok {
		t.Errorf("the backoff from 2m at attempt %d: %s %v, want %s", MaxRetries-1, got, ok, maxBackoff)
	}
}
