// Package serve drives reconciles for the webhook server: it coalesces
// events per PR, re-checks PRs when a decision may change by itself (the
// grace period ends, a pending result turns stale), retries reconciles that
// failed on a passing problem, sweeps all open PRs periodically, runs the
// /fix-status command, and drains on shutdown.
package serve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/ghapi"
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
	// MaxRetries bounds the retries of a reconcile that failed on a passing
	// problem (a 5xx, a rate limit); the sweep catches what is left.
	MaxRetries = 5
	// maxBackoff bounds the wait between retries of other failures.
	maxBackoff = 10 * time.Minute
)

// Options configure a Service.
type Options struct {
	// Clients list PRs and installations, and post command replies.
	Clients githubapp.ClientCreator
	// Coalesce is how long events for one PR are gathered into one
	// re-check (default 2s).
	Coalesce time.Duration
	// Workers reconcile PRs in parallel (default 4).
	Workers int
	// MaxPending bounds the PRs waiting for a re-check (default 10,000);
	// past it new ones are dropped and left to the sweep.
	MaxPending int
	// Timeout bounds one reconcile (default 2 minutes).
	Timeout time.Duration
	// SweepInterval re-checks every open PR periodically (0 = off).
	SweepInterval time.Duration
	Logger        zerolog.Logger
	// RetryBackoff is the first wait before a failed reconcile is tried
	// again; it doubles per attempt, up to 10 minutes (default 30s).
	RetryBackoff time.Duration
	// OnReport, when set, is told the outcome of every reconcile the
	// service runs (the demo shows what fix-status did; operators can hook
	// auditing here). It is called from the workers.
	OnReport func(Outcome)
	// Now is the clock (default time.Now).
	Now     func() time.Time
	Metrics *metrics.Metrics
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

// Service runs reconciles for the webhook server.
type Service struct {
	rec  *reconcile.Reconciler
	opts Options

	mu      sync.Mutex
	pending map[plan.PRRef]*pendingPR
	closed  bool
	ready   chan plan.PRRef
	wg      sync.WaitGroup
	stop    chan struct{}

	cmdMu   sync.Mutex
	lastCmd map[plan.PRRef]time.Time

	running atomic.Int64
}

type pendingPR struct {
	trig    reconcile.Trigger
	attempt int // retries of a failed reconcile
	at      time.Time
	timer   *time.Timer
	fired   bool
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
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New(nil)
	}
	return &Service{
		rec: rec, opts: opts,
		pending: map[plan.PRRef]*pendingPR{},
		ready:   make(chan plan.PRRef, opts.MaxPending),
		stop:    make(chan struct{}),
		lastCmd: map[plan.PRRef]time.Time{},
	}
}

// Start runs the workers and the periodic sweep until Shutdown.
func (s *Service) Start(ctx context.Context) {
	// Shutdown, not ctx, ends the service: it runs the re-checks still
	// queued when the server is told to stop (ctx ends then), so they must
	// not inherit that cancellation. Each is bounded by opts.Timeout.
	ctx = s.opts.Logger.WithContext(context.WithoutCancel(ctx))
	for i := 0; i < s.opts.Workers; i++ {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for ref := range s.ready {
				s.run(ctx, ref)
			}
		}()
	}
	if s.opts.SweepInterval > 0 {
		go func() {
			t := time.NewTicker(s.opts.SweepInterval)
			defer t.Stop()
			for {
				select {
				case <-s.stop:
					return
				case <-t.C:
					if err := s.Sweep(ctx); err != nil {
						zerolog.Ctx(ctx).Error().Err(err).Msg("sweep failed")
					}
				}
			}
		}()
	}
}

// Schedule asks for a re-check of ref after delay. Requests for one PR
// coalesce: the earliest time wins and the latest trigger is used.
func (s *Service) Schedule(ref plan.PRRef, trig reconcile.Trigger, delay time.Duration) {
	s.schedule(ref, trig, 0, delay)
}

