package backfill

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v60/github"
	"github.com/shurcooL/githubv4"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

// Page sizes of the GraphQL read. GitHub charges a query the number of
// connection pages it may need, divided by 100: with P PRs per query that
// is 1 + P (files) + P (commits) + P (check suites) + P×S (check runs of S
// suites), so the points per PR are about (3+S)/100 whatever P is. P=50 and
// S=5 cost 4 points per 50 PRs (0.08 per PR) and stay far below GitHub's
// 500,000-node limit (50 + 50×100 + 50 + 50×5 + 50×5×100 = 30,350). The
// page of check runs per suite does not change the cost; a full page of
// suites or runs may hide more, and then the check runs are read by REST.
const (
	DefaultPRsPerQuery = 50
	filesPerPR         = 100 // GitHub's maximum `first`; more files → REST
	suitesPerCommit    = 5
	runsPerSuite       = 100
)

// prPageQuery is one page of a repository's open PRs with what the planner
// needs, in GitHub's schema (names and types as in its SDL).
type prPageQuery struct {
	Repository *struct {
		PullRequests struct {
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
			Nodes []gqlPR
		} `graphql:"pullRequests(states: [OPEN], first: $prs, after: $after, orderBy: {field: UPDATED_AT, direction: DESC})"`
	} `graphql:"repository(owner: $owner, name: $name)"`
	// RateLimit.Cost is counted in the stats; the budget itself comes from
	// the x-ratelimit-* headers (Governor).
	RateLimit struct {
		Cost int
	}
}

type gqlPR struct {
	Number       int
	State        string
	IsDraft      bool
	HeadRefOid   string
	BaseRefName  string
	BaseRefOid   string
	ChangedFiles int
	UpdatedAt    githubv4.DateTime
	CreatedAt    githubv4.DateTime
	Author       *struct {
		Login string
	}
	// ReviewDecision is null when no review is required and none was given.
	ReviewDecision *string
	Files          *struct {
		TotalCount int
		PageInfo   struct {
			HasNextPage bool
		}
		Nodes []struct {
			Path string
		}
	} `graphql:"files(first: 100)"`
	Commits struct {
		Nodes []struct {
			Commit gqlCommit
		}
	} `graphql:"commits(last: 1)"`
}

type gqlCommit struct {
	Oid    string
	Status *struct {
		Contexts []struct {
			Context     string
			State       string
			Description *string
			TargetUrl   *string
			CreatedAt   githubv4.DateTime
			Creator     *struct {
				Login string
			}
		}
	}
	CheckSuites *gqlSuites `graphql:"checkSuites(first: $suites)"`
}

type gqlSuites struct {
	Nodes []gqlSuite
}

type gqlSuite struct {
	DatabaseId int64
	App        *struct {
		DatabaseId int64
		Slug       string
	}
	CheckRuns *struct {
		Nodes []gqlRun
	} `graphql:"checkRuns(first: $runs)"`
}

type gqlRun struct {
	DatabaseId int64
	Name       string
	Status     string
	Conclusion *string
	StartedAt  *githubv4.DateTime
}

