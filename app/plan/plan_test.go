package plan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fix-status/fix-status/app/rules"
)

// prefixFilter runs when a changed file starts with its prefix.
type prefixFilter string

func (f prefixFilter) Match(files []string) (bool, string) {
	for _, name := range files {
		if len(name) >= len(f) && name[:len(f)] == string(f) {
			return true, "run_if_changed ^" + string(f) + " matches " + name
		}
	}
	return false, "no changed file matches run_if_changed ^" + string(f)
}

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func prowJob(context, prefix string) *rules.Job {
	j := &rules.Job{Name: context, Context: context, Source: rules.SourceProw,
		Origin: rules.Origin{Repo: "o/r", Path: "jobs.yaml", Line: 3},
		Rerun:  rules.Rerun{Method: rules.RerunComment, Comment: "/test " + context}}
	if prefix == "" {
		j.Trigger = rules.TriggerAlways
	} else {
		j.Trigger, j.Files = rules.TriggerConditional, prefixFilter(prefix)
	}
	return j
}

func baseSnapshot() *Snapshot {
	return &Snapshot{
		PR: RepoRef{Owner: "o", Repo: "r"}.PR(1), State: "open",
		BaseBranch: "main", BaseSHA: "base", HeadSHA: "head", HeadSince: now.Add(-time.Hour),
		Files: []string{"pkg/a.go"}, FilesComplete: true,
		Required:       []RequiredCheck{{Context: "docs", From: "protection"}},
		Jobs:           []*rules.Job{prowJob("docs", "docs/"), prowJob("unit", "pkg/")},
		RetriggersRead: true,
	}
}

var opts = PlanOptions{Now: now, AppID: 99, AppLogin: "fix-status[bot]", ReportAs: "status",
	WebURL: "https://github.com", GracePeriod: 10 * time.Minute, StalePendingAfter: 2 * time.Hour}

