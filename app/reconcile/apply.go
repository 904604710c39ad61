package reconcile

import (
	"context"
	"errors"
	"strings"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/metrics"
	"github.com/fix-status/fix-status/app/plan"
)

type applier struct {
	w       *ghapi.Writer
	sha     string
	dryRun  bool
	metrics *metrics.Metrics
}

// apply makes the writes of every decision. A failed write does not stop
// the others; the errors are returned together, with what was done per
// decision (or would be, in a dry run).
func (a *applier) apply(ctx context.Context, ds []plan.Decision) ([]string, int, error) {
	type step struct {
		desc string
		err  error
	}
	steps := make([][]*step, len(ds))
	var errs []error
	writes := 0
	// Re-run commands go out as one comment, after the other writes (a
	// revoke's pending status must come before CI starts again).
	var comments []plan.Write
	var commentSteps []*step
	for i, d := range ds {
		for _, w := range d.Writes {
			st := &step{desc: plan.Describe(w)}
			steps[i] = append(steps[i], st)
			switch {
			case w.Kind == plan.WriteComment:
				comments = append(comments, w)
				commentSteps = append(commentSteps, st)
			case !a.dryRun:
				st.err = a.write(ctx, w)
				if st.err != nil {
					errs = append(errs, st.err)
				} else {
					writes++
				}
			}
		}
	}
	if len(comments) > 0 && !a.dryRun {
		err := a.w.Comment(ctx, plan.RetriggerComment(comments, a.sha))
		a.metrics.Write(string(plan.WriteComment), err)
		if err != nil {
			errs = append(errs, err)
		} else {
			writes++
		}
		for _, st := range commentSteps {
			st.err = err
		}
	}
	actions := make([]string, len(ds))
	for i, ss := range steps {
		parts := make([]string, 0, len(ss))
		for _, st := range ss {
			switch {
			case a.dryRun:
				parts = append(parts, "would "+st.desc)
			case st.err != nil:
				parts = append(parts, "failed to "+st.desc)
			default:
				parts = append(parts, st.desc)
			}
		}
		actions[i] = strings.Join(parts, "; ")
		if actions[i] == "" {
			actions[i] = "none"
		}
	}
	return actions, writes, errors.Join(errs...)
}

func (a *applier) write(ctx context.Context, w plan.Write) error {
	err := a.w.Write(ctx, w)
	a.metrics.Write(string(w.Kind), err)
	return err
}

// reportRulesError shows a rules error on the PR as fix-status's own status
// (error), and clears it once the rules read fine again.
func (a *applier) reportRulesError(ctx context.Context, s *plan.Snapshot, login string) error {
	w := plan.RulesStatus(s, login)
	if w == nil || a.dryRun {
		return nil
	}
	return a.write(ctx, *w)
}
