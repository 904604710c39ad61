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

	"go.yaml.in/yaml/v3"
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

// Workflows is what a workflows directory defines.
type Workflows struct {
	// Jobs are the jobs of every workflow, in file order. A file that
	// cannot be read or is invalid adds jobs that block what it may
	// report: one per job whose name can still be read (a pattern when it
	// is not known exactly), else one that may report any context, each
	// with the problem as Unknown.
	Jobs []*rules.Job
	// Errors has one *FileError per such file, in file order.
	Errors []error
}

// FileError is a workflow file that cannot be read or is invalid.
type FileError struct {
	// Path names the file as the workflows directory was named.
	Path string
	Err  error
}

// Error formats the problem on one line: ".github/workflows/ci.yml: problem".
func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *FileError) Unwrap() error { return e.Err }

// LoadWorkflows reads every *.yml and *.yaml file of a .github/workflows
// directory in lexical order and returns their jobs. Reusable workflows
// called as ./.github/workflows/NAME (or $/.github/workflows/NAME) are read
// from the same directory. A file that cannot be read or parsed does not
// stop the others: it is one of Workflows.Errors, and its jobs block what it
// may report. The error is for the directory itself: a missing one gives an
// error that matches fs.ErrNotExist.
func LoadWorkflows(dir string) (*Workflows, error) {
	return load(os.DirFS(dir), ".", filepath.ToSlash(dir))
}

// LoadWorkflowsFS is LoadWorkflows over a file system (a repository at one
// ref); dir is a slash-separated path in it, e.g. ".github/workflows".
func LoadWorkflowsFS(fsys fs.FS, dir string) (*Workflows, error) {
	return load(fsys, dir, dir)
}

// RuleFiles returns the paths that define the jobs of the workflows
// directory dir (slash-separated, in the repository): the workflow files
// directly in it, reusable ones included (GitHub reads no subdirectory).
func RuleFiles(dir string) rules.RuleFiles {
	dir = path.Clean(dir)
	return rules.RuleFiles{{Path: dir + "/", Defines: func(p string) bool {
		return path.Dir(p) == dir && isWorkflowFile(p)
	}}}
}

// load reads the workflows in dir of fsys, naming them under display in
// origins and messages.
func load(fsys fs.FS, dir, display string) (*Workflows, error) {
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
	w := &Workflows{}
	// fs.ReadDir sorts by file name.
	for _, e := range entries {
		if e.IsDir() || !isWorkflowFile(e.Name()) {
			continue
		}
		name := path.Join(display, e.Name())
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			// %v: only a missing directory may match fs.ErrNotExist.
			err = fmt.Errorf("cannot read the file: %v", err)
		} else {
			var jobs []*rules.Job
			if jobs, err = parse(name, data, readLocal); err == nil {
				w.Jobs = append(w.Jobs, jobs...)
				continue
			}
		}
		fe := &FileError{Path: name, Err: err}
		w.Errors = append(w.Errors, fe)
		w.Jobs = append(w.Jobs, blockers(name, data, fe.Error())...)
	}
	return w, nil
}

func isWorkflowFile(name string) bool {
	return strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml")
}

