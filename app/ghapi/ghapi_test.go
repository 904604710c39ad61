package ghapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/plan"
)

// The reads, writes and the error classifier against the emulator, through
// go-githubapp's real caching client creator.

const scenario = `
app: {id: 1, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 1, account: o, repos: [o/r], rate_limit: 5000}
repos:
  - name: o/r
    default_branch: main
    branches:
      main:
        protection:
          required_status_checks:
            contexts: [ci/a, ci/b]
            checks: [{context: ci/b, app_id: 15368}]
        rules:
          - type: required_status_checks
            parameters:
              required_status_checks: [{context: ci/a}, {context: ci/c, integration_id: 7}]
    collaborators: {writer: write, reader: read}
    pulls:
      - number: 1
        title: Change a.go
        user: author
        base: main
        head_sha: 1111111111111111111111111111111111111111
        files: [{filename: a.go, status: modified}]
        generated_files: 3100
        statuses:
          - {context: ci/a, state: pending, creator: prow, created_at: "2026-11-30T10:00:00Z"}
          - {context: CI/A, state: success, creator: prow, created_at: "2026-11-30T11:00:00Z"}
        check_runs:
          - {name: build, status: completed, conclusion: success, app_id: 15368}
        comments:
          - {user: "fix-status[bot]", body: "/test x\n<!-- fix-status retrigger context=\"ci/x\" sha=1111111111111111111111111111111111111111 -->"}
          - {user: someone, body: "<!-- fix-status retrigger context=\"ci/y\" sha=1111111111111111111111111111111111111111 -->"}
`

func start(t *testing.T, opts fakegithub.Options) (*fakegithub.Server, githubapp.ClientCreator, *github.Client) {
	return startBudget(t, opts, 5000)
}

// startBudget starts the emulator with an installation budget of limit
// requests an hour.
func startBudget(t *testing.T, opts fakegithub.Options, limit int) (*fakegithub.Server, githubapp.ClientCreator, *github.Client) {
	t.Helper()
	gh := fakegithubtest.Start(t, strings.Replace(scenario, "rate_limit: 5000", fmt.Sprintf("rate_limit: %d", limit), 1), opts)
	cc, c := clients(t, gh, 1)
	return gh, cc, c
}

// clients are go-githubapp's caching client creator for the emulator and
// its client of installation id.
func clients(t *testing.T, gh *fakegithub.Server, id int64) (githubapp.ClientCreator, *github.Client) {
	t.Helper()
	cc, err := githubapp.NewDefaultCachingClientCreator(fakegithubtest.ServerConfig(gh).GitHubAppConfig(), WithCache(0))
	if err != nil {
		t.Fatal(err)
	}
	c, err := cc.NewInstallationClient(id)
	if err != nil {
		t.Fatal(err)
	}
	return cc, c
}

var repo = plan.RepoRef{InstallationID: 1, Owner: "o", Repo: "r"}

