package govern

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestLimiterSetWindow: however events arrive, no window of the limit's
// length holds more than the limit, and a steady stream gets close to it.
func TestLimiterSetWindow(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n, burst   int
		per, every time.Duration
	}{
		{"80 per minute", DefaultWritesPerMinute, DefaultWritesPerMinute / 16, time.Minute, 10 * time.Millisecond},
		{"500 per hour", DefaultWritesPerHour, DefaultWritesPerHour / 10, time.Hour, time.Second},
		{"900 points a minute", DefaultPointsPerMinute, DefaultPointsPerMinute / 16, time.Minute, 10 * time.Millisecond},
		{"burst as big as the limit", 5, 5, time.Minute, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLimiterSet[int](window(tc.n, tc.per, tc.burst))
			start := time.Unix(1_700_000_000, 0)
			var allowed []time.Time
			for at := start; at.Before(start.Add(3 * tc.per)); at = at.Add(tc.every) {
				r, err := s.reserve(at, 1, 1)
				if err != nil {
					t.Fatal(err)
				}
				if r.DelayFrom(at) == 0 {
					allowed = append(allowed, at)
				} else {
					r.CancelAt(at)
				}
			}
			lo := 0
			for hi := range allowed {
				for allowed[hi].Sub(allowed[lo]) >= tc.per {
					lo++
				}
				if n := hi - lo + 1; n > tc.n {
					t.Fatalf("%d events within %s ending %s, want at most %d", n, tc.per, allowed[hi].Sub(start), tc.n)
				}
			}
			if min := 3*(tc.n-tc.burst) + tc.burst; tc.burst < tc.n && len(allowed) < min-3 {
				t.Errorf("only %d events in three windows, want about %d", len(allowed), min)
			}
		})
	}
}

// TestLimiterSetForgetsIdleKeys: a key unused for longer than its bucket
// takes to fill up is dropped (a server meets many installations), and a
// busy one is kept with what it spent.
func TestLimiterSetForgetsIdleKeys(t *testing.T) {
	s := newLimiterSet[int64](window(60, time.Minute, 6))
	at := time.Unix(1_700_000_000, 0)
	for inst := range int64(100) {
		if _, err := s.reserve(at, inst, 1); err != nil {
			t.Fatal(err)
		}
	}
	busy := int64(7)
	for range 5 {
		if _, err := s.reserve(at, busy, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.len(); n != 100 {
		t.Fatalf("%d buckets, want 100", n)
	}
	later := at.Add(s.idle + time.Second)
	if _, err := s.reserve(later.Add(-2*time.Second), busy, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.reserve(later, 1000, 1); err != nil {
		t.Fatal(err)
	}
	if n := s.len(); n != 2 {
		t.Errorf("%d buckets after the idle ones were due, want 2 (the busy one and the new one)", n)
	}
	if _, err := s.reserve(later, 1, 7); err == nil {
		t.Error("a reservation bigger than the burst was accepted")
	}
}

// fakeClock is a governor clock whose Sleep moves time on.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

// rateServer answers every request with x-ratelimit headers from remaining,
// which each request lowers; retryAfter, when set, answers the next
// request with a secondary limit.
type rateServer struct {
	mu         sync.Mutex
	remaining  map[string]int
	reset      time.Time
	retryAfter int
	requests   int
}

func (s *rateServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	res := "core"
	if r.URL.Path == "/graphql" {
		res = "graphql"
	}
	s.remaining[res]--
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining[res]))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.reset.Unix(), 10))
	w.Header().Set("X-RateLimit-Resource", res)
	if s.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s.retryAfter))
		s.retryAfter = 0
		w.WriteHeader(http.StatusForbidden)
		return
	}
	fmt.Fprint(w, "{}")
}

