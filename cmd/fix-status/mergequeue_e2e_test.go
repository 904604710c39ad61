package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
	"github.com/fix-status/fix-status/app/serve"
)

// queueRepo has a merge queue on main requiring lint (a path-filtered
// workflow without a merge_group trigger: it never runs on merge groups) and
// build (a workflow with the trigger, simulated by the emulator).
const queueRepo = "acme/queue"

type queueScenario struct {
	repoConfig string // .github/fix-status.yml ("" = none)
	pulls      string // YAML list of pulls
	rules      string // more rules for main
	conclusion string // of the simulated build runs ("" = they stay queued)
}

func (q queueScenario) yaml() string {
	sim := "actions: {simulate_merge_group: true}\n"
	if q.conclusion != "" {
		sim = "actions: {simulate_merge_group: true, conclusion: " + q.conclusion + "}\n"
	}
	cfg := ""
	if q.repoConfig != "" {
		cfg = "        .github/fix-status.yml: |\n" + indentYAML(q.repoConfig, 10)
	}
	return `app: {id: 1, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 7, account: acme, account_type: Organization, repos: [acme/queue]}
` + sim + `repos:
  - name: acme/queue
    default_branch: main
    collaborators: {octocat: write}
    files:
      main:
        README.md: "hello\n"
` + cfg + `        .github/workflows/lint.yml: |
          on:
            pull_request:
              paths: ['src/**']
          jobs:
            lint: {runs-on: ubuntu-latest, steps: [{run: make lint}]}
        .github/workflows/build.yml: |
          on: [pull_request, merge_group]
          jobs:
            build: {runs-on: ubuntu-latest, steps: [{run: make}]}
    branches:
      main:
        protection:
          required_status_checks: {strict: false, contexts: [lint, build]}
        rules:
          - type: merge_queue
            parameters: {check_response_timeout_minutes: 60, grouping_strategy: ALLGREEN, max_entries_to_build: 5,
              max_entries_to_merge: 5, merge_method: MERGE, min_entries_to_merge: 1, min_entries_to_merge_wait_minutes: 0}
` + indentYAML(q.rules, 10) + `    pulls:
` + indentYAML(q.pulls, 6)
}

const queuePulls = `- {number: 1, title: Docs, user: octocat, base: main, files: [{filename: docs/guide.md, status: modified}]}
- {number: 2, title: Code, user: octocat, base: main, files: [{filename: src/a.go, status: modified}],
   check_runs: [{name: lint, status: completed, conclusion: success, app_id: 15368}, {name: build, status: completed, conclusion: success, app_id: 15368}]}
- {number: 3, title: Huge, user: octocat, base: main, generated_files: 350}
`

// queue puts PRs in the merge queue together and returns the group.
func (h *harness) queue(t testing.TB, prs ...int) *fakegithub.EventResult {
	t.Helper()
	return h.event(t, fakegithub.Event{Type: "merge_group.checks_requested", Repo: queueRepo, Base: "main", PRs: prs, User: "octocat"})
}

func group(st *fakegithub.State, sha string) *fakegithub.StateMergeGroup {
	for i := range st.Repos {
		for j := range st.Repos[i].MergeGroups {
			if g := &st.Repos[i].MergeGroups[j]; g.HeadSHA == sha {
				return g
			}
		}
	}
	return nil
}

// waitGroup waits for fix-status's decisions on a merge group's commit.
func (h *harness) waitGroup(t testing.TB, mark int, sha string, contexts ...string) map[string]decision {
	t.Helper()
	return h.waitDecisionsOf(t, mark, "merge group "+sha, func(o serve.Outcome) bool {
		return o.Report.MergeGroup != nil && o.Report.HeadSHA == sha
	}, contexts...)
}

func groupStatus(g *fakegithub.StateMergeGroup, context string) *fakegithub.StateStatus {
	var out *fakegithub.StateStatus
	for i := range g.Statuses {
		if strings.EqualFold(g.Statuses[i].Context, context) {
			out = &g.Statuses[i]
		}
	}
	return out
}

// TestE2EMergeQueueDocsOnlyGroupMerges: a group whose changes a
// path-filtered required workflow would not run for gets that context
// skipped on its commit; the workflow with the merge_group trigger reports
// itself; the queue merges the group.
func TestE2EMergeQueueDocsOnlyGroupMerges(t *testing.T) {
	t.Parallel()
	h := newHarness(t, queueScenario{pulls: queuePulls, conclusion: "success"}.yaml(), harnessOptions{})
	mark := h.mark()
	g := h.queue(t, 1)
	ds := h.waitGroup(t, mark, g.SHA, "lint", "build")
	wantVerdicts(t, ds, map[string]string{"lint": "skip: Skipped: no changed file matches paths [src/**]", "build": "satisfied"})
	st := h.waitState(t, "the group merged", func(st *fakegithub.State) bool { return group(st, g.SHA).State == "merged" })
	if s := groupStatus(group(st, g.SHA), "lint"); s == nil || s.Creator != bot || s.State != "success" {
		t.Errorf("lint on the group: %+v", s)
	}
}

