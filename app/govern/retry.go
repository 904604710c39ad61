package govern

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/ghapi"
)

// How many times Retry tries again after a transient failure (5xx, a
// dropped connection), and after a rate limit; the longest backoff.
const (
	DefaultMaxRetries   = 4
	maxRateLimitRetries = 10
	maxBackoff          = time.Minute
)

// FullJitter picks a wait uniformly in [0, d]: retries of many workers
// spread out instead of arriving together.
func FullJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// Classify says whether err is worth retrying and how long to wait first,
// by the one classifier every driver uses (ghapi.Classify), with what the
// governor knows: a write past MaxWrites is final, and an exhausted GraphQL
// budget (whose answer does not say when it resets) waits for the reset
// the governor last saw.
func (g *Governor) Classify(err error, inst int64) ghapi.Class {
	if errors.Is(err, ErrMaxWrites) || errors.Is(err, ErrNoLedger) {
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

// Retry calls fn until it succeeds, fails for good, or the retries are
// spent, and returns the number of the last attempt (from 0). After a rate
// limit it pauses the whole installation for as long as GitHub said (so
// that other workers wait too) and waits that long plus up to a tenth
// more; after a transient failure it backs off exponentially with full
// jitter, up to MaxRetries times.
func (g *Governor) Retry(ctx context.Context, inst int64, what string, fn func(attempt int) error) (int, error) {
	transients, limits := 0, 0
	for attempt := 0; ; attempt++ {
		err := fn(attempt)
		if err == nil {
			return attempt, nil
		}
		if ctx.Err() != nil {
			return attempt, ctx.Err()
		}
		c := g.Classify(err, inst)
		var wait time.Duration
		switch c.Kind {
		case ghapi.Limited:
			limits++
			if limits > maxRateLimitRetries {
				return attempt, err
			}
			g.Pause(inst, g.opts.Now().Add(c.Wait))
			wait = c.Wait + g.opts.Jitter(c.Wait/10)
		case ghapi.Transient:
			transients++
			if transients > g.opts.MaxRetries {
				return attempt, err
			}
			wait = g.opts.Jitter(min(time.Second<<(transients-1), maxBackoff))
		default:
			return attempt, err
		}
		zerolog.Ctx(ctx).Warn().Err(err).Str("what", what).Dur("wait", wait).Int("attempt", attempt+1).Msg("retrying")
		if err := g.opts.Sleep(ctx, wait); err != nil {
			return attempt, err
		}
	}
}
