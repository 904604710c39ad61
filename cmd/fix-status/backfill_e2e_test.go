package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/backfill"
	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
)

// backfillRun is one run of `fix-status backfill` against an emulator.
type backfillRun struct {
	report backfillReport
	err    error
	stdout string
	order  []string // PRs in the order they finished
}

// runBackfillCmd runs the command with args (after --config and --output
// json) and decodes its JSON report. Writes are not paced unless args say
// so: the pacing has its own test.
func runBackfillCmd(t *testing.T, ctx context.Context, gh *fakegithub.Server, clk *testClock, args []string, onResult func(*backfill.PRResult)) backfillRun {
	t.Helper()
	cfgPath := writeConfig(t, fakegithubtest.ServerConfig(gh))
	var run backfillRun
	var mu sync.Mutex
	notty := false
	env := backfillEnv{logOut: io.Discard, tty: &notty, onResult: func(r *backfill.PRResult) {
		mu.Lock()
		run.order = append(run.order, r.Ref.String())
		mu.Unlock()
		if onResult != nil {
			onResult(r)
		}
	}}
	if clk != nil {
		env.now, env.sleep = clk.Now, clk.Sleep
	}
	cmd := newBackfillCmdWith(env)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(append([]string{"--config", cfgPath, "--output", "json", "--writes-per-minute", "100000", "--writes-per-hour", "100000", "--progress-interval", "0"}, args...))
	run.err = cmd.ExecuteContext(ctx)
	run.stdout = out.String()
	if err := json.Unmarshal(out.Bytes(), &run.report); err != nil {
		t.Fatalf("report is not JSON (%v): %s (command error: %v)", err, out.String(), run.err)
	}
	return run
}

// checkRepairedOnce asserts that every PR of the scenario shows exactly the
// writes it needs, each made once by fix-status: a passing skip status per
// context that does not run, and one /test comment where a job never
// reported.
func checkRepairedOnce(t *testing.T, gh *fakegithub.Server) {
	t.Helper()
	for _, repo := range gh.State().Repos {
		for _, pr := range repo.Pulls {
			skips, comment := wantWrites(pr.Number)
			ours := map[string]int{}
			for _, st := range pr.Statuses {
				if st.Creator == "fix-status[bot]" {
					ours[st.Context]++
					if st.State != "success" || !strings.HasPrefix(st.Description, "Skipped: ") {
						t.Errorf("%s#%d: status %s = %s %q", repo.Name, pr.Number, st.Context, st.State, st.Description)
					}
				}
			}
			for _, c := range skips {
				if ours[c] != 1 {
					t.Errorf("%s#%d: %d skip statuses for %s, want 1", repo.Name, pr.Number, ours[c], c)
				}
				delete(ours, c)
			}
			if len(ours) > 0 {
				t.Errorf("%s#%d: unexpected statuses %v", repo.Name, pr.Number, ours)
			}
			comments := 0
			for _, c := range pr.Comments {
				if c.User == "fix-status[bot]" {
					comments++
					if !strings.HasPrefix(c.Body, "/test unit\n") {
						t.Errorf("%s#%d: comment %q", repo.Name, pr.Number, c.Body)
					}
				}
			}
			if want := map[bool]int{true: 1, false: 0}[comment]; comments != want {
				t.Errorf("%s#%d: %d re-trigger comments, want %d", repo.Name, pr.Number, comments, want)
			}
		}
	}
}

// expectedWrites is the number of writes a full repair of the scenario makes.
func expectedWrites(sh scenarioShape) int {
	n := 0
	for i := 1; i <= sh.prsPerRepo; i++ {
		skips, comment := wantWrites(i)
		n += len(skips)
		if comment {
			n++
		}
	}
	return n * sh.installations * sh.reposPerInst
}

