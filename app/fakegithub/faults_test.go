package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// TestHoldComputesTheAnswerAfterRelease holds a reconcile-like read in
// flight, changes the PR through an event, releases the read and gets the
// new state: the answer is computed after the hold, not before.
func TestHoldComputesTheAnswerAfterRelease(t *testing.T) {
	s := startServer(t, testScenario)
	client := installationClient(t, s, 7)
	ctx := context.Background()
	held := s.Hold("GET /repos/{owner}/{repo}/pulls/{pull_number}")
	type result struct {
		pr  *github.PullRequest
		err error
	}
	done := make(chan result, 1)
	go func() {
		pr, _, err := client.PullRequests.Get(ctx, owner, repoName, 2)
		done <- result{pr, err}
	}()
	<-held.Arrived()
	const newHead = "2222222222222222222222222222222222222222"
	if _, err := s.Apply(ctx, Event{Type: "pull_request.synchronize", Repo: "Codertocat/Hello-World", Number: 2, HeadSHA: newHead}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Fatalf("the held request was answered before the release: %+v", r)
	default:
	}
	if st := s.Faults(); len(st.Holds) != 1 || st.Holds[0].Waiting != 1 || st.Holds[0].Arrived != 1 {
		t.Errorf("GET /_fake/faults holds = %+v; want one request waiting", st.Holds)
	}
	held.Release()
	r := <-done
	if r.err != nil || r.pr.GetHead().GetSHA() != newHead {
		t.Fatalf("held read = %v, %v; want head %s (the state after the event)", r.pr.GetHead().GetSHA(), r.err, newHead)
	}
	// The hold was for one request: the next passes at once.
	if pr, _, err := client.PullRequests.Get(ctx, owner, repoName, 3); err != nil || pr.GetNumber() != 3 {
		t.Errorf("next read = %v, %v", pr.GetNumber(), err)
	}
	if st := s.Faults(); len(st.Holds) != 0 || len(st.Faults) != 0 {
		t.Errorf("faults after the release = %+v; want none", st)
	}
}

// TestHoldOverHTTP drives a hold through the admin API only: a delay fault
// that holds, /wait to learn it arrived, /release to let it go.
func TestHoldOverHTTP(t *testing.T) {
	s := startServer(t, testScenario)
	tok := installationToken(t, s, 7)
	route := "GET /repos/{owner}/{repo}"
	if res := do(t, s, "POST", "/_fake/faults", "", `{"route": "`+route+`", "hold": true, "delay": "1h", "status": 503}`); res.StatusCode != 204 {
		t.Fatalf("POST /_fake/faults = %d", res.StatusCode)
	}
	if res := do(t, s, "POST", "/_fake/faults/wait", "", `{"route": "GET /repos/{owner}/{repo}/pulls", "timeout": "1ms"}`); res.StatusCode != 404 {
		t.Errorf("wait on a route without a hold = %d; want 404", res.StatusCode)
	}
	got := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.URL()+"/repos/Codertocat/Hello-World", nil)
		req.Header.Set("Authorization", "token "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- 0
			return
		}
		res.Body.Close()
		got <- res.StatusCode
	}()
	res := do(t, s, "POST", "/_fake/faults/wait", "", `{"route": "`+route+`", "timeout": "30s"}`)
	var arrived struct{ Arrived int }
	_ = json.NewDecoder(res.Body).Decode(&arrived)
	if res.StatusCode != 200 || arrived.Arrived != 1 {
		t.Fatalf("POST /_fake/faults/wait = %d %+v; want 200 with 1 arrived", res.StatusCode, arrived)
	}
	res = do(t, s, "POST", "/_fake/faults/release", "", `{"route": "`+route+`"}`)
	var released struct{ Released int }
	_ = json.NewDecoder(res.Body).Decode(&released)
	if res.StatusCode != 200 || released.Released != 1 {
		t.Errorf("POST /_fake/faults/release = %d %+v", res.StatusCode, released)
	}
	if code := <-got; code != 503 {
		t.Errorf("released request = %d; want the fault's 503", code)
	}
	for body, want := range map[string]int{
		`{"route": "GET /repos/{owner}/{repo}", "delay": "soon"}`:   400,
		`{"route": "GET /repos/{owner}/{repo}", "colour": "red"}`:   400,
		`{"route": "GET /repos/{owner}/{repo}", "delay": "150ms"}`:  204,
		`{"route": "GET /repos/{owner}/{repo}/nope", "hold": true}`: 422,
	} {
		if res := do(t, s, "POST", "/_fake/faults", "", body); res.StatusCode != want {
			t.Errorf("POST /_fake/faults %s = %d; want %d", body, res.StatusCode, want)
		}
	}
	res = do(t, s, "GET", "/_fake/faults", "", "")
	var list FaultsStatus
	_ = json.NewDecoder(res.Body).Decode(&list)
	if len(list.Faults) != 1 || list.Faults[0].Delay != 150*time.Millisecond || list.Faults[0].Status != 0 {
		t.Errorf("GET /_fake/faults = %+v; want the 150ms delay, no status", list)
	}
}

