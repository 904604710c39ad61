package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// PullRequest re-checks a PR when its head, base or readiness changes.
type PullRequest struct{ base }

// Handles implements githubapp.EventHandler.
func (h *PullRequest) Handles() []string { return []string{"pull_request"} }

// Handle implements githubapp.EventHandler.
func (h *PullRequest) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e github.PullRequestEvent
	ctx, err := h.decode(ctx, eventType, payload, &e)
	if err != nil {
		return err
	}
	switch e.GetAction() {
	case "opened", "reopened", "synchronize", "ready_for_review", "closed":
		// closed: the reconcile finds it closed, and the stuck PRs forget it.
	case "edited":
		if e.GetChanges().GetBase() == nil {
			return nil // a title or body edit changes nothing required
		}
	default:
		return nil
	}
	repo, err := repoOf(eventType, e.GetRepo(), githubapp.GetInstallationIDFromEvent(&e))
	if err != nil {
		return err
	}
	if e.GetNumber() <= 0 {
		return malformed(eventType, "without a pull request number")
	}
	opened := ""
	if a := e.GetAction(); a == "opened" || a == "reopened" {
		opened = e.GetPullRequest().GetHead().GetSHA()
	}
	return h.svc.PREvent(ctx, repo.PR(e.GetNumber()), "pull_request."+e.GetAction(), opened)
}

var _ githubapp.EventHandler = (*PullRequest)(nil)
