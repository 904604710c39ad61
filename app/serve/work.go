package serve

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fix-status/fix-status/app/plan"
)

// Kind is what a piece of work does.
type Kind string

// The kinds of work.
const (
	// KindPR reconciles one pull request.
	KindPR Kind = "pr"
	// KindCommit finds the open pull requests whose head is a commit (a
	// status or check run named it) and reconciles them.
	KindCommit Kind = "commit"
	// KindRepo reconciles the open pull requests of a repository (of one
	// base branch when Branch is set).
	KindRepo Kind = "repo"
	// KindSweep is one page of a sweep of a repository: its open PRs read
	// in bulk (Cursor names the page) and reconciled with what was read;
	// the next page is its follow-up.
	KindSweep Kind = "sweep"
	// KindOwner reconciles the open pull requests of every repository of
	// an owner the installation has (the owner's default repo config
	// changed).
	KindOwner Kind = "owner"
	// KindCommand runs /fix-status.
	KindCommand Kind = "command"
	// KindMergeGroup reconciles one merge group (SHA, Branch its base,
	// Ref its branch).
	KindMergeGroup Kind = "merge_group"
	// KindAudit audits one repository for the drift watch. With
	// Requirements (an event changed its protection or rules) it is
	// audited now; otherwise (a sweep, an installation) only when it was
	// not audited within half a sweep interval.
	KindAudit Kind = "audit"
)

// Work is one unit of the service's work. Webhook handlers turn events into
// work and queue it without calling GitHub; workers do it. It is a plain
// value (JSON), so a shared queue can hold it.
type Work struct {
	Kind   Kind         `json:"kind"`
	Repo   plan.RepoRef `json:"repo"`
	Number int          `json:"number,omitempty"`
	SHA    string       `json:"sha,omitempty"`
	Branch string       `json:"branch,omitempty"`
	// Push, for KindRepo, says a push changed Changed: the branch's PRs are
	// reconciled only when those files define jobs.
	Push bool `json:"push,omitempty"`
	// Ref is a merge group's branch (refs/heads/gh-readonly-queue/…).
	Ref     string   `json:"ref,omitempty"`
	Changed []string `json:"changed,omitempty"`
	// Requirements, for KindRepo, says what the branch requires changed:
	// the cached requirements and rules are dropped first; for KindAudit,
	// that an event changed the repository's protection or rules.
	Requirements bool `json:"requirements,omitempty"`
	// Offset, for fan-out work (a commit's or a repository's PRs), is
	// how many of its PRs are queued already: a queue too full for all of
	// them takes the rest later.
	Offset int `json:"offset,omitempty"`
	// Cursor, for KindSweep, is the bulk reader's page ("" the first).
	Cursor string `json:"cursor,omitempty"`
	// Event names the cause, for logs and reports.
	Event string `json:"event"`
	// OpenedHead is the head an opened or reopened delivery named.
	OpenedHead string          `json:"opened_head,omitempty"`
	Command    *CommandRequest `json:"command,omitempty"`
	// Attempt counts retries after a passing failure.
	Attempt int `json:"attempt,omitempty"`
}

// Key is what coalesces work: two pieces of work of one key are done once.
func (w Work) Key() string {
	repo := fmt.Sprintf("%d/%s", w.Repo.InstallationID, strings.ToLower(w.Repo.FullRepo()))
	switch w.Kind {
	case KindPR:
		return fmt.Sprintf("pr/%s#%d", repo, w.Number)
	case KindCommit:
		return fmt.Sprintf("commit/%s@%s", repo, w.SHA)
	case KindRepo:
		return fmt.Sprintf("repo/%s:%s", repo, w.Branch)
	case KindSweep:
		return "sweep/" + repo
	case KindOwner:
		return fmt.Sprintf("owner/%d/%s", w.Repo.InstallationID, strings.ToLower(w.Repo.Owner))
	case KindCommand:
		return fmt.Sprintf("command/%s#%d/%d", repo, w.Number, w.Command.CommentID)
	case KindMergeGroup:
		return fmt.Sprintf("group/%s@%s", repo, w.SHA)
	case KindAudit:
		return "audit/" + repo
	}
	return string(w.Kind) + "/" + repo
}

// PR is the pull request of PR and command work.
func (w Work) PR() plan.PRRef { return w.Repo.PR(w.Number) }

// Group is the merge group of merge-group work.
func (w Work) Group() plan.MergeGroupRef {
	return plan.MergeGroupRef{Repo: w.Repo, HeadSHA: w.SHA, HeadRef: w.Ref, BaseRef: w.Branch}
}

// Merge folds newer work into queued work of the same key: the newer event
// names it, what the older knew is kept.
func Merge(old, new Work) Work {
	out := new
	if out.OpenedHead == "" {
		out.OpenedHead = old.OpenedHead
	}
	out.Attempt = min(old.Attempt, new.Attempt)
	if out.Kind == KindAudit {
		// A change asked for by either is audited.
		out.Requirements = old.Requirements || new.Requirements
	}
	if out.Kind == KindSweep && new.Cursor == "" {
		// A sweep of the repository under way goes on where it is: its
		// earlier pages were just read.
		out.Cursor = old.Cursor
	}
	if out.Kind == KindRepo {
		out.Requirements = old.Requirements || new.Requirements
		// Only two pushes narrow the PRs checked; any other reason checks
		// them all.
		out.Push = old.Push && new.Push
		out.Changed = nil
		if out.Push {
			out.Changed = union(old.Changed, new.Changed)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
