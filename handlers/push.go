package handlers

import (
	"context"
	"strings"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// Push re-checks a branch's open PRs when a push changes a file that
// defines jobs on that branch (the rules that judge its PRs).
type Push struct{ base }

// Handles implements githubapp.EventHandler.
func (h *Push) Handles() []string { return []string{"push"} }

// Handle implements githubapp.EventHandler.
func (h *Push) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e github.PushEvent
	ctx, err := h.decode(ctx, eventType, payload, &e)
	if err != nil {
		return err
	}
	branch, ok := strings.CutPrefix(e.GetRef(), "refs/heads/")
	if !ok || e.GetDeleted() {
		return nil
	}
	var changed []string
	for _, c := range e.Commits {
		changed = append(changed, c.Added...)
		changed = append(changed, c.Modified...)
		changed = append(changed, c.Removed...)
	}
	repo, err := repoOf(eventType, e.GetRepo(), githubapp.GetInstallationIDFromEvent(&e))
	if err != nil {
		return err
	}
	return h.svc.RulesPushed(ctx, repo, branch, e.GetRepo().GetDefaultBranch(), changed)
}

var _ githubapp.EventHandler = (*Push)(nil)