func TestReads(t *testing.T) {
	_, cc, c := start(t, fakegithub.Options{})
	ctx := context.Background()
	pr, err := ReadPR(ctx, c, repo.PR(1))
	if err != nil || pr.HeadSHA != "1111111111111111111111111111111111111111" || pr.BaseRef != "main" || pr.State != "open" || pr.Author != "author" || pr.ChangedFiles != 3101 {
		t.Fatalf("ReadPR = %+v, %v", pr, err)
	}
	files, err := ReadFiles(ctx, c, repo.PR(1), pr.ChangedFiles)
	if err != nil || len(files.Names) != MaxPRFiles || files.Complete {
		t.Errorf("ReadFiles: %d files, complete %v, %v; want GitHub's 3,000 and incomplete", len(files.Names), files.Complete, err)
	}
	sts, err := ReadStatuses(ctx, c, repo.PR(1), pr.HeadSHA)
	if err != nil || len(sts) != 1 || sts[0].State != "success" || sts[0].Creator != "prow" {
		t.Errorf("ReadStatuses = %+v, %v; want the latest per context, case-insensitively", sts, err)
	}
	crs, err := ReadCheckRuns(ctx, c, repo.PR(1), pr.HeadSHA)
	if err != nil || len(crs) != 1 || crs[0].AppID != 15368 || crs[0].Conclusion != "success" {
		t.Errorf("ReadCheckRuns = %+v, %v", crs, err)
	}
	req, err := ReadRequired(ctx, c, repo, "main")
	want := []plan.RequiredCheck{{Context: "ci/b", AppID: 15368, From: "protection"}, {Context: "ci/a", From: "protection"},
		{Context: "ci/a", From: "ruleset"}, {Context: "ci/c", AppID: 7, From: "ruleset"}}
	if err != nil || len(req) != len(want) {
		t.Fatalf("ReadRequired = %+v, %v", req, err)
	}
	for i := range want {
		if req[i] != want[i] {
			t.Errorf("required[%d] = %+v, want %+v", i, req[i], want[i])
		}
	}
	if head, err := ReadBranchHead(ctx, c, repo, "main"); err != nil || head != pr.BaseSHA {
		t.Errorf("ReadBranchHead(main) = %q, %v; want %s", head, err, pr.BaseSHA)
	}
	if head, err := ReadBranchHead(ctx, c, repo, "ma"); err == nil {
		t.Errorf("ReadBranchHead of a branch that is not there = %q, no error", head)
	}
	rts, err := ReadRetriggers(ctx, c, repo.PR(1), pr.HeadSHA, "fix-status[bot]", nil)
	if err != nil || len(rts) != 1 || rts[0].Context != "ci/x" {
		t.Errorf("ReadRetriggers = %+v, %v; want only fix-status's own marker", rts, err)
	}
	// Anyone may read a public repository: GitHub says "read" for a
	// stranger too, which is why the command policy trusts the comment's
	// author_association for who is a collaborator.
	for user, want := range map[string]string{"writer": "write", "reader": "read", "stranger": "read", "o": "admin"} {
		if got, err := ReadPermission(ctx, c, repo, user); err != nil || got != want {
			t.Errorf("ReadPermission(%s) = %q, %v; want %q", user, got, err, want)
		}
	}
	prs, err := ListOpenPRs(ctx, c, repo, "")
	if err != nil || len(prs) != 1 || prs[0].Number != 1 {
		t.Errorf("ListOpenPRs = %+v, %v", prs, err)
	}
	repos, err := InstalledRepos(ctx, cc)
	if err != nil || len(repos) != 1 || repos[0] != repo {
		t.Errorf("InstalledRepos = %+v, %v", repos, err)
	}
	found, err := FindInstallation(ctx, cc, plan.RepoRef{Owner: "o", Repo: "r"})
	if err != nil || found != repo {
		t.Errorf("FindInstallation = %+v, %v", found, err)
	}
	if _, err := FindInstallation(ctx, cc, plan.RepoRef{Owner: "o", Repo: "missing"}); err == nil {
		t.Error("FindInstallation of a repository the app is not installed on: no error")
	}
}

