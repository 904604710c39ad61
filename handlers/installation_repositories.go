package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// InstallationRepositories checks the open PRs of repositories added to an
// installation.
type InstallationRepositories struct{ base }

// Handles implements githubapp.EventHandler.
func (h *InstallationRepositories) Handles() []string {
	return []string{"installation_repositories"}
}

// Handle implements githubapp.EventHandler.
func (h *InstallationRepositories) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e github.InstallationRepositoriesEvent
	ctx, err := h.decode(ctx, eventType, payload, &e)
	if err != nil {
		return err
	}
	if e.GetAction() != "added" {
		return nil
	}
	if e.GetInstallation().GetID() == 0 {
		return malformed(eventType, "without installation")
	}
	return h.svc.ReposAdded(ctx, e.GetInstallation().GetID(), fullNames(e.RepositoriesAdded))
}

var _ githubapp.EventHandler = (*InstallationRepositories)(nil)
