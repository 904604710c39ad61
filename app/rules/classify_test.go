package rules_test

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/rules/actions"
	"github.com/fix-status/fix-status/app/rules/explicit"
	"github.com/fix-status/fix-status/app/rules/prow"
	"github.com/fix-status/fix-status/config"
)

// classification is what a test compares of a Classification.
type classification struct {
	Class      rules.Class
	MergeQueue rules.MergeQueue
	Jobs       []string
	Reason     string
}

func classify(jobs []*rules.Job, context, branch string) classification {
	c := rules.Classify(jobs, context, branch)
	out := classification{Class: c.Class, MergeQueue: c.MergeQueue, Reason: c.Reason}
	for _, j := range c.Jobs {
		out.Jobs = append(out.Jobs, j.Name)
	}
	return out
}

type classifyCase struct {
	context, branch string
	want            classification
}

func runClassify(t *testing.T, jobs []*rules.Job, cases []classifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.context+"@"+tc.branch, func(t *testing.T) {
			got := classify(jobs, tc.context, tc.branch)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Classify (-want +got):\n%s", diff)
			}
			if n := len([]rune(got.Reason)); n > rules.MaxReason {
				t.Errorf("reason of %d characters", n)
			}
		})
	}
}

func TestClassifyProw(t *testing.T) {
	c, err := prow.Parse("jobs.yaml", []byte(`presubmits:
  o/r:
  - name: pull-unit
    always_run: true
  - name: pull-docs
    run_if_changed: ^docs/
  - name: pull-manual
  - name: pull-release
    always_run: true
    branches: [^release-]
  - name: pull-foo-e2e
    run_if_changed: ^e2e/
`))
	if err != nil {
		t.Fatal(err)
	}
	runClassify(t, c.Jobs("o/r"), []classifyCase{
		{"pull-unit", "main", classification{rules.ClassAlways, rules.MergeQueueStalls, []string{"pull-unit"},
			"pull-unit: runs on every pull request to main; merge groups wait: Prow does not run on merge groups"}},
		{"pull-docs", "main", classification{rules.ClassConditional, rules.MergeQueueRepaired, []string{"pull-docs"},
			"pull-docs: runs only for some changes: run_if_changed ^docs/"}},
		{"pull-manual", "main", classification{rules.ClassManual, rules.MergeQueueStalls, []string{"pull-manual"},
			"pull-manual: runs only when requested: /test pull-manual; merge groups wait: Prow does not run on merge groups"}},
		{"pull-release", "main", classification{rules.ClassNotOnBranch, rules.MergeQueueRepaired, []string{"pull-release"},
			"pull-release: branch main does not match branches ^release-"}},
		{"pull-release", "release-1.0", classification{rules.ClassAlways, rules.MergeQueueStalls, []string{"pull-release"},
			"pull-release: runs on every pull request to release-1.0; merge groups wait: Prow does not run on merge groups"}},
		// Orphaned contexts suggest a job that looks renamed.
		{"pull-foo", "main", classification{rules.ClassOrphaned, rules.MergeQueueStalls, nil,
			"no job reports pull-foo: renamed to pull-foo-e2e in jobs.yaml?"}},
		{"Pull-Unti", "main", classification{rules.ClassOrphaned, rules.MergeQueueStalls, nil,
			"no job reports Pull-Unti: renamed to pull-unit in jobs.yaml?"}},
		{"ci/other", "main", classification{rules.ClassOrphaned, rules.MergeQueueStalls, nil,
			"no job reports ci/other"}},
	})
}

