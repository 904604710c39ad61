package fakegithub

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
)

const (
	owner    = "Codertocat"
	repoName = "Hello-World"
	headSHA  = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
)

func TestInstallationTokenExchange(t *testing.T) {
	s := startServer(t, testScenario)
	ctx := context.Background()
	cc := clientCreator(t, s)
	app, err := cc.NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	insts, _, err := app.Apps.ListInstallations(ctx, nil)
	if err != nil {
		t.Fatalf("ListInstallations: %v", err)
	}
	var ids []int64
	for _, in := range insts {
		ids = append(ids, in.GetID())
	}
	if diff := cmp.Diff([]int64{7, 8}, ids); diff != "" {
		t.Errorf("installation ids (-want +got):\n%s", diff)
	}
	self, _, err := app.Apps.Get(ctx, "")
	if err != nil || self.GetSlug() != "fix-status" || self.GetID() != 42 {
		t.Errorf("GET /app = %v, %v; want fix-status (42)", self, err)
	}
	in, _, err := app.Apps.FindRepositoryInstallation(ctx, owner, repoName)
	if err != nil || in.GetID() != 7 {
		t.Errorf("FindRepositoryInstallation = %v, %v; want 7", in, err)
	}
	org, _, err := app.Apps.FindOrganizationInstallation(ctx, "octo-org")
	if err != nil || org.GetID() != 8 || org.GetTargetType() != "Organization" {
		t.Errorf("FindOrganizationInstallation = %v, %v; want 8", org, err)
	}
	if _, _, err := app.Apps.FindOrganizationInstallation(ctx, owner); !isStatus(err, 404) {
		t.Errorf("FindOrganizationInstallation on a user = %v; want 404", err)
	}
	if _, _, err := app.Apps.FindRepositoryInstallation(ctx, owner, "not-installed"); !isStatus(err, 404) {
		t.Errorf("FindRepositoryInstallation(not installed) = %v; want 404", err)
	}

	tok, res, err := app.Apps.CreateInstallationToken(ctx, 7, nil)
	if err != nil {
		t.Fatalf("CreateInstallationToken: %v", err)
	}
	if res.StatusCode != 201 || !strings.HasPrefix(tok.GetToken(), "ghs_") {
		t.Errorf("token = %q (status %d); want a ghs_ token and 201", tok.GetToken(), res.StatusCode)
	}
	if until := time.Until(tok.GetExpiresAt().Time); until < 55*time.Minute || until > 61*time.Minute {
		t.Errorf("token expires in %s; want about an hour", until)
	}
	if got := tok.GetPermissions().GetStatuses(); got != "write" {
		t.Errorf("token statuses permission = %q; want write", got)
	}

	client := installationClient(t, s, 7)
	repos, _, err := client.Apps.ListRepos(ctx, nil)
	if err != nil || repos.GetTotalCount() != 2 {
		t.Fatalf("ListRepos = %v, %v; want 2 repositories", repos, err)
	}
	pulls, _, err := client.PullRequests.List(ctx, owner, repoName, nil)
	if err != nil {
		t.Fatalf("PullRequests.List: %v", err)
	}
	if len(pulls) != 2 || pulls[0].GetNumber() != 3 || pulls[1].GetNumber() != 2 {
		t.Errorf("open pulls = %d; want #3 then #2", len(pulls))
	}
	st := s.Stats()
	if st.ByRoute["POST /app/installations/{installation_id}/access_tokens"] != 2 {
		t.Errorf("token requests = %d; want 2 (one by hand, one by ghinstallation)", st.ByRoute["POST /app/installations/{installation_id}/access_tokens"])
	}
	if st.RateLimitUsed["7"] != 2 {
		t.Errorf("rate limit used by installation 7 = %d; want 2 (JWT calls are free)", st.RateLimitUsed["7"])
	}
}

func isStatus(err error, code int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == code
}