func TestWrites(t *testing.T) {
	gh, _, c := start(t, fakegithub.Options{})
	ctx := context.Background()
	sha := "1111111111111111111111111111111111111111"
	w := NewWriter(c, repo.PR(1), sha)
	for _, wr := range []plan.Write{
		{Kind: plan.WriteStatus, Context: "ci/docs", State: "success", Description: "Skipped: x", TargetURL: "https://example.com/rule"},
		{Kind: plan.WriteCheckRun, Context: "build (docs)", State: "skipped", Description: "Skipped: y",
			TargetURL: "https://example.com/prs/o/r/1", Title: "Skipped by fix-status", Text: "### Why\n\ny"},
	} {
		if err := w.Write(ctx, wr); err != nil {
			t.Fatalf("%s: %v", wr.Kind, err)
		}
	}
	if err := w.Comment(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	p := gh.State().Repos[0].Pulls[0]
	var got []string
	for _, s := range p.Statuses {
		if s.Creator == "fix-status[bot]" {
			got = append(got, "status "+s.Context+" "+s.State+" "+s.TargetURL)
		}
	}
	for _, r := range p.CheckRuns {
		if r.Creator == "fix-status[bot]" {
			got = append(got, fmt.Sprintf("check_run %s %s/%s %s %q %q %q", r.Name, r.Status, r.Conclusion, r.DetailsURL, r.Title, r.Summary, r.Text))
		}
	}
	for _, cm := range p.Comments[2:] { // after the scenario's
		if cm.User == "fix-status[bot]" {
			got = append(got, "comment "+cm.Body)
		}
	}
	want := []string{"status ci/docs success https://example.com/rule", `check_run build (docs) completed/skipped https://example.com/prs/o/r/1 "Skipped by fix-status" "Skipped: y" "### Why\n\ny"`, "comment hello"}
	if len(got) != len(want) {
		t.Fatalf("writes seen: %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("write %d: %q, want %q", i, got[i], want[i])
		}
	}
	if err := w.Write(ctx, plan.Write{Kind: plan.WriteActionsRerun, Context: "lint", Workflow: "lint.yml"}); err == nil {
		t.Error("re-running a workflow with no run on the head: no error")
	}
}

// TestClassifyGitHubAnswers: the classifier on the errors go-github makes of
// GitHub's real answers (as the emulator gives them), and on errors of the
// network and of fix-status itself.
func TestClassifyGitHubAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget int
		fault  *fakegithub.Fault
		read   func(context.Context, *github.Client) error
		kind   Kind
		wait   func(time.Duration) bool
	}{
		{name: "502", fault: &fakegithub.Fault{Route: "GET /repos/{owner}/{repo}/pulls/{pull_number}", Status: 502}, kind: Transient},
		{name: "503 on a write", fault: &fakegithub.Fault{Route: "POST /repos/{owner}/{repo}/statuses/{sha}", Status: 503}, kind: Transient,
			read: func(ctx context.Context, c *github.Client) error {
				return NewWriter(c, repo.PR(1), "1111111111111111111111111111111111111111").Write(ctx, plan.Write{Kind: plan.WriteStatus, Context: "x", State: "success"})
			}},
		{name: "404", read: func(ctx context.Context, c *github.Client) error { _, err := ReadPR(ctx, c, repo.PR(404)); return err }, kind: Permanent},
		{name: "422", read: func(ctx context.Context, c *github.Client) error {
			return NewWriter(c, repo.PR(1), "1111111111111111111111111111111111111111").Write(ctx, plan.Write{Kind: plan.WriteStatus, Context: "x", State: "bogus"})
		}, kind: Permanent},
		{name: "secondary limit (403)", fault: &fakegithub.Fault{Route: "GET /repos/{owner}/{repo}/pulls/{pull_number}", Secondary: true, RetryAfter: 7}, kind: Limited,
			wait: func(d time.Duration) bool { return d == 7*time.Second }},
		{name: "secondary limit (429)", fault: &fakegithub.Fault{Route: "GET /repos/{owner}/{repo}/pulls/{pull_number}", Secondary: true, Status: 429, RetryAfter: 3}, kind: Limited,
			wait: func(d time.Duration) bool { return d == 3*time.Second }},
		{name: "primary rate limit spent", budget: 2, kind: Limited, read: func(ctx context.Context, c *github.Client) error {
			var err error
			// Other branches each time: a revalidated read would be a
			// free 304.
			for i := 0; i < 5 && err == nil; i++ {
				_, err = ListOpenPRs(ctx, c, repo, fmt.Sprintf("b%d", i))
			}
			return err
		}, wait: func(d time.Duration) bool { return d > 0 && d <= time.Hour+time.Second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			budget := tc.budget
			if budget == 0 {
				budget = 5000
			}
			gh, _, c := startBudget(t, fakegithub.Options{}, budget)
			if tc.fault != nil {
				gh.Fault(*tc.fault)
			}
			read := tc.read
			if read == nil {
				read = func(ctx context.Context, c *github.Client) error { _, err := ReadPR(ctx, c, repo.PR(1)); return err }
			}
			err := read(context.Background(), c)
			if err == nil {
				t.Fatal("no error")
			}
			got := Classify(err, time.Now())
			if got.Kind != tc.kind || (tc.wait != nil && !tc.wait(got.Wait)) {
				t.Errorf("Classify(%v) = %v %s, want %v", err, got.Kind, got.Wait, tc.kind)
			}
			if !IsAPIError(err) {
				t.Errorf("IsAPIError(%v) = false", err)
			}
		})
	}
}

