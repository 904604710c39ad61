package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/appconfig"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/rules/prow"
	"github.com/fix-status/fix-status/config"
)

// Options configure a Reconciler.
type Options struct {
	Clients githubapp.ClientCreator
	Config  *config.Server
	// AppID and AppSlug identify fix-status (from GET /app); its results are
	// the ones created by AppSlug+"[bot]" or by app AppID.
	AppID   int64
	AppSlug string
	// CentralProw is the server config's Prow job config (may be nil).
	CentralProw *prow.Config
	Now         func() time.Time
	Metrics     *Metrics
	// BranchTTL is how long a branch's required checks and rules are reused
	// across PRs before they are read again (default 1 minute). Webhooks
	// that change them invalidate the cache at once.
	BranchTTL time.Duration
}

// Reconciler repairs pull requests: snapshot → plan → apply.
type Reconciler struct {
	opts   Options
	loader *appconfig.Loader

	mu       sync.Mutex
	branches map[branchKey]*branchEntry
}

type branchKey struct {
	installation int64
	repo, branch string
}

type branchEntry struct {
	once     sync.Once
	at       time.Time
	required []RequiredCheck
	rules    *RuleSet
	cfgPath  string
	err      error
	rulesErr error
}

// NewReconciler builds a Reconciler.
func NewReconciler(opts Options) *Reconciler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BranchTTL == 0 {
		opts.BranchTTL = time.Minute
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	return &Reconciler{
		opts:     opts,
		loader:   appconfig.NewLoader([]string{config.RepoConfigPath}),
		branches: map[branchKey]*branchEntry{},
	}
}

// AppLogin is the login GitHub shows for writes made by the app.
func (r *Reconciler) AppLogin() string { return r.opts.AppSlug + "[bot]" }

// Trigger says why a PR is reconciled.
type Trigger struct {
	// Event names the cause, e.g. "pull_request.synchronize", "comment",
	// "sweep", "backfill", "check".
	Event string
	// PR is the pull request from a webhook payload, when there is one; it
	// saves one read.
	PR *github.PullRequest
	// DryRun plans without writing.
	DryRun bool
	// Prefetched, when set, is the PR's data read in bulk (backfill reads
	// many PRs per GraphQL query); it replaces the per-PR REST reads. When
	// it has no files and does not say the list is complete, the files are
	// read by REST.
	Prefetched *Prefetched
	// attempt counts retries of a failed reconcile.
	attempt int
	// Commenter is who asked with /fix-status (empty otherwise): the repo
	// config's command policy applies to them.
	Commenter string
	// CommenterAssociation is the comment's author_association (OWNER,
	// MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, ...), when a webhook gave it.
	CommenterAssociation string
}

// Prefetched is one PR's data read elsewhere than by the reconciler.
type Prefetched struct {
	// PR needs number, state, draft, user, base ref and SHA, head SHA,
	// updated_at and changed_files.
	PR *github.PullRequest
	// Files is the changed-file list as read (nil: read it by REST), and
	// FilesComplete whether it holds every file: false for a PR past
	// GitHub's 3,000-file limit, which reading again would not change.
	Files         []string
	FilesComplete bool
	// Statuses are the latest per context and CheckRuns the latest per name
	// and app on the head SHA, as ReadStatuses and ReadCheckRuns give them.
	Statuses  []Status
	CheckRuns []CheckRun
}

// Report is what a reconcile decided and did.
type Report struct {
	PR        PRRef
	HeadSHA   string
	Decisions []Decision
	// Actions says, per decision, what was done (or would be, in a dry run).
	Actions []string
	Writes  int
	// Skipped is set when the PR was not looked at, with why (closed, draft).
	Skipped string
}

// InvalidateBranch forgets the cached required checks and rules of a branch
// (all branches of the repository when branch is empty), after a webhook
// says they changed.
func (r *Reconciler) InvalidateBranch(installation int64, repo, branch string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.branches {
		if k.installation == installation && strings.EqualFold(k.repo, repo) && (branch == "" || k.branch == branch) {
			delete(r.branches, k)
		}
	}
}

