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

// Window is one bound of a pacer: at most N requests in any window of
// length Per, Burst of them at once (a bucket of Burst tokens refilled with
// the other N-Burst over the window).
type Window struct {
	N, Burst int
	Per      time.Duration
}

// Windows are the bounds o sets, the minute's and the hour's; zero options
// take the defaults. Every Pacer paces by them.
func (o PacerOptions) Windows() (minute, hour Window) {
	if o.PerMinute <= 0 {
		o.PerMinute = DefaultWritesPerMinute
	}
	if o.PerHour <= 0 {
		o.PerHour = DefaultWritesPerHour
	}
	return window(o.PerMinute, time.Minute, o.PerMinute/16), window(o.PerHour, time.Hour, min(o.PerMinute, o.PerHour/10))
}

func window(n int, per time.Duration, burst int) Window {
	return Window{N: n, Burst: max(1, min(burst, n)), Per: per}
}

// Refill is how many tokens the window adds over Per: a window smaller
// than its burst adds one.
func (w Window) Refill() int { return max(w.N-w.Burst, 1) }

// NewLocalPacer builds a LocalPacer; zero options take the defaults.
func NewLocalPacer(o PacerOptions) *LocalPacer {
	minute, hour := o.Windows()
	o.Now, o.Sleep = clockOrWall(o.Now, o.Sleep)
	return &LocalPacer{
		minute: newLimiterSet[int64](minute), hour: newLimiterSet[int64](hour),
		now: o.Now, sleep: o.Sleep,
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

// newLimiterSet bounds each key to w: a bucket holds at most w.Burst
// tokens and refills the others over the window, so a window can spend at
// most w.N.
func newLimiterSet[K comparable](w Window) *limiterSet[K] {
	limit := rate.Limit(float64(w.Refill()) / w.Per.Seconds())
	fill := time.Duration(float64(w.Burst) / float64(limit) * float64(time.Second))
	return &limiterSet[K]{limit: limit, burst: w.Burst, idle: max(w.Per, fill), m: map[K]*limiterEntry{}}
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
		sleepFn = WallSleep
	}
	return now, sleepFn
}

// WallSleep waits d on the wall clock, or until ctx ends.
func WallSleep(ctx context.Context, d time.Duration) error {
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
