package actions

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fix-status/fix-status/app/rules"
	"go.yaml.in/yaml/v3"
)

// event is a pull_request, pull_request_target or merge_group trigger.
type event struct {
	name     string
	types    []string // nil: GitHub's default types
	branches *branchFilter
	paths    *pathFilter
	unknown  string
}

// heads says on which heads of a PR a pull request event starts the
// workflow: opened and reopened on the head the PR has then, synchronize on
// each head pushed later. By default all three.
func (e *event) heads() (first, later bool) {
	if e.types == nil {
		return true, true
	}
	for _, t := range e.types {
		switch t {
		case "opened", "reopened":
			first = true
		case "synchronize":
			later = true
		}
	}
	return first, later
}

// startsOnMergeGroup reports whether a merge_group event starts the
// workflow: checks_requested is its only activity type, and the default.
func (e *event) startsOnMergeGroup() bool {
	return e.types == nil || slices.Contains(e.types, "checks_requested")
}

// parseOn returns the pull request events of `on` in the order written, and
// its merge_group event (nil when there is none).
func parseOn(n *yaml.Node) (prs []*event, mergeGroup *event, err error) {
	n = resolve(n)
	var names []string
	configs := map[string]*yaml.Node{}
	switch n.Kind {
	case yaml.ScalarNode:
		s, ok := scalarString(n)
		if !ok {
			return nil, nil, errors.New("on: no events")
		}
		names = []string{s}
	case yaml.SequenceNode:
		if names, err = stringList(n, "on"); err != nil {
			return nil, nil, err
		}
	case yaml.MappingNode:
		fields, err := mapping(n, "on")
		if err != nil {
			return nil, nil, err
		}
		for _, f := range fields {
			names = append(names, f.key.Value)
			configs[f.key.Value] = f.val
		}
	default:
		return nil, nil, errors.New("on: must be an event, a list or a mapping")
	}
	seen := map[string]bool{}
	for _, name := range names {
		if (name != "pull_request" && name != "pull_request_target" && name != "merge_group") || seen[name] {
			continue
		}
		seen[name] = true
		ev, err := parseEvent(name, configs[name])
		if err != nil {
			return nil, nil, err
		}
		if name == "merge_group" {
			mergeGroup = ev
		} else {
			prs = append(prs, ev)
		}
	}
	return prs, mergeGroup, nil
}

// parseEvent reads the filters of on.<name>.
func parseEvent(name string, n *yaml.Node) (*event, error) {
	ev := &event{name: name}
	where := "on." + name
	if isNull(resolve(n)) {
		return ev, nil
	}
	fields, err := mapping(n, where)
	if err != nil {
		return nil, err
	}
	lists := map[string][]string{}
	for _, f := range fields {
		key := f.key.Value
		switch key {
		case "paths", "paths-ignore":
			if name == "merge_group" {
				// merge_group has no path filters: GitHub runs the
				// workflow whatever the group changes.
				continue
			}
			fallthrough
		case "types", "branches", "branches-ignore":
			l, err := stringList(f.val, where+"."+key)
			if err != nil {
				return nil, err
			}
			if len(l) == 0 && key != "types" {
				// GitHub does not document an empty filter; never guess.
				ev.unknown = where + "." + key + " is an empty list"
			}
			lists[key] = l
		}
	}
	if _, ok := lists["types"]; ok {
		ev.types = append([]string{}, lists["types"]...)
	}
	if lists["branches"] != nil && lists["branches-ignore"] != nil {
		return nil, fmt.Errorf("%s: branches and branches-ignore cannot both be used", where)
	}
	if lists["paths"] != nil && lists["paths-ignore"] != nil {
		return nil, fmt.Errorf("%s: paths and paths-ignore cannot both be used", where)
	}
	for _, key := range []string{"branches", "branches-ignore", "paths", "paths-ignore"} {
		l, ok := lists[key]
		if !ok || len(l) == 0 {
			continue
		}
		pl, err := CompilePatterns(l)
		if err != nil {
			var pe *PatternError
			if errors.As(err, &pe) && pe.Index >= 0 {
				return nil, fmt.Errorf("%s.%s[%d]: %w", where, key, pe.Index, err)
			}
			return nil, fmt.Errorf("%s.%s: %w", where, key, err)
		}
		ignore := strings.HasSuffix(key, "-ignore")
		if strings.HasPrefix(key, "branches") {
			ev.branches = &branchFilter{list: pl, ignore: ignore}
		} else {
			ev.paths = &pathFilter{list: pl, ignore: ignore}
		}
	}
	return ev, nil
}