// TestGovernorKeepsTheReserve: once an installation's remaining budget is
// below the reserve, its next background request waits for the window's
// reset while foreground ones go on; the other resource and other
// installations go on; a retry-after pauses the installation that was told.
func TestGovernorKeepsTheReserve(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	srv := &rateServer{remaining: map[string]int{"core": 503, "graphql": 4000}, reset: clk.now.Add(30 * time.Minute)}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	g := New(Options{ReserveCore: 500, ReserveGraphQL: 500, Now: clk.Now, Sleep: clk.Sleep})
	send := func(ctx context.Context, inst int64, path string) {
		t.Helper()
		c := &http.Client{Transport: &transport{g: g, inst: inst, inner: ts.Client(), graphql: "/graphql", root: "/"}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get := func(inst int64, path string) { t.Helper(); send(Background(context.Background()), inst, path) }
	for range 3 {
		get(7, "/repos/o/r") // 502, 501, 500 left: not below the reserve
	}
	if len(clk.sleeps) != 0 {
		t.Fatalf("slept %v above the reserve", clk.sleeps)
	}
	get(7, "/repos/o/r") // 499 left
	get(7, "/graphql")   // another bucket
	get(8, "/repos/o/r") // another installation
	if len(clk.sleeps) != 0 {
		t.Fatalf("slept %v before the budget was below the reserve", clk.sleeps)
	}
	send(context.Background(), 7, "/repos/o/r") // foreground: 497 left
	if len(clk.sleeps) != 0 {
		t.Fatalf("a foreground request waited %v for the reserve", clk.sleeps)
	}
	get(7, "/repos/o/r")
	if want := 30*time.Minute + time.Second; len(clk.sleeps) != 1 || clk.sleeps[0] != want {
		t.Fatalf("sleeps %v, want one of %s (until the reset)", clk.sleeps, want)
	}
	if b, _ := g.Budget(7, ResourceCore); b.Remaining != 496 {
		t.Errorf("budget %+v", b)
	}

	srv.mu.Lock()
	srv.retryAfter = 7
	srv.mu.Unlock()
	get(9, "/repos/o/r") // answered 403 retry-after: 7
	get(9, "/repos/o/r")
	if got := clk.sleeps[len(clk.sleeps)-1]; got != 7*time.Second {
		t.Errorf("after retry-after 7: slept %s", got)
	}
	st := g.Stats()
	if st.Requests != 10 || st.Reads != 10 || st.GraphQLRequests != 1 || st.Pauses != 2 || st.SecondaryLimited != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestGovernorMaxWrites: writes past MaxWrites fail before they are sent;
// refused writes give their slot back.
func TestGovernorMaxWrites(t *testing.T) {
	var mu sync.Mutex
	posts, fail := 0, true
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPost {
			posts++
			if fail {
				fail = false
				w.WriteHeader(http.StatusBadGateway)
				return
			}
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer ts.Close()
	g := New(Options{MaxWrites: 2, WritesPerMinute: 6000, WritesPerHour: 6000})
	c := &http.Client{Transport: &transport{g: g, inst: 1, inner: ts.Client(), root: "/"}}
	var errs []error
	for range 4 {
		resp, err := c.Post(ts.URL+"/repos/o/r/statuses/abc", "application/json", nil)
		if err == nil {
			resp.Body.Close()
		}
		errs = append(errs, err)
	}
	if posts != 3 || errs[0] != nil || errs[1] != nil || errs[2] != nil || !errors.Is(errs[3], ErrMaxWrites) || !g.WritesExhausted() {
		t.Errorf("posts %d, errors %v, exhausted %v", posts, errs, g.WritesExhausted())
	}
	if st := g.Stats(); st.Writes != 3 || st.WritesMade != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestClassify: the governor's additions to ghapi.Classify (its table is
// in package ghapi): --max-writes is final, and an exhausted GraphQL budget
// waits for the reset the governor saw.
func TestClassify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	g := New(Options{Now: func() time.Time { return now }})
	for _, tc := range []struct {
		name string
		err  error
		kind ghapi.Kind
		wait time.Duration
	}{
		{"max writes", fmt.Errorf("w: %w", &url.Error{Op: "Post", Err: ErrMaxWrites}), ghapi.Permanent, 0},
		{"a write guard without a ledger", fmt.Errorf("w: %w", ErrNoLedger), ghapi.Permanent, 0},
		{"GraphQL RATE_LIMITED without a known reset", errors.New("API rate limit exceeded for installation ID 7."), ghapi.Limited, time.Minute},
		{"GraphQL secondary limit", &url.Error{Op: "Post", URL: "/graphql", Err: &ghapi.HTTPError{StatusCode: 403, RetryAfter: 3 * time.Second}}, ghapi.Limited, 3 * time.Second},
		{"connection refused", &url.Error{Op: "Get", URL: "/x", Err: &timeoutErr{}}, ghapi.Transient, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c := g.Classify(tc.err, 7); c.Kind != tc.kind || c.Wait != tc.wait {
				t.Errorf("classify = %v, %s; want %v, %s", c.Kind, c.Wait, tc.kind, tc.wait)
			}
		})
	}
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(10*time.Minute).Unix(), 10))
	g.observe(context.Background(), 7, ResourceGraphQL, false, &http.Response{StatusCode: 200, Header: h})
	if c := g.Classify(errors.New("API rate limit exceeded for installation ID 7."), 7); c.Wait != 10*time.Minute+time.Second {
		t.Errorf("GraphQL RATE_LIMITED waits %s, want the budget's reset", c.Wait)
	}
}

// TestGraphQLHTTPErrors: the transport keeps a GraphQL answer's status and
// retry-after for the classifier; a 403 without retry-after is no "retry
// at once": a secondary limit waits GitHub's minute, another 403 is final.
func TestGraphQLHTTPErrors(t *testing.T) {
	for _, tc := range []struct {
		name, retryAfter, body string
		kind                   ghapi.Kind
		wait                   time.Duration
	}{
		{"secondary limit with retry-after", "3", "You have exceeded a secondary rate limit", ghapi.Limited, 3 * time.Second},
		{"secondary limit without", "", "You have exceeded a secondary rate limit", ghapi.Limited, ghapi.SecondaryDefaultWait},
		{"another 403", "", "Forbidden", ghapi.Permanent, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, tc.body)
			}))
			defer ts.Close()
			g := New(Options{})
			c := &http.Client{Transport: &transport{g: g, inst: 1, inner: ts.Client(), graphql: "/graphql", root: "/"}}
			resp, err := c.Post(ts.URL+"/graphql", "application/json", strings.NewReader("{}"))
			if err == nil {
				resp.Body.Close()
				t.Fatal("no error")
			}
			if got := g.Classify(err, 1); got.Kind != tc.kind || got.Wait != tc.wait {
				t.Errorf("Classify(%v) = %v %s, want %v %s", err, got.Kind, got.Wait, tc.kind, tc.wait)
			}
		})
	}
}

