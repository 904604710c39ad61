package main

// End-to-end proofs of the safety promises (docs/design.md, "Safety
// invariants"): each test drives the emulator and the real server (see
// harness_e2e_test.go) into the situation a promise is about and asserts
// what GitHub then shows. Where a race matters, the emulator holds a request
// of fix-status's in flight while the world changes, so the interleaving is
// chosen, not slept into.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/serve"
)

// Routes of GitHub's API that the safety tests hold or count.
const (
	routePull     = "GET /repos/{owner}/{repo}/pulls/{pull_number}"
	routeFiles    = "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"
	routeStatuses = "GET /repos/{owner}/{repo}/commits/{ref}/statuses"
	routeChecks   = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"
	routeStatus   = "POST /repos/{owner}/{repo}/statuses/{sha}"
)

// arrived waits until fix-status's request reached a hold.
func arrived(t testing.TB, held *fakegithub.Held, what string) {
	t.Helper()
	select {
	case <-held.Arrived():
	case <-time.After(e2eWait):
		t.Fatalf("timed out waiting for %s to reach the emulator", what)
	}
}

// deliverAs posts a webhook body with a given delivery id (a redelivery
// keeps the original's), signed with the app's secret; it returns the
// answer's status code.
func (h *harness) deliverAs(t testing.TB, event, id string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.hookURL, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", fakegithub.SignPayload(h.gh.WebhookSecret(), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// ours lists fix-status's passing results on a commit: its success statuses
// and its completed check runs with a passing conclusion, by context, when
// they are the latest fix-status wrote there.
func ours(st *fakegithub.State, repo, sha string) map[string]string {
	out := map[string]string{}
	for _, r := range st.Repos {
		if !strings.EqualFold(r.Name, repo) {
			continue
		}
		for _, c := range r.Commits {
			if c.SHA != sha {
				continue
			}
			for _, s := range c.Statuses {
				if s.Creator == bot {
					out["status "+s.Context] = s.State
				}
			}
			for _, cr := range c.CheckRuns {
				if cr.Creator == bot {
					out["check_run "+cr.Name] = cr.Status + "/" + cr.Conclusion
				}
			}
		}
	}
	for k, v := range out {
		if v != "success" && v != "completed/success" && v != "completed/skipped" && v != "completed/neutral" {
			delete(out, k)
		}
	}
	return out
}

// releaseBranch is the scenario YAML of a branch release of acme/widgets
// requiring contexts (its files come from releaseRules).
func releaseBranch(contexts ...string) string {
	return "release:\n  protection:\n    required_status_checks: {strict: false, contexts: [" + strings.Join(contexts, ", ") + "]}\n"
}

// releaseRules puts the repo config, Prow jobs and workflows on release
// without a webhook (the scenario's branch starts empty).
func (h *harness) releaseRules(t testing.TB, files map[string]string) {
	t.Helper()
	h.quietly(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "release", User: "octocat", Contents: files})
}

// firstOnly is a workflow that runs only when a PR is opened, for changes
// under pkg/: on a later head it cannot report.
const firstOnly = `on:
  pull_request:
    types: [opened]
    paths: ['pkg/**']
jobs:
  first:
    runs-on: ubuntu-latest
    steps: [{run: make}]
`

