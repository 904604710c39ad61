package ghapi

import (
	"context"
	"fmt"
	"path"

	"github.com/google/go-github/v60/github"

	"github.com/fix-status/fix-status/app/plan"
)

// Writer makes fix-status's writes on one pull request's head SHA.
type Writer struct {
	client *github.Client
	ref    plan.PRRef
	sha    string
}

// NewWriter writes on ref's head sha through c.
func NewWriter(c *github.Client, ref plan.PRRef, sha string) *Writer {
	return &Writer{client: c, ref: ref, sha: sha}
}

// Write makes one write of a decision (a comment is made by Comment).
func (a *Writer) Write(ctx context.Context, w plan.Write) error {
	c, o, r := a.client, a.ref.Owner, a.ref.Repo
	switch w.Kind {
	case plan.WriteStatus:
		st := &github.RepoStatus{State: &w.State, Context: &w.Context, Description: &w.Description}
		if w.TargetURL != "" {
			st.TargetURL = &w.TargetURL
		}
		if _, _, err := c.Repositories.CreateStatus(ctx, o, r, a.sha, st); err != nil {
			return fmt.Errorf("failed to set status %q on %s@%s: %w", w.Context, a.ref.FullRepo(), a.sha, err)
		}
	case plan.WriteCheckRun:
		out := &github.CheckRunOutput{Title: github.String(w.Title), Summary: github.String(w.Description)}
		if w.Text != "" {
			out.Text = &w.Text
		}
		opt := github.CreateCheckRunOptions{Name: w.Context, HeadSHA: a.sha, Output: out}
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
	case plan.WriteActionsRerun:
		return a.rerunWorkflow(ctx, w.Workflow)
	case plan.WriteSuiteRerun:
		if _, err := c.Checks.ReRequestCheckSuite(ctx, o, r, w.SuiteID); err != nil {
			return fmt.Errorf("failed to rerequest check suite %d of %s: %w", w.SuiteID, a.ref.FullRepo(), err)
		}
	default:
		return fmt.Errorf("unknown write %q", w.Kind)
	}
	return nil
}

// rerunWorkflow re-runs the latest run of workflow (a file name under
// .github/workflows) for the head SHA.
func (a *Writer) rerunWorkflow(ctx context.Context, workflow string) error {
	runs, err := listRuns(ctx, a.client, a.ref.RepoRef, a.sha)
	if err != nil {
		return err
	}
	var latest int64
	for _, run := range runs {
		if path.Base(run.Path) == workflow && run.ID > latest {
			latest = run.ID
		}
	}
	if latest == 0 {
		return fmt.Errorf("no run of workflow %s on %s@%s to re-run", workflow, a.ref.FullRepo(), a.sha)
	}
	if _, err := a.client.Actions.RerunWorkflowByID(ctx, a.ref.Owner, a.ref.Repo, latest); err != nil {
		return fmt.Errorf("failed to re-run workflow run %d of %s: %w", latest, a.ref.FullRepo(), err)
	}
	return nil
}

// Comment posts body on the pull request.
func (a *Writer) Comment(ctx context.Context, body string) error {
	if _, _, err := a.client.Issues.CreateComment(ctx, a.ref.Owner, a.ref.Repo, a.ref.Number, &github.IssueComment{Body: &body}); err != nil {
		return fmt.Errorf("failed to comment on %s: %w", a.ref, err)
	}
	return nil
}

// React adds a reaction (GitHub's names: "eyes", "confused", ...) to a
// comment of the pull request.
func (a *Writer) React(ctx context.Context, commentID int64, content string) error {
	if _, _, err := a.client.Reactions.CreateIssueCommentReaction(ctx, a.ref.Owner, a.ref.Repo, commentID, content); err != nil {
		return fmt.Errorf("failed to react on a comment of %s: %w", a.ref, err)
	}
	return nil
}
