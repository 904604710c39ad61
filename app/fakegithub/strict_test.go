package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
)

// TestForkPulls opens a PR from the author's fork: head.repo is the fork,
// check runs on its head list no PR (as GitHub's), and the commit's pulls
// find it.
func TestForkPulls(t *testing.T) {
	s := startServer(t, testScenario)
	rec := receiver(t, s, "s3cret")
	client := installationClient(t, s, 7)
	ctx := context.Background()
	res, err := s.Apply(ctx, Event{Type: "pull_request.opened", Repo: "Codertocat/Hello-World", Number: 20, Title: "From a fork",
		User: "octocat", Head: "patch-1", Fork: true, Files: []File{{Filename: "docs/a.md", Status: "modified"}}})
	if err != nil {
		t.Fatal(err)
	}
	var opened github.PullRequestEvent
	if err := json.Unmarshal(rec.last(t).payload, &opened); err != nil {
		t.Fatal(err)
	}
	for name, pr := range map[string]*github.PullRequest{"webhook": opened.GetPullRequest(), "REST": mustPull(t, client, 20)} {
		head, base := pr.GetHead().GetRepo(), pr.GetBase().GetRepo()
		if !head.GetFork() || head.GetFullName() != "octocat/Hello-World" || head.GetOwner().GetLogin() != "octocat" ||
			head.GetID() == base.GetID() || base.GetFork() || pr.GetHead().GetLabel() != "octocat:patch-1" || pr.GetHead().GetUser().GetLogin() != "octocat" {
			t.Errorf("%s: head %+v (label %q), base %s; want the head in octocat's fork", name, head, pr.GetHead().GetLabel(), base.GetFullName())
		}
	}
	if _, err := s.Apply(ctx, Event{Type: "check_run.created", Repo: "Codertocat/Hello-World", SHA: res.SHA, Name: "build", Workflow: "Build"}); err != nil {
		t.Fatal(err)
	}
	var run github.CheckRunEvent
	if err := json.Unmarshal(rec.last(t).payload, &run); err != nil {
		t.Fatal(err)
	}
	if n, m := len(run.GetCheckRun().PullRequests), len(run.GetCheckRun().GetCheckSuite().PullRequests); n != 0 || m != 0 {
		t.Errorf("check_run payload on a fork head lists %d PRs (suite %d); want none", n, m)
	}
	runs, _, err := client.Checks.ListCheckRunsForRef(ctx, owner, repoName, res.SHA, nil)
	if err != nil || runs.GetTotal() != 1 || len(runs.CheckRuns[0].PullRequests) != 0 {
		t.Errorf("check runs on the fork head = %+v, %v; want one without PRs", runs, err)
	}
	// A head in the base repository is listed, so the emptiness above means something.
	same, _, err := client.Checks.ListCheckRunsForRef(ctx, owner, repoName, headSHA, nil)
	if err != nil || len(same.CheckRuns) == 0 || len(same.CheckRuns[0].PullRequests) != 1 {
		t.Fatalf("check runs on #2's head = %+v, %v; want #2 listed", same, err)
	}
	// GET /commits/{sha}/pulls finds fork PRs too.
	prs, _, err := client.PullRequests.ListPullRequestsWithCommit(ctx, owner, repoName, res.SHA, nil)
	if err != nil || len(prs) != 1 || prs[0].GetNumber() != 20 {
		t.Errorf("ListPullRequestsWithCommit(fork head) = %v, %v; want #20", prs, err)
	}
	if _, err := s.Apply(ctx, Event{Type: "pull_request.opened", Repo: "Codertocat/Hello-World", Title: "x", User: "Codertocat", Fork: true}); err == nil {
		t.Error("the owner forked their own repository")
	}
}

