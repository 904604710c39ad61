package actions

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fix-status/fix-status/app/rules"

	"github.com/google/go-cmp/cmp"
)

// jobView is what a test compares of a Job.
type jobView struct {
	Name, Context string
	Pattern       string // the context pattern, if any
	Trigger       rules.Trigger
	MaxFiles      int
	Unknown       string
	Manual        string
	Origin        rules.Origin
	Rerun         rules.Rerun
	Files         bool // has a file filter
	Branches      bool // has a branch filter
}

func view(jobs []*rules.Job) []jobView {
	out := make([]jobView, 0, len(jobs))
	for _, j := range jobs {
		if j.Source != rules.SourceActions {
			panic("source " + j.Source)
		}
		out = append(out, jobView{
			Name: j.Name, Context: j.Context, Pattern: j.ContextPattern.String(), Trigger: j.Trigger, MaxFiles: j.MaxFiles,
			Unknown: j.Unknown, Manual: j.ManualReason, Origin: j.Origin, Rerun: j.Rerun,
			Files: j.Files != nil, Branches: j.Branches != nil,
		})
	}
	return out
}

func contexts(jobs []*rules.Job) []string {
	out := make([]string, 0, len(jobs))
	for _, j := range jobs {
		s := j.Context
		if j.ContextPattern != nil {
			s += " [pattern: " + j.ContextPattern.String() + "]"
		}
		if j.Unknown != "" {
			s += " [unknown: " + j.Unknown + "]"
		}
		out = append(out, s)
	}
	return out
}

// verdicts evaluates jobs for one change and returns "context: verdict:
// reason" lines.
func verdicts(jobs []*rules.Job, change rules.Change) []string {
	var out []string
	for _, r := range rules.Evaluate(jobs, change) {
		out = append(out, fmt.Sprintf("%s: %s: %s", r.Job.Context, r.Verdict, r.Reason))
	}
	return out
}

func mustParse(t *testing.T, yml string, files map[string]string) []*rules.Job {
	t.Helper()
	jobs, err := ParseWorkflow(".github/workflows/ci.yml", []byte(yml), reader(files))
	if err != nil {
		t.Fatalf("ParseWorkflow: %v", err)
	}
	return jobs
}

func reader(files map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		s, ok := files[name]
		if !ok {
			return nil, os.ErrNotExist
		}
		return []byte(s), nil
	}
}

func TestLoadWorkflows(t *testing.T) {
	wf, err := LoadWorkflows("testdata/workflows")
	if err != nil || len(wf.Errors) > 0 {
		t.Fatal(err, wf.Errors)
	}
	jobs := wf.Jobs
	const dir = "testdata/workflows/"
	ci := rules.Rerun{Method: rules.RerunActions, Workflow: "ci.yml"}
	cond := func(name, context string, line int) jobView {
		return jobView{Name: name, Context: context, Trigger: rules.TriggerConditional, MaxFiles: 300,
			Origin: rules.Origin{Path: dir + "ci.yml", Line: line}, Rerun: ci, Files: true, Branches: true}
	}
	called := func(v jobView, line int) jobView {
		v.Origin = rules.Origin{Path: dir + "reusable.yml", Line: line}
		return v
	}
	want := []jobView{
		cond("ci.yml/lint", "Lint", 13),
		cond("ci.yml/build", "build (ubuntu-latest, 1.22)", 19),
		cond("ci.yml/build", "build (ubuntu-latest, 1.23, true)", 19),
		cond("ci.yml/build", "build (windows-latest, 1.23)", 19),
		cond("ci.yml/test", "test-1", 35),
		cond("ci.yml/test", "test-2", 35),
		cond("ci.yml/test", "test-3", 35),
		called(cond("ci.yml/integration/reusable.yml/unit", "integration / Unit tests", 0), 9),
		called(cond("ci.yml/integration/reusable.yml/e2e", "integration / e2e (api)", 0), 14),
		called(cond("ci.yml/integration/reusable.yml/e2e", "integration / e2e (ui)", 0), 14),
		called(cond("ci.yml/integration/reusable.yml/custom", "integration / Run ${{ inputs.target }}", 0), 21),
		{Name: "docs.yml/spell", Context: "Spell check", Trigger: rules.TriggerAlways,
			Origin: rules.Origin{Path: dir + "docs.yml", Line: 3}, Rerun: rules.Rerun{Method: rules.RerunActions, Workflow: "docs.yml"}},
		{Name: "labeled.yml/benchmark", Context: "benchmark", Trigger: rules.TriggerManual,
			Manual: "runs only on pull_request types [labeled, unlabeled]",
			Origin: rules.Origin{Path: dir + "labeled.yml", Line: 5}, Rerun: rules.Rerun{Method: rules.RerunActions, Workflow: "labeled.yml"}},
		{Name: "release.yaml/license", Context: "License check", Trigger: rules.TriggerConditional, MaxFiles: 300, Files: true, Branches: true,
			Origin: rules.Origin{Path: dir + "release.yaml", Line: 8}, Rerun: rules.Rerun{Method: rules.RerunActions, Workflow: "release.yaml"}},
		{Name: "release.yaml/external", Context: "external / *", Pattern: "external / *", Trigger: rules.TriggerConditional, MaxFiles: 300, Files: true, Branches: true,
			Origin: rules.Origin{Path: dir + "release.yaml", Line: 13}, Rerun: rules.Rerun{Method: rules.RerunActions, Workflow: "release.yaml"}},
	}
	// Names that cannot be known statically keep their filters.
	want[10].Pattern = "integration / Run *"
	if diff := cmp.Diff(want, view(jobs)); diff != "" {
		t.Errorf("LoadWorkflows (-want +got):\n%s", diff)
	}

	got := verdicts(jobs, rules.Change{Branch: "main", Files: []string{"src/docs/a.md", "README.md"}, Complete: true})
	wantVerdicts := []string{
		"Lint: skip: no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"build (ubuntu-latest, 1.22): skip: no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"build (ubuntu-latest, 1.23, true): skip: no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"build (windows-latest, 1.23): skip: no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"test-1: skip: no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"test-2: skip: no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"test-3: skip: no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"integration / Unit tests: skip: no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"integration / e2e (api): skip: no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"integration / e2e (ui): skip: no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"integration / Run ${{ inputs.target }}: skip: no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"Spell check: run: runs on every pull request to main",
		"benchmark: manual: runs only on pull_request types [labeled, unlabeled]",
		"License check: skip: every changed file matches paths-ignore [docs/**, **.md]",
		"external / *: skip: every changed file matches paths-ignore [docs/**, **.md]",
	}
	if diff := cmp.Diff(wantVerdicts, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}

	got = verdicts(jobs[:1], rules.Change{Branch: "dev", Files: []string{"src/a.go"}, Complete: true})
	if diff := cmp.Diff([]string{"Lint: not_on_branch: branch dev does not match branches [main, release/**]"}, got); diff != "" {
		t.Errorf("verdicts on dev (-want +got):\n%s", diff)
	}
}

