// Package reconcile repairs one pull request: it reads the snapshot the plan
// needs (the PR, its files and results, the base branch's required checks
// and rules), plans with the pure plan package, and applies the writes. The
// drivers (serve, backfill, check, demo) reach it only through its methods.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/metrics"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/sources"
	"github.com/fix-status/fix-status/config"
)

// Options configure a Reconciler.
type Options struct {
	Clients githubapp.ClientCreator
	// Cache, when set, keeps PRs' changed-file lists by head (the clients'
	// HTTP cache).
	Cache  *ghapi.Cache
	Config *config.Server
	// AppID and AppSlug identify fix-status (from GET /app); its results are
	// the ones created by AppSlug+"[bot]" or by app AppID.
	AppID   int64
	AppSlug string
	// Sources reads the rules of a repository (with the central Prow
	// config, if any).
	Sources *sources.Loader
	Now     func() time.Time
	Metrics *metrics.Metrics
	// BranchTTL is how long a branch's required checks and rules are reused
	// across PRs before they are read again (default 1 minute). Webhooks
	// that change them invalidate the cache at once.
	BranchTTL time.Duration
	// Locks lets one reconcile of a PR run at a time (default: within this
	// process; several replicas share a lock in Redis).
	Locks Locker
	// Pacer paces writes under GitHub's secondary limits (nil: not paced).
	Pacer WritePacer
	// Claims make each re-trigger once across replicas (default: within
	// this process).
	Claims Claims
	// Permissions hears of the permissions GitHub refuses reads for, to
	// warn operators (default: one that logs each once an hour and sets
	// Metrics' gauge).
	Permissions *ghapi.PermissionWatch
}

// Claims are claims on re-triggers: the nth re-trigger of a context on a
// head is made by whoever claims it first. A lock held past its lease, or a
// replica paused mid-write, then cannot make a second /test comment.
type Claims interface {
	Claim(ctx context.Context, key string) (bool, error)
	// Release gives a claim back: its write failed, a retry makes it.
	Release(ctx context.Context, key string) error
}

// Locker gives one reconcile of a PR (or of a merge group) at a time.
type Locker interface {
	// Lock waits until key is free (or ctx ends) and holds it until
	// unlock. Keys are a PR's "owner/repo#n", a merge group's
	// "owner/repo@sha".
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// WritePacer paces content-creating writes of an installation
// (govern.Governor is one).
type WritePacer interface {
	// WithWriteLedger returns ctx for one plan's writes: a write made with
	// it that PaceWrite paced is not paced again when it is sent.
	WithWriteLedger(ctx context.Context) context.Context
	// PaceWrite blocks until one more write may go out, and reports
	// whether it had to wait (then what was read may be old: the write
	// guard reads the PR again).
	PaceWrite(ctx context.Context, installationID int64) (waited bool, err error)
}

// MaxRounds bounds how often one reconcile starts again because the PR
// changed under it (a push while it was read or written).
const MaxRounds = 3

// Reconciler repairs pull requests: snapshot → plan → apply.
type Reconciler struct {
	opts Options

	mu       sync.Mutex
	branches map[branchKey]*branchEntry
}

type branchKey struct {
	installation int64
	repo, branch string
}

type branchEntry struct {
	once sync.Once
	at   time.Time
	// head is the commit the branch pointed at just before its required
	// checks and rules were read: the write guard writes only while the
	// branch still points there.
	head     string
	required []plan.RequiredCheck
	rules    *sources.RuleSet
	cfgPath  string
	err      error
	rulesErr error
	// protErr is why the classic protection could not be read (a
	// permission the installation did not grant): required then holds the
	// rulesets' contexts only.
	protErr error
}

// New builds a Reconciler.
func New(opts Options) *Reconciler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BranchTTL == 0 {
		opts.BranchTTL = time.Minute
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New(nil)
	}
	if opts.Sources == nil {
		opts.Sources = sources.NewLoader(nil)
	}
	if opts.Locks == nil {
		opts.Locks = NewLocalLocks()
	}
	if opts.Claims == nil {
		opts.Claims = newLocalClaims()
	}
	if opts.Permissions == nil {
		opts.Permissions = ghapi.NewPermissionWatch(ghapi.PermissionWatchOptions{Now: opts.Now, Gauge: opts.Metrics})
	}
	return &Reconciler{opts: opts, branches: map[branchKey]*branchEntry{}}
}

