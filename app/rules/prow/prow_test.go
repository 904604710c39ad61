package prow

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fix-status/fix-status/app/rules"

	"github.com/google/go-cmp/cmp"
)

// jobView is what a test compares of a Job: the filters are compared by
// their behaviour, not their internals.
type jobView struct {
	Name       string
	Context    string
	Origin     rules.Origin
	Trigger    rules.Trigger
	Files      bool
	Branches   bool
	Optional   bool
	SkipReport bool
	Rerun      rules.Rerun
}

func view(jobs []*rules.Job) []jobView {
	out := make([]jobView, len(jobs))
	for i, j := range jobs {
		if j.Source != rules.SourceProw || j.MaxFiles != 0 || j.Unknown != "" {
			panic(fmt.Sprintf("unexpected job %+v", j))
		}
		out[i] = jobView{
			Name: j.Name, Context: j.Context, Origin: j.Origin, Trigger: j.Trigger,
			Files: j.Files != nil, Branches: j.Branches != nil,
			Optional: j.Optional, SkipReport: j.SkipReport, Rerun: j.Rerun,
		}
	}
	return out
}

func testComment(name string) rules.Rerun {
	return rules.Rerun{Method: rules.RerunComment, Comment: "/test " + name}
}

func TestLoadKubernetesStyle(t *testing.T) {
	c, err := Load("testdata/kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"kubernetes/kubernetes", "kubernetes/test-infra"}, c.Repos()); diff != "" {
		t.Errorf("Repos() (-want +got):\n%s", diff)
	}
	path := filepath.Join("testdata/kubernetes", "kubernetes-presubmits.yaml")
	at := func(line int) rules.Origin { return rules.Origin{Path: path, Line: line} }
	want := []jobView{
		{Name: "pull-kubernetes-unit", Context: "pull-kubernetes-unit", Origin: at(22), Trigger: rules.TriggerAlways, Branches: true, Rerun: testComment("pull-kubernetes-unit")},
		{Name: "pull-kubernetes-verify-docs", Context: "pull-kubernetes-verify-docs", Origin: at(60), Trigger: rules.TriggerConditional, Files: true, Optional: true, Rerun: testComment("pull-kubernetes-verify-docs")},
		{Name: "pull-kubernetes-e2e-gce", Context: "pull-kubernetes-e2e-gce", Origin: at(69), Trigger: rules.TriggerConditional, Files: true, Branches: true, Rerun: testComment("pull-kubernetes-e2e-gce")},
		{Name: "pull-kubernetes-conformance-kind", Context: "pull-kubernetes-conformance-kind", Origin: at(84), Trigger: rules.TriggerManual, Optional: true, Rerun: testComment("pull-kubernetes-conformance-kind")},
		{Name: "pull-kubernetes-node-e2e", Context: "pull-kubernetes-node-e2e", Origin: at(92), Trigger: rules.TriggerConditional, Files: true, Rerun: rules.Rerun{Method: rules.RerunComment, Comment: "/test node"}},
		{Name: "pull-kubernetes-unit", Context: "pull-kubernetes-unit", Origin: at(101), Trigger: rules.TriggerAlways, Branches: true, Rerun: testComment("pull-kubernetes-unit")},
		{Name: "pull-kubernetes-unit", Context: "pull-kubernetes-unit", Origin: at(109), Trigger: rules.TriggerAlways, Branches: true, Rerun: testComment("pull-kubernetes-unit")},
	}
	if diff := cmp.Diff(want, view(c.Jobs("kubernetes/kubernetes"))); diff != "" {
		t.Errorf("Jobs(kubernetes/kubernetes) (-want +got):\n%s", diff)
	}
	infra := c.Jobs("kubernetes/test-infra")
	if len(infra) != 1 || !infra[0].SkipReport || infra[0].Required() {
		t.Errorf("Jobs(kubernetes/test-infra) = %+v, want one skip_report job that is not required", view(infra))
	}
	if got := c.Jobs("Kubernetes/Kubernetes"); got != nil {
		t.Errorf("Jobs() matched a repo name case-insensitively; Prow matches exactly: %v", view(got))
	}

	// Per-definition verdicts on three branches: the sharded unit job
	// answers once per definition, in config order.
	files := []string{"pkg/kubelet/kubelet.go", "docs/README.md"}
	for _, tc := range []struct {
		branch string
		want   []rules.Verdict
	}{
		{"master", []rules.Verdict{rules.VerdictRun, rules.VerdictRun, rules.VerdictRun, rules.VerdictManual, rules.VerdictRun, rules.VerdictNotOnBranch, rules.VerdictNotOnBranch}},
		{"release-1.29", []rules.Verdict{rules.VerdictNotOnBranch, rules.VerdictRun, rules.VerdictNotOnBranch, rules.VerdictManual, rules.VerdictRun, rules.VerdictRun, rules.VerdictNotOnBranch}},
		{"release-1.30", []rules.Verdict{rules.VerdictNotOnBranch, rules.VerdictRun, rules.VerdictNotOnBranch, rules.VerdictManual, rules.VerdictRun, rules.VerdictNotOnBranch, rules.VerdictRun}},
	} {
		var got []rules.Verdict
		for _, r := range rules.Evaluate(c.Jobs("kubernetes/kubernetes"), rules.Change{Branch: tc.branch, Files: files, Complete: true}) {
			got = append(got, r.Verdict)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("verdicts on %s (-want +got):\n%s", tc.branch, diff)
		}
	}
}

