package config

import (
	"errors"
	"fmt"
	"strings"
)

// RepoConfigPath is where the repo config lives, on the base branch (or in the
// owner's .github repository).
const RepoConfigPath = ".github/fix-status.yml"

// How skips are posted.
const (
	ReportAsStatus   = "status"
	ReportAsCheckRun = "check_run"
)

// How an explicit rule's job behaves on merge groups.
const (
	// MergeGroupRuns: the job reports on merge groups itself; fix-status
	// waits for it and re-triggers it there as on a PR.
	MergeGroupRuns = "runs"
	// MergeGroupNever (the default): it never runs on merge groups; it is
	// judged by its rules against the group's changes.
	MergeGroupNever = "never"
)

// Who may run /fix-status.
const (
	CommandAnyone        = "anyone"
	CommandCollaborators = "collaborators"
)

// Repo is the repo config (.github/fix-status.yml, see the README), version 1.
type Repo struct {
	Version    int        `yaml:"version"`
	Sources    Sources    `yaml:"sources"`
	ReportAs   string     `yaml:"report_as"`
	Contexts   []Context  `yaml:"contexts"`
	Commands   Commands   `yaml:"commands"`
	MergeQueue MergeQueue `yaml:"merge_queue"`
}

// MergeQueue holds what fix-status does for merge groups.
type MergeQueue struct {
	// CarryPRResults opts in: on a merge group, a required context whose
	// job never runs on merge groups and would run for the group's changes
	// passes when it passed on every PR of the group.
	CarryPRResults bool `yaml:"carry_pr_results"`
}

// Sources names the rule sources read from the repository.
type Sources struct {
	// Actions evaluates .github/workflows on the base branch.
	Actions bool `yaml:"actions"`
	// Prow lists Prow job config paths (files or directories) in the repository.
	Prow []string `yaml:"prow"`
}

// Context is an explicit rule for a context reported by some other CI. Prow
// style fields (run_if_changed, skip_if_only_changed: RE2) and Actions style
// fields (paths, paths-ignore: globs) cannot be mixed; branches and
// skip_branches are RE2 as in Prow.
type Context struct {
	Context           string   `yaml:"context"`
	AlwaysRun         bool     `yaml:"always_run"`
	RunIfChanged      string   `yaml:"run_if_changed"`
	SkipIfOnlyChanged string   `yaml:"skip_if_only_changed"`
	Paths             []string `yaml:"paths"`
	PathsIgnore       []string `yaml:"paths-ignore"`
	Branches          []string `yaml:"branches"`
	SkipBranches      []string `yaml:"skip_branches"`
	Rerun             Rerun    `yaml:"rerun"`
	// MergeGroup is MergeGroupRuns or MergeGroupNever (the default).
	MergeGroup string `yaml:"merge_group"`
	// Line is the line of the entry in the file.
	Line int `yaml:"-"`
}

// Rerun says how to start the context's job again.
type Rerun struct {
	Comment string `yaml:"comment"`
}

// Commands holds the comment command policy.
type Commands struct {
	FixStatus string `yaml:"fix_status"`
}

// ParseRepo parses and validates a repo config. Its error lists every
// problem, each naming its line and key ("line 4:
// contexts[0].run_if_change: unknown key"), on one line separated by "; ":
// it is shown where one line fits (a status on the PR, eval's error).
func ParseRepo(data []byte) (*Repo, error) {
	var r Repo
	d := decodeDocument(data, &r)
	if d.failed[""] {
		// Not YAML: nothing below would say anything useful.
		return nil, oneLineErr(d.errs)
	}
	// A value that could not be decoded is not validated again: its zero
	// value would only be reported as missing.
	if errs := append(d.errs, r.validate(d.isFailed)...); len(errs) > 0 {
		return nil, oneLineErr(errs)
	}
	r.SetDefaults()
	return &r, nil
}

// oneLineErr joins problems on one line (nil without any).
func oneLineErr(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// SetDefaults fills unset keys.
func (r *Repo) SetDefaults() {
	if r.ReportAs == "" {
		r.ReportAs = ReportAsStatus
	}
	if r.Commands.FixStatus == "" {
		r.Commands.FixStatus = CommandAnyone
	}
	for i := range r.Contexts {
		if r.Contexts[i].MergeGroup == "" {
			r.Contexts[i].MergeGroup = MergeGroupNever
		}
	}
}

// Validate checks what can be checked without compiling the rules (regexes
// and globs are compiled, and their errors reported, by the rule engine).
func (r *Repo) Validate() error {
	return oneLineErr(r.validate(func(string) bool { return false }))
}

// validate lists the problems of the keys that decoded (failed says of a
// key path whether it did not).
func (r *Repo) validate(failed func(key string) bool) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		if !failed(key) {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	if r.Version != 1 {
		bad("version", "version: must be 1, got %d", r.Version)
	}
	switch r.ReportAs {
	case "", ReportAsStatus, ReportAsCheckRun:
	default:
		bad("report_as", "report_as: %q is not one of status, check_run", r.ReportAs)
	}
	switch r.Commands.FixStatus {
	case "", CommandAnyone, CommandCollaborators:
	default:
		bad("commands.fix_status", "commands.fix_status: %q is not one of anyone, collaborators", r.Commands.FixStatus)
	}
	for i, p := range r.Sources.Prow {
		if strings.TrimSpace(p) == "" {
			bad(fmt.Sprintf("sources.prow[%d]", i), "sources.prow[%d]: empty path", i)
		}
	}
	seen := map[string]int{}
	for i, c := range r.Contexts {
		key := fmt.Sprintf("contexts[%d]", i)
		at := fmt.Sprintf("line %d: %s", c.Line, key)
		if c.Context == "" {
			bad(key+".context", "%s: context: missing", at)
			continue
		}
		at = fmt.Sprintf("%s (%s)", at, c.Context)
		if prev, ok := seen[strings.ToLower(c.Context)]; ok {
			bad(key+".context", "%s: context: already defined at contexts[%d]", at, prev)
		}
		seen[strings.ToLower(c.Context)] = i
		prowStyle := c.RunIfChanged != "" || c.SkipIfOnlyChanged != ""
		actionsStyle := len(c.Paths) > 0 || len(c.PathsIgnore) > 0
		switch {
		case prowStyle && actionsStyle:
			bad(key, "%s: run_if_changed/skip_if_only_changed (RE2) and paths/paths-ignore (globs) cannot be mixed", at)
		case c.RunIfChanged != "" && c.SkipIfOnlyChanged != "":
			bad(key, "%s: run_if_changed and skip_if_only_changed are mutually exclusive", at)
		case len(c.Paths) > 0 && len(c.PathsIgnore) > 0:
			bad(key, "%s: paths and paths-ignore cannot both be used", at)
		}
		if c.AlwaysRun && (prowStyle || actionsStyle) {
			bad(key, "%s: always_run cannot be combined with a file filter", at)
		}
		switch c.MergeGroup {
		case "", MergeGroupRuns, MergeGroupNever:
		default:
			bad(key+".merge_group", "%s: merge_group: %q is not one of runs, never", at, c.MergeGroup)
		}
	}
	return errs
}

// setLine keeps the line of a contexts entry, for the messages that name it.
func (c *Context) setLine(line int) { c.Line = line }
