// Package metrics holds fix-status's Prometheus metrics, shared by the
// webhook handlers, the drivers and the GitHub client middleware.
package metrics

import (
	"net/http"
	"strconv"

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
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fix_status_queue_depth", Help: "Pull requests waiting to be reconciled.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.decisions, m.writes, m.requests, m.rateLimit, m.QueueDepth)
	}
	return m
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
