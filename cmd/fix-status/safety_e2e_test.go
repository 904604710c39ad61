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
	"net/http"
	"strings"
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

// TestE2ESafetyReplayedDeliveries (item 1): deliveries of pull_request that
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

// TestE2ESafetyPushDuringReconcile (item 2): a push lands while a reconcile
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

// TestE2ESafetyBackfillBaseChanged (item 3): backfill reads the PRs in bulk
// (GraphQL), then writes; between the two the PR's base changes (it is
// retargeted, or its base branch gets new rules). The write guard reads the
// PR and the base branch again before the first write, and the PR is
// judged again by what its base says now: nothing is written on the stale
// reading.
func TestE2ESafetyBackfillBaseChanged(t *testing.T) {
	t.Parallel()
	widened := strings.Replace(widgetsJobs, "run_if_changed: '^pkg/'", "run_if_changed: '^(pkg|docs)/'", 1)
	for _, c := range []struct {
		name   string
		change fakegithub.Event
	}{
		{"retargeted", fakegithub.Event{Type: "pull_request.edited", Repo: widgetsRepo, Number: 1, Base: "release"}},
		{"base rules pushed", fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat",
			Contents: map[string]string{"prow/jobs.yaml": widened}}},
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
			if _, err := gh.Apply(context.Background(), c.change); err != nil {
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
			d := run.report.Results[0].Decisions[0]
			if want := "should run (run_if_changed ^(pkg|docs)/ matches docs/guide.md) and has not reported"; d.Verdict == "skip" || !strings.HasPrefix(d.Reason, want) {
				t.Errorf("decision %s: %s; want the base's rules now: %s", d.Verdict, d.Reason, want)
			}
		})
	}
}