// branchFilter is `branches` or `branches-ignore`, matched against the
// PR's base branch.
type branchFilter struct {
	list   *PatternList
	ignore bool
}

func (f *branchFilter) field() string {
	if f.ignore {
		return "branches-ignore"
	}
	return "branches"
}

// Match implements rules.BranchFilter.
func (f *branchFilter) Match(branch string) (bool, string) {
	m := f.list.Match(branch)
	switch {
	case f.ignore && m:
		return false, fmt.Sprintf("branch %s matches %s %s", branch, f.field(), f.list)
	case !f.ignore && !m:
		return false, fmt.Sprintf("branch %s does not match %s %s", branch, f.field(), f.list)
	}
	return true, ""
}

// NewPathFilter compiles a file filter with GitHub Actions' semantics, for
// rules outside workflows that promise them (the repo config's explicit
// rules): `paths` (ignore false), the job runs when some changed file is
// selected by patterns; `paths-ignore`, unless every changed file is. Errors
// are *PatternError.
func NewPathFilter(patterns []string, ignore bool) (rules.FileFilter, error) {
	l, err := CompilePatterns(patterns)
	if err != nil {
		return nil, err
	}
	return &pathFilter{list: l, ignore: ignore}, nil
}

// pathFilter is `paths` or `paths-ignore`.
type pathFilter struct {
	list   *PatternList
	ignore bool
}

func (f *pathFilter) field() string {
	if f.ignore {
		return "paths-ignore"
	}
	return "paths"
}

// String names the filter: "paths [src/**, !src/docs/**]".
func (f *pathFilter) String() string { return f.field() + " " + f.list.String() }

// Match implements rules.FileFilter: `paths` runs when a file matches,
// `paths-ignore` unless every file matches; no files never run.
func (f *pathFilter) Match(files []string) (bool, string) {
	if len(files) == 0 {
		return false, "no changed files"
	}
	for _, file := range files {
		pattern, m := f.list.MatchPattern(file)
		switch {
		case !f.ignore && m:
			return true, fmt.Sprintf("paths %s matches %s", pattern, file)
		case f.ignore && !m:
			return true, fmt.Sprintf("%s does not match paths-ignore %s", file, f.list)
		}
	}
	if f.ignore {
		return false, "every changed file matches paths-ignore " + f.list.String()
	}
	return false, "no changed file matches paths " + f.list.String()
}

// filterKey identifies a filter for comparing the two pull request events.
func filterKey(field string, l *PatternList) string {
	return field + "\x00" + strings.Join(l.Patterns(), "\x00")
}

func (e *event) branchKey() string {
	if e.branches == nil {
		return ""
	}
	return filterKey(e.branches.field(), e.branches.list)
}

func (e *event) pathKey() string {
	if e.paths == nil {
		return ""
	}
	return filterKey(e.paths.field(), e.paths.list)
}

// anyBranch runs when any of its filters does (the OR of the branch
// filters of pull_request and pull_request_target).
type anyBranch []rules.BranchFilter

// Match implements rules.BranchFilter.
func (a anyBranch) Match(branch string) (bool, string) {
	reasons := make([]string, 0, len(a))
	for _, f := range a {
		ok, reason := f.Match(branch)
		if ok {
			return true, ""
		}
		reasons = append(reasons, reason)
	}
	return false, strings.Join(reasons, "; ")
}

// anyFiles runs when any of its filters does.
type anyFiles []rules.FileFilter

// String names the filters: "paths [a/**] or paths-ignore [b/**]".
func (a anyFiles) String() string {
	parts := make([]string, len(a))
	for i, f := range a {
		parts[i] = fmt.Sprint(f)
	}
	return strings.Join(parts, " or ")
}