// TestE2ESafetyReplayedDeliveries (invariant 9): deliveries of pull_request that
// name an old base and an old head, replayed and out of order, do not make
// fix-status judge the PR by them: it reads the PR and judges its current
// head against its current base's rules. Here the PR moved from main (where
// its docs change skips pull-unit, and the opened head skips a workflow
// that runs only on "opened") to release (where docs run pull-unit) with a
// new head; the old payloads arrive last, and nothing passing is written on
// the new head.
func TestE2ESafetyReplayedDeliveries(t *testing.T) {
	t.Parallel()
	cfg := "version: 1\nsources: {prow: [prow], actions: true}\n"
	h := newHarness(t, widgets{required: []string{"pull-unit", "first"}, repoConfig: cfg, branches: releaseBranch("pull-unit", "first"),
		files: map[string]string{".github/workflows/first.yml": firstOnly}}.yaml(), harnessOptions{})
	h.releaseRules(t, map[string]string{".github/fix-status.yml": cfg, ".github/workflows/first.yml": firstOnly,
		"prow/jobs.yaml": strings.Replace(widgetsJobs, "run_if_changed: '^pkg/'", "run_if_changed: '^(pkg|docs)/'", 1)})

	mark := h.mark()
	n := h.openPR(t, "octocat", "docs/guide.md")
	wantVerdicts(t, h.waitDecisions(t, mark, prName(n), "pull-unit", "first"), map[string]string{
		"pull-unit": "skip: Skipped: no changed file matches run_if_changed ^pkg/",
		"first":     "skip: Skipped: no changed file matches paths [pkg/**]",
	})
	oldHead := h.pull(t, widgetsRepo, n).HeadSHA

	// The PR gets a new head and a new base while fix-status is down: the
	// deliveries fail, GitHub keeps them.
	h.gh.SetAppDown(true)
	for _, ev := range []fakegithub.Event{
		{Type: "pull_request.synchronize", Repo: widgetsRepo, Number: n},
		{Type: "pull_request.edited", Repo: widgetsRepo, Number: n, Base: "release"},
	} {
		if _, err := h.gh.Apply(context.Background(), ev); err == nil {
			t.Fatalf("%s was delivered to a server that is down", ev.Type)
		}
	}
	h.gh.SetAppDown(false)
	p := h.pull(t, widgetsRepo, n)
	if p.HeadSHA == oldHead || p.Base != "release" {
		t.Fatalf("PR not moved: head %s, base %s", p.HeadSHA, p.Base)
	}

	// Now every pull_request delivery arrives, newest first: the edit, the
	// push, then the original "opened" (old head, old base) twice, as a
	// redelivery (same id) and as a late copy.
	var ds []fakegithub.Delivery
	for _, d := range h.gh.Deliveries() {
		if d.Event == "pull_request" {
			ds = append(ds, d)
		}
	}
	if len(ds) != 3 {
		t.Fatalf("pull_request deliveries: %d, want 3", len(ds))
	}
	var opened struct {
		PullRequest struct {
			Head struct{ SHA string } `json:"head"`
			Base struct{ Ref string } `json:"base"`
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(ds[0].Payload, &opened); err != nil || opened.PullRequest.Head.SHA != oldHead || opened.PullRequest.Base.Ref != "main" {
		t.Fatalf("the first delivery is not the opened PR on main at %s: %s (%v)", oldHead, ds[0].Payload, err)
	}
	mark = h.mark()
	for i, d := range []fakegithub.Delivery{ds[2], ds[1], ds[0], ds[0]} {
		id := d.ID
		if i == 3 {
			id += "-late"
		}
		if code := h.deliverAs(t, d.Event, id, d.Payload); code != http.StatusOK {
			t.Fatalf("delivery %s answered %d", id, code)
		}
	}
	got := h.waitDecisions(t, mark, prName(n), "pull-unit", "first")
	h.settle(t)
	for _, o := range h.outcomes(mark) {
		if o.Report != nil && o.Report.HeadSHA != p.HeadSHA {
			t.Errorf("a reconcile judged head %s, the PR's head is %s", o.Report.HeadSHA, p.HeadSHA)
		}
	}
	wantVerdicts(t, got, map[string]string{
		"pull-unit": "retrigger: should run (run_if_changed ^(pkg|docs)/ matches docs/guide.md) and has not reported",
		"first":     "blocked: cannot tell if it runs: runs only on opened: does not run on later pushes",
	})
	if w := ours(h.gh.State(), widgetsRepo, p.HeadSHA); len(w) != 0 {
		t.Errorf("passing results of fix-status on the new head: %v", w)
	}
}

// TestE2ESafetyPushDuringReconcile (invariant 9): a push lands while a reconcile
// is reading the PR (the emulator holds one of its reads until the push is
// made). The plan it computed is for the old head; the write guard reads
// the PR again before writing, sees the new head, writes nothing for the
// old one, and the next round of the same reconcile decides on the new
// head.
func TestE2ESafetyPushDuringReconcile(t *testing.T) {
	t.Parallel()
	for _, route := range []string{routeFiles, routeStatuses, routeChecks} {
		t.Run(route[strings.LastIndex(route, "/")+1:], func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, widgets{}.yaml(), harnessOptions{})
			held := h.gh.Hold(route)
			mark := h.mark()
			n := h.openPR(t, "octocat", "docs/guide.md")
			oldHead := h.pull(t, widgetsRepo, n).HeadSHA
			arrived(t, held, "the reconcile's read "+route)
			newHead := h.event(t, fakegithub.Event{Type: "pull_request.synchronize", Repo: widgetsRepo, Number: n,
				Files: []fakegithub.File{{Filename: "pkg/a.go", Status: "modified"}}}).SHA
			held.Release()

			o := h.waitOutcome(t, mark, "the reconcile of the opened PR", func(o serve.Outcome) bool { return o.Trigger == "pull_request.opened" })
			if o.Err != nil || o.Report == nil || o.Report.HeadSHA != newHead || len(o.Report.Decisions) != 1 ||
				o.Report.Decisions[0].Verdict != "retrigger" || o.Report.Writes != 1 {
				t.Fatalf("the reconcile did not decide again on the new head %s: %+v (err %v)", newHead, o.Report, o.Err)
			}
			h.settle(t)
			st := h.gh.State()
			if w := ours(st, widgetsRepo, oldHead); len(w) != 0 {
				t.Errorf("fix-status wrote on the old head after the push: %v", w)
			}
			if w := ours(st, widgetsRepo, newHead); len(w) != 0 {
				t.Errorf("passing results on the new head: %v", w)
			}
			// Its re-triggers (the next event's too) name the new head only.
			for _, c := range pull(st, widgetsRepo, n).Comments {
				if strings.Contains(c.Body, oldHead) || !strings.Contains(c.Body, `context="pull-unit" sha=`+newHead) {
					t.Errorf("re-trigger comment not for the new head %s alone:\n%s", newHead, c.Body)
				}
			}
		})
	}
}