// readGraphQL reads a repository's open PRs a page of many PRs per query.
// A PR with more files than one page has FilesComplete false (the
// reconciler then lists them by REST); one with more check suites or runs
// than a page has its check runs read by REST here. PRs finished in an
// earlier run (resume) are only counted.
func (rn *Runner) readGraphQL(ctx context.Context, repo plan.RepoRef) (items []*Item, resumed int, err error) {
	v4, err := rn.opts.Clients.NewInstallationV4Client(repo.InstallationID)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to create a GraphQL client for installation %d: %w", repo.InstallationID, err)
	}
	rest, err := rn.opts.Clients.NewInstallationClient(repo.InstallationID)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to create a client for installation %d: %w", repo.InstallationID, err)
	}
	full := repo.Owner + "/" + repo.Repo
	vars := map[string]any{
		"owner":  githubv4.String(repo.Owner),
		"name":   githubv4.String(repo.Repo),
		"prs":    githubv4.Int(rn.opts.PRsPerQuery),
		"after":  (*githubv4.String)(nil),
		"suites": githubv4.Int(suitesPerCommit),
		"runs":   githubv4.Int(runsPerSuite),
	}
	gov := rn.opts.Clients.Governor()
	for {
		var q prPageQuery
		_, err := gov.retry(ctx, repo.InstallationID, rn.opts.MaxRetries, "graphql "+full, func(int) error {
			q = prPageQuery{}
			err := v4.Query(ctx, &q, vars)
			if q.RateLimit.Cost > 0 {
				gov.AddGraphQLPoints(q.RateLimit.Cost)
			}
			return err
		})
		if err != nil {
			return items, resumed, fmt.Errorf("failed to read the open pull requests of %s by GraphQL: %w", full, err)
		}
		if q.Repository == nil {
			return items, resumed, fmt.Errorf("failed to read the open pull requests of %s by GraphQL: no such repository", full)
		}
		prs := &q.Repository.PullRequests
		for i := range prs.Nodes {
			n := &prs.Nodes[i]
			ref := repo.PR(n.Number)
			if rn.done(ref, n.HeadRefOid) {
				resumed++
				continue
			}
			it, err := rn.gqlItem(ctx, rest, ref, n)
			if err != nil {
				rn.fail(Failure{PR: ref.String(), Err: err})
				continue
			}
			items = append(items, it)
		}
		if !prs.PageInfo.HasNextPage || prs.PageInfo.EndCursor == nil {
			return items, resumed, nil
		}
		vars["after"] = githubv4.NewString(githubv4.String(*prs.PageInfo.EndCursor))
	}
}

// gqlItem maps one PR from GraphQL to what the reconciler takes from REST:
// GitHub's upper-case enums become REST's lower-case values.
func (rn *Runner) gqlItem(ctx context.Context, rest *github.Client, ref plan.PRRef, n *gqlPR) (*Item, error) {
	pr := plan.PRInfo{
		Number: n.Number, State: strings.ToLower(n.State), Draft: n.IsDraft,
		BaseRef: n.BaseRefName, BaseSHA: n.BaseRefOid, HeadSHA: n.HeadRefOid,
		UpdatedAt: n.UpdatedAt.Time, ChangedFiles: n.ChangedFiles,
	}
	if n.Author != nil {
		pr.Author = n.Author.Login
	}
	pf := &reconcile.Prefetched{PR: pr}
	if f := n.Files; f != nil {
		for _, fl := range f.Nodes {
			pf.Files = append(pf.Files, fl.Path)
		}
		pf.FilesComplete = !f.PageInfo.HasNextPage && len(f.Nodes) >= f.TotalCount && len(f.Nodes) >= n.ChangedFiles
		if !pf.FilesComplete {
			pf.Files = nil // the reconciler lists them all by REST
		}
	}
	// The head's results, unless the head commit is missing from the
	// answer or has more suites or runs than a page: then the check runs
	// (and, without the commit, the statuses) are read by REST.
	var commit *gqlCommit
	checksComplete := false
	if len(n.Commits.Nodes) > 0 && n.Commits.Nodes[0].Commit.Oid == n.HeadRefOid {
		commit = &n.Commits.Nodes[0].Commit
		pf.Statuses = rn.statuses(commit)
		checksComplete = true
		if cs := commit.CheckSuites; cs != nil {
			pf.CheckRuns, checksComplete = latestRuns(cs, len(cs.Nodes) < suitesPerCommit)
		}
	}
	if !checksComplete {
		rn.fallbacks.checks.Add(1)
		if err := rn.readResultsREST(ctx, rest, ref, n.HeadRefOid, pf, commit == nil); err != nil {
			return nil, err
		}
	}
	if !pf.FilesComplete {
		rn.fallbacks.files.Add(1)
	}
	it := &Item{Ref: ref, HeadSHA: n.HeadRefOid, Prefetched: pf, Draft: n.IsDraft, UpdatedAt: n.UpdatedAt.Time,
		Approved: n.ReviewDecision != nil && *n.ReviewDecision == "APPROVED", Green: green(pf.Statuses, pf.CheckRuns)}
	return it, nil
}

