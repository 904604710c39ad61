package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fix-status/fix-status/app/rules"
)

// Verdict is the decision for one required context (docs/design.md, "Verdicts").
type Verdict string

// The verdicts.
const (
	Satisfied Verdict = "satisfied" // a passing result is there
	Waiting   Verdict = "waiting"   // pending and not stale, or inside the grace period
	Failing   Verdict = "failing"   // reported failure or error: humans decide
	Skip      Verdict = "skip"      // the job would not run: post a passing "skipped" result
	Retrigger Verdict = "retrigger" // should have run and never reported, or stuck pending
	Revoke    Verdict = "revoke"    // our own earlier skip is now wrong
	Blocked   Verdict = "blocked"   // cannot be repaired safely
)

// WriteKind is one kind of write to GitHub.
type WriteKind string

// The writes a plan can ask for.
const (
	WriteStatus       WriteKind = "status"          // POST a commit status
	WriteCheckRun     WriteKind = "check_run"       // POST a check run
	WriteComment      WriteKind = "comment"         // POST a PR comment (a rerun command)
	WriteActionsRerun WriteKind = "actions_rerun"   // re-run the workflow's run for the head SHA
	WriteSuiteRerun   WriteKind = "suite_rerequest" // rerequest a check suite
)

// Write is one write a decision needs.
type Write struct {
	Kind        WriteKind
	Context     string
	State       string // status state, or check run conclusion ("skipped"); "" = in progress
	Description string
	TargetURL   string
	// Title and Text are a check run's output title and its Markdown text
	// (the description is its summary); statuses have neither.
	Title    string
	Text     string
	Comment  string
	Workflow string
	SuiteID  int64
	// Attempt is a re-trigger's number among the re-triggers of its
	// context on the head SHA (1 for the first): replicas claim it, so it
	// is made once.
	Attempt int
}

// Decision is the plan for one required context.
type Decision struct {
	Context string
	Verdict Verdict
	// Reason is one human line, at most 140 characters.
	Reason string
	// Cause classifies the reason for machines (metrics, the dashboard,
	// the texts that say how to make the job run).
	Cause  Cause
	Job    *rules.Job
	Writes []Write
	// RecheckAt, when set, is when the decision may change by itself (the
	// grace period ends, a pending result turns stale): look again then.
	RecheckAt time.Time
}

// PlanOptions are the inputs of a plan that do not come from GitHub.
type PlanOptions struct {
	Now time.Time
	// AppID and AppLogin identify fix-status itself ("fix-status[bot]"), so it
	// recognises its own results: the only ones it may overwrite.
	AppID    int64
	AppLogin string
	// ReportAs is how skips are posted: "status" or "check_run".
	ReportAs string
	// WebURL is GitHub's web address, for links to the rule that decided.
	WebURL string
	// PublicURL, when set, is where fix-status serves its details pages
	// (ui.public_url): what it writes links to the PR's page there instead
	// of to the rule.
	PublicURL         string
	GracePeriod       time.Duration
	StalePendingAfter time.Duration // 0 = never re-trigger pending results
	// MaxRetriggers bounds re-triggers of one context on one head SHA.
	MaxRetriggers int
}

// DefaultMaxRetriggers is used when PlanOptions.MaxRetriggers is 0.
const DefaultMaxRetriggers = 3

// SkipPrefix starts the description of every skip fix-status posts.
const SkipPrefix = "Skipped: "

// revokePrefix starts the reason of a revoke.
const revokePrefix = "our earlier skip is wrong now: "

// Plan decides every required context of a snapshot. It is a pure function:
// no I/O, and the only clock is opts.Now.
func Plan(s *Snapshot, opts PlanOptions) []Decision {
	if opts.MaxRetriggers == 0 {
		opts.MaxRetriggers = DefaultMaxRetriggers
	}
	p := planner{s: s, o: opts}
	var out []Decision
	for _, rc := range mergeRequired(s.Required, p.appName) {
		var d Decision
		if rc.pinConflict != "" {
			job, _ := p.rule(rc.RequiredCheck)
			d = Decision{Verdict: Blocked, Cause: CausePinned, Reason: "the required check is " + rc.pinConflict, Job: job}
		} else {
			d = p.decide(rc.RequiredCheck)
		}
		d.Context = rc.Context
		out = append(out, d)
	}
	if s.Command != nil {
		limitCommand(s.Command, out)
	}
	for i := range out {
		out[i].Reason = rules.Truncate(out[i].Reason, rules.MaxReason)
	}
	return out
}

