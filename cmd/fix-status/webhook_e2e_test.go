package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/serve"
)

// TestE2EVerdictSkip: a PR that touches no file a required job watches gets
// a passing "skipped" result from fix-status, as a status or as a check run
// (report_as), linking to the rule that decided.
func TestE2EVerdictSkip(t *testing.T) {
	t.Parallel()
	for _, reportAs := range []string{"status", "check_run"} {
		t.Run(reportAs, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, widgets{repoConfig: widgetsConfig + "report_as: " + reportAs + "\n"}.yaml(), harnessOptions{})
			mark := h.mark()
			n := h.openPR(t, "octocat", "docs/guide.md")
			ds := h.waitDecisions(t, mark, prName(n), "pull-unit")
			wantVerdicts(t, ds, map[string]string{"pull-unit": "skip: Skipped: no changed file matches run_if_changed ^pkg/"})
			p := h.pull(t, widgetsRepo, n)
			const desc = "Skipped: no changed file matches run_if_changed ^pkg/"
			if reportAs == "status" {
				st := latestStatus(p, "pull-unit")
				if st == nil || st.State != "success" || st.Creator != bot || st.Description != desc ||
					!strings.HasSuffix(st.TargetURL, "/acme/widgets/blob/"+p.BaseSHA+"/prow/jobs.yaml#L5") {
					t.Errorf("skip status: %+v", st)
				}
				if len(p.CheckRuns) != 0 {
					t.Errorf("check runs: %+v", p.CheckRuns)
				}
			} else {
				if len(p.CheckRuns) != 1 || p.CheckRuns[0].Name != "pull-unit" || p.CheckRuns[0].Status != "completed" ||
					p.CheckRuns[0].Conclusion != "skipped" || p.CheckRuns[0].Creator != bot || p.CheckRuns[0].Summary != desc {
					t.Errorf("skip check run: %+v", p.CheckRuns)
				}
				if len(p.Statuses) != 0 {
					t.Errorf("statuses: %+v", p.Statuses)
				}
			}
			if len(p.Comments) != 0 {
				t.Errorf("comments: %+v", p.Comments)
			}
		})
	}
}

// TestE2EVerdictReported: what the CI reported, passing (satisfied) or not
// (failing: for humans), fix-status leaves alone when it re-checks on the
// status and check run webhooks.
func TestE2EVerdictReported(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		verdict, status, conclusion string
		want                        map[string]string
	}{
		{"satisfied", "success", "neutral", map[string]string{
			"pull-unit": "satisfied: status reported success",
			"pull-lint": "satisfied: check run reported neutral",
		}},
		{"failing", "failure", "timed_out", map[string]string{
			"pull-unit": "failing: status reported failure",
			"pull-lint": "failing: check run reported timed_out",
		}},
	} {
		t.Run(tt.verdict, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, widgets{required: []string{"pull-unit", "pull-lint"}}.yaml(), harnessOptions{grace: time.Hour})
			mark := h.mark()
			n := h.openPR(t, "octocat", "pkg/a.go")
			h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint")
			sha := h.pull(t, widgetsRepo, n).HeadSHA
			mark = h.mark()
			h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: sha, Context: "pull-unit", State: tt.status, Creator: "prow"})
			h.event(t, fakegithub.Event{Type: "check_run.completed", Repo: widgetsRepo, SHA: sha, Name: "pull-lint", Conclusion: tt.conclusion, AppID: 4242})
			ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint")
			for ds["pull-lint"].Verdict != tt.verdict {
				// The status webhook's re-check may have run before the
				// check run was reported; the check run's own webhook
				// re-checks again.
				ds = h.waitDecisions(t, h.mark(), prName(n), "pull-lint")
			}
			wantVerdicts(t, ds, tt.want)
			if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 0 {
				t.Errorf("fix-status wrote: %q", w)
			}
		})
	}
}

// TestE2EVerdictWaiting: a job that reported pending, and a job that should
// run but is still inside the grace period, are waited for: nothing written.
func TestE2EVerdictWaiting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-lint"}}.yaml(), harnessOptions{grace: time.Hour, stale: 2 * time.Hour})
	mark := h.mark()
	n := h.openPR(t, "octocat", "pkg/a.go")
	ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "waiting: should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported; grace period ends in *",
		"pull-lint": "waiting: should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported; grace period ends in *",
	})
	mark = h.mark()
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: h.pull(t, widgetsRepo, n).HeadSHA, Context: "pull-unit",
		State: "pending", Creator: "prow", Description: "Job triggered."})
	ds = h.waitDecisions(t, mark, prName(n), "pull-unit")
	wantVerdicts(t, ds, map[string]string{"pull-unit": "waiting: status is pending"})
	if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 0 {
		t.Errorf("fix-status wrote: %q", w)
	}
}

// TestE2EVerdictRetrigger: a job that should have run and never reported is
// re-triggered after the grace period with its rerun command, in one
// comment that carries a marker per context.
func TestE2EVerdictRetrigger(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-lint"}}.yaml(), harnessOptions{})
	mark := h.mark()
	n := h.openPR(t, "octocat", "pkg/a.go")
	ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "retrigger: should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported",
		"pull-lint": "retrigger",
	})
	p := h.pull(t, widgetsRepo, n)
	if len(p.Comments) != 1 || p.Comments[0].User != bot {
		t.Fatalf("comments: %+v", p.Comments)
	}
	body := p.Comments[0].Body
	for _, want := range []string{"/test pull-unit\n", "/test pull-lint\n",
		`<!-- fix-status retrigger context="pull-unit" sha=` + p.HeadSHA + ` -->`,
		`<!-- fix-status retrigger context="pull-lint" sha=` + p.HeadSHA + ` -->`} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	if len(p.Statuses) != 0 {
		t.Errorf("statuses: %+v", p.Statuses)
	}
}

// TestE2EVerdictRevoke: fix-status skipped a job, then a push to the base
// branch changed the job's rule so that it runs for this PR: the push
// re-checks the branch's open PRs, the skip is set back to pending and the
// job is re-triggered.
func TestE2EVerdictRevoke(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{}.yaml(), harnessOptions{})
	mark := h.mark()
	n := h.openPR(t, "octocat", "docs/guide.md")
	ds := h.waitDecisions(t, mark, prName(n), "pull-unit")
	wantVerdicts(t, ds, map[string]string{"pull-unit": "skip"})

	mark = h.mark()
	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat",
		Contents: map[string]string{"prow/jobs.yaml": strings.Replace(widgetsJobs, "run_if_changed: '^pkg/'", "run_if_changed: '^(pkg|docs)/'", 1)}})
	ds = h.waitDecisions(t, mark, prName(n), "pull-unit")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "revoke: our earlier skip is wrong now: run_if_changed ^(pkg|docs)/ matches docs/guide.md",
	})
	p := h.pull(t, widgetsRepo, n)
	st := latestStatus(p, "pull-unit")
	if st == nil || st.State != "pending" || st.Creator != bot || !strings.HasPrefix(st.Description, "fix-status revoked its skip: ") {
		t.Errorf("revoked status: %+v", st)
	}
	if len(p.Comments) != 1 || !strings.HasPrefix(p.Comments[0].Body, "/test pull-unit\n") {
		t.Errorf("comments: %+v", p.Comments)
	}
}

