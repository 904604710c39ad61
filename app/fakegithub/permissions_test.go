package fakegithub

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-github/v60/github"

	"github.com/fix-status/fix-status/app/appinfo"
)

const permScenario = `
app: {id: 1, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 7, account: acme, repos: [acme/widgets], permissions: PERMS}
repos:
  - name: acme/widgets
    default_branch: main
    branches:
      main:
        protection: {required_status_checks: {strict: false, contexts: [ci/unit]}}
    pulls:
      - {number: 1, title: One, user: octocat, base: main, head_sha: aaaa000000000000000000000000000000000001}
`

// TestEventsNeedPermissions: GitHub sends an event only to an installation
// with the permission GitHub's webhook documentation names for it; without
// it the event is not delivered, whatever the app subscribes to.
func TestEventsNeedPermissions(t *testing.T) {
	const sha = "aaaa000000000000000000000000000000000001"
	events := map[string]Event{
		"pull_request":           {Type: "pull_request.edited", Number: 1, Title: "One, again"},
		"issue_comment":          {Type: "issue_comment.created", Number: 1, User: "octocat", Body: "hi"},
		"push":                   {Type: "push", Branch: "main", Contents: map[string]string{"a.txt": "a\n"}},
		"status":                 {Type: "status", SHA: sha, Context: "ci/unit", State: "success", Creator: "prow"},
		"check_run":              {Type: "check_run.created", SHA: sha, Name: "build"},
		"branch_protection_rule": {Type: "branch_protection_rule.edited", Branch: "main", Protection: &ScenarioProtection{}},
		"repository_ruleset":     {Type: "repository_ruleset.created", Branch: "main"},
	}
	tests := []struct {
		perms string
		// delivered are the events the installation gets; the others are
		// skipped for the permission they need.
		delivered []string
	}{
		{"{metadata: read}", nil},
		{"{pull_requests: read}", []string{"pull_request", "issue_comment"}},
		{"{issues: write}", []string{"issue_comment"}},
		{"{contents: read, statuses: read, checks: read}", []string{"push", "status", "check_run"}},
		{"{administration: read}", []string{"branch_protection_rule", "repository_ruleset"}},
	}
	for _, tt := range tests {
		t.Run(tt.perms, func(t *testing.T) {
			s := startServer(t, strings.Replace(permScenario, "PERMS", tt.perms, 1))
			s.SetWebhookURL(newHookSink(t, "s3cret", "pull_request", "issue_comment", "push", "status", "check_run",
				"branch_protection_rule", "repository_ruleset").url)
			for name, ev := range events {
				ev.Repo = "acme/widgets"
				res := apply(t, s, ev)
				want := contains(tt.delivered, name)
				if res.Delivered != want {
					t.Errorf("%s: delivered %v, want %v (skipped %q)", name, res.Delivered, want, res.Skipped)
				}
				if !want && !strings.Contains(res.Skipped, "the installation lacks the") {
					t.Errorf("%s: skipped %q, want the missing permission named", name, res.Skipped)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestInstallationWithoutAdministration: an installation that did not grant
// Administration reads everything else, and classic protection is refused
// as GitHub refuses it: 403, naming the permission the endpoint accepts.
// Metadata comes with any repository permission, as on GitHub.
func TestInstallationWithoutAdministration(t *testing.T) {
	s := startServer(t, strings.Replace(permScenario, "PERMS", "{pull_requests: read, contents: read}", 1))
	c := installationClient(t, s, 7)
	ctx := context.Background()
	if _, _, err := c.Repositories.Get(ctx, "acme", "widgets"); err != nil {
		t.Errorf("GET /repos with metadata implied: %v", err)
	}
	if _, _, err := c.PullRequests.Get(ctx, "acme", "widgets", 1); err != nil {
		t.Errorf("GET a pull request: %v", err)
	}
	_, resp, err := c.Repositories.GetRequiredStatusChecks(ctx, "acme", "widgets", "main")
	var er *github.ErrorResponse
	if !errors.As(err, &er) || resp.StatusCode != http.StatusForbidden || er.Message != "Resource not accessible by integration" ||
		resp.Header.Get("X-Accepted-GitHub-Permissions") != "administration=read" {
		t.Fatalf("required status checks without administration: %v, %+v", err, resp)
	}
	rules, _, err := c.Repositories.GetRulesForBranch(ctx, "acme", "widgets", "main")
	if err != nil || len(rules) != 0 {
		t.Errorf("rules of main (metadata only): %v, %v", rules, err)
	}
}

// TestDefaultsAreTheApps: an app whose scenario names no permissions or
// events has fix-status's, as app/appinfo lists them (the emulator keeps
// its own copy: it depends on no package of the app).
func TestDefaultsAreTheApps(t *testing.T) {
	if d := cmp.Diff(appinfo.DefaultPermissions(), DefaultPermissions()); d != "" {
		t.Errorf("DefaultPermissions (-appinfo +emulator):\n%s", d)
	}
	if d := cmp.Diff(appinfo.DefaultEvents(), defaultEvents(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Errorf("default events (-appinfo +emulator):\n%s", d)
	}
}
