package serve

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

const scenario = `
app: {id: 1, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 7, account: acme, repos: [acme/widgets]}
repos:
  - name: acme/widgets
    default_branch: main
    files:
      main:
        .github/fix-status.yml: |
          version: 1
          sources: {actions: false}
          contexts: [{context: ci/docs, run_if_changed: '^docs/'}]
    branches:
      main:
        protection:
          required_status_checks: {contexts: [ci/docs]}
    collaborators: {writer: write}
    pulls:
      - {number: 1, title: One, user: octocat, base: main, head_sha: 1111111111111111111111111111111111111111, files: [{filename: pkg/a.go, status: modified}],
         comments: [{user: writer, body: /fix-status}]}
      - {number: 2, title: Two, user: octocat, base: main, head_sha: 2222222222222222222222222222222222222222, files: [{filename: pkg/b.go, status: modified}]}
`

var widgets = plan.RepoRef{InstallationID: 7, Owner: "acme", Repo: "widgets"}

// schedule queues a reconcile of PR n after delay.
func schedule(t *testing.T, svc *Service, n int, event string, delay time.Duration) {
	t.Helper()
	if err := svc.put(context.Background(), Work{Kind: KindPR, Repo: widgets, Number: n, Event: event}, delay); err != nil {
		t.Fatal(err)
	}
}

// outcomes collects the service's outcomes and lets a test wait for them.
type outcomes struct {
	mu  sync.Mutex
	all []Outcome
	c   chan struct{}
}

func (o *outcomes) add(out Outcome) {
	o.mu.Lock()
	o.all = append(o.all, out)
	o.mu.Unlock()
	o.c <- struct{}{}
}

// wait waits for n more outcomes.
func (o *outcomes) wait(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-o.c:
		case <-time.After(20 * time.Second):
			t.Fatalf("timed out waiting for outcome %d of %d", i+1, n)
		}
	}
}

func (o *outcomes) list() []Outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Outcome(nil), o.all...)
}

func newService(t *testing.T, opts Options) (*fakegithub.Server, *Service, *outcomes) {
	t.Helper()
	gh := fakegithubtest.Start(t, scenario, fakegithub.Options{})
	cfg := fakegithubtest.ServerConfig(gh)
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg.GitHubAppConfig(),
		ghapi.WithCache(0))
	if err != nil {
		t.Fatal(err)
	}
	rec := reconcile.New(reconcile.Options{Clients: cc, Config: cfg, AppID: 1, AppSlug: "fix-status"})
	outs := &outcomes{c: make(chan struct{}, 100)}
	opts.Clients, opts.OnReport = cc, outs.add
	if opts.Coalesce == 0 {
		opts.Coalesce = 10 * time.Millisecond
	}
	svc := New(rec, opts)
	svc.Start(context.Background())
	t.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
	return gh, svc, outs
}

// TestCoalescing: events for one PR inside the window become one reconcile.
func TestCoalescing(t *testing.T) {
	_, svc, outs := newService(t, Options{Coalesce: time.Hour})
	for i := 0; i < 5; i++ {
		schedule(t, svc, 1, "status", time.Hour)
	}
	schedule(t, svc, 1, "pull_request.synchronize", 0)
	outs.wait(t, 1)
	got := outs.list()
	if len(got) != 1 || got[0].Trigger != "pull_request.synchronize" || got[0].Report.Writes != 1 {
		t.Fatalf("outcomes: %+v", got)
	}
	// Shutdown runs whatever is still queued: nothing, if the other five
	// events were folded into the one reconcile.
	if err := svc.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(outs.list()); n != 1 {
		t.Errorf("%d reconciles, want the events folded into one", n)
	}
}

// TestRetry: a reconcile failing on GitHub's 5xx is retried after the
// backoff, doubling, each wait spread over its upper half; one failing on
// a 404 is not.
func TestRetry(t *testing.T) {
	gh, svc, outs := newService(t, Options{RetryBackoff: time.Millisecond})
	gh.Fault(fakegithub.Fault{Route: "GET /repos/{owner}/{repo}/pulls/{pull_number}", Status: 502, Count: 2})
	schedule(t, svc, 1, "test", 0)
	outs.wait(t, 3)
	got := outs.list()
	within := func(d, backoff time.Duration) bool { return d >= backoff/2 && d <= backoff }
	if got[0].Err == nil || !within(got[0].Retry, time.Millisecond) || !within(got[1].Retry, 2*time.Millisecond) || got[2].Err != nil || got[2].Report.Writes != 1 {
		for _, o := range got {
			t.Logf("%s: retry %s, err %v", o.Trigger, o.Retry, o.Err)
		}
		t.Fatal("want two failures retried with doubling backoff, then the repair")
	}
	schedule(t, svc, 404, "test", 0)
	outs.wait(t, 1)
	if o := outs.list()[3]; o.Err == nil || o.Retry != 0 {
		t.Errorf("a missing PR: retry %s, err %v; want no retry", o.Retry, o.Err)
	}
}

