package backfill

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/plan"
)

func item(n int, approved, green, draft bool) *Item {
	return &Item{Ref: plan.RepoRef{Owner: "o", Repo: "r"}.PR(n), Approved: approved, Green: green, Draft: draft}
}

// TestQueueOrder: approved and green first, then green, then approved, then
// the rest, drafts last; ties in the order read.
func TestQueueOrder(t *testing.T) {
	q := newQueue(100)
	ctx := context.Background()
	if err := q.push(ctx,
		item(1, false, false, false), item(2, true, false, false), item(3, false, true, false),
		item(4, true, true, true), item(5, true, true, false), item(6, false, true, false)); err != nil {
		t.Fatal(err)
	}
	if err := q.push(ctx, item(7, true, true, false)); err != nil {
		t.Fatal(err)
	}
	q.close()
	var got []int
	var prios []string
	for {
		it, ok := q.pop(ctx)
		if !ok {
			break
		}
		got = append(got, it.Ref.Number)
		prios = append(prios, it.Priority())
	}
	if want := []int{5, 7, 3, 6, 2, 1, 4}; !equalInts(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if want := "approved_green approved_green green green approved other draft_approved_green"; strings.Join(prios, " ") != want {
		t.Errorf("priorities %q", strings.Join(prios, " "))
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQueueBounded: a reader waits while the queue is full and gives up
// when its context ends; a worker waiting on an empty queue too.
func TestQueueBounded(t *testing.T) {
	q := newQueue(2)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := q.push(ctx, item(1, false, false, false), item(2, false, false, false), item(3, false, false, false))
	if err == nil || q.len() != 2 {
		t.Fatalf("push into a full queue: %v, %d queued", err, q.len())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = q.push(context.Background(), item(4, false, false, false))
	}()
	if _, ok := q.pop(context.Background()); !ok {
		t.Fatal("pop failed")
	}
	<-done
	empty := newQueue(1)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, ok := empty.pop(ctx2); ok {
		t.Error("pop from an empty queue returned an item")
	}
}

// TestJournal: finished PRs survive a reopen, count only at the same head
// SHA, a dry run's entries do not excuse a real run, and a line torn by a
// crash is skipped.
func TestJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resume.jsonl")
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []JournalEntry{
		{PR: "o/r#1", HeadSHA: "aaa", Writes: 1},
		{PR: "o/r#2", HeadSHA: "bbb", DryRun: true},
	} {
		if err := j.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"pr":"o/r#3","head_sh`)
	_ = f.Close()

	j, err = OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pr, sha string
		dry     bool
		want    bool
	}{
		{"o/r#1", "aaa", false, true},
		{"O/R#1", "aaa", true, true},
		{"o/r#1", "new", false, false},
		{"o/r#2", "bbb", true, true},
		{"o/r#2", "bbb", false, false},
		{"o/r#3", "ccc", false, false},
	} {
		if got := j.Done(tc.pr, tc.sha, tc.dry); got != tc.want {
			t.Errorf("Done(%s, %s, dry %v) = %v", tc.pr, tc.sha, tc.dry, got)
		}
	}
	if err := j.Record(JournalEntry{PR: "o/r#4", HeadSHA: "ddd"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Len() != 3 || !j.Done("o/r#4", "ddd", false) {
		t.Errorf("after a torn line: %d entries, #4 done %v", j.Len(), j.Done("o/r#4", "ddd", false))
	}
}

func TestGreenAndLatestRuns(t *testing.T) {
	ok := []plan.Status{{Context: "a", State: "success"}}
	if !green(ok, []plan.CheckRun{{Status: "completed", Conclusion: "skipped"}}) || green(ok, []plan.CheckRun{{Status: "in_progress"}}) ||
		green([]plan.Status{{State: "pending"}}, nil) || !green(nil, nil) {
		t.Error("green")
	}
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
