package audit

import (
	"context"
	"testing"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/sources"
)

const onlineScenario = `
app: {id: 1, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 7, account: acme, repos: [acme/widgets]}
repos:
  - name: acme/widgets
    default_branch: main
    files:
      main:
        .github/fix-status.yml: |
          version: 1
          sources: {actions: false, prow: [ci/jobs]}
        ci/jobs/jobs.yaml: |
          presubmits:
            acme/widgets:
            - {name: pull-unit, run_if_changed: '^pkg/'}
      broken:
        .github/fix-status.yml: |
          version: 1
          sources: {prow: [ci/jobs]}
          run_if_change: typo
    branches:
      main:
        protection:
          required_status_checks: {contexts: [pull-unit]}
      broken:
        protection:
          required_status_checks: {contexts: [pull-unit]}
`

// TestRulesChangedBy: a push changes the rules an online audit judged a
// branch by when it touches a file that defines jobs anywhere (the repo
// config, the workflows) or one the branch's rules read (the Prow path its
// repo config names); on a branch whose rules could not be read, any push
// may have fixed them.
func TestRulesChangedBy(t *testing.T) {
	gh := fakegithubtest.Start(t, onlineScenario, fakegithub.Options{})
	c, err := fakegithubtest.ClientCreator(t, gh, ghapi.WithCache(0)).NewInstallationClient(7)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Repo(context.Background(), c, sources.NewLoader(nil), plan.RepoRef{InstallationID: 7, Owner: "acme", Repo: "widgets"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	branches := map[string]*BranchReport{}
	for i := range rep.Branches {
		branches[rep.Branches[i].Branch] = &rep.Branches[i]
	}
	if len(branches) != 2 || branches["broken"].Required[0].Class != "unknown" {
		t.Fatalf("audit: %+v", rep.Branches)
	}
	tests := []struct {
		branch  string
		changed []string
		want    bool
	}{
		{"main", []string{"ci/jobs/jobs.yaml"}, true},
		{"main", []string{"ci/jobs/more/other.yaml"}, true},
		{"main", []string{".github/fix-status.yml"}, true},
		{"main", []string{".github/workflows/ci.yml"}, true},
		{"main", []string{"README.md", "pkg/a.go", "ci/other/jobs.yaml"}, false},
		{"main", nil, false},
		{"broken", []string{"README.md"}, true},
		{"broken", nil, false},
	}
	for _, tt := range tests {
		if got := branches[tt.branch].RulesChangedBy(tt.changed); got != tt.want {
			t.Errorf("%s: RulesChangedBy(%v) = %v, want %v", tt.branch, tt.changed, got, tt.want)
		}
	}
	offline := Branch(BranchInput{Repo: "acme/widgets", Branch: "main"})
	if offline.RulesChangedBy([]string{"ci/jobs/jobs.yaml"}) || !offline.RulesChangedBy([]string{".github/fix-status.yml"}) {
		t.Error("an offline report knows only the files that define jobs in any repository")
	}
}
