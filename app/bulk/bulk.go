// Package bulk reads a repository's open pull requests page by page, with
// everything the reconciler needs of each (reconcile.Prefetched: the PR, its
// changed files, the head's latest statuses and check runs) and its review
// decision, so that a sweep or a backfill reconciles many PRs without
// reading each one by REST. It reads with GitHub's GraphQL API, or with REST
// for a GitHub Enterprise Server whose GraphQL API cannot answer.
//
// Cost of a page, in rate-limit points (GitHub charges a GraphQL query its
// connections' pages / 100, rounded, at least 1; a REST request 1 unless
// answered 304):
//
//   - GraphQL, 50 PRs (PRsPerQuery): one query of 4 points (1 + 50 file
//     pages + 50 head commits + 50 check-suite pages + 250 check-run pages =
//     401 pages), about 0.08 a PR. A PR with more than 100 files gets its
//     next 100 in follow-up queries that take up to 100 PRs each (aliases of
//     repository.pullRequest), 1 point a query: a page of 50 PRs of 300
//     files costs 4 + 2 points, of 3,000 files 4 + 29. GraphQL's file list
//     gives no previous path for a renamed file, so a PR with a rename has
//     its files read by REST (1 point per 100 files); so has a PR whose
//     head has more than 5 check suites, or a suite more than 100 runs, its
//     check runs.
//   - REST, 100 PRs: 1 list request, then per PR 1 request per 100 files, 1
//     for the statuses and 1 for the check runs (more past 100 of either):
//     301 points for 100 PRs of up to 100 files.
//
// A page is read whole before it is handed over, and nothing holds more
// than that page: a caller streams a repository with Pages, or keeps the
// cursor and reads one page per unit of queued work with ReadPage.
package bulk

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/fix-status/fix-status/app/govern"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

// Read modes.
const (
	ModeGraphQL = "graphql"
	ModeREST    = "rest"
)

// Defaults.
const (
	DefaultPRsPerQuery = 50
	DefaultConcurrency = 8
)

// Options configure a Reader.
type Options struct {
	// Clients are the governed clients every read goes through (retries,
	// rate limits and the counts are the Governor's).
	Clients *govern.Clients
	// Mode is ModeGraphQL (default) or ModeREST.
	Mode string
	// PRsPerQuery is the GraphQL page size (1..100, default 50).
	PRsPerQuery int
	// Concurrency is how many PRs a REST page reads at once (default 8).
	Concurrency int
}

// Reader reads open pull requests in bulk.
type Reader struct {
	opts Options
}