// NeedsRetriggers reports whether a plan would re-trigger before the earlier
// re-triggers were read, and the workflows whose run attempts count; the
// caller reads them and plans again. Reading them only then keeps the common
// case at the minimum of API calls.
func NeedsRetriggers(s *Snapshot, ds []Decision) (bool, []string) {
	if s.RetriggersRead {
		return false, nil
	}
	need := false
	var workflows []string
	for _, d := range ds {
		if d.Verdict != Retrigger && d.Verdict != Revoke {
			continue
		}
		need = true
		if d.Job != nil && d.Job.Rerun.Method == rules.RerunActions && !slices.Contains(workflows, d.Job.Rerun.Workflow) {
			workflows = append(workflows, d.Job.Rerun.Workflow)
		}
	}
	return need, workflows
}

// required is one required context after merging its sources.
type required struct {
	RequiredCheck
	// pinConflict, when set, names two sources that pin the context to
	// different apps: no result can satisfy both, and fix-status must not
	// pick one.
	pinConflict string
}

// mergeRequired unions classic protection and rulesets, case-insensitively,
// keeping every pin (GitHub applies every rule: a context pinned by one
// source and not by the other is pinned), in a stable order. name says
// which app an id is, for people.
func mergeRequired(req []RequiredCheck, name func(int64) string) []required {
	idx := map[string]int{}
	var out []required
	for _, r := range req {
		k := strings.ToLower(r.Context)
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, required{RequiredCheck: r})
			continue
		}
		o := &out[i]
		switch {
		case o.AppID == 0:
			o.AppID = r.AppID
		case r.AppID != 0 && r.AppID != o.AppID && o.pinConflict == "":
			o.pinConflict = fmt.Sprintf("pinned to %s by %s and to %s by %s", name(o.AppID), o.From, name(r.AppID), r.From)
		}
		if !strings.Contains(o.From, r.From) {
			o.From += "+" + r.From
		}
	}
	return out
}

type planner struct {
	s *Snapshot
	o PlanOptions
}

// result is one reported result (status or check run) for a context.
type result struct {
	ours    bool
	state   string // passing, pending, failing
	raw     string // the state or conclusion as GitHub says it
	kind    string // "status" or "check run"
	since   time.Time
	suiteID int64
}

func (p *planner) results(rc RequiredCheck) (others, ours []result) {
	for _, st := range p.s.Statuses {
		if !strings.EqualFold(st.Context, rc.Context) {
			continue
		}
		mine := strings.EqualFold(st.Creator, p.o.AppLogin)
		// A status carries no app id we can check against a pin: only our
		// own counts for a check pinned to us, none for another app's pin.
		if rc.AppID != 0 && !(mine && rc.AppID == p.o.AppID) {
			continue
		}
		r := result{ours: mine, raw: st.State, kind: "status", since: st.CreatedAt}
		switch st.State {
		case "success":
			r.state = "passing"
		case "pending":
			r.state = "pending"
		default:
			r.state = "failing"
		}
		add(&others, &ours, r)
	}
	for _, cr := range p.s.CheckRuns {
		if !strings.EqualFold(cr.Name, rc.Context) {
			continue
		}
		if rc.AppID != 0 && cr.AppID != rc.AppID {
			continue
		}
		r := result{ours: cr.AppID == p.o.AppID, kind: "check run", since: cr.StartedAt, suiteID: cr.SuiteID}
		switch {
		case cr.Status != "completed":
			r.state, r.raw = "pending", cr.Status
		case cr.Conclusion == "success" || cr.Conclusion == "neutral" || cr.Conclusion == "skipped":
			r.state, r.raw = "passing", cr.Conclusion
		default:
			r.state, r.raw = "failing", cr.Conclusion
		}
		add(&others, &ours, r)
	}
	return others, ours
}

func add(others, ours *[]result, r result) {
	if r.ours {
		*ours = append(*ours, r)
	} else {
		*others = append(*others, r)
	}
}

