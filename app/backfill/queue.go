package backfill

import (
	"container/heap"
	"context"
	"sync"

	"github.com/fix-status/fix-status/app/bulk"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

// Item is one open PR read for backfill, with what decides its turn.
type Item struct {
	Ref plan.PRRef
	// Prefetched is the PR's data from the bulk read.
	Prefetched *reconcile.Prefetched
	// Approved: the review decision is APPROVED (GraphQL reads only).
	Approved bool
	// Green: every result reported on the head passes.
	Green bool

	seq int64
}

// newItem ranks a PR read in bulk.
func newItem(b bulk.Item) *Item {
	pf := b.Prefetched
	return &Item{Ref: b.Ref, Prefetched: pf, Approved: b.ReviewDecision == "APPROVED", Green: green(pf.Statuses, pf.CheckRuns)}
}

// files counts the file names the item holds.
func (it *Item) files() int {
	if it.Prefetched.Files == nil {
		return 0
	}
	return len(it.Prefetched.Files.Names) + len(it.Prefetched.Files.Renamed)
}

// green reports whether every result reported on the head passes.
func green(sts []plan.Status, crs []plan.CheckRun) bool {
	for _, s := range sts {
		if s.State != "success" {
			return false
		}
	}
	for _, c := range crs {
		if c.Status != "completed" {
			return false
		}
		switch c.Conclusion {
		case "success", "neutral", "skipped":
		default:
			return false
		}
	}
	return true
}

// rank orders PRs by how close they are to merging: approved with every
// other check green first, then green, then approved, then the rest;
// drafts after all of them.
func (it *Item) rank() int {
	r := 3
	switch {
	case it.Approved && it.Green:
		r = 0
	case it.Green:
		r = 1
	case it.Approved:
		r = 2
	}
	if it.Prefetched.PR.Draft {
		r += 4
	}
	return r
}

// Priority names the rank for reports.
func (it *Item) Priority() string {
	names := []string{"approved_green", "green", "approved", "other"}
	r := it.rank()
	if r >= 4 {
		return "draft_" + names[r-4]
	}
	return names[r]
}

type itemHeap []*Item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	ri, rj := h[i].rank(), h[j].rank()
	if ri != rj {
		return ri < rj
	}
	return h[i].seq < h[j].seq
}
func (h itemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)   { *h = append(*h, x.(*Item)) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}

// queue is a bounded priority queue between the readers and the workers:
// workers always take the best PR read so far, across repositories, and
// readers wait while it is full (of PRs, or of the file names they hold),
// so memory stays bounded.
type queue struct {
	mu       sync.Mutex
	cond     *sync.Cond
	h        itemHeap
	cap      int
	capFiles int
	files    int
	seq      int64
	closed   bool
}

func newQueue(capacity, files int) *queue {
	q := &queue{cap: max(capacity, 1), capFiles: max(files, 1)}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// fullFor reports whether the queue has no room for it; an empty queue has
// room for any PR, however many files it has.
func (q *queue) fullFor(it *Item) bool {
	return len(q.h) > 0 && (len(q.h) >= q.cap || q.files+it.files() > q.capFiles)
}

// push adds items (one repository's, best first) and waits for room.
func (q *queue) push(ctx context.Context, items ...*Item) error {
	stop := context.AfterFunc(ctx, q.wake)
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range items {
		for q.fullFor(it) {
			if err := ctx.Err(); err != nil {
				return err
			}
			q.cond.Wait()
		}
		q.seq++
		it.seq = q.seq
		q.files += it.files()
		heap.Push(&q.h, it)
		q.cond.Broadcast()
	}
	return nil
}

// pop takes the best item; false once the queue is closed and empty or ctx
// is done.
func (q *queue) pop(ctx context.Context) (*Item, bool) {
	stop := context.AfterFunc(ctx, q.wake)
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.h) == 0 && !q.closed && ctx.Err() == nil {
		q.cond.Wait()
	}
	if ctx.Err() != nil || len(q.h) == 0 {
		return nil, false
	}
	it := heap.Pop(&q.h).(*Item)
	q.files -= it.files()
	q.cond.Broadcast()
	return it, true
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (q *queue) wake() {
	// Under the lock, so a waiter between its check and Wait cannot miss it.
	q.mu.Lock()
	defer q.mu.Unlock()
	q.cond.Broadcast()
}

// len is the number of PRs waiting.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.h)
}
