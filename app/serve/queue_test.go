package serve

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// deferred reports whether work of key k waits for k's work in flight.
func (q *MemQueue) deferred(k string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.pending[k]
	return it != nil && it.deferred
}

// TestQueueClockMoved: work queued for later whose time the clock has
// passed (a test moved it; the timer was set by the wall clock) is done
// as soon as more work of its key comes.
func TestQueueClockMoved(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	q := NewMemQueue(10, now, nil)
	done := make(chan Work, 2)
	q.Run(context.Background(), 1, func(_ context.Context, w Work) { done <- w })
	t.Cleanup(func() { _ = q.Close(context.Background()) })
	w := Work{Kind: KindPR, Repo: widgets, Number: 1, Event: "recheck"}
	if err := q.Put(context.Background(), w, now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	offset.Add(int64(2 * time.Hour))
	w.Event = "status"
	// Due a second after it by the moved clock: the earlier time, passed
	// already, wins.
	if err := q.Put(context.Background(), w, now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if got.Event != "status" {
			t.Errorf("did %q, want the work merged into the one due", got.Event)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("work due by the clock was not done")
	}
}

// TestQueueCloseDoesWorkWhoseTimerFired: Close does work whose timer has
// fired but whose callback has not yet taken the queue's lock (it then
// finds the queue closed): a drain loses nothing it acknowledged. The timer
// is swapped for one already expired, with no callback, which is that
// moment held still.
func TestQueueCloseDoesWorkWhoseTimerFired(t *testing.T) {
	q := NewMemQueue(10, time.Now, nil)
	done := make(chan Work, 1)
	q.Run(context.Background(), 1, func(_ context.Context, w Work) { done <- w })
	w := Work{Kind: KindPR, Repo: widgets, Number: 1, Event: "recheck"}
	if err := q.Put(context.Background(), w, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	it := q.pending[w.Key()]
	it.timer.Stop()
	it.timer = time.NewTimer(0)
	<-it.timer.C
	q.mu.Unlock()
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if got.Event != "recheck" {
			t.Errorf("did %q", got.Event)
		}
	default:
		t.Fatal("Close dropped work whose timer had fired")
	}
}