type timeoutErr struct{}

func (*timeoutErr) Error() string   { return "i/o timeout" }
func (*timeoutErr) Timeout() bool   { return true }
func (*timeoutErr) Temporary() bool { return true }

// TestRetry: transient failures back off exponentially up to the bound,
// each wait drawn by the jitter from [0, backoff]; rate limits wait as told
// (plus up to a tenth, jittered) and pause the installation.
func TestRetry(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	var asked []time.Duration
	half := func(d time.Duration) time.Duration { asked = append(asked, d); return d / 2 }
	g := New(Options{Now: clk.Now, Sleep: clk.Sleep, MaxRetries: 3, Jitter: half})
	bad := &github.ErrorResponse{Response: &http.Response{StatusCode: 502, Request: &http.Request{Method: "GET", URL: &url.URL{}}}}
	n, err := g.Retry(context.Background(), 1, "x", func(int) error { return bad })
	if n != 3 || !errors.Is(err, bad) {
		t.Errorf("attempts %d, err %v", n, err)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Errorf("backoff %v, want %v", asked, want)
	}
	if want := []time.Duration{time.Second / 2, time.Second, 2 * time.Second}; fmt.Sprint(clk.sleeps) != fmt.Sprint(want) {
		t.Errorf("slept %v, want %v (the jitter's picks)", clk.sleeps, want)
	}
	clk.sleeps = nil
	ra := 20 * time.Second
	n, err = g.Retry(context.Background(), 1, "x", func(a int) error {
		if a < 2 {
			return &github.AbuseRateLimitError{Response: bad.Response, RetryAfter: &ra}
		}
		return nil
	})
	if want := ra + time.Second; n != 2 || err != nil || fmt.Sprint(clk.sleeps) != fmt.Sprint([]time.Duration{want, want}) {
		t.Errorf("attempts %d, err %v, sleeps %v; want 2 sleeps of %s", n, err, clk.sleeps, want)
	}
	g.mu.Lock()
	paused := g.pauses[1]
	g.mu.Unlock()
	// Told at the second attempt (21s in), paused 20s from then; the
	// retry's own wait ended a second later.
	if want := clk.Now().Add(-time.Second); !paused.Equal(want) {
		t.Errorf("installation paused until %s, want %s (retry-after from the last limit)", paused, want)
	}
}

