// Package serve drives reconciles for the webhook server. Webhook handlers
// turn events into Work and queue it without calling GitHub; workers do it:
// they find the pull requests a commit or a repository change concerns,
// reconcile each one (one at a time per PR), re-check PRs when a decision may
// change by itself (the grace period ends, a pending result turns stale),
// retry what failed on a passing problem, sweep every open PR periodically
// and at start, run /fix-status, re-audit repositories whose protection or
// rules change (the drift watch, drift.go), and drain on shutdown.
package serve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/bulk"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/govern"
	"github.com/fix-status/fix-status/app/metrics"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

// Named defaults of the service.
const (
	DefaultCoalesce     = 2 * time.Second
	DefaultWorkers      = 4
	DefaultMaxPending   = 10000
	DefaultTimeout      = 2 * time.Minute
	DefaultRetryBackoff = 30 * time.Second
	// MaxRetries bounds the retries of work that failed on a passing
	// problem (a 5xx, a rate limit); the sweep catches what is left.
	MaxRetries = 5
	// maxBackoff bounds the wait between retries of other failures.
	maxBackoff = 10 * time.Minute
	// fullWait is how long fan-out work waits for room in a full queue
	// before it puts the rest of its PRs.
	fullWait = time.Second
)

// Options configure a Service.
type Options struct {
	// Clients list PRs and installations, and post command replies.
	Clients githubapp.ClientCreator
	// Bulk, when set, reads the PRs of a sweep (and of a new installation)
	// a page at a time in bulk (sweep.go); without it each PR is read by
	// REST.
	Bulk *bulk.Reader
	// Queue holds the work (default: a MemQueue of MaxPending).
	Queue Queue
	// Coalesce is how long events for one PR are gathered into one
	// re-check (default 2s).
	Coalesce time.Duration
	// Workers do work in parallel (default 4).
	Workers int
	// MaxPending bounds the default queue (default 10,000).
	MaxPending int
	// Timeout bounds one piece of work (default 2 minutes).
	Timeout time.Duration
	// SweepInterval re-checks every open PR periodically (0 = off).
	SweepInterval time.Duration
	// SweepOnStart sweeps once at start: what a restart lost (re-checks
	// in memory, deliveries missed while down) is caught up in minutes.
	SweepOnStart bool
	// RedeliverWithin is how far back failed webhook deliveries are
	// redelivered, at start and with every sweep (0 = off).
	RedeliverWithin time.Duration
	// Leases, when set, lets one replica at a time sweep and recover
	// deliveries (default: this process alone).
	Leases Leaser
	Logger zerolog.Logger
	// RetryBackoff is the first wait before failed work is tried again; it
	// doubles per attempt, up to 10 minutes (default 30s).
	RetryBackoff time.Duration
	// Jitter spreads the backoff of work that failed on a passing problem
	// (default: a wait picked in [d/2, d]), so that work failed together
	// in an outage does not come back together.
	Jitter func(d time.Duration) time.Duration
	// OnReport, when set, is told the outcome of every reconcile the
	// service runs (the demo shows what fix-status did; the stuck-PR
	// tracker and operators' auditing hook here). It is called from the
	// workers.
	OnReport func(Outcome)
	// Now is the clock (default time.Now).
	Now     func() time.Time
	Metrics *metrics.Metrics
	// Governor, when set, is the one the clients go through: failures are
	// classified with what it knows (govern.Governor.Classify: an exhausted
	// GraphQL budget, a sweep page's, waits for the reset it saw); without
	// it, by ghapi.Classify.
	Governor *govern.Governor
	// Auditor, when set, turns the drift watch on: each repository is
	// audited at the start-up sweep and with each sweep (at most once per
	// half a sweep interval), and whenever a branch_protection_rule or
	// repository_ruleset event, or a push of rule files to a branch it
	// audited, says its protection or rules changed. A finding that was
	// not there at the previous audit is logged at Warn, one that went
	// away at Info; fix_status_audit_findings counts the latest.
	Auditor Auditor
	// Audits keeps the latest audit of each repository (default: a new
	// one); the dashboard reads its findings.
	Audits *Audits
}

