package bulk

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/shurcooL/githubv4"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

// Page sizes of the GraphQL read. The page of check runs per suite does not
// change the cost; a full page of suites or runs may hide more, and then
// the check runs are read by REST. 50 PRs with 5 suites of 100 runs stay far
// below GitHub's 500,000-node limit (50 + 50×100 + 50 + 50×5 + 50×5×100 =
// 30,350), as do 100 aliases of 100 files.
const (
	filesPerPage    = 100 // GitHub's maximum `first`
	suitesPerCommit = 5
	runsPerSuite    = 100
	// prsPerFilesQuery is how many PRs one follow-up query pages the files
	// of: 100 connections of 100 files are 1 point, as one is.
	prsPerFilesQuery = 100
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
	Author       *gqlActor
	// ReviewDecision is null when no review is required and none was given.
	ReviewDecision *string
	Files          *gqlFiles `graphql:"files(first: 100)"`
	Commits        struct {
		Nodes []struct {
			Commit gqlCommit
		}
	} `graphql:"commits(last: 1)"`
}

// gqlFiles is one page of a PR's changed files.
type gqlFiles struct {
	PageInfo struct {
		HasNextPage bool
		EndCursor   *string
	}
	Nodes []struct {
		Path       string
		ChangeType string
	}
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
			Creator     *gqlActor
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

// gqlActor is a user or an app's bot. GraphQL names a bot by its app's
// slug ("fix-status"), REST by "slug[bot]", and the reconciler knows its
// own results, and bots, by the REST login.
type gqlActor struct {
	Typename string `graphql:"__typename"`
	Login    string
}

// restLogin is the login as the REST API shows it.
func (a *gqlActor) restLogin() string {
	if a == nil {
		return ""
	}
	if a.Typename == "Bot" {
		return a.Login + "[bot]"
	}
	return a.Login
}

// fileList gathers one PR's files over pages.
type fileList struct {
	item    int // index in the page's items
	ref     plan.PRRef
	changed int // the PR's changedFiles
	names   []string
	cursor  string
	// more: GraphQL has more. rest: REST lists them, as GraphQL cannot (a
	// renamed file, whose previous path GraphQL does not give and which may
	// be a rule file; a page that could not be read).
	more, rest bool
}

// add takes one page of files.
func (f *fileList) add(p *gqlFiles) {
	for _, n := range p.Nodes {
		if n.ChangeType == "RENAMED" {
			f.toREST()
			return
		}
		f.names = append(f.names, n.Path)
	}
	f.more = p.PageInfo.HasNextPage && p.PageInfo.EndCursor != nil && len(f.names) < ghapi.MaxPRFiles
	if f.more {
		f.cursor = *p.PageInfo.EndCursor
	}
}

func (f *fileList) toREST() { f.rest, f.more, f.names = true, false, nil }

// files is the complete list, as ghapi.ReadFiles says it.
func (f *fileList) files() *plan.Files {
	return &plan.Files{Names: f.names, Complete: ghapi.FilesComplete(len(f.names), f.changed)}
}

// graphqlPage reads one page of PRs in one query, then pages the files of
// those with more than a page in follow-up queries, and reads by REST what
// GraphQL cannot give.
func (r *Reader) graphqlPage(ctx context.Context, repo plan.RepoRef, after *string, skip Skip) (*Page, error) {
	v4, err := r.opts.Clients.NewInstallationV4Client(repo.InstallationID)
	if err != nil {
		return nil, fmt.Errorf("failed to create a GraphQL client for installation %d: %w", repo.InstallationID, err)
	}
	// What GraphQL cannot give is read by REST.
	rest, err := r.opts.Clients.NewInstallationClient(repo.InstallationID)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for installation %d: %w", repo.InstallationID, err)
	}
	full := repo.FullRepo()
	vars := map[string]any{
		"owner":  githubv4.String(repo.Owner),
		"name":   githubv4.String(repo.Repo),
		"prs":    githubv4.Int(r.opts.PRsPerQuery),
		"after":  (*githubv4.String)(nil),
		"suites": githubv4.Int(suitesPerCommit),
		"runs":   githubv4.Int(runsPerSuite),
	}
	if after != nil {
		vars["after"] = githubv4.NewString(githubv4.String(*after))
	}
	page := &Page{}
	var q prPageQuery
	if err := r.retry(ctx, repo.InstallationID, "graphql "+full, func() error {
		q = prPageQuery{}
		err := v4.Query(ctx, &q, vars)
		r.points(page, q.RateLimit.Cost)
		return err
	}); err != nil {
		return nil, fmt.Errorf("failed to read the open pull requests of %s by GraphQL: %w", full, err)
	}
	if q.Repository == nil {
		return nil, fmt.Errorf("failed to read the open pull requests of %s by GraphQL: no such repository", full)
	}
	prs := &q.Repository.PullRequests
	var lists []*fileList
	// checks are the items whose check runs (and statuses, without the head
	// commit) REST reads.
	var checks []restChecks
	for i := range prs.Nodes {
		n := &prs.Nodes[i]
		ref := repo.PR(n.Number)
		pr := plan.PRInfo{
			Number: n.Number, State: strings.ToLower(n.State), Draft: n.IsDraft,
			BaseRef: n.BaseRefName, BaseSHA: n.BaseRefOid, HeadSHA: n.HeadRefOid,
			UpdatedAt: n.UpdatedAt.Time, ChangedFiles: n.ChangedFiles, Author: n.Author.restLogin(),
		}
		if skip(ref, pr) {
			page.Skipped++
			continue
		}
		it := Item{Ref: ref, Prefetched: &reconcile.Prefetched{PR: pr}}
		if n.ReviewDecision != nil {
			it.ReviewDecision = *n.ReviewDecision
		}
		fl := &fileList{item: len(page.Items), ref: ref, changed: n.ChangedFiles}
		if n.Files != nil {
			fl.add(n.Files)
		} else {
			fl.toREST()
		}
		lists = append(lists, fl)
		// The head's results, unless the head commit is missing from the
		// answer or has more suites or runs than a page: then the check
		// runs (and, without the commit, the statuses) are read by REST.
		complete, commit := false, false
		if len(n.Commits.Nodes) > 0 && n.Commits.Nodes[0].Commit.Oid == n.HeadRefOid {
			commit = true
			c := &n.Commits.Nodes[0].Commit
			it.Prefetched.Statuses = statuses(c)
			complete = true
			if cs := c.CheckSuites; cs != nil {
				it.Prefetched.CheckRuns, complete = latestRuns(cs, len(cs.Nodes) < suitesPerCommit)
			}
		}
		if !complete {
			checks = append(checks, restChecks{item: len(page.Items), statuses: !commit})
		}
		page.Items = append(page.Items, it)
	}
	if prs.PageInfo.HasNextPage && prs.PageInfo.EndCursor != nil {
		page.Next = graphqlCursor + *prs.PageInfo.EndCursor
	}
	r.moreFiles(ctx, v4, repo, page, lists)
	failed := map[int]error{}
	for _, fl := range lists {
		if !fl.rest {
			page.Items[fl.item].Prefetched.Files = fl.files()
			continue
		}
		page.FilesREST++
		if err := r.restFiles(ctx, rest, fl.ref, page.Items[fl.item].Prefetched); err != nil {
			failed[fl.item] = err
		}
	}
	for _, c := range checks {
		page.ChecksREST++
		it := page.Items[c.item]
		if err := r.restResults(ctx, rest, it.Ref, it.Prefetched, c.statuses); err != nil && failed[c.item] == nil {
			failed[c.item] = err
		}
	}
	if len(failed) > 0 {
		kept := page.Items[:0]
		for i, it := range page.Items {
			if err := failed[i]; err != nil {
				page.Failures = append(page.Failures, Failure{Ref: it.Ref, Err: err})
				continue
			}
			kept = append(kept, it)
		}
		page.Items = kept
	}
	return page, nil
}

