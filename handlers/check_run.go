package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// CheckRun re-checks the PRs of a check run reported by another app.
type CheckRun struct{ base }

// Handles implements githubapp.EventHandler.
func (h *CheckRun) Handles() []string { return []string{"check_run"} }

// Handle implements githubapp.EventHandler.
func (h *CheckRun) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e github.CheckRunEvent
	ctx, err := h.decode(ctx, eventType, payload, &e)
	if err != nil {
		return err
	}
	run := e.GetCheckRun()
	if h.svc.IsOwnSender(e.GetSender().GetLogin(), run.GetApp().GetID()) {
		return nil
	}
	switch e.GetAction() {
	case "created", "completed", "rerequested":
	default:
		return nil
	}
	repo, err := repoOf(eventType, e.GetRepo(), githubapp.GetInstallationIDFromEvent(&e))
	if err != nil {
		return err
	}
	return h.svc.CommitEvent(ctx, repo, run.GetHeadSHA(), prsOf(e.GetRepo(), run.PullRequests), eventType+"."+e.GetAction())
}

// prsOf returns the numbers of the PRs of repo that a check payload lists.
// It lists PRs of forks' repositories too; only the PRs of this repository
// are ours to check.
func prsOf(repo *github.Repository, prs []*github.PullRequest) []int {
	var out []int
	for _, pr := range prs {
		if id := pr.GetBase().GetRepo().GetID(); id != 0 && id != repo.GetID() {
			continue
		}
		out = append(out, pr.GetNumber())
	}
	return out
}

var _ githubapp.EventHandler = (*CheckRun)(nil)
