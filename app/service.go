package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/config"
)

// ServiceOptions configure a Service.
type ServiceOptions struct {
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
	// OnReport, when set, is told every reconcile's report (the demo shows
	// what fix-status did; operators can hook auditing here).
	OnReport func(*Report)
}

// Service runs reconciles for the webhook server: it coalesces events per
// PR, re-checks PRs when a decision may change by itself (the grace period
// ends), sweeps all open PRs periodically, and drains on shutdown.
type Service struct {
	rec  *Reconciler
	opts ServiceOptions

	mu      sync.Mutex
	pending map[PRRef]*pendingPR
	closed  bool
	ready   chan PRRef
	wg      sync.WaitGroup
	stop    chan struct{}

	cmdMu   sync.Mutex
	lastCmd map[PRRef]time.Time

	running atomic.Int64
}

type pendingPR struct {
	trig  Trigger
	at    time.Time
	timer *time.Timer
	fired bool
}

// NewService creates a Service; Start runs it.
func NewService(rec *Reconciler, opts ServiceOptions) *Service {
	if opts.Coalesce == 0 {
		opts.Coalesce = 2 * time.Second
	}
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	if opts.MaxPending == 0 {
		opts.MaxPending = 10000
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = 30 * time.Second
	}
	return &Service{
		rec: rec, opts: opts,
		pending: map[PRRef]*pendingPR{},
		ready:   make(chan PRRef, opts.MaxPending),
		stop:    make(chan struct{}),
		lastCmd: map[PRRef]time.Time{},
	}
}