// TestClassify: what the answers above cannot show: the network, joined
// errors, GraphQL's HTTP errors and fix-status's own stops.
func TestClassify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	answer := func(code int, h ...string) *github.ErrorResponse {
		r := &http.Response{StatusCode: code, Header: http.Header{}, Request: &http.Request{Method: "GET", URL: &url.URL{}}}
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		return &github.ErrorResponse{Response: r}
	}
	ra := 30 * time.Second
	for _, tc := range []struct {
		name string
		err  error
		kind Kind
		wait time.Duration
	}{
		{"secondary limit", &github.AbuseRateLimitError{Response: answer(403).Response, RetryAfter: &ra}, Limited, 30 * time.Second},
		{"secondary limit without retry-after", &github.AbuseRateLimitError{Response: answer(403).Response}, Limited, time.Minute},
		{"primary limit", &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: now.Add(10 * time.Minute)}}}, Limited, 10*time.Minute + time.Second},
		{"429 with retry-after", answer(429, "Retry-After", "5"), Limited, 5 * time.Second},
		{"429 without", answer(429), Limited, time.Minute},
		{"403 naming the secondary limit", &github.ErrorResponse{Response: answer(403).Response, Message: "You have exceeded a secondary rate limit"}, Limited, time.Minute},
		{"403 of a missing permission", &github.ErrorResponse{Response: answer(403).Response, Message: "Resource not accessible by integration"}, Permanent, 0},
		{"one write of several got 502", errors.Join(errors.New("x"), fmt.Errorf("w: %w", answer(502))), Transient, 0},
		{"a 422 and a 502 joined", fmt.Errorf("writes: %w", errors.Join(answer(422), answer(502))), Transient, 0},
		{"GraphQL 502", &url.Error{Op: "Post", URL: "/graphql", Err: &HTTPError{StatusCode: 502}}, Transient, 0},
		{"GraphQL secondary limit", &url.Error{Op: "Post", URL: "/graphql", Err: &HTTPError{StatusCode: 403, RetryAfter: 3 * time.Second}}, Limited, 3 * time.Second},
		{"GraphQL 401", &HTTPError{StatusCode: 401}, Permanent, 0},
		{"GraphQL RATE_LIMITED", errors.New("API rate limit exceeded for installation ID 7."), Limited, 0},
		{"GraphQL schema error", errors.New("Field 'reviewDecision' doesn't exist on type 'PullRequest'"), Permanent, 0},
		{"connection refused", &url.Error{Op: "Get", URL: "/x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, Transient, 0},
		{"dropped connection", &url.Error{Op: "Get", URL: "/x", Err: io.ErrUnexpectedEOF}, Transient, 0},
		{"a reconcile's deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), Transient, 0},
		{"cancelled", &url.Error{Op: "Get", URL: "/x", Err: context.Canceled}, Permanent, 0},
		{"a bad rule file", errors.New(".github/fix-status.yml: line 3: unknown key"), Permanent, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c := Classify(tc.err, now); c.Kind != tc.kind || c.Wait != tc.wait {
				t.Errorf("Classify = %v %s, want %v %s", c.Kind, c.Wait, tc.kind, tc.wait)
			}
		})
	}
}

// TestHTTPCacheBoundedInBytes: the cache keeps what fits and holds no more
// than its size, however many entries come.
func TestHTTPCacheBoundedInBytes(t *testing.T) {
	const size = 4 << 20
	c := byteCache{NewCache(size).c}
	page := make([]byte, 3<<10) // under a 1,024th of the size
	for i := 0; i < 10000; i++ {
		c.Set(fmt.Sprintf("https://api.github.com/repos/o/r/pulls/%d/files", i), page)
	}
	kept := 0
	for i := 0; i < 10000; i++ {
		if _, ok := c.Get(fmt.Sprintf("https://api.github.com/repos/o/r/pulls/%d/files", i)); ok {
			kept++
		}
	}
	if kept == 0 || kept*len(page) > size {
		t.Errorf("kept %d pages of %d bytes in a cache of %d bytes", kept, len(page), size)
	}
	if _, ok := c.Get("https://api.github.com/repos/o/r/pulls/9999/files"); !ok {
		t.Error("the newest entry was dropped")
	}
	c.Delete("https://api.github.com/repos/o/r/pulls/9999/files")
	if _, ok := c.Get("https://api.github.com/repos/o/r/pulls/9999/files"); ok {
		t.Error("a deleted entry is still there")
	}
}
