package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestMergeTriggers(t *testing.T) {
	pr := func(sha string, updated time.Time) *github.PullRequest {
		return &github.PullRequest{Head: &github.PullRequestBranch{SHA: github.String(sha)}, UpdatedAt: &github.Timestamp{Time: updated}}
	}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	old, newer := pr("aaa", t0), pr("bbb", t0.Add(time.Minute))
	tests := []struct {
		name     string
		old, new Trigger
		wantPR   *github.PullRequest
	}{
		{"a payload beats none", Trigger{}, Trigger{PR: newer}, newer},
		{"an event without payload keeps the queued one", Trigger{PR: old}, Trigger{Event: "status"}, old},
		{"the newer payload wins when it comes last", Trigger{PR: old}, Trigger{PR: newer}, newer},
		{"an older payload delivered late loses", Trigger{PR: newer}, Trigger{PR: old}, newer},
		{"two heads of the same age: read the PR", Trigger{PR: old}, Trigger{PR: pr("ccc", t0)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeTriggers(tt.old, tt.new); got.PR != tt.wantPR {
				t.Errorf("kept %v, want %v", got.PR.GetHead().GetSHA(), tt.wantPR.GetHead().GetSHA())
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	wait := 42 * time.Second
	tests := []struct {
		name    string
		err     error
		attempt int
		want    time.Duration
		retry   bool
	}{
		{"5xx backs off from 30s", errors.New("502 Bad Gateway"), 0, 30 * time.Second, true},
		{"and doubles", errors.New("502"), 2, 2 * time.Minute, true},
		{"up to 10 minutes", errors.New("502"), 4, 8 * time.Minute, true},
		{"then gives up", errors.New("502"), MaxRetries, 0, false},
		{"rate limit waits for the reset", fmt.Errorf("read: %w", &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: now.Add(20 * time.Minute)}}}), 0, 20 * time.Minute, true},
		{"secondary limit waits as told", &github.AbuseRateLimitError{RetryAfter: &wait}, 1, wait, true},
		{"429 waits for its retry-after", &github.ErrorResponse{Response: &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"7"}}}}, 0, 7 * time.Second, true},
		{"a cancelled context is not retried", fmt.Errorf("x: %w", context.Canceled), 0, 0, false},
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
