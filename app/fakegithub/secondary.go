package fakegithub

import (
	"net/http"
	"time"
)

// GitHub's documented secondary limits (docs/github.md), enforced per
// installation when the scenario sets secondary_limits.
const (
	contentPerMinute = 80
	contentPerHour   = 500
	maxConcurrent    = 100
	// restPointsPerMinute is the point budget of one REST endpoint a minute;
	// graphqlPointsPerMinute that of the GraphQL endpoint.
	restPointsPerMinute    = 900
	graphqlPointsPerMinute = 2000
)

// secondaryPoints is what a request costs against the per-minute point
// limits: GET, HEAD and OPTIONS 1, other methods 5; a GraphQL query
// (there are no mutations here) 1, as GitHub documents it.
func secondaryPoints(c *reqCtx) (cost, limit int) {
	if c.route.key == graphqlRouteKey {
		return 1, graphqlPointsPerMinute
	}
	switch c.r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return 1, restPointsPerMinute
	}
	return 5, restPointsPerMinute
}

// pointWindow holds the points spent on one endpoint in the last minute.
type pointWindow struct {
	at  []time.Time
	pts []int
	sum int
}

// wait drops points older than a minute and says how long a request of
// cost must wait to fit under limit (0: it fits now).
func (p *pointWindow) wait(now time.Time, cost, limit int) time.Duration {
	i := 0
	for i < len(p.at) && now.Sub(p.at[i]) >= time.Minute {
		p.sum -= p.pts[i]
		i++
	}
	p.at, p.pts = p.at[i:], p.pts[i:]
	if p.sum+cost <= limit {
		return 0
	}
	need, freed := p.sum+cost-limit, 0
	for j := range p.at {
		freed += p.pts[j]
		if freed >= need {
			return p.at[j].Add(time.Minute).Sub(now)
		}
	}
	return time.Minute
}

func (p *pointWindow) add(now time.Time, cost int) {
	p.at = append(p.at, now)
	p.pts = append(p.pts, cost)
	p.sum += cost
}

// contentWait drops content-creating requests older than an hour and says
// how long the next one must wait (0: it may go now).
func (in *installation) contentWait(now time.Time) time.Duration {
	kept := in.content[:0]
	for _, t := range in.content {
		if now.Sub(t) < time.Hour {
			kept = append(kept, t)
		}
	}
	in.content = kept
	n, lastMinute := len(kept), 0
	for _, t := range kept {
		if now.Sub(t) < time.Minute {
			lastMinute++
		}
	}
	switch {
	case n >= contentPerHour:
		return kept[n-contentPerHour].Add(time.Hour).Sub(now)
	case lastMinute >= contentPerMinute:
		return kept[n-contentPerMinute].Add(time.Minute).Sub(now)
	}
	return 0
}

// enterSecondary admits a request under the secondary limits (concurrency,
// content creation, points per endpoint), or answers like GitHub's secondary
// rate limit: 403 with retry-after. A nil answer must be paired with
// leaveSecondary. The request is counted in flight from here until it is
// answered, so the emulator's latency and delay faults count, as a slow
// GitHub's would.
func (s *Server) enterSecondary(c *reqCtx) *resp {
	in := c.id.tok.inst
	content := c.route.write && c.r.Method == http.MethodPost
	cost, limit := secondaryPoints(c)
	s.statsMu.Lock()
	retry := time.Duration(0)
	if in.inFlight >= maxConcurrent {
		retry = time.Second
	}
	if retry == 0 && content {
		retry = in.contentWait(c.now)
	}
	if in.points == nil {
		in.points = map[string]*pointWindow{}
	}
	pw := in.points[c.route.key]
	if pw == nil {
		pw = &pointWindow{}
		in.points[c.route.key] = pw
	}
	if retry == 0 {
		retry = pw.wait(c.now, cost, limit)
	}
	if retry == 0 {
		in.inFlight++
		pw.add(c.now, cost)
		if content {
			in.content = append(in.content, c.now)
		}
	}
	s.statsMu.Unlock()
	if retry == 0 {
		return nil
	}
	secs := int((retry + time.Second - 1) / time.Second)
	r := s.faultResp(c, &Fault{Secondary: true, Status: http.StatusForbidden, RetryAfter: max(secs, 1)})
	return &r
}

func (s *Server) leaveSecondary(c *reqCtx) {
	s.statsMu.Lock()
	c.id.tok.inst.inFlight--
	s.statsMu.Unlock()
}
