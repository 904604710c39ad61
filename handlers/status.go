package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// Status re-checks the PRs of a SHA when another sender reports a status.
type Status struct{ base }

// Handles implements githubapp.EventHandler.
func (h *Status) Handles() []string { return []string{"status"} }

// Handle implements githubapp.EventHandler.
func (h *Status) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e github.StatusEvent
	ctx, err := h.decode(ctx, eventType, payload, &e)
	if err != nil {
		return err
	}
	if h.svc.IsOwnSender(e.GetSender().GetLogin(), 0) {
		return nil
	}
	repo, err := repoOf(eventType, e.GetRepo(), githubapp.GetInstallationIDFromEvent(&e))
	if err != nil {
		return err
	}
	return h.svc.CommitEvent(ctx, repo, e.GetSHA(), nil, eventType)
}

var _ githubapp.EventHandler = (*Status)(nil)