// TestE2ESafetyBackfillBaseChanged (invariants 9 and 4): backfill reads the PRs in bulk
// (GraphQL), then writes; between the two the PR's base changes (it is
// retargeted, or its base branch gets new rules), or its job starts after
// all. The write guard reads the PR, the base branch and the head's results
// again before the first write, and the PR is judged again by what is there
// now: nothing is written on the stale reading.
func TestE2ESafetyBackfillBaseChanged(t *testing.T) {
	t.Parallel()
	widened := strings.Replace(widgetsJobs, "run_if_changed: '^pkg/'", "run_if_changed: '^(pkg|docs)/'", 1)
	// Backfill's grace period is the config's (10 minutes).
	const byNewRules = "waiting: should run (run_if_changed ^(pkg|docs)/ matches docs/guide.md) and has not reported; grace period ends in "
	for _, c := range []struct {
		name   string
		change func(head string) fakegithub.Event
		want   string
	}{
		{"retargeted", func(string) fakegithub.Event {
			return fakegithub.Event{Type: "pull_request.edited", Repo: widgetsRepo, Number: 1, Base: "release"}
		}, byNewRules},
		{"base rules pushed", func(string) fakegithub.Event {
			return fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat", Contents: map[string]string{"prow/jobs.yaml": widened}}
		}, byNewRules},
		{"the job started", func(head string) fakegithub.Event {
			return fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: head, Context: "pull-unit", State: "pending", Creator: "prow"}
		}, "waiting: status is pending"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			gh := fakegithubtest.Start(t, widgets{branches: releaseBranch("pull-unit"), pulls: "- {number: 1, title: Docs, user: octocat, base: main, files: [{filename: docs/guide.md, status: modified}]}\n"}.yaml(),
				fakegithub.Options{})
			if _, err := gh.Apply(context.Background(), fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "release", User: "octocat",
				Contents: map[string]string{".github/fix-status.yml": widgetsConfig, "prow/jobs.yaml": widened}}); err != nil {
				t.Fatal(err)
			}
			// The bulk read carries the PR, so the first read of the PR
			// itself is the write guard's.
			held := gh.Hold(routePull)
			done := make(chan backfillRun, 1)
			go func() {
				done <- runBackfillCmd(t, context.Background(), gh, nil, []string{"--dry-run=false", "--repo", widgetsRepo, "--reads", "graphql"}, nil)
			}()
			arrived(t, held, "the write guard's read of the PR")
			if _, err := gh.Apply(context.Background(), c.change(pull(gh.State(), widgetsRepo, 1).HeadSHA)); err != nil {
				t.Fatal(err)
			}
			held.Release()
			run := <-done
			if run.err != nil {
				t.Fatalf("backfill: %v\n%s", run.err, run.stdout)
			}
			p := pull(gh.State(), widgetsRepo, 1)
			if w := ours(gh.State(), widgetsRepo, p.HeadSHA); len(w) != 0 {
				t.Errorf("backfill wrote on the stale reading: %v", w)
			}
			if len(run.report.Results) != 1 || len(run.report.Results[0].Decisions) != 1 {
				t.Fatalf("results: %+v", run.report.Results)
			}
			if d := run.report.Results[0].Decisions[0]; !strings.HasPrefix(d.Verdict+": "+d.Reason, c.want) {
				t.Errorf("decision %s: %s; want what is there now: %s", d.Verdict, d.Reason, c.want)
			}
		})
	}
}

// wantNoWrites fails when fix-status wrote anything on a PR.
func (h *harness) wantNoWrites(t testing.TB, n int, what string) {
	t.Helper()
	if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 0 {
		t.Errorf("%s: fix-status wrote %q", what, w)
	}
}

