package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
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
          sources: {prow: [prow]}
        prow/jobs.yaml: |
          presubmits:
            acme/widgets:
            - name: pull-docs
              run_if_changed: '^docs/'
            - name: pull-unit
              run_if_changed: '^pkg/'
    branches:
      main:
        protection:
          required_status_checks:
            contexts: [pull-docs, pull-unit]
    pulls:
      - number: 1
        title: Change pkg
        user: octocat
        base: main
        head_sha: 1111111111111111111111111111111111111111
        files: [{filename: pkg/a.go, status: modified}]
      - number: 2
        title: Closed
        user: octocat
        base: main
        state: closed
        head_sha: 2222222222222222222222222222222222222222
        files: [{filename: pkg/a.go, status: modified}]
`

var widgets = plan.RepoRef{InstallationID: 7, Owner: "acme", Repo: "widgets"}

type env struct {
	gh  *fakegithub.Server
	rec *Reconciler
	cc  githubapp.ClientCreator
}

func newEnv(t *testing.T, sc string) *env {
	t.Helper()
	gh := fakegithubtest.Start(t, sc, fakegithub.Options{})
	cfg := fakegithubtest.ServerConfig(gh)
	cfg.Repair.GracePeriod.Duration = 0
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg.GitHubAppConfig(),
		ghapi.WithCache(0))
	if err != nil {
		t.Fatal(err)
	}
	return &env{gh: gh, cc: cc, rec: New(Options{Clients: cc, Config: cfg, AppID: 1, AppSlug: "fix-status"})}
}

// decision is the decision on context, false when the plan has none.
func decision(ds []plan.Decision, context string) (plan.Decision, bool) {
	for _, d := range ds {
		if d.Context == context {
			return d, true
		}
	}
	return plan.Decision{}, false
}

func verdicts(rep *plan.Report) map[string]string {
	out := map[string]string{}
	for i, d := range rep.Decisions {
		out[d.Context] = string(d.Verdict) + " / " + rep.Actions[i]
	}
	return out
}

func TestReconcile(t *testing.T) {
	e := newEnv(t, scenario)
	ctx := context.Background()
	dry, err := e.rec.Reconcile(ctx, widgets.PR(1), Trigger{Event: "test", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pull-docs": "skip / would set status success", "pull-unit": "retrigger / would comment /test pull-unit"}
	if got := verdicts(dry); got["pull-docs"] != want["pull-docs"] || got["pull-unit"] != want["pull-unit"] || dry.Writes != 0 {
		t.Errorf("dry run: %v, %d writes; want %v", got, dry.Writes, want)
	}
	if n := e.gh.Stats().Writes.Total; n != 0 {
		t.Fatalf("a dry run made %d writes", n)
	}
	rep, err := e.rec.Reconcile(ctx, widgets.PR(1), Trigger{Event: "test"})
	if err != nil || rep.Writes != 2 {
		t.Fatalf("writes %d, %v", rep.Writes, err)
	}
	p := e.gh.State().Repos[0].Pulls[0]
	if len(p.Comments) != 1 || !strings.Contains(p.Comments[0].Body, plan.RetriggerMarker("pull-unit", p.HeadSHA)) {
		t.Errorf("the re-trigger comment lacks its marker: %+v", p.Comments)
	}
	closed, err := e.rec.Reconcile(ctx, widgets.PR(2), Trigger{Event: "test"})
	if err != nil || closed.Skipped != "the pull request is closed" || len(closed.Decisions) != 0 {
		t.Errorf("closed PR: %+v, %v", closed, err)
	}
}

// TestPrefetchedFilesAreNotReadAgain: a bulk read may give a PR's file list
// cut short by GitHub's 3,000-file limit, which reading again would not
// lengthen; the reconciler must not list it again, and must still treat the
// list as incomplete.
func TestPrefetchedFilesAreNotReadAgain(t *testing.T) {
	e := newEnv(t, scenario)
	ctx := context.Background()
	client, err := e.cc.NewInstallationClient(7)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := ghapi.ReadPR(ctx, client, widgets.PR(1))
	if err != nil {
		t.Fatal(err)
	}
	const files = "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"
	for _, tt := range []struct {
		name      string
		pf        Prefetched
		wantReads int64
		want      plan.Verdict
	}{
		{"cut short by GitHub: used as is", Prefetched{PR: pr, Files: &plan.Files{Names: []string{"pkg/a.go"}}}, 0, plan.Blocked},
		{"no list: read by REST", Prefetched{PR: pr}, 1, plan.Skip},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.gh.ResetStats()
			rep, err := e.rec.Reconcile(ctx, widgets.PR(1), Trigger{Event: "backfill", DryRun: true, Prefetched: &tt.pf})
			if err != nil {
				t.Fatal(err)
			}
			if got := e.gh.Stats().ByRoute[files]; got != tt.wantReads {
				t.Errorf("file list read %d times, want %d", got, tt.wantReads)
			}
			if d, ok := decision(rep.Decisions, "pull-docs"); !ok || d.Verdict != tt.want {
				t.Errorf("pull-docs: %s (%s), want %s", d.Verdict, d.Reason, tt.want)
			}
		})
	}
}

// TestRulesError: a bad rule file blocks every skip, shows fix-status's own
// error status with the reason, and is cleared once fixed.
func TestRulesError(t *testing.T) {
	e := newEnv(t, strings.Replace(scenario, "run_if_changed: '^docs/'", "run_if_changed: '^(docs'", 1))
	ctx := context.Background()
	rep, err := e.rec.Reconcile(ctx, widgets.PR(1), Trigger{Event: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.RulesErr == nil || !strings.Contains(rep.RulesErr.Error(), `invalid run_if_changed regex "^(docs"`) || rep.RulesErrPath == "" {
		t.Errorf("report: rules error %v at %q", rep.RulesErr, rep.RulesErrPath)
	}
	for _, d := range rep.Decisions {
		if d.Verdict != plan.Blocked || len(d.Writes) != 0 {
			t.Errorf("%s: %s with %d writes", d.Context, d.Verdict, len(d.Writes))
		}
	}
	var status *fakegithub.StateStatus
	for i, s := range e.gh.State().Repos[0].Pulls[0].Statuses {
		if s.Context == plan.RulesStatusContext {
			status = &e.gh.State().Repos[0].Pulls[0].Statuses[i]
		}
	}
	if status == nil || status.State != "error" || !strings.Contains(status.Description, "cannot read the job rules") {
		t.Errorf("fix-status status: %+v", status)
	}
}

func TestRulesTouched(t *testing.T) {
	e := newEnv(t, scenario)
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		branch  string
		changed []string
		want    bool
	}{
		{"the repo config", "main", []string{".github/fix-status.yml"}, true},
		{"a workflow", "main", []string{".github/workflows/ci.yml"}, true},
		{"a Prow file the repo config names (rules read)", "main", []string{"prow/more.yaml"}, true},
		{"other files", "main", []string{"README.md"}, false},
		{"a branch no PR is based on", "feature", []string{"prow/jobs.yaml"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := e.rec.RulesTouched(ctx, widgets, tt.branch, tt.changed); err != nil || got != tt.want {
				t.Errorf("RulesTouched = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	// Once the branch's rules are cached, no read is needed to tell.
	if _, err := e.rec.Reconcile(ctx, widgets.PR(1), Trigger{Event: "test", DryRun: true}); err != nil {
		t.Fatal(err)
	}
	e.gh.ResetStats()
	if got, err := e.rec.RulesTouched(ctx, widgets, "main", []string{"prow/jobs.yaml"}); err != nil || !got {
		t.Errorf("cached: RulesTouched = %v, %v", got, err)
	}
	if n := e.gh.Stats().Requests; n != 0 {
		t.Errorf("RulesTouched read GitHub %d times with the rules cached", n)
	}
}

// reconcileWhileGuarded reconciles PR 1 and, while the write guard's read
// of the PR is held (the snapshot's passes), changes the world.
func reconcileWhileGuarded(t *testing.T, e *env, change fakegithub.Event) *plan.Report {
	t.Helper()
	ctx := context.Background()
	const pull = "GET /repos/{owner}/{repo}/pulls/{pull_number}"
	e.gh.Fault(fakegithub.Fault{Route: pull, Delay: time.Nanosecond})
	held := e.gh.Hold(pull)
	type result struct {
		rep *plan.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := e.rec.Reconcile(ctx, widgets.PR(1), Trigger{Event: "test"})
		done <- result{rep, err}
	}()
	select {
	case <-held.Arrived():
	case <-time.After(10 * time.Second):
		t.Fatal("the write guard did not read the PR")
	}
	if err := e.gh.Event(ctx, change); err != nil {
		t.Fatal(err)
	}
	held.Release()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.rep
}

// TestGuardSeesChanges: what was read may change before the first write
// without the PR changing: a push to the base branch (rules read before it
// are not the base's rules any more; the PR's base SHA, as GitHub keeps it,
// does not move), or a result another CI reports on the head. The write
// guard reads the branch's head and the head's results, writes nothing, and
// the next round decides on what is there now.
func TestGuardSeesChanges(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(e *env) fakegithub.Event
		want   string
	}{
		{"rules pushed to the base", func(e *env) fakegithub.Event {
			jobs := strings.Replace(e.gh.State().Repos[0].Files["main"]["prow/jobs.yaml"], "'^docs/'", "'^(docs|pkg)/'", 1)
			return fakegithub.Event{Type: "push", Repo: "acme/widgets", Branch: "main", Contents: map[string]string{"prow/jobs.yaml": jobs}}
		}, "retrigger / comment /test pull-docs"},
		{"the job started", func(*env) fakegithub.Event {
			return fakegithub.Event{Type: "status", Repo: "acme/widgets", SHA: "1111111111111111111111111111111111111111", Context: "pull-docs", State: "pending", Creator: "prow"}
		}, "waiting / none"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, scenario)
			rep := reconcileWhileGuarded(t, e, tt.change(e))
			if got := verdicts(rep)["pull-docs"]; got != tt.want {
				t.Errorf("pull-docs: %q, want %q", got, tt.want)
			}
			for _, s := range e.gh.State().Repos[0].Pulls[0].Statuses {
				if s.Creator == "fix-status[bot]" && s.Context == "pull-docs" {
					t.Errorf("written on what changed: %+v", s)
				}
			}
		})
	}
}

// TestStalePrefetchedWritesOnce: a sweep's page is read in bulk, then
// another reconcile repairs one of its PRs before the sweep gets to it; the
// sweep's snapshot still shows the PR unrepaired, and the write guard
// (which sees our own status since) must keep it from writing again.
func TestStalePrefetchedWritesOnce(t *testing.T) {
	e := newEnv(t, scenario)
	ctx := context.Background()
	client, err := e.cc.NewInstallationClient(7)
	if err != nil {
		t.Fatal(err)
	}
	ref := widgets.PR(1)
	pr, err := ghapi.ReadPR(ctx, client, ref)
	if err != nil {
		t.Fatal(err)
	}
	files, err := ghapi.ReadFiles(ctx, client, ref, pr.ChangedFiles)
	if err != nil {
		t.Fatal(err)
	}
	statuses, err := ghapi.ReadStatuses(ctx, client, ref, pr.HeadSHA)
	if err != nil {
		t.Fatal(err)
	}
	stale := &Prefetched{PR: pr, Files: &files, Statuses: statuses}
	first, err := e.rec.Reconcile(ctx, ref, Trigger{Event: "pull_request"})
	if err != nil || first.Writes != 2 {
		t.Fatalf("first reconcile: %d writes, %v", first.Writes, err)
	}
	// (The grace period is 0 here, so pull-unit is re-triggered again.)
	const statusWrite = "POST /repos/{owner}/{repo}/statuses/{sha}"
	before := e.gh.Stats().Writes.ByRoute[statusWrite]
	rep, err := e.rec.Reconcile(ctx, ref, Trigger{Event: "sweep", Prefetched: stale})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.gh.Stats().Writes.ByRoute[statusWrite] - before; n != 0 {
		t.Errorf("the stale snapshot wrote the skip again (%d status writes): %v", n, verdicts(rep))
	}
	if got := verdicts(rep)["pull-docs"]; got != "satisfied / none" {
		t.Errorf("pull-docs: %q, want it satisfied by the first skip", got)
	}
}

// TestFileListKeptByHead: a re-check of an unchanged PR reads none of its
// file pages (the list of a head against a base never changes), a new head
// reads its own.
func TestFileListKeptByHead(t *testing.T) {
	sc := strings.Replace(scenario, "files: [{filename: pkg/a.go, status: modified}]", "files: [{filename: pkg/a.go, status: modified}]\n        generated_files: 249", 1)
	e := newEnv(t, sc)
	opts := e.rec.opts
	opts.Cache = ghapi.NewCache(32 << 20)
	rec := New(opts)
	ctx := context.Background()
	const files = "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"
	check := func(what string, wantPages int64) {
		t.Helper()
		e.gh.ResetStats()
		rep, err := rec.Reconcile(ctx, widgets.PR(1), Trigger{Event: "test", DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.gh.Stats().ByRoute[files]; got != wantPages {
			t.Errorf("%s: %d file pages read, want %d", what, got, wantPages)
		}
		if got := verdicts(rep)["pull-docs"]; got != "skip / would set status success" {
			t.Errorf("%s: pull-docs %q", what, got)
		}
	}
	check("first check", 3)
	check("re-check", 0)
	if err := e.gh.Event(ctx, fakegithub.Event{Type: "pull_request.synchronize", Repo: "acme/widgets", Number: 1,
		HeadSHA: "1111111111111111111111111111111111111112", Files: []fakegithub.File{{Filename: "pkg/b.go", Status: "modified"}}}); err != nil {
		t.Fatal(err)
	}
	check("new head", 1)
}
