package rules

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"
)

// Class is how a required context fares on the pull requests to a branch,
// judged from the jobs alone (the classes of `fix-status audit`; whether
// the context is pinned to an app is known only online).
type Class string

// The classes.
const (
	ClassAlways      Class = "always"        // a job reports it on every PR
	ClassConditional Class = "conditional"   // only for some changes: PRs wait unless fix-status skips it
	ClassManual      Class = "manual"        // a person must start its job on every PR
	ClassNotOnBranch Class = "not_on_branch" // its jobs never run on this branch
	ClassOrphaned    Class = "orphaned"      // no job reports it: every PR is blocked
	ClassUnknown     Class = "unknown"       // cannot be decided statically
)

// MergeQueue is how a required context fares in a merge queue for a branch.
type MergeQueue string

// The merge queue answers.
const (
	// MergeQueueRuns: a job reports it on merge groups itself.
	MergeQueueRuns MergeQueue = "runs"
	// MergeQueueRepaired: its jobs never run on merge groups, but they are
	// conditional (or not on the branch), so fix-status skips it on groups
	// whose changes do not concern them.
	MergeQueueRepaired MergeQueue = "repaired"
	// MergeQueueStalls: its jobs never run on merge groups and nothing can
	// tell when they would not (always-run, manual, unknown, or no job), so
	// every group waits. With the repo config's merge_queue.carry_pr_results
	// on, fix-status carries the PRs' results instead: callers read stalls
	// as repaired then.
	MergeQueueStalls MergeQueue = "stalls"
)

// Classification is the class and merge queue answer of one required
// context on one branch.
type Classification struct {
	Class      Class
	MergeQueue MergeQueue
	// Jobs are the jobs that decided: those reporting the context (for
	// not_on_branch, all of them), or for a context only jobs with a
	// ContextPattern may report, those.
	Jobs []*Job
	// Reason is one human line of at most MaxReason characters.
	Reason string
}

// classRank orders the classes of several jobs reporting one context by
// what PRs see, as the plan combines their verdicts: one always-run job
// reports it on every PR; otherwise an unknown job keeps it from being
// skipped, a manual one makes PRs wait for a person, and only when every
// job is conditional can fix-status skip it.
var classRank = map[Class]int{ClassAlways: 4, ClassUnknown: 3, ClassManual: 2, ClassConditional: 1, ClassNotOnBranch: 0}

// Classify says how context fares on the PRs to branch and in its merge
// queue, from jobs alone (every job of the repository). It is pure.
func Classify(jobs []*Job, context, branch string) Classification {
	var reporters, tainting []*Job
	for _, j := range jobs {
		switch {
		case j.ContextPattern != nil && j.ContextPattern.Match(context):
			tainting = append(tainting, j)
		case j.ContextPattern == nil && strings.EqualFold(j.Context, context):
			reporters = append(reporters, j)
		}
	}
	if len(reporters) == 0 && len(tainting) == 0 {
		reason := "no job reports " + context
		if near := nearest(jobs, context); near != nil {
			reason += fmt.Sprintf(": renamed to %s in %s?", near.Context, near.Origin.Path)
		}
		return Classification{Class: ClassOrphaned, MergeQueue: MergeQueueStalls, Reason: reasonLine(reason)}
	}
	if len(reporters) == 0 {
		c := Classification{Class: ClassUnknown, MergeQueue: mergeQueue(tainting, branch, ClassUnknown), Jobs: tainting}
		c.Reason = fmt.Sprintf("only %s may report it: its check name %s is not known statically", tainting[0].Name, tainting[0].ContextPattern)
		return c.finish(tainting)
	}

	c := Classification{Class: ClassNotOnBranch}
	var decided *Job
	for _, j := range reporters {
		class, reason := jobClass(j, branch)
		if decided == nil || classRank[class] > classRank[c.Class] {
			c.Class, c.Reason, decided = class, reason, j
		}
		if class != ClassNotOnBranch {
			c.Jobs = append(c.Jobs, j)
		}
	}
	if c.Class == ClassNotOnBranch {
		c.Jobs = reporters
	}
	c.Reason = decided.Name + ": " + c.Reason
	// Jobs that may report the context matter on pull requests; on merge
	// groups they are judged like any job (see EvaluateJob), so the queue's
	// answer is the reporting jobs'.
	c.MergeQueue = mergeQueue(c.Jobs, branch, c.Class)
	if c.Class == ClassConditional {
		// A job that may report the context and runs on (nearly) every PR
		// keeps fix-status from skipping it.
		for _, t := range tainting {
			if class, _ := jobClass(t, branch); class == ClassAlways || class == ClassUnknown {
				c.Class = ClassUnknown
				c.Reason = fmt.Sprintf("fix-status cannot skip it on pull requests: %s may report it (check name %s)", t.Name, t.ContextPattern)
				c.Jobs = append(c.Jobs, t)
				break
			}
		}
	}
	return c.finish(c.Jobs)
}

