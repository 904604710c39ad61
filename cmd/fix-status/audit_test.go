package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fix-status/fix-status/app/audit"
	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/audit")

// golden compares got with testdata/audit/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "audit", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to write it)", err, t.Name())
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
}

// offlineFlags audits kubernetes/kubernetes's master against the example
// Prow config: always-run, conditional, manual, a renamed job and an
// unknown context.
func offlineFlags() auditFlags {
	return auditFlags{repos: []string{"kubernetes/kubernetes"}, branch: "master", prow: []string{"../../examples/prow"},
		required: []string{"pull-kubernetes-verify,pull-kubernetes-e2e-gce", "pull-kubernetes-conformance, pull-kubernetes-e2e"},
		output:   "text", failOn: []string{"orphaned,manual,pinned_elsewhere"}}
}

func TestAuditOfflineOutputs(t *testing.T) {
	for _, format := range []string{"text", "json", "markdown"} {
		t.Run(format, func(t *testing.T) {
			f := offlineFlags()
			f.output = format
			var out, errOut bytes.Buffer
			err := runAudit(context.Background(), &out, &errOut, f)
			if err == nil || err.Error() != "2 finding(s) of class orphaned,manual,pinned_elsewhere" {
				t.Errorf("err = %v; want the two findings", err)
			}
			golden(t, "offline."+map[string]string{"text": "txt", "json": "json", "markdown": "md"}[format], out.Bytes())
		})
	}
}

// TestAuditFailOn: the exit status follows --fail-on.
func TestAuditFailOn(t *testing.T) {
	tests := []struct {
		failOn  []string
		wantErr string
	}{
		{failOn: nil, wantErr: ""},
		{failOn: []string{"none"}, wantErr: ""},
		{failOn: []string{"orphaned"}, wantErr: "1 finding(s) of class orphaned"},
		{failOn: []string{"conditional", "always"}, wantErr: "2 finding(s) of class conditional,always"},
		{failOn: []string{"not_on_branch"}, wantErr: ""},
		{failOn: []string{"orphans"}, wantErr: `--fail-on: "orphans" is not a class`},
	}
	for _, tt := range tests {
		f := offlineFlags()
		f.failOn = tt.failOn
		err := runAudit(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}, f)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("--fail-on %q: %v; want exit 0", tt.failOn, err)
		case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
			t.Errorf("--fail-on %q: %v; want %q", tt.failOn, err, tt.wantErr)
		}
	}
	// The command's default is audit.DefaultFailOn.
	fl := newAuditCmd().Flags().Lookup("fail-on")
	if fl.DefValue != `["orphaned,manual,pinned_elsewhere"]` {
		t.Errorf("--fail-on defaults to %s", fl.DefValue)
	}
}

