package plan

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fix-status/fix-status/app/rules"
)

// Cause is a machine-readable class of a decision's reason: a small fixed
// set, fit for a metric label, that the texts saying how to make a job run
// are chosen by.
type Cause string

// The causes, by the verdict they come with.
const (
	// Satisfied.
	CauseReported Cause = "reported" // someone reported a passing result
	CauseOwnSkip  Cause = "own_skip" // fix-status's own skip still holds
	// Failing.
	CauseFailed Cause = "failed"
	// Waiting.
	CausePending     Cause = "pending"      // a result is pending and not stale
	CauseGracePeriod Cause = "grace_period" // should run; inside the grace period
	// Skip.
	CauseWouldNotRun Cause = "would_not_run"
	// Retrigger.
	CauseNotReported  Cause = "not_reported"  // should have run and never reported
	CauseStalePending Cause = "stale_pending" // pending past the stale limit
	// CauseNeedsPermission: a re-trigger the /fix-status commenter may not
	// ask for (re-running CI needs write permission); nothing was written.
	CauseNeedsPermission Cause = "needs_permission"
	// Revoke.
	CauseRevoked Cause = "revoked"
	// Blocked.
	CausePinned              Cause = "pinned"           // pinned to another app, or to two
	CauseIncompleteFiles     Cause = "incomplete_files" // the changed-file list is cut short
	CauseManual              Cause = "manual"           // only a command starts the job
	CauseNoJob               Cause = "no_job"           // no known job reports the context
	CauseUnknown             Cause = "unknown"          // the job's behaviour cannot be known statically
	CauseRulesError          Cause = "rules_error"      // the job rules cannot be read
	CauseRulesChanged        Cause = "rules_changed"    // the PR changes the rules, and its version would run the job
	CauseRetriggersExhausted Cause = "retriggers_exhausted"
	CauseNoRerun             Cause = "no_rerun" // should run, and no way to start it again is known
	// CauseNotOnMergeGroup: on a merge group, a job that never runs there
	// and would run for the group's changes (its result is not carried).
	CauseNotOnMergeGroup Cause = "not_on_merge_group"
	// CauseCarried: on a merge group, a context that passed on every PR of
	// the group (merge_queue.carry_pr_results).
	CauseCarried Cause = "carried"
)

// GitHubActionsAppID is the id of the GitHub Actions app on github.com,
// the app most required checks are pinned to.
const GitHubActionsAppID = 15368

// AppName is the name people know an app by: "GitHub Actions" for GitHub's
// own, else the slug of a check run of that app, else "app <id>".
func AppName(id int64, runs []CheckRun) string {
	if id == GitHubActionsAppID {
		return "GitHub Actions"
	}
	for _, r := range runs {
		if r.AppID == id && r.AppSlug != "" {
			return r.AppSlug
		}
	}
	return fmt.Sprintf("app %d", id)
}

// appName names an app for the plan's reasons; fix-status knows its own.
func (p *planner) appName(id int64) string {
	if id == p.o.AppID && p.o.AppLogin != "" {
		return strings.TrimSuffix(p.o.AppLogin, "[bot]")
	}
	return AppName(id, p.s.CheckRuns)
}

// RuleLink is the address of a job's definition on the base commit ("" when
// the job is not defined in a repository, e.g. a central Prow config).
func RuleLink(webURL, baseSHA string, job *rules.Job) string {
	if job == nil || job.Origin.Repo == "" || job.Origin.Path == "" || webURL == "" {
		return ""
	}
	u := fmt.Sprintf("%s/%s/blob/%s/%s", strings.TrimSuffix(webURL, "/"), job.Origin.Repo, baseSHA, job.Origin.Path)
	if job.Origin.Line > 0 {
		u += fmt.Sprintf("#L%d", job.Origin.Line)
	}
	return u
}

// DetailsPath is the path of a PR's details page: /prs/{owner}/{repo}/{number}.
func DetailsPath(pr PRRef) string {
	return fmt.Sprintf("/prs/%s/%s/%d", url.PathEscape(pr.Owner), url.PathEscape(pr.Repo), pr.Number)
}

// DetailsURL is the address of a PR's details page under publicURL, at the
// section of context when given.
func DetailsURL(publicURL string, pr PRRef, context string) string {
	u := strings.TrimSuffix(publicURL, "/") + DetailsPath(pr)
	if context != "" {
		u += "#" + Anchor(context)
	}
	return u
}

