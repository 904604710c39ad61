package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// IssueComment runs the /fix-status command.
type IssueComment struct{ base }

// Handles implements githubapp.EventHandler.
func (h *IssueComment) Handles() []string { return []string{"issue_comment"} }

// Handle implements githubapp.EventHandler.
func (h *IssueComment) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e github.IssueCommentEvent
	ctx, err := h.decode(ctx, eventType, payload, &e)
	if err != nil {
		return err
	}
	if e.GetAction() != "created" || !e.GetIssue().IsPullRequest() {
		return nil
	}
	if err := requireRepo(eventType, e.GetRepo().GetOwner().GetLogin(), e.GetRepo().GetName(), githubapp.GetInstallationIDFromEvent(&e)); err != nil {
		return err
	}
	return h.svc.Command(ctx, &e)
}

var _ githubapp.EventHandler = (*IssueComment)(nil)
