package ghapi

import (
	"context"
	"fmt"

	"github.com/google/go-github/v60/github"

	"github.com/fix-status/fix-status/app/plan"
)

// ProtectedBranches lists the branches of repo that GitHub calls protected,
// in GitHub's order (by name). GitHub counts both kinds of protection here:
// classic branch protection and active rulesets targeting the branch, so
// one listing finds every branch whose merges can require checks. It needs
// Contents: read, which fix-status has for rule files.
func ProtectedBranches(ctx context.Context, c *github.Client, repo plan.RepoRef) ([]string, error) {
	var out []string
	opt := &github.BranchListOptions{Protected: github.Bool(true), ListOptions: github.ListOptions{PerPage: PerPage}}
	for {
		bs, resp, err := c.Repositories.ListBranches(ctx, repo.Owner, repo.Repo, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list protected branches of %s: %w", repo.FullRepo(), err)
		}
		for _, b := range bs {
			out = append(out, b.GetName())
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}