type jobResult struct {
	Job     string
	Verdict rules.Verdict
	Reason  string
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		config string // the jobs of org/repo
		change rules.Change
		want   []jobResult
	}{
		{
			name:   "run_if_changed is an unanchored search",
			config: `[{name: a, run_if_changed: docs/}, {name: b, run_if_changed: ^docs/}]`,
			change: rules.Change{Branch: "main", Files: []string{"pkg/docs/x.go"}, Complete: true},
			want: []jobResult{
				{"a", rules.VerdictRun, "run_if_changed docs/ matches pkg/docs/x.go"},
				{"b", rules.VerdictSkip, "no changed file matches run_if_changed ^docs/"},
			},
		},
		{
			name:   "run_if_changed names the first matching file",
			config: `[{name: a, run_if_changed: '\.go$'}]`,
			change: rules.Change{Branch: "main", Files: []string{"README.md", "pkg/a.go", "pkg/b.go"}, Complete: true},
			want:   []jobResult{{"a", rules.VerdictRun, `run_if_changed \.go$ matches pkg/a.go`}},
		},
		{
			name:   "skip_if_only_changed runs when one file does not match",
			config: `[{name: a, skip_if_only_changed: '\.md$'}]`,
			change: rules.Change{Branch: "main", Files: []string{"README.md", "pkg/a.go"}, Complete: true},
			want:   []jobResult{{"a", rules.VerdictRun, `pkg/a.go does not match skip_if_only_changed \.md$`}},
		},
		{
			name:   "skip_if_only_changed skips when every file matches",
			config: `[{name: a, skip_if_only_changed: '\.md$'}]`,
			change: rules.Change{Branch: "main", Files: []string{"README.md", "docs/b.md"}, Complete: true},
			want:   []jobResult{{"a", rules.VerdictSkip, `every changed file matches skip_if_only_changed \.md$`}},
		},
		{
			name:   "renamed files count by their new name only",
			config: `[{name: old, run_if_changed: ^old/}, {name: new, run_if_changed: ^new/}]`,
			// GitHub lists a rename from old/a.go to new/a.go as new/a.go.
			change: rules.Change{Branch: "main", Files: []string{"new/a.go"}, Complete: true},
			want: []jobResult{
				{"old", rules.VerdictSkip, "no changed file matches run_if_changed ^old/"},
				{"new", rules.VerdictRun, "run_if_changed ^new/ matches new/a.go"},
			},
		},
		{
			name:   "deleted files count",
			config: `[{name: docs, run_if_changed: ^docs/}, {name: code, skip_if_only_changed: ^docs/}]`,
			change: rules.Change{Branch: "main", Files: []string{"docs/removed.md"}, Complete: true},
			want: []jobResult{
				{"docs", rules.VerdictRun, "run_if_changed ^docs/ matches docs/removed.md"},
				{"code", rules.VerdictSkip, "every changed file matches skip_if_only_changed ^docs/"},
			},
		},
		{
			name: "an empty change list runs no conditional job",
			config: `[{name: ric, run_if_changed: .}, {name: sioc, skip_if_only_changed: ^$},
				{name: always, always_run: true}, {name: manual}]`,
			change: rules.Change{Branch: "main", Complete: true},
			want: []jobResult{
				{"ric", rules.VerdictSkip, "no changed files"},
				{"sioc", rules.VerdictSkip, "no changed files"},
				{"always", rules.VerdictRun, "always_run"},
				{"manual", rules.VerdictManual, "runs only when requested: /test manual"},
			},
		},
		{
			name:   "jobs without always_run or a file filter are manual",
			config: `[{name: a}, {name: b, always_run: false, optional: true}, {name: c, trigger: '(?m)^/c$', rerun_command: /c}]`,
			change: rules.Change{Branch: "main", Files: []string{"a.go"}, Complete: true},
			want: []jobResult{
				{"a", rules.VerdictManual, "runs only when requested: /test a"},
				{"b", rules.VerdictManual, "runs only when requested: /test b"},
				{"c", rules.VerdictManual, "runs only when requested: /c"},
			},
		},
		{
			name:   "branches are joined into one unanchored regex",
			config: `[{name: a, always_run: true, branches: [main]}, {name: b, always_run: true, branches: ['^main$']}, {name: c, always_run: true, branches: [dev, main]}]`,
			change: rules.Change{Branch: "maintenance-2", Complete: true},
			want: []jobResult{
				{"a", rules.VerdictRun, "always_run"},
				{"b", rules.VerdictNotOnBranch, "branch maintenance-2 does not match branches ^main$"},
				{"c", rules.VerdictRun, "always_run"},
			},
		},
		{
			name: "joining without grouping changes the anchors",
			// Prow compiles `^release-1.1$|^main`: the first anchor binds to
			// its own alternative only.
			config: `[{name: a, always_run: true, branches: ['^release-1.1$', '^main']}]`,
			change: rules.Change{Branch: "mainline", Complete: true},
			want:   []jobResult{{"a", rules.VerdictRun, "always_run"}},
		},
		{
			name:   "a branch outside branches is not on branch",
			config: `[{name: a, run_if_changed: ., branches: ['^main$', '^release-']}]`,
			change: rules.Change{Branch: "dev", Files: []string{"a.go"}, Complete: true},
			want:   []jobResult{{"a", rules.VerdictNotOnBranch, "branch dev does not match branches ^main$|^release-"}},
		},
		{
			name:   "skip_branches wins over branches",
			config: `[{name: a, always_run: true, branches: [release], skip_branches: ['^release-1\.2$']}]`,
			change: rules.Change{Branch: "release-1.2", Complete: true},
			want:   []jobResult{{"a", rules.VerdictNotOnBranch, `branch release-1.2 matches skip_branches ^release-1\.2$`}},
		},
		{
			name:   "skip_branches alone",
			config: `[{name: a, always_run: true, skip_branches: ['^release-']}, {name: b, run_if_changed: ., skip_branches: ['^release-']}]`,
			change: rules.Change{Branch: "release-1.2", Files: []string{"x"}, Complete: true},
			want: []jobResult{
				{"a", rules.VerdictNotOnBranch, "branch release-1.2 matches skip_branches ^release-"},
				{"b", rules.VerdictNotOnBranch, "branch release-1.2 matches skip_branches ^release-"},
			},
		},
		{
			name:   "skip_branches alone lets other branches run",
			config: `[{name: a, always_run: true, skip_branches: ['^release-']}]`,
			change: rules.Change{Branch: "dev", Complete: true},
			want:   []jobResult{{"a", rules.VerdictRun, "always_run"}},
		},
		{
			name:   "manual jobs are still filtered by branch",
			config: `[{name: a, branches: [^main$]}]`,
			change: rules.Change{Branch: "dev", Complete: true},
			want:   []jobResult{{"a", rules.VerdictNotOnBranch, "branch dev does not match branches ^main$"}},
		},
		{
			name:   "an incomplete change list never proves a skip",
			config: `[{name: a, run_if_changed: ^docs/}, {name: b, run_if_changed: ^pkg/}]`,
			change: rules.Change{Branch: "main", Files: []string{"pkg/a.go"}, Complete: false},
			want: []jobResult{
				{"a", rules.VerdictUnknown, "the changed-file list is incomplete (1 files listed)"},
				{"b", rules.VerdictRun, "run_if_changed ^pkg/ matches pkg/a.go"},
			},
		},
		{
			name:   "run_before_merge jobs are evaluated like any other",
			config: `[{name: a, run_before_merge: true, run_if_changed: ^pkg/}, {name: b, run_before_merge: true}]`,
			change: rules.Change{Branch: "main", Files: []string{"docs/a.md"}, Complete: true},
			want: []jobResult{
				{"a", rules.VerdictSkip, "no changed file matches run_if_changed ^pkg/"},
				{"b", rules.VerdictManual, "runs only when requested: /test b"},
			},
		},
		{
			name: "a name sharded across disjoint branches gives one result per definition",
			config: `[{name: unit, always_run: true, branches: [main]},
				{name: unit, run_if_changed: ^pkg/, branches: [release-1.29]},
				{name: unit, skip_if_only_changed: \.md$, branches: [release-1.30]}]`,
			change: rules.Change{Branch: "release-1.29", Files: []string{"docs/a.md"}, Complete: true},
			want: []jobResult{
				{"unit", rules.VerdictNotOnBranch, "branch release-1.29 does not match branches main"},
				{"unit", rules.VerdictSkip, "no changed file matches run_if_changed ^pkg/"},
				{"unit", rules.VerdictNotOnBranch, "branch release-1.29 does not match branches release-1.30"},
			},
		},
		{
			name:   "long reasons fit a commit status description",
			config: `[{name: a, run_if_changed: '^(` + strings.Repeat("component/", 20) + `)'}]`,
			change: rules.Change{Branch: "main", Files: []string{"a"}, Complete: true},
			want:   []jobResult{{"a", rules.VerdictSkip, rules.Truncate("no changed file matches run_if_changed ^("+strings.Repeat("component/", 20)+")", rules.MaxReason)}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("jobs.yaml", []byte("presubmits:\n  org/repo: "+tc.config+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			var got []jobResult
			for _, r := range rules.Evaluate(c.Jobs("org/repo"), tc.change) {
				got = append(got, jobResult{r.Job.Name, r.Verdict, r.Reason})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("jobs.yaml", []byte(`
presubmits:
  org/repo:
  - name: pull-default
  - name: pull-context
    context: ci/custom
  - name: pull-dots.v1
  - name: pull-custom
    trigger: (?m)^/test( all| custom),?(\s+|$)
    rerun_command: /test custom
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []jobView
	for _, v := range view(c.Jobs("org/repo")) {
		got = append(got, jobView{Name: v.Name, Context: v.Context, Rerun: v.Rerun})
	}
	want := []jobView{
		{Name: "pull-default", Context: "pull-default", Rerun: testComment("pull-default")},
		{Name: "pull-context", Context: "ci/custom", Rerun: testComment("pull-context")},
		{Name: "pull-dots.v1", Context: "pull-dots.v1", Rerun: testComment("pull-dots.v1")},
		{Name: "pull-custom", Context: "pull-custom", Rerun: rules.Rerun{Method: rules.RerunComment, Comment: "/test custom"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}

	// The default trigger is Prow's, with the name inserted unescaped.
	trigger := regexp.MustCompile(defaultTrigger("pull-dots.v1"))
	for comment, want := range map[string]bool{
		"/test pull-dots.v1":                  true,
		"/test all pull-dots.v1":              true,
		"/test pull-dots.v1, other":           true,
		"lgtm\n/test pull-dots.v1\nthanks":    true,
		"/test pull-dotsXv1":                  true, // the dot is not escaped
		"/test pull-dots.v10":                 false,
		"please /test pull-dots.v1":           false,
		"/retest pull-dots.v1":                false,
		"/test other-job\n/test pull-dots.v1": true,
	} {
		if got := trigger.MatchString(comment); got != want {
			t.Errorf("default trigger matches %q = %v, want %v", comment, got, want)
		}
	}
}

func TestValidation(t *testing.T) {
	const path = "config/jobs/a.yaml"
	tests := []struct {
		name   string
		config string
		want   []string // one line per problem, in order
	}{
		{
			name:   "invalid run_if_changed",
			config: "presubmits:\n  kubernetes/test-infra:\n  - name: pull-foo\n    run_if_changed: ^(docs\n",
			want:   []string{`config/jobs/a.yaml: kubernetes/test-infra: job "pull-foo": invalid run_if_changed regex "^(docs": error parsing regexp: missing closing ): ` + "`^(docs`"},
		},
		{
			name:   "invalid skip_if_only_changed",
			config: "presubmits:\n  o/r:\n  - name: a\n    skip_if_only_changed: '*.md'\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": invalid skip_if_only_changed regex "*.md": error parsing regexp: missing argument to repetition operator: ` + "`*`"},
		},
		{
			name:   "invalid branches are reported as the joined regex",
			config: "presubmits:\n  o/r:\n  - name: a\n    branches: [main, 'release-(1.2']\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": invalid branches regex "main|release-(1.2": error parsing regexp: missing closing ): ` + "`main|release-(1.2`"},
		},
		{
			name:   "branch items are joined before compiling, as Prow does",
			config: "presubmits:\n  o/r:\n  - name: a\n    branches: ['(release', 'main)']\n",
		},
		{
			name:   "invalid skip_branches",
			config: "presubmits:\n  o/r:\n  - name: a\n    skip_branches: ['[']\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": invalid skip_branches regex "[": error parsing regexp: missing closing ]: ` + "`[`"},
		},
		{
			name:   "invalid trigger",
			config: "presubmits:\n  o/r:\n  - name: a\n    trigger: /test (a\n    rerun_command: /test a\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": invalid trigger regex "/test (a": error parsing regexp: missing closing ): ` + "`/test (a`"},
		},
		{
			name:   "a name with regex syntax breaks the default trigger",
			config: "presubmits:\n  o/r:\n  - name: pull-c+\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "pull-c+": rerun_command "/test pull-c+" does not match trigger "(?m)^/test( | .* )pull-c+,?($|\\s.*)"`},
		},
		{
			name:   "a name that makes the default trigger invalid",
			config: "presubmits:\n  o/r:\n  - name: pull-c++\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "pull-c++": invalid trigger regex "(?m)^/test( | .* )pull-c++,?($|\\s.*)": error parsing regexp: invalid nested repetition operator: ` + "`++`"},
		},
		{
			name:   "always_run with run_if_changed",
			config: "presubmits:\n  o/r:\n  - name: a\n    always_run: true\n    run_if_changed: ^docs/\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": always_run and run_if_changed are mutually exclusive`},
		},
		{
			name:   "always_run with skip_if_only_changed",
			config: "presubmits:\n  o/r:\n  - name: a\n    always_run: true\n    skip_if_only_changed: ^docs/\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": always_run and skip_if_only_changed are mutually exclusive`},
		},
		{
			name:   "run_if_changed with skip_if_only_changed",
			config: "presubmits:\n  o/r:\n  - name: a\n    run_if_changed: ^pkg/\n    skip_if_only_changed: ^docs/\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": run_if_changed and skip_if_only_changed are mutually exclusive`},
		},
		{
			name:   "trigger without rerun_command",
			config: "presubmits:\n  o/r:\n  - name: a\n    trigger: /a\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": trigger is set without rerun_command: set both or neither`},
		},
		{
			name:   "rerun_command without trigger",
			config: "presubmits:\n  o/r:\n  - name: a\n    rerun_command: /a\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": rerun_command is set without trigger: set both or neither`},
		},
		{
			name:   "rerun_command not matched by the trigger",
			config: "presubmits:\n  o/r:\n  - name: a\n    trigger: (?m)^/test a$\n    rerun_command: /retest\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": rerun_command "/retest" does not match trigger "(?m)^/test a$"`},
		},
		{
			name:   "duplicate names on every branch",
			config: "presubmits:\n  o/r:\n  - name: a\n  - name: a\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": job name already defined at config/jobs/a.yaml:3 on overlapping branches (a name may repeat only on disjoint branches)`},
		},
		{
			name:   "duplicate names on a common literal branch",
			config: "presubmits:\n  o/r:\n  - name: a\n    branches: [main, dev]\n  - name: a\n    branches: [dev]\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": job name already defined at config/jobs/a.yaml:3 on overlapping branches (a name may repeat only on disjoint branches)`},
		},
		{
			name:   "duplicate names: branches against skip_branches",
			config: "presubmits:\n  o/r:\n  - name: a\n    skip_branches: [^main$]\n  - name: a\n    branches: [release-1.1]\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": job name already defined at config/jobs/a.yaml:3 on overlapping branches (a name may repeat only on disjoint branches)`},
		},
		{
			name:   "duplicate names: both with skip_branches only",
			config: "presubmits:\n  o/r:\n  - name: a\n    skip_branches: [^main$]\n  - name: a\n    skip_branches: [^dev$]\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": job name already defined at config/jobs/a.yaml:3 on overlapping branches (a name may repeat only on disjoint branches)`},
		},
		{
			name:   "a name on branches its twin skips is allowed",
			config: "presubmits:\n  o/r:\n  - name: a\n    skip_branches: [^release-]\n  - name: a\n    branches: [release-1.1, release-1.2]\n",
		},
		{
			name: "literal branch lists are compared as strings, not regexes",
			// Both match main, but Prow compares the lists literally.
			config: "presubmits:\n  o/r:\n  - name: a\n    branches: [main]\n  - name: a\n    branches: [^main$]\n",
		},
		{
			name:   "the same name in two repos is allowed",
			config: "presubmits:\n  o/r:\n  - name: a\n  o/s:\n  - name: a\n",
		},
		{
			name:   "two jobs reporting one context",
			config: "presubmits:\n  o/r:\n  - name: a\n    context: ci/test\n  - name: b\n    context: ci/test\n    branches: [main]\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "b": reports to context "ci/test" like job "a" (config/jobs/a.yaml:3) on overlapping branches`},
		},
		{
			name:   "a context defaulted from another job's name",
			config: "presubmits:\n  o/r:\n  - name: a\n  - name: b\n    context: a\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "b": reports to context "a" like job "a" (config/jobs/a.yaml:3) on overlapping branches`},
		},
		{
			name:   "one context on disjoint branches is allowed",
			config: "presubmits:\n  o/r:\n  - name: a\n    context: ci/test\n    branches: [main]\n  - name: b\n    context: ci/test\n    branches: [dev]\n",
		},
		{
			name:   "missing name",
			config: "presubmits:\n  o/r:\n  - always_run: true\n  -\n",
			want: []string{
				`config/jobs/a.yaml: o/r: job at line 3: missing name`,
				`config/jobs/a.yaml: o/r: job at line 4: missing name`,
			},
		},
		{
			name:   "a field of the wrong type",
			config: "presubmits:\n  o/r:\n  - name: a\n    always_run: maybe\n    branches: main\n  - name: b\n    optional: 'true'\n    context: {a: b}\n",
			want: []string{
				`config/jobs/a.yaml: o/r: job "a": always_run: expected true or false, got "maybe"`,
				`config/jobs/a.yaml: o/r: job "a": branches: expected a list of strings, got "main"`,
				`config/jobs/a.yaml: o/r: job "b": context: expected a string, got a mapping`,
				`config/jobs/a.yaml: o/r: job "b": optional: expected true or false, got "true"`,
			},
		},
		{
			name:   "invalid YAML",
			config: "presubmits:\n  o/r:\n  - name: a\n   bad: indent\n",
			// go.yaml.in/yaml/v3 names the line where the enclosing mapping starts.
			want: []string{`config/jobs/a.yaml: invalid YAML: line 1: did not find expected key`},
		},
		{
			name:   "not a mapping",
			config: "- name: a\n",
			want:   []string{`config/jobs/a.yaml:1: expected a mapping at the top level, got a list`},
		},
		{
			name:   "presubmits not keyed by repo",
			config: "presubmits:\n- name: a\n",
			want:   []string{`config/jobs/a.yaml:2: presubmits: expected a mapping of org/repo to jobs, got a list`},
		},
		{
			name:   "jobs not a list",
			config: "presubmits:\n  o/r:\n    name: a\n",
			want:   []string{`config/jobs/a.yaml: o/r: job at line 3: expected a list of jobs, got a mapping`},
		},
		{
			name:   "a job that is not a mapping",
			config: "presubmits:\n  o/r:\n  - pull-a\n",
			want:   []string{`config/jobs/a.yaml: o/r: job at line 3: expected a job mapping, got "pull-a"`},
		},
		{
			name: "every problem is reported",
			config: `presubmits:
  o/r:
  - name: a
    always_run: true
    run_if_changed: (
  - name: b
    trigger: x
  - name: a
  o/s:
  - name: c
    branches: ["("]
    skip_branches: [")"]
`,
			want: []string{
				`config/jobs/a.yaml: o/r: job "a": always_run and run_if_changed are mutually exclusive`,
				`config/jobs/a.yaml: o/r: job "a": invalid run_if_changed regex "(": error parsing regexp: missing closing ): ` + "`(`",
				`config/jobs/a.yaml: o/r: job "b": trigger is set without rerun_command: set both or neither`,
				`config/jobs/a.yaml: o/r: job "a": job name already defined at config/jobs/a.yaml:3 on overlapping branches (a name may repeat only on disjoint branches)`,
				`config/jobs/a.yaml: o/s: job "c": invalid branches regex "(": error parsing regexp: missing closing ): ` + "`(`",
				`config/jobs/a.yaml: o/s: job "c": invalid skip_branches regex ")": error parsing regexp: unexpected ): ` + "`)`",
			},
		},
		{
			name:   "a regex with a line break is reported on one line",
			config: "presubmits:\n  o/r:\n  - name: a\n    run_if_changed: \"(\\n\"\n",
			want:   []string{`config/jobs/a.yaml: o/r: job "a": invalid run_if_changed regex "(\n": error parsing regexp: missing closing ): ` + "`(\\n`"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(path, []byte(tc.config))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded, want %d errors", len(tc.want))
			}
			if c != nil {
				t.Errorf("Parse returned a config with its error")
			}
			if diff := cmp.Diff(tc.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Path != path {
				t.Errorf("errors.As(%v) = %+v, want a *ConfigError for %s", err, ce, path)
			}
		})
	}
}