// TestFullJitter: the pick stays in [0, d] and is not always the same.
func TestFullJitter(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 200 {
		d := FullJitter(time.Second)
		if d < 0 || d > time.Second {
			t.Fatalf("FullJitter(1s) = %s", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 || FullJitter(0) != 0 {
		t.Errorf("%d different picks of 200; FullJitter(0) = %s", len(seen), FullJitter(0))
	}
}

// TestEndpoints: requests are counted per GitHub route template, whatever
// their parameters; paths no template knows share their group's budget.
func TestEndpoints(t *testing.T) {
	e := newEndpoints()
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/repos/o/r/pulls/12", "GET /repos/{owner}/{repo}/pulls/{pull_number}"},
		{"GET", "/repos/other/thing/pulls/7/files", "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"},
		{"HEAD", "/repos/o/r/pulls/12", "GET /repos/{owner}/{repo}/pulls/{pull_number}"},
		{"POST", "/repos/o/r/statuses/0123456789abcdef0123456789abcdef01234567", "POST /repos/{owner}/{repo}/statuses/{sha}"},
		{"GET", "/repos/o/r/commits/abc/check-runs", "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"},
		{"GET", "/repos/o/r/branches/release%2F1.0/protection/required_status_checks", "GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks"},
		{"GET", "/repos/o/r/rules/branches/feature%2Fa%2Fb", "GET /repos/{owner}/{repo}/rules/branches/{branch}"},
		{"GET", "/repos/o/r/contents/.github/workflows/ci.yml", "GET /repos/{owner}/{repo}/contents/{path...}"},
		{"POST", "/repos/o/r/issues/comments/99/reactions", "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"},
		{"POST", "/repos/o/r/issues/5/comments", "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"},
		{"GET", "repos/o/r", "GET /repos/{owner}/{repo}"},
		{"DELETE", "/repos/o/r/issues/comments/99", "DELETE /repos/{owner}/{repo}/issues/*"},
		{"GET", "/search/issues", "GET /search/*"},
	} {
		if got := e.of(tc.method, tc.path); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}

// TestPaceWrite: a write paced ahead by PaceWrite is not paced again by the
// transport; one without is paced there; PaceWrite refuses a context
// without a ledger rather than pace a write twice.
func TestPaceWrite(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }))
	defer ts.Close()
	p := &countingPacer{}
	g := New(Options{Pacer: p})
	post := func(ctx context.Context, inst int64) {
		t.Helper()
		c := &http.Client{Transport: &transport{g: g, inst: inst, inner: ts.Client(), root: "/"}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/repos/o/r/statuses/abc", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	ctx := WithWriteLedger(context.Background())
	if WithWriteLedger(ctx) != ctx {
		t.Error("a second ledger replaced the first")
	}
	if waited, err := g.PaceWrite(ctx, 1); err != nil || waited {
		t.Fatalf("PaceWrite: %v, %v", waited, err)
	}
	post(ctx, 1)
	if got := p.calls(); got != "[1]" {
		t.Errorf("paced %s after one PaceWrite and its write, want once for installation 1", got)
	}
	post(ctx, 1) // nothing paid ahead any more
	post(ctx, 2) // another installation's credit is its own
	if got := p.calls(); got != "[1 1 2]" {
		t.Errorf("paced %s, want the later writes paced by the transport", got)
	}
	if _, err := g.PaceWrite(context.Background(), 1); !errors.Is(err, ErrNoLedger) {
		t.Errorf("PaceWrite without a ledger: %v", err)
	}
	if st := g.Stats(); st.Writes != 3 || st.WritesMade != 3 {
		t.Errorf("stats %+v", st)
	}
}

// countingPacer records the installations it paced.
type countingPacer struct {
	mu    sync.Mutex
	insts []int64
}

func (p *countingPacer) Wait(_ context.Context, inst int64, n int) (time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.insts = append(p.insts, inst)
	}
	return 0, nil
}

func (p *countingPacer) calls() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprint(p.insts)
}