// AppLogin is the login GitHub shows for writes made by the app.
func (r *Reconciler) AppLogin() string { return r.opts.AppSlug + "[bot]" }

// IsOwnSender reports whether an event was caused by fix-status itself
// (its statuses, check runs and comments): such events are ignored, so the
// app never loops on its own writes.
func (r *Reconciler) IsOwnSender(login string, appID int64) bool {
	return (login != "" && strings.EqualFold(login, r.AppLogin())) || (appID != 0 && appID == r.opts.AppID)
}

// Trigger says why a PR is reconciled.
type Trigger struct {
	// Event names the cause, e.g. "pull_request.synchronize", "comment",
	// "sweep", "backfill", "check".
	Event string
	// DryRun plans without writing.
	DryRun bool
	// Prefetched, when set, is the PR's data read in bulk (backfill reads
	// many PRs per GraphQL query); it replaces the per-PR REST reads.
	Prefetched *Prefetched
	// Command is set for a /fix-status run: the repo config's command
	// policy applies to its commenter.
	Command *plan.Command
	// OpenedHead is the head SHA a pull_request.opened or .reopened
	// delivery named: when the PR's head is still that one, it is the head
	// workflows that run only on "opened" see.
	OpenedHead string
}

// Prefetched is one PR's data read elsewhere than by the reconciler.
type Prefetched struct {
	PR plan.PRInfo
	// Files is the changed-file list as read with PR (nil: read it by
	// REST). A list cut short by GitHub's 3,000-file limit is used as is:
	// reading again would not lengthen it.
	Files *plan.Files
	// Statuses are the latest per context and CheckRuns the latest per name
	// and app on the head SHA, as ghapi.ReadStatuses and ReadCheckRuns give
	// them.
	Statuses  []plan.Status
	CheckRuns []plan.CheckRun
}

// InvalidateBranch forgets the cached required checks and rules of a branch
// (all branches of the repository when branch is empty), after a webhook
// says they changed.
func (r *Reconciler) InvalidateBranch(repo plan.RepoRef, branch string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.branches {
		if k.installation == repo.InstallationID && strings.EqualFold(k.repo, repo.FullRepo()) && (branch == "" || k.branch == branch) {
			delete(r.branches, k)
		}
	}
}

func (r *Reconciler) client(installationID int64) (*github.Client, error) {
	c, err := r.opts.Clients.NewInstallationClient(installationID)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for installation %d: %w", installationID, err)
	}
	return c, nil
}

// Reconcile reads, plans and (unless dry run) repairs one PR. It holds the
// PR's lock throughout, so two events for one PR never reconcile it at
// once. Before its first write, and again whenever pacing delayed a write,
// it reads the PR again (a free 304 when unchanged): when the head or the
// base moved, it writes nothing more and starts again from fresh reads.
func (r *Reconciler) Reconcile(ctx context.Context, ref plan.PRRef, trig Trigger) (*plan.Report, error) {
	logger := zerolog.Ctx(ctx).With().Str("pr", ref.String()).Logger()
	ctx = logger.WithContext(ctx)
	client, err := r.client(ref.InstallationID)
	if err != nil {
		return nil, err
	}
	unlock, err := r.opts.Locks.Lock(ctx, strings.ToLower(ref.String()))
	if err != nil {
		return nil, fmt.Errorf("failed to lock %s: %w", ref, err)
	}
	defer unlock()
	writes := 0
	for round := 1; ; round++ {
		rep, err := r.round(ctx, client, ref, trig)
		if rep != nil {
			writes += rep.Writes
			rep.Writes = writes
		}
		if !errors.Is(err, errChanged) {
			return rep, err
		}
		if round == MaxRounds {
			return rep, fmt.Errorf("%s changed under each of %d checks in a row; left for the next event", ref, MaxRounds)
		}
		logger.Info().Int("round", round).Msg("the pull request changed while it was checked; checking it again")
		// Bulk-read data is older than what the guard just saw.
		trig.Prefetched = nil
	}
}

