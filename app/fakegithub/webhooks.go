package fakegithub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Delivery is one webhook delivery attempt the emulator made, to any app
// (GET /_fake/deliveries lists the most recent ones). ID is the
// X-GitHub-Delivery guid, the same for a redelivery; AttemptID is the
// attempt's numeric id in GET /app/hook/deliveries of the app AppID.
type Delivery struct {
	ID         string          `json:"id"`
	AttemptID  int64           `json:"attempt_id"`
	AppID      int64           `json:"app_id"`
	Redelivery bool            `json:"redelivery"`
	Event      string          `json:"event"`
	Action     string          `json:"action,omitempty"`
	URL        string          `json:"url"`
	StatusCode int             `json:"status_code"`
	Error      string          `json:"error,omitempty"`
	At         time.Time       `json:"delivered_at"`
	Payload    json.RawMessage `json:"payload"`
}

// maxDeliveries bounds the delivery log.
const maxDeliveries = 100

// webhookTimeout is how long GitHub waits for a webhook answer.
const webhookTimeout = 10 * time.Second

// SignPayload returns the X-Hub-Signature-256 value GitHub sends with a
// body: "sha256=" and the hex HMAC-SHA256 of the body with the secret.
func SignPayload(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func signSHA1(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// subscribed reports whether an app receives an event; GitHub always sends
// installation events to the app.
func subscribed(a *appInfo, event string) bool {
	if event == "installation" || event == "installation_repositories" {
		return true
	}
	for _, e := range a.events {
		if e == event {
			return true
		}
	}
	return false
}

// hookTarget is where an app's webhooks go and how they are signed: the
// scenario app's go to the server's webhook URL (SetWebhookURL) with its
// secret, a manifest app's to its hook_attributes.url with the secret its
// conversion returned.
type hookTarget struct {
	app    *appInfo
	url    string
	secret string
	// down: the attempt fails as a refused connection (SetAppDown).
	down bool
}

// hookTarget is the target of h (the scenario app's when h.app is nil).
// "The app is down" is its server's: every delivery to the scenario app's
// webhook server fails while it is, whichever app it is for.
func (s *Server) hookTarget(h *hook) hookTarget {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	t := hookTarget{app: s.w.app, url: s.webhookURL, secret: s.secret}
	if h.app != nil && h.app != s.w.app {
		t = hookTarget{app: h.app, url: h.app.reg.hookURL, secret: h.app.reg.webhookSecret}
	}
	t.down = s.appDown && sameServer(t.url, s.webhookURL)
	return t
}

// sameServer reports whether two webhook URLs reach the same server (scheme
// and host:port; the path does not matter to a server that is down).
func sameServer(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	return errA == nil && errB == nil && ua.Host != "" && strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host)
}

// deliver sends a webhook, outside the world lock, records the attempt,
// then sends the webhooks that follow it (h.then).
func (s *Server) deliver(ctx context.Context, res *EventResult, h *hook) error {
	err := s.deliverOne(ctx, res, h)
	for _, next := range h.then {
		fr := &EventResult{Event: next.event, Action: next.action}
		if ferr := s.deliverOne(ctx, fr, next); ferr != nil && err == nil {
			err = ferr
		}
		res.Followups = append(res.Followups, fr)
	}
	return err
}

// deliverOne makes one delivery attempt of h to the app it is for, at that
// app's webhook URL, signed with its secret, and records it among the app's
// deliveries.
func (s *Server) deliverOne(ctx context.Context, res *EventResult, h *hook) error {
	t := s.hookTarget(h)
	switch {
	case t.url == "":
		res.Skipped = errNoWebhookURL.Error()
		return nil
	case h.redelivery:
		// A redelivery re-sends what was sent, whatever changed since.
	case h.skip != "":
		res.Skipped = h.skip
		return nil
	case !h.installed:
		res.Skipped = "the repository is not in an installation of the app"
		return nil
	case !subscribed(t.app, h.event):
		res.Skipped = "the app does not subscribe to " + h.event + " events"
		return nil
	}
	body := h.body
	if body == nil {
		var err error
		if body, err = json.Marshal(h.payload); err != nil {
			return fmt.Errorf("failed to encode the %s payload: %w", h.event, err)
		}
	}
	guid := h.guid
	if guid == "" {
		guid = newGUID()
	}
	a := &attempt{app: t.app, guid: guid, event: h.event, action: h.action, at: s.now(), redelivery: h.redelivery,
		instID: h.instID, repoID: h.repoID, url: t.url, body: body}
	res.Delivery = guid
	start := time.Now()
	err := s.post(ctx, t, a)
	a.duration = time.Since(start)
	res.StatusCode = a.statusCode
	res.Delivered = err == nil
	s.record(a, err)
	s.statsMu.Lock()
	if err == nil {
		s.stats.delivered++
	} else {
		s.stats.failed++
	}
	s.statsMu.Unlock()
	return err
}

// post makes one delivery attempt and fills in what GitHub records of it:
// the request and response headers, the response body, the status code and
// GitHub's status text ("OK", "Invalid HTTP Response: 503", "failed to
// connect to host"). While the target is down (SetAppDown), the attempt
// fails as a refused connection does.
func (s *Server) post(ctx context.Context, t hookTarget, a *attempt) error {
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(a.body))
	if err != nil {
		a.status = "invalid URL"
		return fmt.Errorf("failed to deliver %s %s: %w", a.event, a.guid, err)
	}
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/fakegithub")
	req.Header.Set("X-GitHub-Event", a.event)
	req.Header.Set("X-GitHub-Delivery", a.guid)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	req.Header.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(t.app.id, 10))
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	// Signed afresh on every attempt, with the app's secret of the moment.
	req.Header.Set("X-Hub-Signature-256", SignPayload(t.secret, a.body))
	req.Header.Set("X-Hub-Signature", signSHA1(t.secret, a.body))
	a.reqHeaders = req.Header.Clone()
	if t.down {
		a.status = "failed to connect to host"
		return fmt.Errorf("failed to deliver %s %s: the app is down (connection refused)", a.event, a.guid)
	}
	res, err := s.hookClient.Do(req)
	if err != nil {
		a.status = "failed to connect to host"
		if errors.Is(err, context.DeadlineExceeded) {
			a.status = "timed out"
		}
		return fmt.Errorf("failed to deliver %s %s: %w", a.event, a.guid, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, maxResponseKept))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	a.statusCode, a.resHeaders, a.resBody = res.StatusCode, res.Header.Clone(), string(data)
	if res.StatusCode < 200 || res.StatusCode > 299 {
		a.status = "Invalid HTTP Response: " + strconv.Itoa(res.StatusCode)
		return fmt.Errorf("failed to deliver %s %s: the webhook answered %s", a.event, a.guid, res.Status)
	}
	a.status = "OK"
	return nil
}