// TestBackfillRepairsEveryInstallation backfills two installations (an
// organisation and a user) with both read modes: every PR is repaired, each
// write is made once, PRs closest to merging go first within a repository,
// and a second run finds nothing to do.
func TestBackfillRepairsEveryInstallation(t *testing.T) {
	sh := scenarioShape{installations: 2, reposPerInst: 2, prsPerRepo: 10, rateLimit: 5000, orgFirst: true}
	for _, reads := range []string{"graphql", "rest"} {
		t.Run(reads, func(t *testing.T) {
			gh := startEmulator(t, backfillScenario(sh, time.Now()), 0, nil)
			ctx := context.Background()
			run := runBackfillCmd(t, ctx, gh, nil, []string{"--dry-run=false", "--reads", reads, "--concurrency", "1"}, nil)
			if run.err != nil {
				t.Fatalf("backfill failed: %v\n%s", run.err, run.stdout)
			}
			r := run.report
			wantPRs := sh.installations * sh.reposPerInst * sh.prsPerRepo
			if r.PRs != wantPRs || r.Repaired != wantPRs || r.Writes != expectedWrites(sh) || r.Errors != 0 || r.Repos != 4 || r.DryRun {
				t.Errorf("report: prs %d repaired %d writes %d errors %d repos %d dry %v; want %d, %d, %d, 0, 4, false",
					r.PRs, r.Repaired, r.Writes, r.Errors, r.Repos, r.DryRun, wantPRs, wantPRs, expectedWrites(sh))
			}
			if len(r.Results) != wantPRs || len(r.Results[0].Decisions) != 3 {
				t.Fatalf("results: %d, first %+v", len(r.Results), r.Results[0])
			}
			if r.APIRequests == 0 || r.Reads.PRRequests == 0 {
				t.Errorf("requests not counted: %+v", r.Reads)
			}
			if reads == "graphql" && (r.Reads.GraphQLRequests != 4 || r.Reads.GraphQLPoints == 0 || r.Reads.FilesFallbacks+r.Reads.ChecksFallbacks+r.Reads.RepoFallbacks != 0) {
				t.Errorf("GraphQL reads: %+v (want one query per repository, no fallback)", r.Reads)
			}
			if st := gh.Stats(); reads == "graphql" && st.GraphQLPoints != r.Reads.GraphQLPoints {
				t.Errorf("GraphQL points: emulator %d, report %d", st.GraphQLPoints, r.Reads.GraphQLPoints)
			}
			checkRepairedOnce(t, gh)
			// Within a repository: the approved green PR (#3) first (GraphQL
			// reads the review decision; REST does not), the one that is
			// not green (#8: pending and failing results) last.
			first, last := map[string]int{}, map[string]int{}
			for i, pr := range run.order {
				repo := pr[:strings.Index(pr, "#")]
				if _, ok := first[repo]; !ok {
					first[repo] = i
				}
				last[repo] = i
			}
			for i, pr := range run.order {
				repo := pr[:strings.Index(pr, "#")]
				if strings.HasSuffix(pr, "#8") && i != last[repo] {
					t.Errorf("%s (not green) went before green PRs of its repository: %v", pr, run.order)
				}
				if reads == "graphql" && strings.HasSuffix(pr, "#3") && i != first[repo] {
					t.Errorf("%s (approved, green) was not the first of its repository: %v", pr, run.order)
				}
			}
			for _, res := range r.Results {
				if want := map[bool]string{true: "approved_green", false: "green"}[reads == "graphql"]; strings.HasSuffix(res.PR, "#3") && res.Priority != want {
					t.Errorf("%s priority %q, want %q", res.PR, res.Priority, want)
				}
			}

			again := runBackfillCmd(t, ctx, gh, nil, []string{"--dry-run=false", "--reads", reads}, nil)
			if again.err != nil || again.report.Writes != 0 || again.report.WouldWrite != 0 || again.report.PRs != wantPRs {
				t.Errorf("second run: %v, %d writes, %d planned, %d PRs", again.err, again.report.Writes, again.report.WouldWrite, again.report.PRs)
			}
			checkRepairedOnce(t, gh)
		})
	}
}

