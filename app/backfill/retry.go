package backfill

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"
)

// How many times a read or a PR is tried again after a transient failure
// (5xx, a dropped connection), and after a rate limit.
const (
	DefaultMaxRetries   = 4
	maxRateLimitRetries = 10
	// secondaryDefaultWait is GitHub's advice for a secondary limit without
	// retry-after: wait at least a minute.
	secondaryDefaultWait = time.Minute
	maxBackoff           = time.Minute
)

type errKind int

const (
	permanent errKind = iota
	transient
	limited
)

// classify says whether err is worth retrying and how long to wait first.
func (g *Governor) classify(err error, inst int64) (errKind, time.Duration) {
	now := g.opts.Now()
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		if d := abuse.GetRetryAfter(); d > 0 {
			return limited, d
		}
		return limited, secondaryDefaultWait
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return limited, max(rl.Rate.Reset.Sub(now)+time.Second, time.Second)
	}
	// A 429, or a 403 with retry-after, that go-github does not recognise
	// as a secondary limit (it only knows GitHub's 403 with the secondary
	// limit's documentation link).
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		code := er.Response.StatusCode
		if code == http.StatusTooManyRequests || code == http.StatusForbidden {
			if secs, perr := strconv.Atoi(er.Response.Header.Get("Retry-After")); perr == nil {
				return limited, time.Duration(secs) * time.Second
			}
			if code == http.StatusTooManyRequests {
				return limited, secondaryDefaultWait
			}
		}
	}
	var he *HTTPError
	if errors.As(err, &he) {
		switch {
		case he.RetryAfter > 0 && (he.StatusCode == http.StatusForbidden || he.StatusCode == http.StatusTooManyRequests):
			return limited, he.RetryAfter
		case he.StatusCode == http.StatusTooManyRequests || strings.Contains(he.Message, "secondary rate limit"):
			return limited, secondaryDefaultWait
		case he.StatusCode >= 500:
			return transient, 0
		}
		return permanent, 0
	}
	// GitHub answers an exhausted GraphQL budget with 200 and a RATE_LIMITED
	// error, which githubv4 turns into its message.
	if strings.Contains(err.Error(), "API rate limit exceeded") {
		if b, ok := g.Budget(inst, ResourceGraphQL); ok && b.Reset.After(now) {
			return limited, b.Reset.Sub(now) + time.Second
		}
		return limited, secondaryDefaultWait
	}
	if errors.Is(err, ErrMaxWrites) {
		return permanent, 0
	}
	if anyLeaf(err, isTransient) {
		return transient, 0
	}
	return permanent, 0
}

// isTransient: a 5xx answer or a network failure.
func isTransient(err error) bool {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode >= 500
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// anyLeaf reports whether f holds for any error in err's tree (a reconcile
// joins the errors of its writes).
func anyLeaf(err error, f func(error) bool) bool {
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			if anyLeaf(x, f) {
				return true
			}
		}
		return false
	default:
		return f(err)
	}
}

// retry calls fn until it succeeds, fails for good, or the retries are
// spent: after a rate limit it waits as GitHub said (and pauses the whole
// installation, so other workers wait too); after a transient failure it
// backs off exponentially. attempt counts from 0.
func (g *Governor) retry(ctx context.Context, inst int64, maxRetries int, what string, fn func(attempt int) error) (int, error) {
	transients, limits := 0, 0
	for attempt := 0; ; attempt++ {
		err := fn(attempt)
		if err == nil {
			return attempt, nil
		}
		if ctx.Err() != nil {
			return attempt, ctx.Err()
		}
		kind, wait := g.classify(err, inst)
		switch kind {
		case limited:
			limits++
			if limits > maxRateLimitRetries {
				return attempt, err
			}
			g.Pause(inst, g.opts.Now().Add(wait))
		case transient:
			transients++
			if transients > maxRetries {
				return attempt, err
			}
			wait = min(time.Second<<(transients-1), maxBackoff)
		default:
			return attempt, err
		}
		zerolog.Ctx(ctx).Warn().Err(err).Str("what", what).Dur("wait", wait).Int("attempt", attempt+1).Msg("retrying")
		if err := g.opts.Sleep(ctx, wait); err != nil {
			return attempt, err
		}
	}
}
