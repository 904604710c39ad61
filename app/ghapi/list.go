package ghapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"

	"github.com/fix-status/fix-status/app/plan"
)

// ListOpenPRs lists a repository's open PRs (of one base branch if given).
func ListOpenPRs(ctx context.Context, c *github.Client, repo plan.RepoRef, branch string) ([]plan.PRInfo, error) {
	var out []plan.PRInfo
	for page := 1; page != 0; {
		prs, next, err := ListOpenPRsPage(ctx, c, repo, branch, page)
		if err != nil {
			return nil, err
		}
		out = append(out, prs...)
		page = next
	}
	return out, nil
}

// ListOpenPRsPage lists one page (from 1) of a repository's open PRs, 100
// a page, newest first, and returns the next page's number (0 after the
// last).
func ListOpenPRsPage(ctx context.Context, c *github.Client, repo plan.RepoRef, branch string, page int) ([]plan.PRInfo, int, error) {
	opt := &github.PullRequestListOptions{State: "open", Base: branch, ListOptions: github.ListOptions{PerPage: PerPage, Page: page}}
	prs, resp, err := c.PullRequests.List(ctx, repo.Owner, repo.Repo, opt)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to list open pull requests of %s: %w", repo.FullRepo(), err)
	}
	out := make([]plan.PRInfo, 0, len(prs))
	for _, pr := range prs {
		out = append(out, PRInfo(pr))
	}
	return out, resp.NextPage, nil
}

// InstalledRepos lists the repositories of every installation of the app.
// An installation that cannot be listed does not hide the others: its
// error is returned with what could be listed.
func InstalledRepos(ctx context.Context, cc githubapp.ClientCreator) ([]plan.RepoRef, error) {
	appClient, err := cc.NewAppClient()
	if err != nil {
		return nil, fmt.Errorf("failed to create the app client: %w", err)
	}
	var out []plan.RepoRef
	var errs []error
	opt := &github.ListOptions{PerPage: PerPage}
	for {
		insts, resp, err := appClient.Apps.ListInstallations(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list installations: %w", err)
		}
		for _, inst := range insts {
			repos, err := InstallationRepos(ctx, cc, inst.GetID())
			if err != nil {
				errs = append(errs, err)
			}
			out = append(out, repos...)
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return out, errors.Join(errs...)
}

// InstallationRepos lists the repositories one installation can access.
func InstallationRepos(ctx context.Context, cc githubapp.ClientCreator, id int64) ([]plan.RepoRef, error) {
	c, err := cc.NewInstallationClient(id)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for installation %d: %w", id, err)
	}
	var out []plan.RepoRef
	opt := &github.ListOptions{PerPage: PerPage}
	for {
		res, resp, err := c.Apps.ListRepos(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list repositories of installation %d: %w", id, err)
		}
		for _, r := range res.Repositories {
			out = append(out, plan.RepoRef{InstallationID: id, Owner: r.GetOwner().GetLogin(), Repo: r.GetName()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// FindInstallation returns repo with the app's installation on it.
func FindInstallation(ctx context.Context, cc githubapp.ClientCreator, repo plan.RepoRef) (plan.RepoRef, error) {
	c, err := cc.NewAppClient()
	if err != nil {
		return plan.RepoRef{}, fmt.Errorf("failed to create the app client: %w", err)
	}
	inst, _, err := c.Apps.FindRepositoryInstallation(ctx, repo.Owner, repo.Repo)
	if err != nil {
		return plan.RepoRef{}, fmt.Errorf("the app is not installed on %s: %w", repo.FullRepo(), err)
	}
	repo.InstallationID = inst.GetID()
	return repo, nil
}

// PRsOfCommit lists the open PRs of repo whose head is sha, fork PRs
// included: a check payload for a fork's head names no PR, and a status
// names none at all.
func PRsOfCommit(ctx context.Context, c *github.Client, repo plan.RepoRef, sha string) ([]plan.PRInfo, error) {
	var out []plan.PRInfo
	opt := &github.ListOptions{PerPage: PerPage}
	for {
		prs, resp, err := c.PullRequests.ListPullRequestsWithCommit(ctx, repo.Owner, repo.Repo, sha, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list the pull requests of %s@%s: %w", repo.FullRepo(), sha, err)
		}
		for _, pr := range prs {
			if pr.GetState() == "open" && pr.GetHead().GetSHA() == sha {
				out = append(out, PRInfo(pr))
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}