func TestConfigErrorFields(t *testing.T) {
	_, err := Load("testdata/invalid")
	if err == nil {
		t.Fatal("Load succeeded on an invalid config")
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Load error %T does not unwrap to a list", err)
	}
	var got []ConfigError
	for _, e := range joined.Unwrap() {
		var ce *ConfigError
		if !errors.As(e, &ce) {
			t.Fatalf("error %v is not a *ConfigError", e)
		}
		got = append(got, *ce)
	}
	path := filepath.Join("testdata/invalid", "invalid.yaml")
	want := []ConfigError{
		{Path: path, Line: 3, Repo: "kubernetes/test-infra", Job: "pull-foo", Problem: `invalid run_if_changed regex "^(docs": error parsing regexp: missing closing ): ` + "`^(docs`"},
		{Path: path, Line: 8, Repo: "kubernetes/test-infra", Job: "pull-bar", Problem: "always_run and skip_if_only_changed are mutually exclusive"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestLoadDirectory(t *testing.T) {
	c, err := Load("testdata/merged")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"org/app", "org/lib"}, c.Repos()); diff != "" {
		t.Errorf("Repos() (-want +got):\n%s", diff)
	}
	type named struct {
		Name   string
		Origin rules.Origin
	}
	var got []named
	for _, j := range c.Jobs("org/app") {
		got = append(got, named{j.Name, j.Origin})
	}
	// Lexical walk order: a/jobs-a.yaml, b/jobs-b.yml, c-last.yaml; the
	// ConfigMap bookkeeping directory (..2024_...) and non-YAML files are
	// not read.
	want := []named{
		{"pull-app-unit", rules.Origin{Path: "testdata/merged/a/jobs-a.yaml", Line: 3}},
		{"pull-app-docs", rules.Origin{Path: "testdata/merged/a/jobs-a.yaml", Line: 5}},
		{"pull-app-e2e", rules.Origin{Path: "testdata/merged/b/jobs-b.yml", Line: 3}},
		{"pull-app-lint", rules.Origin{Path: "testdata/merged/c-last.yaml", Line: 3}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Jobs(org/app) (-want +got):\n%s", diff)
	}

	// Several paths merge in the order given.
	c, err = Load("testdata/merged/c-last.yaml", "testdata/merged/a")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range c.Jobs("org/app") {
		names = append(names, j.Name)
	}
	if diff := cmp.Diff([]string{"pull-app-lint", "pull-app-unit", "pull-app-docs"}, names); diff != "" {
		t.Errorf("Jobs(org/app) from two paths (-want +got):\n%s", diff)
	}

	// The returned slice is the caller's.
	jobs := c.Jobs("org/app")
	jobs[0] = nil
	if c.Jobs("org/app")[0] == nil {
		t.Error("modifying the slice from Jobs changed the config")
	}
	if got := c.Jobs("org/none"); got != nil {
		t.Errorf("Jobs(unknown repo) = %v, want nil", got)
	}
}

func TestLoadDirectoryErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/jobs.yaml", "presubmits:\n  o/r:\n  - name: a\n")
	write("b/jobs.yaml", "presubmits:\n  o/r:\n  - name: b\n")
	// Duplicates across files are checked after merging.
	write("c/more.yaml", "presubmits:\n  o/r:\n  - name: a\n")
	_, err := Load(dir)
	want := []string{
		filepath.Join(dir, "b/jobs.yaml") + ": duplicated basename is not allowed: jobs.yaml (also " + filepath.Join(dir, "a/jobs.yaml") + ")",
		filepath.Join(dir, "c/more.yaml") + `: o/r: job "a": job name already defined at ` + filepath.Join(dir, "a/jobs.yaml") + `:3 on overlapping branches (a name may repeat only on disjoint branches)`,
	}
	if err == nil {
		t.Fatal("Load succeeded")
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}

	missing := filepath.Join(dir, "missing")
	_, err = Load(missing)
	if err == nil || err.Error() != missing+": failed to read Prow config: no such file or directory" {
		t.Errorf("Load(missing) = %v", err)
	}

	// A single file is read whatever its extension; an empty file or one
	// without presubmits has no jobs.
	write("jobs.conf", "presubmits:\n  o/r:\n  - name: conf\n")
	write("empty.yaml", "")
	write("periodics.yaml", "periodics:\n- name: p\n  interval: 1h\n")
	c, err := Load(filepath.Join(dir, "jobs.conf"), filepath.Join(dir, "empty.yaml"), filepath.Join(dir, "periodics.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Jobs("o/r")); got != 1 {
		t.Errorf("got %d jobs, want 1", got)
	}
	c, err = Load()
	if err != nil || len(c.Repos()) != 0 {
		t.Errorf("Load() = %v, %v; want an empty config", c, err)
	}
}

func TestYAMLDecoding(t *testing.T) {
	// Prow decodes YAML 1.1 into a generic map and then JSON into its
	// structs; these are the consequences users rely on.
	c, err := Parse("jobs.yaml", []byte(`
base: &base
  always_run: yes
  optional: on
  spec: {containers: [{image: alpine}]}
Presubmits:
  o/r:
  - <<: *base
    name: merged
  - <<: *base
    Name: folded
    ALWAYS_RUN: no
    Context: ci/folded
  - &shared
    name: anchored
    run_if_changed: 123
  - name: later-wins
    context: first
    context: second
    branches: [~, main]
  - name: null-fields
    always_run: ~
    branches:
    context:
  o/s:
  - *shared
unknown_top_level: {anything: [1, 2]}
`))
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Name, Context string
		Trigger       rules.Trigger
		Optional      bool
		Line          int
	}
	var got []view
	for _, repo := range c.Repos() {
		for _, j := range c.Jobs(repo) {
			got = append(got, view{j.Name, j.Context, j.Trigger, j.Optional, j.Origin.Line})
		}
	}
	want := []view{
		{"merged", "merged", rules.TriggerAlways, true, 8},
		// JSON applies keys in sorted order and matches them
		// case-insensitively: always_run (from the merge) comes after
		// ALWAYS_RUN and wins.
		{"folded", "ci/folded", rules.TriggerAlways, true, 10},
		{"anchored", "anchored", rules.TriggerConditional, false, 14},
		{"later-wins", "second", rules.TriggerManual, false, 17},
		{"null-fields", "null-fields", rules.TriggerManual, false, 21},
		{"anchored", "anchored", rules.TriggerConditional, false, 26},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	// A null branch item is an empty alternative: the joined regex `|main`
	// matches every branch, as in Prow.
	if v, _ := rules.EvaluateJob(c.Jobs("o/r")[3], rules.Change{Branch: "dev"}); v != rules.VerdictManual {
		t.Errorf("later-wins on dev = %s, want manual", v)
	}
	if v, reason := rules.EvaluateJob(c.Jobs("o/r")[2], rules.Change{Branch: "main", Files: []string{"a/123"}, Complete: true}); v != rules.VerdictRun {
		t.Errorf("anchored = %s (%s), want run", v, reason)
	}

	// Aliases that expand exponentially stop at the node budget.
	var b strings.Builder
	b.WriteString("a0: &a0 {name: x}\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "a%d: &a%d {<<: [*a%d, *a%d]}\n", i, i, i-1, i-1)
	}
	b.WriteString("presubmits:\n  o/r:\n  - *a39\n")
	if _, err := Parse("bomb.yaml", []byte(b.String())); err == nil || !strings.Contains(err.Error(), "too many YAML nodes") {
		t.Errorf("alias bomb: err = %v, want a node budget error", err)
	}
	// An anchor that contains itself.
	if _, err := Parse("cycle.yaml", []byte("presubmits:\n  o/r:\n  - &j {<<: *j, name: x}\n")); err == nil {
		t.Error("self-referencing merge: want an error")
	}
}

func FuzzParse(f *testing.F) {
	for _, path := range []string{
		"testdata/kubernetes/kubernetes-presubmits.yaml",
		"testdata/merged/a/jobs-a.yaml",
		"testdata/invalid/invalid.yaml",
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("presubmits:\n  o/r:\n  - name: a\n    branches: [main]\n    skip_branches: [x]\n    run_if_changed: ^a\n"))
	f.Add([]byte("presubmits:\n  o/r:\n  - {name: a, skip_if_only_changed: '\\.md$'}\n  - &x {name: b, <<: {always_run: y}}\n  - *x\n"))
	f.Add([]byte("a: &a [*a]\npresubmits: *a\n"))
	changes := []rules.Change{
		{Branch: "main", Files: []string{"a", "docs/x.md", "pkg/a.go"}, Complete: true},
		{Branch: "release-1.2", Complete: true},
		{Branch: "", Files: []string{""}, Complete: false},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("error line without the file name: %q", line)
				}
			}
			return
		}
		for _, repo := range c.Repos() {
			jobs := c.Jobs(repo)
			if len(jobs) == 0 {
				t.Fatalf("repo %q listed without jobs", repo)
			}
			for _, change := range changes {
				for _, r := range rules.Evaluate(jobs, change) {
					if r.Reason == "" && r.Verdict != rules.VerdictRun {
						t.Fatalf("job %q: verdict %s without a reason", r.Job.Name, r.Verdict)
					}
				}
			}
		}
	})
}

