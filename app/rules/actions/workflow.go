// Package actions reads GitHub Actions workflows as a job source: every check
// name a workflow's jobs report on pull requests becomes one rules.Job. The
// semantics are GitHub's ("Workflow syntax for GitHub Actions"):
//
//   - a workflow reports on a PR when it triggers on pull_request or
//     pull_request_target for that activity (types; default opened,
//     synchronize, reopened) and its filters pass: branches/branches-ignore
//     on the base branch, paths (the last matching pattern decides, `!`
//     excludes) or paths-ignore (skipped only when every file matches);
//   - path filters see only the first 300 changed files, and no changed
//     files never run;
//   - a job reports as its name (or id), once per matrix combination, and a
//     reusable workflow call as "caller / called".
//
// The filter patterns are GitHub's own glob dialect (see CompileGlob).
package actions

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/fix-status/fix-status/app/rules"

	"gopkg.in/yaml.v3"
)

const (
	// maxFiles: GitHub evaluates path filters against the first 300
	// changed files only.
	maxFiles = 300
	// maxDepth: GitHub connects at most ten levels of reusable workflows;
	// deeper calls (or a workflow calling itself) fail on GitHub.
	maxDepth = 10
	// maxCombinations: a matrix generates at most 256 jobs on GitHub.
	maxCombinations = 256
	// maxJobs bounds the jobs visited and check names produced for one
	// workflow file, so that matrices and reusable workflows calling each
	// other many times cannot blow up.
	maxJobs = 10000
)

// updateTypes are the pull_request activity types GitHub uses when
// `types` is not given: the ones that happen when a PR is opened or pushed to.
var updateTypes = []string{"opened", "synchronize", "reopened"}

// LoadWorkflows reads every *.yml and *.yaml file of a .github/workflows
// directory in lexical order and returns their jobs. Reusable workflows
// called as ./.github/workflows/NAME are read from the same directory. On
// any error it returns no jobs and one error naming every invalid file.
func LoadWorkflows(dir string) ([]*rules.Job, error) {
	return load(os.DirFS(dir), ".", filepath.ToSlash(dir))
}

// LoadWorkflowsFS is LoadWorkflows over a file system (a repository at one
// ref); dir is a slash-separated path in it, e.g. ".github/workflows". A
// missing directory gives an error that matches fs.ErrNotExist.
func LoadWorkflowsFS(fsys fs.FS, dir string) ([]*rules.Job, error) {
	return load(fsys, dir, dir)
}