func mustPull(t *testing.T, c *github.Client, n int) *github.PullRequest {
	t.Helper()
	pr, _, err := c.PullRequests.Get(context.Background(), owner, repoName, n)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func TestCommitPulls(t *testing.T) {
	s := startServer(t, testScenario)
	client := installationClient(t, s, 7)
	ctx := context.Background()
	const next = "3333333333333333333333333333333333333333"
	if _, err := s.Apply(ctx, Event{Type: "pull_request.synchronize", Repo: "Codertocat/Hello-World", Number: 2, HeadSHA: next}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref  string
		want []int
	}{
		{next, []int{2}},
		{headSHA, []int{2}},   // an earlier head of #2 is one of its commits
		{"changes", []int{2}}, // a branch name: its head
		{"6113728f27ae82c7b1a177c8d03f9e96e0adf246", []int{}}, // on the default branch: only merged PRs
		{"34c5c7793cb3b279e22454cb6750c80560547b3a", []int{3}},
	}
	for _, tc := range tests {
		prs, _, err := client.PullRequests.ListPullRequestsWithCommit(ctx, owner, repoName, tc.ref, nil)
		got := []int{}
		for _, p := range prs {
			got = append(got, p.GetNumber())
		}
		if err != nil || !cmp.Equal(got, tc.want) {
			t.Errorf("pulls of %s = %v, %v; want %v", tc.ref, got, err, tc.want)
		}
	}
	if _, _, err := client.PullRequests.ListPullRequestsWithCommit(ctx, owner, repoName, strings.Repeat("0", 40), nil); !isStatus(err, 422) {
		t.Errorf("pulls of an unknown commit = %v; want 422", err)
	}
	// A closed, unmerged PR is not listed.
	if _, err := s.Apply(ctx, Event{Type: "pull_request.closed", Repo: "Codertocat/Hello-World", Number: 3}); err != nil {
		t.Fatal(err)
	}
	if prs, _, err := client.PullRequests.ListPullRequestsWithCommit(ctx, owner, repoName, "34c5c7793cb3b279e22454cb6750c80560547b3a", nil); err != nil || len(prs) != 0 {
		t.Errorf("pulls of a closed PR's head = %d, %v; want none", len(prs), err)
	}
}

// TestBotIdentities: what an app writes carries its bot user as GitHub
// writes it, and check runs carry their app.
func TestBotIdentities(t *testing.T) {
	s := startServer(t, testScenario)
	client := installationClient(t, s, 7)
	ctx := context.Background()
	base := s.URL()
	bot := func(t *testing.T, what string, u *github.User, slug string) {
		t.Helper()
		want := github.User{Login: github.String(slug + "[bot]"), Type: github.String("Bot"),
			HTMLURL: github.String(base + "/apps/" + slug), URL: github.String(base + "/users/" + slug + "%5Bbot%5D")}
		got := github.User{Login: u.Login, Type: u.Type, HTMLURL: u.HTMLURL, URL: u.URL}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", what, diff)
		}
	}
	comment, _, err := client.Issues.CreateComment(ctx, owner, repoName, 2, &github.IssueComment{Body: github.String("hi")})
	if err != nil {
		t.Fatal(err)
	}
	bot(t, "comment user", comment.GetUser(), "fix-status")
	if _, _, err := client.Repositories.CreateStatus(ctx, owner, repoName, headSHA, &github.RepoStatus{State: github.String("success"), Context: github.String("ci/docs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, Event{Type: "status", Repo: "Codertocat/Hello-World", SHA: headSHA, Context: "ci/prow", State: "pending", AppID: 9000}); err != nil {
		t.Fatal(err)
	}
	statuses, _, err := client.Repositories.ListStatuses(ctx, owner, repoName, headSHA, nil)
	if err != nil || len(statuses) != 3 {
		t.Fatalf("ListStatuses = %d, %v", len(statuses), err)
	}
	bot(t, "status reported by app 9000", statuses[0].GetCreator(), "prow")
	bot(t, "status written by the app", statuses[1].GetCreator(), "fix-status")
	if u := statuses[2].GetCreator(); u.GetLogin() != "prow" || u.GetType() != "User" || u.GetHTMLURL() != base+"/prow" {
		t.Errorf("status by the user prow = %+v", u)
	}
	if !strings.HasSuffix(statuses[0].GetAvatarURL(), "/avatars/in/9000") {
		t.Errorf("app status avatar = %q; want the app's", statuses[0].GetAvatarURL())
	}
	runs, _, err := client.Checks.ListCheckRunsForRef(ctx, owner, repoName, headSHA, &github.ListCheckRunsOptions{AppID: github.Int64(GitHubActionsAppID)})
	if err != nil || runs.GetTotal() != 1 {
		t.Fatalf("Actions check runs = %+v, %v", runs, err)
	}
	if app := runs.CheckRuns[0].GetApp(); app.GetSlug() != "github-actions" || app.GetID() != GitHubActionsAppID ||
		app.GetOwner().GetLogin() != "github" || app.GetOwner().GetType() != "Organization" {
		t.Errorf("check run app = %+v (owner %+v); want github-actions owned by the github organization", app, app.GetOwner())
	}
	if st := s.State(); st.Repos[0].Pulls[0].Statuses[2].Creator != "prow[bot]" {
		t.Errorf("state creator = %q; want prow[bot]", st.Repos[0].Pulls[0].Statuses[2].Creator)
	}
}

// TestRefusalsAsGitHub: what GitHub refuses to an app, the emulator does.
func TestRefusalsAsGitHub(t *testing.T) {
	s := startServer(t, testScenario)
	client := installationClient(t, s, 7)
	ctx := context.Background()
	cr, _, err := client.Checks.CreateCheckRun(ctx, owner, repoName, github.CreateCheckRunOptions{Name: "ci/docs", HeadSHA: headSHA})
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"create with conclusion stale": func() error {
			_, _, err := client.Checks.CreateCheckRun(ctx, owner, repoName, github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA,
				Status: github.String("completed"), Conclusion: github.String("stale")})
			return err
		},
		"update to stale": func() error {
			_, _, err := client.Checks.UpdateCheckRun(ctx, owner, repoName, cr.GetID(), github.UpdateCheckRunOptions{Name: "ci/docs", Conclusion: github.String("stale")})
			return err
		},
		"create waiting": func() error {
			_, _, err := client.Checks.CreateCheckRun(ctx, owner, repoName, github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Status: github.String("waiting")})
			return err
		},
		"update to pending": func() error {
			_, _, err := client.Checks.UpdateCheckRun(ctx, owner, repoName, cr.GetID(), github.UpdateCheckRunOptions{Name: "ci/docs", Status: github.String("pending")})
			return err
		},
		"create requested": func() error {
			_, _, err := client.Checks.CreateCheckRun(ctx, owner, repoName, github.CreateCheckRunOptions{Name: "x", HeadSHA: headSHA, Status: github.String("requested")})
			return err
		},
	} {
		var er *github.ErrorResponse
		if err := call(); !errors.As(err, &er) || er.Response.StatusCode != 422 || er.Message != "Validation Failed" {
			t.Errorf("%s = %v; want 422 Validation Failed", name, err)
		}
	}
	if _, _, err := client.Checks.UpdateCheckRun(ctx, owner, repoName, cr.GetID(), github.UpdateCheckRunOptions{Name: "ci/docs", Status: github.String("in_progress")}); err != nil {
		t.Errorf("in_progress: %v", err)
	}
	// Re-running a workflow run that is still in progress is refused.
	runs, _, err := client.Actions.ListRepositoryWorkflowRuns(ctx, owner, repoName, nil)
	if err != nil || len(runs.WorkflowRuns) != 1 {
		t.Fatalf("workflow runs = %+v, %v", runs, err)
	}
	id := runs.WorkflowRuns[0].GetID()
	if _, err := client.Actions.RerunWorkflowByID(ctx, owner, repoName, id); err != nil {
		t.Fatalf("re-run of a completed run: %v", err)
	}
	_, err = client.Actions.RerunWorkflowByID(ctx, owner, repoName, id)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 403 || er.Message != "This workflow is already running" {
		t.Errorf("re-run of a queued run = %v; want GitHub's 403", err)
	}
	// Events: only GitHub Actions uses waiting, requested and pending.
	if _, err := s.Apply(ctx, Event{Type: "check_run.created", Repo: "Codertocat/Hello-World", SHA: headSHA, Name: "deploy", Status: "waiting", Workflow: "Deploy"}); err != nil {
		t.Errorf("an Actions run waiting: %v", err)
	}
	var ee *EventError
	if _, err := s.Apply(ctx, Event{Type: "check_run.created", Repo: "Codertocat/Hello-World", SHA: headSHA, Name: "e2e", Status: "waiting", AppID: 9000}); !errors.As(err, &ee) {
		t.Errorf("another app's run waiting = %v; want an *EventError", err)
	}
	if _, err := ParseScenario([]byte(strings.Replace(testScenario, "{name: ci/e2e, status: in_progress, app_id: 9000}", "{name: ci/e2e, status: pending, app_id: 9000}", 1))); err == nil ||
		!strings.Contains(err.Error(), "check_runs[1].status") {
		t.Errorf("scenario with another app's pending run: %v; want an error naming it", err)
	}
}