// benchConfig writes a realistic Prow job config of repos×jobsPerRepo
// presubmits into dir, spread over several files per repository.
func benchConfig(b *testing.B, dir string, repos, jobsPerRepo, filesPerRepo int) {
	b.Helper()
	for r := 0; r < repos; r++ {
		repo := fmt.Sprintf("org%d/repo%d", r%5, r)
		for f := 0; f < filesPerRepo; f++ {
			var sb strings.Builder
			fmt.Fprintf(&sb, "presubmits:\n  %s:\n", repo)
			for j := f; j < jobsPerRepo; j += filesPerRepo {
				benchJob(&sb, repo, j)
			}
			path := filepath.Join(dir, fmt.Sprintf("repo%d", r), fmt.Sprintf("repo%d-presubmits-%d.yaml", r, f))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

var benchPaths = []string{"pkg", "cmd", "test/e2e", "docs", "staging/src/k8s.io/api", "hack", "build", "cluster", "plugin", "api"}

func benchJob(sb *strings.Builder, repo string, j int) {
	name := fmt.Sprintf("pull-%s-job-%d", strings.ReplaceAll(repo, "/", "-"), j)
	fmt.Fprintf(sb, "  - name: %s\n", name)
	p := benchPaths[j%len(benchPaths)]
	switch j % 4 {
	case 0:
		sb.WriteString("    always_run: true\n")
	case 1:
		fmt.Fprintf(sb, "    run_if_changed: '^%s/|^go\\.(mod|sum)$'\n", p)
	case 2:
		sb.WriteString("    skip_if_only_changed: '^docs/|\\.(md|adoc)$|^(OWNERS|LICENSE)$'\n")
	case 3:
		fmt.Fprintf(sb, "    run_if_changed: '%s/.*_test\\.go$'\n    optional: true\n", p)
	}
	switch j % 3 {
	case 1:
		sb.WriteString("    branches:\n    - ^main$\n    - ^release-\\d+\\.\\d+$\n")
	case 2:
		sb.WriteString("    skip_branches:\n    - ^release-1\\.1\\d$\n")
	}
	fmt.Fprintf(sb, `    cluster: build%d
    decorate: true
    decoration_config:
      timeout: 2h
    labels:
      preset-service-account: "true"
      preset-dind-enabled: "true"
    annotations:
      testgrid-dashboards: sig-testing-%d
      testgrid-tab-name: %s
      description: A realistic job %d
    path_alias: k8s.io/%s
    spec:
      containers:
      - image: gcr.io/k8s-staging-test-infra/kubekins-e2e:v20240101-master
        command:
        - runner.sh
        args:
        - make
        - test
        - WHAT=./%s/...
        env:
        - name: GOFLAGS
          value: -mod=mod
        resources:
          limits:
            cpu: 4
            memory: 16Gi
          requests:
            cpu: 4
            memory: 16Gi
        securityContext:
          privileged: true
`, j%3, j%7, name, j, repo, p)
}

// BenchmarkLoad loads and compiles 5,000 presubmits of 50 repositories
// in 250 files. Run: go test -run '^$' -bench Prow -benchmem ./app/rules/
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	benchConfig(b, dir, 50, 100, 5)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(c.Repos()); n != 50 {
			b.Fatalf("%d repos", n)
		}
	}
}

// BenchmarkEvaluate evaluates 500 jobs of one repository against a
// 3,000-file change list in which few jobs find a match early.
func BenchmarkEvaluate(b *testing.B) {
	dir := b.TempDir()
	benchConfig(b, dir, 1, 500, 5)
	c, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	jobs := c.Jobs(c.Repos()[0])
	if len(jobs) != 500 {
		b.Fatalf("%d jobs", len(jobs))
	}
	files := make([]string, 3000)
	for i := range files {
		// Mostly documentation, as in a large docs reorganisation: the
		// worst case, since every conditional job scans the whole list.
		files[i] = fmt.Sprintf("docs/section-%d/page-%d.md", i%40, i)
	}
	files[2999] = "staging/src/k8s.io/api/core/v1/types.go"
	change := rules.Change{Branch: "main", Files: files, Complete: true}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rules.Evaluate(jobs, change)
	}
}

