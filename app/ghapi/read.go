// Package ghapi is every call fix-status makes to GitHub's API: the reads
// of a pull request's snapshot, the writes that repair it, listings of
// installations and pull requests, a repository as a file system over the
// contents API, the HTTP cache, and one classifier of GitHub's errors that
// every driver uses to decide whether and when to try again.
package ghapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/fix-status/fix-status/app/plan"
	"github.com/google/go-github/v60/github"
)

// MaxPRFiles is where GitHub's PR files API stops listing.
const MaxPRFiles = 3000

// PerPage is GitHub's page size maximum; bigger pages mean fewer requests.
const PerPage = 100

// ReadPR reads the pull request itself.
func ReadPR(ctx context.Context, c *github.Client, ref plan.PRRef) (plan.PRInfo, error) {
	pr, _, err := c.PullRequests.Get(ctx, ref.Owner, ref.Repo, ref.Number)
	if err != nil {
		return plan.PRInfo{}, fmt.Errorf("failed to get pull request %s: %w", ref, err)
	}
	return PRInfo(pr), nil
}

// PRInfo is what the plan needs of a go-github pull request.
func PRInfo(pr *github.PullRequest) plan.PRInfo {
	return plan.PRInfo{
		Number: pr.GetNumber(), State: pr.GetState(), Draft: pr.GetDraft(), Author: pr.GetUser().GetLogin(),
		BaseRef: pr.GetBase().GetRef(), BaseSHA: pr.GetBase().GetSHA(), HeadSHA: pr.GetHead().GetSHA(),
		UpdatedAt: pr.GetUpdatedAt().Time, ChangedFiles: pr.GetChangedFiles(),
	}
}

// ReadFiles lists the PR's changed files and whether the list is complete.
func ReadFiles(ctx context.Context, c *github.Client, ref plan.PRRef, changedFiles int) (plan.Files, error) {
	var out plan.Files
	opt := &github.ListOptions{PerPage: PerPage}
	for {
		files, resp, err := c.PullRequests.ListFiles(ctx, ref.Owner, ref.Repo, ref.Number, opt)
		if err != nil {
			return plan.Files{}, fmt.Errorf("failed to list files of %s: %w", ref, err)
		}
		addFiles(&out, files)
		if resp.NextPage == 0 || len(out.Names) >= MaxPRFiles {
			break
		}
		opt.Page = resp.NextPage
	}
	out.Complete = FilesComplete(len(out.Names), changedFiles)
	return out, nil
}

// FilesComplete reports whether a list of a PR's files has them all:
// GitHub stops at MaxPRFiles without saying so, and the PR's own count of
// changed files (0: unknown) tells whether anything is missing.
func FilesComplete(listed, changedFiles int) bool {
	return listed < MaxPRFiles && (changedFiles == 0 || listed >= changedFiles)
}

// addFiles adds changed files to out: their names, and a renamed file's
// previous name.
func addFiles(out *plan.Files, files []*github.CommitFile) {
	for _, f := range files {
		out.Names = append(out.Names, f.GetFilename())
		if prev := f.GetPreviousFilename(); prev != "" {
			out.Renamed = append(out.Renamed, prev)
		}
	}
}