// Reconcile reads, plans and (unless dry run) repairs one PR.
func (r *Reconciler) Reconcile(ctx context.Context, ref PRRef, trig Trigger) (*Report, error) {
	logger := zerolog.Ctx(ctx).With().Str("pr", ref.String()).Str("trigger", trig.Event).Logger()
	ctx = logger.WithContext(ctx)
	client, err := r.opts.Clients.NewInstallationClient(ref.InstallationID)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for installation %d: %w", ref.InstallationID, err)
	}
	snap, err := r.snapshot(ctx, client, ref, trig)
	if err != nil {
		return nil, err
	}
	rep := &Report{PR: ref, HeadSHA: snap.HeadSHA}
	if snap.State != "open" {
		rep.Skipped = "the pull request is " + snap.State
		return rep, nil
	}
	popts := r.planOptions(snap)
	ds := Plan(snap, popts)
	if NeedsRetriggers(snap, ds) {
		snap.Retriggers, err = readRetriggers(ctx, client, ref, snap.HeadSHA, r.AppLogin())
		if err != nil {
			return nil, err
		}
		snap.RetriggersRead = true
		ds = Plan(snap, popts)
	}
	if trig.Commenter != "" {
		refused, err := commandPolicy(ctx, client, ref, snap.repoConfig, trig.Commenter, trig.CommenterAssociation, ds)
		if err != nil {
			return nil, err
		}
		if refused != "" {
			rep.Skipped = refused
			return rep, nil
		}
	}
	rep.Decisions = ds
	for _, d := range ds {
		r.opts.Metrics.Decision(string(d.Verdict))
	}
	ap := applier{client: client, ref: ref, sha: snap.HeadSHA, login: r.AppLogin(), dryRun: trig.DryRun || r.opts.Config.Repair.DryRun, metrics: r.opts.Metrics}
	rep.Actions, rep.Writes, err = ap.apply(ctx, ds)
	if snap.RulesErr != nil {
		// The PR shows it cut to 140 characters; the log keeps all of it
		// (an API error's status comes after its URL).
		logger.Warn().Err(snap.RulesErr).Str("config", snap.rulesErrPath).Msg("cannot read the job rules")
	}
	if err == nil {
		err = ap.reportRulesError(ctx, snap)
	}
	for i, d := range ds {
		ev := logger.Debug()
		if len(d.Writes) > 0 {
			ev = logger.Info()
		}
		ev.Str("context", d.Context).Str("verdict", string(d.Verdict)).Str("reason", d.Reason).Str("action", rep.Actions[i]).Msg("decision")
	}
	return rep, err
}

func (r *Reconciler) planOptions(s *Snapshot) PlanOptions {
	rc := r.opts.Config.Repair
	reportAs := config.ReportAsStatus
	if s.repoConfig != nil {
		reportAs = s.repoConfig.ReportAs
	}
	return PlanOptions{
		Now: r.opts.Now(), AppID: r.opts.AppID, AppLogin: r.AppLogin(), ReportAs: reportAs,
		WebURL: r.opts.Config.GitHub.WebURL, GracePeriod: rc.GracePeriod.Duration, StalePendingAfter: rc.StalePendingAfter.Duration,
	}
}

// snapshot reads everything the plan needs. Reads per PR: the PR (unless
// the webhook gave it), its files, the head's statuses and check runs; per
// branch (cached): required checks and the rules.
func (r *Reconciler) snapshot(ctx context.Context, c *github.Client, ref PRRef, trig Trigger) (*Snapshot, error) {
	pf := trig.Prefetched
	pr := trig.PR
	if pf != nil {
		pr = pf.PR
	}
	if pr == nil || pr.GetHead().GetSHA() == "" {
		var err error
		if pr, err = readPR(ctx, c, ref); err != nil {
			return nil, err
		}
	}
	s := &Snapshot{
		PR: ref, State: pr.GetState(),
		BaseBranch: pr.GetBase().GetRef(), BaseSHA: pr.GetBase().GetSHA(), HeadSHA: pr.GetHead().GetSHA(),
	}
	if s.State != "open" {
		return s, nil
	}
	var err error
	if pf != nil && (pf.Files != nil || pf.FilesComplete) {
		s.Files, s.FilesComplete = pf.Files, pf.FilesComplete
	} else if s.Files, s.FilesComplete, err = ReadFiles(ctx, c, ref, pr.GetChangedFiles()); err != nil {
		return nil, err
	}
	if pf != nil {
		s.Statuses, s.CheckRuns = pf.Statuses, pf.CheckRuns
	} else {
		if s.Statuses, err = ReadStatuses(ctx, c, ref, s.HeadSHA); err != nil {
			return nil, err
		}
		if s.CheckRuns, err = ReadCheckRuns(ctx, c, ref, s.HeadSHA); err != nil {
			return nil, err
		}
	}
	s.HeadSince = headSince(pr, s.Statuses, s.CheckRuns)
	be := r.branch(ctx, c, ref, s.BaseBranch)
	if be.err != nil {
		return nil, be.err
	}
	s.Required = be.required
	if be.rulesErr != nil {
		s.RulesErr = be.rulesErr
		s.rulesErrPath = be.cfgPath
		return s, nil
	}
	s.Jobs = be.rules.Jobs
	s.repoConfig = be.rules.Config
	if s.RuleFilesChanged = be.rules.RuleFilesChanged(s.Files); len(s.RuleFilesChanged) > 0 {
		// Invariant 1: the PR changes the rules that judge it; read its
		// own version too, and skip only where both agree.
		head, _, err := r.loadRules(ctx, c, ref, s.HeadSHA)
		if err != nil {
			s.HeadRulesErr = err
		} else {
			s.HeadJobs = head.Jobs
		}
	}
	return s, nil
}

