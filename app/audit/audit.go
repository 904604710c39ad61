// Package audit judges branch protection against the CI's own job rules:
// for every required context of a protected branch, whether a job reports
// it on every pull request, only on some (so PRs wait unless fix-status
// repairs them), only when a person asks, never on that branch, never at
// all, or only through an app that does not report it; and whether a merge
// queue would wait for it. This is `fix-status audit`, and the server's
// drift watch compares one audit of a repository with the next.
//
// In February 2019 the root cause of Kubernetes' outage was configuration:
// protection required contexts whose jobs do not always report. An audit
// names those mistakes before a PR is stuck on them.
package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/sources"
)

// The classes beyond rules.Classify's, which judges jobs alone: a pin is
// known only from the protection.
const (
	// ClassPinnedElsewhere: the context is pinned to an app that does not
	// report it (a Prow job pinned to GitHub Actions), so no result counts.
	ClassPinnedElsewhere rules.Class = "pinned_elsewhere"
)

// MergeQueueNA is the merge queue answer of a branch without a merge queue
// (no rule of the branch is a merge_queue rule).
const MergeQueueNA rules.MergeQueue = "n/a"

// Classes lists every class an audit gives, in the order reports explain
// them.
var Classes = []rules.Class{
	rules.ClassAlways, rules.ClassConditional, rules.ClassManual, rules.ClassNotOnBranch,
	rules.ClassOrphaned, ClassPinnedElsewhere, rules.ClassUnknown,
}

// DefaultFailOn are the classes `fix-status audit` fails on by default: the
// ones that block every PR to the branch (orphaned, pinned_elsewhere) or
// make every PR wait for a person (manual).
var DefaultFailOn = []rules.Class{rules.ClassOrphaned, rules.ClassManual, ClassPinnedElsewhere}

// ParseFailOn reads --fail-on values: classes, each value possibly a
// comma-separated list; "none" alone fails on nothing.
func ParseFailOn(values []string) ([]rules.Class, error) {
	var names []string
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				names = append(names, name)
			}
		}
	}
	if len(names) == 1 && names[0] == "none" {
		return nil, nil
	}
	var out []rules.Class
	for _, name := range names {
		if !slices.Contains(Classes, rules.Class(name)) {
			return nil, fmt.Errorf("%q is not a class (%s; or none alone)", name, strings.Join(ClassNames(Classes), ", "))
		}
		if !slices.Contains(out, rules.Class(name)) {
			out = append(out, rules.Class(name))
		}
	}
	return out, nil
}

// ClassNames are the names of classes, as --fail-on takes them.
func ClassNames(cs []rules.Class) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = string(c)
	}
	return names
}

// RepoReport is the audit of one repository: its protected branches that
// require contexts, in GitHub's order.
type RepoReport struct {
	Repo     string         `json:"repo"`
	Branches []BranchReport `json:"branches"`
}

// BranchReport is the audit of one branch's required contexts.
type BranchReport struct {
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	// MergeQueue says whether the branch has a merge queue (an offline audit
	// answers as if it had).
	MergeQueue bool       `json:"merge_queue"`
	Required   []Required `json:"required"`

	// rules are the rules an online audit read for the branch (nil
	// offline, or when they could not be read: rulesErr), so that a push
	// to the branch can be told to change them.
	rules    *sources.RuleSet
	rulesErr bool
}

// Required is one required context of a branch, judged.
type Required struct {
	Context string `json:"context"`
	// From is where the requirement comes from: protection, ruleset, or
	// protection+ruleset (an offline audit says --required).
	From string `json:"from"`
	// AppID is the app the context is pinned to, 0 for any source.
	AppID      int64            `json:"app_id"`
	Class      rules.Class      `json:"class"`
	MergeQueue rules.MergeQueue `json:"merge_queue"`
	// Jobs are the jobs that decided the class.
	Jobs []Job `json:"jobs"`
	// Reason is one line that says why, and for a problem what to change.
	Reason string `json:"reason"`
}

