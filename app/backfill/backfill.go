// Package backfill repairs every open pull request of many repositories in
// one run (`fix-status backfill`), inside GitHub's rate budget: PR data is
// read in bulk (package bulk: GraphQL pages of many PRs, or REST), streamed
// page by page into a bounded queue from which PRs closest to merging are
// reconciled first; every request goes through a govern.Governor (a reserve
// of the rate limit left to the webhook path, paced writes, retry-after
// obeyed, bounded concurrency), and failures are collected, not fatal.
package backfill

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/bulk"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/govern"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

// Read modes.
const (
	ReadsGraphQL = bulk.ModeGraphQL
	ReadsREST    = bulk.ModeREST
)

// Defaults. The queue holds the PRs read ahead of the workers (at most
// queueSize), so that the best of them go first; its file bound keeps big
// PRs from filling memory (100,000 file names are a few MB), while a PR
// bigger than the bound alone still gets in when the queue is empty.
const (
	DefaultConcurrency = govern.DefaultMaxInFlight
	queueSize          = 2000
	queueFiles         = 100_000
	readers            = 2
)

// Reconciler is what backfill needs of reconcile.Reconciler.
type Reconciler interface {
	Reconcile(ctx context.Context, ref plan.PRRef, trig reconcile.Trigger) (*plan.Report, error)
	ReconcileGroup(ctx context.Context, g plan.MergeGroupRef, trig reconcile.Trigger) (*plan.Report, error)
}

// Progress is told what the run found and finished (a progress bar, log
// lines). Calls come from several goroutines.
type Progress interface {
	Found(n int)
	Finished(r *PRResult)
}

// Options configure a Runner.
type Options struct {
	// Clients must be the clients the Reconciler uses, so that its requests
	// are governed and counted too.
	Clients    *govern.Clients
	Reconciler Reconciler
	// Reads is ReadsGraphQL (default) or ReadsREST.
	Reads  string
	DryRun bool
	// Concurrency is how many PRs are reconciled (and, in REST mode, read)
	// at once (default 8, at most 100).
	Concurrency int
	// Journal, when set, skips PRs finished at the same head SHA and
	// records the ones this run finishes.
	Journal *Journal
	// Progress may be nil.
	Progress Progress
}

// Runner runs one backfill.
type Runner struct {
	opts   Options
	reader *bulk.Reader

	mu       sync.Mutex
	results  []*PRResult
	failures []Failure

	found, finished, resumedSkips atomic.Int64
	fallbacks                     struct{ files, checks, repos atomic.Int64 }
}

// PRResult is what became of one PR, or of one merge group.
type PRResult struct {
	Ref plan.PRRef
	// Group is set for a merge group (Ref is then the PR it ends with).
	Group   *plan.MergeGroupRef
	HeadSHA string
	// Priority says how close to merging the PR was ranked.
	Priority string
	Report   *plan.Report
	// DryRun is set when the PR was only planned (a dry run, or writes
	// stopped by --max-writes).
	DryRun bool
	// WriteLimited is set when --max-writes stopped some of the PR's writes
	// (or all of them).
	WriteLimited bool
	Err          error
}

// Name is the PR's, or the merge group's.
func (r *PRResult) Name() string {
	if r.Group != nil {
		return r.Group.String()
	}
	return r.Ref.String()
}

// WouldWrite counts the writes the PR's plan asks for (the re-run comments
// of a PR are one write).
func (r *PRResult) WouldWrite() int {
	if r.Report == nil {
		return 0
	}
	n, comment := 0, false
	for _, d := range r.Report.Decisions {
		for _, w := range d.Writes {
			if w.Kind == plan.WriteComment {
				comment = true
				continue
			}
			n++
		}
	}
	if comment {
		n++
	}
	return n
}

// Blocked reports whether any decision is blocked.
func (r *PRResult) Blocked() bool {
	if r.Report == nil {
		return false
	}
	for _, d := range r.Report.Decisions {
		if d.Verdict == plan.Blocked {
			return true
		}
	}
	return false
}

// Failure is a PR or a repository that could not be repaired, and why.
type Failure struct {
	PR   string
	Repo string
	Err  error
}

