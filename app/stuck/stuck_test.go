package stuck

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fix-status/fix-status/app/plan"
)

var (
	t0    = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	grace = 10 * time.Minute
	repo  = plan.RepoRef{InstallationID: 1, Owner: "o", Repo: "r"}
)

func d(context string, v plan.Verdict, c plan.Cause) plan.Decision {
	return plan.Decision{Context: context, Verdict: v, Cause: c, Reason: string(c)}
}

func report(head string, ds ...plan.Decision) *plan.Report {
	return &plan.Report{PR: repo.PR(1), HeadSHA: head, Decisions: ds}
}

type obs struct {
	at  time.Duration // after t0
	rep *plan.Report
}

// TestStuck is the definition of stuck, case by case: what is stuck at a
// time after a sequence of reconciles of one PR, with its reason and since
// when.
func TestStuck(t *testing.T) {
	tests := []struct {
		name   string
		obs    []obs
		at     time.Duration
		reason Reason        // "" = not stuck
		since  time.Duration // after t0
	}{
		{name: "blocked is stuck at once", obs: []obs{{0, report("h1", d("a", plan.Blocked, plan.CausePinned))}},
			at: 0, reason: Reason(plan.CausePinned), since: 0},
		{name: "blocked keeps its first time while head and cause stay", obs: []obs{
			{0, report("h1", d("a", plan.Blocked, plan.CauseNoJob))},
			{5 * time.Minute, report("h1", d("a", plan.Blocked, plan.CauseNoJob))}},
			at: 6 * time.Minute, reason: Reason(plan.CauseNoJob), since: 0},
		{name: "a new head starts over", obs: []obs{
			{0, report("h1", d("a", plan.Blocked, plan.CauseNoJob))},
			{5 * time.Minute, report("h2", d("a", plan.Blocked, plan.CauseNoJob))}},
			at: 6 * time.Minute, reason: Reason(plan.CauseNoJob), since: 5 * time.Minute},
		{name: "a new cause starts over", obs: []obs{
			{0, report("h1", d("a", plan.Blocked, plan.CauseManual))},
			{5 * time.Minute, report("h1", d("a", plan.Blocked, plan.CauseRetriggersExhausted))}},
			at: 6 * time.Minute, reason: Reason(plan.CauseRetriggersExhausted), since: 5 * time.Minute},
		{name: "inside the grace period: not stuck", obs: []obs{{0, report("h1", d("a", plan.Waiting, plan.CauseGracePeriod))}},
			at: grace},
		{name: "unresolved past the grace period: waiting", obs: []obs{{0, report("h1", d("a", plan.Waiting, plan.CauseGracePeriod))}},
			at: grace + time.Second, reason: ReasonWaiting, since: grace},
		{name: "re-triggered and still waiting counts from the first sight", obs: []obs{
			{0, report("h1", d("a", plan.Waiting, plan.CauseGracePeriod))},
			{grace, report("h1", d("a", plan.Retrigger, plan.CauseNotReported))},
			{grace + time.Minute, report("h1", d("a", plan.Waiting, plan.CauseGracePeriod))}},
			at: grace + 2*time.Minute, reason: ReasonWaiting, since: grace},
		{name: "a retrigger the commenter may not ask for stays unresolved", obs: []obs{
			{0, report("h1", d("a", plan.Retrigger, plan.CauseNeedsPermission))}},
			at: grace + time.Minute, reason: ReasonWaiting, since: grace},
		{name: "pending on a running CI is not stuck", obs: []obs{{0, report("h1", d("a", plan.Waiting, plan.CausePending))}},
			at: time.Hour},
		{name: "failing is for people, not stuck", obs: []obs{{0, report("h1", d("a", plan.Failing, plan.CauseFailed))}},
			at: time.Hour},
		{name: "a skip about to be written is not stuck", obs: []obs{{0, report("h1", d("a", plan.Skip, plan.CauseWouldNotRun))}},
			at: time.Hour},
		{name: "repaired leaves the set", obs: []obs{
			{0, report("h1", d("a", plan.Blocked, plan.CauseNoJob))},
			{time.Minute, report("h1", d("a", plan.Satisfied, plan.CauseReported))}},
			at: 2 * time.Minute},
		{name: "closed leaves the set", obs: []obs{
			{0, report("h1", d("a", plan.Blocked, plan.CauseNoJob))},
			{time.Minute, &plan.Report{PR: repo.PR(1), HeadSHA: "h1", Skipped: "the pull request is closed"}}},
			at: 2 * time.Minute},
		{name: "a refused command says nothing new", obs: []obs{
			{0, report("h1", d("a", plan.Blocked, plan.CauseNoJob))},
			{time.Minute, &plan.Report{PR: repo.PR(1), HeadSHA: "h1", Skipped: "only collaborators may run /fix-status on o/r"}}},
			at: 2 * time.Minute, reason: Reason(plan.CauseNoJob), since: 0},
		{name: "a failed reconcile says nothing new", obs: []obs{
			{0, report("h1", d("a", plan.Blocked, plan.CauseNoJob))},
			{time.Minute, nil}},
			at: 2 * time.Minute, reason: Reason(plan.CauseNoJob), since: 0},
		{name: "several reasons: the most telling, since the earliest", obs: []obs{
			{0, report("h1", d("a", plan.Waiting, plan.CauseGracePeriod), d("b", plan.Blocked, plan.CauseManual))},
			{time.Minute, report("h1", d("a", plan.Waiting, plan.CauseGracePeriod), d("b", plan.Blocked, plan.CauseManual),
				d("c", plan.Blocked, plan.CausePinned))}},
			at: time.Hour, reason: Reason(plan.CausePinned), since: 0},
		{name: "unseen for a day leaves the set", obs: []obs{{0, report("h1", d("a", plan.Blocked, plan.CauseNoJob))}},
			at: DefaultMaxUnseen + time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(Options{Grace: grace})
			for _, o := range tt.obs {
				tr.Observe(repo.PR(1), o.rep, t0.Add(o.at))
			}
			got := tr.Stuck(t0.Add(tt.at))
			if tt.reason == "" {
				if len(got) != 0 {
					t.Fatalf("stuck: %+v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("stuck: %+v, want one PR", got)
			}
			if got[0].Reason != tt.reason || !got[0].Since.Equal(t0.Add(tt.since)) {
				t.Errorf("stuck for %s since %s, want %s since %s", got[0].Reason, got[0].Since.Sub(t0), tt.reason, tt.since)
			}
		})
	}
}

func TestForgetAndBound(t *testing.T) {
	tr := New(Options{Grace: grace, MaxPRs: 2})
	for n := 1; n <= 3; n++ {
		tr.Observe(repo.PR(n), &plan.Report{HeadSHA: "h", Decisions: []plan.Decision{d("a", plan.Blocked, plan.CauseNoJob)}}, t0.Add(time.Duration(n)*time.Minute))
	}
	var got []string
	for _, p := range tr.Stuck(t0.Add(time.Hour)) {
		got = append(got, p.PR.String())
	}
	if diff := cmp.Diff([]string{"o/r#2", "o/r#3"}, got); diff != "" {
		t.Errorf("past MaxPRs the one seen longest ago goes (-want +got):\n%s", diff)
	}
	tr.Forget(repo.PR(2))
	if n := len(tr.Stuck(t0.Add(time.Hour))); n != 1 {
		t.Errorf("after Forget: %d stuck", n)
	}
}

// TestHistory: stuck counts are sampled per 10-minute bucket, also across
// buckets nothing was observed in (the state did not change, the clock
// did), and repairs count the writes made.
func TestHistory(t *testing.T) {
	tr := New(Options{Grace: grace})
	tr.Observe(repo.PR(1), report("h1", d("a", plan.Waiting, plan.CauseGracePeriod)), t0)
	tr.Observe(repo.PR(2), report("h1", d("a", plan.Blocked, plan.CauseNoJob)), t0.Add(time.Minute))
	rep := report("h1", d("a", plan.Skip, plan.CauseWouldNotRun))
	rep.PR, rep.Writes = repo.PR(3), 2
	tr.Observe(repo.PR(3), rep, t0.Add(2*time.Minute))
	other := plan.RepoRef{InstallationID: 2, Owner: "x", Repo: "y"}
	tr.Observe(other.PR(9), report("h1", d("a", plan.Blocked, plan.CauseNoJob)), t0.Add(3*time.Minute))
	if diff := cmp.Diff([]plan.RepoRef{{Owner: "o", Repo: "r"}, {Owner: "x", Repo: "y"}}, tr.HistoryRepos(t0.Add(35*time.Minute))); diff != "" {
		t.Errorf("HistoryRepos (-want +got):\n%s", diff)
	}
	h := tr.History(t0.Add(35*time.Minute), func(repo string) bool { return repo == "o/r" })
	if len(h) != Buckets || !h[len(h)-1].Start.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("%d buckets, the last at %s", len(h), h[len(h)-1].Start)
	}
	var got []string
	for _, p := range h[len(h)-5:] {
		got = append(got, fmt.Sprintf("%s known=%v stuck=%d repairs=%d", p.Start.Format("15:04"), p.Known, p.Stuck, p.Repairs))
	}
	want := []string{
		"11:50 known=false stuck=0 repairs=0",
		// The grace period of #1 ends at 12:10: one stuck at 12:09:59.
		"12:00 known=true stuck=1 repairs=2",
		"12:10 known=true stuck=2 repairs=0",
		"12:20 known=true stuck=2 repairs=0",
		"12:30 known=true stuck=2 repairs=0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	// A day later the buckets of then are gone.
	if all := tr.History(t0.Add(35*time.Minute), nil); all[len(all)-1].Stuck != 3 {
		t.Errorf("every repository: %d stuck now, want 3", all[len(all)-1].Stuck)
	}
	for _, p := range tr.History(t0.Add(25*time.Hour), nil) {
		if p.Repairs != 0 {
			t.Errorf("bucket %s still holds %d repairs a day later", p.Start, p.Repairs)
		}
	}
}

func TestCollector(t *testing.T) {
	clock := t0
	tr := New(Options{Grace: grace, Now: func() time.Time { return clock }})
	tr.Observe(repo.PR(1), report("h1", d("a", plan.Blocked, plan.CausePinned)), t0)
	tr.Observe(repo.PR(2), report("h1", d("a", plan.Blocked, plan.CausePinned)), t0.Add(time.Minute))
	other := plan.RepoRef{InstallationID: 2, Owner: "x", Repo: "y"}
	tr.Observe(other.PR(5), report("h1", d("a", plan.Waiting, plan.CauseGracePeriod)), t0)
	clock = t0.Add(grace + 90*time.Second)
	want := `
# HELP fix_status_stuck_pr_oldest_seconds How long the longest-stuck pull request has been stuck (0 when none is).
# TYPE fix_status_stuck_pr_oldest_seconds gauge
fix_status_stuck_pr_oldest_seconds 690
# HELP fix_status_stuck_prs Pull requests stuck now (a required context blocked, or unresolved past the grace period), by repository and reason.
# TYPE fix_status_stuck_prs gauge
fix_status_stuck_prs{reason="pinned",repo="o/r"} 2
fix_status_stuck_prs{reason="waiting",repo="x/y"} 1
`
	if err := testutil.CollectAndCompare(tr, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
