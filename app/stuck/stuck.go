// Package stuck keeps track of the pull requests that are stuck now: fed
// with every reconcile's report, it knows per PR which required contexts
// block it and since when, keeps 24 hours of history (stuck PRs and repairs
// in 10-minute buckets) for the dashboard's chart, and exports the
// Prometheus gauges operators alert on.
//
// A required context is stuck when the last reconcile of the PR's head
// decided it
//
//   - blocked (fix-status cannot repair it safely): stuck from the first
//     reconcile that blocked it for the same cause on the same head; or
//   - unresolved, that is waiting for a job that should report (inside the
//     grace period, or after a re-trigger), re-triggered, or revoked: stuck
//     once it has been unresolved on the same head for longer than the
//     grace period, with reason "waiting".
//
// A context waiting on a result that is pending is not stuck: its CI is
// running, and the plan re-triggers it once it turns stale. Satisfied,
// failing (people decide) and skipped contexts are not stuck. A PR is stuck
// while any of its contexts is; its reason is the first of its contexts'
// reasons in the order of Reasons, and its age counts from the earliest.
// A PR leaves the set when a reconcile finds it repaired or not open, when
// Forget is called (it was closed), or when no reconcile has looked at it for
// MaxUnseen (the sweep re-checks open PRs far more often).
package stuck

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fix-status/fix-status/app/plan"
)

// Reason classes a stuck PR for the metric's label.
type Reason string

// ReasonWaiting is a context unresolved past the grace period.
const ReasonWaiting Reason = "waiting"

// Reasons are every reason, most telling first: a PR stuck for several is
// shown and counted under the first.
var Reasons = []Reason{
	Reason(plan.CauseRulesError), Reason(plan.CauseRulesChanged), Reason(plan.CausePinned),
	Reason(plan.CauseIncompleteFiles), Reason(plan.CauseNoJob), Reason(plan.CauseManual), Reason(plan.CauseUnknown),
	Reason(plan.CauseRetriggersExhausted), Reason(plan.CauseNoRerun), ReasonWaiting,
}

// Named defaults.
const (
	DefaultMaxPRs    = 10000
	DefaultMaxUnseen = 24 * time.Hour
	// BucketWidth and Buckets shape the history: 24 hours in 10 minutes.
	BucketWidth = 10 * time.Minute
	Buckets     = 144
	// sampleEvery bounds how often an Observe counts the stuck PRs for the
	// history (a count visits every PR).
	sampleEvery = time.Minute
)

// Options configure a Tracker.
type Options struct {
	// Grace is the repair config's grace period.
	Grace time.Duration
	// MaxPRs bounds the PRs tracked (default 10,000): past it the one seen
	// longest ago is dropped.
	MaxPRs int
	// MaxUnseen drops a PR no reconcile has looked at for that long
	// (default 24 hours).
	MaxUnseen time.Duration
	// Now is the clock of the Prometheus collector (default time.Now).
	Now func() time.Time
}

// Tracker is the set of stuck PRs; it is safe for concurrent use.
type Tracker struct {
	opts Options

	mu  sync.Mutex
	prs map[plan.PRRef]*prState
	// hist is a ring of buckets indexed by bucket number mod Buckets.
	hist       [Buckets]bucket
	lastSample time.Time
}

type prState struct {
	head     string
	seen     time.Time
	contexts []ctxState
}

// ctxState is one context that is stuck or may become so.
type ctxState struct {
	Context
	// waiting: unresolved, stuck once Since+grace has passed.
	waiting bool
}

// bucket counts per repository ("owner/repo"), so that a reader can be
// shown only the repositories it may see.
type bucket struct {
	n       int64 // bucket number: start / BucketWidth
	sampled bool
	stuck   map[string]int
	repairs map[string]int
}

