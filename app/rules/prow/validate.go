package prow

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/fix-status/fix-status/app/rules"
)

// presubmit is one presubmit as written, with its defaults and compiled
// regexes.
type presubmit struct {
	repo   string
	origin rules.Origin

	name              string
	alwaysRun         bool
	runIfChanged      string
	skipIfOnlyChanged string
	optional          bool
	skipReport        bool
	context           string
	branches          []string
	skipBranches      []string
	trigger           string
	rerunCommand      string
	// runBeforeMerge jobs are started by Tide at merge time by the same
	// ShouldRun rules as any presubmit, so the flag does not change the
	// verdict; it is read only so the key is known.
	runBeforeMerge bool

	branchRe  *regex // nil when branches is empty
	skipRe    *regex // nil when skip_branches is empty
	changesRe *regex // run_if_changed xor skip_if_only_changed
	// brokenBranches is set when a branch regex did not compile: the job's
	// branch overlap with others cannot be decided.
	brokenBranches bool
}

func (ps *presubmit) allBranches() bool {
	return len(ps.branches) == 0 && len(ps.skipBranches) == 0
}

// couldRun is Prow's Brancher.ShouldRun: skip_branches wins, no filter
// admits every branch.
func (ps *presubmit) couldRun(branch string) bool {
	if ps.allBranches() {
		return true
	}
	if ps.skipRe != nil && ps.skipRe.match(branch) {
		return false
	}
	return ps.branchRe == nil || ps.branchRe.match(branch)
}

// branchesIntersect is Prow's Brancher.Intersects: literal branch lists
// are compared as strings (so [main] and [^main$] are disjoint to Prow), and
// only a job with skip_branches alone is tested against the other's literal
// branch names.
func branchesIntersect(a, b *presubmit) bool {
	if a.allBranches() || b.allBranches() {
		return true
	}
	if len(a.branches) > 0 {
		if len(b.branches) > 0 {
			for _, x := range a.branches {
				for _, y := range b.branches {
					if x == y {
						return true
					}
				}
			}
			return false
		}
		for _, x := range a.branches {
			if b.couldRun(x) {
				return true
			}
		}
		return false
	}
	if len(b.branches) == 0 {
		// Both only have skip_branches: some branch is left to both.
		return true
	}
	return branchesIntersect(b, a)
}

type loader struct {
	errs  []error
	cache map[string]*regex
}

func (l *loader) fail(path string, line int, repo, job, format string, args ...any) {
	l.errs = append(l.errs, &ConfigError{Path: path, Line: line, Repo: repo, Job: job, Problem: fmt.Sprintf(format, args...)})
}