// TestE2ESafetyIncompleteFileListRuleEdit (invariant 2): GitHub lists 3,000 of a
// PR's files; here the 3,001st edits the Prow config so that both required
// jobs would run. fix-status cannot see that edit (invariant 1 cannot be
// checked), so it skips nothing, not even a job its branch filter keeps off
// main, and says why. (TestE2EInvariant2IncompleteFileList covers the file
// filters, Prow's and GitHub Actions' 300 files.)
func TestE2ESafetyIncompleteFileListRuleEdit(t *testing.T) {
	t.Parallel()
	jobs := widgetsJobs + "  - name: pull-release\n    branches: ['^release$']\n    run_if_changed: '^docs/'\n"
	h := newHarness(t, widgets{required: []string{"pull-docs", "pull-release"}, jobs: jobs}.yaml(), harnessOptions{})
	edit := strings.Replace(strings.Replace(jobs, "'^docs/'", "'^(docs|gen)/'", -1), "    branches: ['^release$']\n", "", 1)
	files := append(manyFiles("gen", 3000), changed(map[string]string{"prow/jobs.yaml": edit})...)
	mark := h.mark()
	n := h.event(t, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat", Title: "Generated code and its jobs", Files: files}).Number
	ds := h.waitDecisions(t, mark, prName(n), "pull-docs", "pull-release")
	wantVerdicts(t, ds, map[string]string{
		"pull-docs": "blocked: cannot tell if it runs: the changed-file list is incomplete (3000 files listed)",
	})
	if d := ds["pull-release"]; d.Verdict != "blocked" || !strings.HasPrefix(d.Reason, "would not run (") || !strings.Contains(d.Reason, "main") ||
		!strings.HasSuffix(d.Reason, "), but the changed-file list is incomplete (3000 files listed)") {
		t.Errorf("pull-release (not on main): %s: %s", d.Verdict, d.Reason)
	}
	h.wantNoWrites(t, n, "3,001 files")
}

// TestE2ESafetyRuleFileRenames (invariant 1): a PR that renames a file that
// defines jobs away (previous_filename is the rule file), renames another
// file onto one, or deletes one, changes the rules that judge it, for every
// source: GitHub Actions workflows, Prow's in-repository config and the
// repo config's explicit rules. The head's rules (read at its SHA) decide
// with the base's; where they do not agree, nothing is skipped.
func TestE2ESafetyRuleFileRenames(t *testing.T) {
	t.Parallel()
	const cfg = "version: 1\nsources: {prow: [prow], actions: true}\ncontexts:\n  - {context: ci/docs, run_if_changed: '^docs/'}\n"
	const docsWorkflow = "on:\n  pull_request:\n    paths: ['docs/**']\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps: [{run: make}]\n"
	const alwaysWorkflow = "on: pull_request\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps: [{run: make}]\n"
	h := newHarness(t, widgets{required: []string{"pull-docs", "build", "ci/docs"}, repoConfig: cfg, files: map[string]string{
		".github/workflows/docs.yml": docsWorkflow, "tools/build.yml": alwaysWorkflow, "notes/extra.yaml": "# notes\n",
		"config/fix-status.example.yml": "version: 1\n"}}.yaml(), harnessOptions{})
	rename := func(from, to string, content *string) fakegithub.File {
		return fakegithub.File{Filename: to, PreviousFilename: from, Status: "renamed", Content: content}
	}
	remove := func(name string) fakegithub.File {
		return fakegithub.File{Filename: name, Status: "removed", Deletions: 1}
	}
	ptr := func(s string) *string { return &s }
	const skipped = "skip: Skipped: no changed file matches "
	for _, c := range []struct {
		name string
		file fakegithub.File
		want map[string]string
	}{
		{"workflow renamed away", rename(".github/workflows/docs.yml", "ci/docs.yml", nil), map[string]string{
			"build":     "blocked: this PR changes .github/workflows/docs.yml; with its changes: no job defines it",
			"pull-docs": skipped + "run_if_changed ^docs/", "ci/docs": skipped + "run_if_changed ^docs/"}},
		{"workflow renamed onto", rename("tools/build.yml", ".github/workflows/build.yml", nil), map[string]string{
			"build":     "blocked: this PR changes .github/workflows/build.yml; with its changes: *",
			"pull-docs": skipped + "run_if_changed ^docs/"}},
		{"workflow deleted", remove(".github/workflows/docs.yml"), map[string]string{
			"build": "blocked: this PR changes .github/workflows/docs.yml; with its changes: no job defines it"}},
		{"Prow config renamed away", rename("prow/jobs.yaml", "old/jobs.yaml", nil), map[string]string{
			// Without its config Prow's source cannot be read: no skip at all.
			"pull-docs": "blocked: this PR changes prow/jobs.yaml and its rules cannot be read: *",
			"build":     "blocked: this PR changes prow/jobs.yaml and its rules cannot be read: *"}},
		{"Prow config renamed onto", rename("notes/extra.yaml", "prow/extra.yaml", ptr("presubmits:\n  acme/widgets:\n  - name: ci-docs\n    context: ci/docs\n    always_run: true\n")), map[string]string{
			"ci/docs":   "blocked: this PR changes prow/extra.yaml; with its changes: always_run",
			"pull-docs": skipped + "run_if_changed ^docs/"}},
		{"Prow config deleted", remove("prow/jobs.yaml"), map[string]string{
			"pull-docs": "blocked: this PR changes prow/jobs.yaml*"}},
		{"repo config renamed away", rename(".github/fix-status.yml", "config/fix-status.yml", nil), map[string]string{
			"ci/docs":   "blocked: this PR changes .github/fix-status.yml; with its changes: no job defines it",
			"pull-docs": "blocked: this PR changes .github/fix-status.yml; with its changes: no job defines it"}},
		{"repo config renamed onto", rename("config/fix-status.example.yml", ".github/fix-status.yml",
			ptr("version: 1\nsources: {prow: [prow], actions: true}\ncontexts:\n  - {context: ci/docs, always_run: true}\n")), map[string]string{
			"ci/docs":   "blocked: this PR changes .github/fix-status.yml; with its changes: runs on every pull request to main",
			"pull-docs": skipped + "run_if_changed ^docs/"}},
		{"repo config deleted", remove(".github/fix-status.yml"), map[string]string{
			"ci/docs": "blocked: this PR changes .github/fix-status.yml; with its changes: no job defines it"}},
	} {
		mark := h.mark()
		n := h.event(t, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat", Title: c.name, Files: []fakegithub.File{c.file}}).Number
		ds := h.waitDecisions(t, mark, prName(n), "pull-docs", "build", "ci/docs")
		for ctx, want := range c.want {
			wantVerdicts(t, map[string]decision{ctx: ds[ctx]}, map[string]string{ctx: want})
		}
		wantSkipsWritten(t, h.pull(t, widgetsRepo, n), ds, c.name)
	}
}

// wantSkipsWritten checks that a PR shows fix-status's passing status for
// exactly the contexts decided skip.
func wantSkipsWritten(t testing.TB, p *fakegithub.StatePull, ds map[string]decision, what string) {
	t.Helper()
	for ctx, d := range ds {
		st := latestStatus(p, ctx)
		if (d.Verdict == "skip") != (st != nil && st.State == "success" && st.Creator == bot) {
			t.Errorf("%s: %s is %s, status %+v", what, ctx, d.Verdict, st)
		}
	}
}

// TestE2ESafetyConflictingPins (invariant 3): classic protection pins pull-unit
// to fix-status itself, a ruleset pins it to another app. No result can
// satisfy both, and fix-status must not pick the pin that suits it: blocked,
// naming both, and nothing written.
func TestE2ESafetyConflictingPins(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{}, rules: `- type: required_status_checks
  parameters:
    required_status_checks:
      - {context: pull-unit, integration_id: 4242}
`}.yaml(), harnessOptions{})
	ours := int64(1)
	h.quietly(t, fakegithub.Event{Type: "branch_protection_rule.edited", Repo: widgetsRepo, Branch: "main",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{
			Checks: []fakegithub.ScenarioRequiredCheck{{Context: "pull-unit", AppID: &ours}, {Context: "pull-lint", AppID: &ours}}}}})
	mark := h.mark()
	n := h.openPR(t, "octocat", "docs/guide.md")
	ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "blocked: the required check is pinned to fix-status by protection and to app 4242 by ruleset",
		// Pinned to fix-status alone: fix-status may satisfy it.
		"pull-lint": "skip: Skipped: no changed file matches run_if_changed ^pkg/",
	})
	p := h.pull(t, widgetsRepo, n)
	if st := latestStatus(p, "pull-unit"); st != nil {
		t.Errorf("fix-status reported the check pinned twice: %+v", st)
	}
	if st := latestStatus(p, "pull-lint"); st == nil || st.State != "success" || st.Creator != bot {
		t.Errorf("pull-lint: %+v", st)
	}
}

