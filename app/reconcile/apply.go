package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/metrics"
	"github.com/fix-status/fix-status/app/plan"
)

// errChanged stops the writes of a plan: the PR changed under it (the write
// guard saw a new head or base), so what is left is planned again.
var errChanged = errors.New("the pull request changed while its writes were being made")

type applier struct {
	w       *ghapi.Writer
	sha     string
	dryRun  bool
	metrics *metrics.Metrics
	// gate is asked before each write; it paces writes, and when pacing
	// made it wait, reads the PR again. It returns errChanged when the PR
	// changed.
	gate func(context.Context) error
	// claims make each re-trigger once; claimPrefix names the PR and head.
	claims      Claims
	claimPrefix string
	// noComments: there is no PR to comment on (a merge group); its
	// re-runs are counted from the runs' attempts.
	noComments bool
}

func (a *applier) claimKey(w plan.Write) string {
	return fmt.Sprintf("%s:%s:%d", a.claimPrefix, strings.ToLower(w.Context), w.Attempt)
}

type step struct {
	desc string
	err  error
	done bool
	// taken: another replica made this re-trigger; claim is the key this
	// step holds.
	taken bool
	claim string
}

// apply makes the writes of every decision. A failed write does not stop
// the others; the errors are returned together, with what was done per
// decision (or would be, in a dry run). A changed PR (errChanged) stops
// the writes not yet made.
func (a *applier) apply(ctx context.Context, ds []plan.Decision) ([]string, int, error) {
	steps := make([][]*step, len(ds))
	var errs []error
	writes := 0
	changed := false
	do := func(st *step, write func() error) {
		if changed {
			return
		}
		if err := a.gate(ctx); err != nil {
			if errors.Is(err, errChanged) {
				changed = true
			} else {
				st.err = err
				errs = append(errs, err)
			}
			return
		}
		st.done = true
		if st.err = write(); st.err != nil {
			errs = append(errs, st.err)
		} else {
			writes++
		}
	}
	// Re-run commands go out as one comment, after the other writes (a
	// revoke's pending status must come before CI starts again), with the
	// markers of every re-trigger.
	var comments []plan.Write
	var commentSteps []*step
	for i, d := range ds {
		for _, w := range d.Writes {
			st := &step{desc: plan.Describe(w)}
			steps[i] = append(steps[i], st)
			if w.Attempt > 0 && !a.dryRun && !changed {
				key := a.claimKey(w)
				ok, err := a.claims.Claim(ctx, key)
				if err != nil {
					st.err = err
					errs = append(errs, err)
					continue
				}
				if !ok {
					st.taken = true
					continue
				}
				st.claim = key
			}
			switch {
			case w.Kind == plan.WriteComment:
				comments = append(comments, w)
				commentSteps = append(commentSteps, st)
			case !a.dryRun:
				do(st, func() error { return a.write(ctx, w) })
				if st.done && st.err == nil && (w.Kind == plan.WriteActionsRerun || w.Kind == plan.WriteSuiteRerun) {
					// Said on the PR, with a marker: the re-trigger
					// counts, whoever looks next.
					comments = append(comments, w)
				}
			}
		}
	}
	if len(comments) > 0 && !a.dryRun && !a.noComments {
		shared := &step{}
		do(shared, func() error {
			err := a.w.Comment(ctx, plan.RetriggerComment(comments, a.sha))
			a.metrics.Write(string(plan.WriteComment), err)
			return err
		})
		for _, st := range commentSteps {
			st.err, st.done = shared.err, shared.done
		}
	}
	for _, ss := range steps {
		for _, st := range ss {
			if st.claim != "" && (st.err != nil || !st.done) {
				// Not made: a retry (or the next look) makes it.
				if err := a.claims.Release(ctx, st.claim); err != nil {
					errs = append(errs, err)
				}
			}
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
			case st.taken:
				parts = append(parts, "already done by another replica: "+st.desc)
			case !st.done:
				parts = append(parts, "not done (the PR changed): "+st.desc)
			default:
				parts = append(parts, st.desc)
			}
		}
		actions[i] = strings.Join(parts, "; ")
		if actions[i] == "" {
			actions[i] = "none"
		}
	}
	if changed {
		errs = append(errs, errChanged)
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
	if err := a.gate(ctx); err != nil {
		return err
	}
	return a.write(ctx, *w)
}