func TestPlan(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(s *Snapshot)
		opts   func(o *PlanOptions)
		want   Verdict
		cause  Cause
		reason string
		writes []Write
	}{
		{name: "skip: conditional job does not match", cause: CauseWouldNotRun,
			want: Skip, reason: "Skipped: no changed file matches run_if_changed ^docs/",
			writes: []Write{{Kind: WriteStatus, Context: "docs", State: "success",
				Description: "Skipped: no changed file matches run_if_changed ^docs/",
				TargetURL:   "https://github.com/o/r/blob/base/jobs.yaml#L3"}}},
		{name: "skip as a check run when report_as check_run", cause: CauseWouldNotRun,
			opts: func(o *PlanOptions) { o.ReportAs = "check_run" },
			want: Skip, reason: "Skipped: no changed file matches run_if_changed ^docs/",
			writes: []Write{{Kind: WriteCheckRun, Context: "docs", State: "skipped",
				Description: "Skipped: no changed file matches run_if_changed ^docs/",
				TargetURL:   "https://github.com/o/r/blob/base/jobs.yaml#L3",
				Title:       "Skipped by fix-status: docs would not run for this pull request"}}},
		{name: "with a public URL, what fix-status writes links to the details page", cause: CauseWouldNotRun,
			opts: func(o *PlanOptions) { o.PublicURL = "https://fix-status.example.com" },
			want: Skip, reason: "Skipped: no changed file matches run_if_changed ^docs/",
			writes: []Write{{Kind: WriteStatus, Context: "docs", State: "success",
				Description: "Skipped: no changed file matches run_if_changed ^docs/",
				TargetURL:   "https://fix-status.example.com/prs/o/r/1#check-docs"}}},
		{name: "satisfied by a success status", cause: CauseReported,
			edit: func(s *Snapshot) {
				s.Statuses = []Status{{Context: "DOCS", State: "success", Creator: "prow"}}
			},
			want: Satisfied, reason: "status reported success"},
		{name: "satisfied by a neutral check run", cause: CauseReported,
			edit: func(s *Snapshot) {
				s.CheckRuns = []CheckRun{{Name: "docs", Status: "completed", Conclusion: "neutral", AppID: 5}}
			},
			want: Satisfied, reason: "check run reported neutral"},
		{name: "satisfied by our own earlier skip (idempotent)", cause: CauseOwnSkip,
			edit: func(s *Snapshot) {
				s.Statuses = []Status{{Context: "docs", State: "success", Creator: "fix-status[bot]"}}
			},
			want: Satisfied, reason: "already skipped by fix-status: no changed file matches run_if_changed ^docs/"},
		{name: "failing status is left to humans", cause: CauseFailed,
			edit: func(s *Snapshot) { s.Statuses = []Status{{Context: "docs", State: "failure", Creator: "prow"}} },
			want: Failing, reason: "status reported failure"},
		{name: "failing check run beside a passing status", cause: CauseFailed,
			edit: func(s *Snapshot) {
				s.Statuses = []Status{{Context: "docs", State: "success", Creator: "prow"}}
				s.CheckRuns = []CheckRun{{Name: "docs", Status: "completed", Conclusion: "timed_out", AppID: 5}}
			},
			want: Failing, reason: "check run reported timed_out"},
		{name: "waiting: pending and not stale", cause: CausePending,
			edit: func(s *Snapshot) {
				s.Statuses = []Status{{Context: "docs", State: "pending", Creator: "prow", CreatedAt: now.Add(-time.Hour)}}
			},
			want: Waiting, reason: "status is pending"},
		{name: "retrigger: pending past the stale limit", cause: CauseStalePending,
			edit: func(s *Snapshot) {
				s.Statuses = []Status{{Context: "docs", State: "pending", Creator: "prow", CreatedAt: now.Add(-3 * time.Hour)}}
			},
			want: Retrigger, reason: "status pending for 3h0m0s",
			writes: []Write{{Kind: WriteComment, Context: "docs", Comment: "/test docs", Attempt: 1}}},
		{name: "stale_pending_after 0 never re-triggers", cause: CausePending,
			edit: func(s *Snapshot) {
				s.Statuses = []Status{{Context: "docs", State: "pending", Creator: "prow", CreatedAt: now.Add(-300 * time.Hour)}}
			},
			opts: func(o *PlanOptions) { o.StalePendingAfter = 0 },
			want: Waiting, reason: "status is pending"},
		{name: "waiting: should run, inside the grace period", cause: CauseGracePeriod,
			edit: func(s *Snapshot) { s.Required[0].Context = "unit"; s.HeadSince = now.Add(-time.Minute) },
			want: Waiting, reason: "should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported; grace period ends in 9m0s"},
		{name: "retrigger: should run, never reported after the grace period", cause: CauseNotReported,
			edit: func(s *Snapshot) { s.Required[0].Context = "unit" },
			want: Retrigger, reason: "should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported",
			writes: []Write{{Kind: WriteComment, Context: "unit", Comment: "/test unit", Attempt: 1}}},
		{name: "waiting after our own re-trigger", cause: CauseGracePeriod,
			edit: func(s *Snapshot) {
				s.Required[0].Context = "unit"
				s.Retriggers = []PastRetrigger{{Context: "unit", At: now.Add(-2 * time.Minute)}}
			},
			want: Waiting, reason: "should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported; grace period ends in 8m0s"},
		{name: "blocked after too many re-triggers", cause: CauseRetriggersExhausted,
			edit: func(s *Snapshot) {
				s.Required[0].Context = "unit"
				for i := 1; i <= 3; i++ {
					s.Retriggers = append(s.Retriggers, PastRetrigger{Context: "unit", At: now.Add(-time.Duration(i) * time.Hour)})
				}
			},
			want: Blocked, reason: "should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported; re-triggered 3 times already"},
		{name: "revoke: our skip is wrong now, and re-trigger", cause: CauseRevoked,
			edit: func(s *Snapshot) {
				s.Required[0].Context = "unit"
				s.Statuses = []Status{{Context: "unit", State: "success", Creator: "fix-status[bot]", Description: "Skipped: x"}}
			},
			want: Revoke, reason: "our earlier skip is wrong now: run_if_changed ^pkg/ matches pkg/a.go",
			writes: []Write{
				{Kind: WriteStatus, Context: "unit", State: "pending", Description: "fix-status revoked its skip: run_if_changed ^pkg/ matches pkg/a.go",
					TargetURL: "https://github.com/o/r/blob/base/jobs.yaml#L3"},
				{Kind: WriteComment, Context: "unit", Comment: "/test unit", Attempt: 1},
			}},
		{name: "our pending status after a revoke counts as no result", cause: CauseGracePeriod,
			edit: func(s *Snapshot) {
				s.Required[0].Context = "unit"
				s.Statuses = []Status{{Context: "unit", State: "pending", Creator: "fix-status[bot]"}}
				s.Retriggers = []PastRetrigger{{Context: "unit", At: now.Add(-time.Minute)}}
			},
			want: Waiting, reason: "should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported; grace period ends in 9m0s"},
		{name: "manual job is blocked, not skipped", cause: CauseManual,
			edit: func(s *Snapshot) {
				s.Jobs[0] = &rules.Job{Name: "docs", Context: "docs", Trigger: rules.TriggerManual, Rerun: rules.Rerun{Method: rules.RerunComment, Comment: "/test docs"}}
			},
			want: Blocked, reason: "manual job, runs only when requested: /test docs"},
		{name: "branch filter excludes the base branch: skip", cause: CauseWouldNotRun,
			edit: func(s *Snapshot) { s.Jobs[0].Branches = neverBranch{} },
			want: Skip, reason: "Skipped: branch main does not match branches ^release$",
			writes: []Write{{Kind: WriteStatus, Context: "docs", State: "success", Description: "Skipped: branch main does not match branches ^release$", TargetURL: "https://github.com/o/r/blob/base/jobs.yaml#L3"}}},
		{name: "sharded job: the definition that runs wins", cause: CauseNotReported,
			edit: func(s *Snapshot) {
				other := prowJob("docs", "pkg/")
				s.Jobs = append(s.Jobs, other)
			},
			want: Retrigger, reason: "should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported",
			writes: []Write{{Kind: WriteComment, Context: "docs", Comment: "/test docs", Attempt: 1}}},
		{name: "invariant 1: PR changes the rules and its version would run the job", cause: CauseRulesChanged,
			edit: func(s *Snapshot) {
				s.RuleFilesChanged = []string{"jobs.yaml"}
				s.HeadJobs = []*rules.Job{prowJob("docs", "pkg/")}
			},
			want: Blocked, reason: "this PR changes jobs.yaml; with its changes: run_if_changed ^pkg/ matches pkg/a.go"},
		{name: "invariant 1: PR changes the rules and its version agrees", cause: CauseWouldNotRun,
			edit: func(s *Snapshot) {
				s.RuleFilesChanged = []string{"jobs.yaml"}
				s.HeadJobs = []*rules.Job{prowJob("docs", "documentation/")}
			},
			want: Skip, reason: "Skipped: no changed file matches run_if_changed ^docs/",
			writes: []Write{{Kind: WriteStatus, Context: "docs", State: "success", Description: "Skipped: no changed file matches run_if_changed ^docs/", TargetURL: "https://github.com/o/r/blob/base/jobs.yaml#L3"}}},
		{name: "invariant 1: PR removes the job", cause: CauseRulesChanged,
			edit: func(s *Snapshot) { s.RuleFilesChanged = []string{"jobs.yaml"}; s.HeadJobs = nil },
			want: Blocked, reason: "this PR changes jobs.yaml; with its changes: no job defines it"},
		{name: "invariant 1: head rules unreadable", cause: CauseRulesError,
			edit: func(s *Snapshot) { s.RuleFilesChanged = []string{"jobs.yaml"}; s.HeadRulesErr = errors.New("bad YAML") },
			want: Blocked, reason: "this PR changes jobs.yaml and its rules cannot be read: bad YAML"},
		{name: "invariant 2: incomplete file list is never skipped", cause: CauseIncompleteFiles,
			edit: func(s *Snapshot) { s.FilesComplete = false },
			want: Blocked, reason: "cannot tell if it runs: the changed-file list is incomplete (1 files listed)"},
		{name: "invariant 2: an incomplete list blocks a branch filter's skip too", cause: CauseIncompleteFiles,
			edit: func(s *Snapshot) { s.FilesComplete = false; s.Jobs[0].Branches = neverBranch{} },
			want: Blocked, reason: "would not run (branch main does not match branches ^release$), but the changed-file list is incomplete (1 files listed)"},
		{name: "invariant 3: pins that disagree block, naming both", cause: CausePinned,
			edit: func(s *Snapshot) {
				s.Required = []RequiredCheck{{Context: "docs", AppID: 15368, From: "protection"}, {Context: "DOCS", AppID: 4242, From: "ruleset"}}
				s.CheckRuns = []CheckRun{{Name: "docs", Status: "completed", Conclusion: "success", AppID: 15368}}
			},
			want: Blocked, reason: "the required check is pinned to GitHub Actions by protection and to app 4242 by ruleset"},
		{name: "invariant 3: an app is named by the slug of its check runs", cause: CausePinned,
			edit: func(s *Snapshot) {
				s.Required[0].AppID = 4242
				s.CheckRuns = []CheckRun{{Name: "other", Status: "completed", Conclusion: "success", AppID: 4242, AppSlug: "buildkite"}}
			},
			want: Blocked, reason: "would not run (no changed file matches run_if_changed ^docs/), but the check is pinned to buildkite"},
		{name: "invariant 3: a pin from one source holds when the other has none", cause: CausePinned,
			edit: func(s *Snapshot) {
				s.Required = []RequiredCheck{{Context: "docs", From: "protection"}, {Context: "docs", AppID: 15368, From: "ruleset"}}
			},
			want: Blocked, reason: "would not run (no changed file matches run_if_changed ^docs/), but the check is pinned to GitHub Actions"},
		{name: "invariant 3: pinned to another app", cause: CausePinned,
			edit: func(s *Snapshot) { s.Required[0].AppID = 15368 },
			want: Blocked, reason: "would not run (no changed file matches run_if_changed ^docs/), but the check is pinned to GitHub Actions"},
		{name: "invariant 3: a result from another app does not satisfy a pinned check", cause: CauseNotReported,
			edit: func(s *Snapshot) {
				s.Required[0].AppID = 15368
				s.Required[0].Context = "unit"
				s.CheckRuns = []CheckRun{{Name: "unit", Status: "completed", Conclusion: "success", AppID: 7}}
			},
			want: Retrigger, reason: "should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported",
			writes: []Write{{Kind: WriteComment, Context: "unit", Comment: "/test unit", Attempt: 1}}},
		{name: "pinned to us: skip allowed", cause: CauseWouldNotRun,
			edit: func(s *Snapshot) { s.Required[0].AppID = 99 },
			want: Skip, reason: "Skipped: no changed file matches run_if_changed ^docs/",
			writes: []Write{{Kind: WriteStatus, Context: "docs", State: "success", Description: "Skipped: no changed file matches run_if_changed ^docs/", TargetURL: "https://github.com/o/r/blob/base/jobs.yaml#L3"}}},
		{name: "invariant 4: never write beside another sender's pending result", cause: CausePending,
			edit: func(s *Snapshot) {
				s.CheckRuns = []CheckRun{{Name: "docs", Status: "in_progress", AppID: 7, StartedAt: now.Add(-time.Minute)}}
			},
			want: Waiting, reason: "check run is in_progress"},
		{name: "invariant 5: unknown context", cause: CauseNoJob,
			edit: func(s *Snapshot) { s.Required[0].Context = "mystery" },
			want: Blocked, reason: "no job defines it"},
		{name: "invariant 6: rules error writes nothing", cause: CauseRulesError,
			edit: func(s *Snapshot) {
				s.RulesErr = errors.New(`jobs.yaml: job "docs": invalid run_if_changed regex "^(docs"`)
			},
			want: Blocked, reason: `cannot read the job rules: jobs.yaml: job "docs": invalid run_if_changed regex "^(docs"`},
		{name: "invariant 6: rules error does not revoke either", cause: CauseRulesError,
			edit: func(s *Snapshot) {
				s.RulesErr = errors.New("bad")
				s.Statuses = []Status{{Context: "docs", State: "success", Creator: "fix-status[bot]"}}
			},
			want: Blocked, reason: "cannot read the job rules: bad"},
		{name: "unknown verdict is blocked", cause: CauseUnknown,
			edit: func(s *Snapshot) { s.Jobs[0].Unknown = "check name depends on an expression" },
			want: Blocked, reason: "cannot tell if it runs: check name depends on an expression"},
		{name: "no rerun method known", cause: CauseNoRerun,
			edit: func(s *Snapshot) { s.Required[0].Context = "unit"; s.Jobs[1].Rerun = rules.Rerun{} },
			want: Blocked, reason: "should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported; no way to re-run it is known"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := baseSnapshot()
			if tt.edit != nil {
				tt.edit(s)
			}
			o := opts
			if tt.opts != nil {
				tt.opts(&o)
			}
			ds := Plan(s, o)
			if len(ds) != 1 {
				t.Fatalf("got %d decisions, want 1", len(ds))
			}
			d := ds[0]
			if d.Verdict != tt.want || d.Reason != tt.reason || d.Cause != tt.cause {
				t.Errorf("got %s %q (%s), want %s %q (%s)", d.Verdict, d.Reason, d.Cause, tt.want, tt.reason, tt.cause)
			}
			if d.Verdict == Waiting && strings.Contains(d.Reason, "grace period ends in") && d.RecheckAt.IsZero() {
				t.Error("a decision waiting for the grace period has no RecheckAt")
			}
			// A check run's text has golden tests of its own.
			if diff := cmp.Diff(tt.writes, d.Writes, cmpopts.IgnoreFields(Write{}, "Text")); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
		})
	}
}