// TestE2EVerdictBlocked: a manual job cannot be repaired: nothing written,
// the reason is in the decision.
func TestE2EVerdictBlocked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-manual"}}.yaml(), harnessOptions{})
	mark := h.mark()
	n := h.openPR(t, "octocat", "pkg/a.go")
	ds := h.waitDecisions(t, mark, prName(n), "pull-manual")
	wantVerdicts(t, ds, map[string]string{"pull-manual": "blocked: manual job, runs only when requested: /test pull-manual"})
	if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 0 {
		t.Errorf("fix-status wrote: %q", w)
	}
}

// changed makes a PR file list with content at the PR head.
func changed(files map[string]string) []fakegithub.File {
	var out []fakegithub.File
	for name, content := range files {
		c := content
		out = append(out, fakegithub.File{Filename: name, Status: "modified", Content: &c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Filename < out[j].Filename })
	return out
}

// TestE2EInvariant1RulesFromBase: a PR that changes the file defining a job
// is judged by the base branch's rules, and skipped only if its own version
// of the rules (read by the emulator's contents API at the PR head SHA) says
// the job would not run either.
func TestE2EInvariant1RulesFromBase(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-docs"}}.yaml(), harnessOptions{})
	widen := strings.Replace(widgetsJobs, "'^docs/'", "'^(docs|prow)/'", 1)
	drop := strings.Replace(widgetsJobs, "  - name: pull-docs\n    run_if_changed: '^docs/'\n", "", 1)
	harmless := widgetsJobs + "# a comment\n"
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"widens its own rule", map[string]string{"prow/jobs.yaml": widen},
			"blocked: this PR changes prow/jobs.yaml; with its changes: run_if_changed ^(docs|prow)/ matches prow/jobs.yaml"},
		{"removes its own job", map[string]string{"prow/jobs.yaml": drop},
			"blocked: this PR changes prow/jobs.yaml; with its changes: no job defines it"},
		{"breaks the rules", map[string]string{"prow/jobs.yaml": "presubmits: [\n"},
			"blocked: this PR changes prow/jobs.yaml and its rules cannot be read: *"},
		{"rewrites the repo config", map[string]string{".github/fix-status.yml": "version: 1\n"},
			"blocked: this PR changes .github/fix-status.yml; with its changes: no job defines it"},
		{"changes the rules harmlessly", map[string]string{"prow/jobs.yaml": harmless},
			"skip: Skipped: no changed file matches run_if_changed ^docs/"},
	}
	for _, c := range cases {
		mark := h.mark()
		n := h.event(t, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat", Title: c.name, Files: changed(c.files)}).Number
		ds := h.waitDecisions(t, mark, prName(n), "pull-docs")
		wantVerdicts(t, ds, map[string]string{"pull-docs": c.want})
		w := writesBy(h.pull(t, widgetsRepo, n), bot)
		if strings.HasPrefix(c.want, "skip") != (len(w) == 1) {
			t.Errorf("%s: fix-status wrote %q", c.name, w)
		}
	}
}

// manyFiles names n changed files under dir.
func manyFiles(dir string, n int) []fakegithub.File {
	out := make([]fakegithub.File, n)
	for i := range out {
		out[i] = fakegithub.File{Filename: fmt.Sprintf("%s/file-%05d.go", dir, i+1), Status: "added", Additions: 1}
	}
	return out
}

// TestE2EInvariant2IncompleteFileList: past 3,000 files GitHub's PR files
// API stops listing, and GitHub Actions evaluates path filters on the first
// 300 files only: then nothing is skipped.
func TestE2EInvariant2IncompleteFileList(t *testing.T) {
	t.Parallel()
	const workflow = `name: Docs
on:
  pull_request:
    paths: ['docs/**']
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make docs
`
	h := newHarness(t, widgets{
		required:   []string{"pull-docs", "build"},
		repoConfig: "version: 1\nsources: {prow: [prow], actions: true}\n",
		files:      map[string]string{".github/workflows/docs.yml": workflow},
	}.yaml(), harnessOptions{})
	cases := []struct {
		files int
		want  map[string]string
	}{
		{3001, map[string]string{
			"pull-docs": "blocked: cannot tell if it runs: the changed-file list is incomplete (3000 files listed)",
			"build":     "blocked: cannot tell if it runs: 3000 changed files; GitHub Actions evaluates only the first 300"}},
		{301, map[string]string{
			"pull-docs": "skip: Skipped: no changed file matches run_if_changed ^docs/",
			"build":     "blocked: cannot tell if it runs: 301 changed files; GitHub Actions evaluates only the first 300"}},
		{300, map[string]string{
			"pull-docs": "skip",
			"build":     "skip: Skipped: no changed file matches paths [docs/**]"}},
	}
	for _, c := range cases {
		mark := h.mark()
		n := h.event(t, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat",
			Title: fmt.Sprintf("%d files", c.files), Files: manyFiles("gen", c.files)}).Number
		ds := h.waitDecisions(t, mark, prName(n), "pull-docs", "build")
		wantVerdicts(t, ds, c.want)
		p := h.pull(t, widgetsRepo, n)
		for ctx, w := range c.want {
			st := latestStatus(p, ctx)
			if strings.HasPrefix(w, "skip") != (st != nil && st.State == "success" && st.Creator == bot) {
				t.Errorf("%d files, %s: status %+v", c.files, ctx, st)
			}
		}
		if len(p.Comments) != 0 || len(p.CheckRuns) != 0 {
			t.Errorf("%d files: fix-status wrote %q", c.files, writesBy(p, bot))
		}
	}
}

// TestE2EInvariant3PinnedCheck: a required check pinned to another app
// cannot be satisfied by fix-status; one pinned to fix-status itself can.
func TestE2EInvariant3PinnedCheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit"}, rules: `- type: required_status_checks
  parameters:
    required_status_checks:
      - {context: pull-docs, integration_id: 4242}
      - {context: pull-lint, integration_id: 1}
`}.yaml(), harnessOptions{})
	mark := h.mark()
	n := h.openPR(t, "octocat", "README.md")
	ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-docs", "pull-lint")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "skip",
		"pull-docs": "blocked: would not run (no changed file matches run_if_changed ^docs/), but the check is pinned to app 4242",
		"pull-lint": "skip: Skipped: no changed file matches run_if_changed ^pkg/",
	})
	p := h.pull(t, widgetsRepo, n)
	if st := latestStatus(p, "pull-docs"); st != nil {
		t.Errorf("fix-status reported the pinned check: %+v", st)
	}
	for _, ctx := range []string{"pull-unit", "pull-lint"} {
		if st := latestStatus(p, ctx); st == nil || st.State != "success" || st.Creator != bot {
			t.Errorf("%s: %+v", ctx, st)
		}
	}
}

// TestE2EInvariant4NeverBesideOthers: a context someone else reported (as a
// status or a check run) is never written beside, even when its job would
// not run for this PR.
func TestE2EInvariant4NeverBesideOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-lint", "pull-docs"}, pulls: `- number: 1
  title: Update the README
  user: octocat
  base: main
  files: [{filename: README.md, status: modified}]
  statuses:
    - {context: pull-unit, state: pending, creator: prow, description: Job triggered.}
    - {context: pull-docs, state: error, creator: prow, description: Pod was evicted.}
  check_runs:
    - {name: pull-lint, status: in_progress, app_id: 4242}
