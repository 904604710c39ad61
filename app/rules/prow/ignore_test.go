package prow

import (
	"os"
	"path"
	"strings"

	"path/filepath"
	"sort"
	"testing"
	"testing/fstest"

	gitignore "github.com/denormal/go-gitignore"

	"github.com/google/go-cmp/cmp"
)

// jobNames returns the names of every presubmit of every repository, sorted.
func jobNames(c *Config) []string {
	var out []string
	for _, repo := range c.Repos() {
		for _, j := range c.Jobs(repo) {
			out = append(out, j.Name)
		}
	}
	sort.Strings(out)
	return out
}

// TestProwIgnore loads a job config directory with .prowignore files, on
// disk and through an fs.FS, and checks which jobs Prow would read.
func TestProwIgnore(t *testing.T) {
	job := func(repo, name string) string {
		return "presubmits:\n  " + repo + ":\n  - name: " + name + "\n    always_run: true\n"
	}
	common := map[string]string{
		"foo_jobs.yaml":        job("org/foo", "foo"),
		"bar_jobs.yaml":        job("org/bar", "bar"),
		"subdir/baz_jobs.yaml": job("org/baz", "baz"),
		"subdir/deep/qux.yml":  job("org/qux", "qux"),
		"README.md":            "not a config",
	}
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"no ignore files", nil, []string{"bar", "baz", "foo", "qux"}},
		{"everything", map[string]string{".prowignore": "*.yaml\n*.yml\n"}, nil},
		{"no match", map[string]string{".prowignore": "*_ignored.yaml\n"}, []string{"bar", "baz", "foo", "qux"}},
		{"a glob", map[string]string{".prowignore": "bar_*.yaml\n"}, []string{"baz", "foo", "qux"}},
		{"a directory", map[string]string{".prowignore": "subdir/\n"}, []string{"bar", "foo"}},
		{"comments and blank lines", map[string]string{".prowignore": "# generated\n\nbar_jobs.yaml\n"}, []string{"baz", "foo", "qux"}},
		{"a name matches at every depth", map[string]string{".prowignore": "qux.yml\n"}, []string{"bar", "baz", "foo"}},
		{"anchored to the ignore file's directory", map[string]string{".prowignore": "/qux.yml\n/baz_jobs.yaml\n"}, []string{"bar", "baz", "foo", "qux"}},
		{"negation includes again", map[string]string{".prowignore": "*.yaml\n!foo_jobs.yaml\n"}, []string{"foo", "qux"}},
		{"in a subdirectory, for it only", map[string]string{"subdir/.prowignore": "*.yaml\n"}, []string{"bar", "foo", "qux"}},
		{"root and subdirectory", map[string]string{"subdir/.prowignore": "*.yaml\n", ".prowignore": "bar_jobs.yaml\n"}, []string{"foo", "qux"}},
		// The deeper file decides first.
		{"deeper includes again", map[string]string{".prowignore": "*.yaml\n", "subdir/.prowignore": "!baz_jobs.yaml\n"}, []string{"baz", "qux"}},
		// Nothing below an ignored directory is read, whatever it says.
		{"ignored directory wins", map[string]string{".prowignore": "subdir/\n", "subdir/.prowignore": "!baz_jobs.yaml\n"}, []string{"bar", "foo"}},
		{"double star", map[string]string{".prowignore": "subdir/**/*.yml\n"}, []string{"bar", "baz", "foo"}},
		// An ignored file does not count as a duplicated base name.
		{"ignored duplicate", map[string]string{"subdir/foo_jobs.yaml": job("org/dup", "dup"), "subdir/.prowignore": "foo_jobs.yaml\n"}, []string{"bar", "baz", "foo", "qux"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fsys := fstest.MapFS{}
			for _, files := range []map[string]string{common, tt.files} {
				for name, data := range files {
					p := filepath.Join(dir, "jobs", filepath.FromSlash(name))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
						t.Fatal(err)
					}
					fsys["config/jobs/"+name] = &fstest.MapFile{Data: []byte(data)}
				}
			}
			// Prow's own matcher agrees on every file, listed or not.
			root := filepath.Join(dir, "jobs")
			repoIgnore, err := gitignore.NewRepositoryWithFile(root, ignoreFileName)
			if err != nil {
				t.Fatal(err)
			}
			ig := &ignorer{}
			for name := range fsys {
				if path.Base(name) == ignoreFileName {
					ig.read(fsys, name, path.Dir(strings.TrimPrefix(name, "config/jobs/")))
				}
			}
			for name := range fsys {
				rel := strings.TrimPrefix(name, "config/jobs/")
				m := repoIgnore.Match(filepath.Join(root, filepath.FromSlash(rel)))
				if want := m != nil && m.Ignore(); ig.ignored(rel, false) != want {
					t.Errorf("%s: ignored = %v, Prow's matcher says %v", rel, !want, want)
				}
			}
			disk, err := Load(root)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, jobNames(disk)); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
			repo, err := LoadFS(fsys, "config/jobs")
			if err != nil {
				t.Fatalf("LoadFS: %v", err)
			}
			if diff := cmp.Diff(tt.want, jobNames(repo)); diff != "" {
				t.Errorf("LoadFS (-want +got):\n%s", diff)
			}
		})
	}

	// A config file given as such is read whatever the ignore files say.
	fsys := fstest.MapFS{
		"jobs/a.yaml":      {Data: []byte(job("o/r", "a"))},
		"jobs/.prowignore": {Data: []byte("*.yaml\n")},
	}
	c, err := LoadFS(fsys, "jobs/a.yaml")
	if err != nil || len(c.Jobs("o/r")) != 1 {
		t.Errorf("LoadFS(a file) = %v, %v", jobNames(c), err)
	}
}

func TestRuleFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"config/jobs/a.yaml":             {Data: []byte("presubmits: {}\n")},
		"config/jobs/sub/b.yml":          {Data: []byte("presubmits: {}\n")},
		"config/jobs/.prowignore":        {Data: []byte("experimental/\n")},
		"config/jobs/experimental/x.yml": {Data: []byte("not even YAML: [")},
		"config/jobs/README.md":          {Data: []byte("docs")},
		"config/central.yaml":            {Data: []byte("presubmits: {}\n")},
	}
	c, err := LoadFS(fsys, "config/jobs", "/config/central.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rf := c.RuleFiles()
	if diff := cmp.Diff([]string{"config/jobs/", "config/central.yaml"}, rf.Paths()); diff != "" {
		t.Errorf("Paths (-want +got):\n%s", diff)
	}
	for p, want := range map[string]bool{
		"config/jobs/a.yaml":             true,
		"config/jobs/new.yaml":           true, // a config file a change adds
		"config/jobs/sub/c.yml":          true,
		"config/jobs/.prowignore":        true,
		"config/jobs/sub/.prowignore":    true,
		"config/jobs/experimental/x.yml": false, // ignored
		"config/jobs/README.md":          false,
		"config/jobs/..data/a.yaml":      false, // ConfigMap bookkeeping
		"config/central.yaml":            true,
		"config/other.yaml":              false,
		"config/jobsx/a.yaml":            false,
	} {
		if got := rf.Defines(p); got != want {
			t.Errorf("Defines(%s) = %v, want %v", p, got, want)
		}
	}

	// Paths that are not there yet, and configs that cannot be loaded:
	// everything they may become.
	c, err = LoadFS(fsys, "config/jobs", "config/missing")
	if err == nil {
		t.Fatal("LoadFS(missing) succeeded")
	}
	coarse := RuleFiles("config/jobs", "/config/missing/")
	if diff := cmp.Diff([]string{"config/jobs", "config/jobs/", "config/missing", "config/missing/"}, coarse.Paths()); diff != "" {
		t.Errorf("RuleFiles (-want +got):\n%s", diff)
	}
	if !coarse.Defines("config/jobs/README.md") || !coarse.Defines("config/missing") {
		t.Error("RuleFiles does not cover everything below its paths")
	}
	if c, err = Parse("jobs.yaml", []byte("presubmits: {}\n")); err != nil || !c.RuleFiles().Defines("jobs.yaml") {
		t.Errorf("Parse: rule files %v, %v", c.RuleFiles().Paths(), err)
	}
}