// TestE2ESafetyExpressionNames: a GitHub Actions job whose name is
// a template (lint-${{ matrix.lang }} over a matrix read at run time, or a
// name that is an expression alone) may report any context the template
// can expand to. While it runs for a PR, those contexts are never skipped,
// even where another rule says the context's own job would not run, and
// the reason names the job; when it does not run, it stands in nobody's way.
func TestE2ESafetyExpressionNames(t *testing.T) {
	t.Parallel()
	const lint = "on: pull_request\njobs:\n  lint:\n    name: lint-${{ matrix.lang }}\n    strategy:\n      matrix:\n        lang: ${{ fromJSON(vars.LANGS) }}\n    runs-on: ubuntu-latest\n    steps: [{run: make lint}]\n"
	const matrix = "on:\n  pull_request:\n    paths: ['src/**']\njobs:\n  matrix:\n    name: ${{ matrix.job }}\n    strategy:\n      matrix:\n        job: ${{ fromJSON(vars.JOBS) }}\n    runs-on: ubuntu-latest\n    steps: [{run: make}]\n"
	cfg := "version: 1\nsources: {prow: [prow], actions: true}\ncontexts:\n  - {context: lint-go, run_if_changed: '^go/'}\n"
	h := newHarness(t, widgets{required: []string{"lint-go", "pull-unit"}, repoConfig: cfg, files: map[string]string{
		".github/workflows/lint.yml": lint, ".github/workflows/matrix.yml": matrix}}.yaml(), harnessOptions{})
	for _, c := range []struct {
		file string
		want map[string]string
	}{
		{"README.md", map[string]string{
			"lint-go":   "blocked: cannot tell if it runs: lint.yml/lint may report it (check name lint-*): runs on every pull request to main",
			"pull-unit": "skip: Skipped: no changed file matches run_if_changed ^pkg/"}},
		{"src/main.c", map[string]string{
			"lint-go":   "blocked: cannot tell if it runs: *",
			"pull-unit": "blocked: cannot tell if it runs: matrix.yml/matrix may report it (check name *): paths src/** matches src/main.c"}},
	} {
		mark := h.mark()
		n := h.openPR(t, "octocat", c.file)
		ds := h.waitDecisions(t, mark, prName(n), "lint-go", "pull-unit")
		wantVerdicts(t, ds, c.want)
		wantSkipsWritten(t, h.pull(t, widgetsRepo, n), ds, c.file)
	}
}

// quiet waits until the emulator saw no request for four coalescing
// windows. It gives work that should not run (a second reconcile of a PR
// whose lock is held) every chance to show; what a test asserts after it
// does not depend on how long it waited.
func (h *harness) quiet(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	last, since := h.gh.Stats().Requests, time.Now()
	for time.Since(since) < 4*e2eCoalesce {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for fix-status to stop calling GitHub")
		}
		time.Sleep(5 * time.Millisecond)
		if n := h.gh.Stats().Requests; n != last {
			last, since = n, time.Now()
		}
	}
}

// TestE2ESafetyConcurrentEvents (invariant 7): while a reconcile of a PR is
// writing (its write held by the emulator), every other way to reconcile
// that PR arrives: a /fix-status comment, another CI's status on the head
// (found through the commit's PRs), a protection change (the repository's
// PRs). Each waits for the PR's lock: one reconcile at a time, and the
// skip is written once.
func TestE2ESafetyConcurrentEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{}.yaml(), harnessOptions{workers: 4})
	held := h.gh.Hold(routeStatus)
	n := h.openPR(t, "octocat", "docs/guide.md")
	arrived(t, held, "the skip's write")
	sha := h.pull(t, widgetsRepo, n).HeadSHA
	id := h.comment(t, n, "octocat", "/fix-status")
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: sha, Context: "ci/other", State: "success", Creator: "jenkins"})
	h.event(t, fakegithub.Event{Type: "branch_protection_rule.edited", Repo: widgetsRepo, Branch: "main",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: []string{"pull-unit"}}}})
	// The command reacts before it reconciles: from here on it is at the
	// PR's lock.
	h.waitState(t, "the command's reaction", func(st *fakegithub.State) bool { return len(reactions(pull(st, widgetsRepo, n), id)) == 1 })
	h.quiet(t)
	held.Release()
	reply := h.waitReply(t, n, "octocat", 1)
	h.settle(t)
	p := h.pull(t, widgetsRepo, n)
	skips := 0
	for _, s := range p.Statuses {
		if s.Creator == bot && s.Context == "pull-unit" {
			skips++
		}
	}
	if skips != 1 || h.gh.Stats().Writes.ByRoute[routeStatus] != 1 {
		t.Errorf("the skip was written %d times (%d status writes), want once: %q", skips, h.gh.Stats().Writes.ByRoute[routeStatus], writesBy(p, bot))
	}
	if !strings.Contains(reply, "| `pull-unit` | satisfied | already skipped by fix-status: ") {
		t.Errorf("the command did not see the first reconcile's skip:\n%s", reply)
	}
}

// restartCase is one rerun method whose bound must hold across a restart.
type restartCase struct {
	name    string
	context string
	w       widgets
	o       harnessOptions
	// again makes fix-status look at the PR once more (the CI answered,
	// or someone else reported something).
	again func(t *testing.T, h *harness)
	// count is how many re-triggers GitHub shows.
	count func(st *fakegithub.State) int
}

