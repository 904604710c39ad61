// Package explicit turns the repo config's explicit rules (`contexts:` in
// .github/fix-status.yml, for CI that fix-status cannot read) into jobs.
package explicit

import (
	"errors"
	"fmt"

	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/rules/actions"
	"github.com/fix-status/fix-status/app/rules/prow"
	"github.com/fix-status/fix-status/config"
)

// Jobs turns the explicit rules of cfg into jobs. Prow-style fields
// (run_if_changed, skip_if_only_changed, branches, skip_branches) have Prow's
// semantics exactly; paths and paths-ignore have GitHub Actions' glob
// semantics; merge_group says whether the job runs on merge groups (for the
// base branches its branch filter admits). path names the config file in
// origins and messages. Every invalid regex or glob is reported, one line
// each.
func Jobs(path string, cfg *config.Repo) ([]*rules.Job, error) {
	if cfg == nil {
		return nil, nil
	}
	var jobs []*rules.Job
	var errs []error
	for i, c := range cfg.Contexts {
		ok := true
		fail := func(err error) {
			ok = false
			// A filter may report several problems: one line each.
			list := []error{err}
			if joined, isJoined := err.(interface{ Unwrap() []error }); isJoined {
				list = joined.Unwrap()
			}
			for _, e := range list {
				errs = append(errs, fmt.Errorf("%s: line %d: contexts[%d] (%s): %w", path, c.Line, i, c.Context, e))
			}
		}
		j := &rules.Job{Name: c.Context, Context: c.Context, Source: rules.SourceConfig, Origin: rules.Origin{Path: path, Line: c.Line}}
		if c.Rerun.Comment != "" {
			j.Rerun = rules.Rerun{Method: rules.RerunComment, Comment: c.Rerun.Comment}
		} else {
			// Other CI reporting check runs (CircleCI, Buildkite, ...) runs
			// again when its check suite is re-requested: GitHub asks the
			// suite's app. A context reported by statuses has no suite, and
			// without a comment it cannot be re-triggered.
			j.Rerun = rules.Rerun{Method: rules.RerunCheckSuite}
		}
		var err error
		switch {
		case c.AlwaysRun:
			j.Trigger = rules.TriggerAlways
		case c.RunIfChanged != "":
			j.Trigger = rules.TriggerConditional
			j.Files, err = prow.NewFileFilter(c.RunIfChanged, false)
		case c.SkipIfOnlyChanged != "":
			j.Trigger = rules.TriggerConditional
			j.Files, err = prow.NewFileFilter(c.SkipIfOnlyChanged, true)
		case len(c.Paths) > 0:
			j.Trigger = rules.TriggerConditional
			if j.Files, err = actions.NewPathFilter(c.Paths, false); err != nil {
				err = fmt.Errorf("paths: %w", err)
			}
		case len(c.PathsIgnore) > 0:
			j.Trigger = rules.TriggerConditional
			if j.Files, err = actions.NewPathFilter(c.PathsIgnore, true); err != nil {
				err = fmt.Errorf("paths-ignore: %w", err)
			}
		default:
			j.Trigger = rules.TriggerManual
			j.ManualReason = "no always_run and no file filter: only an explicit request starts it"
		}
		if err != nil {
			fail(err)
		}
		if j.Branches, err = prow.NewBranchFilter(c.Branches, c.SkipBranches); err != nil {
			fail(err)
		}
		j.MergeGroup = rules.MergeGroup{Fix: fmt.Sprintf("set merge_group: runs in %s if %s reports on merge groups", path, c.Context)}
		if c.MergeGroup == config.MergeGroupRuns {
			// Its branch filter is the base branch's for merge groups too.
			j.MergeGroup = rules.MergeGroup{Runs: true, Branches: j.Branches, Why: "merge_group: runs in " + path}
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

// RuleFiles returns the rule files of the explicit rules: the repo config at
// path.
func RuleFiles(path string) rules.RuleFiles {
	return rules.RuleFiles{{Path: path}}
}
