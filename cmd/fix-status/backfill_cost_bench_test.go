package main

// Benchmarks of what bulk reads cost, against the emulator with 50 ms added
// to every request. They report the emulator's counters (requests, and
// rate-limit points: REST requests charged plus GraphQL points) and the
// process's peak RSS, and assert nothing about time:
//
//	go test -run '^$' -bench 'BenchmarkBackfillSweep' -benchtime 1x -timeout 30m ./cmd/fix-status/
//	go test -run '^$' -bench 'BenchmarkBackfillFiles' -benchtime 1x -timeout 60m ./cmd/fix-status/
//	go test -run '^$' -bench 'BenchmarkBackfillMemory' -benchtime 1x -timeout 60m ./cmd/fix-status/
//
// A sub-benchmark runs alone with e.g. -bench 'BenchmarkBackfillFiles/files=300/'.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fix-status/fix-status/app/backfill"
	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/govern"
	"github.com/fix-status/fix-status/config"
)

// benchLatency is added to every request, as in BenchmarkBackfillScale.
const benchLatency = 50 * time.Millisecond

// settle makes every PR of sc one with nothing to do: each required
// context already passed.
func settle(sc *fakegithub.Scenario) {
	for i := range sc.Repos {
		for j := range sc.Repos[i].Pulls {
			p := &sc.Repos[i].Pulls[j]
			at := time.Now().Add(-3 * time.Hour)
			p.Statuses = nil
			for _, c := range []string{"ci/docs", "ci/unit", "ci/lint"} {
				p.Statuses = append(p.Statuses, fakegithub.ScenarioStatus{Context: c, State: "success", Creator: "ci-bot", CreatedAt: &at})
			}
		}
	}
}

// withFiles makes every PR of sc change n files.
func withFiles(sc *fakegithub.Scenario, n int) {
	for i := range sc.Repos {
		for j := range sc.Repos[i].Pulls {
			p := &sc.Repos[i].Pulls[j]
			p.GeneratedFiles = max(0, n-len(p.Files))
		}
	}
}

