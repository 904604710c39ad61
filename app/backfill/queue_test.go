package backfill

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

func item(n int, approved, green, draft bool) *Item {
	return &Item{Ref: plan.RepoRef{Owner: "o", Repo: "r"}.PR(n), Prefetched: &reconcile.Prefetched{PR: plan.PRInfo{Number: n, Draft: draft}},
		Approved: approved, Green: green}
}

// TestQueueOrder: approved and green first, then green, then approved, then
// the rest, drafts last; ties in the order read.
func TestQueueOrder(t *testing.T) {
	q := newQueue(100, 1000)
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
	if want := []int{5, 7, 3, 6, 2, 1, 4}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if want := "approved_green approved_green green green approved other draft_approved_green"; strings.Join(prios, " ") != want {
		t.Errorf("priorities %q", strings.Join(prios, " "))
	}
}

// TestQueueBounded: a reader waits while the queue is full and gives up
// when its context ends; a worker waiting on an empty queue too.
func TestQueueBounded(t *testing.T) {
	q := newQueue(2, 1000)
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
	empty := newQueue(1, 1000)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, ok := empty.pop(ctx2); ok {
		t.Error("pop from an empty queue returned an item")
	}
}

// TestQueueBoundedByFiles: the queue also stops taking PRs when the file
// names it holds would pass its bound, and takes a PR bigger than the bound
// alone once it is empty.
func TestQueueBoundedByFiles(t *testing.T) {
	withFiles := func(n, files int) *Item {
		it := item(n, false, false, false)
		it.Prefetched.Files = &plan.Files{Names: make([]string, files)}
		return it
	}
	q := newQueue(100, 250)
	ctx := context.Background()
	if err := q.push(ctx, withFiles(1, 100), withFiles(2, 100)); err != nil {
		t.Fatal(err)
	}
	full, cancel := context.WithCancel(ctx)
	cancel()
	if err := q.push(full, withFiles(3, 100)); err == nil || q.len() != 2 {
		t.Fatalf("a third PR of 100 files got in: %v, %d queued", err, q.len())
	}
	if err := q.push(full, withFiles(4, 50)); err != nil || q.len() != 3 {
		t.Fatalf("a PR of 50 files did not fit: %v, %d queued", err, q.len())
	}
	for range 3 {
		if _, ok := q.pop(ctx); !ok {
			t.Fatal("pop failed")
		}
	}
	if err := q.push(full, withFiles(5, 1000)); err != nil || q.len() != 1 {
		t.Errorf("a PR bigger than the bound did not get into the empty queue: %v", err)
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

// TestGreen: every reported result passes, or not.
func TestGreen(t *testing.T) {
	ok := []plan.Status{{Context: "a", State: "success"}}
	for _, tc := range []struct {
		name string
		sts  []plan.Status
		crs  []plan.CheckRun
		want bool
	}{
		{"success and skipped", ok, []plan.CheckRun{{Status: "completed", Conclusion: "skipped"}}, true},
		{"a run in progress", ok, []plan.CheckRun{{Status: "in_progress"}}, false},
		{"a pending status", []plan.Status{{State: "pending"}}, nil, false},
		{"nothing reported", nil, nil, true},
		{"a failed run", nil, []plan.CheckRun{{Status: "completed", Conclusion: "failure"}}, false},
	} {
		if got := green(tc.sts, tc.crs); got != tc.want {
			t.Errorf("%s: green = %v", tc.name, got)
		}
	}
}

// TestByInstallation: repositories are taken one installation at a time,
// in turn, each installation's in their order.
func TestByInstallation(t *testing.T) {
	var repos []plan.RepoRef
	for _, r := range []struct {
		inst int64
		name string
	}{{1, "a"}, {1, "b"}, {1, "c"}, {2, "d"}, {3, "e"}, {3, "f"}} {
		repos = append(repos, plan.RepoRef{InstallationID: r.inst, Owner: "o", Repo: r.name})
	}
	var got []string
	for _, r := range byInstallation(repos) {
		got = append(got, r.Repo)
	}
	if want := "a d e b f c"; strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
}
