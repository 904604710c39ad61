package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// This file reads Prow presubmit configs (kubernetes-sigs/prow,
// pkg/config/config.go and jobs.go) and turns each presubmit into a Job.
// Loading, defaulting, validation and branch matching follow Prow exactly
// (see docs/semantics.md); only the fields that decide triggering and reporting are
// kept, every other key is accepted and ignored.

// ProwConfig is a loaded and validated set of Prow presubmits, with every
// regex compiled once. It is read-only and safe for concurrent use.
type ProwConfig struct {
	jobs  map[string][]*Job
	repos []string
}

// Jobs returns the presubmits of repo ("org/repo", matched exactly, as Prow
// does) in config order: files in load order, jobs in file order. A name
// sharded across branches appears once per definition. The Jobs are shared:
// callers must not modify them.
func (c *ProwConfig) Jobs(repo string) []*Job {
	if c == nil {
		return nil
	}
	jobs := c.jobs[repo]
	if len(jobs) == 0 {
		return nil
	}
	return append([]*Job(nil), jobs...)
}

// Repos returns the repositories that have at least one presubmit, sorted.
func (c *ProwConfig) Repos() []string {
	if c == nil {
		return nil
	}
	return append([]string(nil), c.repos...)
}

// ProwConfigError is one problem in a Prow job config. LoadProw and ParseProw
// return every problem found, joined with errors.Join, so err.Error() prints
// one line per problem; errors.As or the Unwrap() []error method give each.
type ProwConfigError struct {
	// Path is the config file.
	Path string
	// Line is the 1-based line of the job (or of the YAML problem), 0 if
	// unknown.
	Line int
	// Repo is the "org/repo" key of the job, empty for file-level problems.
	Repo string
	// Job is the job name, empty for file-level problems or nameless jobs.
	Job string
	// Problem says what is wrong.
	Problem string
}

// Error formats the problem on one line:
// `config/jobs/a.yaml: org/repo: job "pull-foo": problem`.
func (e *ProwConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Repo == "" && e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Repo != "" {
		b.WriteString(e.Repo)
		b.WriteString(": ")
		switch {
		case e.Job != "":
			fmt.Fprintf(&b, "job %q: ", e.Job)
		case e.Line > 0:
			fmt.Fprintf(&b, "job at line %d: ", e.Line)
		}
	}
	b.WriteString(e.Problem)
	// A regex or YAML value may contain a line break; keep one line per
	// problem so the CLI can print them as a list.
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(b.String())
}

// LoadProw reads Prow job configs. Each path is a file or a directory; a
// directory contributes every *.yaml and *.yml file below it, walked in
// lexical order, skipping names that start with ".." (the bookkeeping entries
// of Kubernetes ConfigMap volumes) and rejecting two files with the same base
// name, as Prow does. Presubmits of one repository from several files are
// appended in that order. Any problem makes LoadProw return a nil config and
// every problem found (see ProwConfigError).
func LoadProw(paths ...string) (*ProwConfig, error) {
	var files []*prowFile
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			files = append(files, prowReadError(p, "failed to read Prow config: %v", err))
			continue
		}
		root := filepath.Base(abs)
		if abs == filepath.Dir(abs) {
			root = "."
		}
		// os.DirFS of the parent, so one walker serves disk and GitHub.
		files = append(files, prowList(os.DirFS(filepath.Dir(abs)), filepath.ToSlash(root), p)...)
	}
	prowParseAll(files)
	return prowFinish(files)
}

// LoadProwFS is LoadProw over a file system (a repository at one ref): each
// path is a slash-separated file or directory in fsys, listed and merged
// exactly as LoadProw does on disk, and named as given in origins and
// messages.
func LoadProwFS(fsys fs.FS, paths ...string) (*ProwConfig, error) {
	var files []*prowFile
	for _, p := range paths {
		p = path.Clean(strings.TrimPrefix(p, "/"))
		files = append(files, prowList(fsys, p, p)...)
	}
	prowParseAll(files)
	return prowFinish(files)
}