type restChecks struct {
	item     int
	statuses bool
}

func (r *Reader) points(p *Page, cost int) {
	if cost > 0 {
		r.opts.Clients.Governor().AddGraphQLPoints(cost)
		p.GraphQLPoints += cost
	}
}

// moreFiles pages on the files of every PR of lists with more than GraphQL
// gave, up to 100 PRs a query (each alias one more page of one PR), until
// each is complete. A PR whose next page cannot be read has its files read
// by REST.
func (r *Reader) moreFiles(ctx context.Context, v4 *githubv4.Client, repo plan.RepoRef, page *Page, lists []*fileList) {
	for {
		var batch []*fileList
		for _, fl := range lists {
			if fl.more && len(batch) < prsPerFilesQuery {
				batch = append(batch, fl)
			}
		}
		if len(batch) == 0 {
			return
		}
		qt := filesQueryType(len(batch))
		vars := map[string]any{"owner": githubv4.String(repo.Owner), "name": githubv4.String(repo.Repo)}
		for i, fl := range batch {
			vars[fmt.Sprint("n", i)] = githubv4.Int(fl.ref.Number)
			vars[fmt.Sprint("c", i)] = githubv4.String(fl.cursor)
		}
		var q reflect.Value
		err := r.retry(ctx, repo.InstallationID, "graphql files of "+repo.FullRepo(), func() error {
			q = reflect.New(qt)
			err := v4.Query(ctx, q.Interface(), vars)
			r.points(page, int(q.Elem().FieldByName("RateLimit").FieldByName("Cost").Int()))
			return err
		})
		prs := q.Elem().FieldByName("Repository")
		for i, fl := range batch {
			pr := prs.Field(i)
			if err != nil || pr.IsNil() {
				fl.toREST()
				continue
			}
			files := pr.Elem().Field(0).Addr().Interface().(*gqlFiles)
			fl.add(files)
		}
	}
}

