package main

import (
	"bufio"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/shared/redistest"
	"github.com/fix-status/fix-status/config"
)

// BenchmarkReplicasOnRedis runs the real binary as one and as two replicas
// sharing a real Redis behind a load balancer, against the emulator with
// GitHub-like latency, and repairs batches of 100 docs-only PRs (one skip
// written each). It reports reconciles per second, writes per minute, the
// most writes made in any 60 s and Redis commands per reconcile (from
// redis-server's own counter, asynq's polling and heartbeats included).
// The unpaced runs lift the write limits to measure throughput; the paced
// run keeps GitHub's 80 writes a minute on both sides (the emulator answers
// a secondary limit past them): the two replicas pace their writes together
// in Redis, and GitHub never says a secondary limit.
//
//	go test -run '^$' -bench BenchmarkReplicasOnRedis -benchtime 3x ./cmd/fix-status/
//	go test -run '^$' -bench 'BenchmarkReplicasOnRedis/2-replicas-paced' -benchtime 1x ./cmd/fix-status/
func BenchmarkReplicasOnRedis(b *testing.B) {
	for _, tc := range []struct {
		name     string
		replicas int
		paced    bool
	}{{"1-replicas", 1, false}, {"2-replicas", 2, false}, {"2-replicas-paced", 2, true}} {
		b.Run(tc.name, func(b *testing.B) {
			rs := redistest.Start(b)
			rdb := rs.Client(b)
			sc := widgets{}.yaml()
			if tc.paced {
				sc = "secondary_limits: true\n" + sc
			}
			gh := fakegithubtest.Start(b, sc, fakegithub.Options{Latency: 50 * time.Millisecond})
			var urls []string
			for i := 0; i < tc.replicas; i++ {
				cfg, path := replicaConfig(b, gh, func(c *config.Server) {
					c.Repair.SweepInterval.Duration = 0
					c.Repair.GracePeriod.Duration = 0
					c.Redis.Address = rs.Addr
					if tc.paced {
						// GitHub's 80 a minute bind; its 500 an hour (a
						// burst of 50, then one every 7.2 s) would make a
						// run take minutes, and 100 writes stay under them.
						c.Limits.WritesPerHour = 100_000
					}
				})
				urls = append(urls, startReplica(b, cfg, path).url)
			}
			gh.SetWebhookURL(newBalancer(b, urls...).URL() + WebhookRoute)
			commands := func() float64 {
				info, err := rdb.Info(context.Background(), "stats").Result()
				if err != nil {
					b.Fatal(err)
				}
				return infoField(b, info, "total_commands_processed")
			}
			reconciles := func() float64 {
				var sum float64
				for _, u := range urls {
					sum += metricSum(b, u+"/metrics", "fix_status_reconcile_duration_seconds_count")
				}
				return sum
			}
			const batch = 100
			writes := func() float64 { return float64(gh.Stats().ByRoute["POST /repos/{owner}/{repo}/statuses/{sha}"]) }
			b.ResetTimer()
			start, cmd0, rec0, w0 := time.Now(), commands(), reconciles(), writes()
			for i := 0; i < b.N; i++ {
				waitRepaired(b, gh, openPRs(b, gh, batch, "docs/a.md"), "pull-unit", 5*time.Minute)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			rec := reconciles() - rec0
			b.ReportMetric(rec/elapsed.Seconds(), "reconciles/s")
			b.ReportMetric((writes()-w0)/elapsed.Minutes(), "writes/min")
			most, limited := maxInWindow(gh.State(), time.Minute), gh.Stats().SecondaryLimited
			b.ReportMetric(float64(most), "max-writes/60s")
			b.ReportMetric(float64(limited), "secondary-limited")
			if tc.paced {
				target(b, "no secondary limit answered to paced replicas", limited == 0)
				target(b, "at most 80 writes in any 60 s", most <= 80)
			}
			b.ReportMetric((commands()-cmd0)/rec, "redis-cmds/reconcile")
		})
	}
}

// maxInWindow is the most statuses fix-status wrote in any window of d.
func maxInWindow(st *fakegithub.State, d time.Duration) int {
	var at []time.Time
	for _, r := range st.Repos {
		for _, p := range r.Pulls {
			for _, s := range p.Statuses {
				if s.Creator == bot {
					at = append(at, s.CreatedAt)
				}
			}
		}
	}
	slices.SortFunc(at, time.Time.Compare)
	most := 0
	for i, j := 0, 0; j < len(at); j++ {
		for at[j].Sub(at[i]) >= d {
			i++
		}
		most = max(most, j-i+1)
	}
	return most
}

// infoField reads one field of redis-server's INFO answer.
func infoField(tb testing.TB, info, field string) float64 {
	tb.Helper()
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return f
		}
	}
	tb.Fatalf("INFO has no %s", field)
	return 0
}

// metricSum adds up the samples of one metric on a /metrics page.
func metricSum(tb testing.TB, url, name string) float64 {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			tb.Fatalf("%s: %v", line, err)
		}
		sum += f
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return sum
}
