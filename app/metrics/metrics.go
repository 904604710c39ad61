// Package metrics holds fix-status's Prometheus metrics, shared by the
// webhook handlers, the drivers and the GitHub client middleware.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are fix-status's Prometheus metrics. A nil registerer keeps them
// unregistered (tests, one-shot commands).
type Metrics struct {
	events     *prometheus.CounterVec
	decisions  *prometheus.CounterVec
	writes     *prometheus.CounterVec
	requests   *prometheus.CounterVec
	rateLimit  *prometheus.GaugeVec
	QueueDepth prometheus.Gauge
	// permissionMissing is 1 per installation and permission GitHub
	// refuses calls for: a gauge, so that an alert fires while it lasts
	// and resolves once the permission is granted (a counter would keep
	// rising after a restart and stay "recent" after the fix).
	permissionMissing *prometheus.GaugeVec

	reconcileErrors   prometheus.Counter
	reconcileDuration prometheus.Histogram
	dropped           prometheus.Counter
	recovered         prometheus.Counter
	lastSweep         prometheus.Gauge

	auditFindings *prometheus.GaugeVec
	auditTime     *prometheus.GaugeVec
	auditErrors   prometheus.Counter
}

// New creates the metrics and registers them with reg when not nil.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fix_status_webhook_events_total", Help: "Webhook events received, by event type and action.",
		}, []string{"event"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fix_status_decisions_total", Help: "Decisions made for required contexts, by verdict.",
		}, []string{"verdict"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fix_status_writes_total", Help: "Writes made to GitHub, by kind and result.",
		}, []string{"kind", "result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fix_status_github_requests_total", Help: "GitHub API requests, by method and response code (304 costs no rate limit).",
		}, []string{"method", "code"}),
		rateLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fix_status_github_rate_limit_remaining", Help: "Last x-ratelimit-remaining seen, by resource.",
		}, []string{"resource"}),
		permissionMissing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fix_status_permission_missing",
			Help: "1 while GitHub refuses calls of the installation for lack of this permission (as X-Accepted-GitHub-Permissions names it); grant it in the app's settings.",
		}, []string{"installation", "permission"}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fix_status_queue_depth", Help: "Work waiting in the queue (pull requests, commits and repositories to check).",
		}),
		reconcileErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fix_status_reconcile_errors_total", Help: "Reconciles that failed (each attempt of a retried one).",
		}),
		reconcileDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "fix_status_reconcile_duration_seconds", Help: "How long one reconcile of a pull request took.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fix_status_deliveries_dropped_total", Help: "Webhook deliveries answered 503 because their work could not be queued (GitHub records them as failed; the recovery sends them again).",
		}),
		recovered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fix_status_deliveries_recovered_total", Help: "Failed webhook deliveries fix-status asked GitHub to send again.",
		}),
		lastSweep: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fix_status_last_sweep_timestamp_seconds", Help: "When the last sweep of every open pull request was queued (Unix time).",
		}),
		auditFindings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fix_status_audit_findings", Help: "Required contexts that block or stall pull requests, by repository and class, from the latest audit of the repository.",
		}, []string{"repo", "class"}),
		auditTime: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fix_status_audit_timestamp_seconds", Help: "When the latest audit of a repository that fix_status_audit_findings shows was made (Unix time).",
		}, []string{"repo"}),
		auditErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fix_status_audit_errors_total", Help: "Audits of a repository that failed (its fix_status_audit_findings keep the previous audit's values).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.decisions, m.writes, m.requests, m.rateLimit, m.permissionMissing, m.QueueDepth,
			m.reconcileErrors, m.reconcileDuration, m.dropped, m.recovered, m.lastSweep,
			m.auditFindings, m.auditTime, m.auditErrors)
	}
	return m
}

// Reconciled records one reconcile: how long it took, and whether it failed.
func (m *Metrics) Reconciled(d time.Duration, err error) {
	m.reconcileDuration.Observe(d.Seconds())
	if err != nil {
		m.reconcileErrors.Inc()
	}
}

// Dropped counts a delivery answered 503.
func (m *Metrics) Dropped() { m.dropped.Inc() }

// Recovered counts failed deliveries asked to be sent again.
func (m *Metrics) Recovered(n int) { m.recovered.Add(float64(n)) }

// Swept records when a sweep was queued.
func (m *Metrics) Swept(at time.Time) { m.lastSweep.Set(float64(at.Unix())) }

// PermissionMissing sets whether installation lacks permission now; a
// permission granted again leaves the metric.
func (m *Metrics) PermissionMissing(installation int64, permission string, missing bool) {
	inst := strconv.FormatInt(installation, 10)
	if missing {
		m.permissionMissing.WithLabelValues(inst, permission).Set(1)
		return
	}
	m.permissionMissing.DeleteLabelValues(inst, permission)
}

// Audited records the latest audit of repo ("owner/name"), made at at: its
// findings by class. Every class of counts is set, a class without findings
// to 0, so that a finding that goes away shows as 0.
func (m *Metrics) Audited(repo string, at time.Time, counts map[string]int) {
	for class, n := range counts {
		m.auditFindings.WithLabelValues(repo, class).Set(float64(n))
	}
	m.auditTime.WithLabelValues(repo).Set(float64(at.Unix()))
}

// AuditFailed counts an audit that failed.
func (m *Metrics) AuditFailed() { m.auditErrors.Inc() }

// AuditForgotten drops the series of a repository no longer audited (the
// app is no longer installed on it).
func (m *Metrics) AuditForgotten(repo string) {
	m.auditFindings.DeletePartialMatch(prometheus.Labels{"repo": repo})
	m.auditTime.DeleteLabelValues(repo)
}

// Event counts one webhook event.
func (m *Metrics) Event(eventType string) { m.events.WithLabelValues(eventType).Inc() }

// Decision counts one decision.
func (m *Metrics) Decision(verdict string) { m.decisions.WithLabelValues(verdict).Inc() }

// Write counts one write.
func (m *Metrics) Write(kind string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.writes.WithLabelValues(kind, result).Inc()
}

// ClientMiddleware counts API requests and records the rate limit left; add
// it to the client creator with githubapp.WithClientMiddleware.
func (m *Metrics) ClientMiddleware() githubapp.ClientMiddleware {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			code := "error"
			if resp != nil {
				code = strconv.Itoa(resp.StatusCode)
				if rem := resp.Header.Get("X-Ratelimit-Remaining"); rem != "" {
					if v, perr := strconv.ParseFloat(rem, 64); perr == nil {
						res := resp.Header.Get("X-Ratelimit-Resource")
						if res == "" {
							res = "core"
						}
						m.rateLimit.WithLabelValues(res).Set(v)
					}
				}
			}
			m.requests.WithLabelValues(req.Method, code).Inc()
			return resp, err
		})
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
