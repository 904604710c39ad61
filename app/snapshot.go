// Package app is fix-status's core: for one pull request it reads a snapshot
// of what GitHub requires and what was reported, plans one decision per
// required context with the rule engine, and applies the safe writes.
package app

import (
	"strconv"
	"time"

	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/config"
)

// PRRef names one pull request.
type PRRef struct {
	Owner          string
	Repo           string
	Number         int
	InstallationID int64
}

// FullRepo is "owner/repo".
func (r PRRef) FullRepo() string { return r.Owner + "/" + r.Repo }

func (r PRRef) String() string { return r.FullRepo() + "#" + strconv.Itoa(r.Number) }

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

// PastRetrigger is an earlier re-trigger fix-status made for a context on the
// head SHA (read back from GitHub, so replicas need no shared state).
type PastRetrigger struct {
	Context string
	At      time.Time
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
	// Prow configs, the repo config).
	RuleFilesChanged []string

	Required  []RequiredCheck
	Statuses  []Status
	CheckRuns []CheckRun

	// Jobs are the job rules read from the base branch. RulesErr, when set,
	// is why they could not be read; nothing is written then.
	Jobs     []*rules.Job
	RulesErr error
	// HeadJobs are the rules as the PR head would have them; read only when
	// RuleFilesChanged is not empty. HeadRulesErr is why they could not be.
	HeadJobs     []*rules.Job
	HeadRulesErr error

	// Retriggers are fix-status's earlier re-triggers on this head SHA; nil
	// when not read (RetriggersRead false).
	Retriggers     []PastRetrigger
	RetriggersRead bool

	// repoConfig is the repo config in force; rulesErrPath where the rules
	// error was found. Both are for apply, not for the plan.
	repoConfig   *config.Repo
	rulesErrPath string
}
