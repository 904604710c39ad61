package stuck

import "github.com/prometheus/client_golang/prometheus"

var (
	stuckDesc = prometheus.NewDesc("fix_status_stuck_prs",
		"Pull requests stuck now (a required context blocked, or unresolved past the grace period), by repository and reason.",
		[]string{"repo", "reason"}, nil)
	oldestDesc = prometheus.NewDesc("fix_status_stuck_pr_oldest_seconds",
		"How long the longest-stuck pull request has been stuck (0 when none is).", nil, nil)
)

// Describe implements prometheus.Collector.
func (t *Tracker) Describe(ch chan<- *prometheus.Desc) {
	ch <- stuckDesc
	ch <- oldestDesc
}

// Collect implements prometheus.Collector: the gauges are computed from
// the tracker at scrape time, by the tracker's clock.
func (t *Tracker) Collect(ch chan<- prometheus.Metric) {
	now := t.opts.Now()
	type key struct{ repo, reason string }
	counts := map[key]int{}
	oldest := 0.0
	for _, p := range t.Stuck(now) {
		counts[key{p.PR.FullRepo(), string(p.Reason)}]++
		oldest = max(oldest, now.Sub(p.Since).Seconds())
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(stuckDesc, prometheus.GaugeValue, float64(n), k.repo, k.reason)
	}
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, oldest)
}

var _ prometheus.Collector = (*Tracker)(nil)