// ParseProw parses one Prow job config file's bytes; name is used in origins
// and messages.
func ParseProw(name string, data []byte) (*ProwConfig, error) {
	f := &prowFile{path: name}
	f.parse(data)
	return prowFinish([]*prowFile{f})
}

// prowPresubmit is one presubmit as written, with its defaults and compiled
// regexes.
type prowPresubmit struct {
	repo   string
	origin Origin

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

	branchRe  *prowRegex // nil when branches is empty
	skipRe    *prowRegex // nil when skip_branches is empty
	changesRe *prowRegex // run_if_changed xor skip_if_only_changed
	// brokenBranches is set when a branch regex did not compile: the job's
	// branch overlap with others cannot be decided.
	brokenBranches bool
}

func (ps *prowPresubmit) allBranches() bool {
	return len(ps.branches) == 0 && len(ps.skipBranches) == 0
}

// couldRun is Prow's Brancher.ShouldRun (see docs/semantics.md).
func (ps *prowPresubmit) couldRun(branch string) bool {
	if ps.allBranches() {
		return true
	}
	if ps.skipRe != nil && ps.skipRe.match(branch) {
		return false
	}
	return ps.branchRe == nil || ps.branchRe.match(branch)
}

// prowBranchesIntersect is Prow's Brancher.Intersects: literal branch lists
// are compared as strings (so [main] and [^main$] are disjoint to Prow), and
// only a job with skip_branches alone is tested against the other's literal
// branch names.
func prowBranchesIntersect(a, b *prowPresubmit) bool {
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
	return prowBranchesIntersect(b, a)
}

// prowFile is one config file: read and parsed on its own (in parallel with
// the others), then merged in load order.
type prowFile struct {
	// path names the file in origins and messages; name is its path in
	// fsys, from which it is read.
	path string
	fsys fs.FS
	name string
	// readErr is set when the file could not be listed or read; it
	// carries its own message.
	readErr *ProwConfigError
	jobs    []*prowPresubmit // in file order, all repositories
	errs    []error
	// budget bounds the YAML nodes visited, so aliases that expand
	// exponentially (or contain themselves) cannot stall the loader.
	budget int
}

// prowNodeBudget is far above any real config file: the loader visits only
// the keys it reads, never the ignored pod specs.
const prowNodeBudget = 1 << 20

func (f *prowFile) fail(line int, repo, job, format string, args ...any) {
	f.errs = append(f.errs, &ProwConfigError{Path: f.path, Line: line, Repo: repo, Job: job, Problem: fmt.Sprintf(format, args...)})
}

func prowReadError(path string, format string, args ...any) *prowFile {
	return &prowFile{path: path, readErr: &ProwConfigError{Path: path, Problem: fmt.Sprintf(format, args...)}}
}

// prowList lists the config files of root in fsys, in Prow's order; display
// is how root is named in origins and messages.
func prowList(fsys fs.FS, root, display string) []*prowFile {
	name := func(p string) string {
		if root == "." {
			return filepath.Join(display, filepath.FromSlash(p))
		}
		return display + filepath.FromSlash(strings.TrimPrefix(p, root))
	}
	info, err := fs.Stat(fsys, root)
	if err != nil {
		return []*prowFile{prowReadError(display, "failed to read Prow config: %v", prowPathError(err))}
	}
	if !info.IsDir() {
		return []*prowFile{{path: display, fsys: fsys, name: root}}
	}
	var files []*prowFile
	// Prow refuses two files with one base name: its config updater keys
	// the ConfigMap by base name.
	seen := map[string]string{}
	err = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			files = append(files, prowReadError(name(p), "failed to read Prow config: %v", prowPathError(err)))
			return nil
		}
		if p != root && strings.HasPrefix(d.Name(), "..") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		base := path.Base(p)
		if first, ok := seen[base]; ok {
			files = append(files, prowReadError(name(p), "duplicated basename is not allowed: %s (also %s)", base, first))
			return nil
		}
		seen[base] = name(p)
		files = append(files, &prowFile{path: name(p), fsys: fsys, name: p})
		return nil
	})
	if err != nil {
		files = append(files, prowReadError(display, "failed to read Prow config: %v", prowPathError(err)))
	}
	return files
}