// Reconciler returns the service's reconciler.
func (s *Service) Reconciler() *Reconciler { return s.rec }

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
func (s *Service) Schedule(ref PRRef, trig Trigger, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	at := time.Now().Add(delay)
	if p, ok := s.pending[ref]; ok && !p.fired {
		p.trig = mergeTriggers(p.trig, trig)
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
	p := &pendingPR{trig: trig, at: at}
	p.timer = time.AfterFunc(delay, func() { s.fire(ref, p) })
	s.pending[ref] = p
	s.rec.opts.Metrics.QueueDepth.Set(float64(len(s.pending)))
}

// mergeTriggers coalesces two triggers of one PR. A webhook's PR payload
// saves a read, but deliveries arrive out of order: keep the newer payload,
// and read the PR afresh when two disagree and their age cannot tell.
func mergeTriggers(old, new Trigger) Trigger {
	out := new
	out.attempt = min(old.attempt, new.attempt)
	switch {
	case new.PR == nil:
		out.PR = old.PR
	case old.PR == nil || old.PR.GetHead().GetSHA() == new.PR.GetHead().GetSHA():
	case new.PR.GetUpdatedAt().After(old.PR.GetUpdatedAt().Time):
	case old.PR.GetUpdatedAt().After(new.PR.GetUpdatedAt().Time):
		out.PR = old.PR
	default:
		out.PR = nil
	}
	return out
}

// MaxRetries bounds the retries of a reconcile that failed on a passing
// problem (a 5xx, a rate limit); the sweep catches what is left.
const MaxRetries = 5

// retryAfter says whether, and when, a failed reconcile is tried again: at
// the rate limit's reset, after GitHub's retry-after, or with exponential
// backoff from base for other errors.
func retryAfter(err error, attempt int, now time.Time, base time.Duration) (time.Duration, bool) {
	if attempt >= MaxRetries {
		return 0, false
	}
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var resp *github.ErrorResponse
	switch {
	case errors.As(err, &rl):
		return max(rl.Rate.Reset.Sub(now), time.Second), true
	case errors.As(err, &abuse) && abuse.RetryAfter != nil:
		return max(*abuse.RetryAfter, time.Second), true
	case errors.As(err, &resp) && resp.Response != nil && resp.Response.Header.Get("Retry-After") != "":
		// go-github makes an AbuseRateLimitError of a 403 only; GitHub
		// answers secondary limits with 429 too.
		if secs, perr := strconv.Atoi(resp.Response.Header.Get("Retry-After")); perr == nil {
			return max(time.Duration(secs)*time.Second, time.Second), true
		}
	case errors.Is(err, context.Canceled):
		return 0, false
	}
	return min(base<<attempt, 10*time.Minute), true
}

func (s *Service) fire(ref PRRef, p *pendingPR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[ref] != p || p.fired || s.closed {
		return
	}
	p.fired = true
	s.ready <- ref // cannot block: ready holds MaxPending and pending is bounded by it
}

func (s *Service) run(ctx context.Context, ref PRRef) {
	s.mu.Lock()
	p := s.pending[ref]
	delete(s.pending, ref)
	if p != nil {
		// Counted before the lock is released, so Idle never sees a
		// re-check that is neither pending nor running.
		s.running.Add(1)
	}
	s.rec.opts.Metrics.QueueDepth.Set(float64(len(s.pending)))
	s.mu.Unlock()
	if p == nil {
		return
	}
	defer s.running.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	rep, err := s.rec.Reconcile(ctx, ref, p.trig)
	logger := zerolog.Ctx(ctx).With().Str("pr", ref.String()).Logger()
	if err != nil {
		if wait, ok := retryAfter(err, p.trig.attempt, time.Now(), s.opts.RetryBackoff); ok {
			logger.Warn().Err(err).Dur("retry_in", wait).Msg("reconcile failed; will retry")
			s.Schedule(ref, Trigger{Event: "retry", attempt: p.trig.attempt + 1}, wait)
			return
		}
		logger.Error().Err(err).Msg("reconcile failed; left to the next event or sweep")
		return
	}
	if s.opts.OnReport != nil {
		s.opts.OnReport(rep)
	}
	if t := RecheckAt(rep.Decisions); !t.IsZero() {
		s.Schedule(ref, Trigger{Event: "recheck"}, time.Until(t)+time.Second)
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

// ScheduleOpenPRs schedules every open PR of a repository (of one base
// branch when branch is not empty; with head SHA sha when sha is not empty).
func (s *Service) ScheduleOpenPRs(ctx context.Context, installationID int64, owner, repo, branch, sha string, trig Trigger) (int, error) {
	client, err := s.rec.opts.Clients.NewInstallationClient(installationID)
	if err != nil {
		return 0, fmt.Errorf("failed to create a client for installation %d: %w", installationID, err)
	}
	prs, err := ListOpenPRs(ctx, client, owner, repo, branch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, pr := range prs {
		if sha != "" && pr.GetHead().GetSHA() != sha {
			continue
		}
		s.Schedule(PRRef{Owner: owner, Repo: repo, Number: pr.GetNumber(), InstallationID: installationID}, trig, s.opts.Coalesce)
		n++
	}
	return n, nil
}

// ListOpenPRs lists a repository's open PRs (of one base branch if given).
func ListOpenPRs(ctx context.Context, c *github.Client, owner, repo, branch string) ([]*github.PullRequest, error) {
	var out []*github.PullRequest
	opt := &github.PullRequestListOptions{State: "open", Base: branch, ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		prs, resp, err := c.PullRequests.List(ctx, owner, repo, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list open pull requests of %s/%s: %w", owner, repo, err)
		}
		out = append(out, prs...)
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// Sweep schedules every open PR of every installation: it catches what
// missed webhooks left behind.
func (s *Service) Sweep(ctx context.Context) error {
	repos, err := InstalledRepos(ctx, s.rec.opts.Clients)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range repos {
		if _, err := s.ScheduleOpenPRs(ctx, r.InstallationID, r.Owner, r.Name, "", "", Trigger{Event: "sweep"}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// InstalledRepo is one repository of one installation.
type InstalledRepo struct {
	InstallationID int64
	Owner, Name    string
}

// InstalledRepos lists the repositories of every installation of the app.
func InstalledRepos(ctx context.Context, cc githubapp.ClientCreator) ([]InstalledRepo, error) {
	appClient, err := cc.NewAppClient()
	if err != nil {
		return nil, fmt.Errorf("failed to create the app client: %w", err)
	}
	var out []InstalledRepo
	var errs []error
	opt := &github.ListOptions{PerPage: perPage}
	for {
		insts, resp, err := appClient.Apps.ListInstallations(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list installations: %w", err)
		}
		for _, inst := range insts {
			repos, err := InstallationRepos(ctx, cc, inst.GetID())
			if err != nil {
				errs = append(errs, err)
			}
			out = append(out, repos...)
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return out, errors.Join(errs...)
}

// InstallationRepos lists the repositories one installation can access.
func InstallationRepos(ctx context.Context, cc githubapp.ClientCreator, id int64) ([]InstalledRepo, error) {
	c, err := cc.NewInstallationClient(id)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for installation %d: %w", id, err)
	}
	var out []InstalledRepo
	opt := &github.ListOptions{PerPage: perPage}
	for {
		res, resp, err := c.Apps.ListRepos(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("failed to list repositories of installation %d: %w", id, err)
		}
		for _, r := range res.Repositories {
			out = append(out, InstalledRepo{InstallationID: id, Owner: r.GetOwner().GetLogin(), Name: r.GetName()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// IsOwnSender reports whether an event was caused by fix-status itself
// (its statuses, check runs and comments): such events are ignored, so the
// app never loops on its own writes.
func (s *Service) IsOwnSender(login string, appID int64) bool {
	return (login != "" && strings.EqualFold(login, s.rec.AppLogin())) || (appID != 0 && appID == s.rec.opts.AppID)
}

// Idle reports whether no re-check is queued, scheduled or running.
func (s *Service) Idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) == 0 && s.running.Load() == 0
}

// Coalesce is the window in which events for one PR become one re-check.
func (s *Service) Coalesce() time.Duration { return s.opts.Coalesce }

// ScheduleSHA re-checks the open PRs whose head is sha: the ones a check
// payload names, or else those found by listing the open PRs.
func (s *Service) ScheduleSHA(ctx context.Context, installationID int64, repo *github.Repository, sha string, prs []*github.PullRequest, trig Trigger) error {
	owner, name := repo.GetOwner().GetLogin(), repo.GetName()
	n := 0
	for _, pr := range prs {
		// A check payload lists PRs of forks' repositories too; only the
		// PRs of this repository are ours to check.
		if pr.GetBase().GetRepo().GetID() != 0 && pr.GetBase().GetRepo().GetID() != repo.GetID() {
			continue
		}
		s.Schedule(PRRef{Owner: owner, Repo: name, Number: pr.GetNumber(), InstallationID: installationID}, trig, s.opts.Coalesce)
		n++
	}
	if n > 0 {
		return nil
	}
	_, err := s.ScheduleOpenPRs(ctx, installationID, owner, name, "", sha, trig)
	return err
}

// RequirementsChanged forgets what was cached about a repository's branch
// (every branch when branch is empty) and re-checks its open PRs.
func (s *Service) RequirementsChanged(ctx context.Context, installationID int64, owner, repo, branch string) error {
	s.rec.InvalidateBranch(installationID, owner+"/"+repo, branch)
	_, err := s.ScheduleOpenPRs(ctx, installationID, owner, repo, branch, "", Trigger{Event: "requirements_changed"})
	return err
}

// RulesPushed handles a push to branch: when it changes a file that defines
// jobs, the branch's open PRs are judged by new rules and are re-checked.
func (s *Service) RulesPushed(ctx context.Context, installationID int64, owner, repo, branch string, changed []string) error {
	ref := PRRef{Owner: owner, Repo: repo, InstallationID: installationID}
	k := branchKey{installationID, strings.ToLower(ref.FullRepo()), branch}
	s.rec.mu.Lock()
	old := s.rec.branches[k]
	if old != nil && old.at.IsZero() {
		// Still being read: its fields are set once at is.
		old = nil
	}
	s.rec.mu.Unlock()
	// When the branch's rules could not be read, any push may have fixed
	// them: its PRs show fix-status's error until they are re-checked.
	touched := old != nil && old.rulesErr != nil
	if old != nil && old.rules != nil && len(old.rules.RuleFilesChanged(changed)) > 0 {
		touched = true
	}
	for _, f := range changed {
		if f == config.RepoConfigPath || strings.HasPrefix(f, WorkflowsDir+"/") {
			touched = true
		}
	}
	if !touched && old == nil {
		// Nothing cached: read the branch's rules to learn which files
		// define them (a repo config can name any Prow path).
		client, err := s.rec.opts.Clients.NewInstallationClient(installationID)
		if err != nil {
			return fmt.Errorf("failed to create a client for installation %d: %w", installationID, err)
		}
		// But only if some open PR is judged by them: most pushes go to
		// branches no PR is based on, and listing those PRs is one request
		// (then a free 304) where the rules are several.
		prs, err := ListOpenPRs(ctx, client, owner, repo, branch)
		if err != nil {
			return err
		}
		if len(prs) == 0 {
			return nil
		}
		if rs, _, err := s.rec.loadRules(ctx, client, ref, branch); err == nil && len(rs.RuleFilesChanged(changed)) > 0 {
			touched = true
		}
	}
	if !touched {
		return nil
	}
	return s.RequirementsChanged(ctx, installationID, owner, repo, branch)
}

// CheckRepos re-checks every open PR of the given repositories of an
// installation (a new installation, repositories added to one).
func (s *Service) CheckRepos(ctx context.Context, installationID int64, repos []*github.Repository) error {
	var errs []error
	for _, r := range repos {
		owner, name, ok := strings.Cut(r.GetFullName(), "/")
		if !ok {
			continue
		}
		if _, err := s.ScheduleOpenPRs(ctx, installationID, owner, name, "", "", Trigger{Event: "installation"}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FindInstallation returns the id of the app's installation on a repository.
func FindInstallation(ctx context.Context, cc githubapp.ClientCreator, owner, repo string) (int64, error) {
	c, err := cc.NewAppClient()
	if err != nil {
		return 0, fmt.Errorf("failed to create the app client: %w", err)
	}
	inst, _, err := c.Apps.FindRepositoryInstallation(ctx, owner, repo)
	if err != nil {
		return 0, fmt.Errorf("the app is not installed on %s/%s: %w", owner, repo, err)
	}
	return inst.GetID(), nil
}
