package fakegithub

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
)

// TestCheckSuitesAsGitHubMakesThem: a push and a new PR head get one queued
// GitHub Actions suite per workflow; a run joins its workflow's suite; the
// run that ends a suite is followed by check_suite.completed.
func TestCheckSuitesAsGitHubMakesThem(t *testing.T) {
	s := startServer(t, testScenario)
	rec := receiver(t, s, "s3cret")
	client := installationClient(t, s, 7)
	ctx := context.Background()
	const r = "Codertocat/Hello-World"
	push, err := s.Apply(ctx, Event{Type: "push", Repo: r, Branch: "master", Contents: map[string]string{
		".github/workflows/lint.yml": "name: Lint\non: [push, pull_request]\n",
		".github/workflows/docs.yml": "on:\n  pull_request:\n    paths: [docs/**]\n",
	}})
	if err != nil {
		t.Fatal(err)
	}
	suitesOf := func(sha string) map[string]string {
		t.Helper()
		list, _, err := client.Checks.ListCheckSuitesForRef(ctx, owner, repoName, sha, &github.ListCheckSuiteOptions{AppID: github.Int(GitHubActionsAppID)})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, cs := range list.CheckSuites {
			out[fmt.Sprint(cs.GetID())] = cs.GetStatus() + "/" + cs.GetConclusion()
		}
		return out
	}
	if got := suitesOf(push.SHA); len(got) != 2 {
		t.Errorf("Actions suites after the push = %v; want 2 queued (one per workflow)", got)
	}
	pr, err := s.Apply(ctx, Event{Type: "pull_request.opened", Repo: r, Number: 30, Title: "Code", User: "octocat",
		Files: []File{{Filename: "src/a.go", Status: "added"}}})
	if err != nil {
		t.Fatal(err)
	}
	before := suitesOf(pr.SHA)
	if len(before) != 2 {
		t.Fatalf("Actions suites on the new head = %v; want 2", before)
	}
	for _, st := range before {
		if st != "queued/" {
			t.Errorf("a suite before any run = %s; want queued", st)
		}
	}
	run, err := s.Apply(ctx, Event{Type: "check_run.created", Repo: r, SHA: pr.SHA, Name: "lint", Workflow: "Lint"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.Apply(ctx, Event{Type: "check_run.completed", Repo: r, CheckRunID: run.CheckRunID, Conclusion: "success"})
	if err != nil {
		t.Fatal(err)
	}
	after := suitesOf(pr.SHA)
	if len(after) != 2 {
		t.Errorf("Actions suites after the run = %v; want still 2 (the run joined Lint's suite)", after)
	}
	var states []string
	for _, st := range after {
		states = append(states, st)
	}
	if !cmp.Equal(sortedStrings(states), []string{"completed/success", "queued/"}) {
		t.Errorf("suites = %v; want Lint's completed and the path-filtered one still queued", after)
	}
	if len(done.Followups) != 1 || done.Followups[0].Event != "check_suite" || done.Followups[0].Action != "completed" || !done.Followups[0].Delivered {
		t.Fatalf("followups of the last run = %+v; want check_suite.completed delivered", done.Followups)
	}
	var cs github.CheckSuiteEvent
	if err := json.Unmarshal(rec.byDelivery(t, done.Followups[0].Delivery).payload, &cs); err != nil {
		t.Fatal(err)
	}
	if cs.GetCheckSuite().GetConclusion() != "success" || cs.GetCheckSuite().GetHeadSHA() != pr.SHA || len(cs.GetCheckSuite().PullRequests) != 1 {
		t.Errorf("check_suite.completed = %+v", cs.GetCheckSuite())
	}
	// A run that leaves its suite unfinished sends no check_suite.
	two, _ := s.Apply(ctx, Event{Type: "check_run.created", Repo: r, SHA: pr.SHA, Name: "a", Workflow: "Build"})
	if _, err := s.Apply(ctx, Event{Type: "check_run.created", Repo: r, SHA: pr.SHA, Name: "b", Workflow: "Build"}); err != nil {
		t.Fatal(err)
	}
	if res, _ := s.Apply(ctx, Event{Type: "check_run.completed", Repo: r, CheckRunID: two.CheckRunID, Conclusion: "success"}); len(res.Followups) != 0 {
		t.Errorf("followups with a run still queued = %+v; want none", res.Followups)
	}
	// The app's own check runs are in a suite of the app.
	if _, _, err := client.Checks.CreateCheckRun(ctx, owner, repoName, github.CreateCheckRunOptions{Name: "ci/docs", HeadSHA: pr.SHA}); err != nil {
		t.Fatal(err)
	}
	own, _, err := client.Checks.ListCheckSuitesForRef(ctx, owner, repoName, pr.SHA, &github.ListCheckSuiteOptions{AppID: github.Int(42)})
	if err != nil || own.GetTotal() != 1 || own.CheckSuites[0].GetApp().GetSlug() != "fix-status" {
		t.Errorf("the app's suites = %+v, %v; want one", own, err)
	}
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func decode64(t *testing.T, s string) string {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(s, "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestTreesAndContents: the trees API lists what the contents API cuts at
// 1,000 entries; tree ids agree between the two; refs resolve alike.
func TestTreesAndContents(t *testing.T) {
	s := startServer(t, testScenario)
	client := installationClient(t, s, 7)
	ctx := context.Background()
	big := map[string]string{}
	for i := 0; i < 1005; i++ {
		big[fmt.Sprintf("big/f%04d.txt", i)] = fmt.Sprint(i)
	}
	if _, err := s.Apply(ctx, Event{Type: "push", Repo: "Codertocat/Hello-World", Branch: "master", Contents: big}); err != nil {
		t.Fatal(err)
	}
	_, dir, _, err := client.Repositories.GetContents(ctx, owner, repoName, "big", nil)
	if err != nil || len(dir) != maxDirEntries {
		t.Fatalf("contents of big/ = %d entries, %v; want GitHub's 1,000", len(dir), err)
	}
	tree, _, err := client.Git.GetTree(ctx, owner, repoName, "master", true)
	if err != nil || tree.GetTruncated() {
		t.Fatalf("GetTree(master, recursive) = %v, %v", tree, err)
	}
	paths := map[string]*github.TreeEntry{}
	for _, e := range tree.Entries {
		paths[e.GetPath()] = e
	}
	n := 0
	for p := range paths {
		if strings.HasPrefix(p, "big/") {
			n++
		}
	}
	if n != 1005 || paths["docs/sub/b.md"].GetType() != "blob" || paths["docs/sub/b.md"].GetSize() != 2 || paths["docs/sub"].GetType() != "tree" {
		t.Errorf("recursive tree: %d files under big/, docs/sub/b.md %+v, docs/sub %+v", n, paths["docs/sub/b.md"], paths["docs/sub"])
	}
	// The contents API's directory sha is the tree's, and it can be read.
	_, docs, _, err := client.Repositories.GetContents(ctx, owner, repoName, "docs", &github.RepositoryContentGetOptions{Ref: "HEAD"})
	if err != nil || len(docs) != 2 || docs[1].GetSHA() != paths["docs/sub"].GetSHA() {
		t.Fatalf("contents of docs at HEAD = %v, %v; want sub/ with the tree's sha %s", docs, err, paths["docs/sub"].GetSHA())
	}
	sub, _, err := client.Git.GetTree(ctx, owner, repoName, docs[1].GetSHA(), false)
	if err != nil || len(sub.Entries) != 1 || sub.Entries[0].GetPath() != "b.md" {
		t.Errorf("GetTree(docs/sub) = %+v, %v", sub, err)
	}
	blob, _, err := client.Git.GetBlob(ctx, owner, repoName, paths["README.md"].GetSHA())
	if err != nil || blob.GetEncoding() != "base64" || !strings.Contains(decode64(t, blob.GetContent()), "Hello-World") {
		t.Errorf("GetBlob(README.md) = %+v, %v", blob, err)
	}
	if _, _, err := client.Git.GetTree(ctx, owner, repoName, strings.Repeat("a", 40), false); !isStatus(err, 404) {
		t.Errorf("unknown tree = %v; want 404", err)
	}
	if _, _, err := client.Git.GetTree(ctx, owner, repoName, "HEAD", false); err != nil {
		t.Errorf("GetTree(HEAD): %v", err)
	}
}

// TestEventsOfTheAppsTests covers the events fix-status's own tests send:
// a push that renames, comments with their author_association.
func TestEventsOfTheAppsTests(t *testing.T) {
	s := startServer(t, testScenario)
	rec := receiver(t, s, "s3cret")
	client := installationClient(t, s, 7)
	ctx := context.Background()
	push, err := s.Apply(ctx, Event{Type: "push", Repo: "Codertocat/Hello-World", Branch: "master", User: "octocat",
		Renamed: map[string]string{"docs/a.md": "docs/renamed.md"}})
	if err != nil {
		t.Fatal(err)
	}
	var pe github.PushEvent
	_ = json.Unmarshal(rec.byDelivery(t, push.Delivery).payload, &pe)
	if hc := pe.GetHeadCommit(); strings.Join(hc.Added, ",") != "docs/renamed.md" || strings.Join(hc.Removed, ",") != "docs/a.md" ||
		pe.GetBefore() != "6113728f27ae82c7b1a177c8d03f9e96e0adf246" || pe.GetAfter() != push.SHA {
		t.Errorf("push payload = %+v (before %s, after %s)", hc, pe.GetBefore(), pe.GetAfter())
	}
	cmpr, _, err := client.Repositories.CompareCommits(ctx, owner, repoName, "6113728f27ae82c7b1a177c8d03f9e96e0adf246", push.SHA, nil)
	if err != nil || len(cmpr.Files) != 1 || cmpr.Files[0].GetStatus() != "renamed" || cmpr.Files[0].GetPreviousFilename() != "docs/a.md" {
		t.Errorf("compare = %+v, %v; want docs/renamed.md renamed from docs/a.md", cmpr.Files, err)
	}
	file, _, _, err := client.Repositories.GetContents(ctx, owner, repoName, "docs/renamed.md", nil)
	if text, _ := file.GetContent(); err != nil || text != "a\n" {
		t.Errorf("renamed file = %q, %v; want the old content", text, err)
	}
	if _, err := s.Apply(ctx, Event{Type: "push", Repo: "Codertocat/Hello-World", Branch: "master", Renamed: map[string]string{"nope.md": "x.md"}}); err == nil {
		t.Error("renaming a missing file was accepted")
	}
	if _, err := s.Apply(ctx, Event{Type: "pull_request.opened", Repo: "Codertocat/Hello-World", Title: "First", User: "newcomer"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, given, want string }{
		{"Codertocat", "", "OWNER"},
		{"octocat", "", "COLLABORATOR"},
		{"newcomer", "", "FIRST_TIME_CONTRIBUTOR"},
		{"stranger", "", "NONE"},
		{"org-member", "MEMBER", "MEMBER"},
	} {
		res, err := s.Apply(ctx, Event{Type: "issue_comment.created", Repo: "Codertocat/Hello-World", Number: 2, User: tc.user, Body: "/fix-status", AuthorAssociation: tc.given})
		if err != nil {
			t.Fatal(err)
		}
		var ic github.IssueCommentEvent
		_ = json.Unmarshal(rec.byDelivery(t, res.Delivery).payload, &ic)
		if got := ic.GetComment().GetAuthorAssociation(); got != tc.want {
			t.Errorf("%s's comment: author_association %q; want %q", tc.user, got, tc.want)
		}
	}
	if _, err := s.Apply(ctx, Event{Type: "issue_comment.created", Repo: "Codertocat/Hello-World", Number: 2, Body: "x", AuthorAssociation: "BOSS"}); err == nil {
		t.Error("an unknown author_association was accepted")
	}
}
