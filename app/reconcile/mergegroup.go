package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
)

// ReconcileGroup reads, plans and (unless dry run) repairs one merge group:
// its commit's required checks, judged as on merge groups (DESIGN: a job
// that runs there is waited for; one that never does is skipped when the
// group's changes would not run it). Like Reconcile it holds the group's
// lock, and reads the group's branch again before writing: a group that
// left the queue, or whose branch moved, is written nothing.
func (r *Reconciler) ReconcileGroup(ctx context.Context, g plan.MergeGroupRef, trig Trigger) (*plan.Report, error) {
	logger := zerolog.Ctx(ctx).With().Str("merge_group", g.String()).Logger()
	ctx = logger.WithContext(ctx)
	client, err := r.client(g.Repo.InstallationID)
	if err != nil {
		return nil, err
	}
	unlock, err := r.opts.Locks.Lock(ctx, strings.ToLower(g.Repo.FullRepo()+"@"+g.HeadSHA))
	if err != nil {
		return nil, fmt.Errorf("failed to lock %s: %w", g, err)
	}
	defer unlock()
	snap, meta, err := r.groupSnapshot(ctx, client, g, trig)
	if err != nil {
		return nil, err
	}
	rep := &plan.Report{PR: snap.PR, HeadSHA: g.HeadSHA, MergeGroup: &g, RulesErr: snap.RulesErr, RulesErrPath: meta.rulesErrPath, ProtectionErr: meta.protErr}
	if snap.State != "open" {
		rep.Skipped = "the merge group left the queue"
		return rep, nil
	}
	err = r.decide(ctx, client, snap, meta, trig, rep, func(ctx context.Context, _ bool) error { return r.groupGuard(ctx, client, g) })
	if errors.Is(err, errChanged) {
		// Its branch moved or went: the group's next event (or none, when
		// it left the queue) says what to do.
		rep.Skipped = "the merge group changed while it was checked"
		return rep, nil
	}
	return rep, err
}

// groupSnapshot reads what the plan needs of a merge group: its branch
// first (the group is in the queue while it exists), the changes from the
// base branch (compare), the results on its commit, the base's rules.
func (r *Reconciler) groupSnapshot(ctx context.Context, c *github.Client, g plan.MergeGroupRef, trig Trigger) (*plan.Snapshot, snapshotMeta, error) {
	meta := snapshotMeta{reportAs: "status"}
	s := &plan.Snapshot{PR: g.Repo.PR(0), BaseBranch: g.BaseRef, HeadSHA: g.HeadSHA, State: "open",
		MergeGroup: &plan.MergeGroup{Ref: g}}
	sha, found, err := ghapi.ReadGroupHead(ctx, c, g.Repo, g.HeadRef)
	if err != nil {
		return nil, meta, err
	}
	if !found || sha != g.HeadSHA {
		s.State = "gone"
		return s, meta, nil
	}
	cmp, err := ghapi.ReadCompare(ctx, c, g.Repo, g.BaseRef, g.HeadSHA)
	if err != nil {
		return nil, meta, err
	}
	s.Files, s.FilesComplete, s.BaseSHA = cmp.Files.Names, cmp.Files.Complete, cmp.MergeBase
	if s.Statuses, err = ghapi.ReadStatuses(ctx, c, s.PR, g.HeadSHA); err != nil {
		return nil, meta, err
	}
	if s.CheckRuns, err = ghapi.ReadCheckRuns(ctx, c, s.PR, g.HeadSHA); err != nil {
		return nil, meta, err
	}
	s.HeadSince = ghapi.HeadSince(plan.PRInfo{UpdatedAt: cmp.HeadAt}, s.Statuses, s.CheckRuns)
	if err := r.withRules(ctx, c, s, cmp.Files, trig, &meta); err != nil {
		return nil, meta, err
	}
	return s, meta, nil
}

// groupGuard reads the group's branch again before writing.
func (r *Reconciler) groupGuard(ctx context.Context, c *github.Client, g plan.MergeGroupRef) error {
	sha, found, err := ghapi.ReadGroupHead(ctx, c, g.Repo, g.HeadRef)
	if err != nil {
		return err
	}
	if !found || sha != g.HeadSHA {
		zerolog.Ctx(ctx).Info().Bool("in_queue", found).Str("now_head_sha", sha).Msg("write guard: the merge group changed; nothing written")
		return errChanged
	}
	return nil
}

// readGroupPRs reads the group's pull requests and the results on their
// heads, for carried results.
func (r *Reconciler) readGroupPRs(ctx context.Context, c *github.Client, g *plan.MergeGroup) error {
	v4, err := r.opts.Clients.NewInstallationV4Client(g.Ref.Repo.InstallationID)
	if err != nil {
		return fmt.Errorf("failed to create a GraphQL client for installation %d: %w", g.Ref.Repo.InstallationID, err)
	}
	prs, err := ghapi.ReadGroupPRs(ctx, v4, g.Ref)
	if err != nil {
		return err
	}
	for _, pr := range prs {
		ref := g.Ref.Repo.PR(pr.Number)
		gp := plan.GroupPR{Number: pr.Number, HeadSHA: pr.HeadSHA}
		if gp.Statuses, err = ghapi.ReadStatuses(ctx, c, ref, pr.HeadSHA); err != nil {
			return err
		}
		if gp.CheckRuns, err = ghapi.ReadCheckRuns(ctx, c, ref, pr.HeadSHA); err != nil {
			return err
		}
		g.PRs = append(g.PRs, gp)
	}
	g.PRsRead = true
	return nil
}
