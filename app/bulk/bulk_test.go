package bulk

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/govern"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

var repo = plan.RepoRef{InstallationID: 7, Owner: "o", Repo: "r"}

// pull is open PR n changing files files (the first of them pkg/f<n>.go).
func pull(n, files int) fakegithub.ScenarioPull {
	return fakegithub.ScenarioPull{Number: n, Title: fmt.Sprint("pr ", n), User: "octocat", Base: "main",
		HeadSHA:        fmt.Sprintf("%040x", 0xabc000+n),
		Files:          []fakegithub.File{{Filename: fmt.Sprintf("pkg/f%d.go", n), Status: "modified"}},
		GeneratedFiles: files - 1}
}

// emulator serves o/r with pulls to governed clients.
func emulator(t testing.TB, pulls ...fakegithub.ScenarioPull) (*fakegithub.Server, *govern.Clients) {
	t.Helper()
	sc := &fakegithub.Scenario{
		App:           fakegithub.ScenarioApp{ID: 1, Slug: "fix-status", WebhookSecret: "s3cret"},
		Installations: []fakegithub.ScenarioInstallation{{ID: repo.InstallationID, Account: "o", Repos: []string{"o/r"}}},
		Repos:         []fakegithub.ScenarioRepo{{Name: "o/r", DefaultBranch: "main", Pulls: pulls}},
		Apps:          []fakegithub.ScenarioOtherApp{{ID: 9000, Slug: "other-ci", Name: "Other CI"}},
	}
	gh, err := fakegithub.New(fakegithub.Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gh.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gh.Close() })
	cfg := fakegithubtest.ServerConfig(gh)
	cc := fakegithubtest.ClientCreator(t, gh)
	// GitHub's 900 points a minute per endpoint would pace the REST reads
	// of big PRs in real time; these tests count requests, not pacing.
	gov := govern.New(govern.Options{PointsPerMinute: 1_000_000})
	clients, err := govern.NewClients(cc, gov, cfg.GitHub.V4APIURL)
	if err != nil {
		t.Fatal(err)
	}
	return gh, clients
}

