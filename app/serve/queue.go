package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrQueueFull is the error of work that cannot be queued: the webhook that
// brought it is answered 503, so that GitHub records a failed delivery and
// the delivery recovery sends it again.
var ErrQueueFull = errors.New("the work queue is full")

// Queue holds the service's work until it is due, and hands it to workers.
type Queue interface {
	// Put queues w to be done at at. Work of the same key already queued
	// coalesces with it (the earliest time wins; merge folds the two);
	// work put while the same key is being done is kept as its follow-up,
	// done once after it. ErrQueueFull when the queue holds its bound.
	Put(ctx context.Context, w Work, at time.Time) error
	// Run hands due work to do, from n goroutines, one key at a time,
	// until Close. It returns at once.
	Run(ctx context.Context, n int, do func(context.Context, Work))
	// Close stops taking work, lets what is due or being done finish, and
	// returns when it has or ctx ends. What is durable stays queued for
	// the next start.
	Close(ctx context.Context) error
	// Len is the work queued (not being done).
	Len() int
	// Idle reports whether nothing is queued or being done.
	Idle() bool
	// Remove drops queued work of key k that is not due yet (a /fix-status
	// run does a PR's queued re-check now; a merge group that left the
	// queue needs no check).
	Remove(k string)
}

// MemQueue is the queue of one replica, in memory: lost with the process
// (the start-up sweep and the delivery recovery catch up). Close does the
// work still queued at once, so a drain finishes what was acknowledged.
type MemQueue struct {
	max int
	now func() time.Time

	mu       sync.Mutex
	pending  map[string]*item
	inflight map[string]bool
	closed   bool
	ready    chan string
	wg       sync.WaitGroup
	running  int
	onLen    func(int)
}

type item struct {
	w     Work
	at    time.Time
	timer *time.Timer
	fired bool
	// deferred: it came due while its key was being done.
	deferred bool
}

// NewMemQueue holds at most max pieces of work; now is the clock, onLen is
// told the queue's length when it changes (a metric).
func NewMemQueue(max int, now func() time.Time, onLen func(int)) *MemQueue {
	if onLen == nil {
		onLen = func(int) {}
	}
	return &MemQueue{max: max, now: now, onLen: onLen, pending: map[string]*item{}, inflight: map[string]bool{},
		ready: make(chan string, max)}
}

// Put implements Queue.
func (q *MemQueue) Put(_ context.Context, w Work, at time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("%s: the service is stopping", w.Key())
	}
	k := w.Key()
	if it, ok := q.pending[k]; ok && !it.fired {
		it.w = Merge(it.w, w)
		// Sooner; or due already by the clock, which moved faster than
		// the timer set by its reading (a test's clock moved past a grace
		// period): the work is done now.
		now := q.now()
		if (at.Before(it.at) || !it.at.After(now)) && it.timer.Stop() {
			if at.Before(it.at) {
				it.at = at
			}
			it.timer.Reset(max(it.at.Sub(now), 0))
		}
		return nil
	} else if ok {
		// Due already (waiting for a worker, or for its key to be done):
		// it runs with what is known now.
		it.w = Merge(it.w, w)
		return nil
	}
	// Work whose key is being done is its follow-up, however full the
	// queue: a repository's PRs that did not fit come back this way.
	if len(q.pending) >= q.max && !q.inflight[k] {
		return fmt.Errorf("%s: %w (%d)", k, ErrQueueFull, q.max)
	}
	it := &item{w: w, at: at}
	it.timer = time.AfterFunc(max(at.Sub(q.now()), 0), func() { q.fire(k, it) })
	q.pending[k] = it
	q.onLen(len(q.pending))
	return nil
}

func (q *MemQueue) fire(k string, it *item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending[k] != it || it.fired || q.closed {
		return
	}
	it.fired = true
	if q.inflight[k] {
		it.deferred = true
		return
	}
	q.ready <- k // cannot block: ready holds max and pending is bounded by it
}

// Run implements Queue.
func (q *MemQueue) Run(ctx context.Context, n int, do func(context.Context, Work)) {
	for i := 0; i < n; i++ {
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			for k := range q.ready {
				q.work(ctx, k, do)
			}
		}()
	}
}

func (q *MemQueue) work(ctx context.Context, k string, do func(context.Context, Work)) {
	q.mu.Lock()
	it := q.pending[k]
	if it == nil || q.inflight[k] {
		if it != nil {
			// Close queued it while its key was being done: the worker
			// doing it does this next.
			it.deferred = true
		}
		q.mu.Unlock()
		return
	}
	delete(q.pending, k)
	q.inflight[k] = true
	q.running++
	q.onLen(len(q.pending))
	q.mu.Unlock()
	for it != nil {
		do(ctx, it.w)
		it = q.followUp(k)
	}
}

// followUp returns the work of key k that came due while k was being done,
// or ends k's time in flight.
func (q *MemQueue) followUp(k string) *item {
	q.mu.Lock()
	defer q.mu.Unlock()
	if it := q.pending[k]; it != nil && it.deferred {
		delete(q.pending, k)
		q.onLen(len(q.pending))
		return it
	}
	delete(q.inflight, k)
	q.running--
	return nil
}

// Close implements Queue: what is queued is done now, then the workers stop.
func (q *MemQueue) Close(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	for k, it := range q.pending {
		// A timer that fired but whose callback still waits for the lock
		// cannot be stopped; the callback finds the item fired and the
		// queue closed, so it is queued here either way.
		if !it.fired {
			it.timer.Stop()
			it.fired = true
			q.ready <- k
		}
	}
	close(q.ready)
	q.mu.Unlock()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shutdown: %w with work still running", ctx.Err())
	}
}

// Remove implements Queue.
func (q *MemQueue) Remove(k string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if it, ok := q.pending[k]; ok && !it.fired && it.timer.Stop() {
		delete(q.pending, k)
		q.onLen(len(q.pending))
	}
}

// Len implements Queue.
func (q *MemQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// Idle implements Queue.
func (q *MemQueue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending) == 0 && q.running == 0
}