func TestPaginatedPullFiles(t *testing.T) {
	s := startServer(t, testScenario)
	client := installationClient(t, s, 7)
	ctx := context.Background()
	var all []*github.CommitFile
	opts := &github.ListOptions{PerPage: 100}
	pages := 0
	for {
		files, res, err := client.PullRequests.ListFiles(ctx, owner, repoName, 3, opts)
		if err != nil {
			t.Fatalf("ListFiles page %d: %v", opts.Page, err)
		}
		pages++
		all = append(all, files...)
		if res.NextPage == 0 {
			if res.LastPage != 0 {
				t.Errorf("last page has a last link")
			}
			break
		}
		if res.LastPage != 30 {
			t.Errorf("page %d: last page = %d; want 30", pages, res.LastPage)
		}
		opts.Page = res.NextPage
	}
	// The PR has 3,250 files; GitHub lists the first 3,000 only.
	if len(all) != 3000 || pages != 30 {
		t.Errorf("listed %d files in %d pages; want 3000 in 30", len(all), pages)
	}
	pr, _, err := client.PullRequests.Get(ctx, owner, repoName, 3)
	if err != nil || pr.GetChangedFiles() != 3250 {
		t.Errorf("changed_files = %d (%v); want 3250", pr.GetChangedFiles(), err)
	}
	// per_page above 100 is capped at 100.
	files, _, err := client.PullRequests.ListFiles(ctx, owner, repoName, 3, &github.ListOptions{PerPage: 500})
	if err != nil || len(files) != 100 {
		t.Errorf("per_page=500 gave %d files (%v); want 100", len(files), err)
	}
	// The default page size is 30.
	pulls, res, err := client.PullRequests.List(ctx, owner, repoName, &github.PullRequestListOptions{State: "all", ListOptions: github.ListOptions{PerPage: 2}})
	if err != nil || len(pulls) != 2 || res.NextPage != 2 || res.LastPage != 2 {
		t.Errorf("pulls page 1 = %d, next %d, last %d (%v); want 2, 2, 2", len(pulls), res.NextPage, res.LastPage, err)
	}
}