// TestBackfillGraphQLFallsBackToREST: a PR with more files than a GraphQL
// page has the rest paged by GraphQL; one with a renamed file has its files
// listed by REST (GraphQL gives no previous path); one with more check
// suites than a page has its check runs read by REST; a repository GraphQL
// fails for is read by REST; all are repaired like the others.
func TestBackfillGraphQLFallsBackToREST(t *testing.T) {
	sh := scenarioShape{installations: 1, reposPerInst: 1, prsPerRepo: 3, rateLimit: 5000}
	sc := backfillScenario(sh, time.Now())
	pulls := sc.Repos[0].Pulls
	pulls[0].GeneratedFiles = 150
	for i := 1; i <= 6; i++ {
		pulls[1].CheckRuns = append(pulls[1].CheckRuns, fakegithub.ScenarioCheckRun{Name: fmt.Sprint("job", i), Status: "completed",
			Conclusion: "success", Workflow: fmt.Sprintf("w%d.yml", i)})
	}
	pulls[2].Files = append(pulls[2].Files, fakegithub.File{Filename: "pkg/moved.go", PreviousFilename: "pkg/old.go", Status: "renamed"})
	gh := startEmulator(t, sc, 0, nil)
	run := runBackfillCmd(t, context.Background(), gh, nil, []string{"--dry-run=false"}, nil)
	if run.err != nil {
		t.Fatal(run.err)
	}
	r := run.report
	if r.Reads.FilesFallbacks != 1 || r.Reads.ChecksFallbacks != 1 || r.Writes != expectedWrites(sh) {
		t.Errorf("fallbacks: files %d, checks %d; writes %d", r.Reads.FilesFallbacks, r.Reads.ChecksFallbacks, r.Writes)
	}
	if r.Reads.GraphQLRequests != 2 {
		t.Errorf("%d GraphQL queries, want 2 (the page, then the next 100 files of PR 1)", r.Reads.GraphQLRequests)
	}
	if n := gh.Stats().ByRoute["GET /repos/{owner}/{repo}/pulls/{pull_number}/files"]; n != 1 {
		t.Errorf("%d REST file pages read, want 1 (PR 3, with a renamed file)", n)
	}
	// PR 2's, and the write guard's before each PR's writes (the bulk read
	// may be minutes old).
	if n := gh.Stats().ByRoute["GET /repos/{owner}/{repo}/commits/{ref}/check-runs"]; n != 1+3 {
		t.Errorf("%d REST check-run reads, want 4 (PR 2, and the guard of each PR)", n)
	}
	checkRepairedOnce(t, gh)

	// A repository GraphQL cannot answer (here a 400; on an old GHES a
	// field it lacks) is read by REST.
	sh2 := scenarioShape{installations: 1, reposPerInst: 2, prsPerRepo: 3, rateLimit: 5000}
	gh2 := startEmulator(t, backfillScenario(sh2, time.Now()), 0, nil)
	gh2.Fault(fakegithub.Fault{Route: "POST /graphql", Status: 400, Message: "Field 'reviewDecision' doesn't exist on type 'PullRequest'"})
	run2 := runBackfillCmd(t, context.Background(), gh2, nil, []string{"--dry-run=false"}, nil)
	if run2.err != nil || run2.report.Reads.RepoFallbacks != 1 || run2.report.Writes != expectedWrites(sh2) {
		t.Errorf("repository fallback: %v, %+v, %d writes", run2.err, run2.report.Reads, run2.report.Writes)
	}
	checkRepairedOnce(t, gh2)
}

// TestBackfillSelectsOrgsAndRepos covers --org and --repo, and reports a
// repository the app is not installed on as a failure with exit status 1.
func TestBackfillSelectsOrgsAndRepos(t *testing.T) {
	sh := scenarioShape{installations: 2, reposPerInst: 2, prsPerRepo: 3, rateLimit: 5000, orgFirst: true}
	gh := startEmulator(t, backfillScenario(sh, time.Now()), 0, nil)
	run := runBackfillCmd(t, context.Background(), gh, nil, []string{"--org", "owner0", "--repo", "owner1/repo1", "--repo", "nobody/nothing"}, nil)
	if run.err == nil || !strings.Contains(run.err.Error(), "1 failure") {
		t.Errorf("error = %v, want 1 failure", run.err)
	}
	r := run.report
	if r.Repos != 3 || r.PRs != 9 || len(r.Failures) != 1 || r.Failures[0].Repo != "nobody/nothing" {
		t.Errorf("repos %d, prs %d, failures %+v", r.Repos, r.PRs, r.Failures)
	}
	for _, res := range r.Results {
		if strings.HasPrefix(res.PR, "owner1/repo0#") {
			t.Errorf("%s was not selected", res.PR)
		}
	}
}