func TestClassifyActions(t *testing.T) {
	fsys := fstest.MapFS{
		".github/workflows/ci.yml": {Data: []byte(`on:
  pull_request:
    paths: ['src/**']
  merge_group:
jobs:
  lint: {name: Lint}
`)},
		".github/workflows/opened.yml": {Data: []byte(`on:
  pull_request:
    types: [opened]
jobs:
  greet: {}
`)},
		".github/workflows/matrix.yml": {Data: []byte(`on: pull_request
jobs:
  test:
    name: test-${{ matrix.x }}
    strategy:
      matrix: ${{ fromJSON(vars.MATRIX) }}
`)},
		".github/workflows/release.yml": {Data: []byte(`on:
  pull_request:
  merge_group:
    branches: [release]
jobs:
  rel: {}
`)},
	}
	wf, err := actions.LoadWorkflowsFS(fsys, ".github/workflows")
	if err != nil || len(wf.Errors) > 0 {
		t.Fatal(err, wf.Errors)
	}
	runClassify(t, wf.Jobs, []classifyCase{
		{"Lint", "main", classification{rules.ClassConditional, rules.MergeQueueRuns, []string{"ci.yml/lint"},
			"ci.yml/lint: runs only for some changes: paths [src/**]"}},
		{"greet", "main", classification{rules.ClassManual, rules.MergeQueueStalls, []string{"opened.yml/greet"},
			"opened.yml/greet: runs only on opened: later pushes wait for a person; merge groups wait: add merge_group: to .github/workflows/opened.yml"}},
		{"test-linux", "main", classification{rules.ClassUnknown, rules.MergeQueueStalls, []string{"matrix.yml/test"},
			"only matrix.yml/test may report it: its check name test-* is not known statically; merge groups wait: add merge_group: to .github/workflows…"}},
		{"rel", "main", classification{rules.ClassAlways, rules.MergeQueueStalls, []string{"release.yml/rel"},
			"release.yml/rel: runs on every pull request to main; merge groups wait: make on.merge_group in .github/workflows/release.yml admit the base…"}},
		{"rel", "release", classification{rules.ClassAlways, rules.MergeQueueRuns, []string{"release.yml/rel"},
			"release.yml/rel: runs on every pull request to release"}},
	})

	// A workflow that cannot be parsed may report anything: nothing it
	// may report is decided.
	fsys[".github/workflows/broken.yml"] = &fstest.MapFile{Data: []byte("on: [pull_request\n")}
	if wf, err = actions.LoadWorkflowsFS(fsys, ".github/workflows"); err != nil || len(wf.Errors) != 1 {
		t.Fatal(err, wf.Errors)
	}
	runClassify(t, wf.Jobs, []classifyCase{
		{"Lint", "main", classification{rules.ClassUnknown, rules.MergeQueueRuns, []string{"ci.yml/lint", "broken.yml"},
			"fix-status cannot skip it on pull requests: broken.yml may report it (check name *)"}},
		{"ci/none", "main", classification{rules.ClassUnknown, rules.MergeQueueStalls, []string{"broken.yml"},
			"only broken.yml may report it: its check name * is not known statically"}},
	})
}

func TestClassifyExplicit(t *testing.T) {
	cfg, err := config.ParseRepo([]byte(`version: 1
contexts:
  - context: ci/docs
    run_if_changed: '^docs/'
  - context: ci/e2e
    always_run: true
    merge_group: runs
  - context: ci/nightly
  - context: lint-go
    paths: ['**.go']
`))
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := explicit.Jobs(".github/fix-status.yml", cfg)
	if err != nil {
		t.Fatal(err)
	}
	runClassify(t, jobs, []classifyCase{
		{"ci/docs", "main", classification{rules.ClassConditional, rules.MergeQueueRepaired, []string{"ci/docs"},
			"ci/docs: runs only for some changes: run_if_changed ^docs/"}},
		{"ci/e2e", "main", classification{rules.ClassAlways, rules.MergeQueueRuns, []string{"ci/e2e"},
			"ci/e2e: runs on every pull request to main"}},
		{"ci/nightly", "main", classification{rules.ClassManual, rules.MergeQueueStalls, []string{"ci/nightly"},
			"ci/nightly: no always_run and no file filter: only an explicit request starts it; merge groups wait: set merge_group: runs in .github/fix-s…"}},
	})

	// A job of another source that always runs and may report lint-go
	// keeps fix-status from skipping it.
	wf, err := actions.LoadWorkflowsFS(fstest.MapFS{".github/workflows/lint.yml": {Data: []byte(
		"on: pull_request\njobs:\n  lint:\n    name: lint-${{ matrix.lang }}\n    strategy:\n      matrix:\n        lang: ${{ fromJSON(vars.LANGS) }}\n")}}, ".github/workflows")
	if err != nil {
		t.Fatal(err)
	}
	runClassify(t, append(jobs, wf.Jobs...), []classifyCase{
		{"lint-go", "main", classification{rules.ClassUnknown, rules.MergeQueueRepaired, []string{"lint-go", "lint.yml/lint"},
			"fix-status cannot skip it on pull requests: lint.yml/lint may report it (check name lint-*)"}},
	})
}