func (s *Service) schedule(ref plan.PRRef, trig reconcile.Trigger, attempt int, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	at := s.opts.Now().Add(delay)
	if p, ok := s.pending[ref]; ok && !p.fired {
		p.trig = mergeTriggers(p.trig, trig)
		p.attempt = min(p.attempt, attempt)
		if at.Before(p.at) && p.timer.Stop() {
			p.at = at
			p.timer.Reset(delay)
		}
		return
	}
	if len(s.pending) >= s.opts.MaxPending {
		s.opts.Logger.Warn().Str("pr", ref.String()).Msg("re-check queue full; leaving the PR to the sweep")
		return
	}
	p := &pendingPR{trig: trig, attempt: attempt, at: at}
	p.timer = time.AfterFunc(delay, func() { s.fire(ref, p) })
	s.pending[ref] = p
	s.opts.Metrics.QueueDepth.Set(float64(len(s.pending)))
}

// mergeTriggers coalesces two triggers of one PR. A webhook's PR payload
// saves a read, but deliveries arrive out of order: keep the newer payload,
// and read the PR afresh when two disagree and their age cannot tell.
func mergeTriggers(old, new reconcile.Trigger) reconcile.Trigger {
	out := new
	switch {
	case new.PR == nil:
		out.PR = old.PR
	case old.PR == nil || old.PR.HeadSHA == new.PR.HeadSHA:
	case new.PR.UpdatedAt.After(old.PR.UpdatedAt):
	case old.PR.UpdatedAt.After(new.PR.UpdatedAt):
		out.PR = old.PR
	default:
		out.PR = nil
	}
	return out
}

// retryAfter says whether, and when, a failed reconcile is tried again: as
// GitHub said for a rate limit, with exponential backoff from base after a
// transient failure, never after a permanent one.
func retryAfter(err error, attempt int, now time.Time, base time.Duration) (time.Duration, bool) {
	if attempt >= MaxRetries {
		return 0, false
	}
	c := ghapi.Classify(err, now)
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

func (s *Service) fire(ref plan.PRRef, p *pendingPR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[ref] != p || p.fired || s.closed {
		return
	}
	p.fired = true
	s.ready <- ref // cannot block: ready holds MaxPending and pending is bounded by it
}

func (s *Service) run(ctx context.Context, ref plan.PRRef) {
	s.mu.Lock()
	p := s.pending[ref]
	delete(s.pending, ref)
	if p != nil {
		// Counted before the lock is released, so Idle never sees a
		// re-check that is neither pending nor running.
		s.running.Add(1)
	}
	s.opts.Metrics.QueueDepth.Set(float64(len(s.pending)))
	s.mu.Unlock()
	if p == nil {
		return
	}
	defer s.running.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	rep, err := s.rec.Reconcile(ctx, ref, p.trig)
	out := Outcome{PR: ref, Trigger: p.trig.Event, Report: rep, Err: err}
	logger := zerolog.Ctx(ctx).With().Str("pr", ref.String()).Logger()
	if err != nil {
		if wait, ok := retryAfter(err, p.attempt, s.opts.Now(), s.opts.RetryBackoff); ok {
			logger.Warn().Err(err).Dur("retry_in", wait).Msg("reconcile failed; will retry")
			s.schedule(ref, reconcile.Trigger{Event: "retry"}, p.attempt+1, wait)
			out.Retry = wait
		} else {
			logger.Error().Err(err).Msg("reconcile failed; left to the next event or sweep")
		}
	}
	if s.opts.OnReport != nil {
		s.opts.OnReport(out)
	}
	if rep != nil {
		s.recheckLater(ref, rep)
	}
}

// recheckLater schedules a re-check when a decision may change by itself.
func (s *Service) recheckLater(ref plan.PRRef, rep *plan.Report) {
	if t := plan.RecheckAt(rep.Decisions); !t.IsZero() {
		s.Schedule(ref, reconcile.Trigger{Event: "recheck"}, t.Sub(s.opts.Now())+time.Second)
	}
}

// Shutdown stops accepting work, runs every pending re-check now, and waits
// for the workers to finish (or ctx to end).
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	for ref, p := range s.pending {
		if !p.fired && p.timer.Stop() {
			p.fired = true
			s.ready <- ref
		}
	}
	close(s.ready)
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shutdown: %w with reconciles still running", ctx.Err())
	}
}

