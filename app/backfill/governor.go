package backfill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/gregjones/httpcache"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// GitHub's rate-limit buckets, as x-ratelimit-resource names them.
const (
	ResourceCore    = "core"
	ResourceGraphQL = "graphql"
)

// GitHub's limits (docs/github.md): at most 100 concurrent requests; about 80
// content-creating requests per minute and 500 per hour.
const (
	MaxConcurrency         = 100
	DefaultWritesPerMinute = 80
	DefaultWritesPerHour   = 500
	DefaultReserve         = 500
)

// GovernorOptions configure a Governor.
type GovernorOptions struct {
	// ReserveCore and ReserveGraphQL are left to the webhook path of every
	// installation: backfill pauses while an installation's remaining REST
	// requests (GraphQL points) are below them, until the window resets.
	ReserveCore, ReserveGraphQL int
	// WritesPerMinute and WritesPerHour pace content-creating requests
	// (GitHub's secondary limits). 0 = the defaults.
	WritesPerMinute, WritesPerHour int
	// MaxInFlight bounds concurrent requests (1..100; default 8).
	MaxInFlight int
	// MaxWrites, when above 0, is how many writes may be made in all;
	// writes past it fail with ErrMaxWrites before anything is sent.
	MaxWrites int
	// Now and Sleep are the clock (tests drive them with the emulator's).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Governor keeps backfill inside GitHub's rate budget: it tracks the
// x-ratelimit-* headers of every response per installation and resource,
// pauses an installation whose remaining budget is below the reserve or
// that was told to retry later, paces writes under the secondary limits and
// bounds the requests in flight. It sits in the installation clients'
// transport (Clients), so the reconciler's own requests are governed too.
type Governor struct {
	opts         GovernorOptions
	minute, hour *rate.Limiter
	inFlight     chan struct{}

	mu      sync.Mutex
	budgets map[budgetKey]*Budget
	pauses  map[int64]time.Time
	warned  map[budgetKey]bool
	// writeSlots counts writes made or in flight, against MaxWrites.
	writeSlots int

	stats govStats
}

type budgetKey struct {
	inst     int64
	resource string
}

// Budget is the last known state of one installation's rate-limit bucket.
type Budget struct {
	Limit, Remaining, Used int
	Reset                  time.Time
}

type govStats struct {
	requests, reads, writes, writesOK  atomic.Int64
	restReadPoints, notModified        atomic.Int64
	graphqlRequests, graphqlPoints     atomic.Int64
	prReadRequests, prReadRESTPoints   atomic.Int64
	pauses                             atomic.Int64
	pausedNanos, writeWaitNanos        atomic.Int64
	secondaryLimited, primaryExhausted atomic.Int64
}

// NewGovernor builds a Governor; zero options take the defaults.
func NewGovernor(o GovernorOptions) *Governor {
	if o.WritesPerMinute <= 0 {
		o.WritesPerMinute = DefaultWritesPerMinute
	}
	if o.WritesPerHour <= 0 {
		o.WritesPerHour = DefaultWritesPerHour
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultConcurrency
	}
	o.MaxInFlight = min(o.MaxInFlight, MaxConcurrency)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	hourBurst := max(1, min(o.WritesPerMinute, o.WritesPerHour/10))
	return &Governor{
		opts:     o,
		minute:   windowLimiter(o.WritesPerMinute, time.Minute, max(1, o.WritesPerMinute/16)),
		hour:     windowLimiter(o.WritesPerHour, time.Hour, hourBurst),
		inFlight: make(chan struct{}, o.MaxInFlight),
		budgets:  map[budgetKey]*Budget{},
		pauses:   map[int64]time.Time{},
		warned:   map[budgetKey]bool{},
	}
}

// windowLimiter allows at most n events in any window of length per: a
// token bucket holds at most burst tokens and refills the other n-burst
// over the window, so a window can spend at most burst + (n-burst).
func windowLimiter(n int, per time.Duration, burst int) *rate.Limiter {
	burst = min(burst, n)
	refill := n - burst
	if refill <= 0 {
		// A window smaller than the burst: refill one token per window.
		refill = 1
	}
	return rate.NewLimiter(rate.Limit(float64(refill)/per.Seconds()), burst)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sleep waits d on the governor's clock.
func (g *Governor) Sleep(ctx context.Context, d time.Duration) error { return g.opts.Sleep(ctx, d) }

// Now is the governor's clock.
func (g *Governor) Now() time.Time { return g.opts.Now() }

// Budget returns the last known budget of an installation's resource.
func (g *Governor) Budget(inst int64, resource string) (Budget, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.budgets[budgetKey{inst, resource}]
	if !ok {
		return Budget{}, false
	}
	return *b, true
}

// Pause stops every request of an installation until t (a secondary limit's
// retry-after; an exhausted budget's reset).
func (g *Governor) Pause(inst int64, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pauseLocked(inst, until)
}

func (g *Governor) pauseLocked(inst int64, until time.Time) {
	if until.After(g.pauses[inst]) {
		g.pauses[inst] = until
	}
}

func (g *Governor) reserve(resource string, limit int) int {
	r := g.opts.reserveOf(resource)
	// A reserve of half the limit or more would stall backfill for good
	// (small limits: unauthenticated or test installations).
	if limit > 0 && r > limit/2 {
		r = limit / 2
	}
	return r
}

// waitBudget blocks while the installation is paused or its budget for
// resource is below the reserve.
func (g *Governor) waitBudget(ctx context.Context, inst int64, resource string) error {
	for {
		g.mu.Lock()
		now := g.opts.Now()
		var until time.Time
		why := ""
		if p := g.pauses[inst]; now.Before(p) {
			until, why = p, "told to retry later"
		}
		k := budgetKey{inst, resource}
		if b := g.budgets[k]; b != nil && now.Before(b.Reset) {
			// An exhausted budget pauses whatever the reserve: go-github
			// would refuse the request anyway until the reset.
			if res := max(g.reserve(resource, b.Limit), 1); b.Remaining < res && b.Reset.After(until) {
				// One second past the reset: GitHub's reset is in whole
				// seconds and clocks differ a little.
				until, why = b.Reset.Add(time.Second), fmt.Sprintf("%s budget below the reserve (%d left, reserve %d)", resource, b.Remaining, res)
			}
		}
		g.mu.Unlock()
		if until.IsZero() {
			return nil
		}
		d := until.Sub(now)
		g.stats.pauses.Add(1)
		g.stats.pausedNanos.Add(int64(d))
		zerolog.Ctx(ctx).Info().Int64("installation", inst).Str("resource", resource).Str("reason", why).
			Time("until", until).Msg("backfill paused")
		if err := g.opts.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// paceWrite waits for the write limiters.
func (g *Governor) paceWrite(ctx context.Context) error {
	start := time.Now()
	if err := g.minute.Wait(ctx); err != nil {
		return fmt.Errorf("write pacing: %w", err)
	}
	if err := g.hour.Wait(ctx); err != nil {
		return fmt.Errorf("write pacing: %w", err)
	}
	g.stats.writeWaitNanos.Add(int64(time.Since(start)))
	return nil
}

// ErrMaxWrites is the error of a write past GovernorOptions.MaxWrites.
var ErrMaxWrites = errors.New("the --max-writes limit is reached")

// takeWriteSlot reserves one write under MaxWrites.
func (g *Governor) takeWriteSlot() bool {
	if g.opts.MaxWrites <= 0 {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.writeSlots >= g.opts.MaxWrites {
		return false
	}
	g.writeSlots++
	return true
}

// returnWriteSlot gives back the slot of a write GitHub refused.
func (g *Governor) returnWriteSlot() {
	if g.opts.MaxWrites <= 0 {
		return
	}
	g.mu.Lock()
	g.writeSlots--
	g.mu.Unlock()
}

// WritesExhausted reports whether MaxWrites writes were made.
func (g *Governor) WritesExhausted() bool {
	if g.opts.MaxWrites <= 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writeSlots >= g.opts.MaxWrites
}

func (g *Governor) acquire(ctx context.Context) error {
	select {
	case g.inFlight <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *Governor) release() { <-g.inFlight }

// observe records a response's rate-limit headers and counts it.
func (g *Governor) observe(ctx context.Context, inst int64, resource string, write bool, resp *http.Response) {
	g.stats.requests.Add(1)
	prData := isPRRead(ctx)
	if write {
		g.stats.writes.Add(1)
		if resp.StatusCode < 300 {
			g.stats.writesOK.Add(1)
		}
	} else {
		g.stats.reads.Add(1)
		if prData {
			g.stats.prReadRequests.Add(1)
		}
		switch {
		case resource == ResourceGraphQL:
			// Its points are the query's cost (AddGraphQLPoints).
			g.stats.graphqlRequests.Add(1)
		case resp.Header.Get(httpcache.XFromCache) != "":
			// A conditional request answered 304 (served from the cache)
			// is not charged.
			g.stats.notModified.Add(1)
		default:
			g.stats.restReadPoints.Add(1)
			if prData {
				g.stats.prReadRESTPoints.Add(1)
			}
		}
	}
	h := resp.Header
	if res := h.Get("X-RateLimit-Resource"); res != "" {
		resource = res
	}
	limit, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err3 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	used, _ := strconv.Atoi(h.Get("X-RateLimit-Used"))
	now := g.opts.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if err1 == nil && err2 == nil && err3 == nil {
		k := budgetKey{inst, resource}
		nb := Budget{Limit: limit, Remaining: remaining, Used: used, Reset: time.Unix(reset, 0)}
		switch b := g.budgets[k]; {
		case b == nil || nb.Reset.After(b.Reset):
			g.budgets[k] = &nb
		case nb.Reset.Equal(b.Reset) && nb.Remaining < b.Remaining:
			// Responses overtake each other; the lowest count of a window
			// is the latest.
			b.Remaining, b.Used, b.Limit = nb.Remaining, nb.Used, nb.Limit
		}
		if remaining == 0 && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests) {
			g.stats.primaryExhausted.Add(1)
		}
		if r := g.opts.reserveOf(resource); limit > 0 && r > limit/2 && !g.warned[k] {
			g.warned[k] = true
			zerolog.Ctx(ctx).Warn().Int64("installation", inst).Str("resource", resource).Int("limit", limit).
				Int("reserve", r).Msg("the reserve is more than half the rate limit; using half")
		}
	}
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests {
		if s := h.Get("Retry-After"); s != "" {
			if secs, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
				g.stats.secondaryLimited.Add(1)
				g.pauseLocked(inst, now.Add(time.Duration(secs)*time.Second))
			}
		}
	}
}

func (o GovernorOptions) reserveOf(resource string) int {
	if resource == ResourceGraphQL {
		return o.ReserveGraphQL
	}
	return o.ReserveCore
}

// AddGraphQLPoints counts the points a GraphQL query cost (its rateLimit.cost).
func (g *Governor) AddGraphQLPoints(n int) { g.stats.graphqlPoints.Add(int64(n)) }

// Stats are the governor's counters.
type Stats struct {
	// Requests counts every request sent to GitHub (304s included); Reads
	// and Writes split them. WritesMade are the writes GitHub accepted.
	Requests, Reads, Writes, WritesMade int64
	// RESTReadPoints are REST reads charged to the budget (not answered
	// 304); NotModified those that were.
	RESTReadPoints, NotModified int64
	// GraphQLRequests and GraphQLPoints: queries and the points they cost.
	GraphQLRequests, GraphQLPoints int64
	// PRReadRequests and PRReadRESTPoints are the requests (REST points)
	// spent reading PR data (lists, files, results) rather than branch
	// rules and the reconciler's extras.
	PRReadRequests, PRReadRESTPoints int64
	// Pauses counts the waits for a budget or a retry-after, Paused their
	// total length, WriteWait the time writes waited for pacing.
	Pauses           int64
	Paused           time.Duration
	WriteWait        time.Duration
	SecondaryLimited int64
	PrimaryExhausted int64
}

// Stats returns the counters so far.
func (g *Governor) Stats() Stats {
	s := &g.stats
	return Stats{
		Requests: s.requests.Load(), Reads: s.reads.Load(), Writes: s.writes.Load(), WritesMade: s.writesOK.Load(),
		RESTReadPoints: s.restReadPoints.Load(), NotModified: s.notModified.Load(),
		GraphQLRequests: s.graphqlRequests.Load(), GraphQLPoints: s.graphqlPoints.Load(),
		PRReadRequests: s.prReadRequests.Load(), PRReadRESTPoints: s.prReadRESTPoints.Load(),
		Pauses: s.pauses.Load(), Paused: time.Duration(s.pausedNanos.Load()), WriteWait: time.Duration(s.writeWaitNanos.Load()),
		SecondaryLimited: s.secondaryLimited.Load(), PrimaryExhausted: s.primaryExhausted.Load(),
	}
}

type prReadKey struct{}

// withPRRead marks a context's requests as PR data reads, for the stats.
func withPRRead(ctx context.Context) context.Context {
	return context.WithValue(ctx, prReadKey{}, true)
}

func isPRRead(ctx context.Context) bool { v, _ := ctx.Value(prReadKey{}).(bool); return v }

// transport governs one installation's requests. It calls the installation's
// own http.Client (go-githubapp's middleware, token, cache and timeout)
// after the waits, so that a long pause does not count against the
// client's timeout.
type transport struct {
	g       *Governor
	inst    int64
	inner   *http.Client
	graphql string // the GraphQL endpoint's path
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	resource := ResourceCore
	if t.graphql != "" && req.URL.Path == t.graphql {
		resource = ResourceGraphQL
	}
	write := resource == ResourceCore && req.Method != http.MethodGet && req.Method != http.MethodHead
	closeBody := func() {
		if req.Body != nil {
			_ = req.Body.Close()
		}
	}
	if err := t.g.waitBudget(ctx, t.inst, resource); err != nil {
		closeBody()
		return nil, err
	}
	if write {
		if !t.g.takeWriteSlot() {
			closeBody()
			return nil, ErrMaxWrites
		}
		if err := t.g.paceWrite(ctx); err != nil {
			t.g.returnWriteSlot()
			closeBody()
			return nil, err
		}
	}
	if err := t.g.acquire(ctx); err != nil {
		if write {
			t.g.returnWriteSlot()
		}
		closeBody()
		return nil, err
	}
	if req.Method == http.MethodGet && isPRRead(ctx) {
		// Each PR is read once per run: keeping thousands of responses in
		// the HTTP cache would only hold memory (httpcache stores nothing
		// for a no-store request).
		req = req.Clone(ctx)
		req.Header.Set("Cache-Control", "no-store")
	}
	resp, err := t.inner.Do(req)
	t.g.release()
	if write && (err != nil || resp.StatusCode >= 300) {
		t.g.returnWriteSlot()
	}
	if err != nil {
		return nil, err
	}
	t.g.observe(ctx, t.inst, resource, write, resp)
	if resource == ResourceGraphQL && resp.StatusCode != http.StatusOK {
		// githubv4 reduces these to a string; keep the status and the
		// retry-after for the retry decision.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		he := &ghapi.HTTPError{StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(body))}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			he.RetryAfter = time.Duration(secs) * time.Second
		}
		return nil, he
	}
	return resp, nil
}