`}.yaml(), harnessOptions{})
	sha := h.pull(t, widgetsRepo, 1).HeadSHA
	mark := h.mark()
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: sha, Context: "ci/other", State: "success", Creator: "jenkins"})
	ds := h.waitDecisions(t, mark, prName(1), "pull-unit", "pull-lint", "pull-docs")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "waiting: status is pending",
		"pull-lint": "waiting: check run is in_progress",
		"pull-docs": "failing: status reported error",
	})
	if w := writesBy(h.pull(t, widgetsRepo, 1), bot); len(w) != 0 {
		t.Errorf("fix-status wrote beside others' results: %q", w)
	}
}

// TestE2EInvariant5UnknownContext: a required context no known job defines
// is never skipped.
func TestE2EInvariant5UnknownContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"mystery", "pull-unit"}}.yaml(), harnessOptions{})
	mark := h.mark()
	n := h.openPR(t, "octocat", "README.md")
	ds := h.waitDecisions(t, mark, prName(n), "mystery", "pull-unit")
	wantVerdicts(t, ds, map[string]string{"mystery": "blocked: no job defines it", "pull-unit": "skip"})
	if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 1 || !strings.HasPrefix(w[0], "status pull-unit success") {
		t.Errorf("fix-status wrote: %q", w)
	}
}

// TestE2EInvariant6Errors: when the rules cannot be read (bad regex, bad
// YAML, an unknown key, an API error), nothing is written for the required
// contexts and the error reaches people as fix-status's own "fix-status"
// status, naming the file and the problem; once the rules read fine again
// that status turns to success and the repairs are made.
func TestE2EInvariant6Errors(t *testing.T) {
	t.Parallel()
	fixedJobs := map[string]string{"prow/jobs.yaml": widgetsJobs}
	fixedConfig := map[string]string{".github/fix-status.yml": widgetsConfig}
	cases := []struct {
		name    string
		w       widgets
		fault   *fakegithub.Fault
		want    string // prefix of the fix-status status description
		fix     map[string]string
		trigger bool // after the fault passed, any event re-checks
	}{
		{name: "bad regex", w: widgets{repoConfig: widgetsConfig + "contexts:\n  - {context: ci/docs, run_if_changed: '^docs/('}\n"},
			want: `cannot read the job rules: .github/fix-status.yml: line 4: contexts[0] (ci/docs): invalid run_if_changed regex "^docs/("`, fix: fixedConfig},
		{name: "bad Prow YAML", w: widgets{jobs: "presubmits:\n  acme/widgets: [\n"},
			want: "cannot read the job rules: prow/jobs.yaml", fix: fixedJobs},
		{name: "unknown key in the repo config", w: widgets{repoConfig: "version: 1\nsorces: {prow: [prow]}\n"},
			want: "cannot read the job rules: acme/widgets@main:.github/fix-status.yml: ", fix: fixedConfig},
		{name: "repo config is not YAML", w: widgets{repoConfig: "version: [1\n"},
			want: "cannot read the job rules: ", fix: fixedConfig},
		{name: "API error", fault: &fakegithub.Fault{Route: "GET /repos/{owner}/{repo}/contents/{path}", Status: 502, Count: 1},
			want: "cannot read the job rules: ", trigger: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.w.required = []string{"pull-unit", "pull-docs"}
			h := newHarness(t, c.w.yaml(), harnessOptions{})
			if c.fault != nil {
				h.gh.Fault(*c.fault)
			}
			mark := h.mark()
			n := h.openPR(t, "octocat", "README.md")
			ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-docs")
			for ctx, d := range ds {
				if d.Verdict != "blocked" || !strings.HasPrefix(d.Reason, "cannot read the job rules: ") {
					t.Errorf("%s: %s: %s", ctx, d.Verdict, d.Reason)
				}
			}
			p := h.pull(t, widgetsRepo, n)
			st := latestStatus(p, plan.RulesStatusContext)
			if st == nil || st.State != "error" || st.Creator != bot || !strings.HasPrefix(st.Description, c.want) {
				t.Fatalf("fix-status status: %+v, want a description starting %q", st, c.want)
			}
			if w := writesBy(p, bot); len(w) != 1 {
				t.Errorf("fix-status wrote: %q", w)
			}
			// The whole error is logged (the status is cut at 140
			// characters): for an API error, with GitHub's answer.
			o := h.waitOutcome(t, mark, "the rules error", func(o serve.Outcome) bool { return o.Report != nil && o.Report.RulesErr != nil })
			if o.PR.String() != prName(n) || (c.fault != nil && !strings.Contains(o.Report.RulesErr.Error(), "502")) {
				t.Errorf("rules error of %s: %v", o.PR, o.Report.RulesErr)
			}
			if c.fault == nil {
				// /fix-status answers with the same reason.
				h.comment(t, n, "octocat", "/fix-status")
				reply := h.waitReply(t, n, "octocat", 1)
				if !strings.Contains(reply, "| `pull-unit` | blocked | cannot read the job rules: ") || !strings.Contains(reply, "| none |") {
					t.Errorf("reply:\n%s", reply)
				}
				if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 2 {
					t.Errorf("fix-status wrote: %q", w)
				}
			}

			mark = h.mark()
			if c.trigger {
				h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: p.HeadSHA, Context: "ci/other", State: "success", Creator: "jenkins"})
			} else {
				h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat", Contents: c.fix})
			}
			ds = h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-docs")
			wantVerdicts(t, ds, map[string]string{"pull-unit": "skip", "pull-docs": "skip"})
			p = h.pull(t, widgetsRepo, n)
			if st := latestStatus(p, plan.RulesStatusContext); st == nil || st.State != "success" || st.Description != "job rules read fine" {
				t.Errorf("fix-status status after the fix: %+v", st)
			}
		})
	}
}

// TestE2EFixStatusCommand: /fix-status reacts, re-checks the PR now,
// repairs it and replies with a Markdown table; a second /fix-status within
// a minute only gets a "confused" reaction.
func TestE2EFixStatusCommand(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-docs"}, pulls: presetPulls}.yaml(), harnessOptions{})
	id := h.comment(t, 1, "octocat", "Looks stuck.\n/fix-status\n")
	reply := h.waitReply(t, 1, "octocat", 1)
	p := h.pull(t, widgetsRepo, 1)
	short := p.HeadSHA[:7]
	want := "@octocat fix-status checked the required contexts of " + short + ":\n\n" +
		"| Context | Verdict | Reason | Action |\n|---|---|---|---|\n" +
		"| `pull-unit` | skip | Skipped: no changed file matches run_if_changed ^pkg/ | set status success |\n" +
		"| `pull-docs` | retrigger | should run (run_if_changed ^docs/ matches docs/guide.md) and has not reported | comment /test pull-docs |\n" +
		"\n1 skip, 1 retrigger; 2 write(s).\n"
	if reply != want {
		t.Errorf("reply:\n%s\nwant:\n%s", reply, want)
	}
	if r := reactions(p, id); len(r) != 1 || r[0] != bot+":eyes" {
		t.Errorf("reactions: %v", r)
	}
	if st := latestStatus(p, "pull-unit"); st == nil || st.State != "success" || st.Creator != bot {
		t.Errorf("skip status: %+v", st)
	}
	if countComments(p, bot) != 2 || !strings.HasPrefix(writesBy(p, bot)[1], "comment /test pull-docs") {
		t.Errorf("fix-status wrote: %q", writesBy(p, bot))
	}

	// Again within the minute: a "confused" reaction and a reply that says
	// when it can run again, no check; a third gets the reaction only.
	before := h.gh.Stats().Writes.Total
	id2 := h.comment(t, 1, "octocat", "/fix-status")
	tooSoon := h.waitReply(t, 1, "octocat", 2)
	if !strings.HasPrefix(tooSoon, "@octocat fix-status checked this pull request less than a minute ago, and runs /fix-status at most once a minute per pull request") {
		t.Errorf("reply to a command too soon: %q", tooSoon)
	}
	id3 := h.comment(t, 1, "octocat", "/fix-status")
	h.waitState(t, "a confused reaction", func(st *fakegithub.State) bool {
		return len(reactions(pull(st, widgetsRepo, 1), id3)) == 1
	})
	h.settle(t)
	p = h.pull(t, widgetsRepo, 1)
	if r := reactions(p, id2); len(r) != 1 || r[0] != bot+":confused" {
		t.Errorf("reactions: %v", r)
	}
	if got := h.gh.Stats().Writes.Total - before; got != 3 || countComments(p, bot) != 3 {
		t.Errorf("two refused /fix-status made %d writes, want 3 (two reactions, one reply); fix-status comments: %d", got, countComments(p, bot))
	}

	// Only a line that is the command alone runs it.
	mark := h.mark()
	h.comment(t, 2, "octocat", "please run `/fix-status` later")
	h.comment(t, 2, "octocat", "/fix-status")
	h.waitReply(t, 2, "octocat", 1)
	h.waitOutcome(t, mark, "the check of #2", func(o serve.Outcome) bool { return o.PR.String() == prName(2) })
	h.settle(t)
	if n := countChecks(h.outcomes(mark), prName(2)); n != 1 {
		t.Errorf("want one check of #2, got %d", n)
	}
}

// TestE2EFixStatusCommandPolicy: with commands.fix_status: collaborators,
// only collaborators may run /fix-status; re-running CI needs write
// permission whatever the policy.
func TestE2EFixStatusCommandPolicy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-docs"}, pulls: presetPulls,
		repoConfig: widgetsConfig + "commands: {fix_status: collaborators}\n"}.yaml(), harnessOptions{})

	h.comment(t, 1, "stranger", "/fix-status")
	if got, want := h.waitReply(t, 1, "stranger", 1), "@stranger fix-status did not check this pull request: only collaborators may run /fix-status on acme/widgets.\n"; got != want {
		t.Errorf("reply to a stranger: %q, want %q", got, want)
	}
	if w := writesBy(h.pull(t, widgetsRepo, 1), bot); len(w) != 1 {
		t.Errorf("fix-status wrote for a stranger: %q", w)
	}

	h.comment(t, 2, "reader", "/fix-status")
	reply := h.waitReply(t, 2, "reader", 1)
	if !strings.Contains(reply, "| `pull-docs` | retrigger | should run (run_if_changed ^docs/ matches docs/guide.md) and has not reported; re-running CI needs write permission | none: needs write permission |") ||
		!strings.Contains(reply, "| `pull-unit` | skip |") ||
		!strings.Contains(reply, "Re-running CI needs write permission on acme/widgets, which @reader does not have: someone with write access") {
		t.Errorf("reply to a reader:\n%s", reply)
	}
	p := h.pull(t, widgetsRepo, 2)
	if w := writesBy(p, bot); len(w) != 2 || !strings.HasPrefix(w[0], "status pull-unit success") {
		t.Errorf("fix-status wrote for a reader: %q", w)
	}

	h.comment(t, 3, "octocat", "/fix-status")
	if reply := h.waitReply(t, 3, "octocat", 1); !strings.Contains(reply, "| comment /test pull-docs |") {
		t.Errorf("reply to a writer:\n%s", reply)
	}
}

// hello is the scenario of GitHub's example payloads: Codertocat/Hello-World
// with PR #2 (head ec26c3e5 "changes" → master f95f852b, README.md changed)
// in installation 1, as the payloads say; Codertocat/Space is not installed.
const hello = `
app: {id: 1, slug: fix-status, webhook_secret: s3cret}
apps:
  - {id: 29310, slug: octocoders-linter}
