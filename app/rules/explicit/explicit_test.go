package explicit

import (
	"strings"
	"testing"

	"github.com/fix-status/fix-status/app/rules"

	"github.com/fix-status/fix-status/config"
)

func TestJobs(t *testing.T) {
	cfg, err := config.ParseRepo([]byte(`version: 1
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
`))
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := Jobs(".github/fix-status.yml", cfg)
	if err != nil {
		t.Fatal(err)
	}
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
	if jobs[1].Rerun.Comment != "/test e2e" || jobs[0].Origin.Line != 3 || jobs[0].Source != rules.SourceConfig {
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
