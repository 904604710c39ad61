package reconcile

import (
	"context"
	"testing"

	"github.com/fix-status/fix-status/app/plan"
)

// TestExplain: the details page's reconcile decides as a dry run would,
// writes nothing, and after a real reconcile shows what fix-status wrote and
// its re-trigger.
func TestExplain(t *testing.T) {
	e := newEnv(t, scenario)
	ctx := context.Background()
	ex, err := e.rec.Explain(ctx, widgets.PR(1))
	if err != nil {
		t.Fatal(err)
	}
	if n := e.gh.Stats().Writes.Total; n != 0 {
		t.Fatalf("Explain made %d writes", n)
	}
	if ex.Title != "Change pkg" || ex.Author != "octocat" || len(ex.Snapshot.Files) != 1 || !ex.Snapshot.RetriggersRead {
		t.Errorf("explanation: title %q, author %q, files %v, retriggers read %v", ex.Title, ex.Author, ex.Snapshot.Files, ex.Snapshot.RetriggersRead)
	}
	got := map[string]plan.Cause{}
	for _, d := range ex.Decisions {
		got[d.Context] = d.Cause
	}
	if got["pull-docs"] != plan.CauseWouldNotRun || got["pull-unit"] != plan.CauseNotReported || len(ex.Own) != 0 {
		t.Errorf("before repairs: causes %v, own results %+v", got, ex.Own)
	}

	if _, err := e.rec.Reconcile(ctx, widgets.PR(1), Trigger{Event: "test"}); err != nil {
		t.Fatal(err)
	}
	ex, err = e.rec.Explain(ctx, widgets.PR(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Own) != 1 || ex.Own[0].Kind != "status" || ex.Own[0].Context != "pull-docs" || ex.Own[0].State != "success" || ex.Own[0].At.IsZero() {
		t.Errorf("own results: %+v", ex.Own)
	}
	if len(ex.Snapshot.Retriggers) != 1 || ex.Snapshot.Retriggers[0].Context != "pull-unit" {
		t.Errorf("re-triggers: %+v", ex.Snapshot.Retriggers)
	}
	if d, ok := decision(ex.Decisions, "pull-docs"); !ok || d.Cause != plan.CauseOwnSkip {
		t.Errorf("pull-docs after the skip: %s %s", d.Verdict, d.Reason)
	}

	closed, err := e.rec.Explain(ctx, widgets.PR(2))
	if err != nil || closed.Snapshot.State != "closed" || closed.Decisions != nil {
		t.Errorf("closed PR: %+v, %v", closed, err)
	}
}