// Leaser hands out named leases shared by replicas.
type Leaser interface {
	// TryLease takes the lease name for ttl if no one holds it; ok is
	// false when someone does. release gives it back early.
	TryLease(ctx context.Context, name string, ttl time.Duration) (release func(), ok bool, err error)
}

// Outcome is what became of one reconcile the service ran.
type Outcome struct {
	PR      plan.PRRef
	Trigger string
	// Report is nil when the reconcile failed before deciding.
	Report *plan.Report
	Err    error
	// Retry, when the reconcile failed, is when it is tried again (0: it
	// is not; the next event or sweep will).
	Retry time.Duration
}

// Service runs the webhook server's work.
type Service struct {
	rec  *reconcile.Reconciler
	q    Queue
	opts Options
	stop chan struct{}

	cmds     commandSlots
	recovery Recovery
	audits   *Audits
}

// New creates a Service; Start runs it.
func New(rec *reconcile.Reconciler, opts Options) *Service {
	if opts.Coalesce == 0 {
		opts.Coalesce = DefaultCoalesce
	}
	if opts.Workers == 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.MaxPending == 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = DefaultRetryBackoff
	}
	if opts.Jitter == nil {
		opts.Jitter = func(d time.Duration) time.Duration { return d/2 + govern.FullJitter(d-d/2) }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New(nil)
	}
	if opts.Queue == nil {
		opts.Queue = NewMemQueue(opts.MaxPending, opts.Now, func(n int) { opts.Metrics.QueueDepth.Set(float64(n)) })
	}
	if opts.Audits == nil {
		opts.Audits = NewAudits()
	}
	return &Service{rec: rec, q: opts.Queue, opts: opts, stop: make(chan struct{}), cmds: newCommandSlots(), audits: opts.Audits}
}

// Start runs the workers and the periodic sweep until Shutdown.
func (s *Service) Start(ctx context.Context) {
	// Shutdown, not ctx, ends the service: it does the work still queued
	// when the server is told to stop (ctx ends then), so that work must
	// not inherit that cancellation. Each piece is bounded by
	// opts.Timeout.
	ctx = s.opts.Logger.WithContext(context.WithoutCancel(ctx))
	s.q.Run(ctx, s.opts.Workers, s.do)
	go func() {
		if s.opts.SweepOnStart {
			s.catchUp(ctx, "start")
		}
		if s.opts.SweepInterval <= 0 {
			return
		}
		t := time.NewTicker(s.opts.SweepInterval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.catchUp(ctx, "sweep")
			}
		}
	}()
}

// EventSweep is the Event of a sweep's work: it is background work, which
// leaves each installation's rate-limit reserve to webhooks.
const EventSweep = "sweep"

// sweepLease is held by the replica that sweeps.
const sweepLease = "sweep"

// catchUp recovers missed deliveries and sweeps every open PR, on one
// replica at a time.
func (s *Service) catchUp(ctx context.Context, why string) {
	// A sweep's requests leave the installations' reserve to webhooks.
	ctx = govern.Background(ctx)
	logger := zerolog.Ctx(ctx).With().Str("sweep", why).Logger()
	if s.opts.Leases != nil {
		ttl := max(s.opts.SweepInterval/2, time.Minute)
		release, ok, err := s.opts.Leases.TryLease(ctx, sweepLease, ttl)
		if err != nil {
			logger.Error().Err(err).Msg("cannot take the sweep lease; not sweeping")
			return
		}
		if !ok {
			logger.Info().Msg("another replica sweeps")
			return
		}
		defer release()
	}
	if n, err := s.Recover(ctx, s.opts.RedeliverWithin); err != nil {
		logger.Error().Err(err).Int("redelivered", n).Msg("delivery recovery failed")
	} else if n > 0 {
		logger.Info().Int("redelivered", n).Msg("asked GitHub to redeliver missed webhooks")
	}
	if err := s.Sweep(ctx); err != nil {
		logger.Error().Err(err).Msg("sweep failed")
	}
}

