package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// Installation checks the open PRs of every repository of a new
// installation.
type Installation struct{ base }

// Handles implements githubapp.EventHandler.
func (h *Installation) Handles() []string { return []string{"installation"} }

// Handle implements githubapp.EventHandler.
func (h *Installation) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e github.InstallationEvent
	ctx, err := h.decode(ctx, eventType, payload, &e)
	if err != nil {
		return err
	}
	switch e.GetAction() {
	case "created", "unsuspend", "new_permissions_accepted":
	default:
		return nil
	}
	if e.GetInstallation().GetID() == 0 {
		return malformed(eventType, "without installation")
	}
	return h.svc.ReposAdded(ctx, e.GetInstallation().GetID(), fullNames(e.Repositories))
}

// fullNames lists the "owner/name" of repositories.
func fullNames(repos []*github.Repository) []string {
	out := make([]string, 0, len(repos))
	for _, r := range repos {
		out = append(out, r.GetFullName())
	}
	return out
}

var _ githubapp.EventHandler = (*Installation)(nil)
