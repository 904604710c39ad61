package audit

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/sources"
	"github.com/fix-status/fix-status/config"
)

// fixStatusApp is fix-status's own app id in these tests.
const fixStatusApp = 4242

// The rules of one repository o/r, from every source: Prow jobs, GitHub
// Actions workflows and the repo config's explicit rules.
var repoFiles = fstest.MapFS{
	".github/fix-status.yml": {Data: []byte(`version: 1
sources: {actions: true, prow: [config/jobs]}
contexts:
  - context: ci/docs
    run_if_changed: '^docs/'
  - context: ci/nightly
    always_run: true
    merge_group: runs
  - context: ci/approve
`)},
	"config/jobs/foo.yaml": {Data: []byte(`presubmits:
  o/r:
  - name: pull-foo-e2e
    always_run: true
  - name: pull-foo-unit
    run_if_changed: '^pkg/'
  - name: pull-foo-conformance
  - name: pull-foo-release
    always_run: true
    branches: [release-1.0]
  - name: pull-foo-silent
    always_run: true
    skip_report: true
`)},
	".github/workflows/ci.yml": {Data: []byte(`on:
  pull_request:
    paths: ['src/**']
  merge_group:
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{run: make}]
`)},
	".github/workflows/lint.yml": {Data: []byte(`on: [pull_request]
jobs:
  lint:
    runs-on: ubuntu-latest
    steps: [{run: make lint}]
`)},
	".github/workflows/matrix.yml": {Data: []byte(`on: [pull_request]
jobs:
  test:
    name: test-${{ matrix.lang }}
    strategy:
      matrix: ${{ fromJSON(vars.LANGS) }}
    runs-on: ubuntu-latest
    steps: [{run: make test}]
`)},
}