// Shutdown stops taking work, lets the queue finish what it holds (a
// shared queue keeps what is not due for the next replica), and waits for
// the workers (or ctx).
func (s *Service) Shutdown(ctx context.Context) error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	return s.q.Close(ctx)
}

// Idle reports whether no work is queued or being done.
func (s *Service) Idle() bool { return s.q.Idle() }

// IsOwnSender reports whether an event was caused by fix-status itself.
func (s *Service) IsOwnSender(login string, appID int64) bool { return s.rec.IsOwnSender(login, appID) }

// put queues work after delay. Work that ran out of time still queues
// its retry and its follow-ups.
func (s *Service) put(ctx context.Context, w Work, delay time.Duration) error {
	return s.q.Put(context.WithoutCancel(ctx), w, s.opts.Now().Add(delay))
}

// The events webhook handlers turn into work. None calls GitHub; each
// returns ErrQueueFull when the work cannot be queued.

// PREvent re-checks one PR after a webhook about it. The payload says
// nothing more: a delivery may be late, replayed or out of order, and the
// reconcile reads the PR itself.
func (s *Service) PREvent(ctx context.Context, ref plan.PRRef, event, openedHead string) error {
	return s.put(ctx, Work{Kind: KindPR, Repo: ref.RepoRef, Number: ref.Number, Event: event, OpenedHead: openedHead}, s.opts.Coalesce)
}

// CommitEvent re-checks the open PRs whose head is sha: prs, those a check
// payload names in this repository, or else those GitHub lists for the
// commit (a status names none; a check payload for a fork's head neither).
// A storm of results on one commit is one piece of work.
func (s *Service) CommitEvent(ctx context.Context, repo plan.RepoRef, sha string, prs []int, event string) error {
	for _, n := range prs {
		if err := s.PREvent(ctx, repo.PR(n), event, ""); err != nil {
			return err
		}
	}
	if len(prs) > 0 {
		return nil
	}
	return s.put(ctx, Work{Kind: KindCommit, Repo: repo, SHA: sha, Event: event}, s.opts.Coalesce)
}

// RequirementsChanged re-checks the open PRs of a branch (every branch when
// branch is empty) whose required checks changed, with the cached
// requirements dropped, and audits the repository again.
func (s *Service) RequirementsChanged(ctx context.Context, repo plan.RepoRef, branch, event string) error {
	if err := s.put(ctx, Work{Kind: KindRepo, Repo: repo, Branch: branch, Requirements: true, Event: event}, s.opts.Coalesce); err != nil {
		return err
	}
	return s.queueAudit(ctx, repo, true, event, s.opts.Coalesce)
}

// OwnerDefaultRepo is the repository whose fix-status.yml is the owner's
// default repo config (go-githubapp's appconfig reads it there).
const OwnerDefaultRepo = ".github"

// OwnerDefaultPath is the owner's default repo config in OwnerDefaultRepo.
const OwnerDefaultPath = "fix-status.yml"

