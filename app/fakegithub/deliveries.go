package fakegithub

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// GitHub keeps an app's webhook deliveries for 3 days (docs/github.md); the
// emulator also keeps at most maxAttempts, so that its memory stays bounded.
const (
	deliveryRetention = 72 * time.Hour
	maxAttempts       = 10000
	// maxResponseKept bounds the response body kept of each attempt.
	maxResponseKept = 64 << 10
)

// attempt is one webhook delivery attempt, as GET /app/hook/deliveries
// shows it to the app it was for. Guarded by Server.hookMu.
type attempt struct {
	id             int64
	app            *appInfo
	guid           string
	event, action  string
	at             time.Time
	redelivery     bool
	duration       time.Duration
	status         string
	statusCode     int
	instID, repoID int64
	url            string
	reqHeaders     http.Header
	body           []byte
	resHeaders     http.Header
	resBody        string
}

// record stores an attempt (numbering it) and its entry of the
// /_fake/deliveries log, dropping attempts older than GitHub keeps them.
func (s *Server) record(a *attempt, err error) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.nextAttempt++
	a.id = s.nextAttempt
	s.pruneAttempts(a.at)
	s.attempts = append(s.attempts, a)
	if len(s.attempts) > maxAttempts {
		s.attempts = append([]*attempt(nil), s.attempts[len(s.attempts)-maxAttempts:]...)
	}
	d := Delivery{ID: a.guid, AttemptID: a.id, AppID: a.app.id, Redelivery: a.redelivery, Event: a.event, Action: a.action, URL: a.url,
		StatusCode: a.statusCode, At: a.at, Payload: a.body}
	if err != nil {
		d.Error = err.Error()
	}
	s.deliveries = append(s.deliveries, d)
	if len(s.deliveries) > maxDeliveries {
		s.deliveries = append([]Delivery(nil), s.deliveries[len(s.deliveries)-maxDeliveries:]...)
	}
}

// pruneAttempts drops the attempts older than the retention; hookMu held.
func (s *Server) pruneAttempts(now time.Time) {
	i := 0
	for i < len(s.attempts) && now.Sub(s.attempts[i].at) >= deliveryRetention {
		i++
	}
	if i > 0 {
		s.attempts = append([]*attempt(nil), s.attempts[i:]...)
	}
}

// SetAppDown takes the scenario app down (true) or up again without
// changing its webhook URL. While it is down, every delivery attempt to
// that URL's server (scheme and host:port) fails the way one to a closed
// port does, whichever app it is for (a manifest app whose
// hook_attributes.url is on the same server is down with it): GitHub records "failed to connect to host" with no status code, and
// the event's delivery error says so. A manifest app with its own hook URL
// is down when that URL refuses connections. With no webhook URL at all
// (SetWebhookURL(""), or a manifest without an active hook), nothing is
// attempted or recorded, as for an app whose webhook is inactive.
func (s *Server) SetAppDown(down bool) {
	s.hookMu.Lock()
	s.appDown = down
	s.hookMu.Unlock()
}

type hookDeliveryItemJSON struct {
	ID             int64   `json:"id"`
	GUID           string  `json:"guid"`
	DeliveredAt    string  `json:"delivered_at"`
	Redelivery     bool    `json:"redelivery"`
	Duration       float64 `json:"duration"`
	Status         string  `json:"status"`
	StatusCode     int     `json:"status_code"`
	Event          string  `json:"event"`
	Action         *string `json:"action"`
	InstallationID *int64  `json:"installation_id"`
	RepositoryID   *int64  `json:"repository_id"`
	ThrottledAt    *string `json:"throttled_at"`
}

type hookDeliveryJSON struct {
	hookDeliveryItemJSON
	URL     string `json:"url"`
	Request struct {
		Headers map[string]string `json:"headers"`
		Payload json.RawMessage   `json:"payload"`
	} `json:"request"`
	Response struct {
		Headers map[string]string `json:"headers"`
		Payload *string           `json:"payload"`
	} `json:"response"`
}