// TestBackfillDryRunWritesNothing: without --dry-run=false nothing is
// written, and the report says what would be.
func TestBackfillDryRunWritesNothing(t *testing.T) {
	sh := scenarioShape{installations: 1, reposPerInst: 2, prsPerRepo: 10, rateLimit: 5000}
	gh := startEmulator(t, backfillScenario(sh, time.Now()), 0, nil)
	before := gh.State()
	run := runBackfillCmd(t, context.Background(), gh, nil, nil, nil)
	if run.err != nil {
		t.Fatal(run.err)
	}
	r := run.report
	if !r.DryRun || r.Writes != 0 || r.WouldWrite != expectedWrites(sh) || r.Repaired != 20 || r.Reads.Mode != "graphql" {
		t.Errorf("dry run report: dry %v writes %d would %d repaired %d mode %s", r.DryRun, r.Writes, r.WouldWrite, r.Repaired, r.Reads.Mode)
	}
	if w := gh.Stats().Writes.Total; w != 0 {
		t.Errorf("the dry run wrote %d times", w)
	}
	after := gh.State()
	for i := range before.Repos {
		for j := range before.Repos[i].Pulls {
			b, a := before.Repos[i].Pulls[j], after.Repos[i].Pulls[j]
			if len(a.Statuses) != len(b.Statuses) || len(a.Comments) != len(b.Comments) || len(a.CheckRuns) != len(b.CheckRuns) {
				t.Errorf("%s#%d changed", before.Repos[i].Name, b.Number)
			}
		}
	}
	for _, res := range r.Results {
		for _, d := range res.Decisions {
			if d.Verdict == "skip" && !strings.HasPrefix(d.Action, "would ") {
				t.Errorf("%s %s: action %q", res.PR, d.Context, d.Action)
			}
		}
	}
}