// RulesPushed handles a push to branch: when it changes a file that defines
// jobs, the branch's open PRs are judged by new rules and are re-checked. A
// push to the owner's default config re-checks every repository of the
// owner that the installation has (those without their own config use it).
// A push that changes the rules of a branch the drift watch audits has the
// repository audited again.
func (s *Service) RulesPushed(ctx context.Context, repo plan.RepoRef, branch, defaultBranch string, changed []string) error {
	if repo.Repo == OwnerDefaultRepo && branch == defaultBranch && containsFold(changed, OwnerDefaultPath) {
		if err := s.put(ctx, Work{Kind: KindOwner, Repo: repo, Event: "push.owner_default"}, s.opts.Coalesce); err != nil {
			return err
		}
	}
	if err := s.put(ctx, Work{Kind: KindRepo, Repo: repo, Branch: branch, Push: true, Changed: changed, Event: "push"}, s.opts.Coalesce); err != nil {
		return err
	}
	if s.opts.Auditor != nil && s.pushChangesAudit(repo, branch, changed) {
		return s.queueAudit(ctx, repo, true, "push", s.opts.Coalesce)
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// ReposAdded re-checks every open PR of the given repositories
// ("owner/name") of an installation (a new installation, repositories
// added to one).
func (s *Service) ReposAdded(ctx context.Context, installationID int64, fullNames []string) error {
	for _, full := range fullNames {
		owner, name, ok := strings.Cut(full, "/")
		if !ok {
			continue
		}
		repo := plan.RepoRef{InstallationID: installationID, Owner: owner, Repo: name}
		if err := s.put(ctx, s.sweepWork(repo, "installation"), s.opts.Coalesce); err != nil {
			return err
		}
		if err := s.queueAudit(ctx, repo, false, "installation", s.opts.Coalesce); err != nil {
			return err
		}
	}
	return nil
}

// MergeGroupEvent checks a merge group the queue asks checks for. The
// payload names it; the reconcile reads its branch and changes itself.
func (s *Service) MergeGroupEvent(ctx context.Context, g plan.MergeGroupRef, event string) error {
	return s.put(ctx, Work{Kind: KindMergeGroup, Repo: g.Repo, SHA: g.HeadSHA, Ref: g.HeadRef, Branch: g.BaseRef, Event: event}, s.opts.Coalesce)
}

// MergeGroupDestroyed stops the work of a merge group that left the queue
// (merged, dequeued, invalidated): queued work for it is dropped, and
// work in flight finds its branch gone before it writes.
func (s *Service) MergeGroupDestroyed(g plan.MergeGroupRef) {
	s.q.Remove(Work{Kind: KindMergeGroup, Repo: g.Repo, SHA: g.HeadSHA}.Key())
}

// Command queues a /fix-status run.
func (s *Service) Command(ctx context.Context, req CommandRequest) error {
	return s.put(ctx, Work{Kind: KindCommand, Repo: req.PR.RepoRef, Number: req.PR.Number, Command: &req, Event: "comment"}, 0)
}

// Sweep queues every open PR of every installation: it catches what missed
// webhooks left behind. With the drift watch, it queues the audit of every
// repository too, and forgets those of repositories no longer installed.
func (s *Service) Sweep(ctx context.Context) error {
	repos, err := ghapi.InstalledRepos(ctx, s.opts.Clients)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, r := range repos {
		if err := s.put(ctx, s.sweepWork(r, EventSweep), 0); err != nil {
			errs = append(errs, err)
		}
		if err := s.queueAudit(ctx, r, false, EventSweep, 0); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		s.opts.Metrics.Swept(s.opts.Now())
	}
	if err == nil && s.opts.Auditor != nil {
		s.forgetAudits(repos)
	}
	return errors.Join(errs...)
}

// do does one piece of work.
func (s *Service) do(ctx context.Context, w Work) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	logger := zerolog.Ctx(ctx).With().Str("work", w.Key()).Str("trigger", w.Event).Logger()
	ctx = logger.WithContext(ctx)
	if w.Event == EventSweep {
		ctx = govern.Background(ctx)
	}
	var err error
	switch w.Kind {
	case KindPR, KindMergeGroup:
		s.reconcile(ctx, w)
		return
	case KindCommand:
		err = s.command(ctx, *w.Command)
	case KindCommit:
		err = s.commit(ctx, w)
	case KindRepo:
		err = s.repo(ctx, w)
	case KindSweep:
		err = s.sweepPage(ctx, w)
	case KindOwner:
		err = s.owner(ctx, w)
	case KindAudit:
		err = s.audit(ctx, w)
	default:
		// Work a newer version queued (replicas of two versions share
		// Redis during a rolling upgrade): queued again, for a replica
		// that knows it.
		if w.Attempt < MaxRetries {
			w.Attempt++
			if err := s.put(ctx, w, s.opts.RetryBackoff); err == nil {
				logger.Warn().Str("kind", string(w.Kind)).Msg("work of a kind this version does not know; queued again for a replica that does")
				return
			}
		}
		logger.Error().Str("kind", string(w.Kind)).Msg("work of a kind this version does not know; dropped (the next sweep catches up)")
		return
	}
	if err != nil {
		s.retry(ctx, w, err)
	}
}

// classify says what a failure of work for installation inst calls for.
func (s *Service) classify(err error, inst int64) ghapi.Class {
	if s.opts.Governor != nil {
		return s.opts.Governor.Classify(err, inst)
	}
	return ghapi.Classify(err, s.opts.Now())
}

// retry puts failed work back when the failure passes; it says when.
func (s *Service) retry(ctx context.Context, w Work, err error) time.Duration {
	logger := zerolog.Ctx(ctx)
	c := s.classify(err, w.Repo.InstallationID)
	wait, ok := retryAfter(c, w.Attempt, s.opts.RetryBackoff)
	if !ok {
		logger.Error().Err(err).Msg("work failed; left to the next event or sweep")
		return 0
	}
	if c.Kind == ghapi.Transient {
		// A rate limit's wait is GitHub's; a backoff is ours to spread.
		wait = s.opts.Jitter(wait)
	}
	w.Attempt++
	if perr := s.put(ctx, w, wait); perr != nil {
		logger.Error().Err(err).AnErr("queue", perr).Msg("work failed and cannot be retried; left to the next event or sweep")
		return 0
	}
	logger.Warn().Err(err).Dur("retry_in", wait).Msg("work failed; will retry")
	return wait
}

// retryAfter says whether, and when, work that failed as c says is tried
// again: as GitHub said for a rate limit, with exponential backoff from base
// after a transient failure, never after a permanent one.
func retryAfter(c ghapi.Class, attempt int, base time.Duration) (time.Duration, bool) {
	if attempt >= MaxRetries {
		return 0, false
	}
	switch c.Kind {
	case ghapi.Limited:
		if c.Wait <= 0 {
			c.Wait = ghapi.SecondaryDefaultWait
		}
		return c.Wait, true
	case ghapi.Transient:
		return min(base<<attempt, maxBackoff), true
	}
	return 0, false
}

func (s *Service) reconcile(ctx context.Context, w Work) { s.reconcileWith(ctx, w, nil) }

// reconcileWith reconciles a PR or merge group, with its data read in bulk
// when pf is set; a retry reads it afresh.
func (s *Service) reconcileWith(ctx context.Context, w Work, pf *reconcile.Prefetched) {
	ref := w.PR()
	start := s.opts.Now()
	var rep *plan.Report
	var err error
	if w.Kind == KindMergeGroup {
		rep, err = s.rec.ReconcileGroup(ctx, w.Group(), reconcile.Trigger{Event: w.Event})
	} else {
		rep, err = s.rec.Reconcile(ctx, ref, reconcile.Trigger{Event: w.Event, OpenedHead: w.OpenedHead, Prefetched: pf})
	}
	s.opts.Metrics.Reconciled(s.opts.Now().Sub(start), err)
	out := Outcome{PR: ref, Trigger: w.Event, Report: rep, Err: err}
	if err != nil {
		out.Retry = s.retry(ctx, w, err)
	}
	if s.opts.OnReport != nil {
		s.opts.OnReport(out)
	}
	if rep != nil {
		s.recheckLater(ctx, w, rep)
	}
}

// recheckLater queues a re-check when a decision may change by itself.
func (s *Service) recheckLater(ctx context.Context, w Work, rep *plan.Report) {
	if t := plan.RecheckAt(rep.Decisions); !t.IsZero() {
		w.Event, w.Attempt, w.OpenedHead, w.Command = "recheck", 0, "", nil
		// Queued as s.put queues: work that ran out of time (a report with
		// a failed write) still queues its re-check.
		if err := s.q.Put(context.WithoutCancel(ctx), w, t.Add(time.Second)); err != nil {
			zerolog.Ctx(ctx).Warn().Err(err).Msg("cannot queue the re-check; left to the sweep")
		}
	}
}

func (s *Service) client(installationID int64) (*github.Client, error) {
	c, err := s.opts.Clients.NewInstallationClient(installationID)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for installation %d: %w", installationID, err)
	}
	return c, nil
}

