package handlers

import (
	"context"
	"strings"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/fix-status/fix-status/app/plan"
)

// MergeGroup checks the required contexts of a merge group the queue asks
// checks for, and stops when the group leaves the queue.
type MergeGroup struct{ base }

// Handles implements githubapp.EventHandler.
func (h *MergeGroup) Handles() []string { return []string{"merge_group"} }

// Handle implements githubapp.EventHandler.
func (h *MergeGroup) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var e github.MergeGroupEvent
	ctx, err := h.decode(ctx, eventType, payload, &e)
	if err != nil {
		return err
	}
	repo, err := repoOf(eventType, e.GetRepo(), githubapp.GetInstallationIDFromEvent(&e))
	if err != nil {
		return err
	}
	mg := e.GetMergeGroup()
	g := plan.MergeGroupRef{Repo: repo, HeadSHA: mg.GetHeadSHA(), HeadRef: mg.GetHeadRef(),
		BaseRef: strings.TrimPrefix(mg.GetBaseRef(), "refs/heads/")}
	switch e.GetAction() {
	case "checks_requested":
		if g.HeadSHA == "" || g.HeadRef == "" || g.BaseRef == "" {
			return malformed(eventType, "with a merge group without head_sha, head_ref or base_ref")
		}
		return h.svc.MergeGroupEvent(ctx, g, eventType+"."+e.GetAction())
	case "destroyed":
		h.svc.MergeGroupDestroyed(g)
	}
	return nil
}

var _ githubapp.EventHandler = (*MergeGroup)(nil)
