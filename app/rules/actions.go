package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// GitHub Actions as a job source: every check name a workflow's jobs report
// on pull requests becomes one Job. See docs/semantics.md for the semantics.

const (
	// ghaMaxFiles: GitHub evaluates path filters against the first 300
	// changed files only.
	ghaMaxFiles = 300
	// ghaMaxDepth: GitHub connects at most ten levels of reusable workflows;
	// deeper calls (or a workflow calling itself) fail on GitHub.
	ghaMaxDepth = 10
	// ghaMaxCombinations: a matrix generates at most 256 jobs on GitHub.
	ghaMaxCombinations = 256
	// ghaMaxJobs bounds the jobs visited and check names produced for one
	// workflow file, so that matrices and reusable workflows calling each
	// other many times cannot blow up.
	ghaMaxJobs = 10000
)

// ghaUpdateTypes are the pull_request activity types GitHub uses when
// `types` is not given: the ones that happen when a PR is opened or pushed to.
var ghaUpdateTypes = []string{"opened", "synchronize", "reopened"}

// LoadWorkflows reads every *.yml and *.yaml file of a .github/workflows
// directory in lexical order and returns their jobs. Reusable workflows
// called as ./.github/workflows/NAME are read from the same directory. On
// any error it returns no jobs and one error naming every invalid file.
func LoadWorkflows(dir string) ([]*Job, error) {
	return ghaLoad(os.DirFS(dir), ".", filepath.ToSlash(dir))
}

// LoadWorkflowsFS is LoadWorkflows over a file system (a repository at one
// ref); dir is a slash-separated path in it, e.g. ".github/workflows". A
// missing directory gives an error that matches fs.ErrNotExist.
func LoadWorkflowsFS(fsys fs.FS, dir string) ([]*Job, error) {
	return ghaLoad(fsys, dir, dir)
}

