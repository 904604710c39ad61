package main

import (
	"context"
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
