package fakegithub

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The emulator does not run GitHub Actions: check runs exist because a
// scenario or an event reports them. For merge queues a small simulation is
// opt-in (scenario actions.simulate_merge_group): when a merge group is
// built, each workflow file of the base branch (.github/workflows/*.yml or
// *.yaml) whose `on:` has a merge_group trigger matching the group (types
// include checks_requested or are not set; branches / branches-ignore
// filters match the base branch) gets a workflow run on the group's head
// with one check run per job, named as GitHub names them (the job's name,
// else its id). Only `on:`, `name:` and the jobs' names are read. The runs
// complete with actions.conclusion, or stay queued when it is empty.

// ScenarioActions configures the GitHub Actions simulation.
type ScenarioActions struct {
	// SimulateMergeGroup runs the base branch's merge_group workflows on
	// every new merge group.
	SimulateMergeGroup bool `yaml:"simulate_merge_group,omitempty" json:"simulate_merge_group,omitempty"`
	// Conclusion completes the simulated check runs (empty: they stay queued).
	Conclusion string `yaml:"conclusion,omitempty" json:"conclusion,omitempty"`
}

func (a *ScenarioActions) validate() error {
	if a != nil && a.Conclusion != "" && !checkConclusion[a.Conclusion] {
		return fmt.Errorf("actions.conclusion: %q is not one of %s", a.Conclusion, keys(checkConclusion))
	}
	return nil
}

// workflowJobs is what the simulation reads of a workflow file.
type workflowJobs struct {
	path, name string
	jobs       []string
}

// simulateMergeGroupWorkflows starts the base branch's merge_group
// workflows on a new group's head.
func (w *world) simulateMergeGroupWorkflows(r *repo, g *mergeGroup, now time.Time) {
	if w.actions == nil || !w.actions.SimulateMergeGroup {
		return
	}
	c := r.commits[g.headSHA]
	for _, wf := range mergeGroupWorkflows(w.treeAt(r, r.commits[g.baseSHA]), g.base) {
		for _, job := range wf.jobs {
			spec := checkRunSpec{name: job, status: "queued", appID: GitHubActionsAppID, workflow: wf.name,
				headBranch: strings.TrimPrefix(g.headRef, "refs/heads/"), actor: g.sender}
			if w.actions.Conclusion != "" {
				spec.status, spec.conclusion = "completed", w.actions.Conclusion
			}
			cr := w.addCheckRun(r, c, spec, now)
			cr.creator = w.appByID(GitHubActionsAppID).botLogin()
			cr.suite.run.event, cr.suite.run.path = "merge_group", wf.path
		}
	}
}

// mergeGroupWorkflows lists the workflows of a tree that run for a merge
// group on base, by path.
func mergeGroupWorkflows(tree map[string]string, base string) []workflowJobs {
	var paths []string
	for p := range tree {
		if dir, file := path.Split(p); dir == ".github/workflows/" && (strings.HasSuffix(file, ".yml") || strings.HasSuffix(file, ".yaml")) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var out []workflowJobs
	for _, p := range paths {
		var doc yaml.Node
		if yaml.Unmarshal([]byte(tree[p]), &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue // GitHub does not run an invalid workflow
		}
		top := doc.Content[0]
		if !runsOnMergeGroup(mappingValue(top, "on"), base) {
			continue
		}
		wf := workflowJobs{path: p, name: p}
		if n := mappingValue(top, "name"); n != nil && n.Kind == yaml.ScalarNode && n.Value != "" {
			wf.name = n.Value
		}
		if jobs := mappingValue(top, "jobs"); jobs != nil && jobs.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(jobs.Content); i += 2 {
				name := jobs.Content[i].Value
				if n := mappingValue(jobs.Content[i+1], "name"); n != nil && n.Kind == yaml.ScalarNode && n.Value != "" {
					name = n.Value
				}
				wf.jobs = append(wf.jobs, name)
			}
		}
		out = append(out, wf)
	}
	return out
}

// mappingValue is the value of key in a YAML mapping, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// scalars reads a scalar or a list of scalars.
func scalars(n *yaml.Node) []string {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, c.Value)
	}
	return out
}

// runsOnMergeGroup reads a workflow's `on:` (an event, a list of events or a
// mapping of events to their filters) for a merge_group trigger that runs
// for checks_requested on base.
func runsOnMergeGroup(on *yaml.Node, base string) bool {
	if on == nil {
		return false
	}
	if on.Kind != yaml.MappingNode {
		for _, e := range scalars(on) {
			if e == "merge_group" {
				return true
			}
		}
		return false
	}
	var mg *yaml.Node
	found := false
	for i := 0; i+1 < len(on.Content); i += 2 {
		if on.Content[i].Value == "merge_group" {
			mg, found = on.Content[i+1], true
		}
	}
	if !found {
		return false
	}
	if types := scalars(mappingValue(mg, "types")); types != nil && !slices.Contains(types, "checks_requested") {
		return false
	}
	branches, ignore := mappingValue(mg, "branches"), mappingValue(mg, "branches-ignore")
	switch {
	case branches != nil && ignore != nil:
		return false // GitHub rejects a workflow that sets both
	case branches != nil:
		return filterMatches(scalars(branches), base)
	case ignore != nil:
		return !filterMatches(scalars(ignore), base)
	}
	return true
}

// filterMatches applies a list of GitHub filter patterns: the last pattern
// that matches decides, and a pattern starting with ! excludes.
func filterMatches(patterns []string, name string) bool {
	matched := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		if filterPattern(strings.TrimPrefix(p, "!")).MatchString(name) {
			matched = !neg
		}
	}
	return matched
}

// never matches nothing (an invalid pattern).
var never = regexp.MustCompile(`^\b\B$`)

// filterPattern compiles one of GitHub's filter patterns: * is any text but
// /, ** any text, ? and + repeat the preceding character (zero or one, one
// or more), [...] is a class, \ escapes.
func filterPattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch ch := p[i]; ch {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?', '+':
			b.WriteByte(ch)
		case '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return never
			}
			b.WriteString(p[i : i+end+1])
			i += end
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return never
	}
	return re
}
