package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/serve"
)

// BenchmarkServeSweep runs serve's start-up sweep over 5,000 open PRs with
// nothing to do (BenchmarkBackfillSweep's 25 repositories of 200 PRs, 50 ms
// added to every request), then a second sweep with the HTTP cache warm,
// and reports what each cost in the emulator's counters (the drift watch's
// audits and the delivery recovery included). Target: at most 1,000
// rate-limit points a sweep.
//
//	go test -run '^$' -bench BenchmarkServeSweep -benchtime 1x -timeout 30m ./cmd/fix-status/
func BenchmarkServeSweep(b *testing.B) {
	const prs = 5000
	sh := scenarioShape{installations: 5, reposPerInst: 5, prsPerRepo: prs / 25, rateLimit: 1_000_000}
	sc := backfillScenario(sh, time.Now())
	settle(sc)
	for range b.N {
		gh := startEmulator(b, sc, benchLatency, nil)
		start := time.Now()
		h := newHarness(b, "", harnessOptions{gh: gh, catchUp: true, workers: 8})
		waitSwept(b, h, 0, prs)
		report(b, "start-up sweep", gh.Stats(), time.Since(start), h, 0)

		gh.ResetStats()
		mark := h.mark()
		start = time.Now()
		if err := h.srv.svc.Sweep(context.Background()); err != nil {
			b.Fatal(err)
		}
		waitSwept(b, h, mark, prs)
		report(b, "second sweep", gh.Stats(), time.Since(start), h, mark)
		if err := h.stop(); err != nil {
			b.Fatal(err)
		}
	}
}

// waitSwept waits until the outcomes after mark include a sweep's
// reconcile of n distinct PRs.
func waitSwept(b *testing.B, h *harness, mark, n int) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Minute)
	for {
		seen := map[string]bool{}
		for _, o := range h.outcomes(mark) {
			if o.Trigger == serve.EventSweep {
				seen[o.PR.String()] = true
			}
		}
		if len(seen) >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the sweep reconciled %d of %d PRs", len(seen), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func report(b *testing.B, what string, st fakegithub.Stats, wall time.Duration, h *harness, mark int) {
	writes := 0
	for _, o := range h.outcomes(mark) {
		if o.Report != nil {
			writes += o.Report.Writes
		}
	}
	p := points(st)
	unit := "-points"
	if what == "second sweep" {
		unit = "-warm" + unit
	}
	b.ReportMetric(float64(p), "sweep"+unit)
	fmt.Printf("serve %s of 5,000 unchanged PRs: %d points (%d GraphQL, %d REST), %d requests (%d answered 304), %d writes, %.1fs; target ≤ 1,000 points: %s\n",
		what, p, st.GraphQLPoints, p-st.GraphQLPoints, st.Requests, st.NotModified, writes, wall.Seconds(), target(b, what+" within 1,000 points", p <= 1000))
}
