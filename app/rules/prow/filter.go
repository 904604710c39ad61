package prow

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fix-status/fix-status/app/rules"
)

// NewFileFilter compiles a file filter with Prow's semantics, for rules
// outside Prow configs that promise them (the repo config's explicit rules):
// run_if_changed, the job runs when some changed file matches expr; with
// skipIfOnlyChanged, skip_if_only_changed, it runs when some changed file does
// not.
func NewFileFilter(expr string, skipIfOnlyChanged bool) (rules.FileFilter, error) {
	field := "run_if_changed"
	if skipIfOnlyChanged {
		field = "skip_if_only_changed"
	}
	re := newRegex(expr)
	if re.err != nil {
		return nil, errors.New(invalidRegex(field, expr, re.err))
	}
	return &fileFilter{expr: expr, re: re.matcher(), skip: skipIfOnlyChanged}, nil
}

// NewBranchFilter compiles Prow's branches and skip_branches: each list is
// joined with "|" into one unanchored regex, and skip_branches wins. Both
// empty means every branch: the filter is nil. Each list that does not
// compile is one error (joined with errors.Join).
func NewBranchFilter(branches, skipBranches []string) (rules.BranchFilter, error) {
	if len(branches) == 0 && len(skipBranches) == 0 {
		return nil, nil
	}
	f := &branchFilter{}
	var errs []error
	compile := func(list []string, field string) (string, *regex) {
		if len(list) == 0 {
			return "", nil
		}
		expr := strings.Join(list, "|")
		re := newRegex(expr)
		if re.err != nil {
			errs = append(errs, errors.New(invalidRegex(field, expr, re.err)))
			return expr, nil
		}
		return expr, re.matcher()
	}
	f.branches, f.branch = compile(branches, "branches")
	f.skipBranches, f.skip = compile(skipBranches, "skip_branches")
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

func invalidRegex(field, expr string, err error) string {
	return fmt.Sprintf("invalid %s regex %q: %v", field, expr, err)
}

// fileFilter is Prow's RegexpChangeMatcher.RunsAgainstChanges.
type fileFilter struct {
	expr string
	re   *regex
	// skip is set for skip_if_only_changed: the job runs when some changed
	// file does not match.
	skip bool
}

// String names the filter: "run_if_changed ^docs/".
func (f *fileFilter) String() string {
	if f.skip {
		return "skip_if_only_changed " + f.expr
	}
	return "run_if_changed " + f.expr
}

// Match implements rules.FileFilter.
func (f *fileFilter) Match(files []string) (bool, string) {
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

// branchFilter is Prow's Brancher.ShouldRun: skip_branches wins over
// branches, and no branches means every branch not skipped.
type branchFilter struct {
	branches, skipBranches string // the joined expressions, for reasons
	branch, skip           *regex
}

// Match implements rules.BranchFilter.
func (f *branchFilter) Match(branch string) (bool, string) {
	if f.skip != nil && f.skip.match(branch) {
		return false, "branch " + branch + " matches skip_branches " + f.skipBranches
	}
	if f.branch == nil || f.branch.match(branch) {
		return true, ""
	}
	return false, "branch " + branch + " does not match branches " + f.branches
}