// TestE2ESafetyRetriggerBoundsAcrossRestart (invariant 10): a context is
// re-triggered at most three times on one head, whatever the rerun method,
// and the count is read from GitHub (fix-status's own marker comments, the
// workflow run's attempts), so a new server after a restart continues it
// instead of starting again: two re-triggers before the restart, the third
// after, then blocked.
func TestE2ESafetyRetriggerBoundsAcrossRestart(t *testing.T) {
	t.Parallel()
	const ci = "name: CI\non: pull_request\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps: [{run: make}]\n  test:\n    runs-on: ubuntu-latest\n    steps: [{run: make test}]\n"
	const pr = "- number: 1\n  title: Code\n  user: octocat\n  base: main\n  files: [{filename: pkg/a.go, status: modified}]\n"
	started := time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339)
	otherStatus := func(t *testing.T, h *harness) {
		h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: h.pull(t, widgetsRepo, 1).HeadSHA, Context: "ci/other", State: "success", Creator: "jenkins"})
	}
	for _, c := range []restartCase{
		{name: "Prow comment", context: "pull-unit", w: widgets{pulls: pr}, again: otherStatus,
			count: func(st *fakegithub.State) int {
				return strings.Count(strings.Join(commentBodies(pull(st, widgetsRepo, 1), bot), "\n"), "<!-- fix-status retrigger ")
			}},
		{name: "Actions re-run", context: "test", w: widgets{required: []string{"test"}, repoConfig: "version: 1\nsources: {actions: true}\n",
			files: map[string]string{".github/workflows/ci.yml": ci},
			pulls: pr + "  check_runs: [{name: build, status: completed, conclusion: success, workflow: CI}]\n"},
			// A re-run's build completes, so its run may be re-run again.
			again: func(t *testing.T, h *harness) {
				p := h.pull(t, widgetsRepo, 1)
				if r := p.CheckRuns[len(p.CheckRuns)-1]; r.Status != "completed" {
					h.event(t, fakegithub.Event{Type: "check_run.completed", Repo: widgetsRepo, CheckRunID: r.ID, Conclusion: "success"})
					return
				}
				otherStatus(t, h)
			},
			count: func(st *fakegithub.State) int {
				for _, r := range st.Repos[0].WorkflowRuns {
					if r.HeadSHA == pull(st, widgetsRepo, 1).HeadSHA {
						return r.Attempt - 1
					}
				}
				return 0
			}},
		{name: "check suite rerequest", context: "ci/e2e", w: widgets{required: []string{"ci/e2e"},
			repoConfig: "version: 1\ncontexts:\n  - {context: ci/e2e, run_if_changed: '^pkg/'}\n",
			pulls:      pr + "  check_runs: [{name: ci/e2e, status: in_progress, app_id: 4242, started_at: " + started + "}]\n"},
			o: harnessOptions{stale: time.Hour}, again: otherStatus,
			count: func(st *fakegithub.State) int {
				for _, s := range st.Repos[0].CheckSuites {
					if s.AppID == 4242 {
						return len(s.RerequestedBy)
					}
				}
				return 0
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			look := func(h *harness, want string, count int) {
				t.Helper()
				mark := h.mark()
				c.again(t, h)
				d := h.waitDecisions(t, mark, prName(1), c.context)[c.context]
				h.settle(t)
				if got := d.Verdict + ": " + d.Reason; !strings.HasPrefix(got, want) && !strings.HasSuffix(got, want) {
					t.Fatalf("%s: %s, want %q", c.context, got, want)
				}
				if got := c.count(h.gh.State()); got != count {
					t.Fatalf("GitHub shows %d re-triggers, want %d", got, count)
				}
			}
			h := newHarness(t, c.w.yaml(), c.o)
			look(h, "retrigger", 1)
			look(h, "retrigger", 2)
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			o := c.o
			o.gh = h.gh
			restarted := newHarness(t, "", o)
			look(restarted, "retrigger", 3)
			look(restarted, "; re-triggered 3 times already", 3)
		})
	}
}

// commentBodies are the bodies of login's comments on a PR.
func commentBodies(p *fakegithub.StatePull, login string) []string {
	var out []string
	for _, c := range p.Comments {
		if c.User == login {
			out = append(out, c.Body)
		}
	}
	return out
}

// orgDefault is an organization whose repositories a and b have no repo
// config of their own (the owner's .github repository's fix-status.yml
// judges their PRs) and own has its own. Each has PR #1 changing the README.
func orgDefault() string {
	repo := func(name, files string) string {
		return `  - name: acme/` + name + `
    default_branch: main
    files:
      main:
        README.md: "hello\n"` + files + `
    branches:
      main:
        protection:
          required_status_checks: {strict: false, contexts: [ci/docs]}
    pulls:
      - {number: 1, title: README, user: octocat, base: main, files: [{filename: README.md, status: modified}]}
`
	}
	return `app: {id: 1, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 7, account: acme, account_type: Organization, repos: [acme/.github, acme/a, acme/b, acme/own]}
repos:
  - name: acme/.github
    default_branch: main
    files:
      main:
        fix-status.yml: |
          version: 1
          contexts:
            - {context: ci/docs, run_if_changed: '^docs/'}
    branches:
      main: {}
` + repo("a", "") + repo("b", "") + repo("own", `
        .github/fix-status.yml: |
          version: 1
          contexts:
            - {context: ci/docs, run_if_changed: '^docs/'}`)
}

// TestE2ESafetyOrgDefaultChanged: a push to the owner's .github
// repository that changes the default repo config re-checks every
// repository of the owner; those judged by the default are judged by the
// new one (here fix-status's skips become wrong and are revoked), the one
// with its own config keeps its verdict.
func TestE2ESafetyOrgDefaultChanged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, orgDefault(), harnessOptions{catchUp: true})
	repos := []string{"acme/a", "acme/b", "acme/own"}
	h.waitState(t, "the start-up sweep's skips", func(st *fakegithub.State) bool {
		for _, r := range repos {
			if s := latestStatus(pull(st, r, 1), "ci/docs"); s == nil || s.State != "success" || s.Creator != bot {
				return false
			}
		}
		return true
	})
	h.settle(t)
	mark := h.mark()
	h.event(t, fakegithub.Event{Type: "push", Repo: "acme/.github", Branch: "main", User: "octocat", Contents: map[string]string{
		"fix-status.yml": "version: 1\ncontexts:\n  - {context: ci/docs, run_if_changed: '^(docs/|README)'}\n"}})
	for _, r := range repos {
		want := "revoke: our earlier skip is wrong now: run_if_changed ^(docs/|README) matches README.md"
		if r == "acme/own" {
			want = "satisfied: already skipped by fix-status: no changed file matches run_if_changed ^docs/"
		}
		wantVerdicts(t, h.waitDecisions(t, mark, r+"#1", "ci/docs"), map[string]string{"ci/docs": want})
	}
	st := h.gh.State()
	for _, r := range repos[:2] {
		if s := latestStatus(pull(st, r, 1), "ci/docs"); s == nil || s.State != "pending" || s.Creator != bot {
			t.Errorf("%s#1 ci/docs after the new default: %+v", r, s)
		}
	}
}