// finish merges the files in order (presubmits of one repository are
// appended, as Prow's mergeJobConfigs does), then defaults, compiles and
// validates every job and builds the Jobs.
func finish(files []*configFile, ruleFiles rules.RuleFiles) (*Config, error) {
	l := &loader{cache: map[string]*regex{}}
	byRepo := map[string][]*presubmit{}
	for _, f := range files {
		if f.readErr != nil {
			l.errs = append(l.errs, f.readErr)
			continue
		}
		l.errs = append(l.errs, f.errs...)
		for _, ps := range f.jobs {
			byRepo[ps.repo] = append(byRepo[ps.repo], ps)
		}
	}
	repos := make([]string, 0, len(byRepo))
	for repo := range byRepo {
		repos = append(repos, repo)
	}
	sort.Strings(repos)
	for _, repo := range repos {
		jobs := byRepo[repo]
		for _, ps := range jobs {
			l.prepare(ps)
		}
		l.checkConflicts(jobs)
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	c := &Config{jobs: make(map[string][]*rules.Job, len(repos)), repos: repos, ruleFiles: ruleFiles}
	for _, repo := range repos {
		out := make([]*rules.Job, len(byRepo[repo]))
		for i, ps := range byRepo[repo] {
			out[i] = ps.job()
		}
		c.jobs[repo] = out
	}
	return c, nil
}

// defaultTrigger is Prow's DefaultTriggerFor: the name is inserted
// without escaping, so a name with regex syntax changes the trigger (and may
// make the rerun command fail to match it, which Prow rejects too).
func defaultTrigger(name string) string {
	return `(?m)^/test( | .* )` + name + `,?($|\s.*)`
}

// plainName is Prow's own rule for job names (validateJobName).
var plainName = regexp.MustCompile(`^[A-Za-z0-9-._]+$`)

// prepare applies Prow's defaults, compiles the regexes and checks the job on
// its own.
func (l *loader) prepare(ps *presubmit) {
	fail := func(format string, args ...any) {
		l.fail(ps.origin.Path, ps.origin.Line, ps.repo, ps.name, format, args...)
	}
	if ps.name == "" {
		fail("missing name")
	}
	if ps.context == "" {
		ps.context = ps.name
	}
	defaulted := ps.trigger == "" && ps.rerunCommand == ""
	if defaulted {
		ps.trigger = defaultTrigger(ps.name)
		ps.rerunCommand = "/test " + ps.name
	}

	if ps.alwaysRun && ps.runIfChanged != "" {
		fail("always_run and run_if_changed are mutually exclusive")
	}
	if ps.alwaysRun && ps.skipIfOnlyChanged != "" {
		fail("always_run and skip_if_only_changed are mutually exclusive")
	}
	if ps.runIfChanged != "" && ps.skipIfOnlyChanged != "" {
		fail("run_if_changed and skip_if_only_changed are mutually exclusive")
	}

	switch {
	case ps.trigger != "" && ps.rerunCommand == "":
		fail("trigger is set without rerun_command: set both or neither")
		l.compile(ps.trigger, "trigger", fail)
	case ps.trigger == "" && ps.rerunCommand != "":
		fail("rerun_command is set without trigger: set both or neither")
	case defaulted && plainName.MatchString(ps.name):
		// The default trigger of a name made of these characters always
		// compiles and matches "/test <name>"; fix-status never matches
		// comments against triggers, so there is nothing to compile.
	default:
		if re := l.compile(ps.trigger, "trigger", fail); re != nil && !re.re.MatchString(ps.rerunCommand) {
			fail("rerun_command %q does not match trigger %q", ps.rerunCommand, ps.trigger)
		}
	}

	// Prow joins the list into one regex, without grouping: `branches:
	// [main]` also matches maintenance-2.
	if len(ps.branches) > 0 {
		ps.branchRe = l.compile(strings.Join(ps.branches, "|"), "branches", fail).matcher()
		ps.brokenBranches = ps.branchRe == nil
	}
	if len(ps.skipBranches) > 0 {
		ps.skipRe = l.compile(strings.Join(ps.skipBranches, "|"), "skip_branches", fail).matcher()
		ps.brokenBranches = ps.brokenBranches || ps.skipRe == nil
	}
	if ps.runIfChanged != "" {
		ps.changesRe = l.compile(ps.runIfChanged, "run_if_changed", fail).matcher()
	}
	if ps.skipIfOnlyChanged != "" {
		re := l.compile(ps.skipIfOnlyChanged, "skip_if_only_changed", fail).matcher()
		if ps.runIfChanged == "" {
			ps.changesRe = re
		}
	}
}

// compile compiles expr once per loaded config; jobs share the result. It
// returns nil (after reporting) when expr does not compile.
func (l *loader) compile(expr, field string, fail func(string, ...any)) *regex {
	re, ok := l.cache[expr]
	if !ok {
		re = newRegex(expr)
		l.cache[expr] = re
	}
	if re.err != nil {
		fail("%s", invalidRegex(field, expr, re.err))
		return nil
	}
	return re
}

// checkConflicts applies Prow's cross-job rules for one repository: a name
// may repeat only on disjoint branches, and two differently named jobs on
// overlapping branches may not report the same context. Each problem is
// reported once, on the later job.
func (l *loader) checkConflicts(jobs []*presubmit) {
	byName := map[string][]*presubmit{}
	byContext := map[string][]*presubmit{}
	for _, ps := range jobs {
		if ps.name == "" {
			continue
		}
		for _, prev := range byName[ps.name] {
			if overlap(prev, ps) {
				l.fail(ps.origin.Path, ps.origin.Line, ps.repo, ps.name,
					"job name already defined at %s:%d on overlapping branches (a name may repeat only on disjoint branches)",
					prev.origin.Path, prev.origin.Line)
				break
			}
		}
		for _, prev := range byContext[ps.context] {
			if prev.name != ps.name && overlap(prev, ps) {
				l.fail(ps.origin.Path, ps.origin.Line, ps.repo, ps.name,
					"reports to context %q like job %q (%s:%d) on overlapping branches",
					ps.context, prev.name, prev.origin.Path, prev.origin.Line)
			}
		}
		byName[ps.name] = append(byName[ps.name], ps)
		byContext[ps.context] = append(byContext[ps.context], ps)
	}
}

// overlap is Intersects for jobs whose branch regexes compiled; a job
// with a broken branch regex already has its error.
func overlap(a, b *presubmit) bool {
	if a.brokenBranches || b.brokenBranches {
		return false
	}
	return branchesIntersect(a, b)
}

// job converts a validated presubmit into the shared model.
func (ps *presubmit) job() *rules.Job {
	j := &rules.Job{
		Name:       ps.name,
		Context:    ps.context,
		Source:     rules.SourceProw,
		Origin:     ps.origin,
		Trigger:    rules.TriggerManual,
		Optional:   ps.optional,
		SkipReport: ps.skipReport,
		Rerun:      rules.Rerun{Method: rules.RerunComment, Comment: ps.rerunCommand},
		// Prow starts presubmits on pull requests only; Tide, not GitHub's
		// merge queue, is its merge pool.
		MergeGroup: rules.MergeGroup{Fix: "Prow does not run on merge groups"},
	}
	switch {
	case ps.alwaysRun:
		j.Trigger = rules.TriggerAlways
	case ps.runIfChanged != "":
		j.Trigger = rules.TriggerConditional
		j.Files = &fileFilter{expr: ps.runIfChanged, re: ps.changesRe}
	case ps.skipIfOnlyChanged != "":
		j.Trigger = rules.TriggerConditional
		j.Files = &fileFilter{expr: ps.skipIfOnlyChanged, re: ps.changesRe, skip: true}
	}
	if !ps.allBranches() {
		f := &branchFilter{branch: ps.branchRe, skip: ps.skipRe}
		if ps.branchRe != nil {
			f.branches = strings.Join(ps.branches, "|")
		}
		if ps.skipRe != nil {
			f.skipBranches = strings.Join(ps.skipBranches, "|")
		}
		j.Branches = f
	}
	return j
}
