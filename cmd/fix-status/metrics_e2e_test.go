package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/serve"
)

// TestE2EOperatorMetrics: the metrics the alert rules read move as an
// operator expects. A PR stuck past its grace period raises
// fix_status_stuck_prs and is repaired by fix-status itself (a push makes
// its job not run for it: skipped), which lowers it; writes GitHub refuses
// count as failed writes and failed reconciles, and the retry's as
// successful ones; a sweep sets the time of the last sweep; a failed
// delivery recovered counts as recovered.
func TestE2EOperatorMetrics(t *testing.T) {
	t.Parallel()
	clk := &offsetClock{}
	h := newHarness(t, widgets{}.yaml(), harnessOptions{grace: 10 * time.Minute, now: clk.Now})
	value := func(name string, labels map[string]string) float64 {
		v, _ := h.scrape(t, name, labels)
		return v
	}
	stuck := map[string]string{"repo": widgetsRepo, "reason": "waiting"}
	failed := map[string]string{"kind": "status", "result": "error"}
	written := map[string]string{"kind": "status", "result": "ok"}
	noLabels := map[string]string{}

	// Stuck past the grace period, then repaired by a skip.
	mark := h.mark()
	n := h.openPR(t, "octocat", "pkg/a.go")
	wantVerdicts(t, h.waitDecisions(t, mark, prName(n), "pull-unit"), map[string]string{"pull-unit": "waiting"})
	clk.Advance(11 * time.Minute)
	h.waitSeries(t, "fix_status_stuck_prs", stuck, 1)
	if v := value("fix_status_stuck_pr_oldest_seconds", noLabels); v < 60 {
		t.Errorf("oldest stuck %vs, want past the grace period", v)
	}
	mark = h.mark()
	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat",
		Contents: map[string]string{"prow/jobs.yaml": strings.Replace(widgetsJobs, "name: pull-unit\n    run_if_changed: '^pkg/'", "name: pull-unit\n    run_if_changed: '^cmd/'", 1)}})
	wantVerdicts(t, h.waitDecisions(t, mark, prName(n), "pull-unit"), map[string]string{"pull-unit": "skip"})
	if v, ok := h.scrape(t, "fix_status_stuck_prs", stuck); ok && v != 0 {
		t.Errorf("stuck after fix-status skipped it: %v", v)
	}
	if v := value("fix_status_stuck_pr_oldest_seconds", noLabels); v != 0 {
		t.Errorf("oldest stuck %vs once repaired", v)
	}

	// Writes refused, then retried.
	okBefore, errsBefore := value("fix_status_writes_total", written), value("fix_status_reconcile_errors_total", noLabels)
	h.gh.Fault(fakegithub.Fault{Route: "POST /repos/{owner}/{repo}/statuses/{sha}", Status: 502, Count: 2})
	mark = h.mark()
	docs := h.openPR(t, "octocat", "docs/a.md")
	h.waitOutcome(t, mark, "the repair after the failed writes", func(o serve.Outcome) bool {
		return o.PR.String() == prName(docs) && o.Err == nil && o.Report != nil && o.Report.Writes == 1
	})
	if v := value("fix_status_writes_total", failed); v < 2 {
		t.Errorf("failed status writes: %v, want the 2 GitHub refused", v)
	}
	if v := value("fix_status_reconcile_errors_total", noLabels) - errsBefore; v < 2 {
		t.Errorf("failed reconciles: %v more, want 2", v)
	}
	if v := value("fix_status_writes_total", written) - okBefore; v != 1 {
		t.Errorf("successful status writes: %v more, want the retry's 1", v)
	}
	if v := value("fix_status_reconcile_duration_seconds", noLabels); v < 4 {
		t.Errorf("reconciles timed: %v", v)
	}

	// A sweep, and a delivery recovered.
	if v := value("fix_status_last_sweep_timestamp_seconds", noLabels); v != 0 {
		t.Errorf("last sweep %v before any", v)
	}
	if err := h.srv.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := value("fix_status_last_sweep_timestamp_seconds", noLabels); v < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("last sweep at %v", v)
	}
	h.settle(t)
	h.gh.SetAppDown(true)
	if _, err := h.gh.Apply(context.Background(), fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat",
		Title: "Missed", Files: []fakegithub.File{{Filename: "docs/b.md", Status: "modified"}}}); err == nil {
		t.Fatal("delivered to an app that is down")
	}
	h.gh.SetAppDown(false)
	if n, err := h.srv.svc.Recover(context.Background(), 72*time.Hour); err != nil || n != 1 {
		t.Fatalf("recovered %d, %v; want 1", n, err)
	}
	if v := value("fix_status_deliveries_recovered_total", noLabels); v != 1 {
		t.Errorf("deliveries recovered: %v, want 1", v)
	}
}