// TestFaultAnswersShowTheCallersBudget: a fault's rate-limit headers are
// those of the installation that called, not the anonymous 60.
func TestFaultAnswersShowTheCallersBudget(t *testing.T) {
	s := startServer(t, testScenario)
	tok := installationToken(t, s, 7)
	do(t, s, "GET", "/repos/Codertocat/Hello-World/pulls/2", tok, "")
	s.Fault(Fault{Route: "GET /repos/{owner}/{repo}"})
	s.Fault(Fault{Route: "GET /repos/{owner}/{repo}", Secondary: true, RetryAfter: 3})
	for _, want := range []int{502, 403} {
		res := do(t, s, "GET", "/repos/Codertocat/Hello-World", tok, "")
		if res.StatusCode != want || res.Header.Get("X-RateLimit-Limit") != "5000" || res.Header.Get("X-RateLimit-Used") != "1" {
			t.Errorf("fault %d: status %d, limit %s, used %s; want the installation's 5000 with 1 used", want, res.StatusCode,
				res.Header.Get("X-RateLimit-Limit"), res.Header.Get("X-RateLimit-Used"))
		}
	}
	if n := s.Stats().SecondaryLimited; n != 1 {
		t.Errorf("secondary_limited = %d; want 1", n)
	}
}

// TestSecondaryPointsPerEndpoint spends the 900 points a minute of one
// endpoint with updates (5 points each): the next is refused with
// go-github's *github.AbuseRateLimitError, another endpoint still answers,
// and a minute later the endpoint answers again.
func TestSecondaryPointsPerEndpoint(t *testing.T) {
	var clk clock
	s := startServer(t, "secondary_limits: true\n"+testScenario, func(o *Options) { o.Now = clk.Now })
	client := installationClient(t, s, 7)
	ctx := context.Background()
	cr, _, err := client.Checks.CreateCheckRun(ctx, owner, repoName, github.CreateCheckRunOptions{Name: "ci/docs", HeadSHA: headSHA})
	if err != nil {
		t.Fatal(err)
	}
	tok := installationToken(t, s, 7)
	update := func() *http.Response {
		return do(t, s, "PATCH", "/repos/Codertocat/Hello-World/check-runs/"+strconv.FormatInt(cr.GetID(), 10), tok, `{"status":"in_progress"}`)
	}
	for i := 0; i < restPointsPerMinute/5; i++ {
		if res := update(); res.StatusCode != 200 {
			t.Fatalf("update %d = %d", i+1, res.StatusCode)
		}
	}
	_, _, err = client.Checks.UpdateCheckRun(ctx, owner, repoName, cr.GetID(), github.UpdateCheckRunOptions{Name: "ci/docs"})
	var are *github.AbuseRateLimitError
	if !errors.As(err, &are) || are.RetryAfter == nil || *are.RetryAfter > time.Minute {
		t.Fatalf("update 181 = %v; want *github.AbuseRateLimitError within a minute", err)
	}
	// go-github now refuses locally until retry-after; a raw read shows the
	// other endpoint still answers.
	if res := do(t, s, "GET", "/repos/Codertocat/Hello-World/check-runs/"+strconv.FormatInt(cr.GetID(), 10), tok, ""); res.StatusCode != 200 {
		t.Errorf("another endpoint after the limit = %d; want 200", res.StatusCode)
	}
	if n := s.Stats().SecondaryLimited; n != 1 {
		t.Errorf("secondary_limited = %d; want 1", n)
	}
	clk.Advance(61 * time.Second)
	if res := update(); res.StatusCode != 200 {
		t.Errorf("update a minute later = %d; want 200", res.StatusCode)
	}
}

func TestSecondaryPointCosts(t *testing.T) {
	tests := []struct {
		method, key string
		cost, limit int
	}{
		{"GET", "GET /repos/{owner}/{repo}", 1, 900},
		{"HEAD", "GET /repos/{owner}/{repo}", 1, 900},
		{"POST", "POST /repos/{owner}/{repo}/statuses/{sha}", 5, 900},
		{"PATCH", "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", 5, 900},
		{"POST", graphqlRouteKey, 1, 2000},
	}
	for _, tc := range tests {
		c := &reqCtx{r: &http.Request{Method: tc.method}, route: &route{key: tc.key}}
		if cost, limit := secondaryPoints(c); cost != tc.cost || limit != tc.limit {
			t.Errorf("%s %s = %d of %d; want %d of %d", tc.method, tc.key, cost, limit, tc.cost, tc.limit)
		}
	}
	// The window frees points as they age past a minute.
	var pw pointWindow
	t0 := time.Unix(1_700_000_000, 0)
	pw.add(t0, 1000)
	pw.add(t0.Add(30*time.Second), 900)
	if d := pw.wait(t0.Add(40*time.Second), 101, 2000); d != 20*time.Second {
		t.Errorf("wait with 1,900 of 2,000 spent and 101 asked = %s; want 20s (until the first points age out)", d)
	}
	if d := pw.wait(t0.Add(61*time.Second), 1000, 2000); d != 0 {
		t.Errorf("wait after the first points aged out = %s; want 0", d)
	}
}