func TestNotModifiedFromHTTPCache(t *testing.T) {
	s := startServer(t, testScenario)
	client := installationClient(t, s, 7)
	ctx := context.Background()
	first, res, err := client.Repositories.GetCombinedStatus(ctx, owner, repoName, headSHA, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Get("ETag") == "" || res.Header.Get("X-From-Cache") != "" {
		t.Fatalf("first read: ETag %q, X-From-Cache %q", res.Header.Get("ETag"), res.Header.Get("X-From-Cache"))
	}
	used := s.Stats().RateLimitUsed["7"]
	second, res, err := client.Repositories.GetCombinedStatus(ctx, owner, repoName, headSHA, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Get("X-From-Cache") != "1" {
		t.Errorf("second read was not served from the cache")
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("cached body differs:\n%s", diff)
	}
	st := s.Stats()
	if st.NotModified != 1 || st.RateLimitUsed["7"] != used {
		t.Errorf("not_modified = %d, charged %d more; want 1 and 0", st.NotModified, st.RateLimitUsed["7"]-used)
	}
	// A new status changes the resource: the next read is a fresh 200.
	if _, _, err := client.Repositories.CreateStatus(ctx, owner, repoName, headSHA, &github.RepoStatus{
		State: github.String("success"), Context: github.String("CI/Build"), Description: github.String("ok")}); err != nil {
		t.Fatal(err)
	}
	third, res, err := client.Repositories.GetCombinedStatus(ctx, owner, repoName, headSHA, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Get("X-From-Cache") != "" {
		t.Errorf("read after a write came from the cache")
	}
	// Contexts are case-insensitive: CI/Build replaced ci/build.
	if third.GetTotalCount() != 1 || third.GetState() != "success" || third.Statuses[0].GetContext() != "CI/Build" {
		t.Errorf("combined status = %d contexts, %s, %q; want 1, success, CI/Build", third.GetTotalCount(), third.GetState(), third.Statuses[0].GetContext())
	}
}

func TestValidationErrors(t *testing.T) {
	s := startServer(t, testScenario)
	client := installationClient(t, s, 7)
	ctx := context.Background()
	tests := map[string]struct {
		status *github.RepoStatus
		sha    string
		field  string
	}{
		"description over 140": {&github.RepoStatus{State: github.String("success"), Description: github.String(strings.Repeat("x", 141))}, headSHA, "description"},
		"unknown state":        {&github.RepoStatus{State: github.String("done")}, headSHA, "state"},
		"unknown sha":          {&github.RepoStatus{State: github.String("success")}, strings.Repeat("0", 40), ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := client.Repositories.CreateStatus(ctx, owner, repoName, tc.sha, tc.status)
			var er *github.ErrorResponse
			if !errors.As(err, &er) || er.Response.StatusCode != 422 {
				t.Fatalf("CreateStatus = %v; want a 422", err)
			}
			if tc.field != "" && (len(er.Errors) != 1 || er.Errors[0].Field != tc.field || er.Message != "Validation Failed") {
				t.Errorf("error = %+v; want Validation Failed on %s", er, tc.field)
			}
		})
	}
	// 140 characters (not bytes) are fine.
	if _, _, err := client.Repositories.CreateStatus(ctx, owner, repoName, headSHA, &github.RepoStatus{
		State: github.String("success"), Description: github.String(strings.Repeat("é", 140))}); err != nil {
		t.Errorf("140-character description: %v", err)
	}
}

func TestStatusLimitPerContext(t *testing.T) {
	s := startServer(t, testScenario)
	s.mu.Lock()
	c := s.w.repo("Codertocat/Hello-World").commits[headSHA]
	for i := 0; i < maxStatusesPerContext-1; i++ {
		c.statuses = append(c.statuses, &status{id: s.w.newID(), sha: headSHA, context: "ci/flaky", state: "pending", creator: "prow", createdAt: time.Now()})
	}
	s.mu.Unlock()
	client := installationClient(t, s, 7)
	ctx := context.Background()
	st := &github.RepoStatus{State: github.String("success"), Context: github.String("CI/FLAKY")}
	if _, _, err := client.Repositories.CreateStatus(ctx, owner, repoName, headSHA, st); err != nil {
		t.Fatalf("status 1000: %v", err)
	}
	_, _, err := client.Repositories.CreateStatus(ctx, owner, repoName, headSHA, st)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 422 || len(er.Errors) != 1 ||
		er.Errors[0].Message != "This SHA and context has reached the maximum number of statuses." {
		t.Errorf("status 1001 = %v; want GitHub's 422", err)
	}
}

func TestMissingPermission(t *testing.T) {
	s := startServer(t, testScenario)
	client := installationClient(t, s, 8)
	ctx := context.Background()
	_, _, err := client.Repositories.GetRequiredStatusChecks(ctx, "octo-org", "service", "main")
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 403 || er.Message != "Resource not accessible by integration" {
		t.Fatalf("GetRequiredStatusChecks without administration = %v; want 403", err)
	}
	_, _, err = client.Repositories.CreateStatus(ctx, "octo-org", "service", s.State().Repos[3].Branches["main"].SHA, &github.RepoStatus{State: github.String("success")})
	if !isStatus(err, 403) {
		t.Errorf("CreateStatus with statuses:read = %v; want 403", err)
	}
	// Reads it may do work; repositories of another installation are hidden.
	if _, _, err := client.Repositories.GetCombinedStatus(ctx, "octo-org", "service", "main", nil); err != nil {
		t.Errorf("GetCombinedStatus: %v", err)
	}
	if _, _, err := client.PullRequests.List(ctx, owner, repoName, nil); !isStatus(err, 404) {
		t.Errorf("a repository outside the installation = %v; want 404", err)
	}
}

func TestPrimaryRateLimitExhausted(t *testing.T) {
	sc := strings.Replace(testScenario, "rate_limit: 5000", "rate_limit: 3", 1)
	s := startServer(t, sc)
	client := installationClient(t, s, 7)
	ctx := context.Background()
	var err error
	var res *github.Response
	// Three different reads (the HTTP cache would make a repeated one free).
	for i, path := range []string{"", "/pulls/2", "/pulls/3"} {
		req, _ := client.NewRequest("GET", "repos/Codertocat/Hello-World"+path, nil)
		if res, err = client.Do(ctx, req, nil); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if res.Rate.Remaining != 0 || res.Rate.Limit != 3 {
		t.Errorf("after 3 requests rate = %+v; want 0 of 3 left", res.Rate)
	}
	// A new client (go-github would refuse locally once it saw 0 remaining).
	_, _, err = installationClient(t, s, 7).PullRequests.List(ctx, owner, repoName, nil)
	var rle *github.RateLimitError
	if !errors.As(err, &rle) {
		t.Fatalf("4th request = %T %v; want *github.RateLimitError", err, err)
	}
	if rle.Message != "API rate limit exceeded for installation ID 7." || rle.Response.StatusCode != 403 {
		t.Errorf("rate limit error = %q (%d)", rle.Message, rle.Response.StatusCode)
	}
	if until := time.Until(rle.Rate.Reset.Time); until < 55*time.Minute || until > time.Hour+time.Second {
		t.Errorf("reset in %s; want within the hour", until)
	}
	// GET /rate_limit is free and still answers.
	tok := installationToken(t, s, 7)
	res2 := do(t, s, "GET", "/rate_limit", tok, "")
	var rl struct{ Rate struct{ Remaining, Used int } }
	_ = json.NewDecoder(res2.Body).Decode(&rl)
	if res2.StatusCode != 200 || rl.Rate.Remaining != 0 || rl.Rate.Used != 3 {
		t.Errorf("GET /rate_limit = %d %+v; want 200 with 3 used", res2.StatusCode, rl.Rate)
	}
}

func TestSecondaryRateLimit(t *testing.T) {
	s := startServer(t, testScenario)
	client := installationClient(t, s, 7)
	ctx := context.Background()
	s.Fault(Fault{Route: "POST /repos/{owner}/{repo}/statuses/{sha}", Secondary: true, RetryAfter: 1})
	_, _, err := client.Repositories.CreateStatus(ctx, owner, repoName, headSHA, &github.RepoStatus{State: github.String("success")})
	var are *github.AbuseRateLimitError
	if !errors.As(err, &are) {
		t.Fatalf("CreateStatus = %T %v; want *github.AbuseRateLimitError", err, err)
	}
	if are.RetryAfter == nil || *are.RetryAfter != time.Second {
		t.Errorf("retry after = %v; want 1s", are.RetryAfter)
	}
	if !strings.HasPrefix(are.Message, "You have exceeded a secondary rate limit") {
		t.Errorf("message = %q", are.Message)
	}
	if len(s.State().Repos[0].Pulls[0].Statuses) != 1 {
		t.Errorf("the failed write was recorded")
	}
}

func TestFaults(t *testing.T) {
	s := startServer(t, testScenario)
	tok := installationToken(t, s, 7)
	res := do(t, s, "POST", "/_fake/faults", "", `{"route": "GET /repos/{owner}/{repo}", "status": 502, "count": 2}`)
	if res.StatusCode != 204 {
		t.Fatalf("POST /_fake/faults = %d", res.StatusCode)
	}
	var got []int
	for i := 0; i < 3; i++ {
		got = append(got, do(t, s, "GET", "/repos/Codertocat/Hello-World", tok, "").StatusCode)
	}
	if diff := cmp.Diff([]int{502, 502, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if res := do(t, s, "POST", "/_fake/faults", "", `{"route": "GET /nope"}`); res.StatusCode != 422 {
		t.Errorf("fault on an unknown route = %d; want 422", res.StatusCode)
	}
	s.Fault(Fault{Secondary: true, Status: 429, RetryAfter: 5})
	res = do(t, s, "GET", "/repos/Codertocat/Hello-World/pulls", tok, "")
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "5" {
		t.Errorf("429 fault = %d retry-after %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

func TestAppJWT(t *testing.T) {
	var clk clock
	s := startServer(t, testScenario, func(o *Options) { o.Now = clk.Now })
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(key *rsa.PrivateKey, iss any, iat, exp time.Time) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": iss, "iat": iat.Unix(), "exp": exp.Unix()})
		out, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	now := time.Now()
	tests := map[string]struct {
		jwt     string
		status  int
		message string
	}{
		"valid":           {sign(s.key, "42", now.Add(-30*time.Second), now.Add(time.Minute)), 200, ""},
		"numeric issuer":  {sign(s.key, 42, now.Add(-30*time.Second), now.Add(time.Minute)), 200, ""},
		"wrong key":       {sign(other, "42", now, now.Add(time.Minute)), 401, "A JSON web token could not be decoded"},
		"expired":         {sign(s.key, "42", now.Add(-5*time.Minute), now.Add(-time.Minute)), 401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"},
		"too far ahead":   {sign(s.key, "42", now, now.Add(time.Hour)), 401, "'Expiration time' claim ('exp') is too far in the future"},
		"another app":     {sign(s.key, "43", now, now.Add(time.Minute)), 401, "Integration not found"},
		"not a jwt token": {"ghs_unknown", 401, "Bad credentials"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := do(t, s, "GET", "/app/installations", tc.jwt, "")
			var body struct{ Message, DocumentationURL string }
			data, _ := io.ReadAll(res.Body)
			_ = json.Unmarshal(data, &body)
			if res.StatusCode != tc.status || (tc.message != "" && body.Message != tc.message) {
				t.Errorf("GET /app/installations = %d %q; want %d %q", res.StatusCode, body.Message, tc.status, tc.message)
			}
		})
	}
	// An installation token does not work on /app endpoints, nor a JWT on repositories.
	tok := installationToken(t, s, 7)
	if res := do(t, s, "GET", "/app/installations", tok, ""); res.StatusCode != 401 {
		t.Errorf("token on /app/installations = %d; want 401", res.StatusCode)
	}
	if res := do(t, s, "GET", "/repos/Codertocat/Hello-World", sign(s.key, "42", now, now.Add(time.Minute)), ""); res.StatusCode != 403 {
		t.Errorf("JWT on a repository = %d; want 403", res.StatusCode)
	}
	// Tokens expire after an hour.
	if res := do(t, s, "GET", "/repos/Codertocat/Hello-World", tok, ""); res.StatusCode != 200 {
		t.Errorf("fresh token = %d", res.StatusCode)
	}
	clk.Advance(61 * time.Minute)
	if res := do(t, s, "GET", "/repos/Codertocat/Hello-World", tok, ""); res.StatusCode != 401 {
		t.Errorf("expired token = %d; want 401", res.StatusCode)
	}
}

func TestTokenScope(t *testing.T) {
	s := startServer(t, testScenario)
	ctx := context.Background()
	app, err := clientCreator(t, s).NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := app.Apps.CreateInstallationToken(ctx, 7, &github.InstallationTokenOptions{
		Repositories: []string{"Hello-World"}, Permissions: &github.InstallationPermissions{Statuses: github.String("read")}})
	if err != nil {
		t.Fatalf("narrowed token: %v", err)
	}
	if res := do(t, s, "GET", "/repos/Codertocat/private-repo", tok.GetToken(), ""); res.StatusCode != 404 {
		t.Errorf("repository outside the token = %d; want 404", res.StatusCode)
	}
	if res := do(t, s, "GET", "/repos/Codertocat/Hello-World/commits/master/status", tok.GetToken(), ""); res.StatusCode != 200 {
		t.Errorf("granted read = %d; want 200", res.StatusCode)
	}
	if res := do(t, s, "GET", "/repos/Codertocat/Hello-World/pulls", tok.GetToken(), ""); res.StatusCode != 403 {
		t.Errorf("permission left out of the token = %d; want 403", res.StatusCode)
	}
	_, _, err = app.Apps.CreateInstallationToken(ctx, 8, &github.InstallationTokenOptions{
		Permissions: &github.InstallationPermissions{Statuses: github.String("write")}})
	if !isStatus(err, 422) {
		t.Errorf("widening a token = %v; want 422", err)
	}
	// Without credentials: public repositories only, reads only.
	if res := do(t, s, "GET", "/repos/Codertocat/Hello-World/pulls/2", "", ""); res.StatusCode != 200 || res.Header.Get("X-RateLimit-Limit") != "60" {
		t.Errorf("anonymous read = %d (limit %s); want 200 with GitHub's 60/hour", res.StatusCode, res.Header.Get("X-RateLimit-Limit"))
	}
	if res := do(t, s, "GET", "/repos/Codertocat/private-repo", "", ""); res.StatusCode != 404 {
		t.Errorf("anonymous read of a private repository = %d; want 404", res.StatusCode)
	}
	if res := do(t, s, "POST", "/repos/Codertocat/Hello-World/statuses/"+headSHA, "", `{"state":"success"}`); res.StatusCode != 401 {
		t.Errorf("anonymous write = %d; want 401", res.StatusCode)
	}
}

func TestErrorsLikeGitHub(t *testing.T) {
	s := startServer(t, testScenario)
	tok := installationToken(t, s, 7)
	tests := map[string]struct {
		method, path, body string
		status             int
		message            string
	}{
		"unknown route":         {"GET", "/nope", "", 404, "Not Found"},
		"unknown repository":    {"GET", "/repos/Codertocat/nope", "", 404, "Not Found"},
		"unknown pull":          {"GET", "/repos/Codertocat/Hello-World/pulls/99", "", 404, "Not Found"},
		"malformed JSON":        {"POST", "/repos/Codertocat/Hello-World/statuses/" + headSHA, "{", 400, "Problems parsing JSON"},
		"mistyped JSON":         {"POST", "/repos/Codertocat/Hello-World/statuses/" + headSHA, `{"state": 5}`, 422, "Invalid request.\n\nFor 'properties/state', a number is not a string."},
		"not protected":         {"GET", "/repos/Codertocat/Hello-World/branches/release%2Fv1/protection", "", 404, "Branch not protected"},
		"unknown branch":        {"GET", "/repos/Codertocat/Hello-World/branches/nope/protection/required_status_checks", "", 404, "Branch not found"},
		"missing file":          {"GET", "/repos/Codertocat/Hello-World/contents/nope.txt", "", 404, "Not Found"},
		"unknown ref":           {"GET", "/repos/Codertocat/Hello-World/contents/README.md?ref=nope", "", 404, "No commit found for the ref nope"},
		"invalid pulls state":   {"GET", "/repos/Codertocat/Hello-World/pulls?state=merged", "", 422, "Validation Failed"},
		"comment without body":  {"POST", "/repos/Codertocat/Hello-World/issues/2/comments", `{}`, 422, "Validation Failed"},
		"check run without sha": {"POST", "/repos/Codertocat/Hello-World/check-runs", `{"name":"x"}`, 422, "Validation Failed"},
		"wrong reaction":        {"POST", "/repos/Codertocat/Hello-World/issues/comments/1/reactions", `{"content":"+1"}`, 404, "Not Found"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := do(t, s, tc.method, tc.path, tok, tc.body)
			var body struct {
				Message          string `json:"message"`
				DocumentationURL string `json:"documentation_url"`
			}
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if res.StatusCode != tc.status || body.Message != tc.message || !strings.HasPrefix(body.DocumentationURL, "https://docs.github.com/") {
				t.Errorf("%s %s = %d %+v; want %d %q", tc.method, tc.path, res.StatusCode, body, tc.status, tc.message)
			}
		})
	}
}

// TestOperationsThroughGoGitHub drives the remaining operations with go-github
// and checks what a user of the app would see.
func TestOperationsThroughGoGitHub(t *testing.T) {
	s := startServer(t, testScenario)
	client := installationClient(t, s, 7)
	ctx := context.Background()

	rc, _, err := client.Repositories.GetRequiredStatusChecks(ctx, owner, repoName, "master")
	if err != nil {
		t.Fatal(err)
	}
	var checks []string
	for _, c := range *rc.Checks {
		checks = append(checks, c.Context)
	}
	if diff := cmp.Diff([]string{"ci/lint", "ci/build"}, checks); diff != "" || !rc.Strict || (*rc.Checks)[0].GetAppID() != 15368 || (*rc.Checks)[1].AppID != nil {
		t.Errorf("required checks = %+v (%s)", rc, diff)
	}
	prot, _, err := client.Repositories.GetBranchProtection(ctx, owner, repoName, "master")
	if err != nil || len(*prot.GetRequiredStatusChecks().Checks) != 2 {
		t.Errorf("GetBranchProtection = %+v, %v", prot, err)
	}
	rules, _, err := client.Repositories.GetRulesForBranch(ctx, owner, repoName, "master")
	if err != nil || len(rules) != 1 {
		t.Fatalf("GetRulesForBranch = %v, %v", rules, err)
	}
	var params github.RequiredStatusChecksRuleParameters
	if err := json.Unmarshal(*rules[0].Parameters, &params); err != nil || params.RequiredStatusChecks[0].Context != "ci/rules" ||
		params.RequiredStatusChecks[0].GetIntegrationID() != 15368 {
		t.Errorf("rule parameters = %+v, %v", params, err)
	}
	if rules, _, err := client.Repositories.GetRulesForBranch(ctx, owner, repoName, "release/v1"); err != nil || len(rules) != 0 {
		t.Errorf("rules for release/v1 = %v, %v; want none", rules, err)
	}

	file, _, _, err := client.Repositories.GetContents(ctx, owner, repoName, ".github/fix-status.yml", &github.RepositoryContentGetOptions{Ref: "master"})
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := file.GetContent(); text != "version: 1\n" {
		t.Errorf("content = %q", text)
	}
	// At the PR head the PR's changes apply.
	file, _, _, err = client.Repositories.GetContents(ctx, owner, repoName, "README.md", &github.RepositoryContentGetOptions{Ref: headSHA})
	if text, _ := file.GetContent(); err != nil || text != "# Hello-World\nnew\n" {
		t.Errorf("README.md at the head = %q, %v", text, err)
	}
	_, dir, _, err := client.Repositories.GetContents(ctx, owner, repoName, "docs", nil)
	if err != nil || len(dir) != 2 || dir[0].GetType() != "file" || dir[1].GetType() != "dir" {
		t.Errorf("docs/ = %v, %v; want a.md and sub/", dir, err)
	}

	cmpr, _, err := client.Repositories.CompareCommits(ctx, owner, repoName, "master", headSHA, nil)
	if err != nil || cmpr.GetStatus() != "ahead" || len(cmpr.Files) != 2 {
		t.Errorf("compare = %v, %d files, %v", cmpr.GetStatus(), len(cmpr.Files), err)
	}

	perm, _, err := client.Repositories.GetPermissionLevel(ctx, owner, repoName, "triager")
	if err != nil || perm.GetPermission() != "read" || perm.GetUser().GetRoleName() != "triage" {
		t.Errorf("triager permission = %+v, %v", perm, err)
	}
	perm, _, err = client.Repositories.GetPermissionLevel(ctx, owner, repoName, owner)
	if err != nil || perm.GetPermission() != "admin" {
		t.Errorf("owner permission = %+v, %v", perm, err)
	}

	runs, _, err := client.Checks.ListCheckRunsForRef(ctx, owner, repoName, "changes", nil)
	if err != nil || runs.GetTotal() != 2 {
		t.Fatalf("ListCheckRunsForRef = %v, %v", runs, err)
	}
	created, _, err := client.Checks.CreateCheckRun(ctx, owner, repoName, github.CreateCheckRunOptions{
		Name: "ci/docs", HeadSHA: headSHA, Status: github.String("in_progress")})
	if err != nil || created.GetApp().GetSlug() != "fix-status" || created.GetStatus() != "in_progress" {
		t.Fatalf("CreateCheckRun = %+v, %v", created, err)
	}
	updated, _, err := client.Checks.UpdateCheckRun(ctx, owner, repoName, created.GetID(), github.UpdateCheckRunOptions{
		Name: "ci/docs", Conclusion: github.String("skipped"), Output: &github.CheckRunOutput{Title: github.String("Skipped"), Summary: github.String("no docs changed")}})
	if err != nil || updated.GetStatus() != "completed" || updated.GetConclusion() != "skipped" || updated.CompletedAt == nil {
		t.Errorf("UpdateCheckRun = %+v, %v", updated, err)
	}
	var e2e int64
	for _, r := range runs.CheckRuns {
		if r.GetName() == "ci/e2e" {
			e2e = r.GetID()
		}
	}
	if _, _, err := client.Checks.UpdateCheckRun(ctx, owner, repoName, e2e, github.UpdateCheckRunOptions{Name: "ci/e2e", Conclusion: github.String("success")}); !isStatus(err, 403) {
		t.Errorf("updating another app's check run = %v; want 403", err)
	}
	suites, _, err := client.Checks.ListCheckSuitesForRef(ctx, owner, repoName, headSHA, &github.ListCheckSuiteOptions{AppID: github.Int(15368)})
	if err != nil || suites.GetTotal() != 1 || suites.CheckSuites[0].GetConclusion() != "success" {
		t.Fatalf("ListCheckSuitesForRef = %+v, %v", suites, err)
	}
	wfRuns, _, err := client.Actions.ListRepositoryWorkflowRuns(ctx, owner, repoName, &github.ListWorkflowRunsOptions{HeadSHA: headSHA})
	if err != nil || wfRuns.GetTotalCount() != 1 || wfRuns.WorkflowRuns[0].GetCheckSuiteID() != suites.CheckSuites[0].GetID() {
		t.Fatalf("ListRepositoryWorkflowRuns = %+v, %v", wfRuns, err)
	}
	if _, err := client.Actions.RerunWorkflowByID(ctx, owner, repoName, wfRuns.WorkflowRuns[0].GetID()); err != nil {
		t.Fatalf("RerunWorkflowByID: %v", err)
	}
	if _, err := client.Checks.ReRequestCheckSuite(ctx, owner, repoName, suites.CheckSuites[0].GetID()); err != nil {
		t.Fatalf("ReRequestCheckSuite: %v", err)
	}
	lint, _, err := client.Checks.ListCheckRunsForRef(ctx, owner, repoName, headSHA, &github.ListCheckRunsOptions{CheckName: github.String("ci/lint")})
	if err != nil || lint.GetTotal() != 1 || lint.CheckRuns[0].GetStatus() != "queued" {
		t.Errorf("ci/lint after the re-run = %+v, %v; want one queued run (filter=latest)", lint, err)
	}

	comment, _, err := client.Issues.CreateComment(ctx, owner, repoName, 2, &github.IssueComment{Body: github.String("Skipped ci/docs")})
	if err != nil || comment.GetUser().GetLogin() != "fix-status[bot]" || comment.GetUser().GetType() != "Bot" {
		t.Fatalf("CreateComment = %+v, %v", comment, err)
	}
	comments, _, err := client.Issues.ListComments(ctx, owner, repoName, 2, nil)
	if err != nil || len(comments) != 2 || comments[0].GetBody() != "/fix-status" {
		t.Errorf("ListComments = %d, %v", len(comments), err)
	}
	reaction, res, err := client.Reactions.CreateIssueCommentReaction(ctx, owner, repoName, comments[0].GetID(), "+1")
	if err != nil || res.StatusCode != 201 || reaction.GetContent() != "+1" {
		t.Errorf("CreateIssueCommentReaction = %+v, %v", reaction, err)
	}
	if _, res, _ := client.Reactions.CreateIssueCommentReaction(ctx, owner, repoName, comments[0].GetID(), "+1"); res.StatusCode != 200 {
		t.Errorf("the same reaction again = %d; want 200", res.StatusCode)
	}
	if _, _, err := client.Repositories.CreateStatus(ctx, owner, repoName, headSHA, &github.RepoStatus{
		State: github.String("success"), Context: github.String("ci/docs"), Description: github.String("Skipped: no docs changed")}); err != nil {
		t.Fatal(err)
	}
	statuses, _, err := client.Repositories.ListStatuses(ctx, owner, repoName, headSHA, nil)
	if err != nil || len(statuses) != 2 || statuses[0].GetContext() != "ci/docs" || statuses[0].GetCreator().GetLogin() != "fix-status[bot]" {
		t.Errorf("ListStatuses = %v, %v; want ci/docs by fix-status[bot] first", statuses, err)
	}
	rate, _, err := client.RateLimit.Get(ctx)
	if err != nil || rate.GetCore().Limit != 5000 {
		t.Errorf("RateLimits = %+v, %v", rate, err)
	}
	repoObj, _, err := client.Repositories.Get(ctx, owner, repoName)
	if err != nil || repoObj.GetDefaultBranch() != "master" || repoObj.GetFullName() != "Codertocat/Hello-World" {
		t.Errorf("Repositories.Get = %+v, %v", repoObj, err)
	}

	// The state shows every write and who made it.
	st := s.State()
	pr := st.Repos[0].Pulls[0]
	last := pr.Statuses[len(pr.Statuses)-1]
	if last.Context != "ci/docs" || last.Creator != "fix-status[bot]" || last.CreatedAt.IsZero() {
		t.Errorf("state status = %+v", last)
	}
	var docs *StateCheckRun
	for i := range pr.CheckRuns {
		if pr.CheckRuns[i].Name == "ci/docs" {
			docs = &pr.CheckRuns[i]
		}
	}
	if docs == nil || docs.App != "fix-status" || docs.AppID != 42 || docs.Conclusion != "skipped" {
		t.Errorf("state check run = %+v", docs)
	}
	if c := pr.Comments[1]; c.User != "fix-status[bot]" || c.Body != "Skipped ci/docs" {
		t.Errorf("state comment = %+v", c)
	}
	if run := st.Repos[0].WorkflowRuns[0]; run.Attempt != 3 || len(run.RerunBy) != 1 || run.RerunBy[0] != "fix-status[bot]" {
		t.Errorf("state workflow run = %+v", run)
	}
	if w := s.Stats().Writes; w.Total != 7 || w.ByRoute["POST /repos/{owner}/{repo}/statuses/{sha}"] != 1 {
		t.Errorf("writes = %+v; want 7", w)
	}
}

func TestLatency(t *testing.T) {
	s := startServer(t, testScenario, func(o *Options) { o.Latency = 50 * time.Millisecond })
	start := time.Now()
	if res := do(t, s, "GET", "/rate_limit", "", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("GET /rate_limit = %d", res.StatusCode)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered in %s; want at least the 50ms latency", d)
	}
}

func TestSecondaryLimitsEnforced(t *testing.T) {
	var clk clock
	s := startServer(t, "secondary_limits: true\n"+testScenario, func(o *Options) { o.Now = clk.Now })
	tok := installationToken(t, s, 7)
	post := func() *http.Response {
		return do(t, s, "POST", "/repos/Codertocat/Hello-World/statuses/"+headSHA, tok, `{"state":"success","context":"ci/x"}`)
	}
	for i := 0; i < 80; i++ {
		if res := post(); res.StatusCode != 201 {
			t.Fatalf("write %d = %d", i+1, res.StatusCode)
		}
	}
	res := post()
	if res.StatusCode != 403 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("write 81 = %d (retry-after %q); want GitHub's secondary limit", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// Reads are not content creation.
	if res := do(t, s, "GET", "/repos/Codertocat/Hello-World/pulls", tok, ""); res.StatusCode != 200 {
		t.Errorf("read after the limit = %d", res.StatusCode)
	}
	// go-github sees *github.AbuseRateLimitError.
	_, _, err := installationClient(t, s, 7).Repositories.CreateStatus(context.Background(), owner, repoName, headSHA, &github.RepoStatus{State: github.String("success")})
	var are *github.AbuseRateLimitError
	if !errors.As(err, &are) || are.RetryAfter == nil || *are.RetryAfter > time.Minute {
		t.Errorf("CreateStatus = %v; want *github.AbuseRateLimitError within a minute", err)
	}
	clk.Advance(61 * time.Second)
	if res := post(); res.StatusCode != 201 {
		t.Errorf("write a minute later = %d; want 201", res.StatusCode)
	}
}

func TestWebhooksForAPIWrites(t *testing.T) {
	s := startServer(t, testScenario, func(o *Options) { o.WebhooksForAPIWrites = true })
	rec := receiver(t, s, "s3cret")
	client := installationClient(t, s, 7)
	ctx := context.Background()
	if _, _, err := client.Repositories.CreateStatus(ctx, owner, repoName, headSHA, &github.RepoStatus{State: github.String("success"), Context: github.String("ci/docs")}); err != nil {
		t.Fatal(err)
	}
	cr, _, err := client.Checks.CreateCheckRun(ctx, owner, repoName, github.CreateCheckRunOptions{Name: "ci/docs", HeadSHA: headSHA})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Checks.UpdateCheckRun(ctx, owner, repoName, cr.GetID(), github.UpdateCheckRunOptions{Name: "ci/docs", Conclusion: github.String("skipped")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Issues.CreateComment(ctx, owner, repoName, 2, &github.IssueComment{Body: github.String("done")}); err != nil {
		t.Fatal(err)
	}
	s.WaitWebhooks()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var got []string
	for _, r := range rec.got {
		var p struct {
			Action string
			Sender struct{ Login string }
		}
		_ = json.Unmarshal(r.payload, &p)
		got = append(got, r.event+"."+p.Action+" by "+p.Sender.Login)
	}
	sort.Strings(got)
	// Completing the app's only check run on the head ends its suite too.
	want := []string{"check_run.completed by fix-status[bot]", "check_run.created by fix-status[bot]",
		"check_suite.completed by fix-status[bot]", "issue_comment.created by fix-status[bot]", "status. by fix-status[bot]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("webhooks of API writes (-want +got):\n%s", diff)
	}
}