// Result is the outcome of a run.
type Result struct {
	Repos int
	// Results are the PRs looked at, by repository and number.
	Results []*PRResult
	// Failures lists every PR and repository that failed.
	Failures []Failure
	// Found counts the open PRs read (after resume skips); Resumed those
	// skipped because the resume file has them finished.
	Found, Resumed int
	// Unfinished counts the PRs found but not reconciled (an interrupted run).
	Unfinished  int
	Interrupted bool
	// MaxWritesReached is set when --max-writes stopped writing.
	MaxWritesReached bool
	DryRun           bool
	Reads            string
	// FilesFallbacks and ChecksFallbacks count PRs whose files (check runs)
	// GraphQL could not give in full; RepoFallbacks repositories read by
	// REST after their GraphQL read failed.
	FilesFallbacks, ChecksFallbacks, RepoFallbacks int
	Stats                                          govern.Stats
	Duration                                       time.Duration
}

// Repaired counts PRs with writes made (in a dry run: that would be made).
func (r *Result) Repaired() int {
	n := 0
	for _, p := range r.Results {
		if (p.DryRun && p.WouldWrite() > 0) || (p.Report != nil && p.Report.Writes > 0) {
			n++
		}
	}
	return n
}

// Writes counts the writes made (GitHub accepted), by every attempt.
func (r *Result) Writes() int { return int(r.Stats.WritesMade) }

// WouldWrite counts the writes planned but not made (dry run, --max-writes).
func (r *Result) WouldWrite() int {
	n := 0
	for _, p := range r.Results {
		if p.DryRun {
			n += p.WouldWrite()
		}
	}
	return n
}

// Blocked counts PRs with a blocked decision.
func (r *Result) Blocked() int {
	n := 0
	for _, p := range r.Results {
		if p.Blocked() {
			n++
		}
	}
	return n
}

// Failed reports whether anything failed or was left undone.
func (r *Result) Failed() bool { return len(r.Failures) > 0 || r.Interrupted }

// NewRunner checks the options and builds a Runner.
func NewRunner(o Options) (*Runner, error) {
	if o.Clients == nil || o.Reconciler == nil {
		return nil, errors.New("backfill: Clients and Reconciler are required")
	}
	if o.Reads == "" {
		o.Reads = ReadsGraphQL
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Concurrency < 1 || o.Concurrency > govern.MaxConcurrency {
		return nil, fmt.Errorf("concurrency: %d is not between 1 and %d (GitHub allows %d concurrent requests)", o.Concurrency, govern.MaxConcurrency, govern.MaxConcurrency)
	}
	reader, err := bulk.NewReader(bulk.Options{Clients: o.Clients, Mode: o.Reads, Concurrency: o.Concurrency})
	if err != nil {
		return nil, err
	}
	return &Runner{opts: o, reader: reader}, nil
}

// Run repairs every open PR of repos. It returns when all are done or ctx
// ends (Result.Interrupted); failures are in the result, never fatal.
func (rn *Runner) Run(ctx context.Context, repos []plan.RepoRef) *Result {
	start := time.Now()
	// Every request of the run, the reconciler's too, leaves the reserve to
	// the webhook path.
	ctx = govern.Background(ctx)
	q := newQueue(queueSize, queueFiles)
	repoCh := make(chan plan.RepoRef)
	var rg sync.WaitGroup
	for range readers {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for repo := range repoCh {
				rn.readRepo(ctx, repo, q)
			}
		}()
	}
	go func() {
		defer q.close()
		defer rg.Wait()
		defer close(repoCh)
		for _, r := range byInstallation(repos) {
			select {
			case repoCh <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range rn.opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				it, ok := q.pop(ctx)
				if !ok {
					return
				}
				rn.finish(ctx, rn.process(ctx, it))
			}
		}()
	}
	wg.Wait()
	rg.Wait()

	gov := rn.opts.Clients.Governor()
	res := &Result{
		Repos: len(repos), DryRun: rn.opts.DryRun, Reads: rn.opts.Reads,
		Found: int(rn.found.Load()), Resumed: int(rn.resumedSkips.Load()),
		FilesFallbacks: int(rn.fallbacks.files.Load()), ChecksFallbacks: int(rn.fallbacks.checks.Load()), RepoFallbacks: int(rn.fallbacks.repos.Load()),
		MaxWritesReached: gov.WritesExhausted(), Interrupted: ctx.Err() != nil,
		Stats: gov.Stats(), Duration: time.Since(start),
	}
	rn.mu.Lock()
	res.Results, res.Failures = rn.results, rn.failures
	rn.mu.Unlock()
	sort.Slice(res.Results, func(i, j int) bool { return lessRef(res.Results[i].Ref, res.Results[j].Ref) })
	sort.SliceStable(res.Failures, func(i, j int) bool { return res.Failures[i].key() < res.Failures[j].key() })
	res.Unfinished = res.Found - int(rn.finished.Load())
	return res
}

