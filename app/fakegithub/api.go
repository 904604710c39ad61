package fakegithub

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds request bodies (GitHub's own limits are far below this for
// the operations emulated here).
const maxBody = 1 << 20

const docsRoot = "https://docs.github.com/rest"

// reqCtx is one API request on its way through the pipeline.
type reqCtx struct {
	s      *Server
	w      *world
	r      *http.Request
	route  *route
	params map[string]string
	query  url.Values
	base   string
	id     *identity
	repo   *repo
	body   []byte
	now    time.Time
	link   string
	header http.Header
	// hook is the webhook an API write causes (sent when
	// Options.WebhooksForAPIWrites is set).
	hook *hook
}

// apiWriteHook prepares the webhook GitHub sends after an API write; the
// sender is the app's bot user. payload is only built when such webhooks
// are on.
func (c *reqCtx) apiWriteHook(event, action string, payload func() map[string]any) {
	if !c.s.opts.WebhooksForAPIWrites {
		return
	}
	c.hook = c.w.finishHook(c.base, c.repo, event, action, c.actor(), payload())
}

// resp is what a handler answers: a status and a JSON body (or raw bytes).
type resp struct {
	status      int
	body        any
	raw         []byte
	contentType string // of raw; "" = JSON
}

func ok(v any) resp      { return resp{status: http.StatusOK, body: v} }
func created(v any) resp { return resp{status: http.StatusCreated, body: v} }

func (c *reqCtx) errResp(status int, msg string) resp {
	return resp{status: status, body: errorJSON{Message: msg, DocumentationURL: c.route.docs, Status: strconv.Itoa(status)}}
}

func (c *reqCtx) notFound() resp { return c.errResp(http.StatusNotFound, "Not Found") }

// invalid answers 422 the way GitHub reports a failed validation.
func (c *reqCtx) invalid(resource, field, code, msg string) resp {
	e := map[string]any{"resource": resource, "field": field, "code": code}
	if msg != "" {
		e["message"] = msg
	}
	return resp{status: http.StatusUnprocessableEntity, body: errorJSON{
		Message: "Validation Failed", Errors: []map[string]any{e}, DocumentationURL: c.route.docs, Status: "422"}}
}

// unprocessable answers 422 with only a message.
func (c *reqCtx) unprocessable(msg string) resp {
	return resp{status: http.StatusUnprocessableEntity, body: errorJSON{Message: msg, DocumentationURL: c.route.docs, Status: "422"}}
}

// idParam is a numeric path parameter, or 0 (which no object has as id or
// number) when it is not a number.
func (c *reqCtx) idParam(name string) int64 {
	id, err := strconv.ParseInt(c.params[name], 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// decode parses the JSON request body; GitHub answers 400 "Problems parsing
// JSON" to a malformed one.
func (c *reqCtx) decode(v any) *resp {
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		// Well-formed JSON of the wrong type is a 422 on GitHub.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			r := c.unprocessable(fmt.Sprintf("Invalid request.\n\nFor 'properties/%s', a %s is not %s.",
				te.Field, te.Value, jsonKind(te.Type.Kind().String())))
			return &r
		}
		r := c.errResp(http.StatusBadRequest, "Problems parsing JSON")
		return &r
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

// paginate picks the page of n items the request asks for (per_page default
// 30, at most max) and sets the Link header. It returns the slice bounds.
func (c *reqCtx) paginate(n, max int) (int, int) {
	if max <= 0 {
		max = 100
	}
	per, err := strconv.Atoi(c.query.Get("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	if per > max {
		per = max
	}
	page, err := strconv.Atoi(c.query.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	last := (n + per - 1) / per
	if last < 1 {
		last = 1
	}
	if page > last+1 {
		page = last + 1 // past the end: empty, and no overflow below
	}
	var links []string
	mk := func(p int, rel string) {
		q := url.Values{}
		for k, v := range c.query {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(p))
		if c.query.Get("per_page") != "" {
			q.Set("per_page", strconv.Itoa(per))
		}
		links = append(links, fmt.Sprintf(`<%s%s?%s>; rel="%s"`, c.base, c.r.URL.EscapedPath(), q.Encode(), rel))
	}
	if page > 1 {
		mk(min(page-1, last), "prev")
	}
	if page < last {
		mk(page+1, "next")
		mk(last, "last")
	}
	if page > 1 {
		mk(1, "first")
	}
	c.link = strings.Join(links, ", ")
	lo := (page - 1) * per
	if lo > n {
		lo = n
	}
	hi := lo + per
	if hi > n {
		hi = n
	}
	return lo, hi
}

// serveAPI is the pipeline every GitHub API request goes through: routing,
// stats, authentication, secondary limits, latency and faults, rate limit,
// permissions, the handler, then ETag/304 and the headers GitHub sends.
func (s *Server) serveAPI(hw http.ResponseWriter, r *http.Request) {
	c := &reqCtx{s: s, r: r, query: r.URL.Query(), base: s.baseURL(r), now: s.now(), header: http.Header{}}
	// fail answers before the handler runs, after the latency every answer has.
	fail := func(out resp, b *budget) {
		s.sleep(r.Context())
		s.write(hw, c, out, b)
	}
	// Answers before authentication show the caller's unauthenticated budget
	// (not charged), as GitHub's do.
	anon := func() *budget {
		return (&reqCtx{s: s, id: &identity{kind: idAnonymous, addr: clientAddr(r)}}).budgetFor()
	}
	rt, params := matchRoute(r.Method, r.URL.EscapedPath())
	if rt == nil {
		s.count("", 0)
		c.route = &route{docs: docsRoot}
		fail(c.notFound(), anon())
		return
	}
	c.route, c.params = rt, params
	s.count(rt.key, 0)

	id, bad := s.authenticate(c)
	if bad != nil {
		fail(*bad, anon())
		return
	}
	c.id = id
	s.countApp(c, false)
	b := c.budgetFor()
	if bad := c.checkAuthKind(); bad != nil {
		fail(*bad, b)
		return
	}
	if s.opts.Scenario.SecondaryLimits && c.id.kind == idInstallation && rt.charged {
		if bad := s.enterSecondary(c); bad != nil {
			fail(*bad, b)
			return
		}
		defer s.leaveSecondary(c)
	}
	s.sleep(r.Context())
	if f := s.takeFault(rt.key); f != nil {
		s.awaitFault(r.Context(), f)
		// The answer is computed now, from the state after the wait.
		c.now = s.now()
		if f.Status != 0 {
			s.write(hw, c, s.faultResp(c, f), b)
			return
		}
	}
	conditional := r.Method == http.MethodGet && r.Header.Get("If-None-Match") != ""
	if b != nil && rt.charged && !conditional && s.exhausted(b, c.now) {
		s.write(hw, c, s.rateLimited(c), b)
		return
	}
	if r.Method != http.MethodGet {
		if bad := c.readBody(hw); bad != nil {
			s.write(hw, c, *bad, b)
			return
		}
	}

	var out resp
	if rt.write {
		s.mu.Lock()
		c.w = s.w
		out = c.dispatch()
		afterWrite := s.settleAfterWrite(c, out)
		// Counted with the state changed, under the same lock: whoever
		// sees the write in the state sees it in the counters too.
		if rt.auth == authToken && (out.status == http.StatusCreated || out.status == http.StatusAccepted ||
			out.status == http.StatusNoContent || (out.status == http.StatusOK && r.Method == http.MethodPatch)) {
			s.count(rt.key, 1)
			s.countApp(c, true)
		}
		s.mu.Unlock()
		defer afterWrite()
	} else {
		s.mu.RLock()
		c.w = s.w
		out = c.dispatch()
		s.mu.RUnlock()
	}

	body, etag := s.render(c, out)
	if conditional && out.status == http.StatusOK && etagMatch(r.Header.Get("If-None-Match"), etag) {
		// A 304 is free: not charged against the rate limit.
		s.statsMu.Lock()
		s.stats.notModified++
		s.statsMu.Unlock()
		c.header.Set("ETag", etag)
		s.writeRaw(hw, c, http.StatusNotModified, nil, "", b)
		return
	}
	if b != nil && rt.charged && conditional && s.exhausted(b, c.now) {
		s.write(hw, c, s.rateLimited(c), b)
		return
	}
	if b != nil && rt.charged {
		s.charge(c, b)
	}
	if etag != "" && out.status == http.StatusOK && r.Method == http.MethodGet {
		c.header.Set("ETag", etag)
		c.header.Set("Cache-Control", "private, max-age=60, s-maxage=60")
	}
	if c.link != "" {
		c.header.Set("Link", c.link)
	}
	sendHook := c.hook != nil && out.status < 300
	if sendHook {
		// Counted before the response is written: a client that calls
		// WaitWebhooks once it has the response must find it counted.
		s.async.Add(1)
	}
	s.writeRaw(hw, c, out.status, body, out.contentType, b)
	if sendHook {
		s.deliverAsync(c.hook)
	}
}

// readBody reads the request body (at most maxBody bytes) into c.body, or
// returns GitHub's answer to one it cannot read.
func (c *reqCtx) readBody(hw http.ResponseWriter) *resp {
	body, err := io.ReadAll(http.MaxBytesReader(hw, c.r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			r := c.errResp(http.StatusRequestEntityTooLarge, "Payload too large")
			return &r
		}
		r := c.errResp(http.StatusBadRequest, "Problems parsing JSON")
		return &r
	}
	c.body = body
	return nil
}

// dispatch resolves the repository, checks access and permission, and runs
// the handler. It runs under the world lock.
func (c *reqCtx) dispatch() resp {
	if len(c.route.perms) > 0 {
		// GitHub names what the endpoint needs on every answer.
		c.header.Set("X-Accepted-GitHub-Permissions", acceptedPermissions(c.route.perms))
	}
	if owner, ok := c.params["owner"]; ok {
		rp := c.w.repo(owner + "/" + c.params["repo"])
		if rp == nil || !c.canSee(rp) {
			return c.notFound()
		}
		c.repo = rp
		if fail := c.checkPermission(); fail != nil {
			return *fail
		}
	}
	return c.route.h(c)
}

func (s *Server) render(c *reqCtx, out resp) ([]byte, string) {
	body := out.raw
	if out.body != nil {
		var err error
		body, err = json.Marshal(out.body)
		if err != nil {
			body = []byte(`{"message":"Server Error"}`)
		}
	}
	if c.r.Method != http.MethodGet || out.status != http.StatusOK {
		return body, ""
	}
	h := sha256.New()
	h.Write([]byte(c.r.Header.Get("Accept")))
	h.Write(body)
	return body, `W/"` + hex.EncodeToString(h.Sum(nil)) + `"`
}

func etagMatch(header, etag string) bool {
	if etag == "" {
		return false
	}
	weak := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == weak {
			return true
		}
	}
	return false
}

func (s *Server) write(hw http.ResponseWriter, c *reqCtx, out resp, b *budget) {
	body, _ := s.render(c, out)
	s.writeRaw(hw, c, out.status, body, out.contentType, b)
}

// writeRaw sends an answer; a body without a content type is JSON.
func (s *Server) writeRaw(hw http.ResponseWriter, c *reqCtx, status int, body []byte, contentType string, b *budget) {
	h := hw.Header()
	for k, v := range c.header {
		h[k] = v
	}
	if contentType == "" && body != nil {
		contentType = "application/json; charset=utf-8"
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("X-GitHub-Request-Id", requestID())
	h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
	h.Set("Server", "fakegithub")
	if b != nil {
		s.rateHeaders(h, b, c.now, "core")
	}
	if c.id != nil && c.id.tok != nil {
		h.Set("GitHub-Authentication-Token-Expiration", c.id.tok.expires.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	s.statsMu.Lock()
	s.stats.byStatus[status]++
	s.statsMu.Unlock()
	if body != nil {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	hw.WriteHeader(status)
	if body != nil {
		_, _ = hw.Write(body)
	}
}

func requestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:4]) + ":" + hex.EncodeToString(b[4:]))
}

// clientAddr is the request's remote IP (budgets for unauthenticated calls).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
