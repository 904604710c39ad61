// Package prow reads Prow presubmit configs and turns each presubmit into a
// rules.Job. Loading, defaulting, validation and matching follow Prow
// (kubernetes-sigs/prow, pkg/config: config.go and jobs.go) exactly, because
// users compare fix-status's verdicts with what Prow really did:
//
//   - regexes are Go RE2 and match as an unanchored search, so anchors count
//     only where written; branches are joined with "|" into one regex (so
//     `branches: [main]` also matches maintenance-2), skip_branches likewise,
//     and skip_branches wins;
//   - a job runs for a change when its branch filter admits the base branch
//     and it is always_run, or a changed file matches run_if_changed, or a
//     changed file does not match skip_if_only_changed; an empty change list
//     starts no conditional job; a job with neither always_run nor a file
//     filter starts only on /test;
//   - context defaults to the name, trigger and rerun_command to Prow's
//     /test default;
//   - a config with any invalid job is rejected whole, every problem named.
//
// Only the fields that decide triggering and reporting are read; every other
// key is accepted and ignored.
package prow

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/fix-status/fix-status/app/rules"
)

// Config is a loaded and validated set of Prow presubmits, with every
// regex compiled once. It is read-only and safe for concurrent use.
type Config struct {
	jobs      map[string][]*rules.Job
	repos     []string
	ruleFiles rules.RuleFiles
}

// Jobs returns the presubmits of repo ("org/repo", matched exactly, as Prow
// does) in config order: files in load order, jobs in file order. A name
// sharded across branches appears once per definition. The Jobs are shared:
// callers must not modify them.
func (c *Config) Jobs(repo string) []*rules.Job {
	if c == nil {
		return nil
	}
	jobs := c.jobs[repo]
	if len(jobs) == 0 {
		return nil
	}
	return append([]*rules.Job(nil), jobs...)
}

// RuleFiles returns the paths that define the config's jobs, named as they
// were given: each config file given as such; for each directory, the job
// config files below it that Prow reads or would read (*.yaml and *.yml that
// no .prowignore excludes, not below a ".." entry) and every .prowignore.
func (c *Config) RuleFiles() rules.RuleFiles {
	if c == nil {
		return nil
	}
	return append(rules.RuleFiles(nil), c.ruleFiles...)
}

// Repos returns the repositories that have at least one presubmit, sorted.
func (c *Config) Repos() []string {
	if c == nil {
		return nil
	}
	return append([]string(nil), c.repos...)
}

// ConfigError is one problem in a Prow job config. Load and Parse
// return every problem found, joined with errors.Join, so err.Error() prints
// one line per problem; errors.As or the Unwrap() []error method give each.
type ConfigError struct {
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
func (e *ConfigError) Error() string {
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

// Load reads Prow job configs. Each path is a file or a directory; a
// directory contributes every *.yaml and *.yml file below it, walked in
// lexical order, skipping names that start with ".." (the bookkeeping entries
// of Kubernetes ConfigMap volumes) and what .prowignore files exclude (see
// ignoreFileName), and rejecting two files with the same base name, as Prow
// does. Presubmits of one repository from several files are appended in that
// order. Any problem makes Load return a nil config and every problem found
// (see ConfigError).
func Load(paths ...string) (*Config, error) {
	var files []*configFile
	var ruleFiles rules.RuleFiles
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			files = append(files, readError(p, "failed to read Prow config: %v", err))
			continue
		}
		root := filepath.Base(abs)
		if abs == filepath.Dir(abs) {
			root = "."
		}
		// os.DirFS of the parent, so one walker serves disk and GitHub.
		listed, rf := listFiles(os.DirFS(filepath.Dir(abs)), filepath.ToSlash(root), p)
		files, ruleFiles = append(files, listed...), append(ruleFiles, rf...)
	}
	parseAll(files)
	return finish(files, ruleFiles)
}

// LoadFS is Load over a file system (a repository at one ref): each
// path is a slash-separated file or directory in fsys, listed and merged
// exactly as Load does on disk, and named as given in origins and
// messages.
func LoadFS(fsys fs.FS, paths ...string) (*Config, error) {
	var files []*configFile
	var ruleFiles rules.RuleFiles
	for _, p := range paths {
		p = path.Clean(strings.TrimPrefix(p, "/"))
		listed, rf := listFiles(fsys, p, p)
		files, ruleFiles = append(files, listed...), append(ruleFiles, rf...)
	}
	parseAll(files)
	return finish(files, ruleFiles)
}

// Parse parses one Prow job config file's bytes; name is used in origins
// and messages.
func Parse(name string, data []byte) (*Config, error) {
	f := &configFile{path: name}
	f.parse(data)
	return finish([]*configFile{f}, rules.RuleFiles{{Path: name}})
}

