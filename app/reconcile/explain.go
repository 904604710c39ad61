package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
)

// Explanation is what a PR's details page shows: one dry-run reconcile,
// with what fix-status itself wrote on the head and its re-triggers.
type Explanation struct {
	PR plan.PRRef
	// Title, Author and Draft are the PR's own.
	Title  string
	Author string
	Draft  bool
	// Snapshot is what was read: the files, the results on the head, the
	// rules, the earlier re-triggers (always read here, for their history).
	Snapshot *plan.Snapshot
	// Decisions are the plan's, as a reconcile now would decide (nil for a
	// PR that is not open).
	Decisions []plan.Decision
	// Own are fix-status's own results on the head SHA, oldest first.
	Own []OwnResult
	// ReportAs is how the repository wants skips posted (status or
	// check_run); RulesErrPath is where its repo config is, when the rules
	// cannot be read.
	ReportAs     string
	RulesErrPath string
	// At is when it was read.
	At time.Time
}

// OwnResult is one status or check run fix-status wrote on the head SHA.
type OwnResult struct {
	Kind        string // "status" or "check run"
	Context     string
	State       string // a status's state, a check run's conclusion (or its status while not completed)
	Description string // a status's description
	At          time.Time
}

// Explain reads one PR as a reconcile would and plans it without writing:
// what the details page shows. Its reads are a reconcile's (the PR, its files
// and results, the branch's cached rules) plus the PR's comments, for the
// history of re-triggers; through the revalidating HTTP cache an unchanged PR
// costs no rate limit.
func (r *Reconciler) Explain(ctx context.Context, ref plan.PRRef) (*Explanation, error) {
	c, err := r.client(ref.InstallationID)
	if err != nil {
		return nil, err
	}
	pr, _, err := c.PullRequests.Get(ctx, ref.Owner, ref.Repo, ref.Number)
	if err != nil {
		return nil, fmt.Errorf("failed to get pull request %s: %w", ref, err)
	}
	// Read as the snapshot would, keeping the title it does not need.
	pf := &Prefetched{PR: ghapi.PRInfo(pr)}
	if pf.PR.State == "open" {
		if pf.Statuses, err = ghapi.ReadStatuses(ctx, c, ref, pf.PR.HeadSHA); err != nil {
			return nil, err
		}
		if pf.CheckRuns, err = ghapi.ReadCheckRuns(ctx, c, ref, pf.PR.HeadSHA); err != nil {
			return nil, err
		}
	}
	snap, meta, err := r.snapshot(ctx, c, ref, Trigger{Event: "details", DryRun: true, Prefetched: pf})
	if err != nil {
		return nil, err
	}
	ex := &Explanation{PR: ref, Title: pr.GetTitle(), Author: pr.GetUser().GetLogin(), Draft: pr.GetDraft(),
		Snapshot: snap, ReportAs: meta.reportAs, RulesErrPath: meta.rulesErrPath, At: r.opts.Now()}
	if snap.State != "open" {
		return ex, nil
	}
	// The history is read whether or not a re-trigger is due; the runs of
	// the workflows a re-trigger would re-run count too.
	popts := r.planOptions(meta.reportAs)
	_, workflows := plan.NeedsRetriggers(snap, plan.Plan(snap, popts))
	if snap.Retriggers, err = ghapi.ReadRetriggers(ctx, c, ref, snap.HeadSHA, r.AppLogin(), workflows); err != nil {
		return nil, err
	}
	snap.RetriggersRead = true
	ex.Decisions = plan.Plan(snap, popts)
	ex.Own = r.ownResults(snap)
	return ex, nil
}

// ownResults are the results on the snapshot's head written by fix-status.
func (r *Reconciler) ownResults(s *plan.Snapshot) []OwnResult {
	var out []OwnResult
	for _, st := range s.Statuses {
		if strings.EqualFold(st.Creator, r.AppLogin()) {
			out = append(out, OwnResult{Kind: "status", Context: st.Context, State: st.State, Description: st.Description, At: st.CreatedAt})
		}
	}
	for _, cr := range s.CheckRuns {
		if cr.AppID == r.opts.AppID {
			state := cr.Conclusion
			if cr.Status != "completed" {
				state = cr.Status
			}
			out = append(out, OwnResult{Kind: "check run", Context: cr.Name, State: state, At: cr.StartedAt})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}
