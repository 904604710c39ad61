package explicit

import (
	"strings"
	"testing"

	"github.com/fix-status/fix-status/app/rules"
	"github.com/google/go-cmp/cmp"

	"github.com/fix-status/fix-status/config"
)

// mustJobs parses a repo config and returns its explicit jobs.
func mustJobs(t *testing.T, repoConfig string) []*rules.Job {
	t.Helper()
	cfg, err := config.ParseRepo([]byte(repoConfig))
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := Jobs(".github/fix-status.yml", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func TestJobs(t *testing.T) {
	jobs := mustJobs(t, `version: 1
contexts:
  - context: ci/docs
    run_if_changed: '^docs/'
  - context: ci/e2e
    skip_if_only_changed: '\.md$'
    branches: ['main']
    rerun: {comment: "/test e2e"}
  - context: "build (linux)"
    paths: ['src/**', '!src/docs/**']
  - context: ci/lint
    always_run: true
    skip_branches: ['^release-']
  - context: ci/manual
`)
	tests := []struct {
		branch  string
		files   []string
		want    []rules.Verdict
		reasons map[int]string
	}{
		{"main", []string{"src/docs/a.md"}, []rules.Verdict{rules.VerdictSkip, rules.VerdictSkip, rules.VerdictSkip, rules.VerdictRun, rules.VerdictManual},
			map[int]string{0: "no changed file matches run_if_changed ^docs/", 1: `every changed file matches skip_if_only_changed \.md$`}},
		{"main", []string{"docs/a.go", "src/x.go"}, []rules.Verdict{rules.VerdictRun, rules.VerdictRun, rules.VerdictRun, rules.VerdictRun, rules.VerdictManual},
			map[int]string{4: "no always_run and no file filter"}},
		// branches are Prow's unanchored regexes: "main" matches "maintenance-2".
		{"maintenance-2", []string{"a.go"}, []rules.Verdict{rules.VerdictSkip, rules.VerdictRun, rules.VerdictSkip, rules.VerdictRun, rules.VerdictManual}, nil},
		{"release-1.2", []string{"a.go"}, []rules.Verdict{rules.VerdictSkip, rules.VerdictNotOnBranch, rules.VerdictSkip, rules.VerdictNotOnBranch, rules.VerdictManual},
			map[int]string{3: "branch release-1.2 matches skip_branches ^release-"}},
		{"main", nil, []rules.Verdict{rules.VerdictSkip, rules.VerdictSkip, rules.VerdictSkip, rules.VerdictRun, rules.VerdictManual}, nil},
	}
	for _, tt := range tests {
		res := rules.Evaluate(jobs, rules.Change{Branch: tt.branch, Files: tt.files, Complete: true})
		for i, r := range res {
			if r.Verdict != tt.want[i] {
				t.Errorf("%s %v: %s: got %s (%s), want %s", tt.branch, tt.files, r.Job.Context, r.Verdict, r.Reason, tt.want[i])
			}
			if want, ok := tt.reasons[i]; ok && !strings.HasPrefix(r.Reason, want) {
				t.Errorf("%s %v: %s: reason %q, want %q", tt.branch, tt.files, r.Job.Context, r.Reason, want)
			}
		}
	}
	if jobs[1].Rerun != (rules.Rerun{Method: rules.RerunComment, Comment: "/test e2e"}) || jobs[0].Rerun != (rules.Rerun{Method: rules.RerunCheckSuite}) ||
		jobs[0].Origin.Line != 3 || jobs[0].Source != rules.SourceConfig {
		t.Errorf("job fields: %+v", jobs[0])
	}
}

func TestJobsErrors(t *testing.T) {
	cfg, err := config.ParseRepo([]byte(`version: 1
contexts:
  - context: a
    run_if_changed: '^(docs'
  - context: b
    paths: ['[a-']
  - context: c
    branches: ['(']
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Jobs(".github/fix-status.yml", cfg)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`.github/fix-status.yml: line 3: contexts[0] (a): invalid run_if_changed regex "^(docs"`,
		`.github/fix-status.yml: line 5: contexts[1] (b): paths:`,
		`.github/fix-status.yml: line 7: contexts[2] (c): invalid branches regex "("`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestJobsMergeGroup(t *testing.T) {
	jobs := mustJobs(t, `version: 1
contexts:
  - context: ci/docs
    run_if_changed: '^docs/'
  - context: ci/e2e
    always_run: true
    branches: ['^main$']
    merge_group: runs
  - context: ci/lint
    always_run: true
    merge_group: never
`)
	tests := []struct {
		branch string
		files  []string
		want   []string
	}{
		{"main", []string{"docs/a.md"}, []string{
			"not_on_merge_group: set merge_group: runs in .github/fix-status.yml if ci/docs reports on merge groups (would run: run_if_changed ^docs/ matches docs/a.md)",
			"run: runs on merge groups: merge_group: runs in .github/fix-status.yml",
			"not_on_merge_group: set merge_group: runs in .github/fix-status.yml if ci/lint reports on merge groups (would run: runs on every pull request to main)",
		}},
		{"main", []string{"src/a.go"}, []string{
			"skip: no changed file matches run_if_changed ^docs/",
			"run: runs on merge groups: merge_group: runs in .github/fix-status.yml",
			"not_on_merge_group: set merge_group: runs in .github/fix-status.yml if ci/lint reports on merge groups (would run: runs on every pull request to main)",
		}},
		// The branch filter of a rule that runs on merge groups applies to
		// the group's base branch.
		{"release", []string{"src/a.go"}, []string{
			"skip: no changed file matches run_if_changed ^docs/",
			"not_on_branch: branch release does not match branches ^main$",
			"not_on_merge_group: set merge_group: runs in .github/fix-status.yml if ci/lint reports on merge groups (would run: runs on every pull request to release)",
		}},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range rules.Evaluate(jobs, rules.Change{Branch: tt.branch, Files: tt.files, Complete: true, MergeGroup: true}) {
			got = append(got, string(r.Verdict)+": "+r.Reason)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s %v (-want +got):\n%s", tt.branch, tt.files, diff)
		}
	}
	if c := rules.Classify(jobs, "ci/e2e", "main"); c.MergeQueue != rules.MergeQueueRuns {
		t.Errorf("Classify(ci/e2e) = %+v, want merge queue runs", c)
	}
}

func TestRuleFiles(t *testing.T) {
	rf := RuleFiles(".github/fix-status.yml")
	if !rf.Defines(".github/fix-status.yml") || rf.Defines(".github/fix-status.yaml") {
		t.Errorf("RuleFiles = %v", rf.Paths())
	}
}
