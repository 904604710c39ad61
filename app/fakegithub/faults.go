package fakegithub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// holdState is what the requests held by one Fault share: how many arrived,
// how many still wait, and the channels a test waits on. Its counters are
// guarded by Server.statsMu.
type holdState struct {
	route    string
	total    int
	arrivedN int
	waiting  int
	arrived  chan struct{} // closed once total requests have arrived
	release  chan struct{} // closed by release
	released bool
}

// Held is a hold on a route (Server.Hold): the matching request waits, its
// answer not yet computed, until Release.
type Held struct {
	s *Server
	h *holdState
}

// Arrived is closed once the held request (every one of them, for a fault
// with a Count) has arrived and waits.
func (h *Held) Arrived() <-chan struct{} { return h.h.arrived }

// Release lets the held requests go on: each is then answered from the
// state at that moment. Requests that match the hold later pass at once.
func (h *Held) Release() { h.s.releaseHold(h.h) }

// Hold holds the next request to route ("METHOD /template"; "" = any API
// route) until Release. A test changes state while the request is in flight
// and releases it, without sleeping.
func (s *Server) Hold(route string) *Held {
	return &Held{s: s, h: s.addFault(Fault{Route: route, Hold: true})}
}

type faultAlias Fault

// faultJSON is Fault with its delay as a Go duration string ("2s").
type faultJSON struct {
	faultAlias
	Delay string `json:"delay,omitempty"`
}

// UnmarshalJSON reads "delay" as a duration ("2s", "150ms").
func (f *Fault) UnmarshalJSON(data []byte) error {
	var aux faultJSON
	if err := strictJSON(data, &aux); err != nil {
		return err
	}
	*f = Fault(aux.faultAlias)
	if aux.Delay != "" {
		d, err := time.ParseDuration(aux.Delay)
		if err != nil || d < 0 {
			return fmt.Errorf("delay: %q is not a duration like 2s", aux.Delay)
		}
		f.Delay = d
	}
	return nil
}

// MarshalJSON writes the delay as a duration string.
func (f Fault) MarshalJSON() ([]byte, error) {
	aux := faultJSON{faultAlias: faultAlias(f)}
	if f.Delay > 0 {
		aux.Delay = f.Delay.String()
	}
	return json.Marshal(aux)
}

// addFault queues a fault and returns its hold, if it holds.
func (s *Server) addFault(f Fault) *holdState {
	if f.Count <= 0 {
		f.Count = 1
	}
	if f.Status == 0 {
		switch {
		case f.Secondary:
			f.Status = http.StatusForbidden
		case f.Delay == 0 && !f.Hold:
			f.Status = http.StatusBadGateway
		}
	}
	if f.Secondary && f.RetryAfter <= 0 {
		f.RetryAfter = 60
	}
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if f.Hold {
		f.hold = &holdState{route: f.Route, total: f.Count, arrived: make(chan struct{}), release: make(chan struct{})}
		s.holds = append(s.holds, f.hold)
	}
	s.faults = append(s.faults, &f)
	return f.hold
}

// awaitFault keeps a request that a delay or hold fault matched until the
// delay is over, the hold is released, or the client is gone.
func (s *Server) awaitFault(ctx context.Context, f *Fault) {
	var timeout <-chan time.Time
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		timeout = t.C
	}
	var release <-chan struct{}
	if h := f.hold; h != nil {
		s.statsMu.Lock()
		h.arrivedN++
		h.waiting++
		if h.arrivedN == h.total {
			close(h.arrived)
		}
		s.statsMu.Unlock()
		defer func() {
			s.statsMu.Lock()
			h.waiting--
			s.statsMu.Unlock()
		}()
		release = h.release
	}
	if timeout == nil && release == nil {
		return
	}
	select {
	case <-timeout:
	case <-release:
	case <-ctx.Done():
	}
}

func (s *Server) releaseHold(h *holdState) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.releaseLocked(h)
}

func (s *Server) releaseLocked(h *holdState) {
	if !h.released {
		h.released = true
		close(h.release)
	}
	kept := s.holds[:0]
	for _, o := range s.holds {
		if o != h {
			kept = append(kept, o)
		}
	}
	s.holds = kept
}

// releaseHolds releases every hold on route ("" = all) and says how many.
func (s *Server) releaseHolds(route string) int {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	n := 0
	for _, h := range append([]*holdState(nil), s.holds...) {
		if route == "" || h.route == route {
			s.releaseLocked(h)
			n++
		}
	}
	return n
}

// HoldStatus is a hold in GET /_fake/faults.
type HoldStatus struct {
	Route   string `json:"route"`
	Count   int    `json:"count"`
	Arrived int    `json:"arrived"`
	Waiting int    `json:"waiting"`
}

// FaultsStatus is what GET /_fake/faults answers: the queued faults and
// the holds not yet released.
type FaultsStatus struct {
	Faults []Fault      `json:"faults"`
	Holds  []HoldStatus `json:"holds"`
}

// Faults lists the queued faults and the unreleased holds.
func (s *Server) Faults() FaultsStatus {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := FaultsStatus{Faults: []Fault{}, Holds: []HoldStatus{}}
	for _, f := range s.faults {
		out.Faults = append(out.Faults, *f)
	}
	for _, h := range s.holds {
		out.Holds = append(out.Holds, HoldStatus{Route: h.route, Count: h.total, Arrived: h.arrivedN, Waiting: h.waiting})
	}
	return out
}

func (s *Server) handleListFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

// holdRequest is the body of POST /_fake/faults/release and /wait.
type holdRequest struct {
	Route   string `json:"route"`
	Timeout string `json:"timeout"`
}

func readHoldRequest(w http.ResponseWriter, r *http.Request) (holdRequest, bool) {
	var req holdRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && err.Error() != "EOF" {
		adminError(w, http.StatusBadRequest, "invalid request: "+err.Error())
		return req, false
	}
	return req, true
}

// handleReleaseFaults releases the holds on a route (every hold without one).
func (s *Server) handleReleaseFaults(w http.ResponseWriter, r *http.Request) {
	req, ok := readHoldRequest(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"released": s.releaseHolds(req.Route)})
}

// maxHoldWait bounds how long POST /_fake/faults/wait waits.
const maxHoldWait = time.Minute

// handleWaitFaults waits until every request of a hold on the route has
// arrived: 200 {"arrived": N}; 408 when the timeout (default 10s) passes
// first; 404 when no hold on that route is pending.
func (s *Server) handleWaitFaults(w http.ResponseWriter, r *http.Request) {
	req, ok := readHoldRequest(w, r)
	if !ok {
		return
	}
	timeout := 10 * time.Second
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 || d > maxHoldWait {
			adminError(w, http.StatusUnprocessableEntity, "timeout: want a duration up to "+maxHoldWait.String())
			return
		}
		timeout = d
	}
	s.statsMu.Lock()
	var h *holdState
	for _, o := range s.holds {
		if o.route == req.Route {
			h = o
			break
		}
	}
	s.statsMu.Unlock()
	if h == nil {
		adminError(w, http.StatusNotFound, "no hold on route "+strconv.Quote(req.Route))
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-h.arrived:
		s.statsMu.Lock()
		n := h.arrivedN
		s.statsMu.Unlock()
		writeJSON(w, http.StatusOK, map[string]int{"arrived": n})
	case <-t.C:
		adminError(w, http.StatusRequestTimeout, "the held request has not arrived within "+timeout.String())
	case <-r.Context().Done():
	}
}

// strictJSON decodes data into v, rejecting unknown keys.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
