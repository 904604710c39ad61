package main

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
)

// backfillRepoConfig makes three required contexts conditional or always
// run, so that open PRs need real work: a skip for the job a PR does not
// trigger, a re-trigger for one that never reported.
const backfillRepoConfig = `version: 1
contexts:
  - context: ci/docs
    run_if_changed: '^docs/'
  - context: ci/unit
    run_if_changed: '^pkg/'
    rerun: {comment: "/test unit"}
  - context: ci/lint
    always_run: true
`

// scenarioShape is a generated backfill scenario: installations × repos ×
// PRs, each PR of one of ten kinds by its number (see backfillPull).
type scenarioShape struct {
	installations, reposPerInst, prsPerRepo int
	rateLimit                               int
	// orgFirst makes the first installation an Organization.
	orgFirst bool
}

// backfillScenario generates the scenario. Results are backdated so the
// grace period is over and pending results are not yet stale.
func backfillScenario(sh scenarioShape, now time.Time) *fakegithub.Scenario {
	sc := &fakegithub.Scenario{App: fakegithub.ScenarioApp{ID: 1, Slug: "fix-status", WebhookSecret: "s3cret"}}
	for i := 0; i < sh.installations; i++ {
		inst := fakegithub.ScenarioInstallation{ID: int64(100 + i), Account: fmt.Sprintf("owner%d", i), RateLimit: sh.rateLimit}
		if i == 0 && sh.orgFirst {
			inst.AccountType = "Organization"
		}
		for r := 0; r < sh.reposPerInst; r++ {
			name := fmt.Sprintf("%s/repo%d", inst.Account, r)
			inst.Repos = append(inst.Repos, name)
			repo := fakegithub.ScenarioRepo{
				Name: name, DefaultBranch: "main",
				Files: map[string]map[string]string{"main": {".github/fix-status.yml": backfillRepoConfig}},
				Branches: map[string]fakegithub.ScenarioBranch{"main": {Protection: &fakegithub.ScenarioProtection{
					RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: []string{"ci/docs", "ci/unit", "ci/lint"}}}}},
			}
			for n := 1; n <= sh.prsPerRepo; n++ {
				repo.Pulls = append(repo.Pulls, backfillPull(n, now))
			}
			sc.Repos = append(sc.Repos, repo)
		}
		sc.Installations = append(sc.Installations, inst)
	}
	return sc
}

// backfillPull is PR n. By n%10:
//
//	0-5  changes pkg/, unit and lint passed      → skip ci/docs             (1 write, green)
//	6-7  changes docs/, docs and lint passed     → skip ci/unit             (1 write, green)
//	8    changes pkg/, unit pending, lint failed → skip ci/docs             (1 write, not green)
//	9    changes pkg/, lint passed, unit missing → skip ci/docs, /test unit (2 writes, green)
//
// PRs 3 and 8 are approved (GraphQL's reviewDecision): 3 is the closest to
// merging, 8 (approved, not green) comes after every green PR.
func backfillPull(n int, now time.Time) fakegithub.ScenarioPull {
	old := now.Add(-3 * time.Hour)
	recent := now.Add(-30 * time.Minute)
	st := func(ctx, state string, at time.Time) fakegithub.ScenarioStatus {
		return fakegithub.ScenarioStatus{Context: ctx, State: state, Creator: "ci-bot", CreatedAt: &at}
	}
	p := fakegithub.ScenarioPull{Number: n, Title: fmt.Sprintf("change %d", n), User: "octocat", Base: "main",
		HeadSHA:   fmt.Sprintf("%040x", 0xabc000000+n),
		CreatedAt: &old,
		Files:     []fakegithub.File{{Filename: fmt.Sprintf("pkg/f%d.go", n), Status: "modified"}, {Filename: "README.md", Status: "modified"}},
		CheckRuns: []fakegithub.ScenarioCheckRun{{Name: "build", Status: "completed", Conclusion: "success", StartedAt: &old}},
	}
	if k := n % 10; k == 3 || k == 8 {
		p.ReviewDecision = "APPROVED"
	}
	switch k := n % 10; {
	case k <= 5:
		p.Statuses = []fakegithub.ScenarioStatus{st("ci/unit", "success", old), st("ci/lint", "success", old)}
	case k <= 7:
		p.Files = []fakegithub.File{{Filename: fmt.Sprintf("docs/p%d.md", n), Status: "added"}}
		p.Statuses = []fakegithub.ScenarioStatus{st("ci/docs", "success", old), st("ci/lint", "success", old)}
	case k == 8:
		p.Statuses = []fakegithub.ScenarioStatus{st("ci/unit", "pending", recent), st("ci/lint", "failure", recent)}
	default:
		p.Statuses = []fakegithub.ScenarioStatus{st("ci/lint", "success", old)}
	}
	return p
}

// wantWrites is what backfilling PR n writes: contexts given a skip status,
// and whether a re-trigger comment goes out.
func wantWrites(n int) (skips []string, comment bool) {
	switch k := n % 10; {
	case k <= 5 || k == 8:
		return []string{"ci/docs"}, false
	case k <= 7:
		return []string{"ci/unit"}, false
	default:
		return []string{"ci/docs"}, true
	}
}

// testClock is the emulator's and backfill's clock: the wall clock plus an
// offset that Sleep moves forward, so waits for a rate-limit window to
// reset take no time. realCap bounds a real sleep as well (go-github keeps
// its own memory of a secondary limit by the wall clock).
type testClock struct {
	offset  atomic.Int64
	realCap time.Duration
}

func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *testClock) Sleep(ctx context.Context, d time.Duration) error {
	if d > 0 {
		c.offset.Add(int64(d))
	}
	if r := min(d, c.realCap); r > 0 {
		t := time.NewTimer(r)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	runtime.Gosched()
	return ctx.Err()
}

// startEmulator runs the emulator on 127.0.0.1 for a test or benchmark.
func startEmulator(tb testing.TB, sc *fakegithub.Scenario, latency time.Duration, now func() time.Time) *fakegithub.Server {
	tb.Helper()
	gh, err := fakegithub.New(fakegithub.Options{Scenario: sc, Latency: latency, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := gh.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = gh.Close() })
	return gh
}