// ParseWorkflow returns one Job per check name that the workflow at path
// (e.g. ".github/workflows/ci.yml") reports on pull requests or merge
// groups, in the order of its jobs; none when it runs on neither. readLocal
// reads a local reusable workflow (`uses: ./.github/workflows/NAME`, or
// GitHub's same-repository form `$/.github/workflows/NAME`) by its file NAME;
// when it is nil, what such calls report is not known.
//
// The check names follow what GitHub shows:
//   - a job reports its `name`, or its id when it has none;
//   - a matrix job whose name has no expression reports once per
//     combination as "name (value, value)": the values of the matrix keys
//     as written, then the values `include` added, in order; a mapping or
//     list value shows as its scalars, in order ("core, tests/core");
//   - a name with ${{ matrix.KEY }} (or ${{ matrix.KEY.PROPERTY }} of a
//     mapping value) is interpolated per combination;
//   - a job calling a local reusable workflow reports "caller / called" for
//     every job of the called workflow, recursively;
//   - a name longer than 100 characters is cut to 97 and "..." (each job's
//     own name: a caller's and a called job's separately).
//
// Matrix values are shown as GitHub shows them: numbers as numbers (`3.10`
// is "3.1"), booleans as true/false. A name that cannot be known statically
// (other expressions, a matrix that is not static such as fromJSON, unusual
// values such as 0x10, a call of another repository's reusable workflow) is
// a Job with a ContextPattern of every name it may be ("lint-*",
// "caller / *", "*"); it keeps its trigger and filters. `if:` is ignored: a
// job skipped by its condition still reports a (passing) check.
//
// A workflow triggered by both pull_request and pull_request_target runs
// when either event's filters pass. When the two differ in both their branch
// and their path filters, that cannot be expressed as one branch filter and
// one file filter, and the jobs are unknown. A workflow triggered only on
// merge_group has manual jobs for pull requests.
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
	events, mergeGroup, err := parseOn(on)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 && mergeGroup == nil {
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
	if err := p.walk(wfPath, jobsNode, file, nil, 0); err != nil {
		return nil, err
	}
	mg := mergeGroupOf(mergeGroup, wfPath)
	jobs := make([]*rules.Job, 0, len(p.checks))
	for _, c := range p.checks {
		j := &rules.Job{
			Name:         c.name,
			Source:       rules.SourceActions,
			Origin:       c.origin,
			Trigger:      trig.trigger,
			Files:        trig.files,
			Branches:     trig.branches,
			ManualReason: trig.manual,
			Heads:        trig.heads,
			HeadsNote:    trig.headsNote,
			MergeGroup:   mg,
			Unknown:      c.unknown,
			Rerun:        rules.Rerun{Method: rules.RerunActions, Workflow: file},
		}
		setContext(j, c.context)
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

// setContext sets the job's context, or its context pattern and the name as
// written.
func setContext(j *rules.Job, c checkName) {
	if s, ok := c.exact(); ok {
		j.Context = s
		return
	}
	j.Context, j.ContextPattern = c.text, c.pattern()
}

// mergeGroupOf is how a workflow's jobs behave on merge groups.
func mergeGroupOf(e *event, wfPath string) rules.MergeGroup {
	if e == nil || !e.startsOnMergeGroup() {
		return rules.MergeGroup{Fix: "add merge_group: to " + wfPath}
	}
	mg := rules.MergeGroup{Runs: true, Why: "merge_group trigger in " + wfPath,
		Fix: "make on.merge_group in " + wfPath + " admit the base branch"}
	if e.branches != nil && e.unknown == "" {
		mg.Branches = e.branches
	}
	return mg
}

// blockers are the jobs of a workflow file that cannot be read or is
// invalid: the contexts it may report are unknown, never skipped. When the
// YAML can be read that far and the file is not a reusable workflow only,
// they are one job per job id, named as far as that is possible; otherwise
// one job that may report any context.
func blockers(wfPath string, data []byte, problem string) []*rules.Job {
	file := path.Base(wfPath)
	block := func(name string, line int, c checkName) *rules.Job {
		j := &rules.Job{Name: name, Source: rules.SourceActions, Origin: rules.Origin{Path: wfPath, Line: line},
			Trigger: rules.TriggerConditional, Unknown: problem, Rerun: rules.Rerun{Method: rules.RerunActions, Workflow: file}}
		setContext(j, c)
		return j
	}
	anything := []*rules.Job{block(file, 0, anyName("*"))}
	root, err := parseYAML(data)
	if err != nil {
		return anything
	}
	fields, err := mapping(root, "workflow")
	if err != nil {
		return anything
	}
	if on := get(fields, "on"); on != nil {
		if events, mergeGroup, err := parseOn(on); err == nil && len(events) == 0 && mergeGroup == nil {
			// It reports nothing by itself; its callers fail with it.
			return nil
		}
	}
	jobsNode := get(fields, "jobs")
	if jobsNode == nil {
		return anything
	}
	jobs, err := mapping(jobsNode, "jobs")
	if err != nil || len(jobs) == 0 {
		return anything
	}
	var out []*rules.Job
	for _, f := range jobs {
		id := f.key.Value
		jf, err := mapping(f.val, "jobs."+id)
		if err != nil {
			return anything
		}
		names, _ := computeNames(id, jf)
		for _, n := range names {
			if get(jf, "uses") != nil {
				n = n.join(" / ", anyName("*"))
			}
			out = append(out, block(file+"/"+id, f.key.Line, n))
		}
	}
	return out
}

// reported is one check name a workflow reports.
type reported struct {
	name    string
	context checkName
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
	names   []checkName
	invalid string
}

// checkNames is computeNames, computed once per job definition.
func (p *parser) checkNames(job *yaml.Node, id string, jf []field) ([]checkName, string) {
	n, ok := p.names[job]
	if !ok {
		n.names, n.invalid = computeNames(id, jf)
		p.names[job] = n
	}
	return n.names, n.invalid
}

// localUses matches a call of a reusable workflow in the same repository:
// ./.github/workflows/NAME, or GitHub's same-repository form $/..., which
// names the caller's own repository at the caller's commit (and takes no
// @ref).
var localUses = regexp.MustCompile(`^[.$]/\.github/workflows/([^/@]+\.ya?ml)$`)

// prefixed returns name under the caller's check name prefix (nil at the
// top).
func prefixed(prefix *checkName, name checkName) checkName {
	if prefix == nil {
		return name
	}
	return prefix.join(" / ", name)
}

// walk adds the checks of the jobs mapping jobsNode of the workflow at file.
// name prefixes the Job names, prefix the check names ("caller / ").
func (p *parser) walk(file string, jobsNode *yaml.Node, name string, prefix *checkName, depth int) error {
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
		names, invalid := p.checkNames(f.val, id, jf)
		if err := p.spend(len(names), where); err != nil {
			return err
		}
		add := func(context checkName, unknown string) {
			check.context, check.unknown = context, unknown
			if check.unknown == "" {
				check.unknown = invalid
			}
			p.checks = append(p.checks, check)
		}

		uses := get(jf, "uses")
		if uses == nil {
			for _, n := range names {
				add(prefixed(prefix, n), "")
			}
			continue
		}

		ref, ok := scalarString(uses)
		if !ok {
			return fmt.Errorf("%s.uses: must be a string", where)
		}
		// What a called workflow reports that cannot be read: anything
		// below the caller's name.
		callAnything := func(unknown string) {
			for _, n := range names {
				add(prefixed(prefix, n).join(" / ", anyName("*")), unknown)
			}
		}
		if invalid != "" {
			// GitHub refuses the caller: nothing below it runs.
			callAnything("")
			continue
		}
		m := localUses.FindStringSubmatch(ref)
		switch {
		case m == nil && strings.Contains(ref, "@") && !strings.HasPrefix(ref, "./") && !strings.HasPrefix(ref, "$/"):
			callAnything("")
			continue
		case m == nil:
			return fmt.Errorf("%s.uses: %q is not a reusable workflow (./.github/workflows/NAME.yml, $/.github/workflows/NAME.yml or OWNER/REPO/PATH@REF)", where, ref)
		case depth+1 >= maxDepth:
			// GitHub refuses the run.
			callAnything(fmt.Sprintf("reusable workflows nested more than %d deep", maxDepth))
			continue
		case p.readLocal == nil:
			callAnything("")
			continue
		}
		calledFile := path.Join(p.dir, m[1])
		called := p.load(m[1])
		if called.err != nil {
			return fmt.Errorf("%s: %s: %w", where, calledFile, called.err)
		}
		for _, n := range names {
			caller := prefixed(prefix, n)
			if err := p.walk(calledFile, called.jobs, check.name+"/"+m[1], &caller, depth+1); err != nil {
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