func (s *Service) client(installationID int64) (*github.Client, error) {
	c, err := s.opts.Clients.NewInstallationClient(installationID)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for installation %d: %w", installationID, err)
	}
	return c, nil
}

// ScheduleOpenPRs schedules every open PR of a repository (of one base
// branch when branch is not empty; with head SHA sha when sha is not empty).
func (s *Service) ScheduleOpenPRs(ctx context.Context, repo plan.RepoRef, branch, sha string, trig reconcile.Trigger) (int, error) {
	client, err := s.client(repo.InstallationID)
	if err != nil {
		return 0, err
	}
	prs, err := ghapi.ListOpenPRs(ctx, client, repo, branch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, pr := range prs {
		if sha != "" && pr.HeadSHA != sha {
			continue
		}
		s.Schedule(repo.PR(pr.Number), trig, s.opts.Coalesce)
		n++
	}
	return n, nil
}

// Sweep schedules every open PR of every installation: it catches what
// missed webhooks left behind.
func (s *Service) Sweep(ctx context.Context) error {
	repos, err := ghapi.InstalledRepos(ctx, s.opts.Clients)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, r := range repos {
		if _, err := s.ScheduleOpenPRs(ctx, r, "", "", reconcile.Trigger{Event: "sweep"}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// IsOwnSender reports whether an event was caused by fix-status itself.
func (s *Service) IsOwnSender(login string, appID int64) bool { return s.rec.IsOwnSender(login, appID) }

// Idle reports whether no re-check is queued, scheduled or running.
func (s *Service) Idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) == 0 && s.running.Load() == 0
}

// Coalesce is the window in which events for one PR become one re-check.
func (s *Service) Coalesce() time.Duration { return s.opts.Coalesce }

// PREvent re-checks one PR after a webhook about it; pr is what the payload
// said of it.
func (s *Service) PREvent(ref plan.PRRef, event string, pr plan.PRInfo) {
	s.Schedule(ref, reconcile.Trigger{Event: event, PR: &pr}, s.opts.Coalesce)
}

// ScheduleSHA re-checks the open PRs whose head is sha: prs, the ones a
// check payload names in this repository, or else those found by listing
// the open PRs.
func (s *Service) ScheduleSHA(ctx context.Context, repo plan.RepoRef, sha string, prs []int, event string) error {
	for _, n := range prs {
		s.Schedule(repo.PR(n), reconcile.Trigger{Event: event}, s.opts.Coalesce)
	}
	if len(prs) > 0 {
		return nil
	}
	_, err := s.ScheduleOpenPRs(ctx, repo, "", sha, reconcile.Trigger{Event: event})
	return err
}

// RequirementsChanged forgets what was cached about a repository's branch
// (every branch when branch is empty) and re-checks its open PRs.
func (s *Service) RequirementsChanged(ctx context.Context, repo plan.RepoRef, branch string) error {
	s.rec.InvalidateBranch(repo, branch)
	_, err := s.ScheduleOpenPRs(ctx, repo, branch, "", reconcile.Trigger{Event: "requirements_changed"})
	return err
}

// RulesPushed handles a push to branch: when it changes a file that defines
// jobs, the branch's open PRs are judged by new rules and are re-checked.
func (s *Service) RulesPushed(ctx context.Context, repo plan.RepoRef, branch string, changed []string) error {
	touched, err := s.rec.RulesTouched(ctx, repo, branch, changed)
	if err != nil || !touched {
		return err
	}
	return s.RequirementsChanged(ctx, repo, branch)
}

// CheckRepos re-checks every open PR of the given repositories ("owner/name")
// of an installation (a new installation, repositories added to one).
func (s *Service) CheckRepos(ctx context.Context, installationID int64, fullNames []string) error {
	var errs []error
	for _, full := range fullNames {
		owner, name, ok := strings.Cut(full, "/")
		if !ok {
			continue
		}
		repo := plan.RepoRef{InstallationID: installationID, Owner: owner, Repo: name}
		if _, err := s.ScheduleOpenPRs(ctx, repo, "", "", reconcile.Trigger{Event: "installation"}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