func reader(t testing.TB, c *govern.Clients, mode string, prsPerQuery int) *Reader {
	t.Helper()
	r, err := NewReader(Options{Clients: c, Mode: mode, PRsPerQuery: prsPerQuery})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// readAll reads every page of o/r.
func readAll(t testing.TB, r *Reader, skip Skip) []*Page {
	t.Helper()
	var pages []*Page
	if err := r.Pages(context.Background(), repo, skip, func(p *Page) error {
		pages = append(pages, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return pages
}

func byNumber(pages []*Page) map[int]Item {
	out := map[int]Item{}
	for _, p := range pages {
		for _, it := range p.Items {
			out[it.Ref.Number] = it
		}
	}
	return out
}

// comparable orders what GitHub's two APIs may list in another order, and
// leaves out the PR's count of changed files, which GitHub's list of PRs
// does not give (the reconciler reads it from the PR when it matters).
func comparable(pf *reconcile.Prefetched) *reconcile.Prefetched {
	c := *pf
	c.PR.ChangedFiles = 0
	c.Statuses = append([]plan.Status(nil), pf.Statuses...)
	sort.Slice(c.Statuses, func(i, j int) bool { return c.Statuses[i].Context < c.Statuses[j].Context })
	return &c
}

// TestGraphQLReadsWhatRESTReads reads PRs of every shape both ways, a few
// PRs a page: GraphQL gives the reconciler exactly what REST gives (bots by
// their REST login, files paged past 100, cut at 3,000, renames listed by
// REST with their previous names, check runs past a page of suites by
// REST), plus the review decision.
func TestGraphQLReadsWhatRESTReads(t *testing.T) {
	old := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	p1 := pull(1, 1)
	p1.ReviewDecision = "APPROVED"
	p1.Statuses = []fakegithub.ScenarioStatus{
		{Context: "ci/unit", State: "success", Description: "ok", TargetURL: "https://ci.example/1", Creator: "ci-bot", CreatedAt: &old},
		{Context: "ci/docs", State: "success", Description: "Skipped: no docs", Creator: "fix-status[bot]"},
		{Context: "CI/Unit", State: "failure", Creator: "ci-bot"},
	}
	p1.CheckRuns = []fakegithub.ScenarioCheckRun{{Name: "build", Status: "completed", Conclusion: "success", StartedAt: &old},
		{Name: "e2e", Status: "queued", AppID: 9000}}
	p2 := pull(2, 150)
	p2.Draft, p2.User = true, "dependabot[bot]"
	p3 := pull(3, 2)
	p3.Files = append(p3.Files, fakegithub.File{Filename: "pkg/moved.go", PreviousFilename: "pkg/old.go", Status: "renamed"})
	p4 := pull(4, 1)
	for i := 1; i <= 6; i++ {
		p4.CheckRuns = append(p4.CheckRuns, fakegithub.ScenarioCheckRun{Name: fmt.Sprint("job", i), Status: "completed", Conclusion: "success", Workflow: fmt.Sprintf("w%d.yml", i)})
	}
	p5 := pull(5, 3100)
	p6 := pull(6, 250)
	p6.ReviewDecision = "CHANGES_REQUESTED"
	_, clients := emulator(t, p1, p2, p3, p4, p5, p6)

	gql := readAll(t, reader(t, clients, ModeGraphQL, 2), nil)
	rest := readAll(t, reader(t, clients, ModeREST, 0), nil)
	if len(gql) != 3 || len(rest) != 1 {
		t.Fatalf("%d GraphQL pages, %d REST pages; want 3 and 1", len(gql), len(rest))
	}
	var filesREST, checksREST int
	for _, p := range gql {
		filesREST += p.FilesREST
		checksREST += p.ChecksREST
		if len(p.Failures) > 0 {
			t.Errorf("failures: %v", p.Failures)
		}
	}
	if filesREST != 1 || checksREST != 1 {
		t.Errorf("REST read the files of %d PRs and the check runs of %d, want 1 each (#3 and #4)", filesREST, checksREST)
	}
	g, r := byNumber(gql), byNumber(rest)
	if len(g) != 6 || len(r) != 6 {
		t.Fatalf("%d PRs by GraphQL, %d by REST", len(g), len(r))
	}
	for n := 1; n <= 6; n++ {
		if diff := cmp.Diff(comparable(r[n].Prefetched), comparable(g[n].Prefetched)); diff != "" {
			t.Errorf("#%d (-REST +GraphQL):\n%s", n, diff)
		}
	}
	if g[1].ReviewDecision != "APPROVED" || g[6].ReviewDecision != "CHANGES_REQUESTED" || g[2].ReviewDecision != "" || r[1].ReviewDecision != "" {
		t.Errorf("review decisions: %q %q %q; REST %q", g[1].ReviewDecision, g[6].ReviewDecision, g[2].ReviewDecision, r[1].ReviewDecision)
	}
	// What the comparison stands on.
	f2, f3, f5 := g[2].Prefetched.Files, g[3].Prefetched.Files, g[5].Prefetched.Files
	if len(f2.Names) != 150 || !f2.Complete || fmt.Sprint(f3.Renamed) != "[pkg/old.go]" || len(f5.Names) != 3000 || f5.Complete {
		t.Errorf("files: #2 %d complete %v, #3 renamed %v, #5 %d complete %v", len(f2.Names), f2.Complete, f3.Renamed, len(f5.Names), f5.Complete)
	}
	if pr := g[2].Prefetched.PR; pr.Author != "dependabot[bot]" || !pr.Draft || pr.ChangedFiles != 150 {
		t.Errorf("#2: %+v", pr)
	}
	if sts := comparable(g[1].Prefetched).Statuses; len(sts) != 2 || sts[1].Creator != "fix-status[bot]" {
		t.Errorf("#1 statuses: %+v", sts)
	}
}

// TestFilesPagedTogether: the files past the first page of every PR of a
// page are paged in shared queries (one more page of each PR a query, a
// point each), not one query per PR nor by REST.
func TestFilesPagedTogether(t *testing.T) {
	gh, clients := emulator(t, pull(1, 250), pull(2, 250), pull(3, 120), pull(4, 3))
	gh.ResetStats()
	pages := readAll(t, reader(t, clients, ModeGraphQL, 0), nil)
	st := gh.Stats()
	if q := st.ByRoute["POST /graphql"]; q != 3 || st.GraphQLPoints != 6 || st.ByRoute["GET /repos/{owner}/{repo}/pulls/{pull_number}/files"] != 0 {
		t.Errorf("%d queries for %d points, routes %v; want 3 (the page, then two rounds of files) for 6 (4 + 1 + 1), no REST", q, st.GraphQLPoints, st.ByRoute)
	}
	if len(pages) != 1 || pages[0].GraphQLPoints != 6 || pages[0].FilesREST != 0 {
		t.Fatalf("pages: %+v", pages)
	}
	got := map[int]int{}
	for _, it := range pages[0].Items {
		got[it.Ref.Number] = len(it.Prefetched.Files.Names)
		if !it.Prefetched.Files.Complete {
			t.Errorf("#%d: files not complete", it.Ref.Number)
		}
	}
	if fmt.Sprint(got) != "map[1:250 2:250 3:120 4:3]" {
		t.Errorf("files per PR: %v", got)
	}
}

// TestSkip: a PR Skip leaves out is counted, not completed: its other file
// pages are not read.
func TestSkip(t *testing.T) {
	gh, clients := emulator(t, pull(1, 1), pull(2, 3000))
	gh.ResetStats()
	var seen []string
	pages := readAll(t, reader(t, clients, ModeGraphQL, 0), func(ref plan.PRRef, pr plan.PRInfo) bool {
		seen = append(seen, fmt.Sprint(ref.Number, " ", pr.HeadSHA[len(pr.HeadSHA)-3:], " ", pr.ChangedFiles))
		return ref.Number == 2
	})
	sort.Strings(seen)
	if fmt.Sprint(seen) != "[1 001 1 2 002 3000]" {
		t.Errorf("skip saw %v", seen)
	}
	if len(pages) != 1 || pages[0].Skipped != 1 || len(pages[0].Items) != 1 || pages[0].Items[0].Ref.Number != 1 {
		t.Fatalf("pages: %+v", pages)
	}
	if q := gh.Stats().ByRoute["POST /graphql"]; q != 1 {
		t.Errorf("%d queries, want 1: the skipped PR's files are not paged", q)
	}
}

// TestPagesFallsBackToREST: when GraphQL fails after the first page, the
// rest of the repository is read by REST, without the PRs handed over
// already, and the first REST page says why.
func TestPagesFallsBackToREST(t *testing.T) {
	gh, clients := emulator(t, pull(1, 1), pull(2, 1), pull(3, 1), pull(4, 1), pull(5, 1))
	var pages []*Page
	err := reader(t, clients, ModeGraphQL, 2).Pages(context.Background(), repo, nil, func(p *Page) error {
		if len(pages) == 0 {
			gh.Fault(fakegithub.Fault{Route: "POST /graphql", Status: 400, Message: "Field 'reviewDecision' doesn't exist on type 'PullRequest'"})
		}
		pages = append(pages, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 || pages[0].FallbackErr != nil || pages[1].FallbackErr == nil {
		t.Fatalf("%d pages; fallback errors %v", len(pages), pages)
	}
	seen := map[int]int{}
	for _, p := range pages {
		for _, it := range p.Items {
			seen[it.Ref.Number]++
		}
	}
	if len(seen) != 5 || len(pages[0].Items) != 2 || len(pages[1].Items) != 3 || pages[1].Skipped != 2 {
		t.Errorf("PRs read %v (GraphQL %d, REST %d, skipped %d), want each once", seen, len(pages[0].Items), len(pages[1].Items), pages[1].Skipped)
	}
	stop := errors.New("enough")
	if err := reader(t, clients, ModeREST, 0).Pages(context.Background(), repo, nil, func(*Page) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("an error of fn: %v", err)
	}
}

// TestReadPageCursors: a page's Next reads on where it stopped, in the
// mode it was read with; a cursor of neither mode is refused.
func TestReadPageCursors(t *testing.T) {
	_, clients := emulator(t, pull(1, 1), pull(2, 1), pull(3, 1))
	r := reader(t, clients, ModeGraphQL, 2)
	ctx := context.Background()
	first, err := r.ReadPage(ctx, repo, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.ReadPage(ctx, repo, first.Next, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != 2 || len(second.Items) != 1 || second.Next != "" {
		t.Errorf("pages of %d and %d PRs, next %q", len(first.Items), len(second.Items), second.Next)
	}
	rest, err := reader(t, clients, ModeREST, 0).ReadPage(ctx, repo, "", nil)
	if err != nil || len(rest.Items) != 3 || rest.Next != "" {
		t.Errorf("REST page: %v, %+v", err, rest)
	}
	for _, bad := range []string{"page:2", "rest:x", "rest:0"} {
		if _, err := r.ReadPage(ctx, repo, bad, nil); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

// TestGraphQLNeverCostsMoreThanREST reads 3 PRs of each size both ways:
// GraphQL's points (the emulator's count: REST requests charged plus
// GraphQL points) are never more than REST's.
func TestGraphQLNeverCostsMoreThanREST(t *testing.T) {
	// 3,000 files: BenchmarkBackfillFiles (cmd/fix-status).
	for _, files := range []int{1, 100, 101, 300} {
		t.Run(fmt.Sprint(files, " files"), func(t *testing.T) {
			cost := map[string]int64{}
			for _, mode := range []string{ModeGraphQL, ModeREST} {
				var pulls []fakegithub.ScenarioPull
				for n := 1; n <= 3; n++ {
					pulls = append(pulls, pull(n, files))
				}
				gh, clients := emulator(t, pulls...)
				gh.ResetStats()
				if got := len(byNumber(readAll(t, reader(t, clients, mode, 0), nil))); got != 3 {
					t.Fatalf("%d PRs read", got)
				}
				st := gh.Stats()
				cost[mode] = st.GraphQLPoints
				for _, n := range st.RateLimitUsed {
					cost[mode] += n
				}
			}
			if cost[ModeGraphQL] > cost[ModeREST] {
				t.Errorf("GraphQL %d points, REST %d", cost[ModeGraphQL], cost[ModeREST])
			}
		})
	}
}

func TestNewReaderChecksOptions(t *testing.T) {
	c := &govern.Clients{}
	for _, o := range []Options{{}, {Clients: c, Mode: "soap"}, {Clients: c, PRsPerQuery: 101}} {
		if _, err := NewReader(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