// TestLoadWorkflowsErrors: an invalid workflow does not hide the others;
// its jobs block what it may report, and its error is returned on its own.
func TestLoadWorkflowsErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yml", "on: pull_request\njobs: {a: {runs-on: x}}\n")
	write("b.yml", "on: [pull_request\n")
	write("c.yaml", "on:\n  pull_request:\n    paths: ['[a-']\njobs:\n  c: {name: Check}\n  m: {name: 'm-${{ matrix.x }}'}\n  call: {uses: ./.github/workflows/a.yml}\n")
	// Only called (by nobody here): it is judged where it is called.
	write("d.yml", "on: workflow_call\njobs: {d: {uses: [x]}}\n")
	write("e.yml", "on: pull_request\njobs: [e]\n")
	write("notes.txt", "not a workflow")
	wf, err := LoadWorkflows(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.ToSlash(dir)
	var gotErrs []string
	for _, e := range wf.Errors {
		var fe *FileError
		if !errors.As(e, &fe) || !strings.HasPrefix(fe.Path, d+"/") {
			t.Errorf("error %v is not a *FileError of a file in %s", e, d)
		}
		gotErrs = append(gotErrs, strings.TrimPrefix(e.Error(), d+"/"))
	}
	wantErrs := []string{
		"b.yml: invalid YAML: yaml: line 1: did not find expected ',' or ']'",
		`c.yaml: on.pull_request.paths[0]: invalid pattern "[a-": missing ]`,
		"e.yml: jobs: must be a mapping",
	}
	if diff := cmp.Diff(wantErrs, gotErrs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	var got []string
	for _, j := range wf.Jobs {
		s := j.Name + ": " + j.Context
		if j.ContextPattern != nil {
			s += " [pattern " + j.ContextPattern.String() + "]"
		}
		if j.Unknown != "" {
			s += " [unknown: " + strings.TrimPrefix(j.Unknown, d+"/") + "]"
		}
		got = append(got, s)
	}
	want := []string{
		"a.yml/a: a",
		// Not YAML: any context.
		"b.yml: * [pattern *] [unknown: b.yml: invalid YAML: yaml: line 1: did not find expected ',' or ']']",
		// Its jobs can be read: their names.
		`c.yaml/c: Check [unknown: c.yaml: on.pull_request.paths[0]: invalid pattern "[a-": missing ]]`,
		`c.yaml/m: m-${{ matrix.x }} [pattern m-*] [unknown: c.yaml: on.pull_request.paths[0]: invalid pattern "[a-": missing ]]`,
		`c.yaml/call: call / * [pattern call / *] [unknown: c.yaml: on.pull_request.paths[0]: invalid pattern "[a-": missing ]]`,
		"e.yml: * [pattern *] [unknown: e.yml: jobs: must be a mapping]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	for _, r := range rules.Evaluate(wf.Jobs[1:], rules.Change{Branch: "main", Files: []string{"a"}, Complete: true}) {
		if r.Verdict != rules.VerdictUnknown {
			t.Errorf("%s: verdict %s, want unknown", r.Job.Name, r.Verdict)
		}
	}
	if !wf.Jobs[1].Reports("anything at all") || !wf.Jobs[3].Reports("M-1") || wf.Jobs[3].Reports("n-1") {
		t.Error("blocking jobs report the wrong contexts")
	}

	if _, err := LoadWorkflows(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadWorkflows(missing dir) = %v, want an error matching fs.ErrNotExist", err)
	}
}

func TestLoadWorkflowsFS(t *testing.T) {
	fsys := fstest.MapFS{
		".github/workflows/ci.yml":    {Data: []byte("on: pull_request\njobs:\n  call:\n    uses: ./.github/workflows/build.yml\n  self:\n    uses: $/.github/workflows/build.yml\n")},
		".github/workflows/build.yml": {Data: []byte("on: workflow_call\njobs:\n  unit:\n    runs-on: x\n")},
	}
	wf, err := LoadWorkflowsFS(fsys, ".github/workflows")
	if err != nil || len(wf.Errors) > 0 {
		t.Fatal(err, wf.Errors)
	}
	origin := rules.Origin{Path: ".github/workflows/build.yml", Line: 3}
	rerun := rules.Rerun{Method: rules.RerunActions, Workflow: "ci.yml"}
	want := []jobView{
		{Name: "ci.yml/call/build.yml/unit", Context: "call / unit", Trigger: rules.TriggerAlways, Origin: origin, Rerun: rerun},
		// $/ names the caller's own repository at its commit.
		{Name: "ci.yml/self/build.yml/unit", Context: "self / unit", Trigger: rules.TriggerAlways, Origin: origin, Rerun: rerun},
	}
	if diff := cmp.Diff(want, view(wf.Jobs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// A repository without workflows is told apart from a broken one.
	if _, err := LoadWorkflowsFS(fsys, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: error %v does not match fs.ErrNotExist", err)
	}
	delete(fsys, ".github/workflows/build.yml")
	wf, err = LoadWorkflowsFS(fsys, ".github/workflows")
	if err != nil || len(wf.Errors) != 1 || errors.Is(wf.Errors[0], fs.ErrNotExist) {
		t.Errorf("missing reusable workflow: %v, %v; want one file error that does not match fs.ErrNotExist", err, wf.Errors)
	}
}

func TestParseWorkflowOn(t *testing.T) {
	const jobs = "\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
	tests := []struct {
		name    string
		on      string
		trigger rules.Trigger // "" = no jobs
		manual  string
		unknown string
	}{
		{name: "string", on: "on: pull_request", trigger: rules.TriggerAlways},
		{name: "target string", on: "on: pull_request_target", trigger: rules.TriggerAlways},
		{name: "other string", on: "on: push"},
		{name: "list", on: "on: [push, pull_request]", trigger: rules.TriggerAlways},
		{name: "block list", on: "on:\n  - push\n  - pull_request_target", trigger: rules.TriggerAlways},
		{name: "list without pull requests", on: "on: [push, workflow_dispatch]"},
		{name: "map with null", on: "on:\n  pull_request:\n  push:", trigger: rules.TriggerAlways},
		{name: "map with empty mapping", on: "on:\n  pull_request: {}", trigger: rules.TriggerAlways},
		{name: "map without pull requests", on: "on:\n  push:\n    paths: [src/**]\n  workflow_call:"},
		{name: "map with paths", on: "on:\n  pull_request:\n    paths: [src/**]", trigger: rules.TriggerConditional},
		{name: "single string filter", on: "on:\n  pull_request:\n    paths: src/**", trigger: rules.TriggerConditional},
		{name: "types with an update type", on: "on:\n  pull_request:\n    types: [opened, labeled]", trigger: rules.TriggerAlways},
		{name: "types synchronize", on: "on:\n  pull_request:\n    types: synchronize", trigger: rules.TriggerAlways},
		{name: "types without update types", on: "on:\n  pull_request:\n    types: [labeled]",
			trigger: rules.TriggerManual, manual: "runs only on pull_request types [labeled]"},
		{name: "both events without update types",
			on:      "on:\n  pull_request:\n    types: [closed]\n  pull_request_target:\n    types: [labeled, assigned]",
			trigger: rules.TriggerManual, manual: "runs only on pull_request types [closed], pull_request_target types [labeled, assigned]"},
		{name: "one event fires", on: "on:\n  pull_request:\n    types: [closed]\n  pull_request_target:\n    paths: [a]",
			trigger: rules.TriggerConditional},
		{name: "empty paths", on: "on:\n  pull_request:\n    paths: []", trigger: rules.TriggerConditional,
			unknown: "on.pull_request.paths is an empty list"},
		{name: "empty types", on: "on:\n  pull_request:\n    types: []", trigger: rules.TriggerManual,
			manual: "runs only on pull_request types []"},
		{name: "anchors", on: "x: &p [src/**]\non:\n  pull_request:\n    paths: *p", trigger: rules.TriggerConditional},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.on+jobs, nil)
			if tt.trigger == "" {
				if len(got) != 0 {
					t.Fatalf("got %d jobs, want none", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d jobs, want 1", len(got))
			}
			j := got[0]
			if j.Trigger != tt.trigger || j.ManualReason != tt.manual || j.Unknown != tt.unknown {
				t.Errorf("trigger, manual, unknown = %q, %q, %q; want %q, %q, %q", j.Trigger, j.ManualReason, j.Unknown, tt.trigger, tt.manual, tt.unknown)
			}
			if (j.Trigger == rules.TriggerConditional) != (j.MaxFiles == 300) {
				t.Errorf("MaxFiles = %d for trigger %s", j.MaxFiles, j.Trigger)
			}
		})
	}
}

// TestFilters evaluates workflows with branch and path filters for
// several changes, as a user would see the verdicts.
func TestFilters(t *testing.T) {
	type change struct {
		branch string
		files  []string
		want   string // "verdict: reason"
	}
	tests := []struct {
		name    string
		on      string
		changes []change
	}{
		{
			name: "paths with ordered negation",
			on:   "pull_request:\n    paths: ['src/**', '!src/docs/**', 'src/docs/api/**']",
			changes: []change{
				{"main", []string{"README.md", "src/a.go"}, "run: paths src/** matches src/a.go"},
				{"main", []string{"src/docs/guide.md"}, "skip: no changed file matches paths [src/**, !src/docs/**, src/docs/api/**]"},
				{"main", []string{"src/docs/api/v1.md"}, "run: paths src/docs/api/** matches src/docs/api/v1.md"},
				{"main", nil, "skip: no changed files"},
			},
		},
		{
			name: "paths-ignore",
			on:   "pull_request:\n    paths-ignore: ['docs/**', '*.md']",
			changes: []change{
				{"main", []string{"docs/a.md", "README.md"}, "skip: every changed file matches paths-ignore [docs/**, *.md]"},
				{"main", []string{"docs/a.md", "src/README.md"}, "run: src/README.md does not match paths-ignore [docs/**, *.md]"},
				{"main", nil, "skip: no changed files"},
			},
		},
		{
			name: "paths-ignore with negation",
			on:   "pull_request:\n    paths-ignore: ['docs/**', '!docs/api/**']",
			changes: []change{
				{"main", []string{"docs/a.md"}, "skip: every changed file matches paths-ignore [docs/**, !docs/api/**]"},
				{"main", []string{"docs/api/a.md"}, "run: docs/api/a.md does not match paths-ignore [docs/**, !docs/api/**]"},
			},
		},
		{
			name: "branches",
			on:   "pull_request:\n    branches: [main, 'release/**', '!release/old/**']",
			changes: []change{
				{"main", []string{"a"}, "run: runs on every pull request to main"},
				{"release/v1/x", []string{"a"}, "run: runs on every pull request to release/v1/x"},
				{"release/old/x", []string{"a"}, "not_on_branch: branch release/old/x does not match branches [main, release/**, !release/old/**]"},
				{"dev", []string{"a"}, "not_on_branch: branch dev does not match branches [main, release/**, !release/old/**]"},
			},
		},
		{
			name: "branches-ignore",
			on:   "pull_request:\n    branches-ignore: [main]",
			changes: []change{
				{"main", []string{"a"}, "not_on_branch: branch main matches branches-ignore [main]"},
				{"dev", []string{"a"}, "run: runs on every pull request to dev"},
			},
		},
		{
			name: "branches and paths must both pass",
			on:   "pull_request:\n    branches: [main]\n    paths: ['**.go']",
			changes: []change{
				{"dev", []string{"a.go"}, "not_on_branch: branch dev does not match branches [main]"},
				{"main", []string{"a.txt"}, "skip: no changed file matches paths [**.go]"},
				{"main", []string{"a.txt", "x/a.go"}, "run: paths **.go matches x/a.go"},
			},
		},
		{
			name: "both events with the same filters",
			on:   "pull_request: &f\n    paths: [src/**]\n  pull_request_target: *f",
			changes: []change{
				{"main", []string{"a"}, "skip: no changed file matches paths [src/**]"},
				{"main", []string{"src/a"}, "run: paths src/** matches src/a"},
			},
		},
		{
			name: "both events, same branches, different paths",
			on:   "pull_request:\n    branches: [main]\n    paths: [a/**]\n  pull_request_target:\n    branches: [main]\n    paths-ignore: [b/**]",
			changes: []change{
				{"main", []string{"b/x"}, "skip: no changed file matches paths [a/**]; every changed file matches paths-ignore [b/**]"},
				{"main", []string{"c/x"}, "run: c/x does not match paths-ignore [b/**]"},
				{"main", []string{"a/x"}, "run: paths a/** matches a/x"},
				{"dev", []string{"a/x"}, "not_on_branch: branch dev does not match branches [main]"},
			},
		},
		{
			name: "both events, same branches, one without paths",
			on:   "pull_request:\n    branches: [main]\n    paths: [a/**]\n  pull_request_target:\n    branches: [main]",
			changes: []change{
				{"main", []string{"b/x"}, "run: runs on every pull request to main"},
				{"dev", []string{"b/x"}, "not_on_branch: branch dev does not match branches [main]"},
			},
		},
		{
			name: "both events, same paths, different branches",
			on:   "pull_request:\n    branches: [main]\n    paths: [a/**]\n  pull_request_target:\n    branches-ignore: [main, dev]\n    paths: [a/**]",
			changes: []change{
				{"main", []string{"a/x"}, "run: paths a/** matches a/x"},
				{"feature", []string{"b/x"}, "skip: no changed file matches paths [a/**]"},
				{"dev", []string{"a/x"}, "not_on_branch: branch dev does not match branches [main]; branch dev matches branches-ignore [main, dev]"},
			},
		},
		{
			name: "both events, one unfiltered",
			on:   "pull_request:\n    branches: [main]\n    paths: [a/**]\n  pull_request_target:",
			changes: []change{
				{"dev", []string{"b/x"}, "run: runs on every pull request to dev"},
			},
		},
		{
			name: "both events, different branches and paths",
			on:   "pull_request:\n    branches: [main]\n  pull_request_target:\n    paths: [a/**]",
			changes: []change{
				{"dev", []string{"b/x"}, "unknown: pull_request and pull_request_target filter different branches and paths"},
			},
		},
		{
			name: "an event that does not fire on updates does not widen the other",
			on:   "pull_request:\n    paths: [a/**]\n  pull_request_target:\n    types: [labeled]",
			changes: []change{
				{"main", []string{"b/x"}, "skip: no changed file matches paths [a/**]"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs := mustParse(t, "on:\n  "+tt.on+"\njobs:\n  build:\n    runs-on: x\n", nil)
			var got, want []string
			for _, c := range tt.changes {
				got = append(got, verdicts(jobs, rules.Change{Branch: c.branch, Files: c.files, Complete: true})...)
				want = append(want, "build: "+c.want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// GitHub evaluates path filters against the first 300 changed files: a
// match past them does not start the workflow, so it must never be blessed
// as a skip.
func TestFirst300Files(t *testing.T) {
	jobs := mustParse(t, "on:\n  pull_request:\n    paths: ['src/**']\njobs:\n  build:\n    runs-on: x\n", nil)
	ignore := mustParse(t, "on:\n  pull_request:\n    paths-ignore: ['docs/**']\njobs:\n  docs:\n    runs-on: x\n", nil)
	all := append(jobs, ignore...)
	many := func(n int, last string) []string {
		files := make([]string, n)
		for i := range files {
			files[i] = fmt.Sprintf("docs/%04d.md", i)
		}
		if last != "" {
			files[n-1] = last
		}
		return files
	}
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{"match at 300", many(300, "src/a.go"), []string{
			"build: run: paths src/** matches src/a.go",
			"docs: run: src/a.go does not match paths-ignore [docs/**]"}},
		{"match only at 301", many(301, "src/a.go"), []string{
			"build: unknown: 301 changed files; GitHub Actions evaluates only the first 300",
			"docs: unknown: 301 changed files; GitHub Actions evaluates only the first 300"}},
		{"no match in 500", many(500, ""), []string{
			"build: unknown: 500 changed files; GitHub Actions evaluates only the first 300",
			"docs: unknown: 500 changed files; GitHub Actions evaluates only the first 300"}},
	}
	for _, tt := range tests {
		got := verdicts(all, rules.Change{Branch: "main", Files: tt.files, Complete: true})
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestCheckNames(t *testing.T) {
	tests := []struct {
		name string
		jobs string
		want []string
	}{
		{name: "id and name", jobs: `
  a:
    runs-on: x
  b:
    name: Build it
  c:
    name: ""
  d:
    name: 42
`, want: []string{"a", "Build it", "c", "42"}},
		{name: "if is ignored", jobs: `
  a:
    if: false
`, want: []string{"a"}},
		{name: "matrix suffix in key order", jobs: `
  test:
    strategy:
      fail-fast: false
      matrix:
        os: [ubuntu, windows]
        node: [12, 14]
`, want: []string{"test (ubuntu, 12)", "test (ubuntu, 14)", "test (windows, 12)", "test (windows, 14)"}},
		{name: "GitHub's include example", jobs: `
  job:
    strategy:
      matrix:
        fruit: [apple, pear]
        animal: [cat, dog]
        include:
          - color: green
          - color: pink
            animal: cat
          - fruit: apple
            shape: circle
          - fruit: banana
          - fruit: banana
            animal: cat
`, want: []string{
			"job (apple, cat, pink, circle)", // pink replaced green in place
			"job (apple, dog, green, circle)",
			"job (pear, cat, pink)",
			"job (pear, dog, green)",
			"job (banana)",
			"job (banana, cat)",
		}},
		{name: "GitHub's exclude example", jobs: `
  job:
    strategy:
      matrix:
        os: [macos-latest, windows-latest]
        version: [12, 14, 16]
        environment: [staging, production]
        exclude:
          - os: macos-latest
            version: 12
            environment: production
          - os: windows-latest
            version: 16
`, want: []string{
			"job (macos-latest, 12, staging)",
			"job (macos-latest, 14, staging)",
			"job (macos-latest, 14, production)",
			"job (macos-latest, 16, staging)",
			"job (macos-latest, 16, production)",
			"job (windows-latest, 12, staging)",
			"job (windows-latest, 12, production)",
			"job (windows-latest, 14, staging)",
			"job (windows-latest, 14, production)",
		}},
		{name: "include adds back what exclude removed", jobs: `
  job:
    strategy:
      matrix:
        os: [a, b]
        exclude:
          - os: b
        include:
          - os: b
            extra: x
`, want: []string{"job (a)", "job (b, x)"}},
		{name: "include only", jobs: `
  job:
    strategy:
      matrix:
        include:
          - site: production
            datacenter: site-a
          - site: staging
            datacenter: site-b
`, want: []string{"job (production, site-a)", "job (staging, site-b)"}},
		{name: "include extends one combination", jobs: `
  example_matrix:
    strategy:
      matrix:
        os: [windows-latest, ubuntu-latest]
        node: [14, 16]
        include:
          - os: windows-latest
            node: 16
            npm: 6
`, want: []string{"example_matrix (windows-latest, 14)", "example_matrix (windows-latest, 16, 6)",
			"example_matrix (ubuntu-latest, 14)", "example_matrix (ubuntu-latest, 16)"}},
		{name: "values shown as GitHub shows them", jobs: `
  py:
    strategy:
      matrix:
        python: [3.10, '3.10', 3.9, 2]
        flag: [true, False]
`, want: []string{"py (3.1, true)", "py (3.1, false)", "py (3.10, true)", "py (3.10, false)",
			"py (3.9, true)", "py (3.9, false)", "py (2, true)", "py (2, false)"}},
		{name: "interpolated name", jobs: `
  test:
    name: Test ${{ matrix.os }} / ${{matrix.Node}}
    strategy:
      matrix:
        os: [linux, mac]
        node: [1, 2]
        exclude:
          - os: mac
            node: 1
`, want: []string{"Test linux / 1", "Test linux / 2", "Test mac / 2"}},
		{name: "interpolation that repeats a name is reported once", jobs: `
  test:
    name: test-${{ matrix.os }}
    strategy:
      matrix:
        os: [linux, mac]
        shard: [1, 2]
`, want: []string{"test-linux", "test-mac"}},
		{name: "unknown names", jobs: `
  event:
    name: Build ${{ github.event_name }}
  mixed:
    name: ${{ matrix.os }}-${{ inputs.x }}
  unclosed:
    name: a ${{ matrix.os
  fromjson:
    strategy:
      matrix: ${{ fromJSON(needs.setup.outputs.matrix) }}
  vector:
    strategy:
      matrix:
        os: ${{ fromJSON(needs.setup.outputs.os) }}
  value:
    strategy:
      matrix:
        os: [linux, '${{ inputs.os }}']
  object:
    strategy:
      matrix:
        cfg: [{os: linux}]
  strategy:
    strategy: ${{ fromJSON(x) }}
  empty:
    strategy:
      matrix:
        os: []
  nokeys:
    strategy:
      matrix: {}
  allexcluded:
    strategy:
      matrix:
        os: [a]
        exclude: [{os: a}]
  badexclude:
    strategy:
      matrix:
        os: [a]
        exclude: [{arch: x}]
  nomatrix:
    name: x-${{ matrix.os }}
  missing:
    name: x-${{ matrix.arch }}
    strategy:
      matrix:
        os: [a]
        include: [{os: b, arch: arm}]
  huge:
    strategy:
      matrix:
        a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]
        b: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
  weird:
    strategy:
      matrix:
        n: [0x10, 1e3, .inf, ~]
`, want: []string{
			// Names that cannot be known statically are patterns of every
			// name they may be; a job GitHub refuses to run is unknown too.
			"Build ${{ github.event_name }} [pattern: Build *]",
			"${{ matrix.os }}-${{ inputs.x }} [pattern: *-*]",
			"a ${{ matrix.os [pattern: a *]",
			"fromjson [pattern: fromjson or fromjson (*)]",
			"vector [pattern: vector or vector (*)]",
			"value [pattern: value or value (*)]",
			"object (linux)",
			"strategy [pattern: strategy or strategy (*)]",
			"empty [pattern: empty or empty (*)] [unknown: matrix has no values]",
			"nokeys [pattern: nokeys or nokeys (*)] [unknown: matrix has no values]",
			"allexcluded [pattern: allexcluded or allexcluded (*)] [unknown: matrix has no combinations]",
			"badexclude [pattern: badexclude or badexclude (*)] [unknown: matrix exclude uses a key that is not in the matrix]",
			"x-${{ matrix.os }} [pattern: x-*]",
			"x-${{ matrix.arch }} [pattern: x-*]",
			"huge [pattern: huge or huge (*)] [unknown: matrix has more than 256 combinations]",
			"weird [pattern: weird or weird (*)]",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs := mustParse(t, "on: pull_request\njobs:"+tt.jobs, nil)
			if diff := cmp.Diff(tt.want, contexts(jobs)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReusableWorkflows(t *testing.T) {
	files := map[string]string{
		"build.yml": `
on: workflow_call
jobs:
  compile:
    name: Compile
  test:
    strategy:
      matrix:
        go: ['1.22', '1.23']
  nested:
    name: Nested
    uses: ./.github/workflows/leaf.yml
`,
		"leaf.yml": `
on: workflow_call
jobs:
  leaf:
    runs-on: x
`,
		"self.yml": `
on: workflow_call
jobs:
  again:
    uses: ./.github/workflows/self.yml
`,
		"broken.yml":  "jobs: [",
		"nojobs.yml":  "on: workflow_call\n",
		"badjob.yml":  "on: workflow_call\njobs:\n  x: 1\n",
		"badref.yml":  "on: workflow_call\njobs:\n  x:\n    uses: docker://alpine\n",
		"remote2.yml": "on: workflow_call\njobs:\n  r:\n    uses: o/r/.github/workflows/x.yml@main\n",
	}
	tests := []struct {
		name    string
		jobs    string
		want    []string
		wantErr string
	}{
		{name: "caller / called", jobs: `
  call:
    uses: ./.github/workflows/build.yml
`, want: []string{"call / Compile", "call / test (1.22)", "call / test (1.23)", "call / Nested / leaf"}},
		{name: "caller name and matrix", jobs: `
  call:
    name: CI
    strategy:
      matrix:
        os: [linux, mac]
    uses: ./.github/workflows/leaf.yml
`, want: []string{"CI (linux) / leaf", "CI (mac) / leaf"}},
		{name: "remote", jobs: `
  call:
    name: Scan
    uses: octo/shared/.github/workflows/scan.yml@v1
`, want: []string{"Scan / * [pattern: Scan / *]"}},
		{name: "remote below a local one", jobs: `
  call:
    uses: ./.github/workflows/remote2.yml
`, want: []string{"call / r / * [pattern: call / r / *]"}},
		{name: "unknown caller name", jobs: `
  call:
    name: ${{ inputs.x }}
    uses: ./.github/workflows/leaf.yml
`, want: []string{"${{ inputs.x }} / leaf [pattern: * / leaf]"}},
		{name: "recursion stops", jobs: `
  call:
    uses: ./.github/workflows/self.yml
`, want: []string{"call / again / again / again / again / again / again / again / again / again / * [pattern: call / again / again / again / again / again / again / again / again / again / *] [unknown: reusable workflows nested more than 10 deep]"}},
		{name: "missing file", jobs: `
  call:
    uses: ./.github/workflows/missing.yml
`, wantErr: ".github/workflows/ci.yml: jobs.call: .github/workflows/missing.yml: cannot read reusable workflow: file does not exist"},
		{name: "invalid called YAML", jobs: `
  call:
    uses: ./.github/workflows/broken.yml
`, wantErr: ".github/workflows/ci.yml: jobs.call: .github/workflows/broken.yml: invalid YAML: yaml: line 1: did not find expected node content"},
		{name: "called workflow without jobs", jobs: `
  call:
    uses: ./.github/workflows/nojobs.yml
`, wantErr: ".github/workflows/ci.yml: jobs.call: .github/workflows/nojobs.yml: jobs: missing"},
		{name: "invalid called job", jobs: `
  call:
    uses: ./.github/workflows/badjob.yml
`, wantErr: ".github/workflows/ci.yml: jobs.call: .github/workflows/badjob.yml: jobs.x: must be a mapping"},
		{name: "invalid reference below", jobs: `
  call:
    uses: ./.github/workflows/badref.yml
`, wantErr: `.github/workflows/ci.yml: jobs.call: .github/workflows/badref.yml: jobs.x.uses: "docker://alpine" is not a reusable workflow (./.github/workflows/NAME.yml, $/.github/workflows/NAME.yml or OWNER/REPO/PATH@REF)`},
		{name: "local path outside the workflows directory", jobs: `
  call:
    uses: ./ci/build.yml
`, wantErr: `.github/workflows/ci.yml: jobs.call.uses: "./ci/build.yml" is not a reusable workflow (./.github/workflows/NAME.yml, $/.github/workflows/NAME.yml or OWNER/REPO/PATH@REF)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, err := ParseWorkflow(".github/workflows/ci.yml", []byte("on: pull_request\njobs:"+tt.jobs), reader(files))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v\nwant    %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, contexts(jobs)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	// Without a reader, local calls are unknown.
	jobs, err := ParseWorkflow("ci.yml", []byte("on: pull_request\njobs:\n  call:\n    uses: ./.github/workflows/leaf.yml\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"call / * [pattern: call / *]"}, contexts(jobs)); diff != "" {
		t.Errorf("nil reader (-want +got):\n%s", diff)
	}
}

func TestReusableOrigin(t *testing.T) {
	files := map[string]string{"leaf.yml": "on: workflow_call\njobs:\n\n  leaf:\n    runs-on: x\n"}
	jobs := mustParse(t, "on: pull_request\njobs:\n  call:\n    uses: ./.github/workflows/leaf.yml\n", files)
	want := []jobView{{
		Name: "ci.yml/call/leaf.yml/leaf", Context: "call / leaf", Trigger: rules.TriggerAlways,
		Origin: rules.Origin{Path: ".github/workflows/leaf.yml", Line: 4},
		Rerun:  rules.Rerun{Method: rules.RerunActions, Workflow: "ci.yml"},
	}}
	if diff := cmp.Diff(want, view(jobs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBudget(t *testing.T) {
	// Each level calls the next 20 times: 20^4 jobs would be visited.
	files := map[string]string{}
	for i := 0; i < 5; i++ {
		var b strings.Builder
		b.WriteString("on: workflow_call\njobs:\n")
		for k := 0; k < 20; k++ {
			if i == 4 {
				fmt.Fprintf(&b, "  j%d:\n    runs-on: x\n", k)
			} else {
				fmt.Fprintf(&b, "  j%d:\n    uses: ./.github/workflows/l%d.yml\n", k, i+1)
			}
		}
		files[fmt.Sprintf("l%d.yml", i)] = b.String()
	}
	_, err := ParseWorkflow("ci.yml", []byte("on: pull_request\njobs:\n  call:\n    uses: ./.github/workflows/l0.yml\n"), reader(files))
	if err == nil || !strings.Contains(err.Error(), "more than 10000 jobs, counting matrix combinations and reusable workflows") {
		t.Errorf("error = %v, want the job limit", err)
	}
}

func TestParseWorkflowErrors(t *testing.T) {
	const jobs = "\njobs:\n  build:\n    runs-on: x\n"
	tests := []struct {
		name string
		yml  string
		want string
	}{
		{"invalid YAML", "on: [pull_request", "invalid YAML: yaml: line 1: did not find expected ',' or ']'"},
		{"empty", "", "empty workflow"},
		{"comment only", "# nothing\n", "empty workflow"},
		{"not a mapping", "- a\n- b\n", "workflow is not a mapping"},
		{"no on", "jobs: {}", "on: missing"},
		{"null on", "on:" + jobs, "on: no events"},
		{"bad on", "on: {a: 1}\non2: x" + jobs, ""},
		{"on list of maps", "on: [{a: 1}]" + jobs, "on[0]: must be a string"},
		{"event not a mapping", "on:\n  pull_request: [a]" + jobs, "on.pull_request: must be a mapping"},
		{"duplicate key", "on: pull_request\non: push" + jobs, "workflow: line 2: duplicate key \"on\""},
		{"merge key", "on:\n  <<: {pull_request: {}}" + jobs, "on: line 2: merge keys (<<) are not supported"},
		{"paths and paths-ignore", "on:\n  pull_request:\n    paths: [a]\n    paths-ignore: [b]" + jobs,
			"on.pull_request: paths and paths-ignore cannot both be used"},
		{"branches and branches-ignore", "on:\n  pull_request_target:\n    branches: [a]\n    branches-ignore: [b]" + jobs,
			"on.pull_request_target: branches and branches-ignore cannot both be used"},
		{"invalid pattern", "on:\n  pull_request:\n    paths: ['a/**', '[a-']" + jobs,
			`on.pull_request.paths[1]: invalid pattern "[a-": missing ]`},
		{"invalid branch pattern", "on:\n  pull_request:\n    branches: ['v+']\n    paths: ['+']" + jobs,
			`on.pull_request.paths[0]: invalid pattern "+": '+' must follow a character or a [class]`},
		{"only negations", "on:\n  pull_request:\n    branches: ['!main']" + jobs,
			`on.pull_request.branches: a list with a "!" pattern needs a pattern without "!" too`},
		{"pattern not a string", "on:\n  pull_request:\n    paths: [[a]]" + jobs, "on.pull_request.paths[0]: must be a string"},
		{"filter not a list", "on:\n  pull_request:\n    paths: {a: b}" + jobs, "on.pull_request.paths: must be a list of strings"},
		{"no jobs key", "on: pull_request", "jobs: missing"},
		{"jobs not a mapping", "on: pull_request\njobs: [a]", "jobs: must be a mapping"},
		{"no jobs", "on: pull_request\njobs: {}", "jobs: no jobs"},
		{"job not a mapping", "on: pull_request\njobs:\n  build: 1", "jobs.build: must be a mapping"},
		{"uses not a string", "on: pull_request\njobs:\n  build:\n    uses: [a]", "jobs.build.uses: must be a string"},
		{"name not a string", "on: pull_request\njobs:\n  build:\n    name: [a]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWorkflow(".github/workflows/ci.yml", []byte(tt.yml), nil)
			if tt.want == "" {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			want := ".github/workflows/ci.yml: " + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("error = %v\nwant    %s", err, want)
			}
		})
	}
}

func TestParseWorkflowPatternErrorUnwraps(t *testing.T) {
	_, err := ParseWorkflow("ci.yml", []byte("on:\n  pull_request:\n    paths: ['[a-']\njobs: {a: {}}"), nil)
	var pe *PatternError
	if !errors.As(err, &pe) || pe.Pattern != "[a-" || pe.Problem != "missing ]" {
		t.Errorf("error %v does not unwrap to the *PatternError", err)
	}
}

// FuzzParseWorkflow checks that no workflow makes parsing or evaluating
// panic. The reader serves the workflow itself for every local call, so
// self-recursion and deep nesting are explored too.
func FuzzParseWorkflow(f *testing.F) {
	entries, err := os.ReadDir("testdata/workflows")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata/workflows", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("on: pull_request\njobs:\n  a:\n    uses: ./.github/workflows/x.yml\n    strategy: {matrix: {a: [1, 2], include: [{b: 3}]}}\n"))
	f.Add([]byte("a: &a [x, y]\nb: &b [*a, *a]\non: {pull_request: {paths: *a, branches: *b}}\njobs: {j: {strategy: {matrix: {x: *a, y: *b}}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		read := func(string) ([]byte, error) { return data, nil }
		jobs, err := ParseWorkflow(".github/workflows/x.yml", data, read)
		if err != nil {
			// What an invalid file blocks is read from it as far as it goes.
			jobs = blockers(".github/workflows/x.yml", data, err.Error())
		}
		for _, j := range jobs {
			if j.Context == "" && j.ContextPattern == nil {
				t.Fatalf("job %s has no context", j.Name)
			}
			if err != nil && j.Unknown == "" {
				t.Fatalf("job %s of an invalid file is not unknown", j.Name)
			}
		}
		for _, change := range []rules.Change{
			{Branch: "main", Files: []string{"src/a.go", "docs/x.md"}, Complete: true},
			{Branch: "main", Files: []string{"src/a.go"}, Complete: true, FirstHead: true},
			{Branch: "main", Files: []string{"src/a.go"}, Complete: true, MergeGroup: true},
		} {
			for _, r := range rules.Evaluate(jobs, change) {
				if r.Reason == "" && r.Verdict != rules.VerdictRun {
					t.Fatalf("job %s: verdict %s without a reason", r.Job.Name, r.Verdict)
				}
			}
		}
		if len(jobs) > 0 {
			rules.Classify(jobs, jobs[0].Context, "main")
		}
	})
}

// BenchmarkEvaluate: 500 Actions jobs with path filters against a
// 3,000-file change (GitHub's PR files limit). Run with
//
//	go test -run '^$' -bench Actions -benchmem ./app/rules/
func BenchmarkEvaluate(b *testing.B) {
	var jobs []*rules.Job
	for i := 0; i < 500; i++ {
		var yml string
		switch i % 4 {
		case 0:
			yml = fmt.Sprintf("on:\n  pull_request:\n    paths: ['services/svc%d/**', '!services/svc%d/docs/**', 'go.mod']\njobs: {build: {}}\n", i, i)
		case 1:
			yml = fmt.Sprintf("on:\n  pull_request:\n    paths: ['**/*.proto', '**/api/v%d/**', 'cmd/tool[0-9]+/*.go']\njobs: {build: {}}\n", i)
		case 2:
			yml = fmt.Sprintf("on:\n  pull_request:\n    paths-ignore: ['docs/**', '**.md', 'services/svc%d/testdata/**']\njobs: {build: {}}\n", i)
		default:
			yml = fmt.Sprintf("on:\n  pull_request:\n    paths: ['lib/mod%d/*.go', 'lib/mod%d/**/*_test.go', 'Makefile']\njobs: {build: {}}\n", i, i)
		}
		js, err := ParseWorkflow(fmt.Sprintf("w%d.yml", i), []byte(yml), nil)
		if err != nil {
			b.Fatal(err)
		}
		jobs = append(jobs, js...)
	}
	files := make([]string, 3000)
	for i := range files {
		// Docs first, so paths-ignore filters look at many files too.
		if i < 2000 {
			files[i] = fmt.Sprintf("docs/area%d/page%d.md", i%40, i)
		} else {
			files[i] = fmt.Sprintf("services/svc%d/internal/pkg/file%d.go", 1000+i%50, i)
		}
	}
	change := rules.Change{Branch: "main", Files: files, Complete: true}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rules.Evaluate(jobs, change)
	}
}