func (p *planner) decide(rc RequiredCheck) Decision {
	others, ours := p.results(rc)
	job, ruling := p.rule(rc)
	if len(others) > 0 {
		// Someone else reported: never write beside it (a status and a
		// check run of one name are both required); at most re-trigger.
		return p.judgeReported(rc, others, job)
	}
	oursPassing := false
	for _, r := range ours {
		if r.state == "passing" {
			oursPassing = true
		}
	}
	if ruling.verdict == Skip {
		if oursPassing {
			return Decision{Verdict: Satisfied, Cause: CauseOwnSkip, Reason: "already skipped by fix-status: " + ruling.reason, Job: job}
		}
		d := Decision{Context: rc.Context, Verdict: Skip, Cause: CauseWouldNotRun, Reason: SkipPrefix + ruling.reason, Job: job}
		if ruling.cause == CauseCarried {
			d.Cause, d.Reason = CauseCarried, CarriedPrefix+ruling.reason
		}
		d.Writes = p.skipWrites(rc, d)
		return d
	}
	if oursPassing {
		if ruling.verdict == Blocked && ruling.cause == CauseRulesError {
			// Reading the rules failed: no write at all, not even a revoke.
			return Decision{Verdict: Blocked, Cause: ruling.cause, Reason: ruling.reason, Job: job}
		}
		d := Decision{Context: rc.Context, Verdict: Revoke, Cause: CauseRevoked, Job: job, Reason: revokePrefix + ruling.reason}
		d.Writes = append(d.Writes, p.revokeWrites(rc, ours, d)...)
		if ruling.verdict == Retrigger && job != nil {
			count, _ := p.retriggered(rc, job, time.Time{})
			d.Writes = append(d.Writes, p.rerunWrites(job, 0, count+1)...)
		}
		return d
	}
	if ruling.verdict != Retrigger {
		return Decision{Verdict: ruling.verdict, Cause: ruling.cause, Reason: ruling.reason, Job: job}
	}
	return p.shouldHaveRun(rc, job, p.s.HeadSince, "should run ("+ruling.reason+") and has not reported", CauseNotReported, 0)
}

// judgeReported decides a context someone else reported.
func (p *planner) judgeReported(rc RequiredCheck, rs []result, job *rules.Job) Decision {
	var pending *result
	for i, r := range rs {
		if r.state == "failing" {
			return Decision{Verdict: Failing, Cause: CauseFailed, Reason: fmt.Sprintf("%s reported %s", r.kind, r.raw), Job: job}
		}
		if r.state == "pending" && pending == nil {
			pending = &rs[i]
		}
	}
	if pending == nil {
		return Decision{Verdict: Satisfied, Cause: CauseReported, Reason: fmt.Sprintf("%s reported %s", rs[0].kind, rs[0].raw), Job: job}
	}
	age := p.o.Now.Sub(pending.since)
	if p.o.StalePendingAfter <= 0 || pending.since.IsZero() || age < p.o.StalePendingAfter {
		d := Decision{Verdict: Waiting, Cause: CausePending, Reason: fmt.Sprintf("%s is %s", pending.kind, pending.raw), Job: job}
		if p.o.StalePendingAfter > 0 && !pending.since.IsZero() {
			d.RecheckAt = pending.since.Add(p.o.StalePendingAfter)
		}
		return d
	}
	if job == nil {
		return Decision{Verdict: Blocked, Cause: CauseNoJob, Reason: fmt.Sprintf("%s %s for %s, and no known job defines it to re-run", pending.kind, pending.raw, roundAge(age)), Job: job}
	}
	since := pending.since.Add(p.o.StalePendingAfter - p.o.GracePeriod)
	return p.shouldHaveRun(rc, job, since, fmt.Sprintf("%s %s for %s", pending.kind, pending.raw, roundAge(age)), CauseStalePending, pending.suiteID)
}