// TestE2EMergeQueueBlocksWhatWouldRun: a group touching the filtered paths
// is blocked with the fix in the reason, and nothing is written for it;
// with carry_pr_results it passes exactly when every PR of the group passed.
func TestE2EMergeQueueBlocksWhatWouldRun(t *testing.T) {
	t.Parallel()
	t.Run("blocked", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, queueScenario{pulls: queuePulls, conclusion: "success"}.yaml(), harnessOptions{})
		mark := h.mark()
		g := h.queue(t, 2)
		ds := h.waitGroup(t, mark, g.SHA, "lint")
		wantVerdicts(t, ds, map[string]string{"lint": "blocked: add merge_group: to .github/workflows/lint.yml (would run: paths src/** matches src/a.go)"})
		h.settle(t)
		if s := groupStatus(group(h.gh.State(), g.SHA), "lint"); s != nil {
			t.Errorf("fix-status wrote %+v on a group it blocked", s)
		}
	})
	for _, c := range []struct {
		name   string
		first  string // PR 1's lint conclusion
		want   string
		merged bool
	}{
		{"carried when every PR passed", "success", "skip: Carried: passed on every PR of the group: #1 check run success, #2 check run success", true},
		{"not carried when one did not", "failure", "blocked: not carried: #1's check run failure", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pulls := strings.Replace(queuePulls, "- {number: 1, title: Docs, user: octocat, base: main, files: [{filename: docs/guide.md, status: modified}]}",
				"- {number: 1, title: Docs, user: octocat, base: main, files: [{filename: src/b.go, status: modified}], check_runs: [{name: lint, status: completed, conclusion: "+c.first+", app_id: 15368}]}", 1)
			h := newHarness(t, queueScenario{pulls: pulls, conclusion: "success",
				repoConfig: "version: 1\nsources: {actions: true}\nmerge_queue: {carry_pr_results: true}\n"}.yaml(), harnessOptions{})
			mark := h.mark()
			g := h.queue(t, 1, 2)
			wantVerdicts(t, h.waitGroup(t, mark, g.SHA, "lint"), map[string]string{"lint": c.want})
			if c.merged {
				h.waitState(t, "the group merged", func(st *fakegithub.State) bool { return group(st, g.SHA).State == "merged" })
			}
		})
	}
}

// TestE2EMergeQueueWaitsForWhatRunsThere: a workflow with the merge_group
// trigger is waited for, not skipped, while it has not reported.
func TestE2EMergeQueueWaitsForWhatRunsThere(t *testing.T) {
	t.Parallel()
	h := newHarness(t, queueScenario{pulls: queuePulls}.yaml(), harnessOptions{grace: time.Hour})
	mark := h.mark()
	g := h.queue(t, 1)
	ds := h.waitGroup(t, mark, g.SHA, "build", "lint")
	if d := ds["build"]; d.Verdict != "waiting" {
		t.Errorf("build: %s: %s", d.Verdict, d.Reason)
	}
	h.settle(t)
	if s := groupStatus(group(h.gh.State(), g.SHA), "build"); s != nil {
		t.Errorf("fix-status wrote %+v for a job that runs on merge groups", s)
	}
}

