package fakegithub

import (
	"net/http"
	"strconv"
	"time"
)

// budget is an hourly request budget (GitHub's primary rate limit). Its
// fields are guarded by Server.statsMu.
type budget struct {
	limit int
	used  int
	reset time.Time
	// inst is the installation charged, if any (for the stats).
	inst int64
}

// roll starts a new window once the old one is over.
func (b *budget) roll(now time.Time) {
	if b.reset.IsZero() || !now.Before(b.reset) {
		b.used = 0
		b.reset = now.Add(time.Hour).Truncate(time.Second)
	}
}

const (
	rateLimitDocs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	secondaryDocs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	// anonymousLimit is GitHub's budget for unauthenticated requests.
	anonymousLimit = 60
	// appLimit is the budget of JWT-authenticated /app calls.
	appLimit   = 5000
	maxAnonIPs = 1024
)

// budgetFor picks the budget the request is charged to.
func (c *reqCtx) budgetFor() *budget {
	s := c.s
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	switch c.id.kind {
	case idInstallation:
		in := c.id.tok.inst
		in.budget.limit, in.budget.inst = in.rateLimit, in.id
		return &in.budget
	case idApp:
		if a := c.id.app; a != nil && a != s.w.app {
			a.reg.budget.limit = appLimit
			return &a.reg.budget
		}
		s.w.appBudget.limit = appLimit
		return &s.w.appBudget
	case idUser:
		return s.w.userBudget(c.id.user.login)
	default:
		b := s.w.anon[c.id.addr]
		if b == nil {
			if len(s.w.anon) >= maxAnonIPs {
				s.w.anon = map[string]*budget{}
			}
			b = &budget{limit: anonymousLimit}
			s.w.anon[c.id.addr] = b
		}
		return b
	}
}

func (s *Server) exhausted(b *budget, now time.Time) bool {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	b.roll(now)
	return b.used >= b.limit
}

func (s *Server) charge(c *reqCtx, b *budget) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	b.roll(c.now)
	b.used++
	if b.inst != 0 {
		s.stats.rateUsed[b.inst]++
	}
}

// rateHeaders sets the x-ratelimit-* headers of a budget; resource is
// "core" (REST) or "graphql".
func (s *Server) rateHeaders(h http.Header, b *budget, now time.Time, resource string) {
	s.statsMu.Lock()
	b.roll(now)
	limit, used, reset := b.limit, b.used, b.reset
	s.statsMu.Unlock()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(limit-used, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", resource)
}

// rateLimited is GitHub's answer once the budget is spent: 403 with
// x-ratelimit-remaining: 0, which go-github turns into *github.RateLimitError.
func (s *Server) rateLimited(c *reqCtx) resp {
	msg := "API rate limit exceeded for " + c.r.RemoteAddr + "."
	switch c.id.kind {
	case idInstallation:
		msg = "API rate limit exceeded for installation ID " + strconv.FormatInt(c.id.tok.inst.id, 10) + "."
	case idApp:
		msg = "API rate limit exceeded for app ID " + strconv.FormatInt(s.AppID(), 10) + "."
	case idAnonymous:
		msg = "API rate limit exceeded for " + c.id.addr + ". (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"
	}
	return resp{status: http.StatusForbidden, body: errorJSON{Message: msg, DocumentationURL: rateLimitDocs}}
}

// Fault makes the next Count requests to Route fail (POST /_fake/faults).
type Fault struct {
	// Route is "METHOD /openapi/template", e.g.
	// "POST /repos/{owner}/{repo}/statuses/{sha}"; empty matches every API route.
	Route string `json:"route"`
	// Status to answer (default 502, or 403 for a secondary limit).
	Status int `json:"status,omitempty"`
	// Count of requests to fail (default 1).
	Count int `json:"count,omitempty"`
	// Secondary answers like GitHub's secondary rate limit: 403 (or Status 429)
	// with retry-after, which go-github turns into *github.AbuseRateLimitError.
	Secondary bool `json:"secondary,omitempty"`
	// RetryAfter in seconds for a secondary limit (default 60).
	RetryAfter int `json:"retry_after,omitempty"`
	// Message overrides the error message.
	Message string `json:"message,omitempty"`
	// Delay keeps matching requests waiting that long (JSON: "2s"). Their
	// answer is computed after the delay, from the state at that moment:
	// the fault's Status if set, else the normal answer.
	Delay time.Duration `json:"-"`
	// Hold keeps matching requests waiting until released (Held.Release,
	// POST /_fake/faults/release) or, with a Delay, until it is over.
	Hold bool `json:"hold,omitempty"`
	hold *holdState
}

// Fault queues a fault (what POST /_fake/faults does). Without Status, a
// fault that neither delays nor holds answers 502.
func (s *Server) Fault(f Fault) { s.addFault(f) }

// ClearFaults drops every queued fault and releases every hold.
func (s *Server) ClearFaults() {
	s.statsMu.Lock()
	s.faults = nil
	s.statsMu.Unlock()
	s.releaseHolds("")
}

func (s *Server) takeFault(key string) *Fault {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	for i, f := range s.faults {
		if f.Route != "" && f.Route != key {
			continue
		}
		f.Count--
		if f.Count <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		cp := *f
		return &cp
	}
	return nil
}

func (s *Server) faultResp(c *reqCtx, f *Fault) resp {
	if f.Secondary {
		s.statsMu.Lock()
		s.stats.secondaryLimited++
		s.statsMu.Unlock()
		msg := f.Message
		if msg == "" {
			msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID " + requestID() + "."
		}
		c.header.Set("Retry-After", strconv.Itoa(f.RetryAfter))
		return resp{status: f.Status, body: errorJSON{Message: msg, DocumentationURL: secondaryDocs}}
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
		if msg == "" {
			msg = "Server Error"
		}
	}
	return resp{status: f.Status, body: errorJSON{Message: msg, DocumentationURL: c.route.docs}}
}
