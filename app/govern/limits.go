package govern

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Pacer paces the content-creating requests (statuses, check runs,
// comments, re-runs) of each installation under GitHub's secondary limits,
// which GitHub counts per app installation. The Governor's own is a
// LocalPacer; several replicas of serve share one backed by Redis, so that
// together they stay under the limits.
type Pacer interface {
	// Wait blocks until n more content-creating requests of the
	// installation may be sent (or ctx ends), and says how long it waited.
	Wait(ctx context.Context, installationID int64, n int) (waited time.Duration, err error)
}

// PacerOptions configure a LocalPacer.
type PacerOptions struct {
	// PerMinute and PerHour bound each installation's content-creating
	// requests in any minute and any hour (0: GitHub's 80 and 500).
	PerMinute, PerHour int
	// Now and Sleep are the clock (default: the wall clock).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// LocalPacer is the Pacer of one process, on token buckets per
// installation. Installations idle long enough to have their whole budget
// back are forgotten, so a long-running server keeps only the busy ones.
type LocalPacer struct {
	minute, hour *limiterSet[int64]
	now          func() time.Time
	sleep        func(ctx context.Context, d time.Duration) error
}

// NewLocalPacer builds a LocalPacer; zero options take the defaults.
func NewLocalPacer(o PacerOptions) *LocalPacer {
	if o.PerMinute <= 0 {
		o.PerMinute = DefaultWritesPerMinute
	}
	if o.PerHour <= 0 {
		o.PerHour = DefaultWritesPerHour
	}
	o.Now, o.Sleep = clockOrWall(o.Now, o.Sleep)
	return &LocalPacer{
		minute: newLimiterSet[int64](o.PerMinute, time.Minute, max(1, o.PerMinute/16)),
		hour:   newLimiterSet[int64](o.PerHour, time.Hour, max(1, min(o.PerMinute, o.PerHour/10))),
		now:    o.Now, sleep: o.Sleep,
	}
}

// Wait implements Pacer.
func (p *LocalPacer) Wait(ctx context.Context, inst int64, n int) (time.Duration, error) {
	now := p.now()
	m, err := p.minute.reserve(now, inst, n)
	if err != nil {
		return 0, err
	}
	h, err := p.hour.reserve(now, inst, n)
	if err != nil {
		m.CancelAt(now)
		return 0, err
	}
	return waitFor(ctx, now, p.sleep, m, h)
}

var _ Pacer = (*LocalPacer)(nil)

// limiterSet is one token bucket per key (an installation, an endpoint of
// an installation), each allowing at most n events in any window of length
// per. A bucket unused for longer than it takes to fill up again is the
// same as a new one, so it is dropped.
type limiterSet[K comparable] struct {
	limit rate.Limit
	burst int
	idle  time.Duration

	mu    sync.Mutex
	m     map[K]*limiterEntry
	swept time.Time
}

type limiterEntry struct {
	lim *rate.Limiter
	// last is when the latest reservation acts.
	last time.Time
}

// newLimiterSet bounds each key to n events in any window of length per: a
// bucket holds at most burst tokens and refills the other n-burst over the
// window, so a window can spend at most burst + (n-burst).
func newLimiterSet[K comparable](n int, per time.Duration, burst int) *limiterSet[K] {
	burst = max(1, min(burst, n))
	refill := n - burst
	if refill <= 0 {
		// A window smaller than the burst: refill one token per window.
		refill = 1
	}
	limit := rate.Limit(float64(refill) / per.Seconds())
	fill := time.Duration(float64(burst) / float64(limit) * float64(time.Second))
	return &limiterSet[K]{limit: limit, burst: burst, idle: max(per, fill), m: map[K]*limiterEntry{}}
}

// reserve takes n tokens of k's bucket at now; the reservation says when
// they may be used.
func (s *limiterSet[K]) reserve(now time.Time, k K, n int) (*rate.Reservation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.swept) >= s.idle {
		for key, e := range s.m {
			if now.Sub(e.last) > s.idle {
				delete(s.m, key)
			}
		}
		s.swept = now
	}
	e := s.m[k]
	if e == nil {
		e = &limiterEntry{lim: rate.NewLimiter(s.limit, s.burst)}
		s.m[k] = e
	}
	r := e.lim.ReserveN(now, n)
	if !r.OK() {
		return nil, fmt.Errorf("%d at once is more than a burst of %d allows", n, s.burst)
	}
	e.last = now.Add(r.DelayFrom(now))
	return r, nil
}

// len is how many keys have a bucket.
func (s *limiterSet[K]) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// waitFor sleeps until every reservation may act; when ctx ends first, it
// gives their tokens back.
func waitFor(ctx context.Context, now time.Time, sleep func(context.Context, time.Duration) error, rs ...*rate.Reservation) (time.Duration, error) {
	var d time.Duration
	for _, r := range rs {
		d = max(d, r.DelayFrom(now))
	}
	if d == 0 {
		return 0, nil
	}
	if err := sleep(ctx, d); err != nil {
		for _, r := range rs {
			r.CancelAt(now)
		}
		return d, err
	}
	return d, nil
}

// clockOrWall fills in the wall clock for what is not given.
func clockOrWall(now func() time.Time, sleepFn func(context.Context, time.Duration) error) (func() time.Time, func(context.Context, time.Duration) error) {
	if now == nil {
		now = time.Now
	}
	if sleepFn == nil {
		sleepFn = sleep
	}
	return now, sleepFn
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
