package handlers

import (
	"context"
	"fmt"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/fix-status/fix-status/app/ghapi"
)

// PullRequest re-checks a PR when its head, base or readiness changes.
type PullRequest struct{ base }

// Handles implements githubapp.EventHandler.
func (h *PullRequest) Handles() []string { return []string{"pull_request"} }

// Handle implements githubapp.EventHandler.
func (h *PullRequest) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e github.PullRequestEvent
	// PREvent takes no context: the re-check runs later, on its own.
	if _, err := h.decode(ctx, eventType, payload, &e); err != nil {
		return err
	}
	switch e.GetAction() {
	case "opened", "reopened", "synchronize", "ready_for_review":
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
		return fmt.Errorf("%s event without a pull request number: malformed payload ignored", eventType)
	}
	h.svc.PREvent(repo.PR(e.GetNumber()), "pull_request."+e.GetAction(), ghapi.PRInfo(e.GetPullRequest()))
	return nil
}

var _ githubapp.EventHandler = (*PullRequest)(nil)
