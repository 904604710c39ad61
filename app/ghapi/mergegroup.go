package ghapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/shurcooL/githubv4"

	"github.com/fix-status/fix-status/app/plan"
)

// MaxCompareFiles is where GitHub's compare API stops listing files.
const MaxCompareFiles = 300

// ReadGroupHead reads where a merge group's branch points: GitHub deletes
// the branch when the group leaves the queue (found false).
func ReadGroupHead(ctx context.Context, c *github.Client, repo plan.RepoRef, headRef string) (sha string, found bool, err error) {
	return readRef(ctx, c, repo, headRef)
}

// ReadBranchHead reads the commit a branch points at now.
func ReadBranchHead(ctx context.Context, c *github.Client, repo plan.RepoRef, branch string) (string, error) {
	sha, found, err := readRef(ctx, c, repo, "refs/heads/"+branch)
	if err == nil && !found {
		err = fmt.Errorf("branch %s of %s not found", branch, repo.FullRepo())
	}
	return sha, err
}

// readRef reads the commit a ref ("refs/heads/…") points at; found is false
// when there is no such ref.
func readRef(ctx context.Context, c *github.Client, repo plan.RepoRef, headRef string) (sha string, found bool, err error) {
	ref, resp, err := c.Git.GetRef(ctx, repo.Owner, repo.Repo, strings.TrimPrefix(headRef, "refs/"))
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("failed to read %s of %s: %w", headRef, repo.FullRepo(), err)
	}
	if ref.GetRef() != headRef && "refs/"+strings.TrimPrefix(ref.GetRef(), "refs/") != headRef {
		// GitHub answers a prefix of several refs with a list: not ours.
		return "", false, nil
	}
	return ref.GetObject().GetSHA(), true, nil
}

// ListMergeGroups lists the merge groups in a repository's queues, by their
// branches.
func ListMergeGroups(ctx context.Context, c *github.Client, repo plan.RepoRef) ([]plan.MergeGroupRef, error) {
	var out []plan.MergeGroupRef
	opt := &github.ReferenceListOptions{Ref: "heads/" + plan.MergeQueueBranchPrefix, ListOptions: github.ListOptions{PerPage: PerPage}}
	for {
		refs, resp, err := c.Git.ListMatchingRefs(ctx, repo.Owner, repo.Repo, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list the merge groups of %s: %w", repo.FullRepo(), err)
		}
		for _, r := range refs {
			if base, _, ok := plan.ParseGroupRef(r.GetRef()); ok {
				out = append(out, plan.MergeGroupRef{Repo: repo, HeadSHA: r.GetObject().GetSHA(), HeadRef: r.GetRef(), BaseRef: base})
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// Comparison is what a compare of two commits says of the changes.
type Comparison struct {
	Files plan.Files
	// MergeBase is the commit the changes start from.
	MergeBase string
	// HeadAt is when the head was committed.
	HeadAt time.Time
}

// ReadCompare lists the files changed from base to head. GitHub lists at
// most 300 files without saying it stopped: a list of 300 is taken as
// incomplete.
func ReadCompare(ctx context.Context, c *github.Client, repo plan.RepoRef, base, head string) (Comparison, error) {
	cmp, _, err := c.Repositories.CompareCommits(ctx, repo.Owner, repo.Repo, base, head, &github.ListOptions{PerPage: PerPage})
	if err != nil {
		return Comparison{}, fmt.Errorf("failed to compare %s...%s of %s: %w", base, head, repo.FullRepo(), err)
	}
	var out plan.Files
	addFiles(&out, cmp.Files)
	out.Complete = len(cmp.Files) < MaxCompareFiles
	res := Comparison{Files: out, MergeBase: cmp.GetMergeBaseCommit().GetSHA()}
	if n := len(cmp.Commits); n > 0 {
		res.HeadAt = cmp.Commits[n-1].GetCommit().GetCommitter().GetDate().Time
	}
	return res, nil
}

// ReadGroupPRs lists the pull requests of a merge group with their heads:
// the entries of its branch's merge queue up to the PR its branch is named
// after (each group holds the entries ahead of its own).
func ReadGroupPRs(ctx context.Context, c *githubv4.Client, g plan.MergeGroupRef) ([]plan.PRInfo, error) {
	_, last, ok := plan.ParseGroupRef(g.HeadRef)
	if !ok {
		return nil, fmt.Errorf("%s is not a merge group's branch", g.HeadRef)
	}
	var q struct {
		Repository *struct {
			MergeQueue *struct {
				Entries struct {
					Nodes []struct {
						HeadCommit  *struct{ Oid string }
						PullRequest *struct {
							Number     int
							HeadRefOid string
						}
					}
					PageInfo struct{ HasNextPage bool }
				} `graphql:"entries(first: 100)"`
			} `graphql:"mergeQueue(branch: $branch)"`
		} `graphql:"repository(owner: $owner, name: $name)"`
	}
	vars := map[string]any{"owner": githubv4.String(g.Repo.Owner), "name": githubv4.String(g.Repo.Repo), "branch": githubv4.String(g.BaseRef)}
	if err := c.Query(ctx, &q, vars); err != nil {
		return nil, fmt.Errorf("failed to read the merge queue of %s:%s: %w", g.Repo.FullRepo(), g.BaseRef, err)
	}
	if q.Repository == nil || q.Repository.MergeQueue == nil {
		return nil, fmt.Errorf("%s:%s has no merge queue", g.Repo.FullRepo(), g.BaseRef)
	}
	var out []plan.PRInfo
	for _, e := range q.Repository.MergeQueue.Entries.Nodes {
		if e.PullRequest == nil {
			continue
		}
		out = append(out, plan.PRInfo{Number: e.PullRequest.Number, HeadSHA: e.PullRequest.HeadRefOid, State: "open"})
		if e.PullRequest.Number == last {
			if e.HeadCommit == nil || e.HeadCommit.Oid != g.HeadSHA {
				return nil, fmt.Errorf("#%d's entry of the merge queue of %s:%s is not the merge group %s", last, g.Repo.FullRepo(), g.BaseRef, plan.ShortSHA(g.HeadSHA))
			}
			return out, nil
		}
	}
	if q.Repository.MergeQueue.Entries.PageInfo.HasNextPage {
		return nil, errors.New("the merge group is past the first 100 entries of its queue")
	}
	return nil, fmt.Errorf("#%d is not in the merge queue of %s:%s", last, g.Repo.FullRepo(), g.BaseRef)
}
