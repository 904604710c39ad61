package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/rules"
)

// RulesStatusContext is the commit status fix-status posts when it cannot
// read a repository's job rules, so the problem reaches people on the PR.
const RulesStatusContext = "fix-status"

type applier struct {
	client  *github.Client
	ref     PRRef
	sha     string
	login   string
	dryRun  bool
	metrics *Metrics
}

// apply makes the writes of every decision. A failed write does not stop
// the others; the errors are returned together.
func (a *applier) apply(ctx context.Context, ds []Decision) ([]string, int, error) {
	type step struct {
		desc string
		err  error
	}
	steps := make([][]*step, len(ds))
	var errs []error
	writes := 0
	// Re-run commands go out as one comment, after the other writes (a
	// revoke's pending status must come before CI starts again): Prow's
	// trigger plugin obeys every /test line of a comment, and the PR gets
	// one notification.
	var comments []Write
	var commentSteps []*step
	for i, d := range ds {
		for _, w := range d.Writes {
			st := &step{desc: describe(w)}
			steps[i] = append(steps[i], st)
			switch {
			case w.Kind == WriteComment:
				comments = append(comments, w)
				commentSteps = append(commentSteps, st)
			case !a.dryRun:
				st.err = a.write(ctx, w)
				a.metrics.Write(w.Kind, st.err)
				if st.err != nil {
					errs = append(errs, st.err)
				} else {
					writes++
				}
			}
		}
	}
	if len(comments) > 0 && !a.dryRun {
		err := a.comment(ctx, comments)
		a.metrics.Write(WriteComment, err)
		if err != nil {
			errs = append(errs, err)
		} else {
			writes++
		}
		for _, st := range commentSteps {
			st.err = err
		}
	}
	actions := make([]string, len(ds))
	for i, ss := range steps {
		parts := make([]string, 0, len(ss))
		for _, st := range ss {
			switch {
			case a.dryRun:
				parts = append(parts, "would "+st.desc)
			case st.err != nil:
				parts = append(parts, "failed to "+st.desc)
			default:
				parts = append(parts, st.desc)
			}
		}
		actions[i] = strings.Join(parts, "; ")
		if actions[i] == "" {
			actions[i] = "none"
		}
	}
	return actions, writes, errors.Join(errs...)
}

func describe(w Write) string {
	switch w.Kind {
	case WriteStatus:
		return fmt.Sprintf("set status %s", w.State)
	case WriteCheckRun:
		if w.State == "" {
			return "set check run in_progress"
		}
		return "set check run " + w.State
	case WriteComment:
		return "comment " + w.Comment
	case WriteActionsRerun:
		return "re-run workflow " + w.Workflow
	case WriteSuiteRerun:
		return fmt.Sprintf("rerequest check suite %d", w.SuiteID)
	}
	return string(w.Kind)
}

func (a *applier) write(ctx context.Context, w Write) error {
	c, o, r := a.client, a.ref.Owner, a.ref.Repo
	switch w.Kind {
	case WriteStatus:
		st := &github.RepoStatus{State: &w.State, Context: &w.Context, Description: &w.Description}
		if w.TargetURL != "" {
			st.TargetURL = &w.TargetURL
		}
		if _, _, err := c.Repositories.CreateStatus(ctx, o, r, a.sha, st); err != nil {
			return fmt.Errorf("failed to set status %q on %s@%s: %w", w.Context, a.ref.FullRepo(), a.sha, err)
		}
	case WriteCheckRun:
		opt := github.CreateCheckRunOptions{Name: w.Context, HeadSHA: a.sha,
			Output: &github.CheckRunOutput{Title: github.String(titleFor(w)), Summary: github.String(w.Description)}}
		if w.TargetURL != "" {
			opt.DetailsURL = &w.TargetURL
		}
		if w.State == "" {
			opt.Status = github.String("in_progress")
		} else {
			opt.Status, opt.Conclusion = github.String("completed"), &w.State
		}
		if _, _, err := c.Checks.CreateCheckRun(ctx, o, r, opt); err != nil {
			return fmt.Errorf("failed to create check run %q on %s@%s: %w", w.Context, a.ref.FullRepo(), a.sha, err)
		}
	case WriteActionsRerun:
		return a.rerunWorkflow(ctx, w.Workflow)
	case WriteSuiteRerun:
		if _, err := c.Checks.ReRequestCheckSuite(ctx, o, r, w.SuiteID); err != nil {
			return fmt.Errorf("failed to rerequest check suite %d of %s: %w", w.SuiteID, a.ref.FullRepo(), err)
		}
	default:
		return fmt.Errorf("unknown write %q", w.Kind)
	}
	return nil
}