func loadRules(t *testing.T) []*rules.Job {
	t.Helper()
	cfg, err := config.ParseRepo(repoFiles[".github/fix-status.yml"].Data)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := sources.LoadRepoRules(repoFiles, "o/r", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rs.Jobs
}

func TestBranch(t *testing.T) {
	jobs := loadRules(t)
	unpinned := func(context string) []plan.RequiredCheck {
		return []plan.RequiredCheck{{Context: context, From: "protection"}}
	}
	tests := []struct {
		name       string
		branch     string
		required   []plan.RequiredCheck
		mergeQueue bool
		carry      bool
		rulesErr   error
		want       Required
		// reason is a part of the reason the row must have.
		reason string
	}{
		// Prow.
		{name: "prow always_run", required: unpinned("pull-foo-e2e"),
			want:   Required{Class: rules.ClassAlways, MergeQueue: MergeQueueNA, Jobs: []Job{{Name: "pull-foo-e2e", Source: rules.SourceProw, Path: "config/jobs/foo.yaml", Line: 3}}},
			reason: "runs on every pull request to main"},
		{name: "prow run_if_changed", required: unpinned("pull-foo-unit"),
			want: Required{Class: rules.ClassConditional, MergeQueue: MergeQueueNA}, reason: "runs only for some changes"},
		{name: "prow manual", required: unpinned("pull-foo-conformance"),
			want: Required{Class: rules.ClassManual, MergeQueue: MergeQueueNA}, reason: "/test pull-foo-conformance"},
		{name: "prow branches", required: unpinned("pull-foo-release"),
			want: Required{Class: rules.ClassNotOnBranch, MergeQueue: MergeQueueNA}},
		{name: "prow on its branch", branch: "release-1.0", required: unpinned("pull-foo-release"),
			want: Required{Class: rules.ClassAlways, MergeQueue: MergeQueueNA}},
		{name: "prow skip_report never reports", required: unpinned("pull-foo-silent"),
			want: Required{Class: rules.ClassOrphaned, MergeQueue: MergeQueueNA}, reason: "pull-foo-silent has skip_report: true"},
		{name: "renamed prow job", required: unpinned("pull-foo"),
			want:   Required{Class: rules.ClassOrphaned, MergeQueue: MergeQueueNA},
			reason: "no job reports pull-foo: renamed to pull-foo-e2e in config/jobs/foo.yaml?"},
		// GitHub Actions.
		{name: "actions paths", required: unpinned("build"),
			want: Required{Class: rules.ClassConditional, MergeQueue: MergeQueueNA}, reason: "src/**"},
		{name: "actions always", required: unpinned("lint"),
			want: Required{Class: rules.ClassAlways, MergeQueue: MergeQueueNA}},
		{name: "actions name not known statically", required: unpinned("test-go"),
			want: Required{Class: rules.ClassUnknown, MergeQueue: MergeQueueNA}, reason: "test-*"},
		// The repo config's explicit rules.
		{name: "explicit run_if_changed", required: unpinned("ci/docs"),
			want: Required{Class: rules.ClassConditional, MergeQueue: MergeQueueNA}},
		{name: "explicit without a filter", required: unpinned("ci/approve"),
			want: Required{Class: rules.ClassManual, MergeQueue: MergeQueueNA}},
		{name: "no job at all", required: unpinned("ci/circleci"),
			want: Required{Class: rules.ClassOrphaned, MergeQueue: MergeQueueNA}, reason: "no job reports ci/circleci"},
		{name: "contexts compare case-insensitively", required: unpinned("PULL-FOO-E2E"),
			want: Required{Context: "PULL-FOO-E2E", Class: rules.ClassAlways, MergeQueue: MergeQueueNA}},

		// Merge queues.
		{name: "queue: merge_group trigger", required: unpinned("build"), mergeQueue: true,
			want: Required{Class: rules.ClassConditional, MergeQueue: rules.MergeQueueRuns}},
		{name: "queue: merge_group: runs", required: unpinned("ci/nightly"), mergeQueue: true,
			want: Required{Class: rules.ClassAlways, MergeQueue: rules.MergeQueueRuns}},
		{name: "queue: conditional prow job repaired", required: unpinned("pull-foo-unit"), mergeQueue: true,
			want: Required{Class: rules.ClassConditional, MergeQueue: rules.MergeQueueRepaired}},
		{name: "queue: always-run prow job stalls", required: unpinned("pull-foo-e2e"), mergeQueue: true,
			want: Required{Class: rules.ClassAlways, MergeQueue: rules.MergeQueueStalls}, reason: "Prow does not run on merge groups"},
		{name: "queue: always-run workflow stalls", required: unpinned("lint"), mergeQueue: true,
			want: Required{Class: rules.ClassAlways, MergeQueue: rules.MergeQueueStalls}, reason: "add merge_group: to .github/workflows/lint.yml"},
		{name: "queue: carry_pr_results repairs", required: unpinned("pull-foo-e2e"), mergeQueue: true, carry: true,
			want: Required{Class: rules.ClassAlways, MergeQueue: rules.MergeQueueRepaired}},
		{name: "queue: carry_pr_results cannot carry what never reports", required: unpinned("pull-foo"), mergeQueue: true, carry: true,
			want: Required{Class: rules.ClassOrphaned, MergeQueue: rules.MergeQueueStalls}},

		// Protection and rulesets.
		{name: "protection and ruleset", required: []plan.RequiredCheck{{Context: "lint", From: "protection"}, {Context: "Lint", From: "ruleset"}},
			want: Required{From: "protection+ruleset", Class: rules.ClassAlways, MergeQueue: MergeQueueNA}},
		{name: "ruleset only", required: []plan.RequiredCheck{{Context: "lint", From: "ruleset"}},
			want: Required{From: "ruleset", Class: rules.ClassAlways, MergeQueue: MergeQueueNA}},

		// Pins.
		{name: "prow job pinned to GitHub Actions", required: []plan.RequiredCheck{{Context: "pull-foo-e2e", From: "ruleset", AppID: plan.GitHubActionsAppID}},
			want:   Required{From: "ruleset", AppID: plan.GitHubActionsAppID, Class: ClassPinnedElsewhere, MergeQueue: MergeQueueNA},
			reason: "pinned to GitHub Actions (app 15368), which never reports it (pull-foo-e2e is a Prow job)"},
		{name: "workflow pinned to GitHub Actions", required: []plan.RequiredCheck{{Context: "lint", From: "protection", AppID: plan.GitHubActionsAppID}},
			want: Required{AppID: plan.GitHubActionsAppID, Class: rules.ClassAlways, MergeQueue: MergeQueueNA}},
		{name: "workflow pinned to another app", required: []plan.RequiredCheck{{Context: "lint", From: "protection", AppID: 9000}},
			want: Required{AppID: 9000, Class: ClassPinnedElsewhere, MergeQueue: MergeQueueNA}, reason: "reported by GitHub Actions"},
		{name: "conditional prow job pinned to its app: fix-status cannot skip it", mergeQueue: true,
			required: []plan.RequiredCheck{{Context: "pull-foo-unit", From: "protection", AppID: 9000}},
			want:     Required{AppID: 9000, Class: rules.ClassConditional, MergeQueue: rules.MergeQueueStalls},
			reason:   "pinned to app 9000, so fix-status cannot skip it"},
		{name: "conditional job pinned to fix-status: its skips count", required: []plan.RequiredCheck{{Context: "build", From: "protection", AppID: fixStatusApp}},
			want: Required{AppID: fixStatusApp, Class: rules.ClassConditional, MergeQueue: MergeQueueNA}, reason: "the job's own result does not count"},
		{name: "always-run job pinned to fix-status", required: []plan.RequiredCheck{{Context: "lint", From: "protection", AppID: fixStatusApp}},
			want: Required{AppID: fixStatusApp, Class: ClassPinnedElsewhere, MergeQueue: MergeQueueNA}, reason: "pinned to fix-status (app 4242)"},
		{name: "pins that disagree", required: []plan.RequiredCheck{{Context: "lint", From: "protection", AppID: plan.GitHubActionsAppID}, {Context: "lint", From: "ruleset", AppID: 9000}},
			want:   Required{From: "protection+ruleset", AppID: plan.GitHubActionsAppID, Class: ClassPinnedElsewhere, MergeQueue: MergeQueueNA},
			reason: "pinned to GitHub Actions (app 15368) by protection and to app 9000 by ruleset"},
		{name: "a pin does not hide an orphan", required: []plan.RequiredCheck{{Context: "ci/circleci", From: "protection", AppID: 9000}},
			want: Required{AppID: 9000, Class: rules.ClassOrphaned, MergeQueue: MergeQueueNA}},

		// Rules that cannot be read.
		{name: "rules error", required: unpinned("lint"), mergeQueue: true, rulesErr: errors.New(".github/fix-status.yml: line 2: unknown key \"sorces\""),
			want: Required{Class: rules.ClassUnknown, MergeQueue: rules.MergeQueueStalls}, reason: "the rules cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			branch := tt.branch
			if branch == "" {
				branch = "main"
			}
			got := Branch(BranchInput{Repo: "o/r", Branch: branch, Required: tt.required, MergeQueue: tt.mergeQueue, AppID: fixStatusApp,
				Rules: Rules{Jobs: jobs, CarryPRResults: tt.carry, Err: tt.rulesErr}})
			if got.Repo != "o/r" || got.Branch != branch || got.MergeQueue != tt.mergeQueue || len(got.Required) != 1 {
				t.Fatalf("Branch = %+v; want one required context of o/r %s", got, branch)
			}
			r := got.Required[0]
			want := tt.want
			if want.Context == "" {
				want.Context = tt.required[0].Context
			}
			if want.From == "" {
				want.From = "protection"
			}
			if !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", r.Reason, tt.reason)
			}
			if want.Jobs == nil {
				// Only the rows that name their jobs compare them.
				r.Jobs = nil
			}
			r.Reason = ""
			if d := cmp.Diff(want, r); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestFindings(t *testing.T) {
	jobs := loadRules(t)
	rep := &RepoReport{Repo: "o/r", Branches: []BranchReport{
		Branch(BranchInput{Repo: "o/r", Branch: "main", AppID: fixStatusApp, Rules: Rules{Jobs: jobs}, Required: []plan.RequiredCheck{
			{Context: "pull-foo-e2e", From: "protection"}, {Context: "pull-foo", From: "protection"},
			{Context: "pull-foo-conformance", From: "ruleset"}, {Context: "pull-foo-unit", From: "ruleset"},
		}}),
		Branch(BranchInput{Repo: "o/r", Branch: "release-1.0", AppID: fixStatusApp, Rules: Rules{Jobs: jobs}, Required: []plan.RequiredCheck{
			{Context: "lint", From: "protection", AppID: 9000},
		}}),
	}}
	tests := []struct {
		failOn []rules.Class
		want   []string
	}{
		{DefaultFailOn, []string{"main pull-foo orphaned", "main pull-foo-conformance manual", "release-1.0 lint pinned_elsewhere"}},
		{[]rules.Class{rules.ClassConditional}, []string{"main pull-foo-unit conditional"}},
		{nil, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, f := range Findings(rep, tt.failOn) {
			if f.Repo != "o/r" || f.Reason == "" {
				t.Errorf("finding %+v: want o/r with a reason", f)
			}
			got = append(got, f.Branch+" "+f.Context+" "+string(f.Class))
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("Findings(%v) (-want +got):\n%s", tt.failOn, d)
		}
	}
	if Findings(nil, DefaultFailOn) != nil {
		t.Error("Findings(nil) is not empty")
	}
}

func TestParseFailOn(t *testing.T) {
	tests := []struct {
		in      []string
		want    []rules.Class
		wantErr string
	}{
		{in: []string{"orphaned,manual"}, want: []rules.Class{rules.ClassOrphaned, rules.ClassManual}},
		{in: []string{"orphaned", "pinned_elsewhere, orphaned"}, want: []rules.Class{rules.ClassOrphaned, ClassPinnedElsewhere}},
		{in: []string{"none"}},
		{in: []string{""}},
		{in: []string{"none,manual"}, wantErr: `"none" is not a class`},
		{in: []string{"orphan"}, wantErr: `"orphan" is not a class (always, conditional, manual, not_on_branch, orphaned, pinned_elsewhere, unknown; or none alone)`},
	}
	for _, tt := range tests {
		got, err := ParseFailOn(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("ParseFailOn(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !cmp.Equal(got, tt.want) {
			t.Errorf("ParseFailOn(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
