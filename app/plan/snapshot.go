// Package plan is fix-status's pure core: the snapshot of one pull request
// (what GitHub requires of it and what was reported on its head), the plan
// that decides every required context from it, the /fix-status command
// policy, and the text people read (descriptions, the command's reply). It
// does no I/O and reads no clock but the one it is given: every function
// here is table-tested without GitHub.
package plan

import (
	"strconv"
	"time"

	"github.com/fix-status/fix-status/app/rules"
)

// RepoRef names one repository of one installation of the app.
type RepoRef struct {
	InstallationID int64
	Owner          string
	Repo           string
}

// FullRepo is "owner/repo".
func (r RepoRef) FullRepo() string { return r.Owner + "/" + r.Repo }

// PR names pull request number of the repository.
func (r RepoRef) PR(number int) PRRef { return PRRef{RepoRef: r, Number: number} }

// PRRef names one pull request.
type PRRef struct {
	RepoRef
	Number int
}

func (r PRRef) String() string { return r.FullRepo() + "#" + strconv.Itoa(r.Number) }

// PRInfo is what GitHub says of a pull request itself, as read from the API
// (or from a bulk read, or a webhook payload, where it is only a hint).
type PRInfo struct {
	Number  int
	State   string // open, closed
	Draft   bool
	Author  string
	BaseRef string
	BaseSHA string
	HeadSHA string
	// UpdatedAt is the PR's last update; deliveries arrive out of order,
	// and the newer of two payloads is the one to keep.
	UpdatedAt time.Time
	// ChangedFiles is GitHub's count of changed files (the files API stops
	// listing at 3,000; the count does not).
	ChangedFiles int
}

// Files is a pull request's changed-file list, as read for one head SHA.
type Files struct {
	// Names are the changed files in GitHub's order: renamed files by their
	// new name, deleted files included (what CI filters look at).
	Names []string
	// Renamed are the previous names of renamed files: a PR that renames a
	// rule file away changes the rules as much as one that edits it.
	Renamed []string
	// Complete is false when the list was cut short (GitHub's PR files API
	// stops at 3,000 files without saying so).
	Complete bool
}

// RequiredCheck is one required context of the base branch.
type RequiredCheck struct {
	Context string
	// AppID pins the check to one app; 0 means any source (GitHub's null or -1).
	AppID int64
	// From says where the requirement comes from: "protection" or "ruleset".
	From string
}

// Status is the latest commit status of one context on the head SHA.
type Status struct {
	Context     string
	State       string // error, failure, pending, success
	Description string
	TargetURL   string
	Creator     string // login of who created it (an app's is "slug[bot]")
	CreatedAt   time.Time
}

// CheckRun is the latest check run of one name on the head SHA.
type CheckRun struct {
	ID         int64
	Name       string
	Status     string // queued, in_progress, completed
	Conclusion string
	AppID      int64
	AppSlug    string
	SuiteID    int64
	StartedAt  time.Time
}

// PastRetrigger is an earlier re-trigger of a context on the head SHA, read
// back from GitHub (so restarts and replicas share the count): one of
// fix-status's own marker comments (Context, Count 1), or the attempts of a
// GitHub Actions workflow run (Workflow, Count re-runs by anyone).
type PastRetrigger struct {
	Context  string
	Workflow string
	Count    int
	At       time.Time
}

// Snapshot is everything the plan needs to know about one PR.
type Snapshot struct {
	PR         PRRef
	State      string
	BaseBranch string
	BaseSHA    string
	HeadSHA    string
	// HeadSince is when the head SHA was first seen: the earliest result on
	// it, or the PR's last update when nothing reported yet. The grace
	// period counts from it.
	HeadSince time.Time

	Files         []string
	FilesComplete bool
	// RuleFilesChanged lists the changed files that define jobs (workflows,
	// Prow configs, the repo config), by their new or previous name.
	RuleFilesChanged []string

	Required  []RequiredCheck
	Statuses  []Status
	CheckRuns []CheckRun

	// Jobs are the job rules read from the base branch. RulesErr, when set,
	// is why they could not be read; nothing is written then.
	Jobs     []*rules.Job
	RulesErr error
	// RuleFileErrors are rule files that cannot be parsed (a workflow):
	// their jobs block what they may report, the rest is decided, and the
	// PR shows the errors in fix-status's own status.
	RuleFileErrors []error
	// FirstHead is set when the head is known to be the one the PR was
	// opened or reopened with (a workflow that runs only on "opened" cannot
	// report on later heads).
	FirstHead bool
	// HeadJobs are the rules as the PR head would have them; read only when
	// RuleFilesChanged is not empty. HeadRulesErr is why they could not be.
	HeadJobs     []*rules.Job
	HeadRulesErr error

	// Retriggers are fix-status's earlier re-triggers on this head SHA; nil
	// when not read (RetriggersRead false).
	Retriggers     []PastRetrigger
	RetriggersRead bool

	// Command is set when a /fix-status comment asked for this plan.
	Command *Command
	// MergeGroup is set for a merge group's commit instead of a PR's head:
	// its changes are the group's, and its jobs are judged as on merge
	// groups.
	MergeGroup *MergeGroup
}
