package rules

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Verdict is what a job does for one PR or merge group; these are the
// verdicts `fix-status eval` prints.
type Verdict string

// The verdicts.
const (
	VerdictRun         Verdict = "run"           // triggers automatically for these changes
	VerdictSkip        Verdict = "skip"          // conditional and does not trigger
	VerdictManual      Verdict = "manual"        // only an explicit command starts it
	VerdictNotOnBranch Verdict = "not_on_branch" // the branch filter excludes the base branch
	VerdictUnknown     Verdict = "unknown"       // cannot be decided statically: never skipped
	// VerdictNotOnMergeGroup: for a merge group, the job never runs on
	// merge groups but its pull request rules would run it for the
	// group's changes, so the queue would wait for it forever.
	VerdictNotOnMergeGroup Verdict = "not_on_merge_group"
)

// MaxReason is GitHub's limit for a commit status description; every reason
// fits in it so it can be posted as is.
const MaxReason = 140

// Change is what the evaluator knows about a PR, or a merge group.
type Change struct {
	// Branch is the PR's base branch (a merge group's base branch).
	Branch string
	// Files are the changed file names (renamed files by their new name,
	// deleted files included), in the order GitHub lists them. For a merge
	// group: the union of its PRs' changes (compare base...head).
	Files []string
	// Complete is false when the list was cut short (GitHub's PR files API
	// stops at 3,000 files, compare at 300).
	Complete bool
	// FirstHead is set only when the caller knows the head is the one the
	// PR was opened or reopened with; otherwise the head is taken to be a
	// later push, and jobs that start only on opened or reopened are
	// unknown for it.
	FirstHead bool
	// MergeGroup is set when the change is a merge group's: jobs are judged
	// by how they behave on merge groups (see EvaluateJob).
	MergeGroup bool
}

// Result is the verdict for one job.
type Result struct {
	Job     *Job
	Verdict Verdict
	Reason  string
}

// Evaluate decides, for each job, whether it would run for change. It is a
// pure function: jobs are not modified and results follow the jobs' order.
func Evaluate(jobs []*Job, change Change) []Result {
	out := make([]Result, len(jobs))
	for i, j := range jobs {
		v, reason := EvaluateJob(j, change)
		out[i] = Result{Job: j, Verdict: v, Reason: reasonLine(reason)}
	}
	return out
}

// EvaluateJob decides one job (see Evaluate). For a merge group, a job that
// runs on merge groups for the base branch is run; any other job is judged
// by its pull request rules against the group's changes: one that would not
// run is skip (or not_on_branch), one that would is not_on_merge_group, with
// the fix in the reason; manual and unknown jobs stay so.
func EvaluateJob(j *Job, change Change) (Verdict, string) {
	if j.Unknown != "" {
		return VerdictUnknown, j.Unknown
	}
	if !change.MergeGroup {
		return evaluate(j, change, true)
	}
	if mg := j.MergeGroup; mg.Runs {
		ok := true
		if mg.Branches != nil {
			ok, _ = mg.Branches.Match(change.Branch)
		}
		if ok {
			return VerdictRun, "runs on merge groups: " + mg.Why
		}
	}
	// Which heads a PR job starts on does not matter here: the question is
	// whether the group's changes concern it.
	v, reason := evaluate(j, change, false)
	if v != VerdictRun {
		return v, reason
	}
	fix := j.MergeGroup.Fix
	if fix == "" {
		fix = "does not run on merge groups"
	}
	return VerdictNotOnMergeGroup, fix + " (would run: " + reason + ")"
}

// evaluate applies a job's pull request rules; heads says whether the head
// limits of the job apply.
func evaluate(j *Job, change Change, heads bool) (Verdict, string) {
	if j.Branches != nil {
		if ok, reason := j.Branches.Match(change.Branch); !ok {
			return VerdictNotOnBranch, reason
		}
	}
	if heads && j.Trigger != TriggerManual {
		switch {
		case j.Heads == HeadsFirst && !change.FirstHead:
			return VerdictUnknown, j.HeadsNote + ": does not run on later pushes"
		case j.Heads == HeadsLater && change.FirstHead:
			return VerdictUnknown, j.HeadsNote + ": does not run on the head a pull request is opened with"
		}
	}
	switch j.Trigger {
	case TriggerAlways:
		if j.Source == SourceProw {
			return VerdictRun, "always_run"
		}
		return VerdictRun, "runs on every pull request to " + change.Branch
	case TriggerManual:
		return VerdictManual, manualReason(j)
	}
	if j.Files == nil {
		return VerdictUnknown, "conditional job without a file filter"
	}
	files := change.Files
	cut := false
	if j.MaxFiles > 0 && len(files) > j.MaxFiles {
		// The CI itself looks at the first MaxFiles files only: a match
		// there means it runs; no match there is a skip we cannot prove.
		files, cut = files[:j.MaxFiles], true
	}
	runs, reason := j.Files.Match(files)
	switch {
	case runs:
		return VerdictRun, reason
	case cut:
		return VerdictUnknown, fmt.Sprintf("%d changed files; %s evaluates only the first %d", len(change.Files), sourceName(j.Source), j.MaxFiles)
	case !change.Complete:
		return VerdictUnknown, fmt.Sprintf("the changed-file list is incomplete (%d files listed)", len(change.Files))
	}
	return VerdictSkip, reason
}

// manualReason says what starts a manual job.
func manualReason(j *Job) string {
	switch {
	case j.Rerun.Comment != "":
		return "runs only when requested: " + j.Rerun.Comment
	case j.ManualReason != "":
		return j.ManualReason
	}
	return "runs only when requested"
}

func sourceName(s Source) string {
	switch s {
	case SourceActions:
		return "GitHub Actions"
	case SourceProw:
		return "Prow"
	}
	return "the CI"
}

// lineBreaks escapes the line breaks a regex, a glob or a file name may
// carry into a reason.
var lineBreaks = strings.NewReplacer("\r", `\r`, "\n", `\n`)

// reasonLine makes a reason one line of at most MaxReason characters.
func reasonLine(s string) string { return Truncate(lineBreaks.Replace(s), MaxReason) }

// Truncate shortens s to at most n characters (runes), ending in "…" when cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
