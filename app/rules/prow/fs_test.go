package prow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fix-status/fix-status/app/rules"
)

func TestLoadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"config/jobs/a/one.yaml": {Data: []byte("presubmits:\n  o/r:\n  - name: one\n    run_if_changed: '^docs/'\n")},
		"config/jobs/b/two.yml":  {Data: []byte("presubmits:\n  o/r:\n  - name: two\n    always_run: true\n")},
		"config/jobs/README.md":  {Data: []byte("not a config")},
	}
	pc, err := LoadFS(fsys, "config/jobs")
	if err != nil {
		t.Fatal(err)
	}
	jobs := pc.Jobs("o/r")
	if len(jobs) != 2 || jobs[0].Name != "one" || jobs[1].Name != "two" || jobs[0].Origin.Path != "config/jobs/a/one.yaml" {
		t.Fatalf("jobs: %+v", jobs)
	}
	v, reason := rules.EvaluateJob(jobs[0], rules.Change{Branch: "main", Files: []string{"pkg/a.go"}, Complete: true})
	if v != rules.VerdictSkip || reason != "no changed file matches run_if_changed ^docs/" {
		t.Errorf("got %s %q", v, reason)
	}

	fsys["config/jobs/c/one.yaml"] = &fstest.MapFile{Data: []byte("presubmits: {}\n")}
	fsys["config/jobs/b/bad.yaml"] = &fstest.MapFile{Data: []byte("presubmits:\n  o/r:\n  - name: bad\n    run_if_changed: '^(docs'\n")}
	_, err = LoadFS(fsys, "config/jobs", "missing")
	for _, want := range []string{"duplicated basename is not allowed: one.yaml", `job "bad": invalid run_if_changed regex "^(docs"`, "missing: failed to read Prow config"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestLoadNamesFilesAsGiven(t *testing.T) {
	dir := t.TempDir()
	jobs := filepath.Join(dir, "jobs")
	if err := os.MkdirAll(filepath.Join(jobs, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(jobs, "sub", "a.yaml"), []byte("presubmits:\n  o/r:\n  - name: a\n    always_run: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A symlinked directory (as Kubernetes mounts ConfigMaps) is followed.
	link := filepath.Join(dir, "link")
	if err := os.Symlink(jobs, link); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{jobs, link} {
		pc, err := Load(root)
		if err != nil {
			t.Fatal(err)
		}
		got := pc.Jobs("o/r")
		if len(got) != 1 || got[0].Origin.Path != filepath.Join(root, "sub", "a.yaml") {
			t.Errorf("Load(%s): %+v", root, got)
		}
	}
	_, err := Load(filepath.Join(dir, "missing"))
	if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "missing")+": failed to read Prow config") {
		t.Errorf("error %v", err)
	}
}