// regexSamples are patterns in the style of real Prow configs, plus
// the corners of the fast path.
var regexSamples = []string{
	`^docs/`, `\.md$`, `docs/`, `^go\.(mod|sum)$`, `^(cmd|pkg|test)/`, `^docs/|\.(md|adoc)$|^(OWNERS|LICENSE)$`,
	`pkg/.*_test\.go$`, `^staging/.*/types\.go$`, `^a.*b.*c$`, `^$`, `^`, `$`, ``, `a|`, `(?:x)?y$`,
	`.*^a`, `a$.*`, `$^`, `a^b`, `a$b`, `^.*$`, `(?s)^a.*b$`, `(?i)^docs/`, `^[a-z]+/`, `\bfoo\b`,
	`(?m)^docs/`, `^(a|b)(c|d)(e|f)(g|h)(i|j)$`, "\uFFFD", `é$`, `^a.b$`, `x*`, `^(?:a|^b)`, `(a$|b)c`,
}

func TestRegexFastPath(t *testing.T) {
	inputs := []string{
		"", "a", "docs/", "docs/a.md", "pkg/docs/a.go", "go.mod", "go.sum", "go.mod.bak", "OWNERS", "pkg/OWNERS",
		"cmd/x", "pkg/a_test.go", "pkg/sub/a_test.go", "vendor/pkg/a_test.go.orig", "staging/src/k8s.io/api/types.go",
		"abc", "axbxc", "acb", "ab", "xy", "y", "a\nb", "docs/\n", "\xff", "é", "\xffé", "Docs/a", "x\xffdocs/",
		"aceg i", "acegi", "bdfhj", "cb", "ac",
	}
	fast := 0
	for _, expr := range regexSamples {
		r := newRegex(expr).matcher()
		if r.err != nil {
			t.Fatalf("%q: %v", expr, r.err)
		}
		if r.alts != nil {
			fast++
		}
		for _, in := range inputs {
			if got, want := r.match(in), r.re.MatchString(in); got != want {
				t.Errorf("%q matching %q = %v, regexp says %v (alternatives %+v)", expr, in, got, want, r.alts)
			}
		}
	}
	// The common shapes must take the fast path.
	for _, expr := range []string{`^docs/`, `\.md$`, `^go\.(mod|sum)$`, `^docs/|\.(md|adoc)$|^(OWNERS|LICENSE)$`, `pkg/.*_test\.go$`} {
		if newRegex(expr).matcher().alts == nil {
			t.Errorf("%q does not take the fast path", expr)
		}
	}
	if fast < len(regexSamples)/2 {
		t.Errorf("only %d of %d samples take the fast path", fast, len(regexSamples))
	}
}

// FuzzRegex checks the fast path against the regexp engine.
func FuzzRegex(f *testing.F) {
	for _, expr := range regexSamples {
		f.Add(expr, "docs/a.md")
		f.Add(expr, "pkg/a_test.go")
	}
	f.Fuzz(func(t *testing.T, expr, input string) {
		r := newRegex(expr).matcher()
		if r.err != nil {
			return
		}
		if got, want := r.match(input), r.re.MatchString(input); got != want {
			t.Fatalf("%q matching %q = %v, regexp says %v (alternatives %+v)", expr, input, got, want, r.alts)
		}
	})
}