installations:
  - {id: 1, account: Codertocat, repos: [Codertocat/Hello-World]}
repos:
  - name: Codertocat/Hello-World
    default_branch: master
    files:
      master:
        README.md: "# Hello-World\n"
        .github/fix-status.yml: |
          version: 1
          contexts:
            - {context: ci/docs, run_if_changed: '^docs/'}
            - {context: ci/build, paths: ['src/**']}
    branches:
      master:
        sha: f95f852bd8fca8fcc58a9a2d6c842781e32a215e
        protection:
          required_status_checks: {strict: false, contexts: [ci/docs]}
    pulls:
      - number: 2
        title: Update the README with new information.
        user: Codertocat
        base: master
        head: changes
        head_sha: ec26c3e57ca3a959ca5aad62de7213c562f8c821
        files: [{filename: README.md, status: modified}]
  - name: Codertocat/Space
    default_branch: master
    files:
      master:
        .github/fix-status.yml: |
          version: 1
          contexts:
            - {context: ci/docs, run_if_changed: '^docs/'}
    branches:
      master:
        protection:
          required_status_checks: {strict: false, contexts: [ci/docs]}
    pulls:
      - {number: 1, title: Launch, user: Codertocat, base: master, files: [{filename: main.go, status: added}]}
`

const (
	helloRepo = "Codertocat/Hello-World"
	helloPR   = "Codertocat/Hello-World#2"
	helloHead = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
)

// helloRepository is the repository object of GitHub's own payloads.
func helloRepository(t testing.TB) any {
	var m map[string]any
	if err := json.Unmarshal(fixture(t, "pull_request/opened.json", nil), &m); err != nil {
		t.Fatal(err)
	}
	return m["repository"]
}

// TestE2EGitHubPayloads delivers GitHub's own example payloads (adapted to
// the scenario where the scenario and the examples must agree), signed with
// X-Hub-Signature-256, and checks what fix-status did on the PR. The
// emulator's state is changed first, without its webhook, to what the
// example describes.
func TestE2EGitHubPayloads(t *testing.T) {
	t.Parallel()
	h := newHarness(t, hello, harnessOptions{})
	inst := map[string]any{"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}

	// pull_request.opened, as GitHub sent it (it names installation 1, PR
	// #2 and its head, which the scenario copies).
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "webhooks-e2e", "pull_request", "opened.json"))
	if err != nil {
		t.Fatal(err)
	}
	mark := h.mark()
	h.postSigned(t, "pull_request", raw)
	ds := h.waitDecisions(t, mark, helloPR, "ci/docs")
	wantVerdicts(t, ds, map[string]string{"ci/docs": "skip: Skipped: no changed file matches run_if_changed ^docs/"})
	if d := ds["ci/docs"]; d.Trigger != "pull_request.opened" {
		t.Errorf("trigger: %q", d.Trigger)
	}
	p := h.pull(t, helloRepo, 2)
	if st := latestStatus(p, "ci/docs"); st == nil || st.State != "success" || st.Creator != bot {
		t.Fatalf("ci/docs: %+v", st)
	}

	// issue_comment.created: the example comments on issue #1; here the
	// comment is /fix-status on PR #2.
	id := h.quietly(t, fakegithub.Event{Type: "issue_comment.created", Repo: helloRepo, Number: 2, User: "Codertocat", Body: "/fix-status"}).CommentID
	h.postSigned(t, "issue_comment", fixture(t, "issue_comment/created.json", map[string]any{
		"installation": inst, "issue.number": 2, "comment.id": id, "comment.body": "/fix-status",
		"issue.pull_request": map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"},
	}))
	st := h.waitState(t, "the /fix-status reply", func(st *fakegithub.State) bool {
		return countComments(pull(st, helloRepo, 2), bot) == 1
	})
	p = pull(st, helloRepo, 2)
	reply := writesBy(p, bot)[1]
	if want := "comment @Codertocat fix-status checked the required contexts of ec26c3e:"; reply != want {
		t.Errorf("reply: %q, want %q", reply, want)
	}
	if body := p.Comments[len(p.Comments)-1].Body; !strings.Contains(body, "| `ci/docs` | satisfied | already skipped by fix-status: no changed file matches run_if_changed ^docs/ | none |") {
		t.Errorf("reply:\n%s", body)
	}
	if r := reactions(p, id); len(r) != 1 || r[0] != bot+":eyes" {
		t.Errorf("reactions: %v", r)
	}

	// branch_protection_rule.edited: the example edits octo-org/octo-repo;
	// here master of Hello-World now requires ci/build too.
	h.quietly(t, fakegithub.Event{Type: "branch_protection_rule.edited", Repo: helloRepo, Branch: "master",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: []string{"ci/docs", "ci/build"}}}})
	mark = h.mark()
	h.postSigned(t, "branch_protection_rule", fixture(t, "branch_protection_rule/edited.json", map[string]any{
		"installation": inst, "repository": helloRepository(t), "rule.name": "master", "rule.required_status_checks": []string{"ci/docs", "ci/build"},
	}))
	ds = h.waitDecisions(t, mark, helloPR, "ci/docs", "ci/build")
	wantVerdicts(t, ds, map[string]string{"ci/docs": "satisfied", "ci/build": "skip: Skipped: no changed file matches paths [src/**]"})

	// push: the example deletes a tag; here it changes the repo config on
	// master so that ci/docs runs for README.md: the skip is revoked.
	newConfig := "version: 1\ncontexts:\n  - {context: ci/docs, run_if_changed: '^(docs/|README)'}\n  - {context: ci/build, paths: ['src/**']}\n"
	sha := h.quietly(t, fakegithub.Event{Type: "push", Repo: helloRepo, Branch: "master", User: "Codertocat",
		Contents: map[string]string{".github/fix-status.yml": newConfig}}).SHA
	commit := map[string]any{"id": sha, "message": "Run ci/docs for the README", "timestamp": "2019-05-15T15:20:30Z", "distinct": true,
		"added": []string{}, "removed": []string{}, "modified": []string{".github/fix-status.yml"},
		"author": map[string]any{"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com", "username": "Codertocat"}}
	mark = h.mark()
	h.postSigned(t, "push", fixture(t, "push/event.json", map[string]any{
		"installation": inst, "ref": "refs/heads/master", "before": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "after": sha,
		"deleted": false, "commits": []any{commit}, "head_commit": commit,
	}))
	ds = h.waitDecisions(t, mark, helloPR, "ci/docs")
	wantVerdicts(t, ds, map[string]string{"ci/docs": "revoke: our earlier skip is wrong now: run_if_changed ^(docs/|README) matches README.md"})
	if st := latestStatus(h.pull(t, helloRepo, 2), "ci/docs"); st == nil || st.State != "pending" || st.Creator != bot {
		t.Errorf("revoked ci/docs: %+v", st)
	}

	// status: the example reports "default" on the initial commit; here the
	// CI reports ci/docs success on the PR head.
	h.quietly(t, fakegithub.Event{Type: "status", Repo: helloRepo, SHA: helloHead, Context: "ci/docs", State: "success", Creator: "Codertocat"})
	mark = h.mark()
	h.postSigned(t, "status", fixture(t, "status/event.with-installation.json", map[string]any{
		"installation": inst, "sha": helloHead, "commit.sha": helloHead, "context": "ci/docs", "state": "success",
	}))
	ds = h.waitDecisions(t, mark, helloPR, "ci/docs")
	wantVerdicts(t, ds, map[string]string{"ci/docs": "satisfied: status reported success"})

	// check_run.completed: the example's run is on the PR head already.
	mark = h.mark()
	h.postSigned(t, "check_run", fixture(t, "check_run/completed.json", map[string]any{"installation": inst}))
	ds = h.waitDecisions(t, mark, helloPR, "ci/docs", "ci/build")
	if ds["ci/docs"].Trigger != "check_run.completed" {
		t.Errorf("trigger: %+v", ds["ci/docs"])
	}

	// installation_repositories.added: Codertocat/Space joins installation 1.
	h.quietly(t, fakegithub.Event{Type: "installation_repositories.added", InstallationID: 1, Repos: []string{"Codertocat/Space"}})
	mark = h.mark()
	h.postSigned(t, "installation_repositories", fixture(t, "installation_repositories/added.json", map[string]any{"installation.id": 1}))
	ds = h.waitDecisions(t, mark, "Codertocat/Space#1", "ci/docs")
	wantVerdicts(t, ds, map[string]string{"ci/docs": "skip"})
	if st := latestStatus(h.pull(t, "Codertocat/Space", 1), "ci/docs"); st == nil || st.State != "success" || st.Creator != bot {
		t.Errorf("Space#1 ci/docs: %+v", st)
	}
	if w := writesBy(h.pull(t, helloRepo, 2), bot); len(w) != 4 {
		t.Errorf("fix-status wrote on Hello-World#2: %q", w)
	}
}

// TestE2EInvariant7Idempotent: checking an unchanged PR again writes
// nothing, whatever triggers the check (another CI's status, a redelivery
// of the same webhook).
func TestE2EInvariant7Idempotent(t *testing.T) {
	t.Parallel()
	created := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-docs"}, pulls: `- number: 1
  title: Docs
  user: octocat
  base: main
  created_at: ` + created + `
  files: [{filename: docs/guide.md, status: modified}]