// Anchor is the id of a context's section on the details page: contexts hold
// spaces, slashes and parentheses ("build (linux)"), ids should not.
func Anchor(context string) string {
	var b strings.Builder
	b.WriteString("check-")
	dash := false
	for _, r := range strings.ToLower(context) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// CheckRunTitle is the title of a check run fix-status posts for d.
func CheckRunTitle(d Decision) string {
	name := d.Context
	if d.Job != nil {
		name = d.Job.Name
	}
	if d.Verdict == Revoke {
		return "Re-opened by fix-status: " + name + " should run"
	}
	return "Skipped by fix-status: " + name + " would not run for this pull request"
}

// MaxFilesShown is how many changed files the check-run text and the
// details page list (with the count of all).
const MaxFilesShown = 50

// CheckRunText is the Markdown text of a check run fix-status posts for d:
// why, the rule that decided and where it is on the base commit, the files
// it was judged on, and how to make the job run anyway.
func CheckRunText(s *Snapshot, d Decision, o PlanOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Why\n\n%s\n\n", d.Reason)
	fmt.Fprintf(&b, "### The rule that decided\n\n%s\n\n", RuleLine(s, d.Job, o.WebURL))
	fmt.Fprintf(&b, "### %s\n\n", FilesHeading(s))
	for _, f := range FirstFiles(s.Files) {
		fmt.Fprintf(&b, "- `%s`\n", code(f))
	}
	if len(s.Files) > MaxFilesShown {
		fmt.Fprintf(&b, "- … and %d more\n", len(s.Files)-MaxFilesShown)
	}
	if d.Verdict == Skip {
		b.WriteString("\n### How to make it run anyway\n\n")
	} else {
		b.WriteString("\n### How to make it run\n\n")
	}
	for _, line := range HowToRun(s, d) {
		fmt.Fprintf(&b, "- %s\n", line)
	}
	if o.PublicURL != "" {
		fmt.Fprintf(&b, "\nEvery required check of this pull request: %s\n", DetailsURL(o.PublicURL, s.PR, ""))
	}
	return b.String()
}

// RuleLine names the job that decided, its source and where it is defined
// (a Markdown link on the base commit when there is one).
func RuleLine(s *Snapshot, job *rules.Job, webURL string) string {
	if job == nil {
		if s.RulesErr != nil {
			return "None: the job rules on `" + code(s.BaseBranch) + "` cannot be read."
		}
		return "None: no job fix-status knows reports this context."
	}
	where := code(job.Origin.Path)
	if job.Origin.Line > 0 {
		where += fmt.Sprintf(" line %d", job.Origin.Line)
	}
	line := fmt.Sprintf("`%s` (%s), defined in ", code(job.Name), SourceName(job.Source))
	if link := RuleLink(webURL, s.BaseSHA, job); link != "" {
		line += fmt.Sprintf("[`%s`](%s)", where, link)
	} else {
		line += "`" + where + "`"
	}
	line += fmt.Sprintf(" on the base commit `%s` of `%s`", ShortSHA(s.BaseSHA), code(s.BaseBranch))
	if f := FilterOf(job); f != "" {
		line += fmt.Sprintf("; file filter `%s`", code(f))
	}
	return line + "."
}

// FilesHeading says which changed files a decision was judged on.
func FilesHeading(s *Snapshot) string {
	n := len(s.Files)
	incomplete := ""
	if !s.FilesComplete {
		incomplete = "; GitHub did not list them all"
	}
	if n > MaxFilesShown {
		return fmt.Sprintf("Files it was judged on (the first %d of %d%s)", MaxFilesShown, n, incomplete)
	}
	return fmt.Sprintf("Files it was judged on (%d%s)", n, incomplete)
}

// FirstFiles is the part of a changed-file list that texts show.
func FirstFiles(files []string) []string { return files[:min(len(files), MaxFilesShown)] }

// FilterOf names a job's file filter as its CI writes it ("paths [src/**]"),
// or "" when it has none that can be named.
func FilterOf(job *rules.Job) string {
	if job == nil || job.Files == nil {
		return ""
	}
	if f, ok := job.Files.(fmt.Stringer); ok {
		return f.String()
	}
	return ""
}

// RerunCommand is the comment that starts a job on a pull request ("/test
// name" for Prow, the repo config's rerun.comment), or "".
func RerunCommand(job *rules.Job) string {
	if job == nil || job.Rerun.Method != rules.RerunComment {
		return ""
	}
	return job.Rerun.Comment
}

// HowToRun says, one Markdown line each, what would make the job behind d
// run (or the context pass) anyway: what blocks it and who can lift that,
// what starts the job, and the command that checks the PR again. It is empty
// for a context that passed on a result of its own CI.
func HowToRun(s *Snapshot, d Decision) []string {
	if d.Cause == CauseReported {
		return nil
	}
	var out []string
	j := d.Job
	ctx, branch := "`"+code(d.Context)+"`", "`"+code(s.BaseBranch)+"`"
	switch d.Cause {
	case CauseRulesError:
		err := "they cannot be read"
		if s.RulesErr != nil {
			err = oneLine(s.RulesErr.Error())
		} else if s.HeadRulesErr != nil {
			err = "this pull request's version cannot be read: " + oneLine(s.HeadRulesErr.Error())
		}
		out = append(out, fmt.Sprintf("Fix the job rules (%s). fix-status checks the pull request again once the fix is pushed to %s.", err, branch))
	case CauseNoJob:
		out = append(out, fmt.Sprintf("No job fix-status knows reports %s. A maintainer can add a rule for it under `contexts:` in `.github/fix-status.yml` on %s, or stop requiring it on %s.", ctx, branch, branch))
	case CausePinned:
		out = append(out, fmt.Sprintf("%s is pinned to %s: only that app's result counts, so fix-status cannot pass it. Run the job there, or ask a maintainer to change the pin in the branch protection or ruleset of %s.", ctx, pinnedTo(s, d.Context), branch))
	case CauseIncompleteFiles:
		out = append(out, "fix-status never skips a job unless it sees every changed file (GitHub lists at most 3,000; GitHub Actions looks at the first 300): the job has to run and report.")
	case CauseRulesChanged:
		out = append(out, fmt.Sprintf("This pull request changes the rules (`%s`), and with its changes the job would run: fix-status leaves it to the CI.", code(firstOr(s.RuleFilesChanged, "a rule file"))))
	case CauseRetriggersExhausted:
		out = append(out, "fix-status re-triggered it as often as it may on this commit and it never reported: check that the CI is running, then start the job by hand or push a new commit.")
	case CauseNoRerun:
		out = append(out, "fix-status knows no way to start it again: re-run it from its CI, or push a new commit.")
	case CauseUnknown:
		out = append(out, "fix-status cannot tell from the rules whether it runs, so it never skips it: the job has to report by itself.")
	case CauseNeedsPermission:
		out = append(out, fmt.Sprintf("Re-running CI needs write permission on `%s`: someone with write access can comment `/fix-status`.", code(s.PR.FullRepo())))
	case CauseFailed:
		out = append(out, "It failed: fix what it reports and run it again.")
	case CausePending, CauseGracePeriod:
		if !d.RecheckAt.IsZero() {
			out = append(out, fmt.Sprintf("fix-status looks again at %s.", d.RecheckAt.UTC().Format("15:04 UTC on Jan 2")))
		}
	}
	if j != nil {
		out = append(out, starts(s, j)...)
	}
	return append(out, "Comment `/fix-status` to have fix-status check this pull request again now (at most once a minute).")
}

// pinnedTo names the apps a required context is pinned to.
func pinnedTo(s *Snapshot, context string) string {
	var names []string
	for _, r := range s.Required {
		if r.AppID != 0 && strings.EqualFold(r.Context, context) {
			if n := AppName(r.AppID, s.CheckRuns); !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return "another app"
	}
	return strings.Join(names, " and ")
}

// starts says what starts job j on this pull request.
func starts(s *Snapshot, j *rules.Job) []string {
	var out []string
	if j.Branches != nil {
		if ok, _ := j.Branches.Match(s.BaseBranch); !ok {
			out = append(out, fmt.Sprintf("It does not run on pull requests to `%s` (its branch filter): only a pull request to a branch it runs on starts it.", code(s.BaseBranch)))
		}
	}
	if f := FilterOf(j); f != "" && j.Trigger == rules.TriggerConditional && len(out) == 0 {
		out = append(out, fmt.Sprintf("It starts by itself on a push whose changed files match its file filter, `%s`.", code(f)))
	}
	switch {
	case RerunCommand(j) != "":
		out = append(out, fmt.Sprintf("Comment `%s` on the pull request to start it now.", code(RerunCommand(j))))
	case j.Trigger == rules.TriggerManual && j.ManualReason != "":
		out = append(out, "What starts it: "+j.ManualReason+".")
	case j.Rerun.Method == rules.RerunActions:
		out = append(out, fmt.Sprintf("Once workflow `%s` has run for this commit, it can be re-run from the pull request's Checks tab.", code(j.Rerun.Workflow)))
	}
	return out
}

// SourceName is how people call a job source.
func SourceName(s rules.Source) string {
	switch s {
	case rules.SourceProw:
		return "Prow"
	case rules.SourceActions:
		return "GitHub Actions"
	}
	return "repo config"
}

// code keeps text inside a Markdown code span: a backtick would end it.
func code(s string) string { return strings.ReplaceAll(oneLine(s), "`", "'") }

func firstOr(list []string, def string) string {
	if len(list) == 0 {
		return def
	}
	return list[0]
}

// Times people read are in UTC, to the second.
const timeLayout = "2006-01-02 15:04:05 UTC"

// FormatTime is how replies and pages show a time.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }
