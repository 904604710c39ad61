package serve

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/bulk"
	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/govern"
	"github.com/fix-status/fix-status/app/reconcile"
)

// newBulkService starts a Service whose sweeps read in bulk, prsPerQuery
// PRs a page.
func newBulkService(t *testing.T, sc string, prsPerQuery int, timeout time.Duration) (*fakegithub.Server, *Service, *outcomes) {
	t.Helper()
	gh := fakegithubtest.Start(t, sc, fakegithub.Options{})
	cfg := fakegithubtest.ServerConfig(gh)
	cc := fakegithubtest.ClientCreator(t, gh)
	clients, err := govern.NewClients(cc, govern.New(govern.Options{}), cfg.GitHub.V4APIURL)
	if err != nil {
		t.Fatal(err)
	}
	br, err := bulk.NewReader(bulk.Options{Clients: clients, PRsPerQuery: prsPerQuery})
	if err != nil {
		t.Fatal(err)
	}
	rec := reconcile.New(reconcile.Options{Clients: clients, Config: cfg, AppID: 1, AppSlug: "fix-status"})
	outs := &outcomes{c: make(chan struct{}, 100)}
	svc := New(rec, Options{Clients: clients, Bulk: br, OnReport: outs.add, Timeout: timeout})
	svc.Start(context.Background())
	t.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
	return gh, svc, outs
}

// sweepPulls is the scenario with n open PRs that have nothing to do.
func sweepPulls(n int) string {
	var pulls strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&pulls, "      - {number: %d, title: PR, user: octocat, base: main, head_sha: %040d, files: [{filename: docs/%d.md, status: modified}], statuses: [{context: ci/docs, state: success, creator: ci}]}\n", i, i, i)
	}
	return scenario[:strings.Index(scenario, "    pulls:\n")+len("    pulls:\n")] + pulls.String()
}

// TestSweepInBulk: a sweep reads a repository's PRs a page at a time in
// bulk and reconciles each PR once, with no per-PR read of its own when
// nothing is to be written; when GraphQL cannot answer, the sweep reads the
// repository by REST instead.
func TestSweepInBulk(t *testing.T) {
	const n = 5
	sc := sweepPulls(n)
	for _, tt := range []struct {
		name      string
		fault     *fakegithub.Fault
		wantREST  bool
		wantPages int64
	}{
		{name: "graphql", wantPages: 3},
		{name: "graphql fails", fault: &fakegithub.Fault{Route: "POST /graphql", Status: 404}, wantREST: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gh, svc, outs := newBulkService(t, sc, 2, 0)
			if tt.fault != nil {
				gh.Fault(*tt.fault)
			}
			if err := svc.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			outs.wait(t, n)
			if err := svc.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			seen := map[int]int{}
			for _, o := range outs.list() {
				if o.Err != nil || o.Trigger != EventSweep {
					t.Errorf("%s: %s, %v", o.PR, o.Trigger, o.Err)
				}
				seen[o.PR.Number]++
			}
			for i := 1; i <= n; i++ {
				if seen[i] != 1 {
					t.Errorf("#%d reconciled %d times, want once", i, seen[i])
				}
			}
			st := gh.Stats()
			if got := st.ByRoute["POST /graphql"]; !tt.wantREST && got != tt.wantPages {
				t.Errorf("%d GraphQL queries, want %d (pages of 2)", got, tt.wantPages)
			}
			perPR := st.ByRoute["GET /repos/{owner}/{repo}/pulls/{pull_number}"]
			if !tt.wantREST && perPR != 0 {
				t.Errorf("%d PRs read one by one, want none", perPR)
			}
			if list := st.ByRoute["GET /repos/{owner}/{repo}/pulls"]; tt.wantREST && list == 0 {
				t.Error("GraphQL failed, and the PRs were not listed by REST")
			}
			if st.Writes.Total != 0 {
				t.Errorf("%d writes on PRs with nothing to do", st.Writes.Total)
			}
		})
	}
}

// TestSweepPageLateItems: PRs of a page that are not started within half
// the work timeout (the first ones are slow: their branch's rules are held)
// are queued to be read one by one, and every PR is still reconciled once.
func TestSweepPageLateItems(t *testing.T) {
	const n, timeout = 6, 2 * time.Second
	gh, svc, outs := newBulkService(t, sweepPulls(n), n, timeout)
	held := gh.Hold("GET /repos/{owner}/{repo}/git/ref/{ref}")
	start := time.Now()
	if err := svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-held.Arrived()
	// The page's workers are all held on the branch: its last PRs cannot
	// start before the start window (timeout/2) closes.
	time.Sleep(time.Until(start.Add(timeout/2 + 200*time.Millisecond)))
	held.Release()
	outs.wait(t, n)
	seen := map[int]int{}
	for _, o := range outs.list() {
		if o.Err != nil {
			t.Errorf("%s: %v", o.PR, o.Err)
		}
		seen[o.PR.Number]++
	}
	for i := 1; i <= n; i++ {
		if seen[i] != 1 {
			t.Errorf("#%d reconciled %d times, want once", i, seen[i])
		}
	}
	late := gh.Stats().ByRoute["GET /repos/{owner}/{repo}/pulls/{pull_number}"]
	if want := int64(n - sweepParallel); late != want {
		t.Errorf("%d PRs read one by one, want the %d not started in time", late, want)
	}
}