func TestAuditOfflineFlags(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*auditFlags)
		wantErr string
	}{
		{"no repo", func(f *auditFlags) { f.repos = nil }, "without --config, give one --repo OWNER/REPO"},
		{"two repos", func(f *auditFlags) { f.repos = append(f.repos, "a/b") }, "without --config, give one --repo OWNER/REPO"},
		{"no branch", func(f *auditFlags) { f.branch = "" }, "--branch: required without --config"},
		{"no contexts", func(f *auditFlags) { f.required = []string{" , "} }, "--required: give the branch's required contexts"},
		{"org offline", func(f *auditFlags) { f.orgs = []string{"kubernetes"} }, "--org needs --config"},
		{"bad output", func(f *auditFlags) { f.output = "yaml" }, `--output: "yaml" is not text, json or markdown`},
		{"offline flags online", func(f *auditFlags) { f.config = "x.yaml" }, "--branch, --required, --prow-config, --workflows and --repo-config are for the offline audit"},
		{"bad prow config", func(f *auditFlags) { f.prow = []string{"../../app/rules/prow/testdata/invalid"} }, "invalid.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := offlineFlags()
			tt.mod(&f)
			err := runAudit(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}, f)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v; want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSplitContexts(t *testing.T) {
	got := splitContexts("lint, test (3.13, core),build (linux),, e2e")
	if d := cmp.Diff([]string{"lint", "test (3.13, core)", "build (linux)", "e2e"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestAuditOfflineRepoConfig: the repo config's rules and its
// merge_queue.carry_pr_results are read, as a PR to the branch would be
// judged; a workflow that cannot be parsed is named and fails the command,
// and the rest is judged.
func TestAuditOfflineRepoConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(".github/fix-status.yml", "version: 1\nsources: {actions: true}\nmerge_queue: {carry_pr_results: true}\ncontexts:\n  - {context: ci/docs, run_if_changed: '^docs/'}\n")
	write(".github/workflows/ci.yml", "on: [pull_request]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps: [{run: make lint}]\n")
	write(".github/workflows/broken.yml", "on:\n  pull_request:\n    paths: ['[a-']\njobs:\n  broken: {runs-on: x, steps: [{run: x}]}\n")
	var out, errOut bytes.Buffer
	err := runAudit(context.Background(), &out, &errOut, auditFlags{repos: []string{"acme/widgets"}, branch: "main",
		repoConfig: filepath.Join(dir, ".github/fix-status.yml"), required: []string{"lint,ci/docs,broken"}, output: "json"})
	if err == nil || !strings.Contains(err.Error(), "1 problem(s) kept parts from being audited") || !strings.Contains(errOut.String(), "broken.yml") {
		t.Errorf("err = %v, stderr %q; want the broken workflow named and exit 1", err, errOut.String())
	}
	var rep audit.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rep.Branches[0].Required {
		got[r.Context] = string(r.Class) + " " + string(r.MergeQueue)
	}
	want := map[string]string{"lint": "always repaired", "ci/docs": "conditional repaired", "broken": "unknown repaired"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("classes (-want +got):\n%s", d)
	}
}

const auditScenario = `
app: {id: 4242, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 7, account: acme, account_type: Organization, repos: [acme/widgets, acme/tools]}
repos:
  - name: acme/tools
  - name: acme/widgets
    default_branch: main
    files:
      main:
        .github/fix-status.yml: |
          version: 1
          sources: {actions: true, prow: [prow]}
        prow/jobs.yaml: |
          presubmits:
            acme/widgets:
            - name: pull-unit
              run_if_changed: '^pkg/'
            - name: pull-e2e-gce
              always_run: true
            - name: pull-bench
        .github/workflows/ci.yml: |
          on:
            pull_request: {paths: ['src/**']}
            merge_group:
          jobs:
            build:
              runs-on: ubuntu-latest
              steps: [{run: make}]
      release-1.0:
        .github/fix-status.yml: |
          version: 1
          sorces: {actions: true}
    branches:
      main:
        protection:
          required_status_checks:
            contexts: [pull-unit, pull-e2e, build]
        rules:
          - type: merge_queue
            parameters: {check_response_timeout_minutes: 30, grouping_strategy: ALLGREEN, max_entries_to_build: 5,
              max_entries_to_merge: 5, merge_method: MERGE, min_entries_to_merge: 1, min_entries_to_merge_wait_minutes: 5}
          - type: required_status_checks
            parameters:
              required_status_checks: [{context: pull-unit}, {context: pull-e2e-gce, integration_id: 15368}, {context: pull-bench}]
      release-1.0:
        rules:
          - type: required_status_checks
            parameters:
              required_status_checks: [{context: build}]
      no-checks:
        protection: {}
      dev: {}
`

// TestAuditOnline audits the emulator's repositories as the app, through
// the server config, go-githubapp's client creator and real HTTP: every
// protected branch with required contexts, the rules on each, classic
// protection and rulesets, pins and the merge queue.
func TestAuditOnline(t *testing.T) {
	gh := fakegithubtest.Start(t, auditScenario, fakegithub.Options{})
	cfgPath := writeConfig(t, fakegithubtest.ServerConfig(gh))
	ctx := context.Background()

	var out, errOut bytes.Buffer
	err := runAudit(ctx, &out, &errOut, auditFlags{config: cfgPath, orgs: []string{"acme"}, output: "json", failOn: []string{"orphaned,manual,pinned_elsewhere"}})
	if err == nil || err.Error() != "3 finding(s) of class orphaned,manual,pinned_elsewhere" || errOut.Len() > 0 {
		t.Errorf("err = %v, stderr %q; want 3 findings", err, errOut.String())
	}
	// The emulator's URL changes from run to run; the report does not
	// name it.
	golden(t, "online.json", out.Bytes())

	var rep audit.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, b := range rep.Branches {
		for _, r := range b.Required {
			got[b.Repo+" "+b.Branch+" "+r.Context] = strings.Join([]string{r.From, string(r.Class), string(r.MergeQueue)}, " ")
		}
	}
	want := map[string]string{
		"acme/widgets main pull-unit":    "protection+ruleset conditional repaired",
		"acme/widgets main pull-e2e":     "protection orphaned stalls",
		"acme/widgets main build":        "protection conditional runs",
		"acme/widgets main pull-e2e-gce": "ruleset " + string(audit.ClassPinnedElsewhere) + " stalls",
		"acme/widgets main pull-bench":   "ruleset manual stalls",
		// A rule file that cannot be read on release-1.0: fix-status blocks it.
		"acme/widgets release-1.0 build": "ruleset unknown n/a",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	// The text and Markdown reports of the same audit, for a person and a PR comment.
	for _, format := range []string{"text", "markdown"} {
		out.Reset()
		_ = runAudit(ctx, &out, &errOut, auditFlags{config: cfgPath, repos: []string{"acme/widgets"}, output: format, failOn: []string{string(rules.ClassOrphaned)}})
		golden(t, "online."+map[string]string{"text": "txt", "markdown": "md"}[format], out.Bytes())
	}

	// A repository the app is not installed on is named; the others are
	// still audited.
	out.Reset()
	errOut.Reset()
	err = runAudit(ctx, &out, &errOut, auditFlags{config: cfgPath, repos: []string{"acme/widgets", "acme/missing"}, output: "json", failOn: []string{"none"}})
	if err == nil || !strings.Contains(errOut.String(), "acme/missing") || !strings.Contains(out.String(), `"branch": "release-1.0"`) {
		t.Errorf("err = %v, stderr %q; want acme/missing named and acme/widgets audited", err, errOut.String())
	}
}