// shouldHaveRun handles a job that should be running: wait out the grace
// period (counted from since, or from our last re-trigger), then re-trigger a
// bounded number of times; cause is why it is re-triggered.
func (p *planner) shouldHaveRun(rc RequiredCheck, job *rules.Job, since time.Time, why string, cause Cause, suiteID int64) Decision {
	count, since := p.retriggered(rc, job, since)
	if wait := since.Add(p.o.GracePeriod).Sub(p.o.Now); wait > 0 {
		return Decision{Verdict: Waiting, Cause: CauseGracePeriod, Reason: fmt.Sprintf("%s; grace period ends in %s", why, roundAge(wait)), Job: job, RecheckAt: since.Add(p.o.GracePeriod)}
	}
	if count >= p.o.MaxRetriggers {
		return Decision{Verdict: Blocked, Cause: CauseRetriggersExhausted, Reason: fmt.Sprintf("%s; re-triggered %d times already", why, count), Job: job}
	}
	w := p.rerunWrites(job, suiteID, count+1)
	if len(w) == 0 {
		if p.s.MergeGroup != nil && job.Rerun.Method == rules.RerunComment {
			return Decision{Verdict: Blocked, Cause: CauseNoRerun, Reason: why + "; a comment cannot re-run it on a merge group", Job: job}
		}
		return Decision{Verdict: Blocked, Cause: CauseNoRerun, Reason: why + "; no way to re-run it is known", Job: job}
	}
	return Decision{Verdict: Retrigger, Cause: cause, Reason: why, Job: job, Writes: w}
}

// retriggered counts the re-triggers of rc on the head SHA and when the
// last was (since, if none was later). Every re-trigger leaves a marker
// comment; a workflow run's attempts also count re-runs made by hand. The
// higher count bounds.
func (p *planner) retriggered(rc RequiredCheck, job *rules.Job, since time.Time) (int, time.Time) {
	var markers, attempts int
	for _, r := range p.s.Retriggers {
		switch {
		case r.Workflow != "" && r.Workflow == job.Rerun.Workflow && job.Rerun.Method == rules.RerunActions:
			attempts = max(attempts, r.Count)
		case r.Workflow == "" && strings.EqualFold(r.Context, rc.Context):
			markers += max(r.Count, 1)
		default:
			continue
		}
		if r.At.After(since) {
			since = r.At
		}
	}
	return max(markers, attempts), since
}

