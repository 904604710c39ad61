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
	if err == nil || err.Error() != repoCfg+`: line 2: unknown key "actoins"` {
		t.Fatalf("error %v", err)
	}
}
