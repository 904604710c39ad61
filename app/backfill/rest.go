package backfill

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/go-github/v60/github"

	"github.com/fix-status/fix-status/app"
)

// readREST reads a repository's open PRs by REST: the list (100 per page),
// then per PR its files, statuses and check runs (three requests or more),
// several PRs at a time. PRs finished in an earlier run (resume) are not
// read, only counted. The review decision is not read (GitHub's REST API would need one
// more request per PR), so only green comes first.
func (rn *Runner) readREST(ctx context.Context, repo app.InstalledRepo) (items []*Item, resumed int, err error) {
	c, err := rn.opts.Clients.NewInstallationClient(repo.InstallationID)
	if err != nil {
		return nil, 0, fmt.Errorf("failed to create a client for installation %d: %w", repo.InstallationID, err)
	}
	gov := rn.opts.Clients.Governor()
	var prs []*github.PullRequest
	if _, err := gov.retry(ctx, repo.InstallationID, rn.opts.MaxRetries, "list "+repo.Owner+"/"+repo.Name, func(int) error {
		prs, err = app.ListOpenPRs(ctx, c, repo.Owner, repo.Name, "")
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
		ref := app.PRRef{Owner: repo.Owner, Repo: repo.Name, Number: pr.GetNumber(), InstallationID: repo.InstallationID}
		if rn.done(ref, pr.GetHead().GetSHA()) {
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

func (rn *Runner) restItem(ctx context.Context, c *github.Client, ref app.PRRef, pr *github.PullRequest) (*Item, error) {
	gov := rn.opts.Clients.Governor()
	sha := pr.GetHead().GetSHA()
	pf := &app.Prefetched{PR: slimPR(pr)}
	_, err := gov.retry(ctx, ref.InstallationID, rn.opts.MaxRetries, "read "+ref.String(), func(int) error {
		var err error
		if pf.Files, pf.FilesComplete, err = app.ReadFiles(ctx, c, ref, pr.GetChangedFiles()); err != nil {
			return err
		}
		if pf.Statuses, err = app.ReadStatuses(ctx, c, ref, sha); err != nil {
			return err
		}
		pf.CheckRuns, err = app.ReadCheckRuns(ctx, c, ref, sha)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Item{Ref: ref, HeadSHA: sha, Prefetched: pf, Draft: pr.GetDraft(), UpdatedAt: pr.GetUpdatedAt().Time,
		Green: green(pf.Statuses, pf.CheckRuns)}, nil
}

// slimPR keeps what the reconciler needs of a listed PR: the list carries
// both repositories in full, and thousands of PRs may wait in the queue.
func slimPR(pr *github.PullRequest) *github.PullRequest {
	out := &github.PullRequest{Number: pr.Number, State: pr.State, Draft: pr.Draft,
		Base:      &github.PullRequestBranch{Ref: pr.GetBase().Ref, SHA: pr.GetBase().SHA},
		Head:      &github.PullRequestBranch{SHA: pr.GetHead().SHA},
		UpdatedAt: pr.UpdatedAt, CreatedAt: pr.CreatedAt, ChangedFiles: pr.ChangedFiles}
	if u := pr.GetUser(); u != nil {
		out.User = &github.User{Login: u.Login}
	}
	return out
}