// TestConcurrencyLimitCountsHeldRequests holds 100 requests in flight (as
// a slow GitHub or --latency would): the 101st concurrent one is refused.
func TestConcurrencyLimitCountsHeldRequests(t *testing.T) {
	s := startServer(t, "secondary_limits: true\n"+testScenario)
	tok := installationToken(t, s, 7)
	held := &Held{s: s, h: s.addFault(Fault{Route: "GET /repos/{owner}/{repo}/pulls/{pull_number}", Hold: true, Count: maxConcurrent})}
	var wg sync.WaitGroup
	codes := make(chan int, maxConcurrent)
	for i := 0; i < maxConcurrent; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", s.URL()+"/repos/Codertocat/Hello-World/pulls/2", nil)
			req.Header.Set("Authorization", "token "+tok)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	<-held.Arrived()
	res := do(t, s, "GET", "/repos/Codertocat/Hello-World", tok, "")
	var body struct{ Message string }
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != 403 || res.Header.Get("Retry-After") == "" || !strings.HasPrefix(body.Message, "You have exceeded a secondary rate limit") {
		t.Errorf("request 101 = %d %q (retry-after %q); want GitHub's secondary limit", res.StatusCode, body.Message, res.Header.Get("Retry-After"))
	}
	held.Release()
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 {
			t.Errorf("a held request = %d; want 200", code)
		}
	}
	if res := do(t, s, "GET", "/repos/Codertocat/Hello-World", tok, ""); res.StatusCode != 200 {
		t.Errorf("after the held requests finished = %d; want 200", res.StatusCode)
	}
}

// TestAcceptedPermissions: answers name the permissions their endpoint
// needs, and a missing one is GitHub's 403 with that header.
func TestAcceptedPermissions(t *testing.T) {
	s := startServer(t, testScenario)
	tok := installationToken(t, s, 7)
	org := installationToken(t, s, 8)
	const r = "/repos/Codertocat/Hello-World"
	tests := []struct {
		name, method, path, token, body string
		status                          int
		header                          string
	}{
		{"classic protection", "GET", r + "/branches/master/protection/required_status_checks", tok, "", 200, "administration=read"},
		{"classic protection without administration", "GET", "/repos/octo-org/service/branches/main/protection/required_status_checks", org, "", 403, "administration=read"},
		{"status", "POST", r + "/statuses/" + headSHA, tok, `{"state":"success"}`, 201, "statuses=write"},
		{"status without write", "POST", "/repos/octo-org/service/statuses/" + headSHA, org, `{"state":"success"}`, 403, "statuses=write"},
		{"contents", "GET", r + "/contents/README.md", tok, "", 200, "contents=read"},
		{"pulls", "GET", r + "/pulls", tok, "", 200, "pull_requests=read"},
		{"check run", "POST", r + "/check-runs", tok, `{"name":"x","head_sha":"` + headSHA + `"}`, 201, "checks=write"},
		{"check run without checks", "POST", "/repos/octo-org/service/check-runs", org, `{"name":"x","head_sha":"` + headSHA + `"}`, 403, "checks=write"},
		{"comment", "POST", r + "/issues/2/comments", tok, `{"body":"hi"}`, 201, "issues=write; pull_requests=write"},
		{"pulls of a commit", "GET", r + "/commits/" + headSHA + "/pulls", tok, "", 200, "contents=read,pull_requests=read"},
		{"pulls of a commit without contents", "GET", "/repos/octo-org/service/commits/main/pulls", org, "", 403, "contents=read,pull_requests=read"},
		{"metadata", "GET", r, tok, "", 200, "metadata=read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, s, tc.method, tc.path, tc.token, tc.body)
			var body struct {
				Message          string `json:"message"`
				DocumentationURL string `json:"documentation_url"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			if res.StatusCode != tc.status || res.Header.Get("X-Accepted-GitHub-Permissions") != tc.header {
				t.Errorf("%s %s = %d, X-Accepted-GitHub-Permissions %q; want %d, %q", tc.method, tc.path, res.StatusCode,
					res.Header.Get("X-Accepted-GitHub-Permissions"), tc.status, tc.header)
			}
			if tc.status == 403 && (body.Message != "Resource not accessible by integration" || !strings.HasPrefix(body.DocumentationURL, "https://docs.github.com/rest/")) {
				t.Errorf("403 body = %+v; want GitHub's", body)
			}
		})
	}
}
