package rules

import (
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRuleFilesTouches(t *testing.T) {
	rf := RuleFiles{
		{Path: ".github/fix-status.yml"},
		{Path: ".github/workflows/", Defines: func(p string) bool {
			return path.Dir(p) == ".github/workflows" && strings.HasSuffix(p, ".yml")
		}},
		{Path: "config/jobs/"},
	}
	tests := []struct {
		name  string
		files []ChangedFile
		want  []string
	}{
		{"edit", []ChangedFile{{Filename: ".github/fix-status.yml"}}, []string{".github/fix-status.yml"}},
		{"add or delete in a directory", []ChangedFile{{Filename: "config/jobs/new/a.yaml"}}, []string{"config/jobs/new/a.yaml"}},
		{"narrowed directory", []ChangedFile{{Filename: ".github/workflows/README.md"}, {Filename: ".github/workflows/sub/x.yml"}}, nil},
		{"not a rule file", []ChangedFile{{Filename: "src/a.go"}, {Filename: "config/jobsx/a.yaml"}, {Filename: ".github/fix-status.yml.bak"}}, nil},
		{"renamed away", []ChangedFile{{Filename: "old/ci.yml", PreviousFilename: ".github/workflows/ci.yml"}}, []string{".github/workflows/ci.yml"}},
		{"renamed onto", []ChangedFile{{Filename: ".github/workflows/ci.yml", PreviousFilename: "draft/ci.yml"}}, []string{".github/workflows/ci.yml"}},
		{"renamed within", []ChangedFile{{Filename: "config/jobs/b.yaml", PreviousFilename: "config/jobs/a.yaml"}}, []string{"config/jobs/b.yaml"}},
		{"several", []ChangedFile{{Filename: "src/a.go"}, {Filename: "config/jobs/a.yaml"}, {Filename: ".github/fix-status.yml"}},
			[]string{"config/jobs/a.yaml", ".github/fix-status.yml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, rf.Touches(tt.files)); diff != "" {
				t.Errorf("Touches (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff([]string{".github/fix-status.yml", ".github/workflows/", "config/jobs/"}, rf.Paths()); diff != "" {
		t.Errorf("Paths (-want +got):\n%s", diff)
	}
	root := RuleFiles{{Path: "./", Defines: func(p string) bool { return strings.HasSuffix(p, ".yaml") }}}
	if !root.Defines("a.yaml") || !root.Defines("x/b.yaml") || root.Defines("a.md") {
		t.Error("the repository root as a directory")
	}
}
