package handlers

import (
	"context"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/serve"
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
	comment := e.GetComment()
	user := comment.GetUser()
	if e.GetAction() != "created" || !e.GetIssue().IsPullRequest() || !plan.IsCommand(comment.GetBody()) ||
		user.GetType() == "Bot" || h.svc.IsOwnSender(user.GetLogin(), 0) {
		return nil
	}
	repo, err := repoOf(eventType, e.GetRepo(), githubapp.GetInstallationIDFromEvent(&e))
	if err != nil {
		return err
	}
	return h.svc.Command(ctx, serve.CommandRequest{PR: repo.PR(e.GetIssue().GetNumber()), CommentID: comment.GetID(),
		Commenter: user.GetLogin(), Association: comment.GetAuthorAssociation()})
}

var _ githubapp.EventHandler = (*IssueComment)(nil)