// configFile is one config file: read and parsed on its own (in parallel with
// the others), then merged in load order.
type configFile struct {
	// path names the file in origins and messages; name is its path in
	// fsys, from which it is read.
	path string
	fsys fs.FS
	name string
	// readErr is set when the file could not be listed or read; it
	// carries its own message.
	readErr *ConfigError
	jobs    []*presubmit // in file order, all repositories
	errs    []error
	// budget bounds the YAML nodes visited, so aliases that expand
	// exponentially (or contain themselves) cannot stall the loader.
	budget int
}

// nodeBudget is far above any real config file: the loader visits only
// the keys it reads, never the ignored pod specs.
const nodeBudget = 1 << 20

func (f *configFile) fail(line int, repo, job, format string, args ...any) {
	f.errs = append(f.errs, &ConfigError{Path: f.path, Line: line, Repo: repo, Job: job, Problem: fmt.Sprintf(format, args...)})
}

func readError(path string, format string, args ...any) *configFile {
	return &configFile{path: path, readErr: &ConfigError{Path: path, Problem: fmt.Sprintf(format, args...)}}
}

// listFiles lists the config files of root in fsys, in Prow's order, and
// the rule files they make; display is how root is named in origins and
// messages.
func listFiles(fsys fs.FS, root, display string) ([]*configFile, rules.RuleFiles) {
	name := func(p string) string {
		if root == "." {
			return filepath.Join(display, filepath.FromSlash(p))
		}
		return display + filepath.FromSlash(strings.TrimPrefix(p, root))
	}
	shown := path.Clean(filepath.ToSlash(display))
	info, err := fs.Stat(fsys, root)
	if err != nil {
		// A change may create it, as a file or as a directory.
		return []*configFile{readError(display, "failed to read Prow config: %v", pathError(err))}, coarseRuleFiles(shown)
	}
	if !info.IsDir() {
		return []*configFile{{path: display, fsys: fsys, name: root}}, rules.RuleFiles{{Path: shown}}
	}
	rel := func(p string) string {
		if root == "." {
			return p
		}
		return strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
	}
	// The listing first, then the filter: a .prowignore applies to the
	// entries listed before it too.
	type entry struct {
		p   string
		err error
	}
	var entries []entry
	ig := &ignorer{}
	err = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			entries = append(entries, entry{p: p, err: err})
		case p != root && strings.HasPrefix(d.Name(), ".."):
			if d.IsDir() {
				return fs.SkipDir
			}
		case d.IsDir():
		case d.Name() == ignoreFileName:
			ig.read(fsys, p, path.Dir(rel(p)))
		case isConfigFile(p):
			entries = append(entries, entry{p: p})
		}
		return nil
	})
	var files []*configFile
	// Prow refuses two files with one base name: its config updater keys
	// the ConfigMap by base name. Ignored files do not count.
	seen := map[string]string{}
	for _, e := range entries {
		switch {
		case e.err != nil:
			files = append(files, readError(name(e.p), "failed to read Prow config: %v", pathError(e.err)))
			continue
		case ig.ignored(rel(e.p), false):
			continue
		}
		base := path.Base(e.p)
		if first, ok := seen[base]; ok {
			files = append(files, readError(name(e.p), "duplicated basename is not allowed: %s (also %s)", base, first))
			continue
		}
		seen[base] = name(e.p)
		files = append(files, &configFile{path: name(e.p), fsys: fsys, name: e.p})
	}
	if err != nil {
		files = append(files, readError(display, "failed to read Prow config: %v", pathError(err)))
	}
	prefix := shown + "/"
	if shown == "." {
		prefix = ""
	}
	return files, rules.RuleFiles{{Path: shown + "/", Defines: func(p string) bool {
		return ig.defines(strings.TrimPrefix(p, prefix))
	}}}
}

// RuleFiles returns the rule files of Prow configs at paths that could not
// be loaded (see Config.RuleFiles): each path as a file, and everything
// below it as a directory.
func RuleFiles(paths ...string) rules.RuleFiles {
	var out rules.RuleFiles
	for _, p := range paths {
		out = append(out, coarseRuleFiles(path.Clean(strings.TrimPrefix(filepath.ToSlash(p), "/")))...)
	}
	return out
}

func coarseRuleFiles(p string) rules.RuleFiles {
	return rules.RuleFiles{{Path: p}, {Path: p + "/"}}
}

// pathError drops the path that fs errors repeat: messages already start
// with it.
func pathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseAll reads and parses the files on GOMAXPROCS workers: YAML
// parsing is nearly all of the load time of a large config.
func parseAll(files []*configFile) {
	work := make(chan *configFile)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				data, err := fs.ReadFile(f.fsys, f.name)
				if err != nil {
					f.readErr = &ConfigError{Path: f.path, Problem: fmt.Sprintf("failed to read Prow config: %v", pathError(err))}
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