// TestE2EMergeQueueInvariants: a group over compare's 300 files is never
// skipped; a check pinned to another app is not written; a result someone
// else reported is respected; a destroyed group gets no more work.
func TestE2EMergeQueueInvariants(t *testing.T) {
	t.Parallel()
	t.Run("over 300 files", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, queueScenario{pulls: queuePulls}.yaml(), harnessOptions{})
		mark := h.mark()
		g := h.queue(t, 3)
		if d := h.waitGroup(t, mark, g.SHA, "lint")["lint"]; d.Verdict != "blocked" || !strings.Contains(d.Reason, "incomplete") {
			t.Errorf("lint: %s: %s", d.Verdict, d.Reason)
		}
	})
	t.Run("pinned", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, queueScenario{pulls: queuePulls, rules: "- type: required_status_checks\n  parameters: {required_status_checks: [{context: lint, integration_id: 15368}]}\n"}.yaml(), harnessOptions{})
		mark := h.mark()
		g := h.queue(t, 1)
		if d := h.waitGroup(t, mark, g.SHA, "lint")["lint"]; d.Verdict != "blocked" || !strings.Contains(d.Reason, "pinned to GitHub Actions") {
			t.Errorf("lint: %s: %s", d.Verdict, d.Reason)
		}
	})
	t.Run("reported by others", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, queueScenario{pulls: queuePulls}.yaml(), harnessOptions{coalesce: 300 * time.Millisecond})
		mark := h.mark()
		g := h.queue(t, 1)
		h.event(t, fakegithub.Event{Type: "status", Repo: queueRepo, SHA: g.SHA, Context: "lint", State: "pending", Creator: "jenkins"})
		if d := h.waitGroup(t, mark, g.SHA, "lint")["lint"]; d.Verdict != "waiting" {
			t.Errorf("lint: %s: %s", d.Verdict, d.Reason)
		}
	})
	t.Run("destroyed", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, queueScenario{pulls: queuePulls}.yaml(), harnessOptions{coalesce: time.Hour})
		g := h.queue(t, 1)
		h.event(t, fakegithub.Event{Type: "merge_group.destroyed", Repo: queueRepo, SHA: g.SHA, Reason: "dequeued"})
		// What was queued for the group is dropped; a check of it now finds
		// its branch gone.
		if !h.srv.svc.Idle() {
			t.Error("work for the destroyed group is still queued")
		}
		rep, err := h.srv.w.rec.ReconcileGroup(context.Background(), groupRef(t, h, g), reconcile.Trigger{Event: "test"})
		if err != nil || rep.Skipped != "the merge group left the queue" || len(rep.Decisions) != 0 {
			t.Errorf("a destroyed group: %+v, %v", rep, err)
		}
		if st := group(h.gh.State(), g.SHA); len(st.Statuses) != 0 {
			t.Errorf("written on a destroyed group: %+v", st.Statuses)
		}
	})
}

// groupRef names a merge group the emulator made.
func groupRef(t testing.TB, h *harness, g *fakegithub.EventResult) plan.MergeGroupRef {
	t.Helper()
	repo, err := ghapi.FindInstallation(context.Background(), h.srv.w.clients, plan.RepoRef{Owner: "acme", Repo: "queue"})
	if err != nil {
		t.Fatal(err)
	}
	return plan.MergeGroupRef{Repo: repo, HeadSHA: g.SHA, HeadRef: g.HeadRef, BaseRef: "main"}
}

// TestCheckMergeGroup: `check OWNER/REPO@SHA` explains a merge group's
// commit, context by context, without writing.
func TestCheckMergeGroup(t *testing.T) {
	t.Parallel()
	h := newHarness(t, queueScenario{pulls: queuePulls}.yaml(), harnessOptions{coalesce: time.Hour})
	g := h.queue(t, 2)
	path := writeConfig(t, h.cfg)
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"check", "--config", path, "--output", "json", "acme/queue@" + g.SHA[:10]})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		MergeGroup string `json:"merge_group"`
		HeadSHA    string `json:"head_sha"`
		Decisions  []struct{ Context, Verdict, Reason string }
		Writes     int
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if rep.MergeGroup != g.HeadRef || rep.HeadSHA != g.SHA || rep.Writes != 0 || len(rep.Decisions) != 2 {
		t.Fatalf("report: %s", out.String())
	}
	for _, d := range rep.Decisions {
		if d.Context == "lint" && d.Verdict != "blocked" {
			t.Errorf("lint: %s %s", d.Verdict, d.Reason)
		}
	}
	// A check of the group that fails says so.
	h.gh.Fault(fakegithub.Fault{Route: "GET /repos/{owner}/{repo}/compare/{basehead}", Status: 404})
	cmd = newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"check", "--config", path, "acme/queue@" + g.SHA[:10]})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "compare") {
		t.Errorf("a check whose compare failed: %v", err)
	}
	cmd = newRootCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"check", "--config", path, "acme/queue@0000000"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "no merge group of acme/queue is at 0000000") {
		t.Errorf("a commit that is no merge group: %v", err)
	}
}

