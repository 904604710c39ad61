package govern

import (
	"context"
	"sync"
)

type ctxKey int

const (
	backgroundKey ctxKey = iota
	prDataKey
	noCacheKey
	ledgerKey
)

// Background marks ctx's requests as background work (a sweep, a
// backfill): they leave every installation's reserve to the foreground
// (webhooks, commands), pausing while the remaining budget is below it.
// Foreground requests go on until the budget is spent.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey, true)
}

func isBackground(ctx context.Context) bool { v, _ := ctx.Value(backgroundKey).(bool); return v }

// WithPRData marks ctx's requests as reads of PR data (lists, files,
// results), counted apart in the Stats from the rest (branch rules, the
// reconciler's extras).
func WithPRData(ctx context.Context) context.Context {
	return context.WithValue(ctx, prDataKey, true)
}

func isPRData(ctx context.Context) bool { v, _ := ctx.Value(prDataKey).(bool); return v }

// WithoutCache keeps ctx's GET responses out of the HTTP cache: data read
// once (a backfill reads each PR once) would only hold memory there.
func WithoutCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, noCacheKey, true)
}

func isNoCache(ctx context.Context) bool { v, _ := ctx.Value(noCacheKey).(bool); return v }

// WithWriteLedger gives ctx a ledger of writes paced ahead of time by
// Governor.PaceWrite: a write request made with ctx takes its pacing from
// there instead of being paced again. Give every reconcile one (a ledger
// left with credit when the write guard stops the writes costs nothing
// more).
func WithWriteLedger(ctx context.Context) context.Context {
	if ledgerFrom(ctx) != nil {
		return ctx
	}
	return context.WithValue(ctx, ledgerKey, &ledger{paid: map[int64]int{}})
}

// ledger counts, per installation, the writes paced but not yet sent.
type ledger struct {
	mu   sync.Mutex
	paid map[int64]int
}

func ledgerFrom(ctx context.Context) *ledger { l, _ := ctx.Value(ledgerKey).(*ledger); return l }

func (l *ledger) add(inst int64) {
	l.mu.Lock()
	l.paid[inst]++
	l.mu.Unlock()
}

// take spends one paced write of inst, if there is one.
func (l *ledger) take(inst int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.paid[inst] == 0 {
		return false
	}
	l.paid[inst]--
	return true
}
