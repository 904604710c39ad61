package shared

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/govern"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/serve"
	"github.com/fix-status/fix-status/app/shared/redistest"
)

var repo = plan.RepoRef{InstallationID: 7, Owner: "acme", Repo: "widgets"}

func newRedis(t *testing.T) *Redis {
	t.Helper()
	srv := redistest.Start(t)
	return New(srv.Client(t), "fix-status-test:")
}

func TestDeliveriesAndClaims(t *testing.T) {
	r := newRedis(t)
	ctx := context.Background()
	d1, d2 := r.Deliveries(time.Hour), r.Deliveries(time.Hour) // two replicas
	if ok, err := d1.Claim(ctx, "guid-1"); !ok || err != nil {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, _ := d2.Claim(ctx, "guid-1"); ok {
		t.Error("a delivery claimed by one replica was new to the other")
	}
	if err := d1.Release(ctx, "guid-1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := d2.Claim(ctx, "guid-1"); !ok {
		t.Error("a released delivery was not new again")
	}
	c := r.Claims(time.Hour)
	if ok, _ := c.Claim(ctx, "acme/widgets#1:abc:pull-unit:1"); !ok {
		t.Error("first re-trigger claim refused")
	}
	if ok, _ := c.Claim(ctx, "acme/widgets#1:abc:pull-unit:1"); ok {
		t.Error("the same re-trigger claimed twice")
	}
	if ok, _ := c.Claim(ctx, "guid-1"); !ok {
		t.Error("a re-trigger claim collided with a delivery id")
	}
	for range 2 {
		if ok, err := d1.Claim(ctx, ""); !ok || err != nil {
			t.Errorf("a delivery without an id: %v %v, want always new", ok, err)
		}
	}
}

func TestLocks(t *testing.T) {
	r := newRedis(t)
	ctx := context.Background()
	a, b := r.Locks(300*time.Millisecond), r.Locks(300*time.Millisecond)
	unlock, err := a.Lock(ctx, repo.PR(1).String())
	if err != nil {
		t.Fatal(err)
	}
	// Held (and refreshed past its ttl): another replica waits.
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := b.Lock(short, repo.PR(1).String()); err == nil {
		t.Fatal("a held PR was locked by another replica")
	}
	if u, err := b.Lock(ctx, repo.PR(2).String()); err != nil {
		t.Fatal(err)
	} else {
		u()
	}
	unlock()
	if u, err := b.Lock(ctx, repo.PR(1).String()); err != nil {
		t.Fatalf("after unlock: %v", err)
	} else {
		u()
	}
	// A holder that dies stops refreshing: the lease ends with its ttl.
	lk, err := r.locks.Obtain(ctx, r.key("lock", repo.PR(3).String()), 200*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = lk // never released: the crashed replica's
	if u, err := b.Lock(ctx, repo.PR(3).String()); err != nil {
		t.Fatalf("the lease of a dead holder did not end: %v", err)
	} else {
		u()
	}
}

func TestLeases(t *testing.T) {
	r := newRedis(t)
	ctx := context.Background()
	release, ok, err := r.Leases().TryLease(ctx, "sweep", time.Minute)
	if err != nil || !ok {
		t.Fatalf("%v %v", ok, err)
	}
	if _, ok, _ := r.Leases().TryLease(ctx, "sweep", time.Minute); ok {
		t.Error("two replicas hold the sweep lease")
	}
	release()
	if _, ok, _ := r.Leases().TryLease(ctx, "sweep", time.Minute); !ok {
		t.Error("a released lease was not free")
	}
}

// recorder collects the work a queue hands out.
type recorder struct {
	mu   sync.Mutex
	done []serve.Work
	c    chan serve.Work
	// block, when set, holds work of that key until released.
	block   string
	release chan struct{}
	started chan struct{}
}

func newRecorder() *recorder {
	return &recorder{c: make(chan serve.Work, 100), release: make(chan struct{}), started: make(chan struct{}, 10)}
}

func (r *recorder) do(_ context.Context, w serve.Work) {
	if w.Key() == r.block {
		r.started <- struct{}{}
		<-r.release
	}
	r.mu.Lock()
	r.done = append(r.done, w)
	r.mu.Unlock()
	r.c <- w
}

func (r *recorder) wait(t *testing.T) serve.Work {
	t.Helper()
	select {
	case w := <-r.c:
		return w
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for work")
		return serve.Work{}
	}
}

func prWork(n int, event string) serve.Work {
	return serve.Work{Kind: serve.KindPR, Repo: repo, Number: n, Event: event}
}

// TestQueueCoalescesAndFollowsUp: work of one key queued twice is done
// once (the earlier time wins, what both knew is kept); work put while its
// key is being done is done once after it.
func TestQueueCoalescesAndFollowsUp(t *testing.T) {
	r := newRedis(t)
	ctx := context.Background()
	q := r.Queue(QueueOptions{Max: 100, Timeout: 10 * time.Second})
	now := time.Now()
	push := func(files ...string) serve.Work {
		return serve.Work{Kind: serve.KindRepo, Repo: repo, Branch: "main", Push: true, Changed: files, Event: "push"}
	}
	if err := q.Put(ctx, push("a.yml"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := q.Put(ctx, push("b.yml"), now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := q.Len(); n != 1 {
		t.Fatalf("queued %d, want the two pushes as one", n)
	}
	rec := newRecorder()
	rec.block = prWork(1, "").Key()
	q.Run(ctx, 2, rec.do)
	t.Cleanup(func() { _ = q.Close(ctx) })
	w := rec.wait(t)
	if w.Kind != serve.KindRepo || len(w.Changed) != 2 {
		t.Errorf("coalesced push: %+v, want both files, an hour early", w)
	}
	if err := q.Put(ctx, prWork(1, "first"), time.Now()); err != nil {
		t.Fatal(err)
	}
	<-rec.started
	for i := 0; i < 3; i++ {
		if err := q.Put(ctx, prWork(1, "during"), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	close(rec.release)
	if w := rec.wait(t); w.Event != "first" {
		t.Fatalf("got %+v first", w)
	}
	if w := rec.wait(t); w.Event != "during" {
		t.Fatalf("follow-up: %+v", w)
	}
	select {
	case w := <-rec.c:
		t.Fatalf("the follow-up ran twice: %+v", w)
	case <-time.After(1500 * time.Millisecond): // one delayed-task check
	}
}

// TestQueueSurvivesAReplica: work queued through a replica that stops (or
// dies) is done by another; a full queue refuses more.
func TestQueueSurvivesAReplica(t *testing.T) {
	r := newRedis(t)
	ctx := context.Background()
	a := r.Queue(QueueOptions{Max: 2, Timeout: 10 * time.Second})
	if err := a.Put(ctx, prWork(1, "recheck"), time.Now().Add(1500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, prWork(2, "event"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, prWork(3, "event"), time.Now()); !errors.Is(err, serve.ErrQueueFull) {
		t.Fatalf("a full queue took more: %v", err)
	}
	_ = a.Close(ctx) // the replica goes, its work stays
	b := r.Queue(QueueOptions{Max: 2, Timeout: 10 * time.Second})
	rec := newRecorder()
	b.Run(ctx, 2, rec.do)
	t.Cleanup(func() { _ = b.Close(ctx) })
	got := map[int]bool{}
	for i := 0; i < 2; i++ {
		got[rec.wait(t).Number] = true
	}
	if !got[1] || !got[2] {
		t.Errorf("done by the other replica: %v", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !b.Idle() {
		if time.Now().After(deadline) {
			t.Fatal("the queue did not empty")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPacerSharedByReplicas: two replicas' pacers on one Redis pace an
// installation together: what one spent, the other waits for (as long as
// the window's refill takes), another installation does not, and a window
// of the hour binds like the minute's.
func TestPacerSharedByReplicas(t *testing.T) {
	rs := redistest.Start(t)
	errStop := errors.New("stop")
	for _, tc := range []struct {
		name string
		o    govern.PacerOptions
		// free writes go at once; the next one waits about want.
		free int
		want time.Duration
	}{
		// The minute's 16: a burst of 1, then one every 60s/15.
		{"minute", govern.PacerOptions{PerMinute: 16, PerHour: 1000}, 1, 4 * time.Second},
		// The hour's 20: a burst of 2, then one every 3600s/18.
		{"hour", govern.PacerOptions{PerMinute: 1000, PerHour: 20}, 2, 200 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var slept []time.Duration
			o := tc.o
			o.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return errStop }
			prefix := "fix-status-test:" + tc.name + ":"
			a, b := New(rs.Client(t), prefix).Pacer(o), New(rs.Client(t), prefix).Pacer(o)
			ctx := context.Background()
			for i := range tc.free {
				p := []*Pacer{a, b}[i%2]
				if d, err := p.Wait(ctx, 7, 1); err != nil || d != 0 {
					t.Fatalf("write %d: waited %s, %v; want none", i, d, err)
				}
			}
			if d, err := b.Wait(ctx, 8, 1); err != nil || d != 0 {
				t.Errorf("another installation waited %s, %v", d, err)
			}
			d, err := b.Wait(ctx, 7, 1)
			if !errors.Is(err, errStop) || len(slept) != 1 || d != slept[0] || d <= tc.want*3/4 || d > tc.want {
				t.Errorf("the next write of installation 7: waited %s (%v), slept %v; want about %s", d, err, slept, tc.want)
			}
		})
	}
}

// TestQueueRemove: queued work not due yet is removed (a /fix-status run
// does a PR's re-check now; a merge group left the queue).
func TestQueueRemove(t *testing.T) {
	r := newRedis(t)
	ctx := context.Background()
	q := r.Queue(QueueOptions{Max: 10, Timeout: 10 * time.Second})
	if err := q.Put(ctx, prWork(1, "recheck"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	q.Remove(prWork(2, "").Key()) // nothing queued: no-op
	if n := q.Len(); n != 1 {
		t.Fatalf("queued %d, want 1", n)
	}
	q.Remove(prWork(1, "").Key())
	if n := q.Len(); n != 0 {
		t.Errorf("queued %d after Remove, want 0", n)
	}
}