func idp(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func (a *attempt) itemJSON() hookDeliveryItemJSON {
	return hookDeliveryItemJSON{ID: a.id, GUID: a.guid, DeliveredAt: ts(a.at), Redelivery: a.redelivery,
		Duration: a.duration.Seconds(), Status: a.status, StatusCode: a.statusCode, Event: a.event, Action: strp(a.action),
		InstallationID: idp(a.instID), RepositoryID: idp(a.repoID)}
}

func flatHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

// deliveryCursor is the opaque cursor of GET /app/hook/deliveries: the id
// of the first attempt of the next page.
func deliveryCursor(id int64) string { return "v1_" + strconv.FormatInt(id, 10) }

// hListHookDeliveries lists the JWT's app's delivery attempts of the last 3
// days (each app sees only its own), newest first, per_page ≤ 100 (default
// 30), status=success|failure, with GitHub's cursor pagination: the Link
// header's rel="next" carries cursor=.
func hListHookDeliveries(c *reqCtx) resp {
	per, err := strconv.Atoi(c.query.Get("per_page"))
	if c.query.Get("per_page") == "" {
		per, err = 30, nil
	}
	if err != nil || per < 1 {
		return c.invalid("HookDelivery", "per_page", "invalid", "")
	}
	per = min(per, 100)
	after := int64(-1)
	if cur := c.query.Get("cursor"); cur != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(cur, "v1_"), 10, 64)
		if err != nil || !strings.HasPrefix(cur, "v1_") {
			return c.errResp(http.StatusBadRequest, "Invalid cursor")
		}
		after = n
	}
	filter := c.query.Get("status")
	if filter != "" && filter != "success" && filter != "failure" {
		return c.invalid("HookDelivery", "status", "invalid", "")
	}
	s := c.s
	s.hookMu.Lock()
	s.pruneAttempts(c.now)
	var list []*attempt
	for i := len(s.attempts) - 1; i >= 0; i-- {
		a := s.attempts[i]
		// As GitHub classifies them: success 200-399, failure 400-599 (an
		// attempt without an answer is neither).
		success := a.statusCode >= 200 && a.statusCode < 400
		failure := a.statusCode >= 400 && a.statusCode < 600
		if a.app != c.id.app || (after >= 0 && a.id > after) || (filter == "success" && !success) || (filter == "failure" && !failure) {
			continue
		}
		list = append(list, a)
	}
	s.hookMu.Unlock()
	out := []hookDeliveryItemJSON{}
	for i, a := range list {
		if i == per {
			q := url.Values{}
			for k, v := range c.query {
				q[k] = v
			}
			q.Set("per_page", strconv.Itoa(per))
			q.Set("cursor", deliveryCursor(a.id))
			c.link = `<` + c.base + `/app/hook/deliveries?` + q.Encode() + `>; rel="next"`
			break
		}
		out = append(out, a.itemJSON())
	}
	return ok(out)
}

// attemptParam is the JWT's app's attempt the path names (another app's is
// not found, as on GitHub).
func (c *reqCtx) attemptParam() *attempt {
	id := c.idParam("delivery_id")
	s := c.s
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.pruneAttempts(c.now)
	for _, a := range s.attempts {
		if a.id == id && a.app == c.id.app {
			return a
		}
	}
	return nil
}

// hGetHookDelivery is one attempt with its request and response.
func hGetHookDelivery(c *reqCtx) resp {
	a := c.attemptParam()
	if a == nil {
		return c.notFound()
	}
	out := hookDeliveryJSON{hookDeliveryItemJSON: a.itemJSON(), URL: a.url}
	out.Request.Headers, out.Request.Payload = flatHeaders(a.reqHeaders), a.body
	if a.resHeaders != nil {
		out.Response.Headers = flatHeaders(a.resHeaders)
		out.Response.Payload = &a.resBody
	}
	return ok(out)
}

// hRedeliverHookDelivery re-sends an attempt's payload with the same
// X-GitHub-Delivery to its app's webhook URL of the moment, signed with the
// app's secret (answered 202 at once; the attempt follows, recorded with
// redelivery: true; Server.WaitWebhooks waits for it).
func hRedeliverHookDelivery(c *reqCtx) resp {
	a := c.attemptParam()
	if a == nil {
		return c.notFound()
	}
	c.hook = &hook{app: a.app, event: a.event, action: a.action, installed: true, instID: a.instID, repoID: a.repoID,
		redelivery: true, guid: a.guid, body: a.body}
	return resp{status: http.StatusAccepted, body: struct{}{}}
}