// sizedReader is n bytes of filler, made as they are read, and how many
// were read (the HTTP client's transport may still be reading while the
// test looks).
type sizedReader struct {
	n    int64
	read atomic.Int64
}

func (r *sizedReader) Read(p []byte) (int, error) {
	done := r.read.Load()
	if done >= r.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n-done)
	for i := range p[:k] {
		p[i] = ' '
	}
	r.read.Add(k)
	return int(k), nil
}

// TestE2ESafetyDeliveryGuards (invariant 8): a body over GitHub's 25 MB is
// refused with 413 before its signature is looked at, and the server reads
// no further than the limit; a signature in the old SHA-1 form is refused
// in either header; a delivery id seen before is answered and ignored.
// (TestE2EInvariant8Signatures covers forged, missing and stale
// signatures.)
func TestE2ESafetyDeliveryGuards(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{pulls: presetPulls}.yaml(), harnessOptions{})
	post := func(body io.Reader, length int64, header map[string]string) (int, error) {
		req, err := http.NewRequest(http.MethodPost, h.hookURL, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = length
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("guard-%d", h.deliver.Add(1)))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// A signature no body of that size has: only the size can decide.
	forged := map[string]string{"X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64)}
	// A declared length over the limit is refused before the body is read
	// (what the client sent went no further than the sockets' buffers).
	big := &sizedReader{n: MaxPayload + 1}
	if code, err := post(big, big.n, forged); err != nil || code != http.StatusRequestEntityTooLarge || big.read.Load() >= MaxPayload/2 {
		t.Errorf("a declared %d-byte body: %d, %v; %d bytes sent, want 413 before the body is read", big.n, code, err, big.read.Load())
	}
	// Without a declared length, the server reads up to the limit, not on
	// to the end (8 times the limit).
	stream := &sizedReader{n: 8 * MaxPayload}
	code, err := post(stream, -1, forged)
	sent := stream.read.Load()
	t.Logf("streamed body: answered %d (%v) after %d bytes were sent", code, err, sent)
	if (err == nil && code != http.StatusRequestEntityTooLarge) || sent >= 2*MaxPayload {
		t.Errorf("a streamed body: %d, %v; %d bytes read, want 413 after at most the limit and what sockets hold", code, err, sent)
	}

	body := fixtureFor(t, h, 1)
	sha1sig := "sha1=" + hmacSHA1(h.gh.WebhookSecret(), body)
	for _, c := range []struct {
		name   string
		header map[string]string
	}{
		{"sha1= in X-Hub-Signature-256", map[string]string{"X-Hub-Signature-256": sha1sig}},
		{"sha1= in both headers", map[string]string{"X-Hub-Signature-256": sha1sig, "X-Hub-Signature": sha1sig}},
	} {
		if code, err := post(strings.NewReader(string(body)), int64(len(body)), c.header); err != nil || code != http.StatusBadRequest {
			t.Errorf("%s: %d, %v; want 400", c.name, code, err)
		}
	}
	h.settle(t)
	if st := h.gh.Stats(); st.RateLimitUsed["7"] != 0 || len(h.outcomes(0)) != 0 {
		t.Fatalf("refused deliveries caused work: %d requests charged, %d reconciles", st.RateLimitUsed["7"], len(h.outcomes(0)))
	}

	// The same delivery twice (GitHub's redelivery of one that did reach
	// fix-status): answered, and ignored.
	const events = `fix_status_webhook_events_total{event="pull_request.opened"}`
	for i, id := range []string{"dup-1", "dup-1", "dup-2"} {
		if code := h.deliverAs(t, "pull_request", id, body); code != http.StatusOK {
			t.Fatalf("delivery %s answered %d", id, code)
		}
		h.settle(t)
		if got, want := h.metric(t, events), float64(min(i+1, 2)); i != 1 && got != want {
			t.Errorf("after delivery %d (%s): %v events handled, want %v", i+1, id, got, want)
		} else if i == 1 && got != 1 {
			t.Errorf("the repeated delivery %s was handled again (%v events)", id, got)
		}
	}
	if n := countChecks(h.outcomes(0), prName(1)); n != 2 {
		t.Errorf("%d reconciles of #1, want 2 (the second delivery of dup-1 ignored)", n)
	}
}

// fixtureFor is GitHub's example pull_request.opened payload for PR n of
// acme/widgets in installation 7.
func fixtureFor(t testing.TB, h *harness, n int) []byte {
	t.Helper()
	p := h.pull(t, widgetsRepo, n)
	return fixture(t, "pull_request/opened.json", map[string]any{
		"installation": map[string]any{"id": 7}, "number": n, "pull_request.number": n, "pull_request.head.sha": p.HeadSHA,
		"repository.name": "widgets", "repository.full_name": widgetsRepo, "repository.owner.login": "acme",
	})
}

// TestE2ESafetyCommandsNotCommands: "/fix-status" shown inside a
// fenced or indented code block or a quote is not a command: no reaction,
// no check. (TestE2EFixStatusCommand covers inline code and the line of its
// own.)
func TestE2ESafetyCommandsNotCommands(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{pulls: presetPulls}.yaml(), harnessOptions{})
	mark := h.mark()
	var shown []int64
	for _, body := range []string{
		"Try this:\n```\n/fix-status\n```\n",
		"~~~markdown\n/fix-status\n~~~\n",
		"Like so:\n\n    /fix-status\n",
		"> /fix-status\n\nDid that help?",
		"> Someone said:\n>\n> /fix-status\n",
	} {
		shown = append(shown, h.comment(t, 1, "octocat", body))
	}
	real := h.comment(t, 1, "octocat", "/fix-status")
	h.waitReply(t, 1, "octocat", 1)
	h.settle(t)
	p := h.pull(t, widgetsRepo, 1)
	for i, id := range shown {
		if r := reactions(p, id); len(r) != 0 {
			t.Errorf("comment %d showing the command got reactions %v", i, r)
		}
	}
	if r := reactions(p, real); len(r) != 1 || countComments(p, bot) != 1 || countChecks(h.outcomes(mark), prName(1)) != 1 {
		t.Errorf("the command: reactions %v, %d replies, %d checks; want one of each", r, countComments(p, bot), countChecks(h.outcomes(mark), prName(1)))
	}
}

