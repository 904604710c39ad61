package rules

import (
	"fmt"
	"unicode/utf8"
)

// Verdict is what a job does for one PR (the README's eval section).
type Verdict string

// The verdicts.
const (
	VerdictRun         Verdict = "run"           // triggers automatically for these changes
	VerdictSkip        Verdict = "skip"          // conditional and does not trigger
	VerdictManual      Verdict = "manual"        // only an explicit command starts it
	VerdictNotOnBranch Verdict = "not_on_branch" // the branch filter excludes the base branch
	VerdictUnknown     Verdict = "unknown"       // cannot be decided statically: never skipped
)

// MaxReason is GitHub's limit for a commit status description; every reason
// fits in it so it can be posted as is.
const MaxReason = 140

// Change is what the evaluator knows about a PR.
type Change struct {
	// Branch is the PR's base branch.
	Branch string
	// Files are the changed file names (renamed files by their new name,
	// deleted files included), in the order GitHub lists them.
	Files []string
	// Complete is false when the list was cut short (GitHub's PR files API
	// stops at 3,000 files).
	Complete bool
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
		out[i] = Result{Job: j, Verdict: v, Reason: Truncate(reason, MaxReason)}
	}
	return out
}

// EvaluateJob decides one job (see Evaluate).
func EvaluateJob(j *Job, change Change) (Verdict, string) {
	if j.Unknown != "" {
		return VerdictUnknown, j.Unknown
	}
	if j.Branches != nil {
		if ok, reason := j.Branches.Match(change.Branch); !ok {
			return VerdictNotOnBranch, reason
		}
	}
	switch j.Trigger {
	case TriggerAlways:
		if j.Source == SourceProw {
			return VerdictRun, "always_run"
		}
		return VerdictRun, "runs on every pull request to " + change.Branch
	case TriggerManual:
		if j.Rerun.Comment != "" {
			return VerdictManual, "runs only when requested: " + j.Rerun.Comment
		}
		if j.ManualReason != "" {
			return VerdictManual, j.ManualReason
		}
		return VerdictManual, "runs only when requested"
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

func sourceName(s Source) string {
	switch s {
	case SourceActions:
		return "GitHub Actions"
	case SourceProw:
		return "Prow"
	}
	return "the CI"
}

// Truncate shortens s to at most n characters (runes), ending in "…" when cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