func titleFor(w Write) string {
	if w.State == "" {
		return "Re-opened by fix-status"
	}
	return "Skipped by fix-status"
}

// rerunWorkflow re-runs the latest run of workflow (a file name under
// .github/workflows) for the head SHA.
func (a *applier) rerunWorkflow(ctx context.Context, workflow string) error {
	c, o, r := a.client, a.ref.Owner, a.ref.Repo
	// go-github v60's WorkflowRun has no "path", which GitHub returns and
	// which is the only reliable link from a run to its workflow file.
	req, err := c.NewRequest("GET", fmt.Sprintf("repos/%s/%s/actions/runs?head_sha=%s&per_page=%d", o, r, a.sha, perPage), nil)
	if err != nil {
		return err
	}
	var runs struct {
		WorkflowRuns []struct {
			ID   int64  `json:"id"`
			Path string `json:"path"`
		} `json:"workflow_runs"`
	}
	if _, err := c.Do(ctx, req, &runs); err != nil {
		return fmt.Errorf("failed to list workflow runs of %s@%s: %w", a.ref.FullRepo(), a.sha, err)
	}
	var latest int64
	for _, run := range runs.WorkflowRuns {
		if path.Base(run.Path) == workflow && run.ID > latest {
			latest = run.ID
		}
	}
	if latest == 0 {
		return fmt.Errorf("no run of workflow %s on %s@%s to re-run", workflow, a.ref.FullRepo(), a.sha)
	}
	if _, err := c.Actions.RerunWorkflowByID(ctx, o, r, latest); err != nil {
		return fmt.Errorf("failed to re-run workflow run %d of %s: %w", latest, a.ref.FullRepo(), err)
	}
	return nil
}

// comment posts the re-run commands with a hidden marker per context, by
// which later runs count earlier re-triggers.
func (a *applier) comment(ctx context.Context, ws []Write) error {
	var b strings.Builder
	seen := map[string]bool{}
	for _, w := range ws {
		if !seen[w.Comment] {
			fmt.Fprintln(&b, w.Comment)
			seen[w.Comment] = true
		}
	}
	short := a.sha
	if len(short) > 7 {
		short = short[:7]
	}
	fmt.Fprintf(&b, "\nfix-status: re-triggering required checks that should have run for %s and never reported.\n", short)
	for _, w := range ws {
		fmt.Fprintln(&b, retriggerMarker(w.Context, a.sha))
	}
	body := b.String()
	if _, _, err := a.client.Issues.CreateComment(ctx, a.ref.Owner, a.ref.Repo, a.ref.Number, &github.IssueComment{Body: &body}); err != nil {
		return fmt.Errorf("failed to comment on %s: %w", a.ref, err)
	}
	return nil
}

// reportRulesError shows a rules error on the PR as fix-status's own status
// (error), and clears it once the rules read fine again.
func (a *applier) reportRulesError(ctx context.Context, s *Snapshot) error {
	var ours *Status
	for i, st := range s.Statuses {
		if strings.EqualFold(st.Context, RulesStatusContext) && strings.EqualFold(st.Creator, a.login) {
			ours = &s.Statuses[i]
		}
	}
	var w Write
	switch {
	case s.RulesErr != nil:
		desc := rules.Truncate("cannot read the job rules: "+s.RulesErr.Error(), rules.MaxReason)
		if ours != nil && ours.State == "error" && ours.Description == desc {
			return nil
		}
		w = Write{Kind: WriteStatus, Context: RulesStatusContext, State: "error", Description: desc}
	case ours != nil && ours.State != "success":
		w = Write{Kind: WriteStatus, Context: RulesStatusContext, State: "success", Description: "job rules read fine"}
	default:
		return nil
	}
	if a.dryRun {
		return nil
	}
	err := a.write(ctx, w)
	a.metrics.Write(w.Kind, err)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("could not report the rules error on the PR")
	}
	return err
}

// retriggerMarker is hidden in every re-trigger comment, so later runs (and
// other replicas) can count earlier re-triggers from GitHub itself.
func retriggerMarker(context, sha string) string {
	q, _ := json.Marshal(context)
	return fmt.Sprintf("<!-- fix-status retrigger context=%s sha=%s -->", q, sha)
}
