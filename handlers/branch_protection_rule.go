package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// BranchProtectionRule re-checks open PRs when classic protection changes:
// the set of required contexts may have changed.
type BranchProtectionRule struct{ base }

// Handles implements githubapp.EventHandler.
func (h *BranchProtectionRule) Handles() []string { return []string{"branch_protection_rule"} }

// Handle implements githubapp.EventHandler.
func (h *BranchProtectionRule) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e github.BranchProtectionRuleEvent
	ctx, err := h.decode(ctx, eventType, payload, &e)
	if err != nil {
		return err
	}
	repo, err := repoOf(eventType, e.GetRepo(), githubapp.GetInstallationIDFromEvent(&e))
	if err != nil {
		return err
	}
	// The rule's name is a branch pattern (fnmatch), not a branch: re-check
	// every open PR of the repository.
	return h.svc.RequirementsChanged(ctx, repo, "", eventType+"."+e.GetAction())
}

var _ githubapp.EventHandler = (*BranchProtectionRule)(nil)