func roundAge(d time.Duration) string {
	if d >= time.Hour {
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

// ruling is what the rules say about a context with no result of others.
type ruling struct {
	verdict Verdict // Skip, Retrigger (should run), Blocked
	reason  string
	// cause classifies a Blocked ruling (CauseRulesError: the rules could
	// not be read, so nothing at all may be written).
	cause Cause
}

// rule finds the jobs that report rc and combines their verdicts, applying
// the safety invariants (docs/design.md, "Safety invariants").
func (p *planner) rule(rc RequiredCheck) (*rules.Job, ruling) {
	s := p.s
	if s.RulesErr != nil {
		return nil, ruling{Blocked, "cannot read the job rules: " + s.RulesErr.Error(), CauseRulesError}
	}
	change := rules.Change{Branch: s.BaseBranch, Files: s.Files, Complete: s.FilesComplete, FirstHead: s.FirstHead, MergeGroup: s.MergeGroup != nil}
	job, v, reason := combine(s.Jobs, rc.Context, change)
	if job == nil {
		return nil, ruling{Blocked, "no job defines it", CauseNoJob}
	}
	skip := ruling{Skip, reason, ""}
	switch v {
	case rules.VerdictRun:
		return job, ruling{Retrigger, reason, ""}
	case rules.VerdictManual:
		return job, ruling{Blocked, "manual job, " + reason, CauseManual}
	case rules.VerdictUnknown:
		return job, ruling{Blocked, "cannot tell if it runs: " + reason, unknownCause(job, change)}
	case rules.VerdictNotOnMergeGroup:
		// It never runs on merge groups, and would for these changes: the
		// queue would wait for it until its timeout.
		if !s.MergeGroup.Carry {
			return job, ruling{Blocked, reason, CauseNotOnMergeGroup}
		}
		ok, why := p.carry(rc)
		if !ok {
			return job, ruling{Blocked, why, CauseNotOnMergeGroup}
		}
		skip = ruling{Skip, why, CauseCarried}
	}
	// The job would not run (or its result is carried). Only now do the
	// invariants that guard a skip apply.
	if !s.FilesComplete && skip.cause != CauseCarried {
		// Even a branch filter's verdict: a file past the limit may be a
		// rule file the PR changes (invariant 1 could not be checked).
		return job, ruling{Blocked, fmt.Sprintf("would not run (%s), but the changed-file list is incomplete (%d files listed)", reason, len(s.Files)), CauseIncompleteFiles}
	}
	if rc.AppID != 0 && rc.AppID != p.o.AppID {
		return job, ruling{Blocked, fmt.Sprintf("would not run (%s), but the check is pinned to %s", reason, p.appName(rc.AppID)), CausePinned}
	}
	if len(s.RuleFilesChanged) > 0 {
		// A PR must not rewrite the rules that judge it: skip only if its
		// own version of the rules agrees.
		if s.HeadRulesErr != nil {
			return job, ruling{Blocked, fmt.Sprintf("this PR changes %s and its rules cannot be read: %v", s.RuleFilesChanged[0], s.HeadRulesErr), CauseRulesError}
		}
		_, hv, hreason := combine(s.HeadJobs, rc.Context, change)
		if hv != rules.VerdictSkip && hv != rules.VerdictNotOnBranch && !(hv == rules.VerdictNotOnMergeGroup && skip.cause == CauseCarried) {
			if hreason == "" {
				hreason = "no job defines it"
			}
			return job, ruling{Blocked, fmt.Sprintf("this PR changes %s; with its changes: %s", s.RuleFilesChanged[0], hreason), CauseRulesChanged}
		}
	}
	return job, skip
}

// unknownCause: an unknown verdict that a complete file list would settle
// is the list's doing (GitHub's 3,000 files, or the 300 Actions evaluates);
// any other is the job's own.
func unknownCause(job *rules.Job, change rules.Change) Cause {
	if job.ContextPattern == nil {
		full := *job
		full.MaxFiles = 0
		change.Complete = true
		if v, _ := rules.EvaluateJob(&full, change); v != rules.VerdictUnknown {
			return CauseIncompleteFiles
		}
	}
	return CauseUnknown
}

// verdictRank orders verdicts from the most conservative (the job runs).
var verdictRank = map[rules.Verdict]int{rules.VerdictRun: 4, rules.VerdictUnknown: 3, rules.VerdictManual: 2, rules.VerdictSkip: 1, rules.VerdictNotOnBranch: 0}

// combine evaluates every job reporting context (a Prow job may be defined
// once per release branch) and keeps the most conservative verdict: run, then
// unknown, then manual, then skip / not_on_branch.
func combine(jobs []*rules.Job, context string, change rules.Change) (*rules.Job, rules.Verdict, string) {
	var best *rules.Job
	var bv rules.Verdict
	var br string
	for _, j := range jobs {
		if !j.Reports(context) {
			continue
		}
		v, reason := rules.EvaluateJob(j, change)
		if j.ContextPattern != nil {
			// A job whose check name is not known only keeps the context
			// from being skipped, while it runs or may run.
			if v != rules.VerdictRun && v != rules.VerdictUnknown {
				continue
			}
			v, reason = rules.VerdictUnknown, fmt.Sprintf("%s may report it (check name %s): %s", j.Name, j.ContextPattern, reason)
		}
		if best == nil || verdictRank[v] > verdictRank[bv] {
			best, bv, br = j, v, reason
		}
	}
	return best, bv, br
}

// target is where what fix-status writes for context links: the PR's
// details page when fix-status serves one, else the rule that decided.
func (p *planner) target(context string, job *rules.Job) string {
	if p.o.PublicURL != "" {
		return DetailsURL(p.o.PublicURL, p.s.PR, context)
	}
	return RuleLink(p.o.WebURL, p.s.BaseSHA, job)
}

func (p *planner) skipWrites(rc RequiredCheck, d Decision) []Write {
	desc := rules.Truncate(d.Reason, rules.MaxReason)
	if p.o.ReportAs == "check_run" {
		return []Write{{Kind: WriteCheckRun, Context: rc.Context, State: "skipped", Description: desc, TargetURL: p.target(rc.Context, d.Job),
			Title: CheckRunTitle(d), Text: CheckRunText(p.s, d, p.o)}}
	}
	return []Write{{Kind: WriteStatus, Context: rc.Context, State: "success", Description: desc, TargetURL: p.target(rc.Context, d.Job)}}
}

// revokeWrites put our own results back to pending, in the form they were
// posted (a newer result of the same kind replaces ours).
func (p *planner) revokeWrites(rc RequiredCheck, ours []result, d Decision) []Write {
	desc := rules.Truncate("fix-status revoked its skip: "+strings.TrimPrefix(d.Reason, revokePrefix), rules.MaxReason)
	kinds := map[string]bool{}
	for _, r := range ours {
		kinds[r.kind] = true
	}
	var w []Write
	if kinds["status"] {
		w = append(w, Write{Kind: WriteStatus, Context: rc.Context, State: "pending", Description: desc, TargetURL: p.target(rc.Context, d.Job)})
	}
	if kinds["check run"] {
		w = append(w, Write{Kind: WriteCheckRun, Context: rc.Context, State: "", Description: desc, TargetURL: p.target(rc.Context, d.Job),
			Title: CheckRunTitle(d), Text: CheckRunText(p.s, d, p.o)})
	}
	return w
}

func (p *planner) rerunWrites(job *rules.Job, suiteID int64, attempt int) []Write {
	switch job.Rerun.Method {
	case rules.RerunComment:
		// A merge group has no pull request to comment on.
		if job.Rerun.Comment != "" && p.s.MergeGroup == nil {
			return []Write{{Kind: WriteComment, Context: job.Context, Comment: job.Rerun.Comment, Attempt: attempt}}
		}
	case rules.RerunActions:
		return []Write{{Kind: WriteActionsRerun, Context: job.Context, Workflow: job.Rerun.Workflow, Attempt: attempt}}
	case rules.RerunCheckSuite:
		if suiteID != 0 {
			return []Write{{Kind: WriteSuiteRerun, Context: job.Context, SuiteID: suiteID, Attempt: attempt}}
		}
	}
	return nil
}

// RecheckAt is the earliest time any decision may change by itself (zero if
// none will).
func RecheckAt(ds []Decision) time.Time {
	var t time.Time
	for _, d := range ds {
		if !d.RecheckAt.IsZero() && (t.IsZero() || d.RecheckAt.Before(t)) {
			t = d.RecheckAt
		}
	}
	return t
}

// LatestCheckRuns keeps the newest run (highest id) per name
// (case-insensitive) and app, in id order: what GitHub counts for a
// required check.
func LatestCheckRuns(runs []CheckRun) []CheckRun {
	type key struct {
		name string
		app  int64
	}
	latest := map[key]CheckRun{}
	for _, run := range runs {
		k := key{strings.ToLower(run.Name), run.AppID}
		if prev, ok := latest[k]; !ok || run.ID > prev.ID {
			latest[k] = run
		}
	}
	out := make([]CheckRun, 0, len(latest))
	for _, r := range latest {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// RulesStatusContext is the commit status fix-status posts when it cannot
// read a repository's job rules, so the problem reaches people on the PR.
const RulesStatusContext = "fix-status"

// RulesStatus is the write that shows a rules error on the PR as
// fix-status's own status (error), or clears it once the rules read fine
// again; nil when the PR already shows the right one. login is
// fix-status's ("slug[bot]").
func RulesStatus(s *Snapshot, login string) *Write {
	var ours *Status
	for i, st := range s.Statuses {
		if strings.EqualFold(st.Context, RulesStatusContext) && strings.EqualFold(st.Creator, login) {
			ours = &s.Statuses[i]
		}
	}
	err := s.RulesErr
	if err == nil && len(s.RuleFileErrors) > 0 {
		err = s.RuleFileErrors[0]
	}
	switch {
	case err != nil:
		desc := rules.Truncate("cannot read the job rules: "+err.Error(), rules.MaxReason)
		if ours != nil && ours.State == "error" && ours.Description == desc {
			return nil
		}
		return &Write{Kind: WriteStatus, Context: RulesStatusContext, State: "error", Description: desc}
	case ours != nil && ours.State != "success":
		return &Write{Kind: WriteStatus, Context: RulesStatusContext, State: "success", Description: "job rules read fine"}
	}
	return nil
}
