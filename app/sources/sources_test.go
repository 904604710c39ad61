package sources

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/rules/prow"
	"github.com/fix-status/fix-status/config"
)

const prowJobs = `
presubmits:
  o/r:
  - name: pull-docs
    run_if_changed: '^docs/'
  - name: pull-other-repo
    always_run: true
    context: never-here
`

const workflow = `
on:
  pull_request:
    paths: ['src/**']
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{run: make}]
`

func repoConfig(t *testing.T, yaml string) *config.Repo {
	t.Helper()
	cfg, err := config.ParseRepo([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func contexts(jobs []*rules.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Context)
	}
	return out
}

func TestLoadRepoRules(t *testing.T) {
	fsys := fstest.MapFS{
		"ci/prow/jobs.yaml":          {Data: []byte(prowJobs)},
		".github/workflows/ci.yml":   {Data: []byte(workflow)},
		".github/workflows/notes.md": {Data: []byte("not a workflow")},
	}
	tests := []struct {
		name      string
		cfg       string // "" = no repo config
		contexts  []string
		ruleFiles []string // of changed: .github/fix-status.yml, ci/prow/jobs.yaml, ci/prow/x/y.yaml, .github/workflows/ci.yml, src/a.go
		wantErr   string
	}{
		{name: "no repo config: the workflows", contexts: []string{"build"},
			ruleFiles: []string{".github/fix-status.yml", ".github/workflows/ci.yml"}},
		{name: "Prow and explicit rules, no workflows",
			cfg:       "version: 1\nsources: {actions: false, prow: [ci/prow]}\ncontexts:\n  - context: ci/lint\n    paths: ['**.go']\n",
			contexts:  []string{"pull-docs", "never-here", "ci/lint"},
			ruleFiles: []string{".github/fix-status.yml", "ci/prow/jobs.yaml", "ci/prow/x/y.yaml"}},
		{name: "everything", cfg: "version: 1\nsources: {actions: true, prow: [/ci/prow/jobs.yaml]}\n",
			contexts:  []string{"pull-docs", "never-here", "build"},
			ruleFiles: []string{".github/fix-status.yml", "ci/prow/jobs.yaml", ".github/workflows/ci.yml"}},
		{name: "a bad explicit rule", cfg: "version: 1\nsources: {actions: false}\ncontexts:\n  - context: ci/x\n    run_if_changed: '^(docs'\n",
			wantErr: `.github/fix-status.yml: line 4: contexts[0] (ci/x): invalid run_if_changed regex "^(docs"`},
		{name: "a missing Prow path", cfg: "version: 1\nsources: {actions: false, prow: [nowhere]}\n", wantErr: "nowhere"},
	}
	changed := []string{".github/fix-status.yml", "ci/prow/jobs.yaml", "ci/prow/x/y.yaml", ".github/workflows/ci.yml", "src/a.go"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg *config.Repo
			if tt.cfg != "" {
				cfg = repoConfig(t, tt.cfg)
			}
			rs, err := LoadRepoRules(fsys, "o/r", cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.contexts, contexts(rs.Jobs)); diff != "" {
				t.Errorf("contexts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.ruleFiles, rs.RuleFilesChanged(changed)); diff != "" {
				t.Errorf("rule files changed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMayDefineRules(t *testing.T) {
	got := MayDefineRules([]string{"README.md", ".github/fix-status.yml", ".github/workflows/x.yml", ".github/workflowsx", "ci/prow/jobs.yaml"})
	if diff := cmp.Diff([]string{".github/fix-status.yml", ".github/workflows/x.yml"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestLoader reads rules from GitHub: the base branch's repo config, or the
// owner's default (fix-status.yml at the root of its .github repository, as
// go-githubapp's appconfig looks for it) when the repository has none, with the
// central Prow jobs first and links to files of the repository.
func TestLoader(t *testing.T) {
	gh := fakegithubtest.Start(t, `
app: {id: 1, slug: fix-status, webhook_secret: s}
installations:
  - {id: 1, account: o, repos: [o/r, o/plain, o/.github]}
repos:
  - name: o/r
    default_branch: main
    branches: {main: {}, broken: {}}
    files:
      main:
        .github/fix-status.yml: "version: 1\nsources: {actions: false, prow: [ci/jobs.yaml]}\n"
        ci/jobs.yaml: |
          presubmits:
            o/r:
            - name: pull-docs
              run_if_changed: '^docs/'
      broken:
        .github/fix-status.yml: "version: 1\nsources: {actions: false, prow: [ci/jobs.yaml]}\n"
        ci/jobs.yaml: "presubmits: {o/r: [{name: x, always_run: true, run_if_changed: a}]}\n"
  - name: o/plain
    default_branch: main
  - name: o/.github
    default_branch: main
    files:
      main:
        fix-status.yml: "version: 1\nsources: {actions: false}\ncontexts: [{context: ci/org-default, always_run: true}]\n"
`, fakegithub.Options{})
	c, err := fakegithubtest.ClientCreator(t, gh).NewInstallationClient(1)
	if err != nil {
		t.Fatal(err)
	}
	central, err := prow.Parse("central.yaml", []byte("presubmits:\n  o/r:\n  - name: pull-central\n    always_run: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := NewLoader(central)
	ctx := context.Background()
	r := plan.RepoRef{InstallationID: 1, Owner: "o", Repo: "r"}
	rs, where, err := l.Load(ctx, c, r, "main")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"pull-central", "pull-docs"}, contexts(rs.Jobs)); diff != "" {
		t.Errorf("o/r contexts (-want +got):\n%s", diff)
	}
	if rs.Jobs[0].Origin.Repo != "" || rs.Jobs[1].Origin.Repo != "o/r" || !strings.Contains(where, ".github/fix-status.yml") {
		t.Errorf("origins %+v, %+v; where %q", rs.Jobs[0].Origin, rs.Jobs[1].Origin, where)
	}
	rs, _, err = l.Load(ctx, c, plan.RepoRef{InstallationID: 1, Owner: "o", Repo: "plain"}, "main")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ci/org-default"}, contexts(rs.Jobs)); diff != "" {
		t.Errorf("o/plain uses the owner's default (-want +got):\n%s", diff)
	}
	if _, _, err := l.Load(ctx, c, r, "broken"); err == nil || !strings.Contains(err.Error(), "mutually exclusive") {
		t.Errorf("a bad Prow config: %v", err)
	}
}

// TestLoadHeadIsBounded: a PR's own rules are read at its head, and a PR
// may add any number of rule files: past the bound the load fails (and the
// plan blocks the PR's skips) instead of reading them all.
func TestLoadHeadIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("app: {id: 1, slug: fix-status, webhook_secret: s}\ninstallations:\n  - {id: 1, account: o, repos: [o/r]}\nrepos:\n  - name: o/r\n    default_branch: main\n    branches: {main: {}, many: {}}\n    files:\n      many:\n")
	for i := 0; i < MaxHeadReads+10; i++ {
		fmt.Fprintf(&b, "        .github/workflows/w%03d.yml: \"on: pull_request\\njobs: {j%d: {runs-on: x, steps: [{run: x}]}}\\n\"\n", i, i)
	}
	gh := fakegithubtest.Start(t, b.String(), fakegithub.Options{})
	c, err := fakegithubtest.ClientCreator(t, gh).NewInstallationClient(1)
	if err != nil {
		t.Fatal(err)
	}
	r := plan.RepoRef{InstallationID: 1, Owner: "o", Repo: "r"}
	l := NewLoader(nil)
	gh.ResetStats()
	if _, err := l.LoadHead(context.Background(), c, r, "many"); !errors.Is(err, ghapi.ErrTooManyReads) {
		t.Fatalf("LoadHead: %v, want too many reads", err)
	}
	if n := gh.Stats().ByRoute["GET /repos/{owner}/{repo}/contents/{path}"]; n > MaxHeadReads+1 {
		t.Errorf("%d contents reads, want at most %d", n, MaxHeadReads+1)
	}
	if rs, _, err := l.Load(context.Background(), c, r, "many"); err != nil || len(rs.Jobs) != MaxHeadReads+10 {
		t.Errorf("the base branch's own rules are not bounded: %v", err)
	}
}