// prowPathError drops the path that fs errors repeat: messages already start
// with it.
func prowPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// prowParseAll reads and parses the files on GOMAXPROCS workers: YAML
// parsing is nearly all of the load time of a large config.
func prowParseAll(files []*prowFile) {
	work := make(chan *prowFile)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				data, err := fs.ReadFile(f.fsys, f.name)
				if err != nil {
					f.readErr = &ProwConfigError{Path: f.path, Problem: fmt.Sprintf("failed to read Prow config: %v", prowPathError(err))}
					continue
				}
				f.parse(data)
			}
		}()
	}
	for _, f := range files {
		if f.readErr == nil {
			work <- f
		}
	}
	close(work)
	wg.Wait()
}

// parse reads the presubmits of one file. The YAML is decoded as Prow's
// sigs.k8s.io/yaml does (YAML 1.1 into a generic map, then JSON into the job
// structs): later duplicate keys win, `<<` merges override the keys before
// them, and field names match case-insensitively.
func (f *prowFile) parse(data []byte) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		f.fail(0, "", "", "invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	if len(doc.Content) == 0 {
		return
	}
	f.budget = prowNodeBudget
	root, err := f.resolve(doc.Content[0])
	if err != nil {
		f.fail(doc.Content[0].Line, "", "", "%v", err)
		return
	}
	if prowIsNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		f.fail(root.Line, "", "", "expected a mapping at the top level, got %s", prowKind(root))
		return
	}
	top, err := f.pairs(root)
	if err != nil {
		f.fail(root.Line, "", "", "%v", err)
		return
	}
	var presubmits *yaml.Node
	for _, p := range prowJSONOrder(top) {
		if prowFieldName(p.key, "presubmits") {
			presubmits = p.value
		}
	}
	if presubmits == nil || prowIsNull(presubmits) {
		return
	}
	if presubmits.Kind != yaml.MappingNode {
		f.fail(presubmits.Line, "", "", "presubmits: expected a mapping of org/repo to jobs, got %s", prowKind(presubmits))
		return
	}
	repos, err := f.pairs(presubmits)
	if err != nil {
		f.fail(presubmits.Line, "", "", "presubmits: %v", err)
		return
	}
	for _, r := range repos {
		f.parseRepo(r)
	}
}

func (f *prowFile) parseRepo(r prowPair) {
	list, err := f.resolve(r.value)
	if err != nil {
		f.fail(r.line, r.key, "", "%v", err)
		return
	}
	if prowIsNull(list) {
		return
	}
	if list.Kind != yaml.SequenceNode {
		f.fail(list.Line, r.key, "", "expected a list of jobs, got %s", prowKind(list))
		return
	}
	for _, item := range list.Content {
		if f.budget--; f.budget < 0 {
			f.fail(item.Line, r.key, "", "too many YAML nodes (aliases expand beyond %d)", prowNodeBudget)
			return
		}
		if ps := f.parseJob(r.key, item); ps != nil {
			f.jobs = append(f.jobs, ps)
		}
	}
}

// prowFields are the presubmit keys that decide triggering and reporting.
var prowFields = []string{
	"name", "always_run", "run_if_changed", "skip_if_only_changed", "optional",
	"skip_report", "context", "branches", "skip_branches", "trigger",
	"rerun_command", "run_before_merge",
}