// round is one snapshot → plan → apply. It returns errChanged when the
// write guard saw the PR change.
func (r *Reconciler) round(ctx context.Context, client *github.Client, ref plan.PRRef, trig Trigger) (*plan.Report, error) {
	snap, meta, err := r.snapshot(ctx, client, ref, trig)
	if err != nil {
		return nil, err
	}
	rep := &plan.Report{PR: ref, HeadSHA: snap.HeadSHA, RulesErr: snap.RulesErr, RulesErrPath: meta.rulesErrPath, ProtectionErr: meta.protErr}
	if snap.State != "open" {
		rep.Skipped = "the pull request is " + snap.State
		return rep, nil
	}
	return rep, r.decide(ctx, client, snap, meta, trig, rep, func(ctx context.Context, first bool) error { return r.guard(ctx, client, snap, meta, first) })
}

// decide plans a snapshot (reading more when the plan asks), applies the
// writes behind the write guard, and fills the report.
func (r *Reconciler) decide(ctx context.Context, client *github.Client, snap *plan.Snapshot, meta snapshotMeta, trig Trigger, rep *plan.Report, guard func(ctx context.Context, first bool) error) error {
	logger := zerolog.Ctx(ctx)
	ref := snap.PR
	popts := r.planOptions(meta.reportAs)
	ds := plan.Plan(snap, popts)
	var err error
	if need, workflows := plan.NeedsRetriggers(snap, ds); need {
		if snap.Retriggers, err = ghapi.ReadRetriggers(ctx, client, ref, snap.HeadSHA, r.AppLogin(), workflows); err != nil {
			return err
		}
		snap.RetriggersRead = true
		ds = plan.Plan(snap, popts)
	}
	if plan.NeedsPermission(snap, ds) {
		if snap.Command.Permission, err = ghapi.ReadPermission(ctx, client, ref.RepoRef, snap.Command.Commenter); err != nil {
			return err
		}
		snap.Command.PermissionRead = true
		ds = plan.Plan(snap, popts)
	}
	if plan.NeedsGroupPRs(snap, ds) {
		if err := r.readGroupPRs(ctx, client, snap.MergeGroup); err != nil {
			return err
		}
		ds = plan.Plan(snap, popts)
	}
	if refused := plan.Refusal(snap); refused != "" {
		rep.Skipped, rep.Refused = refused, true
		return nil
	}
	rep.Decisions = ds
	for _, d := range ds {
		r.opts.Metrics.Decision(string(d.Verdict))
	}
	ap := applier{w: ghapi.NewWriter(client, ref, snap.HeadSHA), sha: snap.HeadSHA,
		dryRun: trig.DryRun || r.opts.Config.Repair.DryRun, metrics: r.opts.Metrics,
		claims: r.opts.Claims, claimPrefix: strings.ToLower(subject(snap)) + ":" + snap.HeadSHA,
		noComments: snap.MergeGroup != nil}
	guarded := false
	if r.opts.Pacer != nil {
		ctx = r.opts.Pacer.WithWriteLedger(ctx)
	}
	ap.gate = func(ctx context.Context) error {
		waited := false
		if r.opts.Pacer != nil {
			var err error
			if waited, err = r.opts.Pacer.PaceWrite(ctx, ref.InstallationID); err != nil {
				return err
			}
		}
		if guarded && !waited {
			return nil
		}
		first := !guarded
		guarded = true
		return guard(ctx, first)
	}
	rep.Actions, rep.Writes, err = ap.apply(ctx, ds)
	if snap.RulesErr != nil {
		// The PR shows it cut to 140 characters; the log keeps all of it
		// (an API error's status comes after its URL).
		logger.Warn().Err(snap.RulesErr).Str("config", rep.RulesErrPath).Msg("cannot read the job rules")
	}
	if err == nil {
		err = ap.reportRulesError(ctx, snap, r.AppLogin())
	}
	for i, d := range ds {
		ev := logger.Debug()
		if len(d.Writes) > 0 {
			ev = logger.Info()
		}
		ev.Str("context", d.Context).Str("verdict", string(d.Verdict)).Str("reason", d.Reason).Str("action", rep.Actions[i]).Msg("decision")
	}
	return err
}

