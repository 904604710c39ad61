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
	"strconv"
	"time"
)

// Delivery is one webhook the emulator sent (GET /_fake/deliveries lists the
// most recent ones).
type Delivery struct {
	ID         string          `json:"id"`
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

// deliver sends a webhook, outside the world lock, and records it.
func (s *Server) deliver(ctx context.Context, res *EventResult, h *hook) error {
	t := s.hookTarget(h)
	url := t.url
	switch {
	case h.skip != "":
		res.Skipped = h.skip
		return nil
	case !h.installed:
		res.Skipped = "the repository is not in an installation of the app"
		return nil
	case !subscribed(t.app, h.event):
		res.Skipped = "the app does not subscribe to " + h.event + " events"
		return nil
	case url == "":
		res.Skipped = errNoWebhookURL.Error()
		return nil
	}
	body, err := json.Marshal(h.payload)
	if err != nil {
		return fmt.Errorf("failed to encode the %s payload: %w", h.event, err)
	}
	d := Delivery{ID: newGUID(), Event: h.event, Action: res.Action, URL: url, At: s.now(), Payload: body}
	res.Delivery = d.ID
	err = s.post(ctx, t, h.event, d.ID, body, &d)
	if err != nil {
		d.Error = err.Error()
	}
	res.StatusCode = d.StatusCode
	res.Delivered = err == nil
	s.hookMu.Lock()
	s.deliveries = append(s.deliveries, d)
	if len(s.deliveries) > maxDeliveries {
		s.deliveries = append([]Delivery(nil), s.deliveries[len(s.deliveries)-maxDeliveries:]...)
	}
	s.hookMu.Unlock()
	s.statsMu.Lock()
	if err == nil {
		s.stats.delivered++
	} else {
		s.stats.failed++
	}
	s.statsMu.Unlock()
	return err
}

func (s *Server) post(ctx context.Context, t hookTarget, event, id string, body []byte, d *Delivery) error {
	url := t.url
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("failed to deliver %s %s: %w", event, id, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/fakegithub")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	req.Header.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(t.app.id, 10))
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	req.Header.Set("X-Hub-Signature-256", SignPayload(t.secret, body))
	req.Header.Set("X-Hub-Signature", signSHA1(t.secret, body))
	res, err := s.hookClient.Do(req)
	if err != nil {
		return fmt.Errorf("failed to deliver %s %s: %w", event, id, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	d.StatusCode = res.StatusCode
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("failed to deliver %s %s: the webhook answered %s", event, id, res.Status)
	}
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