// byInstallation takes the repositories one installation at a time, in
// turn: GitHub's secondary limits (points per endpoint, writes) are per
// installation, so readers and workers on different installations are
// paced apart instead of all waiting for one installation's budget.
func byInstallation(repos []plan.RepoRef) []plan.RepoRef {
	var order []int64
	of := map[int64][]plan.RepoRef{}
	for _, r := range repos {
		if _, ok := of[r.InstallationID]; !ok {
			order = append(order, r.InstallationID)
		}
		of[r.InstallationID] = append(of[r.InstallationID], r)
	}
	out := make([]plan.RepoRef, 0, len(repos))
	for len(out) < len(repos) {
		for _, inst := range order {
			if rs := of[inst]; len(rs) > 0 {
				out = append(out, rs[0])
				of[inst] = rs[1:]
			}
		}
	}
	return out
}

func lessRef(a, b plan.PRRef) bool {
	if ka, kb := strings.ToLower(a.FullRepo()), strings.ToLower(b.FullRepo()); ka != kb {
		return ka < kb
	}
	return a.Number < b.Number
}

func (f Failure) key() string {
	if f.PR != "" {
		return strings.ToLower(f.PR)
	}
	return strings.ToLower(f.Repo)
}

func (rn *Runner) fail(f Failure) {
	rn.mu.Lock()
	rn.failures = append(rn.failures, f)
	rn.mu.Unlock()
}

// done reports whether the journal has the PR (or merge group, by its
// name) finished at sha: it is neither read further nor reconciled.
func (rn *Runner) done(name, sha string) bool {
	return rn.opts.Journal != nil && rn.opts.Journal.Done(name, sha, rn.opts.DryRun)
}

// readRepo reads one repository's open PRs page by page and queues each
// page, best first, as it comes. PRs finished in an earlier run (resume)
// are counted, not read further.
func (rn *Runner) readRepo(ctx context.Context, repo plan.RepoRef, q *queue) {
	logger := zerolog.Ctx(ctx).With().Str("repo", repo.FullRepo()).Logger()
	ctx = logger.WithContext(ctx)
	skip := func(ref plan.PRRef, pr plan.PRInfo) bool { return rn.done(ref.String(), pr.HeadSHA) }
	// Each PR is read in bulk once per run: keeping thousands of responses
	// in the HTTP cache would only hold memory. The merge groups are
	// reconciled as the PRs are, through the cache.
	err := rn.reader.Pages(govern.WithoutCache(ctx), repo, skip, func(p *bulk.Page) error {
		if p.FallbackErr != nil {
			logger.Warn().Err(p.FallbackErr).Msg("GraphQL read failed; reading the repository by REST")
			rn.fallbacks.repos.Add(1)
		}
		rn.resumedSkips.Add(int64(p.Skipped))
		rn.fallbacks.files.Add(int64(p.FilesREST))
		rn.fallbacks.checks.Add(int64(p.ChecksREST))
		for _, f := range p.Failures {
			rn.fail(Failure{PR: f.Ref.String(), Err: f.Err})
		}
		items := make([]*Item, len(p.Items))
		for i, b := range p.Items {
			items[i] = newItem(b)
		}
		sort.SliceStable(items, func(i, j int) bool {
			if ri, rj := items[i].rank(), items[j].rank(); ri != rj {
				return ri < rj
			}
			return items[i].Prefetched.PR.UpdatedAt.After(items[j].Prefetched.PR.UpdatedAt)
		})
		rn.found.Add(int64(len(items)))
		if rn.opts.Progress != nil && len(items) > 0 {
			rn.opts.Progress.Found(len(items))
		}
		return q.push(ctx, items...)
	})
	if err == nil {
		err = rn.groups(ctx, repo)
	}
	if err != nil && ctx.Err() == nil {
		rn.fail(Failure{Repo: repo.FullRepo(), Err: err})
	}
}

