package bulk

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/google/go-github/v60/github"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

// restPage reads one page (from 1) of a repository's open PRs by REST: the
// list, then per PR its files, statuses and check runs, several PRs at a
// time. The review decision is not read (it would cost a request more per
// PR).
func (r *Reader) restPage(ctx context.Context, repo plan.RepoRef, n int, skip Skip) (*Page, error) {
	c, err := r.opts.Clients.NewInstallationClient(repo.InstallationID)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for installation %d: %w", repo.InstallationID, err)
	}
	var prs []plan.PRInfo
	next := 0
	if err := r.retry(ctx, repo.InstallationID, "list "+repo.FullRepo(), func() error {
		prs, next, err = ghapi.ListOpenPRsPage(ctx, c, repo, "", n)
		return err
	}); err != nil {
		return nil, err
	}
	page := &Page{}
	if next != 0 {
		page.Next = restCursor + strconv.Itoa(next)
	}
	items := make([]*Item, len(prs))
	errs := make([]error, len(prs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.opts.Concurrency)
	for i, pr := range prs {
		ref := repo.PR(pr.Number)
		if skip(ref, pr) {
			page.Skipped++
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			pf := &reconcile.Prefetched{PR: pr}
			if errs[i] = r.restFiles(ctx, c, ref, pf); errs[i] == nil {
				errs[i] = r.restResults(ctx, c, ref, pf, true)
			}
			items[i] = &Item{Ref: ref, Prefetched: pf}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, it := range items {
		switch {
		case it == nil:
		case errs[i] != nil:
			page.Failures = append(page.Failures, Failure{Ref: it.Ref, Err: errs[i]})
		default:
			page.Items = append(page.Items, *it)
		}
	}
	return page, nil
}

// restFiles lists a PR's files by REST into pf.
func (r *Reader) restFiles(ctx context.Context, c *github.Client, ref plan.PRRef, pf *reconcile.Prefetched) error {
	return r.retry(ctx, ref.InstallationID, "files of "+ref.String(), func() error {
		files, err := ghapi.ReadFiles(ctx, c, ref, pf.PR.ChangedFiles)
		if err == nil {
			pf.Files = &files
		}
		return err
	})
}

// restResults reads the head's check runs, and its statuses when statuses
// is set, by REST into pf.
func (r *Reader) restResults(ctx context.Context, c *github.Client, ref plan.PRRef, pf *reconcile.Prefetched, statuses bool) error {
	sha := pf.PR.HeadSHA
	if err := r.retry(ctx, ref.InstallationID, "check runs of "+ref.String(), func() error {
		var err error
		pf.CheckRuns, err = ghapi.ReadCheckRuns(ctx, c, ref, sha)
		return err
	}); err != nil || !statuses {
		return err
	}
	return r.retry(ctx, ref.InstallationID, "statuses of "+ref.String(), func() error {
		var err error
		pf.Statuses, err = ghapi.ReadStatuses(ctx, c, ref, sha)
		return err
	})
}