// ghaLoad reads the workflows in dir of fsys, naming them under display in
// origins and messages.
func ghaLoad(fsys fs.FS, dir, display string) ([]*Job, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("failed to read workflows in %s: %w", display, err)
	}
	readLocal := func(name string) ([]byte, error) {
		if !ghaIsWorkflowFile(name) || strings.ContainsAny(name, `/\`) {
			return nil, fmt.Errorf("not a workflow file name: %q", name)
		}
		return fs.ReadFile(fsys, path.Join(dir, name))
	}
	var (
		jobs []*Job
		errs []error
	)
	// fs.ReadDir sorts by file name.
	for _, e := range entries {
		if e.IsDir() || !ghaIsWorkflowFile(e.Name()) {
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

func ghaIsWorkflowFile(name string) bool {
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
func ParseWorkflow(path string, data []byte, readLocal func(name string) ([]byte, error)) ([]*Job, error) {
	jobs, err := ghaParse(path, data, readLocal)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return jobs, nil
}

func ghaParse(wfPath string, data []byte, readLocal func(string) ([]byte, error)) ([]*Job, error) {
	root, err := ghaParseYAML(data)
	if err != nil {
		return nil, err
	}
	fields, err := ghaFields(root, "workflow")
	if err != nil {
		return nil, err
	}
	on := ghaGet(fields, "on")
	if on == nil {
		return nil, errors.New("on: missing")
	}
	events, err := ghaParseOn(on)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, nil
	}
	trig := ghaCombine(events)

	jobsNode := ghaGet(fields, "jobs")
	if jobsNode == nil {
		return nil, errors.New("jobs: missing")
	}
	file := path.Base(wfPath)
	p := &ghaParser{
		readLocal: readLocal,
		dir:       path.Dir(wfPath),
		called:    map[string]*ghaCalled{},
		names:     map[*yaml.Node]ghaNames{},
		budget:    ghaMaxJobs,
	}
	if err := p.walk(wfPath, jobsNode, file, "", 0); err != nil {
		return nil, err
	}
	jobs := make([]*Job, 0, len(p.checks))
	for _, c := range p.checks {
		j := &Job{
			Name:         c.name,
			Context:      c.context,
			Source:       SourceActions,
			Origin:       c.origin,
			Trigger:      trig.trigger,
			Files:        trig.files,
			Branches:     trig.branches,
			ManualReason: trig.manual,
			Unknown:      c.unknown,
			Rerun:        Rerun{Method: RerunActions, Workflow: file},
		}
		if j.Unknown == "" {
			j.Unknown = trig.unknown
		}
		if j.Trigger == TriggerConditional {
			j.MaxFiles = ghaMaxFiles
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// ghaParseYAML parses a workflow document and returns its top-level mapping.
func ghaParseYAML(data []byte) (root *yaml.Node, err error) {
	// A panic in the YAML parser on hostile input must not take the server
	// down: report it as invalid YAML.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("empty workflow")
	}
	root = ghaResolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("workflow is not a mapping")
	}
	return root, nil
}

// ghaField is one key: value pair of a YAML mapping.
type ghaField struct {
	key *yaml.Node
	val *yaml.Node
}

// ghaFields returns the pairs of mapping n in order. where names n in
// errors. Duplicate keys are an error on GitHub too; merge keys (<<) are
// refused rather than half-understood.
func ghaFields(n *yaml.Node, where string) ([]ghaField, error) {
	n = ghaResolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: must be a mapping", where)
	}
	out := make([]ghaField, 0, len(n.Content)/2)
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := ghaResolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: line %d: key is not a string", where, k.Line)
		}
		if k.ShortTag() == "!!merge" {
			return nil, fmt.Errorf("%s: line %d: merge keys (<<) are not supported", where, k.Line)
		}
		if seen[k.Value] {
			return nil, fmt.Errorf("%s: line %d: duplicate key %q", where, k.Line, k.Value)
		}
		seen[k.Value] = true
		out = append(out, ghaField{key: k, val: ghaResolve(n.Content[i+1])})
	}
	return out, nil
}

// ghaGet returns the value of key, or nil.
func ghaGet(fields []ghaField, key string) *yaml.Node {
	for _, f := range fields {
		if f.key.Value == key {
			return f.val
		}
	}
	return nil
}

// ghaResolve follows an alias to the node it names.
func ghaResolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

func ghaIsNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// ghaString returns the text of a scalar that is not null.
func ghaString(n *yaml.Node) (string, bool) {
	n = ghaResolve(n)
	if n.Kind != yaml.ScalarNode || ghaIsNull(n) {
		return "", false
	}
	return n.Value, true
}

// ghaStrings reads a string or a list of strings.
func ghaStrings(n *yaml.Node, where string) ([]string, error) {
	n = ghaResolve(n)
	if s, ok := ghaString(n); ok {
		return []string{s}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: must be a list of strings", where)
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		s, ok := ghaString(item)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: must be a string", where, i)
		}
		out = append(out, s)
	}
	return out, nil
}

// ghaEvent is a pull_request or pull_request_target trigger.
type ghaEvent struct {
	name     string
	types    []string // nil: GitHub's default types
	branches *ghaBranchFilter
	paths    *ghaPathFilter
	unknown  string
}

func (e *ghaEvent) firesOnUpdate() bool {
	if e.types == nil {
		return true
	}
	for _, t := range e.types {
		for _, u := range ghaUpdateTypes {
			if t == u {
				return true
			}
		}
	}
	return false
}

// ghaParseOn returns the pull request events of `on` in the order written.
func ghaParseOn(n *yaml.Node) ([]*ghaEvent, error) {
	n = ghaResolve(n)
	var names []string
	configs := map[string]*yaml.Node{}
	switch n.Kind {
	case yaml.ScalarNode:
		s, ok := ghaString(n)
		if !ok {
			return nil, errors.New("on: no events")
		}
		names = []string{s}
	case yaml.SequenceNode:
		var err error
		if names, err = ghaStrings(n, "on"); err != nil {
			return nil, err
		}
	case yaml.MappingNode:
		fields, err := ghaFields(n, "on")
		if err != nil {
			return nil, err
		}
		for _, f := range fields {
			names = append(names, f.key.Value)
			configs[f.key.Value] = f.val
		}
	default:
		return nil, errors.New("on: must be an event, a list or a mapping")
	}
	var events []*ghaEvent
	seen := map[string]bool{}
	for _, name := range names {
		if (name != "pull_request" && name != "pull_request_target") || seen[name] {
			continue
		}
		seen[name] = true
		ev, err := ghaParseEvent(name, configs[name])
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	return events, nil
}

// ghaParseEvent reads the filters of on.<name>.
func ghaParseEvent(name string, n *yaml.Node) (*ghaEvent, error) {
	ev := &ghaEvent{name: name}
	where := "on." + name
	if ghaIsNull(ghaResolve(n)) {
		return ev, nil
	}
	fields, err := ghaFields(n, where)
	if err != nil {
		return nil, err
	}
	lists := map[string][]string{}
	for _, f := range fields {
		key := f.key.Value
		switch key {
		case "types", "branches", "branches-ignore", "paths", "paths-ignore":
			l, err := ghaStrings(f.val, where+"."+key)
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
			ev.branches = &ghaBranchFilter{list: pl, ignore: ignore}
		} else {
			ev.paths = &ghaPathFilter{list: pl, ignore: ignore}
		}
	}
	return ev, nil
}

// ghaBranchFilter is `branches` or `branches-ignore`, matched against the
// PR's base branch.
type ghaBranchFilter struct {
	list   *PatternList
	ignore bool
}

func (f *ghaBranchFilter) field() string {
	if f.ignore {
		return "branches-ignore"
	}
	return "branches"
}

// Match implements BranchFilter.
func (f *ghaBranchFilter) Match(branch string) (bool, string) {
	m := f.list.Match(branch)
	switch {
	case f.ignore && m:
		return false, fmt.Sprintf("branch %s matches %s %s", branch, f.field(), f.list)
	case !f.ignore && !m:
		return false, fmt.Sprintf("branch %s does not match %s %s", branch, f.field(), f.list)
	}
	return true, ""
}

// ghaPathFilter is `paths` or `paths-ignore`.
type ghaPathFilter struct {
	list   *PatternList
	ignore bool
}

func (f *ghaPathFilter) field() string {
	if f.ignore {
		return "paths-ignore"
	}
	return "paths"
}

// Match implements FileFilter: `paths` runs when a file matches,
// `paths-ignore` unless every file matches; no files never run.
func (f *ghaPathFilter) Match(files []string) (bool, string) {
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

// ghaKey identifies a filter for comparing the two pull request events.
func ghaKey(field string, l *PatternList) string {
	return field + "\x00" + strings.Join(l.Patterns(), "\x00")
}

func (e *ghaEvent) branchKey() string {
	if e.branches == nil {
		return ""
	}
	return ghaKey(e.branches.field(), e.branches.list)
}

func (e *ghaEvent) pathKey() string {
	if e.paths == nil {
		return ""
	}
	return ghaKey(e.paths.field(), e.paths.list)
}

// ghaAnyBranch runs when any of its filters does (the OR of the branch
// filters of pull_request and pull_request_target).
type ghaAnyBranch []BranchFilter

// Match implements BranchFilter.
func (a ghaAnyBranch) Match(branch string) (bool, string) {
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

// ghaAnyFiles runs when any of its filters does.
type ghaAnyFiles []FileFilter

// Match implements FileFilter.
func (a ghaAnyFiles) Match(files []string) (bool, string) {
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

// ghaTrigger is how a workflow's jobs start on pull request updates.
type ghaTrigger struct {
	trigger  Trigger
	files    FileFilter
	branches BranchFilter
	manual   string
	unknown  string
}

// ghaCombine merges the pull request events of a workflow: its jobs run
// when either event fires.
func ghaCombine(events []*ghaEvent) ghaTrigger {
	var active []*ghaEvent
	var quiet []string
	for _, e := range events {
		if e.firesOnUpdate() {
			active = append(active, e)
		} else {
			quiet = append(quiet, fmt.Sprintf("%s types [%s]", e.name, strings.Join(e.types, ", ")))
		}
	}
	if len(active) == 0 {
		return ghaTrigger{trigger: TriggerManual, manual: "runs only on " + strings.Join(quiet, ", ")}
	}
	for _, e := range active {
		if e.unknown != "" {
			return ghaTrigger{trigger: TriggerConditional, unknown: e.unknown}
		}
	}
	if len(active) == 1 {
		return ghaEventTrigger(active[0])
	}
	a, b := active[0], active[1]
	switch {
	case a.branches == nil && a.paths == nil, b.branches == nil && b.paths == nil:
		// One event runs on every update to every branch.
		return ghaTrigger{trigger: TriggerAlways}
	case a.branchKey() == b.branchKey():
		// Same branches: run on them when either path filter passes.
		t := ghaEventTrigger(a)
		if a.pathKey() != b.pathKey() {
			if a.paths == nil || b.paths == nil {
				t.trigger, t.files = TriggerAlways, nil
			} else {
				t.files = ghaAnyFiles{a.paths, b.paths}
			}
		}
		return t
	case a.pathKey() == b.pathKey():
		// Same paths: run on the branches of either event.
		t := ghaEventTrigger(a)
		if a.branches == nil || b.branches == nil {
			t.branches = nil
		} else {
			t.branches = ghaAnyBranch{a.branches, b.branches}
		}
		return t
	}
	// "(branch A and paths A) or (branch B and paths B)" does not fit the
	// Job model, whose branch and file filters are checked one after the
	// other.
	return ghaTrigger{trigger: TriggerConditional, unknown: "pull_request and pull_request_target filter different branches and paths"}
}

// ghaEventTrigger is the trigger of one event. Typed nil pointers must not
// end up in the interfaces.
func ghaEventTrigger(e *ghaEvent) ghaTrigger {
	t := ghaTrigger{trigger: TriggerAlways}
	if e.branches != nil {
		t.branches = e.branches
	}
	if e.paths != nil {
		t.trigger, t.files = TriggerConditional, e.paths
	}
	return t
}

// ghaCheck is one check name a workflow reports.
type ghaCheck struct {
	name    string
	context string
	unknown string
	origin  Origin
}

// ghaCalled is a parsed local reusable workflow.
type ghaCalled struct {
	jobs *yaml.Node
	err  error
}

type ghaParser struct {
	readLocal func(string) ([]byte, error)
	dir       string
	called    map[string]*ghaCalled
	// names caches the check names of a job: a called workflow is walked
	// once per caller name.
	names  map[*yaml.Node]ghaNames
	budget int
	checks []ghaCheck
}

type ghaNames struct {
	names        []string
	unknown, raw string
}

// checkNames is ghaCheckNames, computed once per job definition.
func (p *ghaParser) checkNames(job *yaml.Node, id string, jf []ghaField) ([]string, string, string) {
	n, ok := p.names[job]
	if !ok {
		n.names, n.unknown, n.raw = ghaCheckNames(id, jf)
		p.names[job] = n
	}
	return n.names, n.unknown, n.raw
}

// ghaLocalUses matches a call of a reusable workflow in the same repository.
var ghaLocalUses = regexp.MustCompile(`^\./\.github/workflows/([^/]+\.ya?ml)$`)

// walk adds the checks of the jobs mapping jobsNode of the workflow at file.
// name prefixes the Job names, context the check names ("caller / ").
func (p *ghaParser) walk(file string, jobsNode *yaml.Node, name, context string, depth int) error {
	fields, err := ghaFields(jobsNode, "jobs")
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
		jf, err := ghaFields(f.val, where)
		if err != nil {
			return err
		}
		check := ghaCheck{name: name + "/" + id, origin: Origin{Path: file, Line: f.key.Line}}
		names, unknown, raw := p.checkNames(f.val, id, jf)
		if err := p.spend(len(names), where); err != nil {
			return err
		}

		uses := ghaGet(jf, "uses")
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

		ref, ok := ghaString(uses)
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
		m := ghaLocalUses.FindStringSubmatch(ref)
		switch {
		case m == nil && strings.Contains(ref, "@") && !strings.HasPrefix(ref, "./"):
			callUnknown("calls reusable workflow " + ref)
			continue
		case m == nil:
			return fmt.Errorf("%s.uses: %q is not a reusable workflow (./.github/workflows/NAME.yml or OWNER/REPO/PATH@REF)", where, ref)
		case depth+1 >= ghaMaxDepth:
			callUnknown(fmt.Sprintf("reusable workflows nested more than %d deep", ghaMaxDepth))
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
func (p *ghaParser) spend(n int, where string) error {
	if p.budget -= n; p.budget < 0 {
		return fmt.Errorf("%s: more than %d jobs, counting matrix combinations and reusable workflows", where, ghaMaxJobs)
	}
	return nil
}

// load reads and parses a local reusable workflow once.
func (p *ghaParser) load(name string) *ghaCalled {
	if c, ok := p.called[name]; ok {
		return c
	}
	c := &ghaCalled{}
	p.called[name] = c
	data, err := p.readLocal(name)
	if err != nil {
		// %v: a missing called workflow is an error in the caller, not a
		// missing workflows directory (fs.ErrNotExist).
		c.err = fmt.Errorf("cannot read reusable workflow: %v", err)
		return c
	}
	root, err := ghaParseYAML(data)
	if err != nil {
		c.err = err
		return c
	}
	fields, err := ghaFields(root, "workflow")
	if err != nil {
		c.err = err
		return c
	}
	if c.jobs = ghaGet(fields, "jobs"); c.jobs == nil {
		c.err = errors.New("jobs: missing")
	}
	return c
}

// ghaNamePart is literal text or a ${{ matrix.KEY }} of a job name.
type ghaNamePart struct {
	text string
	key  string // matrix key, when not literal
}

var ghaMatrixRef = regexp.MustCompile(`(?i)^matrix\.([a-z_][a-z0-9_-]*)$`)

// ghaParseName splits a job name into literal text and matrix references;
// ok is false when it has any other expression.
func ghaParseName(s string) (parts []ghaNamePart, refs int, ok bool) {
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			if s != "" {
				parts = append(parts, ghaNamePart{text: s})
			}
			return parts, refs, true
		}
		j := strings.Index(s[i+3:], "}}")
		if j < 0 {
			return nil, 0, false
		}
		m := ghaMatrixRef.FindStringSubmatch(strings.TrimSpace(s[i+3 : i+3+j]))
		if m == nil {
			return nil, 0, false
		}
		if i > 0 {
			parts = append(parts, ghaNamePart{text: s[:i]})
		}
		parts = append(parts, ghaNamePart{key: m[1]})
		refs++
		s = s[i+3+j+2:]
	}
}

// ghaCheckNames returns the check names of a job (one per matrix
// combination), or why they cannot be known and the name as written.
func ghaCheckNames(id string, jf []ghaField) (names []string, unknown, raw string) {
	raw = id
	if n := ghaGet(jf, "name"); !ghaIsNull(n) {
		s, ok := ghaString(n)
		if !ok {
			return nil, "job name is not a string", raw
		}
		if s != "" {
			raw = s
		}
	}
	parts, refs, ok := ghaParseName(raw)
	if !ok {
		return nil, "check name depends on an expression", raw
	}
	combos, hasMatrix, unknown := ghaMatrix(jf)
	if unknown != "" {
		return nil, unknown, raw
	}
	if !hasMatrix {
		if refs > 0 {
			return nil, "check name uses a matrix but the job has none", raw
		}
		return []string{raw}, "", raw
	}
	seen := map[string]bool{}
	for _, c := range combos {
		var b strings.Builder
		if refs == 0 {
			b.WriteString(raw)
			if len(c.vals) > 0 {
				b.WriteString(" (" + strings.Join(c.vals, ", ") + ")")
			}
		} else {
			for _, part := range parts {
				if part.key == "" {
					b.WriteString(part.text)
					continue
				}
				v, ok := c.get(part.key)
				if !ok {
					return nil, "check name uses matrix." + part.key + ", missing from a combination", raw
				}
				b.WriteString(v)
			}
		}
		if n := b.String(); !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names, "", raw
}

// ghaCombo is one matrix combination, its keys in display order.
type ghaCombo struct {
	keys []string
	vals []string
}

// get looks key up like GitHub's expressions do: case-insensitively.
func (c *ghaCombo) get(key string) (string, bool) {
	for i, k := range c.keys {
		if strings.EqualFold(k, key) {
			return c.vals[i], true
		}
	}
	return "", false
}

func (c *ghaCombo) set(key, val string) {
	for i, k := range c.keys {
		if k == key {
			c.vals[i] = val
			return
		}
	}
	c.keys = append(c.keys, key)
	c.vals = append(c.vals, val)
}

func (c *ghaCombo) clone() ghaCombo {
	return ghaCombo{keys: append([]string{}, c.keys...), vals: append([]string{}, c.vals...)}
}

// ghaMatrix expands strategy.matrix as GitHub does: the product of the
// vectors in the order written, minus `exclude` (a partial match removes),
// then each `include` entry is added to every original combination it does
// not contradict, or becomes a combination of its own when there is none.
func ghaMatrix(jf []ghaField) (combos []ghaCombo, has bool, unknown string) {
	s := ghaGet(jf, "strategy")
	if ghaIsNull(s) {
		return nil, false, ""
	}
	if s.Kind == yaml.ScalarNode {
		return nil, true, "strategy depends on an expression"
	}
	sf, err := ghaFields(s, "strategy")
	if err != nil {
		return nil, true, err.Error()
	}
	m := ghaGet(sf, "matrix")
	if ghaIsNull(m) {
		return nil, false, ""
	}
	if m.Kind == yaml.ScalarNode {
		return nil, true, "matrix depends on an expression"
	}
	mf, err := ghaFields(m, "strategy.matrix")
	if err != nil {
		return nil, true, err.Error()
	}
	const (
		notScalar  = "matrix has values that are not scalars"
		expression = "matrix depends on an expression"
		noValues   = "matrix has no values"
	)
	var (
		keys             []string
		vectors          [][]string
		include, exclude []ghaCombo
		size             = 1
		tooLarge         = fmt.Sprintf("matrix has more than %d combinations", ghaMaxCombinations)
		isBase           = map[string]bool{}
		entriesOf        = map[string]*[]ghaCombo{"include": &include, "exclude": &exclude}
	)
	for _, f := range mf {
		key := f.key.Value
		if dst, ok := entriesOf[key]; ok {
			entries, why := ghaMatrixEntries(f.val)
			if why != "" {
				return nil, true, why
			}
			if len(entries) > 4*ghaMaxCombinations {
				return nil, true, tooLarge
			}
			*dst = entries
			continue
		}
		if f.val.Kind == yaml.ScalarNode && strings.Contains(f.val.Value, "${{") {
			return nil, true, expression
		}
		if f.val.Kind != yaml.SequenceNode {
			return nil, true, notScalar
		}
		if len(f.val.Content) == 0 {
			return nil, true, noValues
		}
		vec := make([]string, 0, len(f.val.Content))
		for _, item := range f.val.Content {
			v, why := ghaScalar(item)
			if why != "" {
				return nil, true, why
			}
			vec = append(vec, v)
		}
		if size *= len(vec); size > ghaMaxCombinations*16 {
			// Excludes could bring it down again, but not from this far.
			return nil, true, tooLarge
		}
		keys = append(keys, key)
		vectors = append(vectors, vec)
		isBase[key] = true
	}
	if len(keys) == 0 && len(include) == 0 {
		return nil, true, noValues
	}

	var base []ghaCombo
	if len(keys) > 0 {
		base = make([]ghaCombo, 0, size)
		idx := make([]int, len(keys))
		for {
			c := ghaCombo{keys: append([]string{}, keys...), vals: make([]string, len(keys))}
			for i := range keys {
				c.vals[i] = vectors[i][idx[i]]
			}
			base = append(base, c)
			// Odometer: the last key varies fastest.
			i := len(keys) - 1
			for ; i >= 0; i-- {
				if idx[i]++; idx[i] < len(vectors[i]) {
					break
				}
				idx[i] = 0
			}
			if i < 0 {
				break
			}
		}
	}

	for _, ex := range exclude {
		for _, k := range ex.keys {
			if !isBase[k] {
				return nil, true, "matrix exclude uses a key that is not in the matrix"
			}
		}
	}
	kept := base[:0]
	for _, c := range base {
		excluded := false
		for _, ex := range exclude {
			if ghaContains(c, ex) {
				excluded = true
				break
			}
		}
		if !excluded {
			kept = append(kept, c)
		}
	}
	base = kept

	var extra []ghaCombo
	for _, in := range include {
		added := false
		for i := range base {
			if !ghaAgrees(base[i], in, isBase) {
				continue
			}
			for j, k := range in.keys {
				base[i].set(k, in.vals[j])
			}
			added = true
		}
		if !added {
			extra = append(extra, in.clone())
		}
	}
	combos = append(base, extra...)
	switch {
	case len(combos) == 0:
		return nil, true, "matrix has no combinations"
	case len(combos) > ghaMaxCombinations:
		return nil, true, tooLarge
	}
	return combos, true, ""
}

// ghaContains reports whether c has every key: value of part (exclude).
func ghaContains(c, part ghaCombo) bool {
	for i, k := range part.keys {
		if v, ok := c.get(k); !ok || v != part.vals[i] {
			return false
		}
	}
	return true
}

// ghaAgrees reports whether include entry in can extend c without
// overwriting one of c's original matrix values.
func ghaAgrees(c, in ghaCombo, isBase map[string]bool) bool {
	for i, k := range in.keys {
		if !isBase[k] {
			continue
		}
		if v, _ := c.get(k); v != in.vals[i] {
			return false
		}
	}
	return true
}

// ghaMatrixEntries reads matrix.include or matrix.exclude.
func ghaMatrixEntries(n *yaml.Node) ([]ghaCombo, string) {
	if ghaIsNull(n) {
		return nil, ""
	}
	if n.Kind == yaml.ScalarNode {
		return nil, "matrix depends on an expression"
	}
	if n.Kind != yaml.SequenceNode {
		return nil, "matrix include or exclude is not a list"
	}
	out := make([]ghaCombo, 0, len(n.Content))
	for _, item := range n.Content {
		item = ghaResolve(item)
		if item.Kind == yaml.ScalarNode {
			return nil, "matrix depends on an expression"
		}
		fields, err := ghaFields(item, "matrix")
		if err != nil {
			return nil, err.Error()
		}
		var c ghaCombo
		for _, f := range fields {
			v, why := ghaScalar(f.val)
			if why != "" {
				return nil, why
			}
			c.keys = append(c.keys, f.key.Value)
			c.vals = append(c.vals, v)
		}
		out = append(out, c)
	}
	return out, ""
}

var (
	ghaInt     = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	ghaDecimal = regexp.MustCompile(`^-?[0-9]+\.[0-9]+$`)
)

// ghaScalar returns a matrix value as GitHub shows it in a check name, or
// why that is not known. Numbers are shown as numbers: `3.10` is "3.1".
func ghaScalar(n *yaml.Node) (string, string) {
	n = ghaResolve(n)
	if n.Kind != yaml.ScalarNode {
		return "", "matrix has values that are not scalars"
	}
	if strings.Contains(n.Value, "${{") {
		return "", "matrix depends on an expression"
	}
	const odd = "matrix has a value whose display is not known"
	if len(n.Value) > 15 {
		// GitHub shows large numbers in exponent notation.
		if t := n.ShortTag(); t == "!!int" || t == "!!float" {
			return "", odd
		}
	}
	switch n.ShortTag() {
	case "!!str":
		return n.Value, ""
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return "", odd
		}
		return strconv.FormatBool(b), ""
	case "!!int":
		if !ghaInt.MatchString(n.Value) {
			return "", odd
		}
		return n.Value, ""
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || !ghaDecimal.MatchString(n.Value) {
			return "", odd
		}
		return strconv.FormatFloat(f, 'f', -1, 64), ""
	}
	return "", odd
}