// TestE2EMergeQueueAPIBudget counts what one merge group costs, from the
// emulator's counters: its first check (one skip written) and a re-check of
// the unchanged group (its webhook delivered again).
func TestE2EMergeQueueAPIBudget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, queueScenario{pulls: queuePulls}.yaml(), harnessOptions{grace: time.Hour})
	check := func(what string, deliver func() string, want map[string]int64, charged, notModified int64) {
		t.Helper()
		h.gh.ResetStats()
		mark := h.mark()
		h.waitGroup(t, mark, deliver(), "lint", "build")
		h.settle(t)
		st := h.gh.Stats()
		delete(st.ByRoute, "POST /app/installations/{installation_id}/access_tokens")
		if d := cmp.Diff(want, st.ByRoute); d != "" || st.RateLimitUsed["7"] != charged || st.NotModified != notModified {
			t.Errorf("%s: %d charged (want %d), %d not modified (want %d); requests by route (-want +got):\n%s",
				what, st.RateLimitUsed["7"], charged, st.NotModified, notModified, d)
		}
	}
	var sha string
	check("first check", func() string { sha = h.queue(t, 1).SHA; return sha }, map[string]int64{
		"GET /repos/{owner}/{repo}":                                                     1, // the owner's .github repository (absent): the default config
		"GET /repos/{owner}/{repo}/git/ref/{ref}":                                       3, // the group's branch, and again before writing (304); the base branch's head, read with its rules
		"GET /repos/{owner}/{repo}/compare/{basehead}":                                  1,
		"GET /repos/{owner}/{repo}/commits/{ref}/statuses":                              1,
		"GET /repos/{owner}/{repo}/commits/{ref}/check-runs":                            1,
		"GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks": 1,
		"GET /repos/{owner}/{repo}/rules/branches/{branch}":                             1,
		"GET /repos/{owner}/{repo}/contents/{path}":                                     4, // the repo config (absent), the workflows directory and its two files
		"POST /repos/{owner}/{repo}/statuses/{sha}":                                     1, // lint skipped
	}, 13, 1)
	// Unchanged but for fix-status's own skip: only the statuses are read
	// again; everything else is a free 304 or cached.
	check("re-check", func() string {
		for _, d := range h.gh.Deliveries() {
			if d.Event == "merge_group" {
				h.postSigned(t, d.Event, d.Payload)
			}
		}
		return sha
	}, map[string]int64{
		"GET /repos/{owner}/{repo}/git/ref/{ref}":            1,
		"GET /repos/{owner}/{repo}/compare/{basehead}":       1,
		"GET /repos/{owner}/{repo}/commits/{ref}/statuses":   1,
		"GET /repos/{owner}/{repo}/commits/{ref}/check-runs": 1,
	}, 1, 3)
}

// TestBackfillMergeGroups: backfill reconciles the merge groups in
// progress as well as the PRs: a docs-only group gets its path-filtered
// context skipped on its commit, a group that changes the filtered paths is
// reported blocked with the fix, and a resumed run skips the groups it
// finished.
func TestBackfillMergeGroups(t *testing.T) {
	ctx := context.Background()
	gh := fakegithubtest.Start(t, queueScenario{pulls: queuePulls}.yaml(), fakegithub.Options{})
	docs, err := gh.Apply(ctx, fakegithub.Event{Type: "merge_group.checks_requested", Repo: queueRepo, Base: "main", PRs: []int{1}, User: "octocat"})
	if err != nil {
		t.Fatal(err)
	}
	code, err := gh.Apply(ctx, fakegithub.Event{Type: "merge_group.checks_requested", Repo: queueRepo, Base: "main", PRs: []int{2}, User: "octocat"})
	if err != nil {
		t.Fatal(err)
	}
	resume := filepath.Join(t.TempDir(), "resume.jsonl")
	run := runBackfillCmd(t, ctx, gh, nil, []string{"--dry-run=false", "--resume", resume}, nil)
	if run.err != nil {
		t.Fatal(run.err)
	}
	groups := map[string]backfillResult{}
	for _, r := range run.report.Results {
		if strings.Contains(r.PR, "merge group") {
			groups[r.HeadSHA] = r
		}
	}
	verdict := func(r backfillResult, context string) string {
		for _, d := range r.Decisions {
			if d.Context == context {
				return d.Verdict + ": " + d.Reason
			}
		}
		return "none"
	}
	if got := verdict(groups[docs.SHA], "lint"); got != "skip: Skipped: no changed file matches paths [src/**]" {
		t.Errorf("docs-only group, lint: %s (results: %+v)", got, run.report.Results)
	}
	if got := verdict(groups[code.SHA], "lint"); !strings.HasPrefix(got, "blocked: ") || !strings.Contains(got, "add merge_group: to .github/workflows/lint.yml") {
		t.Errorf("code group, lint: %s", got)
	}
	if s := groupStatus(group(gh.State(), docs.SHA), "lint"); s == nil || s.Creator != bot || s.State != "success" {
		t.Errorf("lint on the docs-only group: %+v", s)
	}
	if s := groupStatus(group(gh.State(), code.SHA), "lint"); s != nil {
		t.Errorf("lint written on the code group: %+v", s)
	}
	again := runBackfillCmd(t, ctx, gh, nil, []string{"--dry-run=false", "--resume", resume}, nil)
	for _, r := range again.report.Results {
		if strings.Contains(r.PR, "merge group") {
			t.Errorf("the resumed run did %s again", r.PR)
		}
	}
}
