package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// CheckSuite re-checks the PRs of a check suite of another app.
type CheckSuite struct{ base }

// Handles implements githubapp.EventHandler.
func (h *CheckSuite) Handles() []string { return []string{"check_suite"} }

// Handle implements githubapp.EventHandler.
func (h *CheckSuite) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e github.CheckSuiteEvent
	ctx, err := h.decode(ctx, eventType, payload, &e)
	if err != nil {
		return err
	}
	suite := e.GetCheckSuite()
	if h.svc.IsOwnSender(e.GetSender().GetLogin(), suite.GetApp().GetID()) || e.GetAction() != "completed" {
		return nil
	}
	repo, err := repoOf(eventType, e.GetRepo(), githubapp.GetInstallationIDFromEvent(&e))
	if err != nil {
		return err
	}
	return h.svc.CommitEvent(ctx, repo, suite.GetHeadSHA(), prsOf(e.GetRepo(), suite.PullRequests), eventType+"."+e.GetAction())
}

var _ githubapp.EventHandler = (*CheckSuite)(nil)
