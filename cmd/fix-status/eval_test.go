package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEvalExamples(t *testing.T) {
	var out bytes.Buffer
	err := runEval(strings.NewReader("docs/guide.md\n\nREADME.md\n"), &out, io.Discard, evalFlags{
		repo: "kubernetes/kubernetes", branch: "master", changes: "-",
		prow: []string{"../../examples/prow"}, output: "json",
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Repo         string `json:"repo"`
		Branch       string `json:"branch"`
		ChangedFiles int    `json:"changed_files"`
		Jobs         []struct {
			Job, Context, Source, Verdict, Reason string
		} `json:"jobs"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]string{}
	for _, j := range got.Jobs {
		verdicts[j.Context] = j.Verdict
	}
	want := map[string]string{
		"pull-kubernetes-verify": "run", "pull-kubernetes-e2e-gce": "skip", "pull-kubernetes-node-e2e": "skip",
		"pull-kubernetes-e2e-release": "skip", "pull-kubernetes-conformance": "manual",
	}
	if d := cmp.Diff(want, verdicts); d != "" || got.ChangedFiles != 2 || got.Repo != "kubernetes/kubernetes" {
		t.Errorf("eval (-want +got):\n%s\n%+v", d, got)
	}
}

func TestEvalRepoConfigText(t *testing.T) {
	var out bytes.Buffer
	err := runEval(nil, &out, io.Discard, evalFlags{
		repo: "acme/widgets", branch: "main", changes: "../../examples/changes.txt",
		repoConfig: "../../examples/repo/.github/fix-status.yml", output: "text",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"skip     build (linux)    actions  no changed file matches paths [src/**, !src/docs/**, go.mod]",
		"run      docs / lint      actions  docs/guide.md does not match paths-ignore [src/**]",
		`skip     ci/circleci      config   every changed file matches skip_if_only_changed ^docs/|\.md$`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestEvalBadConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(bad, []byte("presubmits:\n  o/r:\n  - name: pull-foo\n    run_if_changed: '^(docs'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := runEval(nil, &bytes.Buffer{}, io.Discard, evalFlags{repo: "o/r", branch: "main", prow: []string{bad}, output: "text"})
	want := bad + `: o/r: job "pull-foo": invalid run_if_changed regex "^(docs"`
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line starting %q", err, want)
	}
	repoCfg := filepath.Join(dir, "fix-status.yml")
	if err := os.WriteFile(repoCfg, []byte("version: 1\nsources: {actoins: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = runEval(nil, &bytes.Buffer{}, io.Discard, evalFlags{repo: "o/r", branch: "main", repoConfig: repoCfg, output: "text"})
	if err == nil || err.Error() != repoCfg+`: line 2: sources.actoins: unknown key` {
		t.Fatalf("error %v", err)
	}
}

// evalOutput is the JSON of `eval --output json`.
type evalOutput struct {
	Repo         string `json:"repo"`
	Branch       string `json:"branch"`
	MergeGroup   bool   `json:"merge_group"`
	ChangedFiles int    `json:"changed_files"`
	Jobs         []struct {
		Job            string `json:"job"`
		Context        string `json:"context"`
		ContextPattern string `json:"context_pattern"`
		Source         string `json:"source"`
		Verdict        string `json:"verdict"`
		Reason         string `json:"reason"`
	} `json:"jobs"`
}

func evalJSON(t *testing.T, stdin string, f evalFlags) (evalOutput, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	f.output = "json"
	err := runEval(strings.NewReader(stdin), &out, &errOut, f)
	var got evalOutput
	if jerr := json.Unmarshal(out.Bytes(), &got); jerr != nil {
		t.Fatalf("output %q: %v", out.String(), jerr)
	}
	return got, errOut.String(), err
}

func TestEvalMergeGroup(t *testing.T) {
	got, _, err := evalJSON(t, "", evalFlags{
		repo: "acme/widgets", branch: "main", changes: "../../examples/changes.txt",
		repoConfig: "../../examples/repo/.github/fix-status.yml", mergeGroup: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]string{}
	for _, j := range got.Jobs {
		verdicts[j.Context] = j.Verdict + ": " + j.Reason
	}
	want := map[string]string{
		"build (linux)":   "run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
		"build (windows)": "run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
		"test":            "run: runs on merge groups: merge_group trigger in .github/workflows/ci.yml",
		"docs / lint":     "not_on_merge_group: add merge_group: to .github/workflows/docs.yml (would run: docs/guide.md does not match paths-ignore [src/**])",
		"ci/circleci":     `skip: every changed file matches skip_if_only_changed ^docs/|\.md$`,
		"ci/buildkite":    "run: runs on merge groups: merge_group: runs in .github/fix-status.yml",
	}
	if d := cmp.Diff(want, verdicts); d != "" || !got.MergeGroup {
		t.Errorf("eval --merge-group (-want +got):\n%s\nmerge_group: %v", d, got.MergeGroup)
	}
	err = runEval(nil, io.Discard, io.Discard, evalFlags{repo: "o/r", branch: "main", mergeGroup: true, firstHead: true, output: "text"})
	if err == nil {
		t.Error("--merge-group with --first-head accepted")
	}
}

func TestEvalFirstHeadAndPatterns(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("welcome.yml", "on:\n  pull_request:\n    types: [opened]\njobs:\n  welcome: {}\n")
	write("lint.yml", "on:\n  pull_request:\n    paths: ['**.go']\njobs:\n  lint:\n    name: lint-${{ matrix.lang }}\n    strategy:\n      matrix:\n        lang: ${{ fromJSON(vars.LANGS) }}\n")
	for _, tc := range []struct {
		firstHead bool
		want      []string
	}{
		{false, []string{
			"lint-${{ matrix.lang }} [lint-*]: skip: no changed file matches paths [**.go]",
			"welcome []: unknown: runs only on opened: does not run on later pushes",
		}},
		{true, []string{
			"lint-${{ matrix.lang }} [lint-*]: skip: no changed file matches paths [**.go]",
			"welcome []: run: runs on every pull request to main",
		}},
	} {
		got, _, err := evalJSON(t, "README.md\n", evalFlags{repo: "o/r", branch: "main", changes: "-", workflows: dir, firstHead: tc.firstHead})
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, j := range got.Jobs {
			lines = append(lines, j.Context+" ["+j.ContextPattern+"]: "+j.Verdict+": "+j.Reason)
		}
		if d := cmp.Diff(tc.want, lines); d != "" {
			t.Errorf("--first-head=%v (-want +got):\n%s", tc.firstHead, d)
		}
	}
}

// TestEvalUnparseableWorkflow: a broken workflow file is reported on
// standard error and fails the command, and everything else is evaluated;
// what the broken file may report is unknown.
func TestEvalUnparseableWorkflow(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"good.yml":   "on:\n  pull_request:\n    paths: [src/**]\njobs:\n  unit: {}\n",
		"broken.yml": "on:\n  pull_request:\n    paths: ['[a-']\njobs:\n  e2e: {name: E2E}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, stderr, err := evalJSON(t, "docs/a.md\n", evalFlags{repo: "o/r", branch: "main", changes: "-", workflows: dir})
	if err == nil || err.Error() != "1 workflow file(s) could not be parsed; their jobs are unknown" {
		t.Errorf("error %v", err)
	}
	wantErr := filepath.ToSlash(dir) + `/broken.yml: on.pull_request.paths[0]: invalid pattern "[a-": missing ]` + "\n"
	if stderr != wantErr {
		t.Errorf("stderr %q, want %q", stderr, wantErr)
	}
	var lines []string
	for _, j := range got.Jobs {
		lines = append(lines, j.Context+": "+j.Verdict)
	}
	if d := cmp.Diff([]string{"E2E: unknown", "unit: skip"}, lines); d != "" {
		t.Errorf("jobs (-want +got):\n%s", d)
	}
}