// Job is where a job that decided a class is defined.
type Job struct {
	Name   string       `json:"name"`
	Source rules.Source `json:"source"`
	Path   string       `json:"path"`
	Line   int          `json:"line,omitempty"`
}

// Finding is a required context whose class the caller fails on.
type Finding struct {
	Repo    string      `json:"repo"`
	Branch  string      `json:"branch"`
	Context string      `json:"context"`
	Class   rules.Class `json:"class"`
	Reason  string      `json:"reason"`
}

// Findings lists the required contexts of report whose class is in failOn,
// in report order. It is pure, so that a re-audit can be compared with the
// last one.
func Findings(report *RepoReport, failOn []rules.Class) []Finding {
	if report == nil {
		return nil
	}
	var out []Finding
	for _, b := range report.Branches {
		out = append(out, b.findings(failOn)...)
	}
	return out
}

func (b BranchReport) findings(failOn []rules.Class) []Finding {
	var out []Finding
	for _, r := range b.Required {
		if slices.Contains(failOn, r.Class) {
			out = append(out, Finding{Repo: b.Repo, Branch: b.Branch, Context: r.Context, Class: r.Class, Reason: r.Reason})
		}
	}
	return out
}

// Rules are the job rules that judge a branch, as a PR to it is judged.
type Rules struct {
	Jobs []*rules.Job
	// CarryPRResults is the repo config's merge_queue.carry_pr_results.
	CarryPRResults bool
	// Err, when set, is why the rules cannot be read: every context is
	// unknown then, as fix-status blocks them all.
	Err error
}

// BranchInput is what judging one branch takes.
type BranchInput struct {
	Repo, Branch string
	// Required are the required checks of the branch as GitHub lists them:
	// classic protection ∪ rulesets, a context possibly more than once.
	Required []plan.RequiredCheck
	Rules    Rules
	// MergeQueue: the branch has a merge queue.
	MergeQueue bool
	// AppID is fix-status's own app: a context pinned to it is reported by
	// fix-status's skips when its job is conditional.
	AppID int64
}

// Branch judges every required context of one branch. It is pure.
func Branch(in BranchInput) BranchReport {
	out := BranchReport{Repo: in.Repo, Branch: in.Branch, MergeQueue: in.MergeQueue, Required: []Required{}}
	for _, req := range union(in.Required) {
		out.Required = append(out.Required, judge(in, req))
	}
	return out
}

// requirement is one context with every source and pin that requires it.
type requirement struct {
	context string
	from    []string
	pins    []pin
}

type pin struct {
	app  int64
	from string
}

// union merges the required checks by context, case-insensitively as
// GitHub compares contexts, keeping every pin: GitHub applies every rule,
// so a context pinned by one source and not by another is pinned.
func union(req []plan.RequiredCheck) []*requirement {
	var out []*requirement
	byName := map[string]*requirement{}
	for _, rc := range req {
		k := strings.ToLower(rc.Context)
		r := byName[k]
		if r == nil {
			r = &requirement{context: rc.Context}
			byName[k] = r
			out = append(out, r)
		}
		if !slices.Contains(r.from, rc.From) {
			r.from = append(r.from, rc.From)
		}
		if rc.AppID != 0 && !slices.ContainsFunc(r.pins, func(p pin) bool { return p.app == rc.AppID }) {
			r.pins = append(r.pins, pin{app: rc.AppID, from: rc.From})
		}
	}
	return out
}