// TestE2ESafetyRefusedCommandKeepsTheSlot: with commands:
// collaborators, a stranger's /fix-status is refused with a short reply
// saying why, and does not use up the PR's once-a-minute run: a
// collaborator right after runs it. A second run within the minute is
// refused saying when it may run again.
func TestE2ESafetyRefusedCommandKeepsTheSlot(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{pulls: presetPulls, repoConfig: widgetsConfig + "commands: {fix_status: collaborators}\n"}.yaml(), harnessOptions{})
	h.comment(t, 1, "stranger", "/fix-status")
	if got, want := h.waitReply(t, 1, "stranger", 1), "@stranger fix-status did not check this pull request: only collaborators may run /fix-status on acme/widgets.\n"; got != want {
		t.Errorf("reply to a stranger: %q, want %q", got, want)
	}
	h.comment(t, 1, "stranger", "/fix-status")
	h.waitReply(t, 1, "stranger", 2)
	h.comment(t, 1, "octocat", "/fix-status")
	if got := h.waitReply(t, 1, "octocat", 1); !strings.HasPrefix(got, "@octocat fix-status checked the required contexts of ") {
		t.Errorf("a collaborator after two refused strangers: %q", got)
	}
	h.comment(t, 1, "octocat", "/fix-status")
	got := h.waitReply(t, 1, "octocat", 2)
	if !strings.HasPrefix(got, "@octocat fix-status checked this pull request less than a minute ago") || !strings.Contains(got, "Comment `/fix-status` again after ") {
		t.Errorf("a second run within the minute: %q", got)
	}
}

// TestE2ESafetyForkPulls: a PR from a fork goes the whole way:
// its pull_request webhook (head.repo a fork) is checked and repaired;
// after a push nobody told fix-status about, another CI's check run on the
// new head (whose payload lists no pull requests, as GitHub's do for fork
// heads) leads fix-status to the PR through GET /commits/{sha}/pulls, and
// the new head is repaired too, in the base repository.
func TestE2ESafetyForkPulls(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{}.yaml(), harnessOptions{})
	mark := h.mark()
	res := h.event(t, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "forker", Fork: true, Title: "Docs from a fork",
		Files: []fakegithub.File{{Filename: "docs/guide.md", Status: "modified"}}})
	n := res.Number
	var opened struct {
		PullRequest struct {
			Head struct {
				Repo struct {
					FullName string `json:"full_name"`
					Fork     bool   `json:"fork"`
				} `json:"repo"`
			} `json:"head"`
		} `json:"pull_request"`
	}
	payload := deliveryPayload(t, h, res.Delivery)
	if err := json.Unmarshal(payload, &opened); err != nil || !opened.PullRequest.Head.Repo.Fork || opened.PullRequest.Head.Repo.FullName != "forker/widgets" {
		t.Fatalf("the opened payload's head is not a fork: %+v (%v)", opened.PullRequest.Head, err)
	}
	wantVerdicts(t, h.waitDecisions(t, mark, prName(n), "pull-unit"), map[string]string{"pull-unit": "skip"})

	newHead := h.quietly(t, fakegithub.Event{Type: "pull_request.synchronize", Repo: widgetsRepo, Number: n,
		Files: []fakegithub.File{{Filename: "docs/guide.md", Status: "modified"}, {Filename: "docs/more.md", Status: "added"}}}).SHA
	h.gh.ResetStats()
	mark = h.mark()
	res = h.event(t, fakegithub.Event{Type: "check_run.completed", Repo: widgetsRepo, SHA: newHead, Name: "ci/other", AppID: 4242, Conclusion: "success"})
	var checkRun struct {
		CheckRun struct {
			HeadSHA      string            `json:"head_sha"`
			PullRequests []json.RawMessage `json:"pull_requests"`
		} `json:"check_run"`
	}
	if err := json.Unmarshal(deliveryPayload(t, h, res.Delivery), &checkRun); err != nil || checkRun.CheckRun.HeadSHA != newHead || checkRun.CheckRun.PullRequests == nil || len(checkRun.CheckRun.PullRequests) != 0 {
		t.Fatalf("the check run payload for the fork's head: %+v (%v), want an empty pull_requests", checkRun.CheckRun, err)
	}
	ds := h.waitDecisions(t, mark, prName(n), "pull-unit")
	wantVerdicts(t, ds, map[string]string{"pull-unit": "skip"})
	if got := h.gh.Stats().ByRoute["GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls"]; got != 1 {
		t.Errorf("the PRs of the commit were listed %d times, want 1", got)
	}
	if w := ours(h.gh.State(), widgetsRepo, newHead); w["status pull-unit"] != "success" {
		t.Errorf("the fork's new head was not repaired: %v", w)
	}
}

// deliveryPayload is the payload of a delivery the emulator made.
func deliveryPayload(t testing.TB, h *harness, id string) []byte {
	t.Helper()
	for _, d := range h.gh.Deliveries() {
		if d.ID == id {
			return d.Payload
		}
	}
	t.Fatalf("no delivery %s", id)
	return nil
}
