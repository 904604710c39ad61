package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// MaxPRFiles is where GitHub's PR files API stops listing.
const MaxPRFiles = 3000

// perPage is GitHub's page size maximum; bigger pages mean fewer requests.
const perPage = 100

// readPR reads the pull request itself.
func readPR(ctx context.Context, c *github.Client, ref PRRef) (*github.PullRequest, error) {
	pr, _, err := c.PullRequests.Get(ctx, ref.Owner, ref.Repo, ref.Number)
	if err != nil {
		return nil, fmt.Errorf("failed to get pull request %s: %w", ref, err)
	}
	return pr, nil
}

// ReadFiles lists the PR's changed file names (renamed files by their new
// name, deleted files included) and whether the list is complete.
func ReadFiles(ctx context.Context, c *github.Client, ref PRRef, changedFiles int) ([]string, bool, error) {
	var names []string
	opt := &github.ListOptions{PerPage: perPage}
	for {
		files, resp, err := c.PullRequests.ListFiles(ctx, ref.Owner, ref.Repo, ref.Number, opt)
		if err != nil {
			return nil, false, fmt.Errorf("failed to list files of %s: %w", ref, err)
		}
		for _, f := range files {
			names = append(names, f.GetFilename())
		}
		if resp.NextPage == 0 || len(names) >= MaxPRFiles {
			break
		}
		opt.Page = resp.NextPage
	}
	// GitHub stops at 3,000 files without saying so; the PR's own count
	// tells whether anything is missing.
	complete := len(names) < MaxPRFiles && (changedFiles == 0 || len(names) >= changedFiles)
	return names, complete, nil
}

// ReadStatuses returns the latest status per context (case-insensitive) on
// sha, with who created it. The statuses list is newest first; the combined
// status would be one read too but does not say who created each status.
func ReadStatuses(ctx context.Context, c *github.Client, ref PRRef, sha string) ([]Status, error) {
	seen := map[string]bool{}
	var out []Status
	opt := &github.ListOptions{PerPage: perPage}
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
			out = append(out, Status{
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
func ReadCheckRuns(ctx context.Context, c *github.Client, ref PRRef, sha string) ([]CheckRun, error) {
	var all []CheckRun
	opt := &github.ListCheckRunsOptions{Filter: github.String("latest"), ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		res, resp, err := c.Checks.ListCheckRunsForRef(ctx, ref.Owner, ref.Repo, sha, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list check runs of %s@%s: %w", ref.FullRepo(), sha, err)
		}
		for _, cr := range res.CheckRuns {
			all = append(all, CheckRun{
				ID: cr.GetID(), Name: cr.GetName(), Status: cr.GetStatus(), Conclusion: cr.GetConclusion(),
				AppID: cr.GetApp().GetID(), AppSlug: cr.GetApp().GetSlug(), SuiteID: cr.GetCheckSuite().GetID(),
				StartedAt: cr.GetStartedAt().Time,
			})
		}
		if resp.NextPage == 0 {
			return LatestCheckRuns(all), nil
		}
		opt.Page = resp.NextPage
	}
}

// LatestCheckRuns keeps the newest run (highest id) per name
// (case-insensitive) and app, in id order: what GitHub counts for a
// required check.
func LatestCheckRuns(runs []CheckRun) []CheckRun {
	type key struct {
		name string
		app  int64
	}
	latest := map[key]CheckRun{}
	for _, run := range runs {
		k := key{strings.ToLower(run.Name), run.AppID}
		if prev, ok := latest[k]; !ok || run.ID > prev.ID {
			latest[k] = run
		}
	}
	out := make([]CheckRun, 0, len(latest))
	for _, r := range latest {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// readRequired returns the base branch's required contexts: classic
// protection ∪ rules for the branch. Without Administration permission the
// protection read fails with 403; rulesets still count then.
func readRequired(ctx context.Context, c *github.Client, owner, repo, branch string) ([]RequiredCheck, error) {
	var out []RequiredCheck
	rsc, resp, err := c.Repositories.GetRequiredStatusChecks(ctx, owner, repo, branch)
	switch {
	case err == nil:
		seen := map[string]bool{}
		for _, chk := range rsc.GetChecks() {
			out = append(out, RequiredCheck{Context: chk.Context, AppID: pinnedApp(chk.AppID), From: "protection"})
			seen[chk.Context] = true
		}
		for _, ctxName := range rsc.GetContexts() {
			if !seen[ctxName] {
				out = append(out, RequiredCheck{Context: ctxName, From: "protection"})
			}
		}
	case errors.Is(err, github.ErrBranchNotProtected):
	case resp != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden):
	default:
		return nil, fmt.Errorf("failed to get required status checks of %s/%s:%s: %w", owner, repo, branch, err)
	}
	rules, _, err := c.Repositories.GetRulesForBranch(ctx, owner, repo, branch)
	if err != nil {
		return nil, fmt.Errorf("failed to get rules for %s/%s:%s: %w", owner, repo, branch, err)
	}
	for _, r := range rules {
		if r.Type != "required_status_checks" || r.Parameters == nil {
			continue
		}
		var p github.RequiredStatusChecksRuleParameters
		if err := json.Unmarshal(*r.Parameters, &p); err != nil {
			return nil, fmt.Errorf("failed to decode a required_status_checks rule of %s/%s:%s: %w", owner, repo, branch, err)
		}
		for _, chk := range p.RequiredStatusChecks {
			out = append(out, RequiredCheck{Context: chk.Context, AppID: pinnedApp(chk.IntegrationID), From: "ruleset"})
		}
	}
	return out, nil
}

// pinnedApp maps GitHub's "any source" (null or -1) to 0.
func pinnedApp(id *int64) int64 {
	if id == nil || *id <= 0 {
		return 0
	}
	return *id
}

// readRetriggers lists fix-status's earlier re-trigger comments for sha.
func readRetriggers(ctx context.Context, c *github.Client, ref PRRef, sha, login string) ([]PastRetrigger, error) {
	var out []PastRetrigger
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: perPage}}
	suffix := " sha=" + sha + " -->"
	for {
		cs, resp, err := c.Issues.ListComments(ctx, ref.Owner, ref.Repo, ref.Number, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list comments of %s: %w", ref, err)
		}
		for _, cm := range cs {
			if !strings.EqualFold(cm.GetUser().GetLogin(), login) {
				continue
			}
			for _, line := range strings.Split(cm.GetBody(), "\n") {
				var context string
				if !strings.HasPrefix(line, "<!-- fix-status retrigger context=") || !strings.HasSuffix(line, suffix) {
					continue
				}
				q := strings.TrimSuffix(strings.TrimPrefix(line, "<!-- fix-status retrigger context="), suffix)
				if err := json.Unmarshal([]byte(q), &context); err == nil {
					out = append(out, PastRetrigger{Context: context, At: cm.GetCreatedAt().Time})
				}
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// headSince is when the head SHA was first seen by CI: the earliest result on
// it, else the PR's last update.
func headSince(pr *github.PullRequest, sts []Status, crs []CheckRun) time.Time {
	t := pr.GetUpdatedAt().Time
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