// statuses maps the head's statuses (GitHub's latest per context).
func (rn *Runner) statuses(commit *gqlCommit) []plan.Status {
	if commit.Status == nil {
		return nil
	}
	var out []plan.Status
	for _, c := range commit.Status.Contexts {
		s := plan.Status{Context: c.Context, State: strings.ToLower(c.State), CreatedAt: c.CreatedAt.Time}
		if c.Description != nil {
			s.Description = *c.Description
		}
		if c.TargetUrl != nil {
			s.TargetURL = *c.TargetUrl
		}
		if c.Creator != nil {
			s.Creator = rn.restLogin(c.Creator.Login)
		}
		out = append(out, s)
	}
	return out
}

// readResultsREST reads the head's check runs, and its statuses when
// statuses is set, by REST into pf.
func (rn *Runner) readResultsREST(ctx context.Context, rest *github.Client, ref plan.PRRef, sha string, pf *reconcile.Prefetched, statuses bool) error {
	gov := rn.opts.Clients.Governor()
	var err error
	if _, err = gov.retry(ctx, ref.InstallationID, rn.opts.MaxRetries, "check runs of "+ref.String(), func(int) error {
		pf.CheckRuns, err = ghapi.ReadCheckRuns(ctx, rest, ref, sha)
		return err
	}); err != nil || !statuses {
		return err
	}
	_, err = gov.retry(ctx, ref.InstallationID, rn.opts.MaxRetries, "statuses of "+ref.String(), func(int) error {
		pf.Statuses, err = ghapi.ReadStatuses(ctx, rest, ref, sha)
		return err
	})
	return err
}

// latestRuns keeps the latest check run per name and app, as the REST read
// with filter=latest does; complete turns false when a suite's page of runs
// is full.
func latestRuns(cs *gqlSuites, complete bool) ([]plan.CheckRun, bool) {
	var all []plan.CheckRun
	for _, s := range cs.Nodes {
		if s.CheckRuns == nil {
			continue
		}
		if len(s.CheckRuns.Nodes) >= runsPerSuite {
			complete = false
		}
		var appID int64
		var slug string
		if s.App != nil {
			appID, slug = s.App.DatabaseId, s.App.Slug
		}
		for _, r := range s.CheckRuns.Nodes {
			run := plan.CheckRun{ID: r.DatabaseId, Name: r.Name, Status: strings.ToLower(r.Status), AppID: appID, AppSlug: slug, SuiteID: s.DatabaseId}
			if r.Conclusion != nil {
				run.Conclusion = strings.ToLower(*r.Conclusion)
			}
			if r.StartedAt != nil {
				run.StartedAt = r.StartedAt.Time
			}
			all = append(all, run)
		}
	}
	return plan.LatestCheckRuns(all), complete
}

// restLogin is the login REST shows for an actor: GraphQL names a bot by
// its app's slug, REST as "slug[bot]", and the planner knows its own
// results by the REST login.
func (rn *Runner) restLogin(login string) string {
	if rn.opts.AppLogin != "" && strings.EqualFold(login+"[bot]", rn.opts.AppLogin) {
		return rn.opts.AppLogin
	}
	return login
}

// green reports whether every result reported on the head passes.
func green(sts []plan.Status, crs []plan.CheckRun) bool {
	for _, s := range sts {
		if s.State != "success" {
			return false
		}
	}
	for _, c := range crs {
		if c.Status != "completed" {
			return false
		}
		switch c.Conclusion {
		case "success", "neutral", "skipped":
		default:
			return false
		}
	}
	return true
}
