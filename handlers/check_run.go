package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/fix-status/fix-status/app"
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
	if err := requireRepo(eventType, e.GetRepo().GetOwner().GetLogin(), e.GetRepo().GetName(), githubapp.GetInstallationIDFromEvent(&e)); err != nil {
		return err
	}
	return h.svc.ScheduleSHA(ctx, githubapp.GetInstallationIDFromEvent(&e), e.GetRepo(), run.GetHeadSHA(), run.PullRequests, app.Trigger{Event: eventType + "." + e.GetAction()})
}

var _ githubapp.EventHandler = (*CheckRun)(nil)