// subject names what a snapshot is of: a PR, or a merge group's commit.
func subject(s *plan.Snapshot) string {
	if s.MergeGroup != nil {
		return s.PR.FullRepo() + "@" + s.HeadSHA
	}
	return s.PR.String()
}

// guard reads the PR and its base branch again right before writing: the
// writes go to the head and base the plan was computed from, or not at all
// (errChanged). The PR's base SHA says nothing of later pushes to the base
// branch (GitHub keeps the one the PR was opened or last updated with), so
// the branch's head is read too: rules read before a push to it are not
// the base's rules any more, and are read again.
func (r *Reconciler) guard(ctx context.Context, c *github.Client, s *plan.Snapshot, meta snapshotMeta, first bool) error {
	pr, err := ghapi.ReadPR(ctx, c, s.PR)
	if err != nil {
		return err
	}
	if pr.HeadSHA != s.HeadSHA || pr.BaseRef != s.BaseBranch || pr.BaseSHA != s.BaseSHA || pr.State != s.State {
		zerolog.Ctx(ctx).Info().Str("head_sha", s.HeadSHA).Str("now_head_sha", pr.HeadSHA).Str("base", s.BaseBranch).Str("now_base", pr.BaseRef).
			Msg("write guard: the pull request changed since it was read; nothing written")
		return errChanged
	}
	head, err := ghapi.ReadBranchHead(ctx, c, s.PR.RepoRef, s.BaseBranch)
	if err != nil {
		return err
	}
	if head != meta.baseHead {
		zerolog.Ctx(ctx).Info().Str("base", s.BaseBranch).Str("rules_at", meta.baseHead).Str("now_base_head", head).
			Msg("write guard: the base branch moved since its rules were read; nothing written")
		r.InvalidateBranch(s.PR.RepoRef, s.BaseBranch)
		return errChanged
	}
	// Results others reported since the snapshot (a job that started, a
	// pacing wait) must not get a skip written beside them. Before the
	// plan's first write, ours count too: a snapshot read in bulk before
	// another reconcile wrote on the head would write it again.
	statuses, err := ghapi.ReadStatuses(ctx, c, s.PR, s.HeadSHA)
	if err != nil {
		return err
	}
	runs, err := ghapi.ReadCheckRuns(ctx, c, s.PR, s.HeadSHA)
	if err != nil {
		return err
	}
	if !slices.Equal(r.results(statuses, runs, first), r.results(s.Statuses, s.CheckRuns, first)) {
		zerolog.Ctx(ctx).Info().Msg("write guard: results were reported on the head since it was read; nothing written")
		return errChanged
	}
	return nil
}

// results lists, in a comparable form, the results on a head: those that
// were not fix-status's own, or all of them.
func (r *Reconciler) results(statuses []plan.Status, runs []plan.CheckRun, ours bool) []string {
	var out []string
	for _, st := range statuses {
		if ours || !r.IsOwnSender(st.Creator, 0) {
			out = append(out, fmt.Sprintf("status %s %s %s %s %q", strings.ToLower(st.Context), st.State, st.Creator, st.CreatedAt, st.Description))
		}
	}
	for _, cr := range runs {
		if ours || !r.IsOwnSender("", cr.AppID) {
			out = append(out, fmt.Sprintf("check_run %d %s %s", cr.ID, cr.Status, cr.Conclusion))
		}
	}
	slices.Sort(out)
	return out
}

func (r *Reconciler) planOptions(reportAs string) plan.PlanOptions {
	rc := r.opts.Config.Repair
	return plan.PlanOptions{
		Now: r.opts.Now(), AppID: r.opts.AppID, AppLogin: r.AppLogin(), ReportAs: reportAs,
		WebURL: r.opts.Config.GitHub.WebURL, PublicURL: r.opts.Config.UI.PublicURL, GracePeriod: rc.GracePeriod.Duration, StalePendingAfter: rc.StalePendingAfter.Duration,
	}
}