// branch returns the cached required checks and rules of a base branch,
// reading them once per TTL however many PRs ask at the same time.
func (r *Reconciler) branch(ctx context.Context, c *github.Client, ref PRRef, branch string) *branchEntry {
	k := branchKey{ref.InstallationID, strings.ToLower(ref.FullRepo()), branch}
	r.mu.Lock()
	e, ok := r.branches[k]
	if !ok || (!e.at.IsZero() && r.opts.Now().Sub(e.at) > r.opts.BranchTTL) {
		e = &branchEntry{}
		r.branches[k] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		e.required, e.err = readRequired(ctx, c, ref.Owner, ref.Repo, branch)
		if e.err == nil {
			e.rules, e.cfgPath, e.rulesErr = r.loadRules(ctx, c, ref, branch)
		}
		r.mu.Lock()
		e.at = r.opts.Now()
		if (e.err != nil || isAPIError(e.rulesErr)) && r.branches[k] == e {
			// Don't keep a failed read: the next PR tries again. A bad
			// rule file is kept: reading it again gives the same error.
			delete(r.branches, k)
		}
		r.mu.Unlock()
	})
	return e
}

// loadRules reads the repo config (with go-githubapp's fallback to the
// owner's .github repository) and the rules it names, at ref. The returned
// path is the config file's location, for messages.
func (r *Reconciler) loadRules(ctx context.Context, c *github.Client, ref PRRef, at string) (*RuleSet, string, error) {
	cfgFile, err := r.loader.LoadConfig(ctx, c, ref.Owner, ref.Repo, at)
	where := cfgFile.Source + ":" + cfgFile.Path
	if err != nil {
		return nil, where, fmt.Errorf("failed to read %s: %w", where, err)
	}
	var cfg *config.Repo
	if !cfgFile.IsUndefined() {
		if cfg, err = config.ParseRepo(cfgFile.Content); err != nil {
			return nil, where, fmt.Errorf("%s: %w", where, err)
		}
	}
	fsys := &repoFS{ctx: ctx, client: c, owner: ref.Owner, repo: ref.Repo, ref: at}
	rs, err := LoadRepoRules(fsys, ref.FullRepo(), cfg)
	if err != nil {
		if fsys.apiErr != nil {
			// The rule loaders keep only the message of a failed read;
			// keep the API error too, so that it is not cached like a bad
			// file.
			err = &causedError{err: err, cause: fsys.apiErr}
		}
		return nil, where, err
	}
	// Rules read from the repository link to their file there; the central
	// Prow config's (the server's files) come first and have no link.
	for _, j := range rs.Jobs {
		j.Origin.Repo = ref.FullRepo()
	}
	rs.Jobs = append(r.opts.CentralProw.Jobs(ref.FullRepo()), rs.Jobs...)
	return rs, where, nil
}

// isAPIError reports whether err came from talking to GitHub (an error
// answer, a rate limit, a network failure) rather than from what was read.
func isAPIError(err error) bool {
	if err == nil {
		return false
	}
	var (
		ge *github.ErrorResponse
		rl *github.RateLimitError
		ab *github.AbuseRateLimitError
		ue *url.Error
	)
	return errors.As(err, &ge) || errors.As(err, &rl) || errors.As(err, &ab) || errors.As(err, &ue)
}

// causedError is err, with the error that caused it kept for errors.As.
type causedError struct{ err, cause error }

func (e *causedError) Error() string   { return e.err.Error() }
func (e *causedError) Unwrap() []error { return []error{e.err, e.cause} }
