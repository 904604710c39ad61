package ghapi

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/plan"
)

// TestProtectedBranches lists, through go-githubapp's client, the branches
// protected by classic protection or by rulesets, across pages (GitHub
// lists at most 100 a page), and names the repository when it cannot.
func TestProtectedBranches(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`
app: {id: 1, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 1, account: o, repos: [o/r]}
  - {id: 2, account: p, repos: [p/q], permissions: {metadata: read}}
repos:
  - name: p/q
  - name: o/r
    branches:
      main:
        protection: {required_status_checks: {contexts: [ci/a]}}
      dev: {}
      queue:
        rules: [{type: required_status_checks, parameters: {required_status_checks: [{context: ci/a}]}}]
`)
	want := []string{"main", "queue"}
	// 150 more protected release branches: two pages.
	for i := range 150 {
		name := fmt.Sprintf("release-%03d", i)
		fmt.Fprintf(&sb, "      %s: {protection: {}}\n", name)
		want = append(want, name)
	}
	gh := fakegithubtest.Start(t, sb.String(), fakegithub.Options{})
	_, c := clients(t, gh, 1)
	ctx := context.Background()
	got, err := ProtectedBranches(ctx, c, plan.RepoRef{InstallationID: 1, Owner: "o", Repo: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("protected branches (-want +got):\n%s", d)
	}
	if n := gh.Stats().ByRoute["GET /repos/{owner}/{repo}/branches"]; n != 2 {
		t.Errorf("%d requests; want 2 pages of 100", n)
	}

	_, other := clients(t, gh, 2)
	_, err = ProtectedBranches(ctx, other, plan.RepoRef{InstallationID: 2, Owner: "p", Repo: "q"})
	if err == nil || !strings.Contains(err.Error(), "p/q") || !IsAPIError(err) {
		t.Errorf("without Contents permission: %v; want an API error naming p/q", err)
	}
}