// TestBackfillResume interrupts a run after a few PRs and resumes it with
// the same --resume file: the second run skips what the first finished, and
// every status and comment is written once.
func TestBackfillResume(t *testing.T) {
	for _, reads := range []string{"graphql", "rest"} {
		t.Run(reads, func(t *testing.T) {
			sh := scenarioShape{installations: 2, reposPerInst: 1, prsPerRepo: 10, rateLimit: 5000}
			gh := startEmulator(t, backfillScenario(sh, time.Now()), 0, nil)
			resume := filepath.Join(t.TempDir(), "resume.jsonl")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var done int
			var mu sync.Mutex
			first := runBackfillCmd(t, ctx, gh, nil, []string{"--dry-run=false", "--reads", reads, "--concurrency", "2", "--resume", resume},
				func(*backfill.PRResult) {
					mu.Lock()
					defer mu.Unlock()
					if done++; done == 7 {
						cancel()
					}
				})
			if first.err == nil || !strings.Contains(first.err.Error(), "interrupted") || !first.report.Interrupted {
				t.Fatalf("first run: %v, interrupted %v", first.err, first.report.Interrupted)
			}
			lines := strings.Count(readFile(t, resume), "\n")
			if lines < 7 || lines > 8 {
				t.Errorf("resume file has %d lines, want the 7 or 8 finished PRs", lines)
			}
			written := gh.Stats().Writes.Total

			second := runBackfillCmd(t, context.Background(), gh, nil, []string{"--dry-run=false", "--reads", reads, "--resume", resume}, nil)
			if second.err != nil {
				t.Fatalf("second run: %v", second.err)
			}
			r := second.report
			if r.Resumed != lines || r.PRs != 20-lines {
				t.Errorf("second run: resumed %d, prs %d; want %d and %d", r.Resumed, r.PRs, lines, 20-lines)
			}
			if total := gh.Stats().Writes.Total; int(total) != expectedWrites(sh) || int(total-written) != r.Writes {
				t.Errorf("writes: %d in all (%d by the first run, %d reported by the second), want %d", total, written, r.Writes, expectedWrites(sh))
			}
			checkRepairedOnce(t, gh)
			if n := strings.Count(readFile(t, resume), "\n"); n != 20 {
				t.Errorf("resume file has %d lines after both runs, want 20", n)
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBackfillSurvivesFaults injects 5xx answers and secondary rate limits
// on reads and writes: the run waits as told, retries, repairs everything,
// writes nothing twice and reports no failure.
func TestBackfillSurvivesFaults(t *testing.T) {
	for _, reads := range []string{"graphql", "rest"} {
		t.Run(reads, func(t *testing.T) {
			sh := scenarioShape{installations: 1, reposPerInst: 2, prsPerRepo: 10, rateLimit: 5000}
			clk := &testClock{realCap: 1100 * time.Millisecond}
			gh := startEmulator(t, backfillScenario(sh, time.Now()), 0, clk.Now)
			for _, f := range []fakegithub.Fault{
				{Route: "POST /repos/{owner}/{repo}/statuses/{sha}", Status: 502, Count: 2},
				{Route: "POST /repos/{owner}/{repo}/statuses/{sha}", Secondary: true, RetryAfter: 1, Count: 1},
				{Route: "POST /repos/{owner}/{repo}/issues/{issue_number}/comments", Status: 500, Count: 1},
				{Route: "POST /graphql", Status: 502, Count: 1},
				{Route: "POST /graphql", Secondary: true, RetryAfter: 1, Count: 1},
				{Route: "GET /repos/{owner}/{repo}/pulls", Status: 503, Count: 1},
				{Route: "GET /repos/{owner}/{repo}/pulls/{pull_number}/files", Secondary: true, Status: 429, RetryAfter: 1, Count: 1},
				{Route: "GET /repos/{owner}/{repo}/rules/branches/{branch}", Status: 502, Count: 1},
			} {
				gh.Fault(f)
			}
			run := runBackfillCmd(t, context.Background(), gh, clk, []string{"--dry-run=false", "--reads", reads, "--concurrency", "2"}, nil)
			if run.err != nil || run.report.Errors != 0 {
				t.Fatalf("backfill: %v, failures %+v", run.err, run.report.Failures)
			}
			if run.report.Writes != expectedWrites(sh) || run.report.PRs != 20 {
				t.Errorf("writes %d, prs %d", run.report.Writes, run.report.PRs)
			}
			if run.report.RateLimit.SecondaryLimited == 0 {
				t.Errorf("no secondary limit seen: %+v", run.report.RateLimit)
			}
			// The faults both modes meet (two 502s on statuses, one on
			// rules, a 500 on the comment) were answered, so the run above
			// did retry.
			if st := gh.Stats(); st.ByStatus["502"] < 3 || st.ByStatus["500"] < 1 {
				t.Errorf("faults not served: %v", st.ByStatus)
			}
			checkRepairedOnce(t, gh)
		})
	}
}

// TestBackfillWaitsForExhaustedBudget gives an installation a budget too
// small for the run: backfill pauses when the remaining budget is below
// --reserve until the window resets (the emulator's clock jumps there), then
// finishes; nothing is lost or written twice.
func TestBackfillWaitsForExhaustedBudget(t *testing.T) {
	sh := scenarioShape{installations: 1, reposPerInst: 1, prsPerRepo: 10, rateLimit: 60}
	clk := &testClock{}
	// The budget's window starts a minute early, with an installation token
	// of its own, so that the run's token (an hour long, like the window)
	// is still good after the clock jumps to the window's end; GitHub
	// forgives JWT clock drift up to a minute.
	clk.offset.Store(int64(-55 * time.Second))
	gh := startEmulator(t, backfillScenario(sh, time.Now()), 0, clk.Now)
	ctx := context.Background()
	w, err := wire(ctx, fakegithubtest.ServerConfig(gh), wireOptions{logOut: io.Discard, now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.clients.NewInstallationClient(100)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Apps.ListRepos(ctx, nil); err != nil {
		t.Fatal(err)
	}
	clk.offset.Store(0)

	run := runBackfillCmd(t, ctx, gh, clk, []string{"--dry-run=false", "--reads", "rest", "--concurrency", "1", "--reserve", "20"}, nil)
	if run.err != nil || run.report.Errors != 0 {
		t.Fatalf("backfill: %v, failures %+v", run.err, run.report.Failures)
	}
	if run.report.RateLimit.Pauses == 0 || run.report.RateLimit.PausedSeconds < 3000 {
		t.Errorf("the run did not wait for the window to reset: %+v", run.report.RateLimit)
	}
	if run.report.Writes != expectedWrites(sh) || run.report.PRs != 10 {
		t.Errorf("writes %d, prs %d", run.report.Writes, run.report.PRs)
	}
	if st := gh.Stats(); st.ByStatus["403"] != 0 {
		t.Errorf("GitHub refused %d requests: the reserve was not kept", st.ByStatus["403"])
	}
	checkRepairedOnce(t, gh)
}

// TestBackfillMaxWrites stops writing at --max-writes: exactly that many
// writes, the rest planned, and a later run finishes the job.
func TestBackfillMaxWrites(t *testing.T) {
	sh := scenarioShape{installations: 1, reposPerInst: 2, prsPerRepo: 10, rateLimit: 5000}
	gh := startEmulator(t, backfillScenario(sh, time.Now()), 0, nil)
	run := runBackfillCmd(t, context.Background(), gh, nil, []string{"--dry-run=false", "--max-writes", "5", "--concurrency", "3"}, nil)
	if run.err != nil {
		t.Fatal(run.err)
	}
	r := run.report
	if r.Writes != 5 || !r.MaxWritesReached || r.WouldWrite == 0 || gh.Stats().Writes.Total != 5 {
		t.Errorf("writes %d (emulator %d), reached %v, planned %d", r.Writes, gh.Stats().Writes.Total, r.MaxWritesReached, r.WouldWrite)
	}
	rest := runBackfillCmd(t, context.Background(), gh, nil, []string{"--dry-run=false"}, nil)
	if rest.err != nil || rest.report.Writes != expectedWrites(sh)-5 {
		t.Errorf("second run: %v, %d writes", rest.err, rest.report.Writes)
	}
	checkRepairedOnce(t, gh)
}

// TestBackfillText checks the text summary.
func TestBackfillText(t *testing.T) {
	sh := scenarioShape{installations: 1, reposPerInst: 1, prsPerRepo: 3, rateLimit: 5000}
	gh := startEmulator(t, backfillScenario(sh, time.Now()), 0, nil)
	cfgPath := writeConfig(t, fakegithubtest.ServerConfig(gh))
	notty := false
	cmd := newBackfillCmdWith(backfillEnv{logOut: io.Discard, tty: &notty})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--config", cfgPath})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"backfill (dry run, reads: graphql): 3 PRs in 1 repositories", "repaired:     3 (would be)",
		"writes:       0 (3 more planned, not made)", "errors:       0", "API requests: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBackfillProgress: a progress bar on a terminal, log lines otherwise.
func TestBackfillProgress(t *testing.T) {
	sh := scenarioShape{installations: 1, reposPerInst: 1, prsPerRepo: 5, rateLimit: 5000}
	gh := startEmulator(t, backfillScenario(sh, time.Now()), 0, nil)
	cfg := fakegithubtest.ServerConfig(gh)
	f := backfillFlags{dryRun: true, reads: "graphql", concurrency: 2, reserve: 500, reserveGraphQL: 500,
		writesPerMinute: 80, writesPerHour: 500, progressInterval: time.Millisecond}
	for _, tty := range []bool{true, false} {
		var stderr, logs lockedBuffer
		res, err := runBackfill(context.Background(), cfg, f, backfillEnv{tty: &tty, logOut: &logs}, &stderr)
		if err != nil || len(res.Results) != 5 {
			t.Fatalf("tty %v: %v", tty, err)
		}
		if tty {
			if !strings.Contains(stderr.String(), "backfill") || !strings.Contains(stderr.String(), "5/5") || logs.Len() != 0 {
				t.Errorf("bar: %q; logs: %q", stderr.String(), logs.String())
			}
			continue
		}
		if stderr.Len() != 0 || !strings.Contains(logs.String(), `"message":"backfill finished"`) || !strings.Contains(logs.String(), `"done":5`) {
			t.Errorf("log lines: %q; stderr %q", logs.String(), stderr.String())
		}
		if strings.Contains(logs.String(), `"level":"debug"`) {
			t.Errorf("debug lines logged: %q", logs.String())
		}
	}
}

// lockedBuffer is a bytes.Buffer that loggers on many goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Len() int { return len(l.String()) }
