package ghapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// Kind says what a failed call to GitHub calls for.
type Kind int

// The kinds of failure.
const (
	// Permanent: trying again gets the same answer (a 4xx that is not a
	// rate limit, an invalid request, a cancelled context).
	Permanent Kind = iota
	// Transient: a 5xx answer or a network failure; try again with
	// backoff.
	Transient
	// Limited: a primary or secondary rate limit; try again after Wait.
	Limited
)

func (k Kind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Limited:
		return "limited"
	}
	return "permanent"
}

// SecondaryDefaultWait is GitHub's advice for a secondary rate limit answered
// without retry-after: wait at least a minute.
const SecondaryDefaultWait = time.Minute

// Class is what Classify says of an error.
type Class struct {
	Kind Kind
	// Wait, for Limited, is how long GitHub said to wait (the rate limit's
	// reset, retry-after, or SecondaryDefaultWait). It is 0 for an
	// exhausted GraphQL budget, whose reset the answer does not carry: the
	// caller knows it from the last x-ratelimit-reset it saw.
	Wait time.Duration
}

// HTTPError is a GraphQL request answered with an HTTP error: githubv4
// reduces those to a string, so the transport keeps the status and
// retry-after for Classify.
type HTTPError struct {
	StatusCode int
	RetryAfter time.Duration
	Message    string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("GraphQL request failed: %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Classify says whether a failed call to GitHub is worth trying again, and
// when. It is the one classifier of every driver (serve, backfill), so they
// agree on what GitHub's answers mean. An error joining several (a reconcile
// joins the errors of its writes) is transient when any part is.
func Classify(err error, now time.Time) Class {
	if err == nil || errors.Is(err, context.Canceled) {
		return Class{Kind: Permanent}
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		if d := abuse.GetRetryAfter(); d > 0 {
			return Class{Limited, d}
		}
		return Class{Limited, SecondaryDefaultWait}
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return Class{Limited, max(rl.Rate.Reset.Sub(now)+time.Second, time.Second)}
	}
	// A 429, or a 403 with retry-after, that go-github does not recognise
	// as a secondary limit (it knows only GitHub's 403 that links the
	// secondary limits' documentation).
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		if c, ok := limitedAnswer(er.Response.StatusCode, retryAfter(er.Response.Header), er.Message); ok {
			return c
		}
	}
	var he *HTTPError
	if errors.As(err, &he) {
		if c, ok := limitedAnswer(he.StatusCode, he.RetryAfter, he.Message); ok {
			return c
		}
		if he.StatusCode >= 500 {
			return Class{Kind: Transient}
		}
		return Class{Kind: Permanent}
	}
	// GitHub answers an exhausted GraphQL budget with 200 and a RATE_LIMITED
	// error, which githubv4 turns into its message.
	if strings.Contains(err.Error(), "API rate limit exceeded") {
		return Class{Limited, 0}
	}
	if anyLeaf(err, isTransient) {
		return Class{Kind: Transient}
	}
	return Class{Kind: Permanent}
}

func retryAfter(h http.Header) time.Duration {
	if secs, err := strconv.Atoi(h.Get("Retry-After")); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	return -1
}

// limitedAnswer: 429 is always a limit; a 403 is one when it says when to
// retry or names the secondary limit.
func limitedAnswer(code int, retry time.Duration, msg string) (Class, bool) {
	switch {
	case (code == http.StatusForbidden || code == http.StatusTooManyRequests) && retry >= 0:
		return Class{Limited, max(retry, time.Second)}, true
	case code == http.StatusTooManyRequests, code == http.StatusForbidden && strings.Contains(msg, "secondary rate limit"):
		return Class{Limited, SecondaryDefaultWait}, true
	}
	return Class{}, false
}

// isTransient: a 5xx answer or a network failure (a timeout, a refused or
// dropped connection).
func isTransient(err error) bool {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode >= 500
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// A client-side stop (a limit of fix-status's own, a cancelled
		// request) wrapped by net/http is not GitHub's failure.
		return !errors.Is(ue.Err, context.Canceled) && isTransient(ue.Err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, context.DeadlineExceeded)
}

// anyLeaf reports whether f holds for err or for any error in its tree:
// errors.As stops at the first match, and of two joined write errors the
// second may be the transient one.
func anyLeaf(err error, f func(error) bool) bool {
	if e, ok := err.(interface{ Unwrap() []error }); ok {
		for _, x := range e.Unwrap() {
			if anyLeaf(x, f) {
				return true
			}
		}
		return false
	}
	if f(err) {
		return true
	}
	if w := errors.Unwrap(err); w != nil {
		return anyLeaf(w, f)
	}
	return false
}

// IsAPIError reports whether err came from talking to GitHub (an error
// answer, a rate limit, a network failure) rather than from what was read:
// a failed read is worth trying again, a bad file is not.
func IsAPIError(err error) bool {
	if err == nil {
		return false
	}
	var (
		ge *github.ErrorResponse
		rl *github.RateLimitError
		ab *github.AbuseRateLimitError
		ue *url.Error
		he *HTTPError
	)
	return errors.As(err, &ge) || errors.As(err, &rl) || errors.As(err, &ab) || errors.As(err, &ue) || errors.As(err, &he)
}