// fanOut queues a PR work for each of prs. When the queue is full it
// queues the rest as a follow-up of w (a repository's PRs are listed again,
// a free 304), so a repository with more open PRs than the queue holds
// loses none.
func (s *Service) fanOut(ctx context.Context, w Work, prs []plan.PRInfo, event string) error {
	for i := min(w.Offset, len(prs)); i < len(prs); i++ {
		err := s.PREvent(ctx, w.Repo.PR(prs[i].Number), event, "")
		if errors.Is(err, ErrQueueFull) {
			// The rest, later: the PRs are listed again (a free 304),
			// the first i queued already.
			w.Push, w.Changed, w.Requirements, w.Offset = false, nil, false, i
			w.Event = event
			zerolog.Ctx(ctx).Warn().Int("prs", len(prs)).Int("queued", i).Msg("work queue full; the rest of the PRs are queued later")
			return s.put(ctx, w, fullWait)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// commit queues the open PRs whose head is the commit.
func (s *Service) commit(ctx context.Context, w Work) error {
	c, err := s.client(w.Repo.InstallationID)
	if err != nil {
		return err
	}
	prs, err := ghapi.PRsOfCommit(ctx, c, w.Repo, w.SHA)
	if err != nil {
		return err
	}
	return s.fanOut(ctx, w, prs, w.Event)
}

// repo queues the open PRs of a repository (of a branch): after a change of
// what they require, or a push of rule files, or an installation or sweep.
func (s *Service) repo(ctx context.Context, w Work) error {
	if w.Requirements {
		s.rec.InvalidateBranch(w.Repo, w.Branch)
	}
	if w.Push {
		touched, err := s.rec.RulesTouched(ctx, w.Repo, w.Branch, w.Changed)
		if err != nil || !touched {
			return err
		}
		s.rec.InvalidateBranch(w.Repo, w.Branch)
	}
	c, err := s.client(w.Repo.InstallationID)
	if err != nil {
		return err
	}
	prs, err := ghapi.ListOpenPRs(ctx, c, w.Repo, w.Branch)
	if err != nil {
		return err
	}
	event := w.Event
	if w.Requirements || w.Push {
		event = "requirements_changed"
	}
	if err := s.fanOut(ctx, w, prs, event); err != nil || w.Offset > 0 {
		return err
	}
	return s.queueGroups(ctx, c, w.Repo, w.Branch, event)
}

// queueGroups queues the merge groups in a repository's queues (of branch,
// when set): they are judged by the same rules as its PRs.
func (s *Service) queueGroups(ctx context.Context, c *github.Client, repo plan.RepoRef, branch, event string) error {
	groups, err := ghapi.ListMergeGroups(ctx, c, repo)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if branch != "" && g.BaseRef != branch {
			continue
		}
		if err := s.MergeGroupEvent(ctx, g, event); err != nil {
			return err
		}
	}
	return nil
}

// owner queues every repository of the owner the installation has, with
// their cached rules dropped, and their audits (the owner's default repo
// config changed).
func (s *Service) owner(ctx context.Context, w Work) error {
	repos, err := ghapi.InstallationRepos(ctx, s.opts.Clients, w.Repo.InstallationID)
	if err != nil {
		return err
	}
	for _, r := range repos {
		if !strings.EqualFold(r.Owner, w.Repo.Owner) || r.Repo == OwnerDefaultRepo {
			continue
		}
		if err := s.put(ctx, Work{Kind: KindRepo, Repo: r, Requirements: true, Event: w.Event}, 0); err != nil {
			return err
		}
		if err := s.queueAudit(ctx, r, true, w.Event, 0); err != nil {
			return err
		}
	}
	return nil
}