// TestShutdownRunsPending: a re-check scheduled for later runs when the
// service drains.
func TestShutdownRunsPending(t *testing.T) {
	gh, svc, outs := newService(t, Options{})
	schedule(t, svc, 2, "recheck", time.Hour)
	if err := svc.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := outs.list(); len(got) != 1 || got[0].PR != widgets.PR(2) {
		t.Fatalf("outcomes after shutdown: %+v", got)
	}
	if n := gh.Stats().Writes.Total; n != 1 {
		t.Errorf("writes %d, want the skip of #2", n)
	}
	if err := svc.put(context.Background(), Work{Kind: KindPR, Repo: widgets, Number: 1, Event: "late"}, 0); err == nil || !svc.Idle() {
		t.Errorf("a closed service took work: %v", err)
	}
}

// TestCommand: /fix-status reacts, runs now instead of the queued re-check,
// replies with a table, and runs at most once a minute per PR: a second one
// is told when it may run again.
func TestCommand(t *testing.T) {
	gh, svc, outs := newService(t, Options{Coalesce: time.Hour})
	schedule(t, svc, 1, "status", time.Hour)
	req := CommandRequest{PR: widgets.PR(1), CommentID: gh.State().Repos[0].Pulls[0].Comments[0].ID, Commenter: "writer", Association: "COLLABORATOR"}
	if err := svc.Command(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	outs.wait(t, 1)
	if err := svc.Command(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if err := svc.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := gh.State().Repos[0].Pulls[0]
	if got := p.Comments[0].Reactions; len(got) != 2 || got[0].Content != "eyes" || got[1].Content != "confused" {
		t.Errorf("reactions %v, want eyes, then confused for the second command within a minute", got)
	}
	var replies []string
	for _, c := range p.Comments {
		if c.User == "fix-status[bot]" {
			replies = append(replies, c.Body)
		}
	}
	if len(replies) != 2 || replies[0] != "@writer fix-status checked the required contexts of 1111111:\n\n| Context | Verdict | Reason | Action |\n|---|---|---|---|\n"+
		"| `ci/docs` | skip | Skipped: no changed file matches run_if_changed ^docs/ | set status success |\n\n1 skip; 1 write(s).\n" ||
		!strings.HasPrefix(replies[1], "@writer fix-status checked this pull request less than a minute ago, and runs /fix-status at most once a minute per pull request") {
		t.Errorf("replies: %q", replies)
	}
	// Only the command's reconcile ran: the queued re-check it replaced
	// was dropped, and the second command was refused.
	if o := outs.list(); len(o) != 1 || o[0].Trigger != "comment" {
		t.Errorf("outcomes: %+v", o)
	}
}

// TestOneReconcilePerPR: a re-check that comes due while the PR is being
// reconciled waits for it, then runs once as its follow-up; two workers
// never reconcile one PR at once.
func TestOneReconcilePerPR(t *testing.T) {
	gh, svc, outs := newService(t, Options{Workers: 4})
	held := gh.Hold("GET /repos/{owner}/{repo}/pulls/{pull_number}")
	schedule(t, svc, 1, "first", 0)
	<-held.Arrived()
	// Due at once, three times, while the first is held mid-read.
	for i := 0; i < 3; i++ {
		schedule(t, svc, 1, "second", 0)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !svc.q.(*MemQueue).deferred(Work{Kind: KindPR, Repo: widgets, Number: 1}.Key()) {
		if time.Now().After(deadline) {
			t.Fatal("the re-check due during the reconcile was not deferred")
		}
		time.Sleep(time.Millisecond)
	}
	held.Release()
	outs.wait(t, 2)
	if err := svc.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := outs.list()
	if len(got) != 2 || got[0].Trigger != "first" || got[1].Trigger != "second" {
		t.Fatalf("outcomes: %+v", got)
	}
	if n := gh.Stats().Writes.Total; n != 1 {
		t.Errorf("writes %d: the follow-up wrote again", n)
	}
}

// puts records the work put into a MemQueue.
type puts struct {
	*MemQueue
	mu  sync.Mutex
	all []Work
}

func (p *puts) Put(ctx context.Context, w Work, at time.Time) error {
	p.mu.Lock()
	p.all = append(p.all, w)
	p.mu.Unlock()
	return p.MemQueue.Put(ctx, w, at)
}

// TestUnknownWorkQueuedAgain: work of a kind this version does not know (a
// newer replica queued it in the shared queue during a rolling upgrade) is
// queued again, for a replica that knows it, a bounded number of times.
func TestUnknownWorkQueuedAgain(t *testing.T) {
	q := &puts{MemQueue: NewMemQueue(100, time.Now, nil)}
	_, svc, _ := newService(t, Options{Queue: q, RetryBackoff: time.Hour})
	w := Work{Kind: "from_the_future", Repo: widgets, Event: "test"}
	for range MaxRetries + 1 {
		svc.do(context.Background(), w)
		q.mu.Lock()
		if n := len(q.all); n > 0 {
			w = q.all[n-1]
		}
		q.mu.Unlock()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.all) != MaxRetries || q.all[MaxRetries-1].Attempt != MaxRetries || q.all[0].Kind != "from_the_future" {
		t.Errorf("queued again: %+v; want %d times, then dropped", q.all, MaxRetries)
	}
}
