package serve

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/ghapi"
)

// toRedeliver picks, from the app's delivery attempts (any order), the
// deliveries to ask GitHub for again: those none of whose attempts was
// accepted and that were not redelivered already (by fix-status or by hand):
// each failed delivery is redelivered once. It returns the newest attempt of
// each, oldest delivery first.
func toRedeliver(attempts []ghapi.DeliveryAttempt) []ghapi.DeliveryAttempt {
	type state struct {
		newest      ghapi.DeliveryAttempt
		first       time.Time
		done, again bool
	}
	byGUID := map[string]*state{}
	var order []string
	for _, a := range attempts {
		st, ok := byGUID[a.GUID]
		if !ok {
			st = &state{newest: a, first: a.DeliveredAt}
			byGUID[a.GUID] = st
			order = append(order, a.GUID)
		}
		if a.DeliveredAt.After(st.newest.DeliveredAt) {
			st.newest = a
		}
		if a.DeliveredAt.Before(st.first) {
			st.first = a.DeliveredAt
		}
		st.done = st.done || a.OK()
		st.again = st.again || a.Redelivery
	}
	var todo []*state
	for _, g := range order {
		if st := byGUID[g]; !st.done && !st.again {
			todo = append(todo, st)
		}
	}
	// Oldest first: the events arrive again in the order they happened.
	sort.SliceStable(todo, func(i, j int) bool { return todo[i].first.Before(todo[j].first) })
	out := make([]ghapi.DeliveryAttempt, len(todo))
	for i, st := range todo {
		out[i] = st.newest
	}
	return out
}

// Recovery asks GitHub to redeliver the webhooks the app missed: GitHub
// never redelivers a failed delivery by itself.
type Recovery struct {
	mu sync.Mutex
	// checkpoint: deliveries older than it were looked at already.
	checkpoint time.Time
}

// checkpointOverlap looks a little before the last pass: a delivery may be
// recorded with a time just before the pass that listed the ones after it.
const checkpointOverlap = time.Minute

// Recover lists the deliveries since the last pass (at most within ago)
// and redelivers each failed one once; it returns how many it asked for.
func (s *Service) Recover(ctx context.Context, within time.Duration) (int, error) {
	if within <= 0 {
		return 0, nil
	}
	now := s.opts.Now()
	r := &s.recovery
	r.mu.Lock()
	defer r.mu.Unlock()
	since := now.Add(-within)
	if r.checkpoint.After(since) {
		since = r.checkpoint
	}
	attempts, err := ghapi.ListDeliveries(ctx, s.opts.Clients, since.Add(-checkpointOverlap))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range toRedeliver(attempts) {
		if err := ghapi.Redeliver(ctx, s.opts.Clients, a.ID); err != nil {
			s.opts.Metrics.Recovered(n)
			return n, err
		}
		zerolog.Ctx(ctx).Info().Str("delivery", a.GUID).Str("event", a.Event).Int("status", a.StatusCode).Msg("redelivery requested")
		n++
	}
	s.opts.Metrics.Recovered(n)
	r.checkpoint = now
	return n, nil
}