// maxPendingWebhooks bounds the webhooks of API writes waiting to be sent;
// past it they are dropped (and counted as failed), as a receiver that cannot
// keep up loses deliveries on GitHub too.
const maxPendingWebhooks = 1000

// deliverAsync sends the webhook of an API write in the background, a few at
// a time; WaitWebhooks waits for them. The caller has already counted it in
// s.async.
func (s *Server) deliverAsync(h *hook) {
	if s.pending.Add(1) > maxPendingWebhooks {
		s.pending.Add(-1)
		s.statsMu.Lock()
		s.stats.failed++
		s.statsMu.Unlock()
		s.async.Done()
		return
	}
	go func() {
		defer s.async.Done()
		defer s.pending.Add(-1)
		s.hookSem <- struct{}{}
		defer func() { <-s.hookSem }()
		_ = s.deliver(context.Background(), &EventResult{Event: h.event, Action: h.action}, h)
	}()
}

// WaitWebhooks waits until the webhooks of API writes made so far are sent.
func (s *Server) WaitWebhooks() { s.async.Wait() }

// Deliveries returns the most recent webhook deliveries, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

func (s *Server) handleDeliveries(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Deliveries())
}

// handleEvents applies an event: 200 with the result, 422 for an invalid
// event (nothing changed), 502 when the webhook delivery failed (the state
// has changed).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	var ev Event
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&ev); err != nil {
		adminError(w, http.StatusBadRequest, "invalid event JSON: "+err.Error())
		return
	}
	res, err := s.Apply(r.Context(), ev)
	var ee *EventError
	switch {
	case errors.As(err, &ee):
		adminError(w, http.StatusUnprocessableEntity, err.Error())
	case err != nil:
		writeJSON(w, http.StatusBadGateway, struct {
			*EventResult
			Error string `json:"error"`
		}{res, err.Error()})
	default:
		writeJSON(w, http.StatusOK, res)
	}
}
