package bulk

import (
	"fmt"
	"testing"

	"github.com/fix-status/fix-status/app/plan"
)

// TestLatestRuns: the latest check run per name and app, as REST's
// filter=latest lists them; a full page of runs may hide more.
func TestLatestRuns(t *testing.T) {
	str := func(s string) *string { return &s }
	suite := func(id, app int64, runs ...gqlRun) gqlSuite {
		s := gqlSuite{DatabaseId: id, App: &struct {
			DatabaseId int64
			Slug       string
		}{app, fmt.Sprint("app", app)}}
		s.CheckRuns = &struct{ Nodes []gqlRun }{runs}
		return s
	}
	cs := &gqlSuites{Nodes: []gqlSuite{
		suite(1, 15368, gqlRun{DatabaseId: 10, Name: "build", Status: "COMPLETED", Conclusion: str("FAILURE")}),
		suite(2, 15368, gqlRun{DatabaseId: 20, Name: "Build", Status: "COMPLETED", Conclusion: str("SUCCESS")},
			gqlRun{DatabaseId: 21, Name: "lint", Status: "IN_PROGRESS"}),
		suite(3, 99, gqlRun{DatabaseId: 15, Name: "build", Status: "QUEUED"}),
	}}
	runs, complete := latestRuns(cs, true)
	got := fmt.Sprint(runs)
	want := fmt.Sprint([]plan.CheckRun{
		{ID: 15, Name: "build", Status: "queued", AppID: 99, AppSlug: "app99", SuiteID: 3},
		{ID: 20, Name: "Build", Status: "completed", Conclusion: "success", AppID: 15368, AppSlug: "app15368", SuiteID: 2},
		{ID: 21, Name: "lint", Status: "in_progress", AppID: 15368, AppSlug: "app15368", SuiteID: 2},
	})
	if !complete || got != want {
		t.Errorf("latestRuns = %v, %v\nwant %v", got, complete, want)
	}
	full := make([]gqlRun, runsPerSuite)
	if _, complete := latestRuns(&gqlSuites{Nodes: []gqlSuite{suite(4, 1, full...)}}, true); complete {
		t.Error("a full page of runs counts as complete")
	}
}