// dryRun runs `fix-status backfill` (a dry run, default flags) on cfg.
func dryRun(b *testing.B, cfg *config.Server, reads string, env backfillEnv) *backfill.Result {
	b.Helper()
	notty := false
	env.logOut, env.tty = io.Discard, &notty
	res, err := runBackfill(context.Background(), cfg, backfillFlags{
		dryRun: true, reads: reads, concurrency: backfill.DefaultConcurrency,
		reserve: govern.DefaultReserve, reserveGraphQL: govern.DefaultReserve,
		writesPerMinute: govern.DefaultWritesPerMinute, writesPerHour: govern.DefaultWritesPerHour,
	}, env, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	if res.Failed() {
		b.Fatalf("%d failures: %v", len(res.Failures), res.Failures)
	}
	return res
}

// target says whether a benchmark's target is met, and fails the benchmark
// when it is not: the targets are counts (points, requests) and the peak
// RSS, which a run measures as it does them, not times.
func target(b *testing.B, what string, met bool) string {
	b.Helper()
	if !met {
		b.Errorf("target missed: %s", what)
		return "MISSED"
	}
	return "met"
}

// points is what the emulator charged: REST requests and GraphQL points.
func points(st fakegithub.Stats) int64 {
	n := st.GraphQLPoints
	for _, used := range st.RateLimitUsed {
		n += used
	}
	return n
}

// BenchmarkBackfillSweep reads and plans 5,000 open PRs with nothing to do
// (25 repositories of 200 PRs, every required context passed), as the
// sweep of a start-up does: GraphQL pages, the branches' rules read once.
// Target: at most 1,000 rate-limit points.
func BenchmarkBackfillSweep(b *testing.B) {
	sh := scenarioShape{installations: 5, reposPerInst: 5, prsPerRepo: 200, rateLimit: 1_000_000}
	sc := backfillScenario(sh, time.Now())
	settle(sc)
	gh := startEmulator(b, sc, benchLatency, nil)
	cfg := fakegithubtest.ServerConfig(gh)
	for range b.N {
		gh.ResetStats()
		start := time.Now()
		res := dryRun(b, cfg, backfill.ReadsGraphQL, backfillEnv{})
		wall := time.Since(start)
		if len(res.Results) != 5000 || res.WouldWrite() != 0 {
			b.Fatalf("%d PRs, %d writes planned; want 5,000 and none", len(res.Results), res.WouldWrite())
		}
		st := gh.Stats()
		p := points(st)
		b.ReportMetric(float64(p), "points")
		b.ReportMetric(float64(st.Requests), "requests")
		b.ReportMetric(float64(st.GraphQLPoints), "graphql-points")
		b.ReportMetric(wall.Seconds(), "wall-s")
		fmt.Printf("sweep of 5,000 unchanged PRs: %d points (%d GraphQL, %d REST), %d requests, %.1fs; target ≤ 1,000 points: %s\n",
			p, st.GraphQLPoints, p-st.GraphQLPoints, st.Requests, wall.Seconds(), target(b, "a sweep of 5,000 PRs within 1,000 points", p <= 1000))
	}
}

// BenchmarkBackfillFiles reads 1,000 PRs (5 installations × 2
// repositories × 100) of 1, 100, 300 and 3,000 files in both modes, in a
// dry run: requests and points of each. Target: GraphQL never costs more
// than REST. Peak RSS (VmHWM, reset before each run) includes the
// in-process emulator. GitHub's 900 points a minute per endpoint are lifted (the
// emulator does not enforce them here): the figures are counts, and REST's
// wall time would otherwise be GitHub's pacing.
func BenchmarkBackfillFiles(b *testing.B) {
	type figures struct {
		requests, points int64
		wall             time.Duration
		peakMB           float64
	}
	sizes := []int{1, 100, 300, 3000}
	modes := []string{backfill.ReadsGraphQL, backfill.ReadsREST}
	got := map[string]figures{}
	for _, files := range sizes {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			sh := scenarioShape{installations: 5, reposPerInst: 2, prsPerRepo: 100, rateLimit: 1_000_000}
			sc := backfillScenario(sh, time.Now())
			withFiles(sc, files)
			gh := startEmulator(b, sc, benchLatency, nil)
			cfg := fakegithubtest.ServerConfig(gh)
			cfg.Limits.PointsPerMinute = 1_000_000
			for _, reads := range modes {
				b.Run("reads="+reads, func(b *testing.B) {
					for range b.N {
						gh.ResetStats()
						runtime.GC()
						debug.FreeOSMemory()
						resetPeakRSS()
						start := time.Now()
						res := dryRun(b, cfg, reads, backfillEnv{})
						wall := time.Since(start)
						if len(res.Results) != 1000 {
							b.Fatalf("%d PRs", len(res.Results))
						}
						st := gh.Stats()
						f := figures{requests: st.Requests, points: points(st), wall: wall, peakMB: procStatusMB("VmHWM")}
						got[fmt.Sprint(files, reads)] = f
						b.ReportMetric(f.peakMB, "peak-RSS-MB")
						b.ReportMetric(float64(f.requests), "requests")
						b.ReportMetric(float64(f.points), "points")
						b.ReportMetric(wall.Seconds(), "wall-s")
					}
				})
			}
		})
	}
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "files/PR\tGraphQL requests\tGraphQL points\tGraphQL peak RSS\tREST requests\tREST points\tREST peak RSS\tGraphQL ≤ REST\t")
	for _, files := range sizes {
		g, okg := got[fmt.Sprint(files, backfill.ReadsGraphQL)]
		r, okr := got[fmt.Sprint(files, backfill.ReadsREST)]
		if !okg || !okr {
			continue
		}
		cheaper := target(b, fmt.Sprintf("GraphQL no dearer than REST for PRs of %d files", files), g.requests <= r.requests && g.points <= r.points)
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f MB\t%d\t%d\t%.0f MB\t%s\t\n", files, g.requests, g.points, g.peakMB, r.requests, r.points, r.peakMB, cheaper)
	}
	_ = tw.Flush()
	fmt.Print(sb.String())
}