// snapshotMeta is what the snapshot's reads say that the plan does not
// need to know.
type snapshotMeta struct {
	// reportAs is how the repository wants skips posted.
	reportAs string
	// rulesErrPath is where the repo config is, for the log of a rules
	// error.
	rulesErrPath string
	// protErr is why the classic protection could not be read.
	protErr error
	// baseHead is the commit of the base branch its required checks and
	// rules were read at.
	baseHead string
}

// snapshot reads everything the plan needs. Reads per PR: the PR (unless the webhook gave it), its
// files, the head's statuses and check runs; per branch (cached): required
// checks and the rules.
func (r *Reconciler) snapshot(ctx context.Context, c *github.Client, ref plan.PRRef, trig Trigger) (*plan.Snapshot, snapshotMeta, error) {
	meta := snapshotMeta{reportAs: config.ReportAsStatus}
	// The PR itself first: a webhook payload is a snapshot of when it was
	// sent (deliveries come late, out of order, and again), never the
	// truth. A bulk read made with the files is as good, as the write
	// guard checks it before anything is written.
	pf := trig.Prefetched
	var pr plan.PRInfo
	if pf != nil {
		pr = pf.PR
	} else {
		var err error
		if pr, err = ghapi.ReadPR(ctx, c, ref); err != nil {
			return nil, meta, err
		}
	}
	s := &plan.Snapshot{
		PR: ref, State: pr.State,
		BaseBranch: pr.BaseRef, BaseSHA: pr.BaseSHA, HeadSHA: pr.HeadSHA,
	}
	if s.State != "open" {
		return s, meta, nil
	}
	var files plan.Files
	var err error
	if pf != nil && pf.Files != nil {
		files = *pf.Files
	} else if files, err = r.opts.Cache.Files(ctx, c, ref, pr); err != nil {
		return nil, meta, err
	}
	s.Files, s.FilesComplete = files.Names, files.Complete
	if pf != nil {
		s.Statuses, s.CheckRuns = pf.Statuses, pf.CheckRuns
	} else {
		if s.Statuses, err = ghapi.ReadStatuses(ctx, c, ref, s.HeadSHA); err != nil {
			return nil, meta, err
		}
		if s.CheckRuns, err = ghapi.ReadCheckRuns(ctx, c, ref, s.HeadSHA); err != nil {
			return nil, meta, err
		}
	}
	s.HeadSince = ghapi.HeadSince(pr, s.Statuses, s.CheckRuns)
	s.FirstHead = trig.OpenedHead != "" && trig.OpenedHead == s.HeadSHA
	if err := r.withRules(ctx, c, s, files, trig, &meta); err != nil {
		return nil, meta, err
	}
	return s, meta, nil
}

// withRules fills in what the base branch says of a snapshot: its required
// checks and rules, and the head's own rules when the changes touch them.
func (r *Reconciler) withRules(ctx context.Context, c *github.Client, s *plan.Snapshot, files plan.Files, trig Trigger, meta *snapshotMeta) error {
	repo := s.PR.RepoRef
	be := r.branch(ctx, c, repo, s.BaseBranch)
	if be.err != nil {
		return be.err
	}
	s.Required, meta.protErr, meta.baseHead = be.required, be.protErr, be.head
	if trig.Command != nil {
		cmd := *trig.Command
		cmd.Policy = plan.CommandAnyone
		if be.rules != nil {
			cmd.Policy = be.rules.Config.Commands.FixStatus
		}
		s.Command = &cmd
	}
	if be.rulesErr != nil {
		s.RulesErr, meta.rulesErrPath = be.rulesErr, be.cfgPath
		return nil
	}
	s.Jobs = be.rules.Jobs
	meta.reportAs = be.rules.Config.ReportAs
	s.RuleFileErrors = be.rules.FileErrors
	if s.MergeGroup != nil {
		s.MergeGroup.Carry = be.rules.Config.MergeQueue.CarryPRResults
	}
	if s.RuleFilesChanged = be.rules.RuleFilesTouched(files); len(s.RuleFilesChanged) > 0 {
		// Invariant 1: the changes touch the rules that judge them; read
		// the head's version too, and skip only where both agree.
		head, err := r.opts.Sources.LoadHead(ctx, c, repo, s.HeadSHA)
		if err != nil {
			s.HeadRulesErr = err
		} else {
			s.HeadJobs = head.Jobs
		}
	}
	return nil
}