// process reconciles one PR, retrying after rate limits and transient
// failures. A retry reads the PR afresh by REST: the bulk-read data is
// stale once some of the PR's writes were made, and reconciling from
// fresh data never writes twice.
func (rn *Runner) process(ctx context.Context, it *Item) *PRResult {
	res := &PRResult{Ref: it.Ref, HeadSHA: it.Prefetched.PR.HeadSHA, Priority: it.Priority()}
	return rn.attempt(ctx, res, func(trig reconcile.Trigger, attempt int) (*plan.Report, error) {
		if attempt == 0 {
			trig.Prefetched = it.Prefetched
		}
		return rn.opts.Reconciler.Reconcile(ctx, it.Ref, trig)
	})
}

// attempt runs one PR's (or merge group's) reconcile under the governor's
// retries and fills res.
func (rn *Runner) attempt(ctx context.Context, res *PRResult, reconcile1 func(trig reconcile.Trigger, attempt int) (*plan.Report, error)) *PRResult {
	gov := rn.opts.Clients.Governor()
	res.DryRun = rn.opts.DryRun || gov.WritesExhausted()
	var rep *plan.Report
	made := 0
	_, err := gov.Retry(ctx, res.Ref.InstallationID, res.Name(), func(attempt int) error {
		var err error
		rep, err = reconcile1(reconcile.Trigger{Event: "backfill", DryRun: res.DryRun}, attempt)
		if rep != nil {
			made += rep.Writes
		}
		return err
	})
	if rep != nil {
		// A failed attempt may have made some of the writes; the report
		// counts them all.
		rep.Writes = made
	}
	res.Report, res.Err = rep, err
	if err != nil && errors.Is(err, govern.ErrMaxWrites) {
		// Some writes went out before the limit: the rest are left for the
		// next run, as in a dry run.
		res.WriteLimited, res.Err = true, nil
	}
	if rep != nil && rep.HeadSHA != "" {
		res.HeadSHA = rep.HeadSHA
	}
	return res
}

// groups reconciles the merge groups in a repository's queues: they wait
// on the same required checks as its PRs.
func (rn *Runner) groups(ctx context.Context, repo plan.RepoRef) error {
	c, err := rn.opts.Clients.NewInstallationClient(repo.InstallationID)
	if err != nil {
		return err
	}
	groups, err := ghapi.ListMergeGroups(ctx, c, repo)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if rn.done(g.String(), g.HeadSHA) {
			rn.resumedSkips.Add(1)
			continue
		}
		rn.found.Add(1)
		if rn.opts.Progress != nil {
			rn.opts.Progress.Found(1)
		}
		_, pr, _ := plan.ParseGroupRef(g.HeadRef)
		res := &PRResult{Ref: repo.PR(pr), Group: &g, HeadSHA: g.HeadSHA, Priority: "merge_group"}
		rn.finish(ctx, rn.attempt(ctx, res, func(trig reconcile.Trigger, _ int) (*plan.Report, error) {
			return rn.opts.Reconciler.ReconcileGroup(ctx, g, trig)
		}))
	}
	return nil
}

// finish records a PR's result, in the journal too when it is done.
func (rn *Runner) finish(ctx context.Context, r *PRResult) {
	if r.Err != nil && ctx.Err() != nil {
		// Interrupted: neither done nor failed; the next run does it.
		return
	}
	rn.finished.Add(1)
	rn.mu.Lock()
	if r.Err != nil {
		rn.failures = append(rn.failures, Failure{PR: r.Name(), Err: r.Err})
	} else {
		rn.results = append(rn.results, r)
	}
	rn.mu.Unlock()
	if r.Err == nil && !r.WriteLimited && (rn.opts.DryRun || !r.DryRun) && rn.opts.Journal != nil {
		writes := 0
		if r.Report != nil {
			writes = r.Report.Writes
		}
		if err := rn.opts.Journal.Record(JournalEntry{PR: r.Name(), HeadSHA: r.HeadSHA, DryRun: r.DryRun, Writes: writes, At: rn.opts.Clients.Governor().Now().UTC()}); err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Msg("failed to record a finished PR in the resume file")
		}
	}
	if rn.opts.Progress != nil {
		rn.opts.Progress.Finished(r)
	}
}