// BenchmarkBackfillMemory measures the peak RSS of a 10,000-PR backfill
// (a dry run; 5 installations × 10 repositories × 200 PRs) of small PRs,
// of 300-file PRs and (GraphQL only: REST would spend half an hour on
// latency) of 3,000-file PRs. The emulator runs in a process of its own,
// so VmHWM (reset before each run) is the backfill's alone. Target: under
// 150 MB for any PR size.
func BenchmarkBackfillMemory(b *testing.B) {
	for _, files := range []int{2, 300, 3000} {
		modes := []string{backfill.ReadsGraphQL, backfill.ReadsREST}
		if files > 300 {
			modes = modes[:1]
		}
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			sh := scenarioShape{installations: 5, reposPerInst: 10, prsPerRepo: 200, rateLimit: 1_000_000}
			sc := backfillScenario(sh, time.Now())
			withFiles(sc, files)
			emu := startEmulatorProcess(b, sc, benchLatency)
			for _, reads := range modes {
				b.Run("reads="+reads, func(b *testing.B) {
					for range b.N {
						emu.resetStats(b)
						runtime.GC()
						debug.FreeOSMemory()
						resetPeakRSS()
						base := procStatusMB("VmRSS")
						start := time.Now()
						res := dryRun(b, emu.cfg, reads, backfillEnv{})
						wall := time.Since(start)
						peak := procStatusMB("VmHWM")
						if len(res.Results) != 10_000 {
							b.Fatalf("%d PRs", len(res.Results))
						}
						st := emu.stats(b)
						b.ReportMetric(peak, "peak-RSS-MB")
						b.ReportMetric(base, "start-RSS-MB")
						b.ReportMetric(float64(points(st)), "points")
						b.ReportMetric(float64(st.Requests), "requests")
						b.ReportMetric(wall.Seconds(), "wall-s")
						fmt.Printf("10,000 PRs of %d files, reads %s: peak RSS %.0f MB (%.0f MB at the start), %d points, %.1fs; target < 150 MB: %s\n",
							files, reads, peak, base, points(st), wall.Seconds(), target(b, "peak RSS under 150 MB", peak < 150))
					}
				})
			}
		})
	}
}

// emulatorProcess is the emulator (cmd/fakegithub) in a process of its
// own, with a fix-status config for its app.
type emulatorProcess struct {
	url string
	cfg *config.Server
}

// startEmulatorProcess builds cmd/fakegithub and runs it on sc until the
// benchmark ends.
func startEmulatorProcess(b *testing.B, sc *fakegithub.Scenario, latency time.Duration) *emulatorProcess {
	b.Helper()
	dir := b.TempDir()
	bin := filepath.Join(dir, "fakegithub")
	if out, err := exec.Command("go", "build", "-o", bin, "../fakegithub").CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/fakegithub: %v\n%s", err, out)
	}
	data, err := yaml.Marshal(sc)
	if err != nil {
		b.Fatal(err)
	}
	scenario, cfgPath := filepath.Join(dir, "scenario.yaml"), filepath.Join(dir, "fix-status.yaml")
	if err := os.WriteFile(scenario, data, 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--scenario", scenario, "--write-app-config", cfgPath, "--latency", latency.String())
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "fakegithub listening on ")
	if err != nil || !ok {
		b.Fatalf("the emulator did not start: %q, %v", line, err)
	}
	cfg, err := config.LoadServer(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	// Requests are counted, not timed: GitHub's points a minute would
	// only make the run longer.
	cfg.Limits.PointsPerMinute = 1_000_000
	return &emulatorProcess{url: strings.TrimSuffix(url, "/"), cfg: cfg}
}

func (e *emulatorProcess) stats(b *testing.B) fakegithub.Stats {
	b.Helper()
	resp, err := http.Get(e.url + "/_fake/stats")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var st fakegithub.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		b.Fatal(err)
	}
	return st
}

func (e *emulatorProcess) resetStats(b *testing.B) {
	b.Helper()
	req, _ := http.NewRequest(http.MethodDelete, e.url+"/_fake/stats", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_ = resp.Body.Close()
}
