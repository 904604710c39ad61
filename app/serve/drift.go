package serve

// The drift watch: the service audits each repository as `fix-status audit`
// does (every required context of its protected branches against the
// CI's own rules) at the start-up sweep and with every sweep, and again
// whenever an event says its protection, rulesets or rules changed. Each
// audit is compared with the previous one of the repository: a finding
// that appeared is logged at Warn with what to change, one that went away
// at Info, and fix_status_audit_findings shows the latest audit's counts.
// In February 2019 the protection went on requiring contexts no job
// reported; this says so the moment the protection or the jobs change.

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/audit"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/sources"
)

// ClassStallsMergeQueue is the finding of a required context whose class
// does not hold up pull requests (always, conditional) but that every
// group of the branch's merge queue waits for.
const ClassStallsMergeQueue rules.Class = "stalls_merge_queue"

// DriftClasses are the classes of the drift watch's findings, the classes
// of fix_status_audit_findings: the audit's classes that block or hold up
// every pull request to a branch, and a stalled merge queue.
var DriftClasses = []rules.Class{
	rules.ClassOrphaned, rules.ClassManual, rules.ClassNotOnBranch, audit.ClassPinnedElsewhere, rules.ClassUnknown,
	ClassStallsMergeQueue,
}

// driftFixes say what to change, per class, in the Warn line of a new
// finding (the audit's reason says why, often with the fix too).
var driftFixes = map[rules.Class]string{
	rules.ClassOrphaned:        "make a job report it, or drop it from the branch's required checks",
	rules.ClassManual:          "make its job run by itself (always_run, or a file filter), or drop it from the required checks",
	rules.ClassNotOnBranch:     "let its job run on this branch, or drop it from this branch's required checks",
	audit.ClassPinnedElsewhere: "pin it to the app that reports it, or to any source",
	rules.ClassUnknown:         "fix the rules that cannot be read, or give its job a check name known without running it",
	ClassStallsMergeQueue:      "make its job run on merge groups (merge_group in the workflow, merge_group: runs in the repo config), or set merge_queue.carry_pr_results",
}

// DriftFindings lists the findings of one repository's audit, in report
// order: each required context of a class in DriftClasses, and each other
// one the branch's merge queue stalls on (ClassStallsMergeQueue).
func DriftFindings(rep *audit.RepoReport) []audit.Finding {
	if rep == nil {
		return nil
	}
	var out []audit.Finding
	for _, b := range rep.Branches {
		for _, r := range b.Required {
			class := r.Class
			if !slices.Contains(DriftClasses, class) {
				if r.MergeQueue != rules.MergeQueueStalls {
					continue
				}
				class = ClassStallsMergeQueue
			}
			out = append(out, audit.Finding{Repo: b.Repo, Branch: b.Branch, Context: r.Context, Class: class, Reason: r.Reason})
		}
	}
	return out
}

// findingKey compares findings across audits: by branch, context (as
// GitHub compares contexts, without case) and class. A finding whose
// reason alone changed is the same finding.
func findingKey(f audit.Finding) string {
	return f.Branch + "\x00" + strings.ToLower(f.Context) + "\x00" + string(f.Class)
}

// diffFindings returns the findings of now that were not in before, and
// those of before that are not in now, each in its list's order.
func diffFindings(before, now []audit.Finding) (added, gone []audit.Finding) {
	in := func(list []audit.Finding) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, f := range list {
			m[findingKey(f)] = true
		}
		return m
	}
	was, is := in(before), in(now)
	for _, f := range now {
		if !was[findingKey(f)] {
			added = append(added, f)
		}
	}
	for _, f := range before {
		if !is[findingKey(f)] {
			gone = append(gone, f)
		}
	}
	return added, gone
}

// Auditor audits one repository as `fix-status audit` does online
// (audit.Repo with the server's rule loader and app id).
type Auditor func(ctx context.Context, c *github.Client, repo plan.RepoRef) (*audit.RepoReport, error)

// Audits holds the latest audit of each repository the drift watch
// audited: what the next audit is compared with, and what the dashboard
// shows. It is of one replica, in memory. It is safe for concurrent use.
type Audits struct {
	mu    sync.Mutex
	repos map[string]*repoAudit
}

type repoAudit struct {
	repo     string
	report   *audit.RepoReport
	findings []audit.Finding
	// at is when the audit started: it saw GitHub as it was then.
	at time.Time
}

// NewAudits makes an empty Audits.
func NewAudits() *Audits { return &Audits{repos: map[string]*repoAudit{}} }

func auditKey(repo string) string { return strings.ToLower(repo) }

