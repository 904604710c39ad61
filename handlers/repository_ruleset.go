package handlers

import (
	"context"

	"github.com/fix-status/fix-status/app/plan"
	"github.com/palantir/go-githubapp/githubapp"
)

// RepositoryRuleset re-checks open PRs when a ruleset changes. go-github v60
// has no type for this event, so the few fields needed are decoded here.
type RepositoryRuleset struct{ base }

type rulesetEvent struct {
	Action     string `json:"action"`
	Repository *struct {
		Name  string `json:"name"`
		Owner struct {
			Login string `json:"login"`
		} `json:"owner"`
	} `json:"repository"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
}

// GetAction is the event's action (for the events counter).
func (e *rulesetEvent) GetAction() string { return e.Action }

// Handles implements githubapp.EventHandler.
func (h *RepositoryRuleset) Handles() []string { return []string{"repository_ruleset"} }

// Handle implements githubapp.EventHandler.
func (h *RepositoryRuleset) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e rulesetEvent
	ctx, err := h.decode(ctx, eventType, payload, &e)
	if err != nil {
		return err
	}
	if e.Repository == nil || e.Installation == nil {
		// An organization ruleset event names no repository: the periodic
		// sweep re-checks what it affects.
		return nil
	}
	// conditions.ref_name holds fnmatch patterns and ~DEFAULT_BRANCH: which
	// branches match is GitHub's to say, so every open PR is re-checked.
	repo := plan.RepoRef{InstallationID: e.Installation.ID, Owner: e.Repository.Owner.Login, Repo: e.Repository.Name}
	return h.svc.RequirementsChanged(ctx, repo, "", eventType+"."+e.Action)
}

var _ githubapp.EventHandler = (*RepositoryRuleset)(nil)
