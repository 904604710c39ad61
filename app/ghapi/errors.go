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
	// Permission, for a Permanent refusal for lack of a permission (see
	// PermissionError), is what GitHub said the endpoint accepts, e.g.
	// "administration=read".
	Permission string
}

// HTTPError is a GraphQL request answered with an HTTP error: githubv4
// reduces those to a string, so the transport keeps the status and
// retry-after for Classify.
type HTTPError struct {
	StatusCode int
	// RetryAfter is the answer's Retry-After, negative without one (as
	// RetryAfter gives it): 0 would say "retry at once".
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
			return Class{Kind: Limited, Wait: d}
		}
		return Class{Kind: Limited, Wait: SecondaryDefaultWait}
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return Class{Kind: Limited, Wait: max(rl.Rate.Reset.Sub(now)+time.Second, time.Second)}
	}
	// A 429, or a 403 with retry-after, that go-github does not recognise
	// as a secondary limit (it knows only GitHub's 403 that links the
	// secondary limits' documentation).
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		if c, ok := limitedAnswer(er.Response.StatusCode, RetryAfter(er.Response.Header), er.Message); ok {
			return c
		}
	}
	if pe := AsPermissionError(err); pe != nil {
		// Until someone grants it, the answer stays the same.
		return Class{Kind: Permanent, Permission: pe.Accepted}
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
		return Class{Kind: Limited}
	}
	if anyLeaf(err, isTransient) {
		return Class{Kind: Transient}
	}
	return Class{Kind: Permanent}
}

// RetryAfter is an answer's Retry-After in seconds, or -1 without one.
func RetryAfter(h http.Header) time.Duration {
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
		return Class{Kind: Limited, Wait: max(retry, time.Second)}, true
	case code == http.StatusTooManyRequests, code == http.StatusForbidden && strings.Contains(msg, "secondary rate limit"):
		return Class{Kind: Limited, Wait: SecondaryDefaultWait}, true
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

// AcceptedPermissionsHeader is where GitHub names, on its answers to an app,
// the permissions an endpoint accepts: sets separated by "; ", any one of
// which allows the call, each a list of name=level joined by ",".
const AcceptedPermissionsHeader = "X-Accepted-GitHub-Permissions"

// PermissionError is a call GitHub refused because the app's installation
// lacks a permission: a 403 "Resource not accessible by integration" that
// names in X-Accepted-GitHub-Permissions what the endpoint accepts. The
// header comes with every answer of such an endpoint, so a 404 that carries
// it ("Branch not protected") is no refusal; and a 403 for another reason
// (a feature the plan lacks) names no missing permission. Trying again gets
// the same answer until someone grants the permission in the app's
// settings and the installation accepts it.
type PermissionError struct {
	// Accepted is the header as GitHub sent it, e.g. "administration=read".
	Accepted string
	// Endpoint is the refused call: method and path, e.g.
	// "GET /repos/o/r/branches/main/protection/required_status_checks".
	Endpoint string
	// Denied says, for people, what cannot be done without it, e.g.
	// "classic branch protection cannot be read".
	Denied string
	Err    error
}

// Error says what to do, short enough for a status description (140
// characters) after "cannot read the job rules: "; Endpoint says where.
func (e *PermissionError) Error() string {
	msg := "permission missing: " + e.Permission() + "; grant it in the app's settings"
	if e.Denied != "" {
		return e.Denied + ": " + msg
	}
	return msg + " (" + e.Endpoint + " answered 403)"
}

func (e *PermissionError) Unwrap() error { return e.Err }

// Permission is what to grant, for people: the accepted sets, "or" between
// alternatives ("issues=write or pull_requests=write").
func (e *PermissionError) Permission() string {
	return strings.ReplaceAll(e.Accepted, "; ", " or ")
}

// AsPermissionError finds the refusal for lack of a permission in err: a
// PermissionError a reader made, or GitHub's answer itself (then Denied is
// empty). It returns nil for any other error.
func AsPermissionError(err error) *PermissionError {
	var pe *PermissionError
	if errors.As(err, &pe) {
		return pe
	}
	return permissionError(err, "")
}

// permissionError makes a PermissionError of GitHub's refusal (nil for any
// other error); denied says what the refused call would have done.
func permissionError(err error, denied string) *PermissionError {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusForbidden ||
		!strings.HasPrefix(er.Message, "Resource not accessible by") {
		return nil
	}
	accepted := strings.TrimSpace(er.Response.Header.Get(AcceptedPermissionsHeader))
	if accepted == "" {
		return nil
	}
	endpoint := ""
	if req := er.Response.Request; req != nil && req.URL != nil {
		endpoint = req.Method + " " + req.URL.Path
	}
	return &PermissionError{Accepted: accepted, Endpoint: endpoint, Denied: denied, Err: err}
}