func (f *prowFile) parseJob(repo string, item *yaml.Node) *prowPresubmit {
	// The job's line is where it is listed, even when it is an alias.
	ps := &prowPresubmit{repo: repo, origin: Origin{Path: f.path, Line: item.Line}}
	n, err := f.resolve(item)
	if err != nil {
		f.fail(item.Line, repo, "", "%v", err)
		return nil
	}
	if prowIsNull(n) {
		// Prow decodes a null entry as a job with no name.
		return ps
	}
	if n.Kind != yaml.MappingNode {
		f.fail(item.Line, repo, "", "expected a job mapping, got %s", prowKind(n))
		return nil
	}
	pairs, err := f.pairs(n)
	if err != nil {
		f.fail(item.Line, repo, "", "%v", err)
		return nil
	}
	ordered := prowJSONOrder(pairs)
	// The name first, so that field errors can name the job.
	for _, p := range ordered {
		if prowFieldName(p.key, "name") {
			ps.name, err = f.str(p.value)
			if err != nil {
				f.fail(item.Line, repo, "", "name: %v", err)
				return nil
			}
		}
	}
	ok := true
	for _, p := range ordered {
		field := ""
		for _, name := range prowFields {
			if prowFieldName(p.key, name) {
				field = name
				break
			}
		}
		if field == "" || field == "name" {
			continue
		}
		if err := f.setField(ps, field, p.value); err != nil {
			f.fail(item.Line, repo, ps.name, "%s: %v", field, err)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return ps
}

func (f *prowFile) setField(ps *prowPresubmit, field string, v *yaml.Node) error {
	var err error
	switch field {
	case "always_run":
		ps.alwaysRun, err = f.boolean(v)
	case "optional":
		ps.optional, err = f.boolean(v)
	case "skip_report":
		ps.skipReport, err = f.boolean(v)
	case "run_before_merge":
		ps.runBeforeMerge, err = f.boolean(v)
	case "run_if_changed":
		ps.runIfChanged, err = f.str(v)
	case "skip_if_only_changed":
		ps.skipIfOnlyChanged, err = f.str(v)
	case "context":
		ps.context, err = f.str(v)
	case "trigger":
		ps.trigger, err = f.str(v)
	case "rerun_command":
		ps.rerunCommand, err = f.str(v)
	case "branches":
		ps.branches, err = f.strs(v)
	case "skip_branches":
		ps.skipBranches, err = f.strs(v)
	}
	return err
}

// prowFieldName reports whether a YAML key selects a field, the way
// encoding/json matches object keys to struct fields (case-insensitively).
func prowFieldName(key, field string) bool {
	return key == field || strings.EqualFold(key, field)
}

type prowPair struct {
	key   string
	value *yaml.Node
	line  int
}

// resolve follows aliases.
func (f *prowFile) resolve(n *yaml.Node) (*yaml.Node, error) {
	for n.Kind == yaml.AliasNode {
		if f.budget--; f.budget < 0 {
			return nil, fmt.Errorf("too many YAML nodes (aliases expand beyond %d)", prowNodeBudget)
		}
		if n.Alias == nil {
			return nil, fmt.Errorf("unknown alias *%s", n.Value)
		}
		n = n.Alias
	}
	return n, nil
}

// pairs flattens a mapping the way yaml.v2 decodes it into a map (which is
// what sigs.k8s.io/yaml does): in document order, a later key replaces an
// earlier one, and a `<<` merge sets its keys at its position (for a list
// of mappings, the first mapping wins).
func (f *prowFile) pairs(n *yaml.Node) ([]prowPair, error) {
	var out []prowPair
	index := map[string]int{}
	set := func(p prowPair) {
		if i, ok := index[p.key]; ok {
			out[i] = p
			return
		}
		index[p.key] = len(out)
		out = append(out, p)
	}
	var walk func(n *yaml.Node, depth int) error
	walk = func(n *yaml.Node, depth int) error {
		if depth > 100 {
			return errors.New("merge keys nested too deeply")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if f.budget -= 2; f.budget < 0 {
				return fmt.Errorf("too many YAML nodes (aliases expand beyond %d)", prowNodeBudget)
			}
			k, err := f.resolve(n.Content[i])
			if err != nil {
				return err
			}
			v := n.Content[i+1]
			if prowIsMerge(k) {
				if err := f.merge(v, depth, walk); err != nil {
					return err
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: expected a scalar key, got %s", k.Line, prowKind(k))
			}
			set(prowPair{key: k.Value, value: v, line: k.Line})
		}
		return nil
	}
	if err := walk(n, 0); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *prowFile) merge(v *yaml.Node, depth int, walk func(*yaml.Node, int) error) error {
	m, err := f.resolve(v)
	if err != nil {
		return err
	}
	switch m.Kind {
	case yaml.MappingNode:
		return walk(m, depth+1)
	case yaml.SequenceNode:
		// The first mapping of the list takes precedence: apply in reverse.
		for i := len(m.Content) - 1; i >= 0; i-- {
			e, err := f.resolve(m.Content[i])
			if err != nil {
				return err
			}
			if e.Kind != yaml.MappingNode {
				return fmt.Errorf("line %d: a merge list may contain only mappings, got %s", e.Line, prowKind(e))
			}
			if err := walk(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("line %d: a merge value must be a mapping or a list of mappings, got %s", m.Line, prowKind(m))
}

// prowJSONOrder orders keys as Prow's YAML-to-JSON conversion does (a Go map
// marshalled with sorted keys), which decides which of two keys differing
// only in case wins.
func prowJSONOrder(pairs []prowPair) []prowPair {
	out := append([]prowPair(nil), pairs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func prowIsMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0) &&
		(k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge")
}

func prowIsNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func prowKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

// str reads a string field: any scalar, by its text; null is empty.
func (f *prowFile) str(n *yaml.Node) (string, error) {
	n, err := f.resolve(n)
	if err != nil {
		return "", err
	}
	if prowIsNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("expected a string, got %s", prowKind(n))
	}
	return n.Value, nil
}

func (f *prowFile) strs(n *yaml.Node) ([]string, error) {
	n, err := f.resolve(n)
	if err != nil {
		return nil, err
	}
	if prowIsNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("expected a list of strings, got %s", prowKind(n))
	}
	out := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		if f.budget--; f.budget < 0 {
			return nil, fmt.Errorf("too many YAML nodes (aliases expand beyond %d)", prowNodeBudget)
		}
		s, err := f.str(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// boolean reads a boolean field with YAML 1.1 spellings (yes/no, on/off,
// ...), as Prow's YAML decoder does; a quoted string is not a boolean.
func (f *prowFile) boolean(n *yaml.Node) (bool, error) {
	n, err := f.resolve(n)
	if err != nil {
		return false, err
	}
	if prowIsNull(n) {
		return false, nil
	}
	if n.Kind == yaml.ScalarNode && (n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0) &&
		(n.Style&yaml.TaggedStyle == 0 || n.ShortTag() == "!!bool") {
		switch n.Value {
		case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
			return true, nil
		case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
			return false, nil
		}
	}
	return false, fmt.Errorf("expected true or false, got %s", prowKind(n))
}

// prowLoader defaults, compiles and validates the merged jobs.
type prowLoader struct {
	errs  []error
	cache map[string]*prowRegex
}

func (l *prowLoader) fail(path string, line int, repo, job, format string, args ...any) {
	l.errs = append(l.errs, &ProwConfigError{Path: path, Line: line, Repo: repo, Job: job, Problem: fmt.Sprintf(format, args...)})
}

// prowFinish merges the files in order (presubmits of one repository are
// appended, as Prow's mergeJobConfigs does), then defaults, compiles and
// validates every job and builds the Jobs.
func prowFinish(files []*prowFile) (*ProwConfig, error) {
	l := &prowLoader{cache: map[string]*prowRegex{}}
	byRepo := map[string][]*prowPresubmit{}
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
	c := &ProwConfig{jobs: make(map[string][]*Job, len(repos)), repos: repos}
	for _, repo := range repos {
		out := make([]*Job, len(byRepo[repo]))
		for i, ps := range byRepo[repo] {
			out[i] = ps.job()
		}
		c.jobs[repo] = out
	}
	return c, nil
}

// prowDefaultTrigger is Prow's DefaultTriggerFor: the name is inserted
// without escaping, so a name with regex syntax changes the trigger (and may
// make the rerun command fail to match it, which Prow rejects too).
func prowDefaultTrigger(name string) string {
	return `(?m)^/test( | .* )` + name + `,?($|\s.*)`
}

// prowPlainName is Prow's own rule for job names (validateJobName).
var prowPlainName = regexp.MustCompile(`^[A-Za-z0-9-._]+$`)

// prepare applies Prow's defaults, compiles the regexes and checks the job on
// its own.
func (l *prowLoader) prepare(ps *prowPresubmit) {
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
		ps.trigger = prowDefaultTrigger(ps.name)
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
	case defaulted && prowPlainName.MatchString(ps.name):
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
func (l *prowLoader) compile(expr, field string, fail func(string, ...any)) *prowRegex {
	re, ok := l.cache[expr]
	if !ok {
		re = newProwRegex(expr)
		l.cache[expr] = re
	}
	if re.err != nil {
		fail("invalid %s regex %q: %v", field, expr, re.err)
		return nil
	}
	return re
}

// checkConflicts applies Prow's cross-job rules for one repository: a name
// may repeat only on disjoint branches, and two differently named jobs on
// overlapping branches may not report the same context. Each problem is
// reported once, on the later job.
func (l *prowLoader) checkConflicts(jobs []*prowPresubmit) {
	byName := map[string][]*prowPresubmit{}
	byContext := map[string][]*prowPresubmit{}
	for _, ps := range jobs {
		if ps.name == "" {
			continue
		}
		for _, prev := range byName[ps.name] {
			if prowOverlap(prev, ps) {
				l.fail(ps.origin.Path, ps.origin.Line, ps.repo, ps.name,
					"job name already defined at %s:%d on overlapping branches (a name may repeat only on disjoint branches)",
					prev.origin.Path, prev.origin.Line)
				break
			}
		}
		for _, prev := range byContext[ps.context] {
			if prev.name != ps.name && prowOverlap(prev, ps) {
				l.fail(ps.origin.Path, ps.origin.Line, ps.repo, ps.name,
					"reports to context %q like job %q (%s:%d) on overlapping branches",
					ps.context, prev.name, prev.origin.Path, prev.origin.Line)
			}
		}
		byName[ps.name] = append(byName[ps.name], ps)
		byContext[ps.context] = append(byContext[ps.context], ps)
	}
}

// prowOverlap is Intersects for jobs whose branch regexes compiled; a job
// with a broken branch regex already has its error.
func prowOverlap(a, b *prowPresubmit) bool {
	if a.brokenBranches || b.brokenBranches {
		return false
	}
	return prowBranchesIntersect(a, b)
}

// job converts a validated presubmit into the shared model.
func (ps *prowPresubmit) job() *Job {
	j := &Job{
		Name:       ps.name,
		Context:    ps.context,
		Source:     SourceProw,
		Origin:     ps.origin,
		Trigger:    TriggerManual,
		Optional:   ps.optional,
		SkipReport: ps.skipReport,
		Rerun:      Rerun{Method: RerunComment, Comment: ps.rerunCommand},
	}
	switch {
	case ps.alwaysRun:
		j.Trigger = TriggerAlways
	case ps.runIfChanged != "":
		j.Trigger = TriggerConditional
		j.Files = &prowFileFilter{expr: ps.runIfChanged, re: ps.changesRe}
	case ps.skipIfOnlyChanged != "":
		j.Trigger = TriggerConditional
		j.Files = &prowFileFilter{expr: ps.skipIfOnlyChanged, re: ps.changesRe, skip: true}
	}
	if !ps.allBranches() {
		f := &prowBranchFilter{branch: ps.branchRe, skip: ps.skipRe}
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

// prowFileFilter is Prow's RegexpChangeMatcher.RunsAgainstChanges.
type prowFileFilter struct {
	expr string
	re   *prowRegex
	// skip is set for skip_if_only_changed: the job runs when some changed
	// file does not match.
	skip bool
}

// Match implements FileFilter.
func (f *prowFileFilter) Match(files []string) (bool, string) {
	if len(files) == 0 {
		return false, "no changed files"
	}
	if f.skip {
		for _, file := range files {
			if !f.re.match(file) {
				return true, file + " does not match skip_if_only_changed " + f.expr
			}
		}
		return false, "every changed file matches skip_if_only_changed " + f.expr
	}
	for _, file := range files {
		if f.re.match(file) {
			return true, "run_if_changed " + f.expr + " matches " + file
		}
	}
	return false, "no changed file matches run_if_changed " + f.expr
}

// prowBranchFilter is Prow's Brancher.ShouldRun: skip_branches wins over
// branches, and no branches means every branch not skipped.
type prowBranchFilter struct {
	branches, skipBranches string // the joined expressions, for reasons
	branch, skip           *prowRegex
}

// Match implements BranchFilter.
func (f *prowBranchFilter) Match(branch string) (bool, string) {
	if f.skip != nil && f.skip.match(branch) {
		return false, "branch " + branch + " matches skip_branches " + f.skipBranches
	}
	if f.branch == nil || f.branch.match(branch) {
		return true, ""
	}
	return false, "branch " + branch + " does not match branches " + f.branches
}

// prowRegex is a compiled Prow regex. Matching is an unanchored search
// (MatchString), exactly as Prow does. Most real run_if_changed and
// skip_if_only_changed patterns are literal prefixes, suffixes and
// alternations of them (`^docs/`, `\.md$`, `^(cmd|pkg)/`); those are matched
// with string operations, which matters when hundreds of jobs each scan
// thousands of changed files. FuzzProwRegex checks the two agree.
type prowRegex struct {
	re  *regexp.Regexp
	err error
	// alts is the pattern as a list of alternatives, nil when it has a
	// construct the fast path does not handle (or matcher was not called).
	alts     []prowAlt
	altsDone bool
}

func newProwRegex(expr string) *prowRegex {
	re, err := regexp.Compile(expr)
	if err != nil {
		return &prowRegex{err: err}
	}
	return &prowRegex{re: re}
}

// matcher prepares the fast path of a regex that is matched against branch
// or file names (triggers never are), once.
func (r *prowRegex) matcher() *prowRegex {
	if r == nil || r.err != nil || r.altsDone {
		return r
	}
	r.altsDone = true
	if syn, err := syntax.Parse(r.re.String(), syntax.Perl); err == nil {
		r.alts = prowAlternatives(syn)
	}
	return r
}

func (r *prowRegex) match(s string) bool {
	// `.` and `.*` stop at a line break unless (?s) is set: leave such
	// (rare) names to the regexp engine rather than model both.
	if r.alts == nil || strings.IndexByte(s, '\n') >= 0 {
		return r.re.MatchString(s)
	}
	for i := range r.alts {
		if r.alts[i].match(s) {
			return true
		}
	}
	return false
}

// prowAlt is one alternative of the fast path: literal segments separated by
// `.*`, optionally anchored at the start (^) and at the end ($).
type prowAlt struct {
	start, end bool
	segs       []string
}

// match finds each segment leftmost after the previous one; the earliest
// placement leaves the most room for the rest, so this decides the match.
func (a *prowAlt) match(s string) bool {
	segs := a.segs
	if len(segs) == 1 {
		switch {
		case a.start && a.end:
			return s == segs[0]
		case a.start:
			return strings.HasPrefix(s, segs[0])
		case a.end:
			return strings.HasSuffix(s, segs[0])
		}
		return strings.Contains(s, segs[0])
	}
	pos := 0
	if a.start {
		if !strings.HasPrefix(s, segs[0]) {
			return false
		}
		pos = len(segs[0])
	} else {
		i := strings.Index(s, segs[0])
		if i < 0 {
			return false
		}
		pos = i + len(segs[0])
	}
	last := len(segs) - 1
	for _, seg := range segs[1:last] {
		i := strings.Index(s[pos:], seg)
		if i < 0 {
			return false
		}
		pos += i + len(seg)
	}
	if a.end {
		return len(s)-len(segs[last]) >= pos && strings.HasSuffix(s, segs[last])
	}
	return strings.Contains(s[pos:], segs[last])
}

// prowMaxAlts bounds the alternatives a pattern expands to (`(a|b)(c|d)`
// gives four); beyond it the regexp engine is as good.
const prowMaxAlts = 16

// prowToken is one element of an expanded alternative.
type prowToken struct {
	kind byte // 'l' literal, '*' any run of characters, '^' start, '$' end
	lit  string
}

// prowAlternatives expands a parsed regex into alternatives of literals,
// `.*`, `^` and `$`, or returns nil.
func prowAlternatives(re *syntax.Regexp) []prowAlt {
	seqs, ok := prowExpand(re)
	if !ok {
		return nil
	}
	alts := make([]prowAlt, 0, len(seqs))
	for _, seq := range seqs {
		alt, possible, ok := prowAltOf(seq)
		if !ok {
			return nil
		}
		if possible {
			alts = append(alts, alt)
		}
	}
	if len(alts) == 0 {
		// Nothing can match; let the regexp engine say so.
		return nil
	}
	return alts
}

// prowExpand returns the token sequences re matches, as alternatives.
func prowExpand(re *syntax.Regexp) ([][]prowToken, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		for _, r := range re.Rune {
			// A literal U+FFFD also matches invalid UTF-8 in the input,
			// which byte comparison would not.
			if r == utf8.RuneError {
				return nil, false
			}
		}
		return [][]prowToken{{{kind: 'l', lit: string(re.Rune)}}}, true
	case syntax.OpEmptyMatch:
		return [][]prowToken{{}}, true
	case syntax.OpBeginText:
		return [][]prowToken{{{kind: '^'}}}, true
	case syntax.OpEndText:
		return [][]prowToken{{{kind: '$'}}}, true
	case syntax.OpStar:
		if op := re.Sub[0].Op; op == syntax.OpAnyCharNotNL || op == syntax.OpAnyChar {
			return [][]prowToken{{{kind: '*'}}}, true
		}
		return nil, false
	case syntax.OpCapture:
		return prowExpand(re.Sub[0])
	case syntax.OpQuest:
		seqs, ok := prowExpand(re.Sub[0])
		if !ok || len(seqs)+1 > prowMaxAlts {
			return nil, false
		}
		return append(seqs, nil), true
	case syntax.OpAlternate:
		var out [][]prowToken
		for _, sub := range re.Sub {
			seqs, ok := prowExpand(sub)
			if !ok || len(out)+len(seqs) > prowMaxAlts {
				return nil, false
			}
			out = append(out, seqs...)
		}
		return out, true
	case syntax.OpConcat:
		out := [][]prowToken{{}}
		for _, sub := range re.Sub {
			seqs, ok := prowExpand(sub)
			if !ok || len(out)*len(seqs) > prowMaxAlts {
				return nil, false
			}
			next := make([][]prowToken, 0, len(out)*len(seqs))
			for _, a := range out {
				for _, b := range seqs {
					seq := make([]prowToken, 0, len(a)+len(b))
					next = append(next, append(append(seq, a...), b...))
				}
			}
			out = next
		}
		return out, true
	}
	return nil, false
}

// prowAltOf turns a token sequence into an alternative. possible is false
// when the sequence can never match (a literal before ^ or after $); ok is
// false when the fast path does not model it ($ before ^).
func prowAltOf(seq []prowToken) (alt prowAlt, possible, ok bool) {
	// Zero-width ^ holds only where nothing was consumed: whatever stands
	// before it (stars) matched empty and can go. Likewise after $.
	first, last := 0, len(seq)
	for i, t := range seq {
		switch {
		case t.kind == '^':
			for _, u := range seq[:i] {
				if u.kind == '$' {
					return alt, false, false
				}
				if u.kind == 'l' && u.lit != "" {
					return alt, false, true
				}
			}
			alt.start, first = true, i+1
		case t.kind == '$' && !alt.end:
			alt.end, last = true, i
		}
	}
	if alt.end {
		for _, u := range seq[last:] {
			if u.kind == '^' {
				return alt, false, false
			}
			if u.kind == 'l' && u.lit != "" {
				return alt, false, true
			}
		}
	}
	if first > last {
		return alt, false, false
	}
	var cur strings.Builder
	for _, t := range seq[first:last] {
		switch t.kind {
		case 'l':
			cur.WriteString(t.lit)
		case '*':
			alt.segs = append(alt.segs, cur.String())
			cur.Reset()
		}
	}
	alt.segs = append(alt.segs, cur.String())
	return alt, true, true
}