// TestLocalPacer: each installation has its own minute and hour, and a
// cancelled wait gives its turn back.
func TestLocalPacer(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	p := NewLocalPacer(PacerOptions{PerMinute: 80, PerHour: 500, Now: clk.Now, Sleep: clk.Sleep})
	ctx := context.Background()
	var total time.Duration
	for range 50 {
		for _, inst := range []int64{1, 2} {
			d, err := p.Wait(ctx, inst, 1)
			if err != nil {
				t.Fatal(err)
			}
			total += d
		}
	}
	// The minute's burst (5), then 75 a minute (0.8s a write) for each
	// installation: the second's turn has come when the first's wait ends.
	if took := clk.Now().Sub(time.Unix(1_700_000_000, 0)); took != 36*time.Second || total != took {
		t.Errorf("50 writes of each of two installations took %s (waited %s), want 36s: one installation's pace", took, total)
	}
	// The hour's burst (50) is spent: after the few tokens it got back,
	// writes wait 8s each (450 an hour).
	total = 0
	for range 10 {
		d, err := p.Wait(ctx, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		total += d
	}
	if total < 40*time.Second {
		t.Errorf("writes 51 to 60 of the hour waited %s, want the hour's pace (8s a write)", total)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Wait(cctx, 1, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

// TestCollector: the governor reports each installation's remaining
// budget by resource, the limit once the window reset.
func TestCollector(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := now
	g := New(Options{Now: func() time.Time { return clock }})
	for _, b := range []struct {
		inst      int64
		resource  string
		remaining int
		reset     time.Time
	}{
		{7, ResourceCore, 4321, now.Add(time.Hour)},
		{7, ResourceGraphQL, 4990, now.Add(time.Hour)},
		{8, ResourceCore, 12, now.Add(time.Minute)},
	} {
		h := http.Header{}
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", strconv.Itoa(b.remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", b.resource)
		g.observe(context.Background(), b.inst, b.resource, false, &http.Response{StatusCode: 200, Header: h})
	}
	clock = now.Add(2 * time.Minute)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(g)
	want := `
# HELP fix_status_github_rate_limit_remaining Rate limit left in the current window, by installation and resource (the last x-ratelimit-remaining seen; the limit once the window reset).
# TYPE fix_status_github_rate_limit_remaining gauge
fix_status_github_rate_limit_remaining{installation="7",resource="core"} 4321
fix_status_github_rate_limit_remaining{installation="7",resource="graphql"} 4990
fix_status_github_rate_limit_remaining{installation="8",resource="core"} 5000
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	// An installation idle past its window's reset for long is forgotten.
	clock = now.Add(3 * time.Hour)
	g.mu.Lock()
	g.forgetLocked(clock)
	n := len(g.budgets)
	g.mu.Unlock()
	if n != 0 {
		t.Errorf("%d budgets kept three hours on", n)
	}
}
