package serve

import (
	"context"
	"sync"

	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/bulk"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
)

// A sweep reads each repository's open PRs in bulk, a page per piece of
// work (KindSweep), and reconciles each PR with what the page read: a PR
// with nothing to do costs no request of its own (a page of 50 PRs is one
// GraphQL query of about 4 points), and the write guard reads a PR again
// before anything is written on it. The next page is the page's follow-up,
// so a repository is swept a page at a time and several repositories at
// once.

// sweepParallel is how many PRs of a page are reconciled at once.
const sweepParallel = 4

// sweepWork is the first page of a sweep of repo: in bulk when the service
// has a bulk reader, else a listing of the repository's PRs each read by
// REST.
func (s *Service) sweepWork(repo plan.RepoRef, event string) Work {
	if s.opts.Bulk == nil {
		return Work{Kind: KindRepo, Repo: repo, Event: event}
	}
	return Work{Kind: KindSweep, Repo: repo, Event: event}
}

// sweepPage reads one page of a repository's open PRs and reconciles them.
// PRs the page could not read, and those not started within half the work
// timeout (pacing may hold the writes of the first), are queued as PR work,
// read by REST.
func (s *Service) sweepPage(ctx context.Context, w Work) error {
	page, err := s.opts.Bulk.ReadPage(ctx, w.Repo, w.Cursor, nil)
	if err != nil {
		if rest, ok := s.opts.Bulk.RESTFallback(w.Cursor); ok && ctx.Err() == nil && s.classify(err, w.Repo.InstallationID).Kind == ghapi.Permanent {
			// GraphQL cannot answer for the repository (an old GHES, say):
			// the sweep reads it by REST from its first page.
			zerolog.Ctx(ctx).Warn().Err(err).Msg("sweep: GraphQL failed; reading the repository's PRs by REST")
			w.Cursor = rest
			return s.put(ctx, w, 0)
		}
		return err
	}
	if w.Cursor == "" {
		c, err := s.client(w.Repo.InstallationID)
		if err != nil {
			return err
		}
		if err := s.queueGroups(ctx, c, w.Repo, "", w.Event); err != nil {
			return err
		}
	}
	if page.Next != "" {
		next := w
		next.Cursor, next.Attempt = page.Next, 0
		if err := s.put(ctx, next, 0); err != nil {
			return err
		}
	}
	for _, f := range page.Failures {
		zerolog.Ctx(ctx).Info().Err(f.Err).Str("pr", f.Ref.String()).Msg("sweep: the PR could not be read in bulk; reading it by REST")
		if err := s.put(ctx, Work{Kind: KindPR, Repo: w.Repo, Number: f.Ref.Number, Event: w.Event}, 0); err != nil {
			return err
		}
	}
	start, cancel := context.WithTimeout(ctx, s.opts.Timeout/2)
	defer cancel()
	items := make(chan bulk.Item)
	var wg sync.WaitGroup
	for range min(sweepParallel, len(page.Items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range items {
				pw := Work{Kind: KindPR, Repo: w.Repo, Number: it.Ref.Number, Event: w.Event}
				s.reconcileWith(ctx, pw, it.Prefetched)
			}
		}()
	}
	var late []int
	for _, it := range page.Items {
		select {
		case items <- it:
		case <-start.Done():
			late = append(late, it.Ref.Number)
		}
	}
	close(items)
	wg.Wait()
	for _, n := range late {
		if err := s.put(ctx, Work{Kind: KindPR, Repo: w.Repo, Number: n, Event: w.Event}, 0); err != nil {
			return err
		}
	}
	if len(late) > 0 {
		zerolog.Ctx(ctx).Info().Int("prs", len(late)).Dur("after", s.opts.Timeout/2).Msg("sweep: the page's last PRs are queued to be read one by one")
	}
	return nil
}