// load reads the workflows in dir of fsys, naming them under display in
// origins and messages.
func load(fsys fs.FS, dir, display string) ([]*rules.Job, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("failed to read workflows in %s: %w", display, err)
	}
	readLocal := func(name string) ([]byte, error) {
		if !isWorkflowFile(name) || strings.ContainsAny(name, `/\`) {
			return nil, fmt.Errorf("not a workflow file name: %q", name)
		}
		return fs.ReadFile(fsys, path.Join(dir, name))
	}
	var (
		jobs []*rules.Job
		errs []error
	)
	// fs.ReadDir sorts by file name.
	for _, e := range entries {
		if e.IsDir() || !isWorkflowFile(e.Name()) {
			continue
		}
		name := path.Join(display, e.Name())
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			// %v: only a missing directory may match fs.ErrNotExist.
			errs = append(errs, fmt.Errorf("failed to read workflow %s: %v", name, err))
			continue
		}
		js, err := ParseWorkflow(name, data, readLocal)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		jobs = append(jobs, js...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return jobs, nil
}

func isWorkflowFile(name string) bool {
	return strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml")
}

// ParseWorkflow returns one Job per check name that the workflow at path
// (e.g. ".github/workflows/ci.yml") reports on pull requests, in the order
// of its jobs; none when it does not run on pull requests. readLocal reads a
// local reusable workflow (`uses: ./.github/workflows/NAME`) by its file
// NAME; when it is nil, such calls are unknown.
//
// The check names follow what GitHub shows:
//   - a job reports its `name`, or its id when it has none;
//   - a matrix job whose name has no expression reports once per
//     combination as "name (value, value)": the values of the matrix keys
//     as written, then the values `include` added, in order;
//   - a name with ${{ matrix.KEY }} is interpolated per combination;
//   - a job calling a local reusable workflow reports "caller / called" for
//     every job of the called workflow, recursively;
//   - a job calling a reusable workflow of another repository reports names
//     that cannot be read here: it becomes one unknown Job with the context
//     "caller / *" (never equal to a real check name).
//
// Matrix values are shown as GitHub shows them: numbers as numbers (`3.10`
// is "3.1"), booleans as true/false. Names that depend on other expressions,
// on a matrix that is not static (fromJSON, expressions), on non-scalar or
// unusual values (0x10, 1e3, null) become unknown Jobs whose context is the
// name as written. `if:` is ignored: a job skipped by its condition still
// reports a (passing) check.
//
// A workflow triggered by both pull_request and pull_request_target runs
// when either event's filters pass. When the two differ in both their branch
// and their path filters, that cannot be expressed as one branch filter and
// one file filter, and the jobs are unknown.
func ParseWorkflow(path string, data []byte, readLocal func(name string) ([]byte, error)) ([]*rules.Job, error) {
	jobs, err := parse(path, data, readLocal)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return jobs, nil
}

func parse(wfPath string, data []byte, readLocal func(string) ([]byte, error)) ([]*rules.Job, error) {
	root, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	fields, err := mapping(root, "workflow")
	if err != nil {
		return nil, err
	}
	on := get(fields, "on")
	if on == nil {
		return nil, errors.New("on: missing")
	}
	events, err := parseOn(on)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, nil
	}
	trig := combine(events)

	jobsNode := get(fields, "jobs")
	if jobsNode == nil {
		return nil, errors.New("jobs: missing")
	}
	file := path.Base(wfPath)
	p := &parser{
		readLocal: readLocal,
		dir:       path.Dir(wfPath),
		called:    map[string]*calledWorkflow{},
		names:     map[*yaml.Node]jobNames{},
		budget:    maxJobs,
	}
	if err := p.walk(wfPath, jobsNode, file, "", 0); err != nil {
		return nil, err
	}
	jobs := make([]*rules.Job, 0, len(p.checks))
	for _, c := range p.checks {
		j := &rules.Job{
			Name:         c.name,
			Context:      c.context,
			Source:       rules.SourceActions,
			Origin:       c.origin,
			Trigger:      trig.trigger,
			Files:        trig.files,
			Branches:     trig.branches,
			ManualReason: trig.manual,
			Unknown:      c.unknown,
			Rerun:        rules.Rerun{Method: rules.RerunActions, Workflow: file},
		}
		if j.Unknown == "" {
			j.Unknown = trig.unknown
		}
		if j.Trigger == rules.TriggerConditional {
			j.MaxFiles = maxFiles
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// reported is one check name a workflow reports.
type reported struct {
	name    string
	context string
	unknown string
	origin  rules.Origin
}

// calledWorkflow is a parsed local reusable workflow.
type calledWorkflow struct {
	jobs *yaml.Node
	err  error
}

type parser struct {
	readLocal func(string) ([]byte, error)
	dir       string
	called    map[string]*calledWorkflow
	// names caches the check names of a job: a called workflow is walked
	// once per caller name.
	names  map[*yaml.Node]jobNames
	budget int
	checks []reported
}

type jobNames struct {
	names        []string
	unknown, raw string
}

// checkNames is computeNames, computed once per job definition.
func (p *parser) checkNames(job *yaml.Node, id string, jf []field) ([]string, string, string) {
	n, ok := p.names[job]
	if !ok {
		n.names, n.unknown, n.raw = computeNames(id, jf)
		p.names[job] = n
	}
	return n.names, n.unknown, n.raw
}

// localUses matches a call of a reusable workflow in the same repository.
var localUses = regexp.MustCompile(`^\./\.github/workflows/([^/]+\.ya?ml)$`)

// walk adds the checks of the jobs mapping jobsNode of the workflow at file.
// name prefixes the Job names, context the check names ("caller / ").
func (p *parser) walk(file string, jobsNode *yaml.Node, name, context string, depth int) error {
	fields, err := mapping(jobsNode, "jobs")
	if err != nil {
		return err
	}
	if len(fields) == 0 {
		return errors.New("jobs: no jobs")
	}
	for _, f := range fields {
		id := f.key.Value
		where := "jobs." + id
		if err := p.spend(1, where); err != nil {
			return err
		}
		jf, err := mapping(f.val, where)
		if err != nil {
			return err
		}
		check := reported{name: name + "/" + id, origin: rules.Origin{Path: file, Line: f.key.Line}}
		names, unknown, raw := p.checkNames(f.val, id, jf)
		if err := p.spend(len(names), where); err != nil {
			return err
		}

		uses := get(jf, "uses")
		if uses == nil {
			if unknown != "" {
				check.context, check.unknown = context+raw, unknown
				p.checks = append(p.checks, check)
				continue
			}
			for _, n := range names {
				check.context = context + n
				p.checks = append(p.checks, check)
			}
			continue
		}

		ref, ok := scalarString(uses)
		if !ok {
			return fmt.Errorf("%s.uses: must be a string", where)
		}
		// The checks of a called workflow cannot be known: one unknown
		// check stands for all of them.
		callUnknown := func(reason string) {
			if unknown != "" {
				names, reason = []string{raw}, unknown
			}
			for _, n := range names {
				check.context, check.unknown = context+n+" / *", reason
				p.checks = append(p.checks, check)
			}
		}
		m := localUses.FindStringSubmatch(ref)
		switch {
		case m == nil && strings.Contains(ref, "@") && !strings.HasPrefix(ref, "./"):
			callUnknown("calls reusable workflow " + ref)
			continue
		case m == nil:
			return fmt.Errorf("%s.uses: %q is not a reusable workflow (./.github/workflows/NAME.yml or OWNER/REPO/PATH@REF)", where, ref)
		case depth+1 >= maxDepth:
			callUnknown(fmt.Sprintf("reusable workflows nested more than %d deep", maxDepth))
			continue
		case p.readLocal == nil:
			callUnknown("calls " + ref + ", which was not read")
			continue
		}
		calledFile := path.Join(p.dir, m[1])
		called := p.load(m[1])
		if called.err != nil {
			return fmt.Errorf("%s: %s: %w", where, calledFile, called.err)
		}
		if unknown != "" {
			callUnknown("")
			continue
		}
		for _, n := range names {
			if err := p.walk(calledFile, called.jobs, check.name+"/"+m[1], context+n+" / ", depth+1); err != nil {
				return fmt.Errorf("%s: %s: %w", where, calledFile, err)
			}
		}
	}
	return nil
}

// spend takes n from the budget of jobs and check names.
func (p *parser) spend(n int, where string) error {
	if p.budget -= n; p.budget < 0 {
		return fmt.Errorf("%s: more than %d jobs, counting matrix combinations and reusable workflows", where, maxJobs)
	}
	return nil
}

// load reads and parses a local reusable workflow once.
func (p *parser) load(name string) *calledWorkflow {
	if c, ok := p.called[name]; ok {
		return c
	}
	c := &calledWorkflow{}
	p.called[name] = c
	data, err := p.readLocal(name)
	if err != nil {
		// %v: a missing called workflow is an error in the caller, not a
		// missing workflows directory (fs.ErrNotExist).
		c.err = fmt.Errorf("cannot read reusable workflow: %v", err)
		return c
	}
	root, err := parseYAML(data)
	if err != nil {
		c.err = err
		return c
	}
	fields, err := mapping(root, "workflow")
	if err != nil {
		c.err = err
		return c
	}
	if c.jobs = get(fields, "jobs"); c.jobs == nil {
		c.err = errors.New("jobs: missing")
	}
	return c
}
