package backfill

import (
	"context"
	"errors"
	"time"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/rs/zerolog"
)

// How many times a read or a PR is tried again after a transient failure
// (5xx, a dropped connection), and after a rate limit.
const (
	DefaultMaxRetries   = 4
	maxRateLimitRetries = 10
	maxBackoff          = time.Minute
)

// classify says whether err is worth retrying and how long to wait first,
// by the one classifier every driver uses; an exhausted GraphQL budget
// waits for the reset the governor last saw.
func (g *Governor) classify(err error, inst int64) ghapi.Class {
	if errors.Is(err, ErrMaxWrites) {
		return ghapi.Class{Kind: ghapi.Permanent}
	}
	now := g.opts.Now()
	c := ghapi.Classify(err, now)
	if c.Kind == ghapi.Limited && c.Wait == 0 {
		c.Wait = ghapi.SecondaryDefaultWait
		if b, ok := g.Budget(inst, ResourceGraphQL); ok && b.Reset.After(now) {
			c.Wait = b.Reset.Sub(now) + time.Second
		}
	}
	return c
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
		c := g.classify(err, inst)
		wait := c.Wait
		switch c.Kind {
		case ghapi.Limited:
			limits++
			if limits > maxRateLimitRetries {
				return attempt, err
			}
			g.Pause(inst, g.opts.Now().Add(wait))
		case ghapi.Transient:
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
