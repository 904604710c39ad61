package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/rules"
)

func TestParseGroupRef(t *testing.T) {
	for ref, want := range map[string]struct {
		base string
		pr   int
		ok   bool
	}{
		"refs/heads/gh-readonly-queue/main/pr-12-0123abcd": {"main", 12, true},
		"gh-readonly-queue/release/1.2/pr-7-ffff":          {"release/1.2", 7, true},
		"refs/heads/gh-readonly-queue/pr-x/pr-3-aa":        {"pr-x", 3, true},
		"refs/heads/main": {},
		"refs/heads/gh-readonly-queue/main/not-a-pr":               {},
		"refs/heads/gh-readonly-queue/main/pr-zero-0123456789abcd": {},
	} {
		base, pr, ok := ParseGroupRef(ref)
		if base != want.base || pr != want.pr || ok != want.ok {
			t.Errorf("ParseGroupRef(%q) = %q %d %v, want %+v", ref, base, pr, ok, want)
		}
	}
}

// groupSnapshot is a merge group of main whose changes are files.
func groupSnapshot(files ...string) *Snapshot {
	s := baseSnapshot()
	s.Files = files
	s.MergeGroup = &MergeGroup{Ref: MergeGroupRef{Repo: s.PR.RepoRef, HeadSHA: "head", HeadRef: "refs/heads/gh-readonly-queue/main/pr-2-abc", BaseRef: "main"}}
	s.Jobs[0].MergeGroup.Fix = "add merge_group: to .github/workflows/docs.yml"
	return s
}

// TestPlanMergeGroup: a merge group's required contexts, per how their jobs
// behave on merge groups.
func TestPlanMergeGroup(t *testing.T) {
	passed := func(n int, state string) GroupPR {
		return GroupPR{Number: n, HeadSHA: "pr", Statuses: []Status{{Context: "docs", State: state, Creator: "prow"}}}
	}
	tests := []struct {
		name   string
		s      *Snapshot
		edit   func(*Snapshot)
		want   Verdict
		cause  Cause
		reason string
	}{
		{name: "never runs on merge groups, not touched: skip", s: groupSnapshot("pkg/a.go"),
			want: Skip, cause: CauseWouldNotRun, reason: "Skipped: no changed file matches run_if_changed ^docs/"},
		{name: "never runs on merge groups, touched: blocked with the fix", s: groupSnapshot("docs/a.md"),
			want: Blocked, cause: CauseNotOnMergeGroup, reason: "add merge_group: to .github/workflows/docs.yml (would run: run_if_changed ^docs/ matches docs/a.md)"},
		{name: "runs on merge groups: waited for, never skipped", s: groupSnapshot("pkg/a.go"),
			edit: func(s *Snapshot) {
				s.Jobs[0].MergeGroup = rules.MergeGroup{Runs: true, Why: "merge_group trigger in .github/workflows/docs.yml"}
				s.Jobs[0].Rerun = rules.Rerun{Method: rules.RerunActions, Workflow: "docs.yml"}
				s.HeadSince = now.Add(-time.Minute)
			},
			want: Waiting, cause: CauseGracePeriod, reason: "should run (runs on merge groups: merge_group trigger in .github/workflows/docs.yml) and has not reported; grace period ends in 9m0s"},
		{name: "runs on merge groups with a comment rerun: no PR to comment on", s: groupSnapshot("pkg/a.go"),
			edit: func(s *Snapshot) { s.Jobs[0].MergeGroup = rules.MergeGroup{Runs: true, Why: "merge_group: runs"} },
			want: Blocked, cause: CauseNoRerun, reason: "should run (runs on merge groups: merge_group: runs) and has not reported; a comment cannot re-run it on a merge group"},
		{name: "more than compare lists: never skipped", s: groupSnapshot("pkg/a.go"),
			edit: func(s *Snapshot) { s.FilesComplete = false },
			want: Blocked, cause: CauseIncompleteFiles},
		{name: "pinned to another app: blocked", s: groupSnapshot("pkg/a.go"),
			edit: func(s *Snapshot) { s.Required[0].AppID = 15368 },
			want: Blocked, cause: CausePinned},
		{name: "someone else reported: never beside it", s: groupSnapshot("pkg/a.go"),
			edit: func(s *Snapshot) { s.Statuses = []Status{{Context: "docs", State: "failure", Creator: "prow"}} },
			want: Failing, cause: CauseFailed},
		{name: "carried: passed on every PR", s: groupSnapshot("docs/a.md"),
			edit: func(s *Snapshot) {
				s.MergeGroup.Carry, s.MergeGroup.PRsRead = true, true
				s.MergeGroup.PRs = []GroupPR{passed(1, "success"), passed(2, "success")}
			},
			want: Skip, cause: CauseCarried, reason: "Carried: passed on every PR of the group: #1 status success, #2 status success"},
		{name: "not carried: one PR failed it", s: groupSnapshot("docs/a.md"),
			edit: func(s *Snapshot) {
				s.MergeGroup.Carry, s.MergeGroup.PRsRead = true, true
				s.MergeGroup.PRs = []GroupPR{passed(1, "success"), passed(2, "failure")}
			},
			want: Blocked, cause: CauseNotOnMergeGroup, reason: "not carried: #2's status failure"},
		{name: "not carried: fix-status's own skip on a PR does not count", s: groupSnapshot("docs/a.md"),
			edit: func(s *Snapshot) {
				s.MergeGroup.Carry, s.MergeGroup.PRsRead = true, true
				s.MergeGroup.PRs = []GroupPR{{Number: 1, Statuses: []Status{{Context: "docs", State: "success", Creator: "fix-status[bot]"}}}}
			},
			want: Blocked, cause: CauseNotOnMergeGroup, reason: "not carried: nothing passed on #1's head"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			if tt.edit != nil {
				tt.edit(s)
			}
			d := Plan(s, opts)[0]
			if d.Verdict != tt.want || d.Cause != tt.cause || (tt.reason != "" && d.Reason != tt.reason) {
				t.Errorf("got %s (%s) %q, want %s (%s) %q", d.Verdict, d.Cause, d.Reason, tt.want, tt.cause, tt.reason)
			}
			if d.Verdict == Skip && (len(d.Writes) != 1 || d.Writes[0].State != "success") {
				t.Errorf("a skip without its write: %+v", d.Writes)
			}
			if d.Verdict != Skip && d.Verdict != Retrigger && len(d.Writes) > 0 {
				t.Errorf("%s writes %+v", d.Verdict, d.Writes)
			}
		})
	}
	s := groupSnapshot("docs/a.md")
	s.MergeGroup.Carry = true
	if !NeedsGroupPRs(s, Plan(s, opts)) {
		t.Error("carrying without the PRs' results read must ask for them")
	}
	if !strings.HasPrefix(s.MergeGroup.Ref.String(), "o/r@head (merge group of main)") {
		t.Errorf("String: %s", s.MergeGroup.Ref)
	}
}