// New makes a Tracker.
func New(o Options) *Tracker {
	if o.MaxPRs == 0 {
		o.MaxPRs = DefaultMaxPRs
	}
	if o.MaxUnseen == 0 {
		o.MaxUnseen = DefaultMaxUnseen
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Tracker{opts: o, prs: map[plan.PRRef]*prState{}}
}

// Context is one stuck required context of a PR.
type Context struct {
	Context string
	Verdict plan.Verdict
	Cause   plan.Cause
	// Reason is the decision's reason, for people.
	Reason string
	// Class is the metric's reason for this context.
	Class Reason
	// Since is when it became stuck.
	Since time.Time
}

// PR is one stuck pull request.
type PR struct {
	PR      plan.PRRef
	HeadSHA string
	// Reason is the first of its contexts' classes in the order of Reasons.
	Reason Reason
	// Since is when it became stuck (its earliest stuck context).
	Since time.Time
	// Seen is when a reconcile last looked at it.
	Seen     time.Time
	Contexts []Context
}

// notOpen starts the reason a reconcile gives for a PR it did not look at
// because it is closed or merged.
const notOpen = "the pull request is "

// Observe takes in one reconcile's report made at now. A failed reconcile
// (nil report) says nothing new; a report of a PR that is not open removes
// it; any other report replaces what was known of the PR, keeping when each
// context became stuck while its head and reason stay.
func (t *Tracker) Observe(pr plan.PRRef, rep *plan.Report, now time.Time) {
	if rep == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sample(now, false)
	if rep.Writes > 0 {
		t.bucketAt(now).repairs[pr.FullRepo()] += rep.Writes
	}
	if len(rep.Decisions) == 0 {
		if rep.Skipped == "" || strings.HasPrefix(rep.Skipped, notOpen) {
			delete(t.prs, pr)
		}
		// Otherwise nothing was decided (a refused command): keep what
		// is known.
		return
	}
	old := t.prs[pr]
	st := &prState{head: rep.HeadSHA, seen: now}
	for _, d := range rep.Decisions {
		c, ok := candidate(d)
		if !ok {
			continue
		}
		c.Since = now
		if old != nil && old.head == rep.HeadSHA {
			for _, o := range old.contexts {
				if strings.EqualFold(o.Context.Context, c.Context.Context) && o.Class == c.Class && o.waiting == c.waiting {
					c.Since = o.Since
				}
			}
		}
		st.contexts = append(st.contexts, c)
	}
	if len(st.contexts) == 0 {
		delete(t.prs, pr)
		return
	}
	t.prs[pr] = st
	if old == nil && len(t.prs) > t.opts.MaxPRs {
		t.evict()
	}
}

// Forget removes a PR (it was closed or merged).
func (t *Tracker) Forget(pr plan.PRRef) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.prs, pr)
}

// candidate says whether a decision's context is stuck or may become so.
func candidate(d plan.Decision) (ctxState, bool) {
	c := ctxState{Context: Context{Context: d.Context, Verdict: d.Verdict, Cause: d.Cause, Reason: d.Reason}}
	switch d.Verdict {
	case plan.Blocked:
		c.Class = Reason(d.Cause)
		if !known(c.Class) {
			c.Class = Reason(plan.CauseUnknown)
		}
		return c, true
	case plan.Waiting, plan.Retrigger, plan.Revoke:
		if d.Cause == plan.CausePending {
			return c, false
		}
		c.Class, c.waiting = ReasonWaiting, true
		return c, true
	}
	return c, false
}

func known(r Reason) bool {
	for _, k := range Reasons {
		if k == r && r != ReasonWaiting {
			return true
		}
	}
	return false
}

// evict drops the PR seen longest ago (under mu).
func (t *Tracker) evict() {
	var oldest plan.PRRef
	var at time.Time
	for ref, st := range t.prs {
		if at.IsZero() || st.seen.Before(at) {
			oldest, at = ref, st.seen
		}
	}
	delete(t.prs, oldest)
}

// Stuck lists the PRs stuck at now, oldest first.
func (t *Tracker) Stuck(now time.Time) []PR {
	t.mu.Lock()
	defer t.mu.Unlock()
	if prs, ok := t.sample(now, true); ok {
		return prs
	}
	return t.stuckAt(now)
}

// stuckAt lists the PRs stuck at now (under mu), dropping the ones unseen
// too long.
func (t *Tracker) stuckAt(now time.Time) []PR {
	var out []PR
	for ref, st := range t.prs {
		if now.Sub(st.seen) > t.opts.MaxUnseen {
			delete(t.prs, ref)
			continue
		}
		if p, ok := t.stuckPR(ref, st, now); ok {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.Before(out[j].Since)
		}
		return out[i].PR.String() < out[j].PR.String()
	})
	return out
}

