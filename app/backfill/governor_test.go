package backfill

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/google/go-github/v60/github"
)

// TestWindowLimiter: however writes arrive, no window of the limit's length
// holds more than the limit, and a steady stream gets close to it.
func TestWindowLimiter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n, burst   int
		per, every time.Duration
	}{
		{"80 per minute", DefaultWritesPerMinute, DefaultWritesPerMinute / 16, time.Minute, 10 * time.Millisecond},
		{"500 per hour", DefaultWritesPerHour, DefaultWritesPerHour / 10, time.Hour, time.Second},
		{"burst as big as the limit", 5, 5, time.Minute, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := windowLimiter(tc.n, tc.per, tc.burst)
			start := time.Unix(1_700_000_000, 0)
			var allowed []time.Time
			for at := start; at.Before(start.Add(3 * tc.per)); at = at.Add(tc.every) {
				if lim.AllowN(at, 1) {
					allowed = append(allowed, at)
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
// below the reserve, its next request waits for the window's reset; the
// other resource and other installations go on; a retry-after pauses the
// installation that was told.
func TestGovernorKeepsTheReserve(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	srv := &rateServer{remaining: map[string]int{"core": 503, "graphql": 4000}, reset: clk.now.Add(30 * time.Minute)}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	g := NewGovernor(GovernorOptions{ReserveCore: 500, ReserveGraphQL: 500, Now: clk.Now, Sleep: clk.Sleep})
	client := func(inst int64) *http.Client {
		return &http.Client{Transport: &transport{g: g, inst: inst, inner: ts.Client(), graphql: "/graphql"}}
	}
	get := func(inst int64, path string) {
		t.Helper()
		resp, err := client(inst).Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
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
	get(7, "/repos/o/r")
	if want := 30*time.Minute + time.Second; len(clk.sleeps) != 1 || clk.sleeps[0] != want {
		t.Fatalf("sleeps %v, want one of %s (until the reset)", clk.sleeps, want)
	}
	if b, _ := g.Budget(7, ResourceCore); b.Remaining != 497 {
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
	if st.Requests != 9 || st.Reads != 9 || st.GraphQLRequests != 1 || st.Pauses != 2 || st.SecondaryLimited != 1 {
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
	g := NewGovernor(GovernorOptions{MaxWrites: 2, WritesPerMinute: 6000, WritesPerHour: 6000})
	c := &http.Client{Transport: &transport{g: g, inst: 1, inner: ts.Client()}}
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
	g := NewGovernor(GovernorOptions{Now: func() time.Time { return now }})
	for _, tc := range []struct {
		name string
		err  error
		kind ghapi.Kind
		wait time.Duration
	}{
		{"max writes", fmt.Errorf("w: %w", &url.Error{Op: "Post", Err: ErrMaxWrites}), ghapi.Permanent, 0},
		{"GraphQL RATE_LIMITED without a known reset", errors.New("API rate limit exceeded for installation ID 7."), ghapi.Limited, time.Minute},
		{"GraphQL secondary limit", &url.Error{Op: "Post", URL: "/graphql", Err: &ghapi.HTTPError{StatusCode: 403, RetryAfter: 3 * time.Second}}, ghapi.Limited, 3 * time.Second},
		{"connection refused", &url.Error{Op: "Get", URL: "/x", Err: &timeoutErr{}}, ghapi.Transient, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c := g.classify(tc.err, 7); c.Kind != tc.kind || c.Wait != tc.wait {
				t.Errorf("classify = %v, %s; want %v, %s", c.Kind, c.Wait, tc.kind, tc.wait)
			}
		})
	}
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(10*time.Minute).Unix(), 10))
	g.observe(context.Background(), 7, ResourceGraphQL, false, &http.Response{StatusCode: 200, Header: h})
	if c := g.classify(errors.New("API rate limit exceeded for installation ID 7."), 7); c.Wait != 10*time.Minute+time.Second {
		t.Errorf("GraphQL RATE_LIMITED waits %s, want the budget's reset", c.Wait)
	}
}

type timeoutErr struct{}

func (*timeoutErr) Error() string   { return "i/o timeout" }
func (*timeoutErr) Timeout() bool   { return true }
func (*timeoutErr) Temporary() bool { return true }

// TestRetry: transient failures back off exponentially up to the bound;
// rate limits wait as told and pause the installation.
func TestRetry(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	g := NewGovernor(GovernorOptions{Now: clk.Now, Sleep: clk.Sleep})
	bad := &github.ErrorResponse{Response: &http.Response{StatusCode: 502, Request: &http.Request{Method: "GET", URL: &url.URL{}}}}
	n, err := g.retry(context.Background(), 1, 3, "x", func(int) error { return bad })
	if n != 3 || !errors.Is(err, bad) {
		t.Errorf("attempts %d, err %v", n, err)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; fmt.Sprint(clk.sleeps) != fmt.Sprint(want) {
		t.Errorf("backoff %v, want %v", clk.sleeps, want)
	}
	clk.sleeps = nil
	ra := 20 * time.Second
	n, err = g.retry(context.Background(), 1, 3, "x", func(a int) error {
		if a < 2 {
			return &github.AbuseRateLimitError{Response: bad.Response, RetryAfter: &ra}
		}
		return nil
	})
	if n != 2 || err != nil || fmt.Sprint(clk.sleeps) != fmt.Sprint([]time.Duration{ra, ra}) {
		t.Errorf("attempts %d, err %v, sleeps %v", n, err, clk.sleeps)
	}
}