// branch returns the cached required checks and rules of a base branch,
// reading them once per TTL however many PRs ask at the same time.
func (r *Reconciler) branch(ctx context.Context, c *github.Client, repo plan.RepoRef, branch string) *branchEntry {
	k := branchKey{repo.InstallationID, strings.ToLower(repo.FullRepo()), branch}
	r.mu.Lock()
	e, ok := r.branches[k]
	if !ok || (!e.at.IsZero() && r.opts.Now().Sub(e.at) > r.opts.BranchTTL) {
		e = &branchEntry{}
		r.branches[k] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		e.head, e.err = ghapi.ReadBranchHead(ctx, c, repo, branch)
		if e.err == nil {
			e.required, e.err = ghapi.ReadRequired(ctx, c, repo, branch)
			if pe := ghapi.AsPermissionError(e.err); pe != nil {
				// Administration is optional: without it the rulesets'
				// contexts (which come with the error) are decided as
				// usual, and contexts only the classic protection requires
				// go undecided, which is safe: a skip says only that a job
				// would not run, and a pin the protection may set keeps our
				// result from counting, never makes it wrong. The operator
				// is told (a warning an interval, a gauge, check's output,
				// the replies), not every PR.
				e.protErr, e.err = pe, nil
				r.opts.Permissions.Missing(ctx, repo.InstallationID, repo.FullRepo(), pe)
			} else if e.err == nil {
				r.opts.Permissions.Granted(repo.InstallationID, ghapi.ClassicProtectionPermission)
			}
		}
		if e.err == nil {
			e.rules, e.cfgPath, e.rulesErr = r.opts.Sources.Load(ctx, c, repo, branch)
		}
		r.mu.Lock()
		e.at = r.opts.Now()
		if (e.err != nil || ghapi.IsAPIError(e.rulesErr)) && r.branches[k] == e {
			// Don't keep a failed read: the next PR tries again. A bad
			// rule file is kept: reading it again gives the same error;
			// so is a missing permission, until someone grants it (the
			// TTL bounds how long that goes unseen).
			delete(r.branches, k)
		}
		r.mu.Unlock()
	})
	return e
}

// RulesTouched reports whether a push to branch that changed these files
// changes the rules that judge the branch's open PRs (or may have fixed
// rules that could not be read). It reads GitHub only when nothing is
// cached for the branch and some open PR is based on it.
func (r *Reconciler) RulesTouched(ctx context.Context, repo plan.RepoRef, branch string, changed []string) (bool, error) {
	k := branchKey{repo.InstallationID, strings.ToLower(repo.FullRepo()), branch}
	r.mu.Lock()
	old := r.branches[k]
	if old != nil && old.at.IsZero() {
		// Still being read: its fields are set once at is.
		old = nil
	}
	r.mu.Unlock()
	switch {
	case len(sources.MayDefineRules(changed)) > 0:
		return true, nil
	case old != nil && old.rulesErr != nil:
		// Any push may have fixed them: the branch's PRs show
		// fix-status's error until they are re-checked.
		return true, nil
	case old != nil && old.rules != nil:
		return len(old.rules.RuleFilesChanged(changed)) > 0, nil
	case old != nil:
		return false, nil
	}
	c, err := r.client(repo.InstallationID)
	if err != nil {
		return false, err
	}
	// Nothing cached: the rules say which files define them (a repo config
	// can name any Prow path). But only read them if some open PR is judged
	// by them: most pushes go to branches no PR is based on, and listing
	// those PRs is one request (then a free 304) where the rules are
	// several.
	prs, err := ghapi.ListOpenPRs(ctx, c, repo, branch)
	if err != nil || len(prs) == 0 {
		return false, err
	}
	rs, _, err := r.opts.Sources.Load(ctx, c, repo, branch)
	return err == nil && len(rs.RuleFilesChanged(changed)) > 0, nil
}