type neverBranch struct{}

func (neverBranch) Match(branch string) (bool, string) {
	return false, "branch " + branch + " does not match branches ^release$"
}

func TestPlanMergesRequiredContexts(t *testing.T) {
	s := baseSnapshot()
	s.Required = []RequiredCheck{{Context: "docs", From: "protection"}, {Context: "Docs", AppID: 99, From: "ruleset"}, {Context: "unit", From: "ruleset"}}
	ds := Plan(s, opts)
	if len(ds) != 2 || ds[0].Context != "docs" || ds[1].Context != "unit" {
		t.Fatalf("decisions: %+v", ds)
	}
}

func TestPlanReasonsFitAStatusDescription(t *testing.T) {
	s := baseSnapshot()
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'x'
	}
	s.Jobs[0].Files = prefixFilter(string(long))
	for _, d := range Plan(s, opts) {
		if n := len([]rune(d.Reason)); n > rules.MaxReason {
			t.Errorf("reason has %d characters", n)
		}
		for _, w := range d.Writes {
			if n := len([]rune(w.Description)); n > rules.MaxReason {
				t.Errorf("description has %d characters", n)
			}
		}
	}
}

func TestNeedsRetriggers(t *testing.T) {
	s := baseSnapshot()
	s.Required[0].Context = "unit"
	s.RetriggersRead = false
	if need, wfs := NeedsRetriggers(s, Plan(s, opts)); !need || len(wfs) != 0 {
		t.Errorf("a re-trigger before reading earlier ones must ask for them (and no workflow): %v %v", need, wfs)
	}
	s.Jobs[1].Rerun = rules.Rerun{Method: rules.RerunActions, Workflow: "unit.yml"}
	if need, wfs := NeedsRetriggers(s, Plan(s, opts)); !need || len(wfs) != 1 || wfs[0] != "unit.yml" {
		t.Errorf("an Actions re-trigger must ask for its workflow's attempts: %v %v", need, wfs)
	}
	s.RetriggersRead = true
	if need, _ := NeedsRetriggers(s, Plan(s, opts)); need {
		t.Error("asked again after reading")
	}
}

