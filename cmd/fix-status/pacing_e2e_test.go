package main

import (
	"testing"
	"time"
)

// TestE2EServePacedUnderSecondaryLimits: with GitHub's secondary limits on
// (80 content-creating requests a minute and 500 an hour per installation,
// 900 points a minute per endpoint), serve repairs 300 PRs, one write each,
// and GitHub never answers a secondary limit: the governor paces the
// writes ahead of time, the reconcile's write guard reads the PR again
// after each paced wait. The emulator's and the server's clock only moves
// when the governor waits, so the run takes no wall time for its pacing.
func TestE2EServePacedUnderSecondaryLimits(t *testing.T) {
	t.Parallel()
	clk := newMovingClock()
	h := newHarness(t, "secondary_limits: true\n"+widgets{}.yaml(), harnessOptions{clock: clk})
	start := clk.Now()
	var prs []int
	for i := 0; i < 300; i++ {
		prs = append(prs, h.openPR(t, "octocat", "docs/a.md"))
	}
	waitRepaired(t, h.gh, prs, "pull-unit", e2eWait)
	h.settle(t)
	st := h.gh.Stats()
	writes := st.ByRoute["POST /repos/{owner}/{repo}/statuses/{sha}"]
	if st.SecondaryLimited != 0 || writes != 300 {
		t.Errorf("%d answers were a secondary limit, %d statuses written; want 0 and 300", st.SecondaryLimited, writes)
	}
	// 500 an hour: a burst of 50, then one every 8 s; the minute's 80 binds
	// less. 250 × 8 s is about 33 minutes of the clock.
	if took := clk.Now().Sub(start); took < 30*time.Minute {
		t.Errorf("300 writes took %s on the clock; GitHub's 500 an hour allow no less than about 33 minutes", took)
	}
	writesOnce(t, h.gh, prs)
}
