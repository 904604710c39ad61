package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRepoContractExample(t *testing.T) {
	data := `version: 1
sources:
  actions: true
  prow: [config/jobs]
report_as: status
contexts:
  - context: ci/docs
    run_if_changed: '^docs/'
  - context: ci/e2e
    skip_if_only_changed: '\.md$'
    branches: ['^main$']
    rerun: {comment: "/test e2e"}
  - context: "build (linux)"
    paths: ['src/**', '!src/docs/**']
    merge_group: runs
commands:
  fix_status: anyone
merge_queue:
  carry_pr_results: true
`
	got, err := ParseRepo([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := &Repo{
		Version:  1,
		Sources:  Sources{Actions: true, Prow: []string{"config/jobs"}},
		ReportAs: ReportAsStatus,
		Contexts: []Context{
			{Context: "ci/docs", RunIfChanged: "^docs/", MergeGroup: MergeGroupNever, Line: 7},
			{Context: "ci/e2e", SkipIfOnlyChanged: `\.md$`, Branches: []string{"^main$"}, Rerun: Rerun{Comment: "/test e2e"}, MergeGroup: MergeGroupNever, Line: 9},
			{Context: "build (linux)", Paths: []string{"src/**", "!src/docs/**"}, MergeGroup: MergeGroupRuns, Line: 13},
		},
		Commands:   Commands{FixStatus: CommandAnyone},
		MergeQueue: MergeQueue{CarryPRResults: true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ParseRepo (-want +got):\n%s", d)
	}
}

func TestParseRepoDefaults(t *testing.T) {
	got, err := ParseRepo([]byte("version: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ReportAs != ReportAsStatus || got.Commands.FixStatus != CommandAnyone || got.MergeQueue.CarryPRResults {
		t.Errorf("defaults: report_as=%q fix_status=%q carry_pr_results=%v", got.ReportAs, got.Commands.FixStatus, got.MergeQueue.CarryPRResults)
	}
}

func TestParseRepoErrors(t *testing.T) {
	tests := map[string]struct {
		data string
		want string
	}{
		"unknown top-level key":    {"version: 1\nreport-as: status\n", `line 2: report-as: unknown key`},
		"unknown key in a context": {"version: 1\ncontexts:\n  - context: a\n    run_if_change: x\n", `line 4: contexts[0].run_if_change: unknown key`},
		"unknown key in sources":   {"version: 1\nsources:\n  action: true\n", `line 3: sources.action: unknown key`},
		"wrong version":            {"version: 2\n", "version: must be 1, got 2"},
		"missing version":          {"report_as: status\n", "version: must be 1, got 0"},
		"bad report_as":            {"version: 1\nreport_as: comment\n", `report_as: "comment" is not one of status, check_run`},
		"bad command policy":       {"version: 1\ncommands: {fix_status: admins}\n", `commands.fix_status: "admins" is not one of anyone, collaborators`},
		"missing context":          {"version: 1\ncontexts:\n  - run_if_changed: x\n", "line 3: contexts[0]: context: missing"},
		"duplicate context":        {"version: 1\ncontexts:\n  - context: CI/a\n  - context: ci/A\n", "line 4: contexts[1] (ci/A): context: already defined at contexts[0]"},
		"mixed styles":             {"version: 1\ncontexts:\n  - context: a\n    run_if_changed: x\n    paths: [y]\n", "cannot be mixed"},
		"both prow filters":        {"version: 1\ncontexts:\n  - context: a\n    run_if_changed: x\n    skip_if_only_changed: y\n", "mutually exclusive"},
		"paths and paths-ignore":   {"version: 1\ncontexts:\n  - context: a\n    paths: [x]\n    paths-ignore: [y]\n", "paths and paths-ignore cannot both be used"},
		"always_run with filter":   {"version: 1\ncontexts:\n  - context: a\n    always_run: true\n    paths: [x]\n", "always_run cannot be combined"},
		"wrong type":               {"version: one\n", `line 1: version: want a number, got "one"`},
		"not YAML":                 {"version: [1\n", "invalid YAML"},
		"empty prow path":          {"version: 1\nsources: {prow: ['']}\n", "sources.prow[0]: empty path"},
		"bad merge_group":          {"version: 1\ncontexts:\n  - context: ci/x\n    merge_group: sometimes\n", `line 3: contexts[0] (ci/x): merge_group: "sometimes" is not one of runs, never`},
		"unknown merge_queue key":  {"version: 1\nmerge_queue:\n  carry_results: true\n", `line 3: merge_queue.carry_results: unknown key`},
		"carry_pr_results type":    {"version: 1\nmerge_queue: {carry_pr_results: maybe}\n", `line 2: merge_queue.carry_pr_results: want true or false, got "maybe"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseRepo([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func FuzzParseRepo(f *testing.F) {
	f.Add([]byte("version: 1\ncontexts:\n  - context: a\n    paths: ['x/**']\n"))
	f.Add([]byte("version: 1\nsources: {actions: true, prow: [a]}\n"))
	f.Add([]byte("contexts: [{context: &a x}, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRepo(data)
		if err == nil && r.Version != 1 {
			t.Fatalf("accepted version %d", r.Version)
		}
	})
}

func FuzzParseServer(f *testing.F) {
	f.Add([]byte("server: {port: 8080}\nrepair: {grace_period: 10m}\n"))
	f.Add([]byte("github: {app: {integration_id: 1}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseServer(data)
		if err != nil {
			return
		}
		c.SetDefaults()
		_ = c.Validate()
	})
}
