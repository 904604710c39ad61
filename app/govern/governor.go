// Package govern keeps every driver of a process (serve and its sweep,
// backfill) inside GitHub's rate limits with one Governor in the transport
// of every installation client (Clients): the primary budget of each
// installation and resource as the x-ratelimit-* headers report it, with a
// reserve that background work leaves to webhooks; the secondary limits by
// count (content-creating requests a minute and an hour per installation,
// through a Pacer) and by points (per installation and REST endpoint, and
// for GraphQL); retry-after obeyed for the whole installation; bounded
// concurrency; and retries with jitter by the one error classifier
// (ghapi.Classify).
package govern

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

	"github.com/gregjones/httpcache"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/config"
)

// GitHub's rate-limit buckets, as x-ratelimit-resource names them.
const (
	ResourceCore    = "core"
	ResourceGraphQL = "graphql"
)

// GitHub's limits (docs/github.md) and the defaults, the server config's.
const (
	// MaxConcurrency is GitHub's bound on concurrent requests.
	MaxConcurrency     = 100
	DefaultMaxInFlight = config.DefaultMaxInFlight
	// DefaultWritesPerMinute and DefaultWritesPerHour are GitHub's limits
	// on content-creating requests.
	DefaultWritesPerMinute = config.DefaultWritesPerMinute
	DefaultWritesPerHour   = config.DefaultWritesPerHour
	// DefaultPointsPerMinute is GitHub's per-minute budget of one REST
	// endpoint, DefaultGraphQLPointsPerMinute the GraphQL endpoint's.
	DefaultPointsPerMinute        = config.DefaultPointsPerMinute
	DefaultGraphQLPointsPerMinute = config.DefaultGraphQLPointsPerMinute
	DefaultReserve                = config.DefaultReserve
)

// What a request costs against the per-minute points: GitHub charges GET,
// HEAD and OPTIONS 1 point, other methods 5, a GraphQL query without
// mutations 1.
const (
	readPoints  = 1
	writePoints = 5
	queryPoints = 1
)

// budgetKeep is how long a budget is remembered after its window reset: an
// installation idle that long is forgotten (and no longer reported).
const budgetKeep = time.Hour

// Options configure a Governor.
type Options struct {
	// ReserveCore and ReserveGraphQL are left to foreground work in every
	// installation: Background requests pause while the remaining REST
	// requests (GraphQL points) are below them, until the window resets.
	ReserveCore, ReserveGraphQL int
	// WritesPerMinute and WritesPerHour pace each installation's
	// content-creating requests (0: GitHub's 80 and 500). Unused when Pacer
	// is set.
	WritesPerMinute, WritesPerHour int
	// Pacer paces content-creating requests (default: a LocalPacer of
	// WritesPerMinute and WritesPerHour on the governor's clock).
	Pacer Pacer
	// PointsPerMinute bounds the points spent on one REST endpoint by one
	// installation in any minute, GraphQLPointsPerMinute those spent on
	// GraphQL queries (0: GitHub's 900 and 2,000).
	PointsPerMinute, GraphQLPointsPerMinute int
	// MaxInFlight bounds concurrent requests (1..100; default 8).
	MaxInFlight int
	// MaxWrites, when above 0, is how many writes may be made in all;
	// writes past it fail with ErrMaxWrites before anything is sent.
	MaxWrites int
	// MaxRetries bounds Retry's retries after transient failures (default 4).
	MaxRetries int
	// Now and Sleep are the clock (tests drive them with the emulator's).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter picks a wait in [0, d] (default FullJitter).
	Jitter func(d time.Duration) time.Duration
}

// Governor keeps requests inside GitHub's rate limits. One Governor serves
// every installation and every driver of a process; what it keeps per
// installation is dropped once the installation is idle, so a long-running
// server holds only the busy ones.
type Governor struct {
	opts       Options
	pacer      Pacer
	restPoints *limiterSet[endpointKey]
	gqlPoints  *limiterSet[int64]
	endpoints  *endpoints
	inFlight   chan struct{}
	budgetDesc *prometheus.Desc

	mu      sync.Mutex
	budgets map[budgetKey]*Budget
	pauses  map[int64]time.Time
	warned  map[warnKey]bool
	swept   time.Time
	// writeSlots counts writes made or in flight, against MaxWrites.
	writeSlots int

	stats govStats
}

type budgetKey struct {
	inst     int64
	resource string
}

type warnKey struct {
	resource string
	limit    int
}

type endpointKey struct {
	inst     int64
	endpoint string
}

// Budget is the last known state of one installation's rate-limit bucket.
type Budget struct {
	Limit, Remaining, Used int
	Reset                  time.Time
}

type govStats struct {
	requests, reads, writes, writesOK atomic.Int64
	restReadPoints, notModified       atomic.Int64
	graphqlRequests, graphqlPoints    atomic.Int64
	prReadRequests, prReadRESTPoints  atomic.Int64
	pauses                            atomic.Int64
	pausedNanos, writeWaitNanos       atomic.Int64
	pointsWaitNanos                   atomic.Int64
	secondaryLimited                  atomic.Int64
}