// filesQueryTypes caches the follow-up query's type by its number of PRs.
var filesQueryTypes sync.Map

// filesQueryType is the type of a query of one more page of files of each
// of n PRs: repository { p0: pullRequest(number: $n0) { files(first: 100,
// after: $c0) {...} } ... } under aliases, which githubv4 builds from
// struct tags, so the struct is made at run time.
func filesQueryType(n int) reflect.Type {
	if t, ok := filesQueryTypes.Load(n); ok {
		return t.(reflect.Type)
	}
	fields := make([]reflect.StructField, n)
	for i := range n {
		pr := reflect.StructOf([]reflect.StructField{{
			Name: "Files", Type: reflect.TypeFor[gqlFiles](),
			Tag: reflect.StructTag(fmt.Sprintf(`graphql:"files(first: %d, after: $c%d)"`, filesPerPage, i)),
		}})
		fields[i] = reflect.StructField{
			Name: fmt.Sprint("P", i), Type: reflect.PointerTo(pr),
			Tag: reflect.StructTag(fmt.Sprintf(`graphql:"p%d: pullRequest(number: $n%d)"`, i, i)),
		}
	}
	t := reflect.StructOf([]reflect.StructField{
		{Name: "Repository", Type: reflect.StructOf(fields), Tag: `graphql:"repository(owner: $owner, name: $name)"`},
		{Name: "RateLimit", Type: reflect.TypeFor[struct{ Cost int }]()},
	})
	filesQueryTypes.Store(n, t)
	return t
}

// statuses maps the head's statuses (GitHub's latest per context):
// GitHub's upper-case enums become REST's lower-case values.
func statuses(commit *gqlCommit) []plan.Status {
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
		s.Creator = c.Creator.restLogin()
		out = append(out, s)
	}
	return out
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
		for _, run := range s.CheckRuns.Nodes {
			cr := plan.CheckRun{ID: run.DatabaseId, Name: run.Name, Status: strings.ToLower(run.Status), AppID: appID, AppSlug: slug, SuiteID: s.DatabaseId}
			if run.Conclusion != nil {
				cr.Conclusion = strings.ToLower(*run.Conclusion)
			}
			if run.StartedAt != nil {
				cr.StartedAt = run.StartedAt.Time
			}
			all = append(all, cr)
		}
	}
	return plan.LatestCheckRuns(all), complete
}