func (t *Tracker) stuckPR(ref plan.PRRef, st *prState, now time.Time) (PR, bool) {
	p := PR{PR: ref, HeadSHA: st.head, Seen: st.seen}
	rank := len(Reasons)
	for _, c := range st.contexts {
		ctx := c.Context
		if c.waiting {
			ctx.Since = c.Since.Add(t.opts.Grace)
			if !now.After(ctx.Since) {
				continue
			}
		}
		p.Contexts = append(p.Contexts, ctx)
		if p.Since.IsZero() || ctx.Since.Before(p.Since) {
			p.Since = ctx.Since
		}
		for i, r := range Reasons {
			if r == ctx.Class && i < rank {
				rank, p.Reason = i, r
			}
		}
	}
	return p, len(p.Contexts) > 0
}

// Point is one bucket of the history.
type Point struct {
	Start time.Time
	// Stuck is how many PRs were stuck at the bucket's last sample; Known
	// is false for a bucket before anything was tracked.
	Stuck int
	Known bool
	// Repairs counts the writes reconciles made in the bucket.
	Repairs int
}

// History is the last 24 hours at now, oldest bucket first, counting the
// repositories ("owner/repo") include admits (nil: all).
func (t *Tracker) History(now time.Time, include func(repo string) bool) []Point {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sample(now, true)
	cur := bucketOf(now)
	out := make([]Point, 0, Buckets)
	for n := cur - Buckets + 1; n <= cur; n++ {
		p := Point{Start: time.Unix(0, 0).UTC().Add(time.Duration(n) * BucketWidth)}
		if b := t.hist[mod(n)]; b.n == n {
			p.Known = b.sampled
			p.Stuck, p.Repairs = sum(b.stuck, include), sum(b.repairs, include)
		}
		out = append(out, p)
	}
	return out
}

// HistoryRepos lists the repositories the last 24 hours at now count.
func (t *Tracker) HistoryRepos(now time.Time) []plan.RepoRef {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sample(now, true)
	seen := map[string]bool{}
	var out []plan.RepoRef
	cur := bucketOf(now)
	for n := cur - Buckets + 1; n <= cur; n++ {
		b := t.hist[mod(n)]
		if b.n != n {
			continue
		}
		for _, m := range []map[string]int{b.stuck, b.repairs} {
			for repo := range m {
				if owner, name, ok := strings.Cut(repo, "/"); ok && !seen[repo] {
					seen[repo] = true
					out = append(out, plan.RepoRef{Owner: owner, Repo: name})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullRepo() < out[j].FullRepo() })
	return out
}

func sum(m map[string]int, include func(string) bool) int {
	n := 0
	for repo, v := range m {
		if include == nil || include(repo) {
			n += v
		}
	}
	return n
}

func bucketOf(t time.Time) int64 { return t.UnixNano() / int64(BucketWidth) }

func mod(n int64) int64 { return ((n % Buckets) + Buckets) % Buckets }

// bucketAt is the bucket of now, cleared when it held an older one (under
// mu).
func (t *Tracker) bucketAt(now time.Time) *bucket {
	n := bucketOf(now)
	b := &t.hist[mod(n)]
	if b.n != n || b.stuck == nil {
		*b = bucket{n: n, stuck: map[string]int{}, repairs: map[string]int{}}
	}
	return b
}

// sample records the stuck count in the history: at now, and at the end of
// every bucket since the last sample (the state did not change in between,
// only the clock). Observe samples at most once a minute; reads always
// (under mu). When it recorded now, it returns the PRs stuck at now.
func (t *Tracker) sample(now time.Time, force bool) ([]PR, bool) {
	if !force && !t.lastSample.IsZero() && now.Sub(t.lastSample) < sampleEvery && bucketOf(now) == bucketOf(t.lastSample) {
		return nil, false
	}
	if !t.lastSample.IsZero() {
		from := max(bucketOf(t.lastSample), bucketOf(now)-Buckets)
		for n := from; n < bucketOf(now); n++ {
			end := time.Unix(0, 0).Add(time.Duration(n+1)*BucketWidth - time.Nanosecond)
			t.record(end)
		}
	}
	if now.Before(t.lastSample) {
		return nil, false
	}
	prs := t.record(now)
	t.lastSample = now
	return prs, true
}

// record sets the bucket of at to the stuck PRs at at, per repository, and
// returns them.
func (t *Tracker) record(at time.Time) []PR {
	b := t.bucketAt(at)
	clear(b.stuck)
	prs := t.stuckAt(at)
	for _, p := range prs {
		b.stuck[p.PR.FullRepo()]++
	}
	b.sampled = true
	return prs
}