// Match implements rules.FileFilter.
func (a anyFiles) Match(files []string) (bool, string) {
	reasons := make([]string, 0, len(a))
	for _, f := range a {
		ok, reason := f.Match(files)
		if ok {
			return true, reason
		}
		reasons = append(reasons, reason)
	}
	return false, strings.Join(reasons, "; ")
}

// workflowTrigger is how a workflow's jobs start on pull request updates.
type workflowTrigger struct {
	heads     rules.Heads
	headsNote string
	trigger   rules.Trigger
	files     rules.FileFilter
	branches  rules.BranchFilter
	manual    string
	unknown   string
}

// combine merges the pull request events of a workflow: its jobs run
// when either event fires.
func combine(events []*event) workflowTrigger {
	if len(events) == 0 {
		return workflowTrigger{trigger: rules.TriggerManual, manual: "runs only on merge groups, not on pull requests"}
	}
	var active []*event
	var quiet []string
	anyFirst, anyLater := false, false
	for _, e := range events {
		first, later := e.heads()
		if first || later {
			active = append(active, e)
			anyFirst, anyLater = anyFirst || first, anyLater || later
		} else {
			quiet = append(quiet, fmt.Sprintf("%s types [%s]", e.name, strings.Join(e.types, ", ")))
		}
	}
	if len(active) == 0 {
		return workflowTrigger{trigger: rules.TriggerManual, manual: "runs only on " + strings.Join(quiet, ", ")}
	}
	// The filters of every event that starts on some head judge every
	// head: on a head only some of them start on, that admits more, so a
	// skip stays true.
	t := combineFilters(active)
	if anyFirst && anyLater {
		return t
	}
	var types []string
	for _, e := range active {
		for _, typ := range e.types {
			if (typ == "opened" || typ == "reopened" || typ == "synchronize") && !slices.Contains(types, typ) {
				types = append(types, typ)
			}
		}
	}
	t.heads, t.headsNote = rules.HeadsLater, "runs only on "+strings.Join(types, ", ")
	if anyFirst {
		t.heads = rules.HeadsFirst
	}
	return t
}

// combineFilters merges the filters of the pull request events that start
// a workflow: it runs when either event's filters pass.
func combineFilters(active []*event) workflowTrigger {
	for _, e := range active {
		if e.unknown != "" {
			return workflowTrigger{trigger: rules.TriggerConditional, unknown: e.unknown}
		}
	}
	if len(active) == 1 {
		return eventTrigger(active[0])
	}
	a, b := active[0], active[1]
	switch {
	case a.branches == nil && a.paths == nil, b.branches == nil && b.paths == nil:
		// One event runs on every update to every branch.
		return workflowTrigger{trigger: rules.TriggerAlways}
	case a.branchKey() == b.branchKey():
		// Same branches: run on them when either path filter passes.
		t := eventTrigger(a)
		if a.pathKey() != b.pathKey() {
			if a.paths == nil || b.paths == nil {
				t.trigger, t.files = rules.TriggerAlways, nil
			} else {
				t.files = anyFiles{a.paths, b.paths}
			}
		}
		return t
	case a.pathKey() == b.pathKey():
		// Same paths: run on the branches of either event.
		t := eventTrigger(a)
		if a.branches == nil || b.branches == nil {
			t.branches = nil
		} else {
			t.branches = anyBranch{a.branches, b.branches}
		}
		return t
	}
	// "(branch A and paths A) or (branch B and paths B)" does not fit the
	// Job model, whose branch and file filters are checked one after the
	// other.
	return workflowTrigger{trigger: rules.TriggerConditional, unknown: "pull_request and pull_request_target filter different branches and paths"}
}

// eventTrigger is the trigger of one event. Typed nil pointers must not
// end up in the interfaces.
func eventTrigger(e *event) workflowTrigger {
	t := workflowTrigger{trigger: rules.TriggerAlways}
	if e.branches != nil {
		t.branches = e.branches
	}
	if e.paths != nil {
		t.trigger, t.files = rules.TriggerConditional, e.paths
	}
	return t
}
