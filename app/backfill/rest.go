package backfill

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/go-github/v60/github"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

// readREST reads a repository's open PRs by REST: the list (100 per page),
// then per PR its files, statuses and check runs (three requests or more),
// several PRs at a time. PRs finished in an earlier run (resume) are not
// read, only counted. The review decision is not read (GitHub's REST API would need one
// more request per PR), so only green comes first.
func (rn *Runner) readREST(ctx context.Context, repo plan.RepoRef) (items []*Item, resumed int, err error) {
	c, err := rn.opts.Clients.NewInstallationClient(repo.InstallationID)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to create a client for installation %d: %w", repo.InstallationID, err)
	}
	gov := rn.opts.Clients.Governor()
	var prs []plan.PRInfo
	if _, err := gov.retry(ctx, repo.InstallationID, rn.opts.MaxRetries, "list "+repo.Owner+"/"+repo.Repo, func(int) error {
		prs, err = ghapi.ListOpenPRs(ctx, c, repo, "")
		return err
	}); err != nil {
		return nil, 0, err
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, rn.opts.Concurrency)
	)
	for _, pr := range prs {
		ref := repo.PR(pr.Number)
		if rn.done(ref, pr.HeadSHA) {
			resumed++
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return items, resumed, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			it, err := rn.restItem(ctx, c, ref, pr)
			if err != nil {
				if ctx.Err() == nil {
					rn.fail(Failure{PR: ref.String(), Err: err})
				}
				return
			}
			mu.Lock()
			items = append(items, it)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return items, resumed, ctx.Err()
}

func (rn *Runner) restItem(ctx context.Context, c *github.Client, ref plan.PRRef, pr plan.PRInfo) (*Item, error) {
	gov := rn.opts.Clients.Governor()
	sha := pr.HeadSHA
	pf := &reconcile.Prefetched{PR: pr}
	_, err := gov.retry(ctx, ref.InstallationID, rn.opts.MaxRetries, "read "+ref.String(), func(int) error {
		var err error
		if pf.Files, pf.FilesComplete, err = ghapi.ReadFiles(ctx, c, ref, pr.ChangedFiles); err != nil {
			return err
		}
		if pf.Statuses, err = ghapi.ReadStatuses(ctx, c, ref, sha); err != nil {
			return err
		}
		pf.CheckRuns, err = ghapi.ReadCheckRuns(ctx, c, ref, sha)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Item{Ref: ref, HeadSHA: sha, Prefetched: pf, Draft: pr.Draft, UpdatedAt: pr.UpdatedAt,
		Green: green(pf.Statuses, pf.CheckRuns)}, nil
}
