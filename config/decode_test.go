package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeErrorsAllNamed: a config file with several bad keys or values
// gets every one reported, each with its line and key, in the server config
// and in the repo config alike.
func TestDecodeErrorsAllNamed(t *testing.T) {
	tests := []struct {
		name string
		// server: the file is a server config, else a repo config.
		server bool
		yaml   string
		want   []string
	}{
		{
			name:   "server: three bad values",
			server: true,
			yaml:   "server:\n  port: eighty\nrepair:\n  workers: [4]\n  grace_period: soon\n",
			want: []string{
				`server.port: "eighty" is not a number (line 2)`,
				`repair.workers: want a number, got a list (line 4)`,
				`repair.grace_period: "soon" is not a duration (want e.g. 10m or 2h) (line 5)`,
			},
		},
		{
			name:   "server: unknown keys and a key given twice",
			server: true,
			yaml:   "server:\n  prot: 1\nlogging: {level: info, level: debug}\nmetrics: {}\n",
			want: []string{
				"server.prot: unknown key (line 2)",
				"logging.level: given twice (first at line 3) (line 3)",
				"metrics: unknown key (line 4)",
			},
		},
		{
			name: "repo: three bad values",
			yaml: "version: one\nreport_as: [status]\nmerge_queue: {carry_pr_results: maybe}\n",
			want: []string{
				`line 1: version: want a number, got "one"`,
				`line 2: report_as: want a string, got a list`,
				`line 3: merge_queue.carry_pr_results: want true or false, got "maybe"`,
			},
		},
		{
			name: "repo: unknown keys at every depth",
			yaml: "version: 1\nsorces: {actions: true}\ncontexts:\n  - context: ci/a\n    run_if_change: x\ncommands: {fix-status: anyone}\n",
			want: []string{
				"line 2: sorces: unknown key",
				"line 5: contexts[0].run_if_change: unknown key",
				"line 6: commands.fix-status: unknown key",
			},
		},
		{
			name: "repo: decoding and validation together",
			yaml: "version: 1\nreport_as: comment\ncontexts:\n  - context: [ci/a]\n  - context: ci/b\n    paths: src/**\n    merge_group: sometimes\n",
			want: []string{
				`line 4: contexts[0].context: want a string, got a list`,
				`line 6: contexts[1].paths: want a list of strings, got "src/**"`,
				`report_as: "comment" is not one of status, check_run`,
				// contexts[0].context is not reported missing: it was
				// given, wrongly.
				`line 5: contexts[1] (ci/b): merge_group: "sometimes" is not one of runs, never`,
			},
		},
		{
			name: "repo: a key given twice, a section of the wrong shape, a bad list item",
			yaml: "version: 1\nversion: 1\nsources: [prow]\ncontexts:\n  - context: ci/a\n    branches: [main, {x: 1}]\n",
			want: []string{
				"line 2: version: given twice (first at line 1)",
				`line 3: sources: want a mapping of keys, got a list`,
				`line 6: contexts[0].branches[1]: want a string, got a mapping`,
			},
		},
		{
			name: "repo: not YAML",
			yaml: "version: [1\n",
			want: []string{"invalid YAML: line 1: did not find expected ',' or ']'"},
		},
		{
			name: "repo: two documents",
			yaml: "version: 1\n---\nversion: 1\n",
			want: []string{"line 2: want one YAML document, found more"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The server's problems are one per line (the server refuses
			// to start with all of them); the repo config's share one
			// line (a status on the PR shows it).
			var err error
			sep := "\n"
			if tt.server {
				_, err = ParseServer([]byte(tt.yaml))
			} else {
				_, err = ParseRepo([]byte(tt.yaml))
				sep = "; "
			}
			if err == nil {
				t.Fatal("no error")
			}
			if d := cmp.Diff(tt.want, strings.Split(err.Error(), sep)); d != "" {
				t.Errorf("errors (-want +got):\n%s", d)
			}
		})
	}
}

// TestParseRepoAnchorsAndMerges: anchors, aliases and merge keys mean what
// YAML says: a key written in a mapping wins over a merged one, an earlier
// merged mapping over a later one, and a merged key is checked like any.
func TestParseRepoAnchorsAndMerges(t *testing.T) {
	data := `version: 1
x-base: &base {run_if_changed: '^docs/', rerun: {comment: /test docs}}
x-more: &more {run_if_changed: '^pkg/', merge_group: runs}
contexts:
  - {<<: [*base, *more], context: ci/docs}
  - {<<: *base, context: ci/other, run_if_changed: '^other/'}
`
	_, err := ParseRepo([]byte(data))
	if err == nil || !strings.Contains(err.Error(), "line 2: x-base: unknown key") {
		t.Fatalf("error %v: an anchor's own key is a key like any", err)
	}
	data = strings.NewReplacer("x-base: &base {", "contexts:\n  - &base {context: ci/base, ", "x-more: &more {", "  - &more {context: ci/more, ",
		"contexts:\n  - {<<: [", "  - {<<: [").Replace(data)
	got, err := ParseRepo([]byte(data))
	if err != nil {
		t.Fatalf("%v in\n%s", err, data)
	}
	want := []Context{
		{Context: "ci/base", RunIfChanged: "^docs/", Rerun: Rerun{Comment: "/test docs"}, MergeGroup: MergeGroupNever, Line: 3},
		{Context: "ci/more", RunIfChanged: "^pkg/", MergeGroup: MergeGroupRuns, Line: 4},
		{Context: "ci/docs", RunIfChanged: "^docs/", Rerun: Rerun{Comment: "/test docs"}, MergeGroup: MergeGroupRuns, Line: 5},
		{Context: "ci/other", RunIfChanged: "^other/", Rerun: Rerun{Comment: "/test docs"}, MergeGroup: MergeGroupNever, Line: 6},
	}
	if d := cmp.Diff(want, got.Contexts); d != "" {
		t.Errorf("contexts (-want +got):\n%s\nof\n%s", d, data)
	}
}

// TestParseRepoExcessiveAliasing: merge keys that multiply a small file
// into millions of values are refused, not expanded.
func TestParseRepoExcessiveAliasing(t *testing.T) {
	data := "version: 1\ncontexts:\n  - &a {context: x, run_if_changed: y}\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g"} {
		data += "  - &" + name + " {<<: [" + strings.TrimSuffix(strings.Repeat("*"+prev+", ", 10), ", ") + "]}\n"
		prev = name
	}
	_, err := ParseRepo([]byte(data))
	if err == nil || !strings.Contains(err.Error(), "aliases expand to too many") {
		t.Fatalf("error %v, want the aliasing refused", err)
	}
}
