package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
)

// TestE2EMissedDeliveriesRecovered: while the app is down, GitHub's
// deliveries fail and GitHub never sends them again by itself; the recovery
// asks for each failed one once, it arrives with its original delivery id,
// and each PR is repaired once.
func TestE2EMissedDeliveriesRecovered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{}.yaml(), harnessOptions{})
	h.gh.SetAppDown(true)
	var prs []int
	for _, f := range []string{"docs/a.md", "docs/b.md", "README.md"} {
		// The event happens; its delivery fails.
		res, err := h.gh.Apply(context.Background(), fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat",
			Title: "Change " + f, Files: []fakegithub.File{{Filename: f, Status: "modified"}}})
		if err == nil || res == nil || res.Number == 0 {
			t.Fatalf("delivered to an app that is down: %+v, %v", res, err)
		}
		prs = append(prs, res.Number)
	}
	h.gh.SetAppDown(false)
	mark := h.mark()
	n, err := h.srv.svc.Recover(context.Background(), 72*time.Hour)
	if err != nil || n != len(prs) {
		t.Fatalf("redelivered %d, %v; want %d", n, err, len(prs))
	}
	for _, pr := range prs {
		wantVerdicts(t, h.waitDecisions(t, mark, prName(pr), "pull-unit"), map[string]string{"pull-unit": "skip"})
	}
	h.settle(t)
	for _, pr := range prs {
		if w := writesBy(h.pull(t, widgetsRepo, pr), bot); len(w) != 1 {
			t.Errorf("#%d: fix-status wrote %q, want one skip", pr, w)
		}
	}
	redelivered := map[string]int{}
	for _, d := range h.gh.Deliveries() {
		if d.Redelivery {
			redelivered[d.ID]++
		}
	}
	if len(redelivered) != len(prs) {
		t.Errorf("redelivered deliveries: %v", redelivered)
	}
	for id, c := range redelivered {
		if c != 1 {
			t.Errorf("delivery %s redelivered %d times", id, c)
		}
	}
	// Each failed delivery once: a second pass asks for nothing.
	if n, err := h.srv.svc.Recover(context.Background(), 72*time.Hour); err != nil || n != 0 {
		t.Errorf("second recovery: %d, %v", n, err)
	}
}

// TestE2EStatusStormLosesNoPREvent: a storm of CI statuses on a few commits
// is a few pieces of work (one per commit), so pull_request deliveries
// among it are all queued and their PRs repaired, even with a small queue.
func TestE2EStatusStormLosesNoPREvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{pulls: presetPulls}.yaml(), harnessOptions{queueSize: 40, coalesce: 200 * time.Millisecond})
	heads := []string{h.pull(t, widgetsRepo, 1).HeadSHA, h.pull(t, widgetsRepo, 2).HeadSHA, h.pull(t, widgetsRepo, 3).HeadSHA}
	var prs []int
	for i := 0; i < 600; i++ {
		h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: heads[i%3], Context: fmt.Sprintf("ci/job-%d", i%50),
			State: "pending", Creator: "jenkins"})
		if i%20 == 0 {
			prs = append(prs, h.openPR(t, "octocat", fmt.Sprintf("docs/storm-%d.md", i)))
		}
	}
	if got := h.metric(t, "fix_status_deliveries_dropped_total"); got != 0 {
		t.Errorf("%v deliveries answered 503", got)
	}
	for _, n := range prs {
		if st := h.waitState(t, fmt.Sprintf("the skip of #%d", n), func(st *fakegithub.State) bool {
			s := latestStatus(pull(st, widgetsRepo, n), "pull-unit")
			return s != nil && s.Creator == bot
		}); st == nil {
			t.Fatal("no state")
		}
	}
}

// TestE2EFanOutBiggerThanTheQueue: a protection change on a repository with
// more open PRs than the queue holds re-checks every one of them (the rest
// waits for room instead of being dropped).
func TestE2EFanOutBiggerThanTheQueue(t *testing.T) {
	t.Parallel()
	var pulls strings.Builder
	for n := 1; n <= 25; n++ {
		fmt.Fprintf(&pulls, "- {number: %d, title: PR %d, user: octocat, base: main, files: [{filename: docs/%d.md, status: modified}]}\n", n, n, n)
	}
	h := newHarness(t, widgets{pulls: pulls.String()}.yaml(), harnessOptions{queueSize: 5, workers: 2})
	mark := h.mark()
	h.event(t, fakegithub.Event{Type: "branch_protection_rule.edited", Repo: widgetsRepo, Branch: "main",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: []string{"pull-unit"}}}})
	for n := 1; n <= 25; n++ {
		h.waitDecisions(t, mark, prName(n), "pull-unit")
	}
}