// NewReader checks the options and builds a Reader.
func NewReader(o Options) (*Reader, error) {
	if o.Clients == nil {
		return nil, errors.New("bulk: Clients are required")
	}
	switch o.Mode {
	case "":
		o.Mode = ModeGraphQL
	case ModeGraphQL, ModeREST:
	default:
		return nil, fmt.Errorf("reads: %q is not graphql or rest", o.Mode)
	}
	if o.PRsPerQuery == 0 {
		o.PRsPerQuery = DefaultPRsPerQuery
	}
	if o.PRsPerQuery < 1 || o.PRsPerQuery > 100 {
		return nil, fmt.Errorf("PRs per query: %d is not between 1 and 100", o.PRsPerQuery)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	return &Reader{opts: o}, nil
}

// Item is one open PR as read.
type Item struct {
	Ref plan.PRRef
	// Prefetched is the PR's data for reconcile.Trigger.Prefetched: its
	// files are complete (as far as GitHub lists them) and its results are
	// the head's latest.
	Prefetched *reconcile.Prefetched
	// ReviewDecision is GraphQL's: APPROVED, CHANGES_REQUESTED or
	// REVIEW_REQUIRED; empty when no review is required and none was given,
	// and in REST mode (it would cost a request more per PR).
	ReviewDecision string
}

// Failure is a PR of a page whose data could not be read.
type Failure struct {
	Ref plan.PRRef
	Err error
}

// Skip says whether an open PR is left out of a page: it is then neither
// completed nor returned, only counted (a backfill's resume file, a sweep's
// unchanged PRs). pr has what the list gives: number, state, draft, author,
// base and head, updated time and the number of changed files.
type Skip func(ref plan.PRRef, pr plan.PRInfo) bool

// Page is one page of a repository's open PRs.
type Page struct {
	// Items are the PRs read, in GitHub's order (GraphQL: most recently
	// updated first; REST: newest first).
	Items    []Item
	Failures []Failure
	// Skipped counts the PRs Skip left out.
	Skipped int
	// Next is the cursor of the next page, "" after the last.
	Next string
	// FilesREST and ChecksREST count the PRs whose files (check runs)
	// GraphQL could not give and REST did.
	FilesREST, ChecksREST int
	// GraphQLPoints is what the page's queries cost.
	GraphQLPoints int
	// FallbackErr is set on the first page Pages read by REST because
	// GraphQL failed for the repository: why it failed.
	FallbackErr error
}

// Cursors name their mode, so a page read by REST goes on by REST.
const (
	graphqlCursor = "graphql:"
	restCursor    = "rest:"
)

// ReadPage reads the page of repo's open PRs at cursor ("" for the first
// page, in the Reader's mode; then a Page.Next). Its requests count as PR
// data in the governor's stats.
func (r *Reader) ReadPage(ctx context.Context, repo plan.RepoRef, cursor string, skip Skip) (*Page, error) {
	ctx = govern.WithPRData(ctx)
	if skip == nil {
		skip = func(plan.PRRef, plan.PRInfo) bool { return false }
	}
	switch {
	case cursor == "" && r.opts.Mode == ModeREST:
		return r.restPage(ctx, repo, 1, skip)
	case cursor == "":
		return r.graphqlPage(ctx, repo, nil, skip)
	case strings.HasPrefix(cursor, graphqlCursor):
		after := strings.TrimPrefix(cursor, graphqlCursor)
		return r.graphqlPage(ctx, repo, &after, skip)
	case strings.HasPrefix(cursor, restCursor):
		n, err := strconv.Atoi(strings.TrimPrefix(cursor, restCursor))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bulk: invalid cursor %q", cursor)
		}
		return r.restPage(ctx, repo, n, skip)
	}
	return nil, fmt.Errorf("bulk: invalid cursor %q", cursor)
}

// RESTFallback is the cursor that reads by REST, from its first page, a
// repository whose page at cursor GraphQL failed to read; ok is false when
// cursor reads by REST already.
func (r *Reader) RESTFallback(cursor string) (string, bool) {
	if strings.HasPrefix(cursor, restCursor) || cursor == "" && r.opts.Mode == ModeREST {
		return "", false
	}
	return restCursor + "1", true
}

// Pages reads every page of repo's open PRs and hands each to fn as it is
// read; an error of fn stops the reading and is returned. When GraphQL
// fails for the repository (an old GHES without a field, say), the rest is
// read by REST: PRs already handed over are left out, and the first REST
// page carries the GraphQL error in FallbackErr.
func (r *Reader) Pages(ctx context.Context, repo plan.RepoRef, skip Skip, fn func(*Page) error) error {
	cursor := ""
	graphql := r.opts.Mode == ModeGraphQL
	var handed map[int]bool
	var fallback error
	for {
		p, err := r.ReadPage(ctx, repo, cursor, skip)
		if err != nil && graphql && ctx.Err() == nil {
			rest, _ := r.RESTFallback(cursor)
			fallback, graphql, cursor = err, false, rest
			prev := skip
			skip = func(ref plan.PRRef, pr plan.PRInfo) bool {
				return handed[ref.Number] || (prev != nil && prev(ref, pr))
			}
			continue
		}
		if err != nil {
			if fallback != nil {
				err = fmt.Errorf("%w (and by GraphQL: %v)", err, fallback)
			}
			return err
		}
		if graphql {
			if handed == nil {
				handed = map[int]bool{}
			}
			for _, it := range p.Items {
				handed[it.Ref.Number] = true
			}
			for _, f := range p.Failures {
				handed[f.Ref.Number] = true
			}
		} else if fallback != nil && cursor == restCursor+"1" {
			p.FallbackErr = fallback
		}
		if err := fn(p); err != nil {
			return err
		}
		if p.Next == "" {
			return nil
		}
		cursor = p.Next
	}
}

// retry runs fn under the governor's retries.
func (r *Reader) retry(ctx context.Context, inst int64, what string, fn func() error) error {
	_, err := r.opts.Clients.Governor().Retry(ctx, inst, what, func(int) error { return fn() })
	return err
}