// ReadStatuses returns the latest status per context (case-insensitive) on
// sha, with who created it. The statuses list is newest first; the combined
// status would be one read too but does not say who created each status.
func ReadStatuses(ctx context.Context, c *github.Client, ref plan.PRRef, sha string) ([]plan.Status, error) {
	seen := map[string]bool{}
	var out []plan.Status
	opt := &github.ListOptions{PerPage: PerPage}
	for {
		sts, resp, err := c.Repositories.ListStatuses(ctx, ref.Owner, ref.Repo, sha, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list statuses of %s@%s: %w", ref.FullRepo(), sha, err)
		}
		for _, st := range sts {
			k := strings.ToLower(st.GetContext())
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, plan.Status{
				Context: st.GetContext(), State: st.GetState(), Description: st.GetDescription(),
				TargetURL: st.GetTargetURL(), Creator: st.GetCreator().GetLogin(), CreatedAt: st.GetCreatedAt().Time,
			})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// ReadCheckRuns returns the latest check run per name and app on sha.
func ReadCheckRuns(ctx context.Context, c *github.Client, ref plan.PRRef, sha string) ([]plan.CheckRun, error) {
	var all []plan.CheckRun
	opt := &github.ListCheckRunsOptions{Filter: github.String("latest"), ListOptions: github.ListOptions{PerPage: PerPage}}
	for {
		res, resp, err := c.Checks.ListCheckRunsForRef(ctx, ref.Owner, ref.Repo, sha, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list check runs of %s@%s: %w", ref.FullRepo(), sha, err)
		}
		for _, cr := range res.CheckRuns {
			all = append(all, plan.CheckRun{
				ID: cr.GetID(), Name: cr.GetName(), Status: cr.GetStatus(), Conclusion: cr.GetConclusion(),
				AppID: cr.GetApp().GetID(), AppSlug: cr.GetApp().GetSlug(), SuiteID: cr.GetCheckSuite().GetID(),
				StartedAt: cr.GetStartedAt().Time,
			})
		}
		if resp.NextPage == 0 {
			return plan.LatestCheckRuns(all), nil
		}
		opt.Page = resp.NextPage
	}
}

// ClassicProtectionPermission is what GitHub asks of an app for the classic
// branch protection endpoints.
const ClassicProtectionPermission = "administration=read"

// ReadRequired returns the base branch's required contexts: classic
// protection ∪ rules for the branch. Only GitHub's answers that say so
// mean "nothing required by classic protection": 404 "Branch not
// protected", 404 "Required status checks not enabled", and the 403 of a
// plan without branch protection. Any other
// failure leaves the protection unknown, never empty: a context it
// requires, or a pin it sets, would go unseen. Without the Administration
// permission (rulesets are read without it) the error is a
// *PermissionError (AsPermissionError finds it) and the rulesets' checks
// come with it: what is known, short of the protection's.
func ReadRequired(ctx context.Context, c *github.Client, repo plan.RepoRef, branch string) ([]plan.RequiredCheck, error) {
	owner, name := repo.Owner, repo.Repo
	var out []plan.RequiredCheck
	var protErr error
	rsc, _, err := c.Repositories.GetRequiredStatusChecks(ctx, owner, name, branch)
	var er *github.ErrorResponse
	switch {
	case err == nil:
		seen := map[string]bool{}
		for _, chk := range rsc.GetChecks() {
			out = append(out, plan.RequiredCheck{Context: chk.Context, AppID: pinnedApp(chk.AppID), From: "protection"})
			seen[chk.Context] = true
		}
		for _, ctxName := range rsc.GetContexts() {
			if !seen[ctxName] {
				out = append(out, plan.RequiredCheck{Context: ctxName, From: "protection"})
			}
		}
	case errors.Is(err, github.ErrBranchNotProtected):
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound && er.Message == requiredChecksOff:
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden && strings.HasPrefix(er.Message, protectionUnavailable):
		// The repository's plan has no branch protection: none applies.
	default:
		if pe := permissionError(err, "classic branch protection cannot be read"); pe != nil {
			protErr = fmt.Errorf("%s:%s: %w", repo.FullRepo(), branch, pe)
			break
		}
		return nil, fmt.Errorf("failed to get required status checks of %s:%s: %w", repo.FullRepo(), branch, err)
	}
	rs, err := readBranchRules(ctx, c, repo, branch)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.Type != "required_status_checks" || r.Parameters == nil {
			continue
		}
		var p github.RequiredStatusChecksRuleParameters
		if err := json.Unmarshal(r.Parameters, &p); err != nil {
			return nil, fmt.Errorf("failed to decode a required_status_checks rule of %s:%s: %w", repo.FullRepo(), branch, err)
		}
		for _, chk := range p.RequiredStatusChecks {
			out = append(out, plan.RequiredCheck{Context: chk.Context, AppID: pinnedApp(chk.IntegrationID), From: "ruleset"})
		}
	}
	return out, protErr
}

// requiredChecksOff is GitHub's 404 message for a protected branch that
// requires no status checks; protectionUnavailable begins its 403 message
// for a private repository whose plan has no branch protection ("Upgrade to
// GitHub Pro or make this repository public to enable this feature.").
const (
	requiredChecksOff     = "Required status checks not enabled"
	protectionUnavailable = "Upgrade to GitHub Pro"
)

// branchRule is one rule GitHub applies to a branch, as it answers it.
type branchRule struct {
	Type       string          `json:"type"`
	Parameters json.RawMessage `json:"parameters"`
}

// readBranchRules reads the rules of a branch as they are: go-github v60's
// RepositoryRule refuses rule types it does not know (merge_queue, for
// one), which would make a branch with a merge queue unreadable.
func readBranchRules(ctx context.Context, c *github.Client, repo plan.RepoRef, branch string) ([]branchRule, error) {
	req, err := c.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/rules/branches/%s", repo.Owner, repo.Repo, url.PathEscape(branch)), nil)
	if err != nil {
		return nil, err
	}
	var rs []branchRule
	if _, err := c.Do(ctx, req, &rs); err != nil {
		return nil, fmt.Errorf("failed to get rules for %s:%s: %w", repo.FullRepo(), branch, err)
	}
	return rs, nil
}

// HasMergeQueue reports whether a branch's rules give it a merge queue.
func HasMergeQueue(ctx context.Context, c *github.Client, repo plan.RepoRef, branch string) (bool, error) {
	rs, err := readBranchRules(ctx, c, repo, branch)
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		if r.Type == "merge_queue" {
			return true, nil
		}
	}
	return false, nil
}

