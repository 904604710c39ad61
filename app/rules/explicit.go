package rules

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fix-status/fix-status/config"
)

// ExplicitJobs turns the repo config's explicit rules (`contexts:`) into
// jobs. Prow-style fields (run_if_changed, skip_if_only_changed, branches,
// skip_branches) have Prow's semantics exactly; paths and paths-ignore have
// GitHub Actions' glob semantics. path names the config file in messages.
// Every invalid regex or glob is reported, one line each.
func ExplicitJobs(path string, cfg *config.Repo) ([]*Job, error) {
	if cfg == nil {
		return nil, nil
	}
	var jobs []*Job
	var errs []error
	for i, c := range cfg.Contexts {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: line %d: contexts[%d] (%s): %s", path, c.Line, i, c.Context, fmt.Sprintf(format, args...)))
		}
		j := &Job{Name: c.Context, Context: c.Context, Source: SourceConfig, Origin: Origin{Path: path, Line: c.Line}}
		if c.Rerun.Comment != "" {
			j.Rerun = Rerun{Method: RerunComment, Comment: c.Rerun.Comment}
		}
		ok := true
		compile := func(expr, field string) *prowRegex {
			re := newProwRegex(expr)
			if re.err != nil {
				fail("invalid %s regex %q: %v", field, expr, re.err)
				ok = false
				return nil
			}
			return re
		}
		switch {
		case c.AlwaysRun:
			j.Trigger = TriggerAlways
		case c.RunIfChanged != "":
			j.Trigger = TriggerConditional
			j.Files = &prowFileFilter{expr: c.RunIfChanged, re: compile(c.RunIfChanged, "run_if_changed")}
		case c.SkipIfOnlyChanged != "":
			j.Trigger = TriggerConditional
			j.Files = &prowFileFilter{expr: c.SkipIfOnlyChanged, re: compile(c.SkipIfOnlyChanged, "skip_if_only_changed"), skip: true}
		case len(c.Paths) > 0 || len(c.PathsIgnore) > 0:
			field, patterns, ignore := "paths", c.Paths, false
			if len(c.PathsIgnore) > 0 {
				field, patterns, ignore = "paths-ignore", c.PathsIgnore, true
			}
			pl, err := CompilePatterns(patterns)
			if err != nil {
				fail("%s: %v", field, err)
				ok = false
			} else {
				j.Trigger, j.Files = TriggerConditional, &ghaPathFilter{list: pl, ignore: ignore}
			}
		default:
			j.Trigger = TriggerManual
			j.ManualReason = "no always_run and no file filter: only an explicit request starts it"
		}
		if len(c.Branches) > 0 || len(c.SkipBranches) > 0 {
			f := &prowBranchFilter{}
			if len(c.Branches) > 0 {
				f.branches = strings.Join(c.Branches, "|")
				f.branch = compile(f.branches, "branches")
			}
			if len(c.SkipBranches) > 0 {
				f.skipBranches = strings.Join(c.SkipBranches, "|")
				f.skip = compile(f.skipBranches, "skip_branches")
			}
			j.Branches = f
		}
		if ok {
			jobs = append(jobs, j)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return jobs, nil
}