func judge(in BranchInput, req *requirement) Required {
	out := Required{Context: req.context, From: strings.Join(req.from, "+")}
	if len(req.pins) > 0 {
		out.AppID = req.pins[0].app
	}
	if in.Rules.Err != nil {
		out.Class, out.MergeQueue = rules.ClassUnknown, rules.MergeQueueStalls
		out.Reason = "the rules cannot be read, so fix-status blocks it: " + firstLine(in.Rules.Err.Error())
		return in.queue(out)
	}
	cl := rules.Classify(in.Rules.Jobs, req.context, in.Branch)
	out.Class, out.MergeQueue, out.Reason = cl.Class, cl.MergeQueue, cl.Reason
	out.Jobs = []Job{}
	for _, j := range cl.Jobs {
		out.Jobs = append(out.Jobs, Job{Name: j.Name, Source: j.Source, Path: j.Origin.Path, Line: j.Origin.Line})
	}
	if len(cl.Jobs) > 0 && !slices.ContainsFunc(cl.Jobs, func(j *rules.Job) bool { return !j.SkipReport }) {
		// Prow runs a skip_report job but never posts its result.
		out.Class, out.MergeQueue = rules.ClassOrphaned, rules.MergeQueueStalls
		out.Reason = fmt.Sprintf("%s has skip_report: true, so no job reports %s: drop skip_report or the requirement", cl.Jobs[0].Name, req.context)
		return in.queue(out)
	}
	if out.Class == rules.ClassOrphaned {
		return in.queue(out)
	}
	switch {
	case len(req.pins) == 1 && out.AppID == in.AppID && in.pinReported(cl, out.AppID):
		// Its skips count, the job's own results do not.
		out.Reason += fmt.Sprintf("; pinned to %s: when its job runs, the job's own result does not count", in.appName(out.AppID))
	case len(req.pins) > 1:
		a, b := req.pins[0], req.pins[1]
		out.Class, out.MergeQueue = ClassPinnedElsewhere, rules.MergeQueueStalls
		out.Reason = fmt.Sprintf("pinned to %s by %s and to %s by %s: no result satisfies both; keep one pin",
			in.appName(a.app), a.from, in.appName(b.app), b.from)
	case out.AppID != 0 && !in.pinReported(cl, out.AppID):
		out.Class, out.MergeQueue = ClassPinnedElsewhere, rules.MergeQueueStalls
		out.Reason = fmt.Sprintf("pinned to %s, which never reports it (%s is %s); pin it to the app that reports it, or to any source",
			in.appName(out.AppID), cl.Jobs[0].Name, reporterOf(cl.Jobs[0]))
	case out.AppID != 0 && out.AppID != in.AppID:
		// The pinned app reports it, but fix-status's results do not count:
		// nothing repairs it when its job does not run.
		if out.Class == rules.ClassConditional {
			out.Reason += fmt.Sprintf("; pinned to %s, so fix-status cannot skip it: PRs that do not run it wait", in.appName(out.AppID))
		}
		if out.MergeQueue == rules.MergeQueueRepaired {
			out.MergeQueue = rules.MergeQueueStalls
		}
		return in.queue(out)
	}
	if out.MergeQueue == rules.MergeQueueStalls && in.Rules.CarryPRResults && out.Class != ClassPinnedElsewhere {
		// fix-status carries the PRs' results to the group.
		out.MergeQueue = rules.MergeQueueRepaired
	}
	return in.queue(out)
}

// queue answers n/a on a branch without a merge queue.
func (in BranchInput) queue(r Required) Required {
	if !in.MergeQueue {
		r.MergeQueue = MergeQueueNA
	}
	return r
}

// pinReported says whether a job that decided cl reports the context as
// app: GitHub Actions' jobs report as GitHub Actions, other CI (Prow, the
// repo config's explicit rules) as some app that is not GitHub Actions, and
// fix-status reports the skips of a conditional job.
func (in BranchInput) pinReported(cl rules.Classification, app int64) bool {
	if app == in.AppID {
		return cl.Class == rules.ClassConditional
	}
	for _, j := range cl.Jobs {
		if (j.Source == rules.SourceActions) == (app == plan.GitHubActionsAppID) {
			return true
		}
	}
	return false
}

func reporterOf(j *rules.Job) string {
	switch j.Source {
	case rules.SourceActions:
		return "reported by GitHub Actions"
	case rules.SourceProw:
		return "a Prow job"
	}
	return "reported by the CI the repo config names"
}

func (in BranchInput) appName(id int64) string {
	switch id {
	case plan.GitHubActionsAppID:
		return fmt.Sprintf("GitHub Actions (app %d)", id)
	case in.AppID:
		return fmt.Sprintf("fix-status (app %d)", id)
	}
	return fmt.Sprintf("app %d", id)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