// TestRetriggerBounds: re-triggers are counted for every method from what
// GitHub shows: fix-status's marker comments, and for GitHub Actions the
// run's attempts (re-runs by hand count too).
func TestRetriggerBounds(t *testing.T) {
	actions := func(s *Snapshot) {
		s.Required[0].Context = "unit"
		s.Jobs[1].Rerun = rules.Rerun{Method: rules.RerunActions, Workflow: "unit.yml"}
	}
	old := now.Add(-time.Hour)
	for _, tt := range []struct {
		name  string
		edit  func(*Snapshot)
		past  []PastRetrigger
		want  Verdict
		count string
	}{
		{"actions: two re-runs so far", actions, []PastRetrigger{{Workflow: "unit.yml", Count: 2, At: old}}, Retrigger, ""},
		{"actions: three attempts' re-runs block", actions, []PastRetrigger{{Workflow: "unit.yml", Count: 3, At: old}}, Blocked, "re-triggered 3 times already"},
		{"actions: markers count when the runs show fewer", actions, []PastRetrigger{{Context: "unit", Count: 1, At: old}, {Context: "unit", Count: 1, At: old}, {Context: "unit", Count: 1, At: old}, {Workflow: "unit.yml", Count: 1, At: old}}, Blocked, "re-triggered 3 times already"},
		{"another workflow's re-runs do not count", actions, []PastRetrigger{{Workflow: "lint.yml", Count: 5, At: old}}, Retrigger, ""},
		{"a recent re-run restarts the grace period", actions, []PastRetrigger{{Workflow: "unit.yml", Count: 1, At: now.Add(-time.Minute)}}, Waiting, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := baseSnapshot()
			tt.edit(s)
			s.Retriggers = tt.past
			d := Plan(s, opts)[0]
			if d.Verdict != tt.want || !strings.Contains(d.Reason, tt.count) {
				t.Errorf("got %s %q, want %s (%q)", d.Verdict, d.Reason, tt.want, tt.count)
			}
		})
	}
}