`}.yaml(), harnessOptions{grace: 10 * time.Minute})
	sha := h.pull(t, widgetsRepo, 1).HeadSHA
	mark := h.mark()
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: sha, Context: "ci/other", State: "success", Creator: "jenkins"})
	ds := h.waitDecisions(t, mark, prName(1), "pull-unit", "pull-docs")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "skip",
		"pull-docs": "retrigger: should run (run_if_changed ^docs/ matches docs/guide.md) and has not reported",
	})
	first := writesBy(h.pull(t, widgetsRepo, 1), bot)
	if len(first) != 2 {
		t.Fatalf("first check wrote %q", first)
	}
	delivery := h.gh.Deliveries()
	last := delivery[len(delivery)-1]

	writes := h.gh.Stats().Writes.Total
	mark = h.mark()
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: sha, Context: "ci/other", State: "success", Creator: "jenkins"})
	ds = h.waitDecisions(t, mark, prName(1), "pull-unit", "pull-docs")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "satisfied: already skipped by fix-status: no changed file matches run_if_changed ^pkg/",
		"pull-docs": "waiting: should run (run_if_changed ^docs/ matches docs/guide.md) and has not reported; grace period ends in *",
	})

	mark = h.mark()
	h.postSigned(t, last.Event, last.Payload) // GitHub's redelivery
	h.waitDecisions(t, mark, prName(1), "pull-unit", "pull-docs")
	if got := h.gh.Stats().Writes.Total - writes; got != 0 {
		t.Errorf("checking the unchanged PR again made %d writes", got)
	}
	if again := writesBy(h.pull(t, widgetsRepo, 1), bot); len(again) != len(first) {
		t.Errorf("fix-status wrote again: %q", again[len(first):])
	}
}

// TestE2EInvariant8Signatures: a webhook with a forged, missing or stale
// signature is rejected with 400 and causes nothing; the same payload
// correctly signed is handled. Events caused by fix-status itself (its own
// statuses, check runs and comments, as GitHub sends them) are ignored.
func TestE2EInvariant8Signatures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, hello, harnessOptions{apiWriteHooks: true})
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "webhooks-e2e", "pull_request", "opened.json"))
	if err != nil {
		t.Fatal(err)
	}
	secret := h.gh.WebhookSecret()
	tampered := bytes.Replace(body, []byte(`"changed_files": 1`), []byte(`"changed_files": 0`), 1)
	for _, c := range []struct {
		name string
		body []byte
		sig  string
	}{
		{"forged", body, fakegithub.SignPayload("not-the-secret", body)},
		{"missing", body, ""},
		{"body changed after signing", tampered, fakegithub.SignPayload(secret, body)},
		{"not hex", body, "sha256=zz"},
		// go-github alone would accept GitHub's older SHA-1 signature.
		{"SHA-1 only", body, "sha1=" + hmacSHA1(secret, body)},
	} {
		if code, msg := h.post(t, "pull_request", c.body, c.sig); code != http.StatusBadRequest {
			t.Errorf("%s signature: answered %d %q, want 400", c.name, code, msg)
		}
	}
	st := h.gh.Stats()
	if st.RateLimitUsed["1"] != 0 || st.Writes.Total != 0 || h.metric(t, `fix_status_webhook_events_total{event="pull_request.opened"}`) != 0 {
		t.Fatalf("rejected webhooks caused work: %d requests charged, %d writes", st.RateLimitUsed["1"], st.Writes.Total)
	}

	mark := h.mark()
	h.postSigned(t, "pull_request", body)
	h.waitDecisions(t, mark, helloPR, "ci/docs")
	if w := writesBy(h.pull(t, helloRepo, 2), bot); len(w) != 1 {
		t.Fatalf("fix-status wrote %q", w)
	}
	// From here on, only the other CI's status below may cause a check.
	mark = h.mark()

	// The emulator sends the status webhook of fix-status's own skip (in
	// the background: wait for it by the events counter); send its own
	// status, check run and /fix-status comment too.
	h.waitMetric(t, `fix_status_webhook_events_total{event="status"}`, 1)
	inst := map[string]any{"id": 1}
	h.postSigned(t, "check_run", fixture(t, "check_run/completed.json", map[string]any{"installation": inst, "check_run.app.id": 1,
		"check_run.app.slug": "fix-status", "sender.login": bot, "sender.type": "Bot"}))
	id := h.quietly(t, fakegithub.Event{Type: "issue_comment.created", Repo: helloRepo, Number: 2, User: bot, Body: "/fix-status"}).CommentID
	h.postSigned(t, "issue_comment", fixture(t, "issue_comment/created.json", map[string]any{
		"installation": inst, "issue.number": 2, "comment.id": id, "comment.body": "/fix-status",
		"comment.user.login": bot, "comment.user.type": "Bot", "sender.login": bot, "sender.type": "Bot",
		"issue.pull_request": map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"},
	}))
	h.postSigned(t, "status", fixture(t, "status/event.with-installation.json", map[string]any{"installation": inst,
		"sha": helloHead, "commit.sha": helloHead, "context": "ci/docs", "sender.login": bot, "sender.type": "Bot"}))
	h.waitMetric(t, `fix_status_webhook_events_total{event="status"}`, 2)
	h.waitMetric(t, `fix_status_webhook_events_total{event="check_run.completed"}`, 1)
	h.waitMetric(t, `fix_status_webhook_events_total{event="issue_comment.created"}`, 1)
	h.settle(t)
	// A person's /fix-status now: its check is the only one since mark.
	h.event(t, fakegithub.Event{Type: "issue_comment.created", Repo: helloRepo, Number: 2, User: "Codertocat", Body: "/fix-status"})
	h.waitState(t, "the reply to Codertocat", func(st *fakegithub.State) bool {
		for _, c := range pull(st, helloRepo, 2).Comments {
			if c.User == bot && strings.HasPrefix(c.Body, "@Codertocat ") {
				return true
			}
		}
		return false
	})
	// The reply's own webhook, after the two comments above.
	h.waitMetric(t, `fix_status_webhook_events_total{event="issue_comment.created"}`, 3)
	h.settle(t)
	for _, o := range h.outcomes(mark) {
		if o.Trigger != "comment" {
			t.Errorf("fix-status checked %s again after its own events (%s)", o.PR, o.Trigger)
		}
	}
	// Its writes: the skip, the /fix-status comment made in its name and
	// the reply to Codertocat.
	p := h.pull(t, helloRepo, 2)
	if w := writesBy(p, bot); len(w) != 3 || len(reactions(p, id)) != 0 {
		t.Errorf("fix-status reacted to its own events: wrote %q, reactions %v", w, reactions(p, id))
	}
}

// TestE2EMalformedPayload: a signed payload that is not JSON, or lacks what
// the event needs, is answered 400 with what is wrong, without crashing
// anything or calling GitHub, and the next webhook is handled.
func TestE2EMalformedPayload(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{}.yaml(), harnessOptions{})
	for _, c := range []struct{ event, body string }{
		{"pull_request", `{"action": "opened", "number": 1, "pull_request": {`},
		{"pull_request", `{"action": "opened", "number": "one"}`},
		{"pull_request", `{"action": "opened", "number": 9}`},
		{"issue_comment", `{"action": "created", "issue": {"number": 9, "pull_request": {}}, "comment": {"body": "/fix-status"}}`},
		{"push", `[]`},
		{"repository_ruleset", `{"action": "edited", "repository": "acme/widgets"}`},
		{"installation_repositories", `{"action": "added", "repositories_added": [{"full_name": "acme/widgets"}]}`},
	} {
		body := []byte(c.body)
		if code, msg := h.post(t, c.event, body, fakegithub.SignPayload(h.gh.WebhookSecret(), body)); code != http.StatusBadRequest {
			t.Errorf("%s %s: answered %d %q, want 400", c.event, c.body, code, msg)
		}
	}
	for _, want := range []string{"failed to parse pull_request event payload", "failed to parse push event payload", "failed to parse repository_ruleset event payload",
		"pull_request event without", "issue_comment event without", "installation_repositories event without"} {
		h.waitHandlerError(t, want)
	}
	if st := h.gh.Stats(); st.RateLimitUsed["7"] != 0 {
		t.Errorf("malformed payloads cost %d requests: %v", st.RateLimitUsed["7"], st.ByRoute)
	}
	resp, err := http.Get(h.srv.URL() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health after malformed payloads: %v %v", resp, err)
	}
	resp.Body.Close()
	mark := h.mark()
	n := h.openPR(t, "octocat", "docs/a.md")
	wantVerdicts(t, h.waitDecisions(t, mark, prName(n), "pull-unit"), map[string]string{"pull-unit": "skip"})
}

// TestE2EInvariant6APIErrorReachesPeople: a failed read of the PR itself
// writes nothing; the error is logged for a webhook, and replied for a
// /fix-status.
func TestE2EInvariant6APIErrorReachesPeople(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-docs"}, pulls: presetPulls}.yaml(), harnessOptions{})
	files := "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"

	h.gh.Fault(fakegithub.Fault{Route: files, Status: http.StatusBadGateway, Count: 1})
	mark := h.mark()
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: h.pull(t, widgetsRepo, 1).HeadSHA, Context: "ci/other", State: "success", Creator: "jenkins"})
	o := h.waitOutcome(t, mark, "the failed reconcile", func(o serve.Outcome) bool { return o.Err != nil })
	if o.Retry == 0 || o.PR.String() != prName(1) || !strings.Contains(o.Err.Error(), "failed to list files of acme/widgets#1") || !strings.Contains(o.Err.Error(), "502") {
		t.Errorf("outcome: %+v", o)
	}
	// The failed check wrote nothing; its retry (the fault is gone) checks
	// the PR without another event.
	h.waitDecisions(t, mark, prName(1), "pull-unit", "pull-docs")

	h.gh.Fault(fakegithub.Fault{Route: files, Status: http.StatusBadGateway, Count: 1})
	h.comment(t, 2, "octocat", "/fix-status")
	reply := h.waitReply(t, 2, "octocat", 1)
	if !strings.HasPrefix(reply, "@octocat fix-status could not check this pull request: failed to list files of acme/widgets#2: GET ") || !strings.Contains(reply, "502") {
		t.Errorf("reply: %q", reply)
	}
	if w := writesBy(h.pull(t, widgetsRepo, 2), bot); len(w) != 1 {
		t.Errorf("fix-status wrote more than its reply: %q", w)
	}
}

// TestE2ERequirementsChanged: when classic protection or a ruleset changes
// what a branch requires, its open PRs are re-checked at once (the cached
// requirements are dropped).
func TestE2ERequirementsChanged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit"}, pulls: presetPulls}.yaml(), harnessOptions{grace: time.Hour})
	mark := h.mark()
	h.comment(t, 1, "octocat", "/fix-status")
	wantVerdicts(t, h.waitDecisions(t, mark, prName(1), "pull-unit"), map[string]string{"pull-unit": "skip"})

	mark = h.mark()
	h.event(t, fakegithub.Event{Type: "branch_protection_rule.edited", Repo: widgetsRepo, Branch: "main",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: []string{"pull-unit", "pull-lint"}}}})
	for _, n := range []int{1, 2, 3} {
		ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint")
		wantVerdicts(t, ds, map[string]string{"pull-lint": "skip: Skipped: no changed file matches run_if_changed ^pkg/"})
		if st := latestStatus(h.pull(t, widgetsRepo, n), "pull-lint"); st == nil || st.State != "success" || st.Creator != bot {
			t.Errorf("#%d pull-lint: %+v", n, st)
		}
	}

	mark = h.mark()
	h.event(t, fakegithub.Event{Type: "repository_ruleset.created", Repo: widgetsRepo, Branch: "main", Rules: []fakegithub.ScenarioRule{{
		Type: "required_status_checks", Parameters: map[string]any{"required_status_checks": []any{map[string]any{"context": "pull-docs"}}}}}})
	for _, n := range []int{1, 2, 3} {
		ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint", "pull-docs")
		wantVerdicts(t, ds, map[string]string{"pull-docs": "waiting: should run (run_if_changed ^docs/ matches docs/guide.md) and has not reported; grace period ends in *"})
		if ds["pull-docs"].Trigger != "requirements_changed" {
			t.Errorf("#%d: trigger %q", n, ds["pull-docs"].Trigger)
		}
	}
}

// TestE2EInstallations: repositories added to an installation, and a new
// installation, have their open PRs checked.
func TestE2EInstallations(t *testing.T) {
	t.Parallel()
	other := func(name string) string {
		return `  - name: ` + name + `
    default_branch: main
    files:
      main:
        .github/fix-status.yml: |
          version: 1
          contexts:
            - {context: ci/docs, run_if_changed: '^docs/'}
    branches:
      main:
        protection:
          required_status_checks: {strict: false, contexts: [ci/docs]}
    pulls:
      - {number: 4, title: Code, user: octocat, base: main, files: [{filename: main.go, status: modified}]}
`
	}
	h := newHarness(t, widgets{extra: other("acme/gadgets") + other("umbrella/corp")}.yaml(), harnessOptions{})
	mark := h.mark()
	h.event(t, fakegithub.Event{Type: "installation_repositories.added", InstallationID: 7, Repos: []string{"acme/gadgets"}})
	wantVerdicts(t, h.waitDecisions(t, mark, "acme/gadgets#4", "ci/docs"), map[string]string{"ci/docs": "skip"})

	mark = h.mark()
	h.event(t, fakegithub.Event{Type: "installation.created", InstallationID: 8, Account: "umbrella", AccountType: "Organization", Repos: []string{"umbrella/corp"}})
	wantVerdicts(t, h.waitDecisions(t, mark, "umbrella/corp#4", "ci/docs"), map[string]string{"ci/docs": "skip"})
	for _, repo := range []string{"acme/gadgets", "umbrella/corp"} {
		if st := latestStatus(h.pull(t, repo, 4), "ci/docs"); st == nil || st.State != "success" || st.Creator != bot {
			t.Errorf("%s#4 ci/docs: %+v", repo, st)
		}
	}
}

// TestE2EPushRechecksOnlyRulesBranches: a push that changes a file defining
// jobs re-checks the open PRs of that branch only; a push of other files
// re-checks nothing.
func TestE2EPushRechecksOnlyRulesBranches(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{pulls: presetPulls + "- {number: 4, title: Backport, user: octocat, base: release, files: [{filename: docs/a.md, status: modified}]}\n",
		branches: "release:\n  protection:\n    required_status_checks: {strict: false, contexts: [pull-unit]}\n"}.yaml(), harnessOptions{})
	mark := h.mark()
	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat", Contents: map[string]string{"README.md": "hello again\n"}})
	h.waitMetric(t, `fix_status_webhook_events_total{event="push"}`, 1)
	h.settle(t)
	pushed := h.mark()
	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat",
		Contents: map[string]string{"prow/jobs.yaml": widgetsJobs + "# reviewed\n"}})
	for _, n := range []int{1, 2, 3} {
		h.waitDecisions(t, pushed, prName(n), "pull-unit")
	}
	h.settle(t)
	got := map[string]int{}
	for _, o := range h.outcomes(mark) {
		got[o.PR.String()+" "+o.Trigger]++
	}
	want := map[string]int{prName(1) + " requirements_changed": 1, prName(2) + " requirements_changed": 1, prName(3) + " requirements_changed": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("checks after the pushes: %v, want %v", got, want)
	}
	if w := writesBy(h.pull(t, widgetsRepo, 4), bot); len(w) != 0 {
		t.Errorf("release PR: %q", w)
	}
}

// TestE2EAPIBudget measures a check's cost in GitHub's rate limit from the
// emulator's counters. A first check of a PR costs the PR itself (a payload
// is only a hint), its changed-file pages, the head's statuses and check
// runs, and its writes, which the write guard precedes with reads of the
// PR, its base branch and the head's results, answered 304; the branch's head, protection,
// rules and rule files are read once for all its PRs. Checking an unchanged PR again costs nothing: every
// read is a conditional request answered 304.
func TestE2EAPIBudget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-docs"}, rules: `- type: required_status_checks
  parameters:
    required_status_checks: [{context: pull-lint}]
`}.yaml(), harnessOptions{grace: time.Hour})
	// The installation's client first (a push no PR is based on): two
	// checks starting at once would each make a token, and GitHub's
	// "Vary: Authorization" keeps the answers cached for one from the other.
	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "feature", User: "octocat", Contents: map[string]string{"README.md": "hi\n"}})
	h.waitMetric(t, `fix_status_webhook_events_total{event="push"}`, 1)
	h.settle(t)
	// A: 151 files, two pages, nothing to write (every job should run and
	// is inside its grace period). B: one page, one skip to write.
	h.gh.ResetStats()
	mark := h.mark()
	a := h.event(t, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat", Title: "A",
		Files: append(manyFiles("pkg", 150), fakegithub.File{Filename: "docs/a.md", Status: "added"})}).Number
	b := h.openPR(t, "octocat", "docs/b.md")
	h.waitDecisions(t, mark, prName(a), "pull-unit", "pull-docs", "pull-lint")
	h.waitDecisions(t, mark, prName(b), "pull-unit", "pull-docs", "pull-lint")
	st := h.gh.Stats()
	perPR := map[string]int64{
		"GET /repos/{owner}/{repo}/pulls/{pull_number}/files":           2 + 1,
		"GET /repos/{owner}/{repo}/commits/{ref}/statuses":              2 + 1, // each PR, and B's write guard (304)
		"GET /repos/{owner}/{repo}/commits/{ref}/check-runs":            2 + 1, // each PR, and B's write guard (304)
		"GET /repos/{owner}/{repo}/pulls/{pull_number}":                 2 + 1, // each PR, and B's write guard (304)
		"POST /repos/{owner}/{repo}/statuses/{sha}":                     2,     // B: pull-unit and pull-lint skipped
		"GET /repos/{owner}/{repo}/issues/{issue_number}/comments":      0,
		"GET /repos/{owner}/{repo}/collaborators/{username}/permission": 0,
	}
	perBranch := map[string]int64{
		// The branch's head, read with its rules, and by B's write guard (304).
		"GET /repos/{owner}/{repo}/git/ref/{ref}":                                       1 + 1,
		"GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks": 1,
		"GET /repos/{owner}/{repo}/rules/branches/{branch}":                             1,
		// .github/fix-status.yml, the prow directory and prow/jobs.yaml.
		"GET /repos/{owner}/{repo}/contents/{path}": 3,
	}
	var requests int64
	for route, want := range merge(perPR, perBranch) {
		requests += want
		if got := st.ByRoute[route]; got != want {
			t.Errorf("%s: %d requests, want %d", route, got, want)
		}
	}
	// The guard's four 304s are not charged.
	if st.RateLimitUsed["7"] != requests-4 || st.Requests != requests || st.NotModified != 4 {
		t.Errorf("first checks of two PRs: %d requests, %d charged, %d not modified; want %d, %d and 4: %v",
			st.Requests, st.RateLimitUsed["7"], st.NotModified, requests, requests-4, st.ByRoute)
	}

	// Again, by redeliveries of the webhooks: A is unchanged, every read is
	// answered 304 and costs nothing, and its file list (kept by head) is
	// not read at all; B changed only by fix-status's own skips, so its
	// statuses are read again once, then B costs nothing either.
	redeliver := func(title string) {
		t.Helper()
		for _, d := range h.gh.Deliveries() {
			if d.Event == "pull_request" && bytes.Contains(d.Payload, []byte(`"title":"`+title+`"`)) {
				h.postSigned(t, d.Event, d.Payload)
				return
			}
		}
		t.Fatalf("no delivery for %s", title)
	}
	for _, c := range []struct {
		title       string
		n           int
		charged     int64
		notModified int64
	}{
		{"A", a, 0, 3}, // the PR, statuses, check runs
		{"Change docs/b.md", b, 1, 2},
		{"Change docs/b.md", b, 0, 3},
	} {
		h.gh.ResetStats()
		mark = h.mark()
		redeliver(c.title)
		h.waitDecisions(t, mark, prName(c.n), "pull-unit", "pull-docs", "pull-lint")
		if st := h.gh.Stats(); st.RateLimitUsed["7"] != c.charged || st.NotModified != c.notModified {
			t.Errorf("check of unchanged #%d: %d charged, %d not modified; want %d and %d: %v",
				c.n, st.RateLimitUsed["7"], st.NotModified, c.charged, c.notModified, st.ByRoute)
		}
	}

	// After the branch's protection changed, each PR is read again and the
	// open PRs are listed once for the branch.
	h.gh.ResetStats()
	mark = h.mark()
	h.event(t, fakegithub.Event{Type: "branch_protection_rule.edited", Repo: widgetsRepo, Branch: "main",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: []string{"pull-unit", "pull-docs"}}}})
	h.waitDecisions(t, mark, prName(a), "pull-unit")
	h.waitDecisions(t, mark, prName(b), "pull-unit")
	st = h.gh.Stats()
	if st.ByRoute["GET /repos/{owner}/{repo}/pulls/{pull_number}"] != 2 || st.ByRoute["GET /repos/{owner}/{repo}/pulls"] != 1 {
		t.Errorf("a check without payload: %v", st.ByRoute)
	}
}

func merge(ms ...map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestE2EShutdownDrains: stopping the server (SIGTERM) runs the re-checks
// still waiting in their coalescing window instead of dropping them.
func TestE2EShutdownDrains(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{}.yaml(), harnessOptions{coalesce: time.Hour})
	n := h.openPR(t, "octocat", "docs/guide.md")
	h.waitMetric(t, "fix_status_queue_depth", 1)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	p := h.pull(t, widgetsRepo, n)
	if st := latestStatus(p, "pull-unit"); st == nil || st.State != "success" || st.Creator != bot {
		t.Errorf("the queued check did not run on shutdown: %+v; outcomes: %+v", st, h.outcomes(0))
	}
}

// TestE2EAPIBudgetPush: a push to a branch no open PR is based on (most
// pushes) costs one request, and nothing once that answer is cached.
func TestE2EAPIBudgetPush(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{pulls: presetPulls}.yaml(), harnessOptions{})
	for i, want := range []int64{1, 0} {
		h.gh.ResetStats()
		h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "feature", User: "octocat",
			Contents: map[string]string{"README.md": fmt.Sprintf("hello %d\n", i)}})
		h.waitMetric(t, `fix_status_webhook_events_total{event="push"}`, float64(i+1))
		h.settle(t)
		if st := h.gh.Stats(); st.RateLimitUsed["7"] != want {
			t.Errorf("push #%d to a feature branch cost %d requests, want %d: %v", i+1, st.RateLimitUsed["7"], want, st.ByRoute)
		}
	}
}

func hmacSHA1(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// countChecks counts the reconciles of pr among outcomes.
func countChecks(outs []serve.Outcome, pr string) int {
	n := 0
	for _, o := range outs {
		if o.PR.String() == pr {
			n++
		}
	}
	return n
}
