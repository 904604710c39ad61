// Package rules is fix-status's job model: every CI source (Prow presubmits in
// rules/prow, GitHub Actions workflows in rules/actions, the repo config's
// explicit rules in rules/explicit) is turned into the same Job, and pure
// functions decide whether each job would run for a pull request or a merge
// group (Evaluate), how a required context fares on a branch (Classify), and
// whether a change touches the files that define the jobs (RuleFiles).
package rules

import "strings"

// Source names where a job definition came from.
type Source string

// The job sources.
const (
	SourceProw    Source = "prow"
	SourceActions Source = "actions"
	SourceConfig  Source = "config"
)

// Trigger is how a job starts on pull request events.
type Trigger string

// The triggers.
const (
	// TriggerAlways: runs on every PR event that reaches it (Prow always_run,
	// an Actions workflow without path filters).
	TriggerAlways Trigger = "always"
	// TriggerConditional: runs when its file filter matches the changes.
	TriggerConditional Trigger = "conditional"
	// TriggerManual: runs only on an explicit command (/test name).
	TriggerManual Trigger = "manual"
)

// Origin says where a job is defined, for messages and for links to the rule.
type Origin struct {
	// Path is the file the job is defined in: repository-relative for rules
	// read from a repository, as given for local or central files.
	Path string `json:"path"`
	// Line is the 1-based line of the job's definition, 0 if unknown.
	Line int `json:"line,omitempty"`
	// Repo is "owner/repo" when Path is a file of that repository (so a
	// link to the rule can be made), empty for local or central files.
	Repo string `json:"repo,omitempty"`
}

// RerunMethod says how a job that should have run is started again.
type RerunMethod string

// The rerun methods.
const (
	RerunNone       RerunMethod = ""
	RerunComment    RerunMethod = "comment"     // post Rerun.Comment on the PR (Prow's /test name)
	RerunActions    RerunMethod = "actions"     // re-run the workflow's latest run for the head SHA
	RerunCheckSuite RerunMethod = "check_suite" // rerequest the check suite of the check run
)

// Rerun is the way to start a job again.
type Rerun struct {
	Method RerunMethod `json:"method,omitempty"`
	// Comment is the PR comment that starts the job (RerunComment).
	Comment string `json:"comment,omitempty"`
	// Workflow is the workflow file name (RerunActions), e.g. "ci.yml".
	Workflow string `json:"workflow,omitempty"`
}

// FileFilter decides whether a conditional job runs against changed files.
// Implementations are compiled once per loaded config and are safe for
// concurrent use.
type FileFilter interface {
	// Match reports whether the job runs against files, and a short human
	// reason naming the filter and, when it runs, the first file that made it.
	Match(files []string) (runs bool, reason string)
}

// BranchFilter decides whether a job runs against a base branch.
type BranchFilter interface {
	// Match reports whether the job runs against branch, with a reason when it
	// does not.
	Match(branch string) (runs bool, reason string)
}

// Heads says on which heads of a pull request a job starts by itself.
type Heads string

// The heads. GitHub Actions' pull_request types decide them: opened and
// reopened start a workflow on the head the PR has at that moment,
// synchronize on every head pushed later.
const (
	// HeadsAll: every head.
	HeadsAll Heads = ""
	// HeadsFirst: only the head the PR was opened or reopened with.
	HeadsFirst Heads = "first"
	// HeadsLater: only heads pushed after the PR was opened.
	HeadsLater Heads = "later"
)

// MergeGroup is how a job behaves for a merge group (the commit a merge
// queue tests). The zero value is a job that never runs on merge groups.
type MergeGroup struct {
	// Runs is set when the job starts by itself on merge groups whose base
	// branch Branches admits (nil: every branch).
	Runs     bool
	Branches BranchFilter
	// Why says what starts it there, for reasons ("merge_group trigger in
	// .github/workflows/ci.yml").
	Why string
	// Fix says how to make it run on merge groups where it does not, for
	// reasons ("add merge_group: to .github/workflows/ci.yml").
	Fix string
}

// Job is one job definition reporting one context.
type Job struct {
	// Name is the job's name in its source (Prow job name; "workflow.yml/job-id"
	// for Actions; the context for explicit rules).
	Name string
	// Context is the context the job reports. When ContextPattern is set,
	// it is the check name as written (a template such as
	// "lint-${{ matrix.x }}"), for messages only.
	Context string
	// ContextPattern, when set, is every context the job may report: its
	// check name cannot be known statically. Such a job is not unknown for
	// that alone (its trigger and filters still say whether it runs), but a
	// context it may report must not be skipped while it runs.
	ContextPattern *ContextPattern
	Source         Source
	Origin         Origin
	Trigger        Trigger
	// Files is the file filter of a conditional job (nil otherwise).
	Files FileFilter
	// Branches filters the base branch (nil = every branch).
	Branches BranchFilter
	// MaxFiles is how many changed files the CI itself evaluates (GitHub
	// Actions: the first 300); 0 means all.
	MaxFiles int
	// Optional and SkipReport mirror Prow: such a job is not required.
	Optional   bool
	SkipReport bool
	// Unknown, when set, says why the job's behaviour cannot be known
	// statically; such a job is never skipped.
	Unknown string
	// ManualReason, for a TriggerManual job that no comment starts, says
	// what does (e.g. an Actions workflow that only runs on "labeled").
	ManualReason string
	// Heads limits the heads the job starts on by itself; HeadsNote says
	// what starts it ("runs only on opened") when that is not every head.
	Heads      Heads
	HeadsNote  string
	MergeGroup MergeGroup
	Rerun      Rerun
}

// Reports reports whether the job may report context: its context, compared
// case-insensitively as GitHub compares contexts, or any context its
// ContextPattern admits.
func (j *Job) Reports(context string) bool {
	if j.ContextPattern != nil {
		return j.ContextPattern.Match(context)
	}
	return strings.EqualFold(j.Context, context)
}

// Required reports whether the job's result is required for merging by its
// own source (Prow's ContextRequired).
func (j *Job) Required() bool { return !j.Optional && !j.SkipReport }