// pinnedApp maps GitHub's "any source" (null or -1) to 0.
func pinnedApp(id *int64) int64 {
	if id == nil || *id <= 0 {
		return 0
	}
	return *id
}

// ReadRetriggers lists the earlier re-triggers on sha: fix-status's own
// comments, by their hidden markers (login is fix-status's, "slug[bot]"),
// and the re-runs of the latest run of each of workflows (file names), by
// its attempt number.
func ReadRetriggers(ctx context.Context, c *github.Client, ref plan.PRRef, sha, login string, workflows []string) ([]plan.PastRetrigger, error) {
	var out []plan.PastRetrigger
	if len(workflows) > 0 {
		runs, err := listRuns(ctx, c, ref.RepoRef, sha)
		if err != nil {
			return nil, err
		}
		latest := map[string]workflowRun{}
		for _, r := range runs {
			w := path.Base(r.Path)
			if slices.Contains(workflows, w) && r.ID > latest[w].ID {
				latest[w] = r
			}
		}
		for w, r := range latest {
			if r.Attempt > 1 {
				out = append(out, plan.PastRetrigger{Workflow: w, Count: r.Attempt - 1, At: r.StartedAt})
			}
		}
	}
	if ref.Number == 0 {
		// A merge group: no pull request, no comments.
		return out, nil
	}
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: PerPage}}
	for {
		cs, resp, err := c.Issues.ListComments(ctx, ref.Owner, ref.Repo, ref.Number, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list comments of %s: %w", ref, err)
		}
		for _, cm := range cs {
			if !strings.EqualFold(cm.GetUser().GetLogin(), login) {
				continue
			}
			for _, context := range plan.ParseRetriggerMarkers(cm.GetBody(), sha) {
				out = append(out, plan.PastRetrigger{Context: context, Count: 1, At: cm.GetCreatedAt().Time})
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// ReadPermission returns user's permission on the repository: admin,
// write, read or none (GitHub folds maintain into write, triage into read).
func ReadPermission(ctx context.Context, c *github.Client, repo plan.RepoRef, user string) (string, error) {
	perm, _, err := c.Repositories.GetPermissionLevel(ctx, repo.Owner, repo.Repo, user)
	if err != nil {
		return "", fmt.Errorf("failed to read %s's permission on %s: %w", user, repo.FullRepo(), err)
	}
	return perm.GetPermission(), nil
}

// HeadSince is when the head SHA was first seen by CI: the earliest result on
// it, else the PR's last update.
func HeadSince(pr plan.PRInfo, sts []plan.Status, crs []plan.CheckRun) time.Time {
	t := pr.UpdatedAt
	for _, s := range sts {
		if !s.CreatedAt.IsZero() && s.CreatedAt.Before(t) {
			t = s.CreatedAt
		}
	}
	for _, c := range crs {
		if !c.StartedAt.IsZero() && c.StartedAt.Before(t) {
			t = c.StartedAt
		}
	}
	return t
}

// workflowRun is what fix-status needs of a GitHub Actions run.
type workflowRun struct {
	ID        int64     `json:"id"`
	Path      string    `json:"path"`
	Attempt   int       `json:"run_attempt"`
	StartedAt time.Time `json:"run_started_at"`
}

// listRuns lists the workflow runs of a head SHA. go-github v60's
// WorkflowRun has no "path", which GitHub returns and which is the only
// reliable link from a run to its workflow file.
func listRuns(ctx context.Context, c *github.Client, repo plan.RepoRef, sha string) ([]workflowRun, error) {
	req, err := c.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/actions/runs?head_sha=%s&per_page=%d", repo.Owner, repo.Repo, sha, PerPage), nil)
	if err != nil {
		return nil, err
	}
	var runs struct {
		WorkflowRuns []workflowRun `json:"workflow_runs"`
	}
	if _, err := c.Do(ctx, req, &runs); err != nil {
		return nil, fmt.Errorf("failed to list workflow runs of %s@%s: %w", repo.FullRepo(), sha, err)
	}
	return runs.WorkflowRuns, nil
}
