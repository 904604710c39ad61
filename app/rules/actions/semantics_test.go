package actions

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/fix-status/fix-status/app/rules"
)

// TestHeads: a workflow whose pull_request types lack synchronize cannot
// report on a PR's later heads; one that lacks opened and reopened cannot
// on the head a PR is opened with.
func TestHeads(t *testing.T) {
	const jobs = "\njobs:\n  build: {}\n"
	tests := []struct {
		name        string
		on          string
		heads       rules.Heads
		later, open string // verdicts on a later head and on the first head
	}{
		{"default types", "on: pull_request", rules.HeadsAll,
			"run: runs on every pull request to main", "run: runs on every pull request to main"},
		{"opened only", "on:\n  pull_request:\n    types: [opened]", rules.HeadsFirst,
			"unknown: runs only on opened: does not run on later pushes", "run: runs on every pull request to main"},
		{"opened and reopened, with paths", "on:\n  pull_request:\n    types: [opened, reopened, labeled]\n    paths: [src/**]", rules.HeadsFirst,
			"unknown: runs only on opened, reopened: does not run on later pushes", "skip: no changed file matches paths [src/**]"},
		{"reopened only", "on:\n  pull_request_target:\n    types: [reopened]", rules.HeadsFirst,
			"unknown: runs only on reopened: does not run on later pushes", "run: runs on every pull request to main"},
		{"synchronize only", "on:\n  pull_request:\n    types: [synchronize]", rules.HeadsLater,
			"run: runs on every pull request to main", "unknown: runs only on synchronize: does not run on the head a pull request is opened with"},
		{"opened and synchronize", "on:\n  pull_request:\n    types: [opened, synchronize]", rules.HeadsAll,
			"run: runs on every pull request to main", "run: runs on every pull request to main"},
		// Either event starts the workflow: together they cover every head.
		{"two events together", "on:\n  pull_request:\n    types: [opened]\n  pull_request_target:\n    types: [synchronize]", rules.HeadsAll,
			"run: runs on every pull request to main", "run: runs on every pull request to main"},
		{"two events, first heads only", "on:\n  pull_request:\n    types: [opened]\n  pull_request_target:\n    types: [reopened, closed]", rules.HeadsFirst,
			"unknown: runs only on opened, reopened: does not run on later pushes", "run: runs on every pull request to main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js := mustParse(t, tt.on+jobs, nil)
			if len(js) != 1 || js[0].Heads != tt.heads {
				t.Fatalf("jobs %+v, want one with heads %q", js, tt.heads)
			}
			files := []string{"docs/a.md"}
			later := verdicts(js, rules.Change{Branch: "main", Files: files, Complete: true})
			open := verdicts(js, rules.Change{Branch: "main", Files: files, Complete: true, FirstHead: true})
			if diff := cmp.Diff([]string{"build: " + tt.later, "build: " + tt.open}, append(later, open...)); diff != "" {
				t.Errorf("verdicts on a later head, then the first (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeGroup(t *testing.T) {
	const jobs = "\njobs:\n  build: {}\n"
	const wf = ".github/workflows/ci.yml"
	tests := []struct {
		name string
		on   string
		mg   rules.MergeGroup // Branches compared by presence
		// verdicts for a merge group of main changing docs/a.md and of
		// main changing src/a.go, and for a PR changing src/a.go
		docs, src, pr string
	}{
		{"no merge_group trigger", "on:\n  pull_request:\n    paths: [src/**]",
			rules.MergeGroup{Fix: "add merge_group: to " + wf},
			"skip: no changed file matches paths [src/**]",
			"not_on_merge_group: add merge_group: to .github/workflows/ci.yml (would run: paths src/** matches src/a.go)",
			"run: paths src/** matches src/a.go"},
		{"merge_group trigger", "on:\n  pull_request:\n    paths: [src/**]\n  merge_group:",
			rules.MergeGroup{Runs: true, Why: "merge_group trigger in " + wf, Fix: "make on.merge_group in " + wf + " admit the base branch"},
			"run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
			"run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
			"run: paths src/** matches src/a.go"},
		{"list form", "on: [pull_request, merge_group]",
			rules.MergeGroup{Runs: true, Why: "merge_group trigger in " + wf, Fix: "make on.merge_group in " + wf + " admit the base branch"},
			"run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
			"run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
			"run: runs on every pull request to main"},
		// merge_group has no path filters: they are not read.
		{"checks_requested, paths ignored", "on:\n  pull_request:\n  merge_group:\n    types: [checks_requested]\n    paths: [src/**]",
			rules.MergeGroup{Runs: true, Why: "merge_group trigger in " + wf, Fix: "make on.merge_group in " + wf + " admit the base branch"},
			"run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
			"run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
			"run: runs on every pull request to main"},
		{"branch filter admits", "on:\n  pull_request:\n  merge_group:\n    branches: [main]",
			rules.MergeGroup{Runs: true, Branches: &branchFilter{}, Why: "merge_group trigger in " + wf, Fix: "make on.merge_group in " + wf + " admit the base branch"},
			"run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
			"run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
			"run: runs on every pull request to main"},
		{"branch filter excludes", "on:\n  pull_request:\n  merge_group:\n    branches-ignore: [main]",
			rules.MergeGroup{Runs: true, Branches: &branchFilter{}, Why: "merge_group trigger in " + wf, Fix: "make on.merge_group in " + wf + " admit the base branch"},
			"not_on_merge_group: make on.merge_group in .github/workflows/ci.yml admit the base branch (would run: runs on every pull request to main)",
			"not_on_merge_group: make on.merge_group in .github/workflows/ci.yml admit the base branch (would run: runs on every pull request to main)",
			"run: runs on every pull request to main"},
		{"other types only", "on:\n  pull_request:\n    paths: [src/**]\n  merge_group:\n    types: [destroyed]",
			rules.MergeGroup{Fix: "add merge_group: to " + wf},
			"skip: no changed file matches paths [src/**]",
			"not_on_merge_group: add merge_group: to .github/workflows/ci.yml (would run: paths src/** matches src/a.go)",
			"run: paths src/** matches src/a.go"},
		// A workflow of merge groups only is a manual job for PRs.
		{"merge groups only", "on: merge_group",
			rules.MergeGroup{Runs: true, Why: "merge_group trigger in " + wf, Fix: "make on.merge_group in " + wf + " admit the base branch"},
			"run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
			"run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
			"manual: runs only on merge groups, not on pull requests"},
	}
	hasBranches := cmp.Comparer(func(a, b rules.BranchFilter) bool { return (a == nil) == (b == nil) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js := mustParse(t, tt.on+jobs, nil)
			if len(js) != 1 {
				t.Fatalf("%d jobs", len(js))
			}
			if diff := cmp.Diff(tt.mg, js[0].MergeGroup, hasBranches); diff != "" {
				t.Errorf("MergeGroup (-want +got):\n%s", diff)
			}
			got := append(verdicts(js, rules.Change{Branch: "main", Files: []string{"docs/a.md"}, Complete: true, MergeGroup: true}),
				verdicts(js, rules.Change{Branch: "main", Files: []string{"src/a.go"}, Complete: true, MergeGroup: true})...)
			got = append(got, verdicts(js, rules.Change{Branch: "main", Files: []string{"src/a.go"}, Complete: true})...)
			if diff := cmp.Diff([]string{"build: " + tt.docs, "build: " + tt.src, "build: " + tt.pr}, got); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckNamesObjects: matrix values that are mappings (and lists) show
// in a default check name as their scalars, in order, as GitHub reported
// for `shard: {name: core, paths: ...}` and `component: {name, path,
// needs: [...]}`; ${{ matrix.KEY.PROPERTY }} reads a property.
func TestCheckNamesObjects(t *testing.T) {
	tests := []struct {
		name string
		jobs string
		want []string
	}{
		{"default name flattens mappings", `
  test:
    strategy:
      matrix:
        python: ['3.11', '3.13']
        shard:
          - {name: units, paths: tests/core/units}
          - {name: core, paths: tests/core/models}
`, []string{"test (3.11, units, tests/core/units)", "test (3.11, core, tests/core/models)",
			"test (3.13, units, tests/core/units)", "test (3.13, core, tests/core/models)"}},
		{"nested lists flatten too", `
  check:
    strategy:
      matrix:
        command: [make test]
        component:
          - name: agent-ctl
            path: src/tools/agent-ctl
            needs: [rust, protobuf-compiler, clang]
`, []string{"check (make test, agent-ctl, src/tools/agent-ctl, rust, protobuf-compiler, clang)"}},
		{"properties", `
  test:
    name: test (${{ matrix.python }}, ${{ matrix.shard.name }})
    strategy:
      matrix:
        python: ['3.11']
        shard:
          - {name: units, paths: a}
          - {name: core, paths: b}
`, []string{"test (3.11, units)", "test (3.11, core)"}},
		{"nested and case-insensitive", `
  deploy:
    name: deploy-${{ Matrix.Target.Cloud.Region }}
    strategy:
      matrix:
        target:
          - cloud: {region: eu-1, zone: a}
          - cloud: {region: us-2, zone: b}
`, []string{"deploy-eu-1", "deploy-us-2"}},
		{"include adds an object", `
  test:
    strategy:
      matrix:
        os: [linux, mac]
        include:
          - os: linux
            cfg: {arch: arm64}
`, []string{"test (linux, arm64)", "test (mac)"}},
		{"a missing property", `
  test:
    name: test-${{ matrix.shard.label }}
    strategy:
      matrix:
        shard: [{name: a}]
`, []string{"test-${{ matrix.shard.label }} [pattern: test-*]"}},
		{"a property that is an object", `
  test:
    name: test-${{ matrix.shard }}
    strategy:
      matrix:
        shard: [{name: a}]
`, []string{"test-${{ matrix.shard }} [pattern: test-*]"}},
		{"include compares an object", `
  test:
    strategy:
      matrix:
        shard: [{name: a}]
        include:
          - shard: {name: a}
            extra: x
`, []string{"test [pattern: test or test (*)]"}},
		{"exclude compares an object", `
  test:
    strategy:
      matrix:
        shard: [{name: a}, {name: b}]
        exclude:
          - shard: {name: a}
`, []string{"test [pattern: test or test (*)]"}},
		{"an empty object", `
  test:
    strategy:
      matrix:
        shard: [{}]
`, []string{"test [pattern: test or test (*)]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, contexts(mustParse(t, "on: pull_request\njobs:"+tt.jobs, nil))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestNameLength: GitHub cuts a job's check name at 100 characters (97 and
// "..."), each job's own name on its own: a reusable workflow's job as
// "caller / " and its cut name.
func TestNameLength(t *testing.T) {
	files := map[string]string{"checks.yml": `
on: workflow_call
jobs:
  check:
    strategy:
      matrix:
        command: ['sudo -E PATH="$PATH" make test']
        component:
          - {name: agent-ctl, path: src/tools/agent-ctl, needs: [rust, protobuf-compiler, clang]}
`}
	jobs := mustParse(t, `
on: pull_request
jobs:
  build-checks:
    name: build-checks (s390x)
    uses: ./.github/workflows/checks.yml
  long:
    name: `+strings.Repeat("a", 120)+`
  dynamic:
    name: ${{ inputs.kind }} `+strings.Repeat("b", 110)+`
`, files)
	// As GitHub's API reported it.
	want := []string{
		`build-checks (s390x) / check (sudo -E PATH="$PATH" make test, agent-ctl, src/tools/agent-ctl, rust, protobuf-compiler, c...`,
		strings.Repeat("a", 97) + "...",
	}
	if diff := cmp.Diff(want, contexts(jobs[:2])); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := utf8.RuneCountInString(jobs[0].Context) - len("build-checks (s390x) / "); n != 100 {
		t.Errorf("called job's name is %d characters", n)
	}
	// A pattern admits the cut forms of what it may expand to.
	dyn := jobs[2]
	for context, want := range map[string]bool{
		"push " + strings.Repeat("b", 110):                       true,
		"push " + strings.Repeat("b", 92) + "...":                true,
		"pull_request_target " + strings.Repeat("b", 77) + "...": true,
		"push " + strings.Repeat("b", 109) + "c":                 false,
	} {
		if got := dyn.Reports(context); got != want {
			t.Errorf("Reports(%.20s... of %d) = %v, want %v", context, len(context), got, want)
		}
	}
	if dyn.ContextPattern.String() != "* "+strings.Repeat("b", 110) {
		t.Errorf("pattern shown as %q", dyn.ContextPattern)
	}
}

func TestReusableSelfReference(t *testing.T) {
	_, err := ParseWorkflow("ci.yml", []byte("on: pull_request\njobs:\n  call:\n    uses: $/.github/workflows/x.yml@main\n"), reader(nil))
	want := `ci.yml: jobs.call.uses: "$/.github/workflows/x.yml@main" is not a reusable workflow (./.github/workflows/NAME.yml, $/.github/workflows/NAME.yml or OWNER/REPO/PATH@REF)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

func TestActionsRuleFiles(t *testing.T) {
	rf := RuleFiles(".github/workflows/")
	var got []string
	for _, p := range []string{".github/workflows/ci.yml", ".github/workflows/x.yaml", ".github/workflows/README.md",
		".github/workflows/sub/ci.yml", ".github/ci.yml", ".github/workflowsx/ci.yml"} {
		got = append(got, fmt.Sprintf("%s %v", p, rf.Defines(p)))
	}
	want := []string{".github/workflows/ci.yml true", ".github/workflows/x.yaml true", ".github/workflows/README.md false",
		".github/workflows/sub/ci.yml false", ".github/ci.yml false", ".github/workflowsx/ci.yml false"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestGuessedNames: a name that cannot be read statically admits every
// name GitHub may make of it, matrix values included.
func TestGuessedNames(t *testing.T) {
	const dynamic = "\n    strategy:\n      matrix: ${{ fromJSON(vars.M) }}\n"
	tests := []struct {
		job     string
		pattern string
		match   []string
		noMatch []string
	}{
		{"name: Build ${{ github.event_name }}" + dynamic, "Build *", []string{"Build push (a, b)", "Build push"}, []string{"build-x"}},
		{"name: ${{ github.job }} build" + dynamic, "* build or * build (*)", []string{"x build", "x build (a, b)"}, []string{"x build-docs"}},
		{"name: test-${{ matrix.x }}-${{ inputs.y }}" + dynamic, "test-*-*", []string{"test-a-b"}, []string{"test-a"}},
		{"name: test" + dynamic, "test or test (*)", []string{"test", "test (a)"}, []string{"test-a"}},
		{"name: ${{ inputs.name }}", "*", []string{"anything"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			js := mustParse(t, "on: pull_request\njobs:\n  j:\n    "+tt.job, nil)
			if len(js) != 1 || js[0].ContextPattern.String() != tt.pattern {
				t.Fatalf("jobs %v, want one with pattern %q", contexts(js), tt.pattern)
			}
			for _, c := range tt.match {
				if !js[0].Reports(c) {
					t.Errorf("does not report %q", c)
				}
			}
			for _, c := range tt.noMatch {
				if js[0].Reports(c) {
					t.Errorf("reports %q", c)
				}
			}
		})
	}
}