// finish adds to the reason what stalls a merge queue and bounds it.
func (c Classification) finish(jobs []*Job) Classification {
	if c.MergeQueue == MergeQueueStalls && len(jobs) > 0 && jobs[0].Unknown == "" && jobs[0].MergeGroup.Fix != "" {
		c.Reason += "; merge groups wait: " + jobs[0].MergeGroup.Fix
	}
	c.Reason = reasonLine(c.Reason)
	return c
}

// jobClass is the class of one job on branch, with a reason.
func jobClass(j *Job, branch string) (Class, string) {
	if j.Unknown != "" {
		return ClassUnknown, j.Unknown
	}
	if j.Branches != nil {
		if ok, reason := j.Branches.Match(branch); !ok {
			return ClassNotOnBranch, reason
		}
	}
	if j.Trigger != TriggerManual {
		switch j.Heads {
		case HeadsFirst:
			return ClassManual, j.HeadsNote + ": later pushes wait for a person"
		case HeadsLater:
			return ClassManual, j.HeadsNote + ": a new PR waits for a push"
		}
	}
	switch j.Trigger {
	case TriggerAlways:
		return ClassAlways, "runs on every pull request to " + branch
	case TriggerManual:
		return ClassManual, manualReason(j)
	}
	if j.Files == nil {
		return ClassUnknown, "conditional job without a file filter"
	}
	if s, ok := j.Files.(fmt.Stringer); ok {
		return ClassConditional, "runs only for some changes: " + s.String()
	}
	return ClassConditional, "runs only for some changes"
}

// mergeQueue is the merge queue answer of the jobs that decided class.
func mergeQueue(jobs []*Job, branch string, class Class) MergeQueue {
	for _, j := range jobs {
		if j.Unknown != "" || !j.MergeGroup.Runs {
			continue
		}
		if j.MergeGroup.Branches == nil {
			return MergeQueueRuns
		}
		if ok, _ := j.MergeGroup.Branches.Match(branch); ok {
			return MergeQueueRuns
		}
	}
	if class == ClassConditional || class == ClassNotOnBranch {
		return MergeQueueRepaired
	}
	return MergeQueueStalls
}

// nearest finds the job whose context looks like a renamed context: a small
// edit distance, or one of the two extends the other (pull-foo and
// pull-foo-e2e). Ties go to the first job.
func nearest(jobs []*Job, context string) *Job {
	want := strings.ToLower(context)
	n := utf8.RuneCountInString(want)
	var best *Job
	bestDist := 0
	for _, j := range jobs {
		if j.ContextPattern != nil || j.Context == "" {
			continue
		}
		got := strings.ToLower(j.Context)
		d := levenshtein.ComputeDistance(want, got)
		extends := min(n, utf8.RuneCountInString(got)) >= 4 && (strings.HasPrefix(got, want) || strings.HasPrefix(want, got))
		if d > max(2, n/4) && !extends {
			continue
		}
		if best == nil || d < bestDist {
			best, bestDist = j, d
		}
	}
	return best
}