// Findings lists the findings of the latest audit of every repository, by
// repository, each in report order.
func (a *Audits) Findings() []audit.Finding {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := make([]string, 0, len(a.repos))
	for k := range a.repos {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []audit.Finding
	for _, k := range keys {
		out = append(out, a.repos[k].findings...)
	}
	return out
}

// latest returns the latest audit of repo ("owner/name").
func (a *Audits) latest(repo string) (*repoAudit, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ra, ok := a.repos[auditKey(repo)]
	return ra, ok
}

// record keeps rep, started at at, as the latest audit of repo
// ("owner/name"), and returns its findings, those that were not in the
// previous audit and those that went away; first says there was no
// previous audit.
func (a *Audits) record(repo string, rep *audit.RepoReport, at time.Time) (findings, added, gone []audit.Finding, first bool) {
	findings = DriftFindings(rep)
	a.mu.Lock()
	defer a.mu.Unlock()
	k := auditKey(repo)
	old, ok := a.repos[k]
	a.repos[k] = &repoAudit{repo: repo, report: rep, findings: findings, at: at}
	if !ok {
		return findings, findings, nil, true
	}
	added, gone = diffFindings(old.findings, findings)
	return findings, added, gone, false
}

// retain forgets the repositories not in keep, and returns them.
func (a *Audits) retain(keep []plan.RepoRef) []string {
	kept := make(map[string]bool, len(keep))
	for _, r := range keep {
		kept[auditKey(r.FullRepo())] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for k, ra := range a.repos {
		if !kept[k] {
			out = append(out, ra.repo)
			delete(a.repos, k)
		}
	}
	sort.Strings(out)
	return out
}

// queueAudit queues the audit of repo: changed says an event changed its
// protection or rules (it is audited then whenever it was audited last);
// otherwise it is audited unless it was within half a sweep interval.
func (s *Service) queueAudit(ctx context.Context, repo plan.RepoRef, changed bool, event string, delay time.Duration) error {
	if s.opts.Auditor == nil {
		return nil
	}
	return s.put(ctx, Work{Kind: KindAudit, Repo: repo, Requirements: changed, Event: event}, delay)
}

// pushChangesAudit says whether a push to branch that changed these files
// may change the audit of repo: it changes the rules of a branch the
// latest audit judged (the test a push gets for the branch's PRs); or,
// with no audit of the repository yet, it changes a file that defines
// jobs in any repository. A push to a branch that requires nothing
// changes no audit. It reads nothing from GitHub.
func (s *Service) pushChangesAudit(repo plan.RepoRef, branch string, changed []string) bool {
	ra, ok := s.audits.latest(repo.FullRepo())
	if !ok {
		return len(sources.MayDefineRules(changed)) > 0
	}
	for i := range ra.report.Branches {
		if b := &ra.report.Branches[i]; b.Branch == branch {
			return b.RulesChangedBy(changed)
		}
	}
	return false
}

// auditDue says whether audit work that no change asked for (a sweep's,
// an installation's) is to be done: sweeps come a sweep interval apart,
// so a repository audited within half of one (for an event just before
// the sweep) is not audited again.
func (s *Service) auditDue(repo plan.RepoRef) bool {
	ra, ok := s.audits.latest(repo.FullRepo())
	return !ok || s.opts.Now().Sub(ra.at) >= s.opts.SweepInterval/2
}

// audit audits one repository and reports what changed since its previous
// audit. A failed audit keeps the previous one (and its gauges) and is
// counted; the work is retried as other work is.
func (s *Service) audit(ctx context.Context, w Work) error {
	logger := zerolog.Ctx(ctx)
	if s.opts.Auditor == nil || (!w.Requirements && !s.auditDue(w.Repo)) {
		return nil
	}
	start := s.opts.Now()
	c, err := s.client(w.Repo.InstallationID)
	if err != nil {
		s.opts.Metrics.AuditFailed()
		return err
	}
	rep, err := s.opts.Auditor(ctx, c, w.Repo)
	if err != nil {
		s.opts.Metrics.AuditFailed()
		return fmt.Errorf("failed to audit %s: %w", w.Repo.FullRepo(), err)
	}
	repo := w.Repo.FullRepo()
	findings, added, gone, first := s.audits.record(repo, rep, start)
	for _, f := range added {
		logger.Warn().Str("repo", f.Repo).Str("branch", f.Branch).Str("context", f.Context).Str("class", string(f.Class)).
			Str("reason", f.Reason).Str("fix", driftFixes[f.Class]).Bool("first_audit", first).
			Msgf("audit: required check %q of %s %s will hold up pull requests (%s): %s", f.Context, f.Repo, f.Branch, f.Class, driftFixes[f.Class])
	}
	for _, f := range gone {
		logger.Info().Str("repo", f.Repo).Str("branch", f.Branch).Str("context", f.Context).Str("class", string(f.Class)).
			Msgf("audit: required check %q of %s %s is no longer %s", f.Context, f.Repo, f.Branch, f.Class)
	}
	counts := make(map[string]int, len(DriftClasses))
	for _, class := range DriftClasses {
		counts[string(class)] = 0
	}
	for _, f := range findings {
		counts[string(f.Class)]++
	}
	s.opts.Metrics.Audited(repo, start, counts)
	logger.Debug().Str("repo", repo).Int("branches", len(rep.Branches)).Int("findings", len(findings)).Msg("audited")
	return nil
}

// forgetAudits drops the audits of the repositories the app is no longer
// installed on (installed: every installed repository).
func (s *Service) forgetAudits(installed []plan.RepoRef) {
	for _, repo := range s.audits.retain(installed) {
		s.opts.Metrics.AuditForgotten(repo)
	}
}