// New builds a Governor; zero options take the defaults.
func New(o Options) *Governor {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	o.MaxInFlight = min(o.MaxInFlight, MaxConcurrency)
	if o.PointsPerMinute <= 0 {
		o.PointsPerMinute = DefaultPointsPerMinute
	}
	if o.GraphQLPointsPerMinute <= 0 {
		o.GraphQLPointsPerMinute = DefaultGraphQLPointsPerMinute
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	o.Now, o.Sleep = clockOrWall(o.Now, o.Sleep)
	if o.Jitter == nil {
		o.Jitter = FullJitter
	}
	pacer := o.Pacer
	if pacer == nil {
		pacer = NewLocalPacer(PacerOptions{PerMinute: o.WritesPerMinute, PerHour: o.WritesPerHour, Now: o.Now, Sleep: o.Sleep})
	}
	return &Governor{
		opts: o, pacer: pacer,
		restPoints: newLimiterSet[endpointKey](window(o.PointsPerMinute, time.Minute, o.PointsPerMinute/16)),
		gqlPoints:  newLimiterSet[int64](window(o.GraphQLPointsPerMinute, time.Minute, o.GraphQLPointsPerMinute/16)),
		endpoints:  newEndpoints(),
		inFlight:   make(chan struct{}, o.MaxInFlight),
		budgetDesc: prometheus.NewDesc("fix_status_github_rate_limit_remaining",
			"Rate limit left in the current window, by installation and resource (the last x-ratelimit-remaining seen; the limit once the window reset).",
			[]string{"installation", "resource"}, nil),
		budgets: map[budgetKey]*Budget{},
		pauses:  map[int64]time.Time{},
		warned:  map[warnKey]bool{},
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

// Describe implements prometheus.Collector: the governor reports
// fix_status_github_rate_limit_remaining{installation,resource}.
func (g *Governor) Describe(ch chan<- *prometheus.Desc) { ch <- g.budgetDesc }

// Collect implements prometheus.Collector.
func (g *Governor) Collect(ch chan<- prometheus.Metric) {
	now := g.opts.Now()
	var ms []prometheus.Metric
	g.mu.Lock()
	for k, b := range g.budgets {
		left := b.Remaining
		if !now.Before(b.Reset) {
			left = b.Limit
		}
		ms = append(ms, prometheus.MustNewConstMetric(g.budgetDesc, prometheus.GaugeValue, float64(left), strconv.FormatInt(k.inst, 10), k.resource))
	}
	g.mu.Unlock()
	// Sent without the lock: the registry reads them as it goes.
	for _, m := range ms {
		ch <- m
	}
}

var _ prometheus.Collector = (*Governor)(nil)

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

// forgetLocked drops, at most once a minute, the pauses that are over and
// the budgets of installations idle since long past their window's reset.
func (g *Governor) forgetLocked(now time.Time) {
	if now.Sub(g.swept) < time.Minute {
		return
	}
	g.swept = now
	for inst, p := range g.pauses {
		if !now.Before(p) {
			delete(g.pauses, inst)
		}
	}
	for k, b := range g.budgets {
		if now.Sub(b.Reset) > budgetKeep {
			delete(g.budgets, k)
		}
	}
}

func (g *Governor) reserve(resource string, limit int) int {
	r := g.opts.reserveOf(resource)
	// A reserve of half the limit or more would stall background work for
	// good (small limits: unauthenticated or test installations).
	if limit > 0 && r > limit/2 {
		r = limit / 2
	}
	return r
}

// waitBudget blocks while the installation is paused or its budget for
// resource is spent (for background work: below the reserve).
func (g *Governor) waitBudget(ctx context.Context, inst int64, resource string) error {
	background := isBackground(ctx)
	for {
		g.mu.Lock()
		now := g.opts.Now()
		g.forgetLocked(now)
		var until time.Time
		why := ""
		if p := g.pauses[inst]; now.Before(p) {
			until, why = p, "told to retry later"
		}
		if b := g.budgets[budgetKey{inst, resource}]; b != nil && now.Before(b.Reset) {
			// An exhausted budget pauses whatever the reserve: go-github
			// would refuse the request anyway until the reset.
			res := 1
			if background {
				res = max(g.reserve(resource, b.Limit), 1)
			}
			if b.Remaining < res && b.Reset.After(until) {
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
			Time("until", until).Msg("requests paused")
		if err := g.opts.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// ErrNoLedger is PaceWrite's error for a context without WithWriteLedger:
// the write would be paced twice.
var ErrNoLedger = errors.New("govern: PaceWrite needs a context from govern.WithWriteLedger")

// PaceWrite paces one content-creating request of an installation ahead of
// time, and reports whether it had to wait (what was read before may be
// old by then). The reconciler's write guard calls it before each write; the
// write, made with the same ctx (which must come from WithWriteLedger), is
// then not paced again.
func (g *Governor) PaceWrite(ctx context.Context, inst int64) (waited bool, err error) {
	l := ledgerFrom(ctx)
	if l == nil {
		return false, ErrNoLedger
	}
	d, err := g.paceWrite(ctx, inst)
	if err != nil {
		return false, err
	}
	l.add(inst)
	return d > 0, nil
}

func (g *Governor) paceWrite(ctx context.Context, inst int64) (time.Duration, error) {
	d, err := g.pacer.Wait(ctx, inst, 1)
	g.stats.writeWaitNanos.Add(int64(d))
	if err != nil {
		return d, fmt.Errorf("write pacing: %w", err)
	}
	return d, nil
}

// pacePoints waits for the per-minute points of the request's endpoint.
func (g *Governor) pacePoints(ctx context.Context, inst int64, resource, endpoint string, write bool) error {
	now := g.opts.Now()
	var r *rate.Reservation
	var err error
	switch {
	case resource == ResourceGraphQL:
		r, err = g.gqlPoints.reserve(now, inst, queryPoints)
	case write:
		r, err = g.restPoints.reserve(now, endpointKey{inst, endpoint}, writePoints)
	default:
		r, err = g.restPoints.reserve(now, endpointKey{inst, endpoint}, readPoints)
	}
	if err == nil {
		var d time.Duration
		d, err = waitFor(ctx, now, g.opts.Sleep, r)
		g.stats.pointsWaitNanos.Add(int64(d))
	}
	if err != nil {
		return fmt.Errorf("points pacing of %s: %w", endpoint, err)
	}
	return nil
}

// ErrMaxWrites is the error of a write past Options.MaxWrites.
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
	prData := isPRData(ctx)
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
	limited := resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests
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
		wk := warnKey{resource, limit}
		if r := g.opts.reserveOf(resource); limit > 0 && r > limit/2 && !g.warned[wk] {
			g.warned[wk] = true
			zerolog.Ctx(ctx).Warn().Int64("installation", inst).Str("resource", resource).Int("limit", limit).
				Int("reserve", r).Msg("the reserve is more than half the rate limit; using half")
		}
	}
	if d := ghapi.RetryAfter(h); limited && d >= 0 {
		g.stats.secondaryLimited.Add(1)
		g.pauseLocked(inst, now.Add(d))
	}
}

func (o Options) reserveOf(resource string) int {
	if resource == ResourceGraphQL {
		return o.ReserveGraphQL
	}
	return o.ReserveCore
}

// AddGraphQLPoints counts the points a GraphQL query cost (its rateLimit.cost).
func (g *Governor) AddGraphQLPoints(n int) { g.stats.graphqlPoints.Add(int64(n)) }

// Stats are the governor's counters since it was made.
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
	// spent reading PR data (WithPRData) rather than branch rules and the
	// reconciler's extras.
	PRReadRequests, PRReadRESTPoints int64
	// Pauses counts the waits for a budget or a retry-after, Paused their
	// total length, WriteWait the time writes waited for pacing,
	// PointsWait the time requests waited for an endpoint's points.
	Pauses           int64
	Paused           time.Duration
	WriteWait        time.Duration
	PointsWait       time.Duration
	SecondaryLimited int64
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
		PointsWait:       time.Duration(s.pointsWaitNanos.Load()),
		SecondaryLimited: s.secondaryLimited.Load(),
	}
}

// transport governs one installation's requests. It calls the installation's
// own http.Client (go-githubapp's middleware, token, cache and timeout)
// after the waits, so that a long pause does not count against the
// client's timeout.
type transport struct {
	g     *Governor
	inst  int64
	inner *http.Client
	// graphql is the GraphQL endpoint's path; root the REST API's (GitHub
	// Enterprise Server's is /api/v3/).
	graphql, root string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	resource, endpoint := ResourceCore, ""
	if t.graphql != "" && req.URL.Path == t.graphql {
		resource, endpoint = ResourceGraphQL, "POST /graphql"
	} else {
		endpoint = t.g.endpoints.of(req.Method, strings.TrimPrefix(req.URL.EscapedPath(), strings.TrimSuffix(t.root, "/")))
	}
	write := resource == ResourceCore && req.Method != http.MethodGet && req.Method != http.MethodHead && req.Method != http.MethodOptions
	fail := func(err error) (*http.Response, error) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	if err := t.g.waitBudget(ctx, t.inst, resource); err != nil {
		return fail(err)
	}
	if write {
		if !t.g.takeWriteSlot() {
			return fail(ErrMaxWrites)
		}
		if l := ledgerFrom(ctx); l == nil || !l.take(t.inst) {
			if _, err := t.g.paceWrite(ctx, t.inst); err != nil {
				t.g.returnWriteSlot()
				return fail(err)
			}
		}
	}
	if err := t.g.pacePoints(ctx, t.inst, resource, endpoint, write); err != nil {
		if write {
			t.g.returnWriteSlot()
		}
		return fail(err)
	}
	if err := t.g.acquire(ctx); err != nil {
		if write {
			t.g.returnWriteSlot()
		}
		return fail(err)
	}
	if req.Method == http.MethodGet && isNoCache(ctx) {
		// httpcache stores nothing for a no-store request.
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
		return nil, &ghapi.HTTPError{StatusCode: resp.StatusCode, RetryAfter: ghapi.RetryAfter(resp.Header), Message: strings.TrimSpace(string(body))}
	}
	return resp, nil
}
