package main

// A property of the whole app against random interleavings of what happens
// to pull requests: after every interleaving has settled, each passing
// result of fix-status's that GitHub counts on a PR's head is one a fresh
// check of the PR (a new reconciler, in dry run, as `fix-status check`
// runs it) calls fix-status's own valid skip (satisfied, own_skip).

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

// propRequired are what main and release require.
var propRequired = []string{"pull-unit", "pull-docs", "build"}

// The rule variants pushed to a base branch: the Prow jobs' file filters,
// and the build workflow's paths.
var (
	propUnit  = []string{`^pkg/`, `^(pkg|docs)/`, `^src/`}
	propDocs  = []string{`^docs/`, `^(docs|pkg)/`, `README`}
	propBuild = []string{`['src/**']`, `['src/**', 'docs/**']`, `['**.md']`}
	propFiles = []string{"docs/guide.md", "pkg/a.go", "src/main.c", "README.md"}
)

func propJobs(unit, docs string) string {
	return "presubmits:\n  acme/widgets:\n  - name: pull-unit\n    run_if_changed: '" + unit + "'\n  - name: pull-docs\n    run_if_changed: '" + docs + "'\n"
}

func propWorkflow(paths string) string {
	return "on:\n  pull_request:\n    paths: " + paths + "\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps: [{run: make}]\n"
}

const propConfig = "version: 1\nsources: {prow: [prow], actions: true}\n"

// propRoutes are the requests an interleaving may hold while it changes
// the world: each of the reconcile's reads, the write guard's, a write.
var propRoutes = []string{routePull, routeFiles, routeStatuses, routeChecks, "GET /repos/{owner}/{repo}/git/ref/{ref}", routeStatus}

// propRun is one interleaving against the running app.
type propRun struct {
	t     *testing.T
	h     *harness
	rng   *rand.Rand
	prs   []int
	steps []string
	// events counts the changes made (the steps also note the holds).
	events int
}

func (r *propRun) logf(format string, args ...any) {
	r.steps = append(r.steps, fmt.Sprintf(format, args...))
}

// files picks a PR's changed files; now and then the PR edits the Prow
// config itself (its head's rules are then read too).
func (r *propRun) files() []fakegithub.File {
	var out []fakegithub.File
	for _, f := range propFiles {
		if r.rng.IntN(3) == 0 {
			out = append(out, fakegithub.File{Filename: f, Status: "modified"})
		}
	}
	if r.rng.IntN(6) == 0 {
		jobs := propJobs(propUnit[r.rng.IntN(len(propUnit))], propDocs[r.rng.IntN(len(propDocs))])
		out = append(out, fakegithub.File{Filename: "prow/jobs.yaml", Status: "modified", Content: &jobs})
	}
	if len(out) == 0 {
		out = append(out, fakegithub.File{Filename: propFiles[r.rng.IntN(len(propFiles))], Status: "modified"})
	}
	return out
}

func names(fs []fakegithub.File) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Filename)
	}
	return strings.Join(out, ",")
}

// open opens a PR on a random base.
func (r *propRun) open() {
	base := []string{"main", "release"}[r.rng.IntN(2)]
	fs := r.files()
	n := r.h.event(r.t, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat", Base: base, Title: "property", Files: fs}).Number
	r.prs = append(r.prs, n)
	r.events++
	r.logf("open #%d on %s: %s", n, base, names(fs))
}

// change makes one random change to the world, as GitHub would, with its
// webhook.
func (r *propRun) change() {
	t, h := r.t, r.h
	r.events++
	n := r.prs[r.rng.IntN(len(r.prs))]
	switch k := r.rng.IntN(10); {
	case k < 3:
		fs := r.files()
		h.event(t, fakegithub.Event{Type: "pull_request.synchronize", Repo: widgetsRepo, Number: n, Files: fs})
		r.logf("push to #%d: %s", n, names(fs))
	case k < 5:
		base := map[string]string{"main": "release", "release": "main"}[h.pull(t, widgetsRepo, n).Base]
		h.event(t, fakegithub.Event{Type: "pull_request.edited", Repo: widgetsRepo, Number: n, Base: base})
		r.logf("retarget #%d to %s", n, base)
	case k < 7:
		branch := []string{"main", "release"}[r.rng.IntN(2)]
		files := map[string]string{}
		if r.rng.IntN(2) == 0 {
			files["prow/jobs.yaml"] = propJobs(propUnit[r.rng.IntN(len(propUnit))], propDocs[r.rng.IntN(len(propDocs))])
		} else {
			files[".github/workflows/build.yml"] = propWorkflow(propBuild[r.rng.IntN(len(propBuild))])
		}
		h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: branch, User: "octocat", Contents: files})
		r.logf("push rules to %s: %v", branch, files)
	default:
		sha := h.pull(t, widgetsRepo, n).HeadSHA
		ctx := propRequired[r.rng.IntN(len(propRequired))]
		state := []string{"success", "failure", "pending"}[r.rng.IntN(3)]
		if r.rng.IntN(2) == 0 {
			h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: sha, Context: ctx, State: state, Creator: "prow"})
			r.logf("prow reports %s %s on #%d", ctx, state, n)
			return
		}
		ev := fakegithub.Event{Type: "check_run.completed", Repo: widgetsRepo, SHA: sha, Name: ctx, AppID: 4242, Conclusion: state}
		if state == "pending" {
			ev = fakegithub.Event{Type: "check_run.created", Repo: widgetsRepo, SHA: sha, Name: ctx, AppID: 4242, Status: "in_progress"}
		}
		h.event(t, ev)
		r.logf("other-ci reports check run %s %s on #%d", ctx, state, n)
	}
}

// held holds one of fix-status's requests, makes a change that sets a
// reconcile going, and, once the request is held (if the reconcile gets
// there), makes another change while it waits.
func (r *propRun) held() {
	route := propRoutes[r.rng.IntN(len(propRoutes))]
	hold := r.h.gh.Hold(route)
	defer hold.Release()
	r.change()
	if r.arrivedOrIdle(hold) {
		r.logf("(held %s)", route)
		r.change()
	} else {
		r.logf("(nothing reached %s)", route)
	}
}

// arrivedOrIdle waits until the held request arrives (true) or fix-status
// has nothing left to do without it (false).
func (r *propRun) arrivedOrIdle(hold *fakegithub.Held) bool {
	deadline := time.Now().Add(e2eWait)
	for time.Now().Before(deadline) {
		select {
		case <-hold.Arrived():
			return true
		default:
		}
		if r.h.srv.svc.Idle() {
			select {
			case <-hold.Arrived():
				return true
			case <-time.After(5 * time.Millisecond):
			}
			if r.h.srv.svc.Idle() {
				return false
			}
		}
		time.Sleep(time.Millisecond)
	}
	r.t.Fatal("timed out waiting for a held request or an idle service")
	return false
}

// violations checks the property on PR n: what fix-status left on its head
// against a fresh dry-run check.
func violations(ctx context.Context, fresh *reconcile.Reconciler, st *fakegithub.State, repo plan.RepoRef, n int) ([]string, error) {
	p := pull(st, widgetsRepo, n)
	fresh.InvalidateBranch(repo, "")
	rep, err := fresh.Reconcile(ctx, repo.PR(n), reconcile.Trigger{Event: "check", DryRun: true})
	if err != nil {
		return nil, err
	}
	if rep.HeadSHA != p.HeadSHA {
		return nil, fmt.Errorf("the fresh check read head %s, the PR's is %s", rep.HeadSHA, p.HeadSHA)
	}
	decided := map[string]plan.Decision{}
	for _, d := range rep.Decisions {
		decided[strings.ToLower(d.Context)] = d
	}
	var out []string
	for _, c := range propRequired {
		// What GitHub counts for c: the latest status of the context, and
		// every app's check run of that name. fix-status posts skips as
		// statuses; its skip lets the PR merge when it is the latest status
		// and no other app's check run is required beside it.
		var latest *fakegithub.StateStatus
		for i, s := range p.Statuses {
			if strings.EqualFold(s.Context, c) && (latest == nil || s.ID > latest.ID) {
				latest = &p.Statuses[i]
			}
		}
		if latest == nil || latest.Creator != bot || latest.State != "success" {
			continue
		}
		beside := false
		for _, cr := range p.CheckRuns {
			beside = beside || (strings.EqualFold(cr.Name, c) && cr.Creator != bot)
		}
		if d := decided[c]; !beside && (d.Verdict != plan.Satisfied || d.Cause != plan.CauseOwnSkip) {
			out = append(out, fmt.Sprintf("%s: fix-status's skip is what GitHub shows (%q), a fresh check says %s (%s): %s", c, latest.Description, d.Verdict, d.Cause, d.Reason))
		}
	}
	return out, nil
}

// TestE2EPropertyNoUnsafeSkip drives random interleavings of synchronize
// pushes, retargets, pushes of rule files to the bases and other CI's
// results against the emulator, through serve, with one of fix-status's
// requests held while the world changes where the interleaving says so.
// After each settles, the property above must hold on every PR it touched.
// The seed is logged (FIX_STATUS_PROPERTY_SEED replays its choices); it
// runs up to 200 interleavings within 20 s (25 within 5 s under -short).
func TestE2EPropertyNoUnsafeSkip(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FIX_STATUS_PROPERTY_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("FIX_STATUS_PROPERTY_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (FIX_STATUS_PROPERTY_SEED=%d replays the interleavings' choices)", seed, seed)
	maxRuns, budget := 200, 20*time.Second
	if testing.Short() {
		maxRuns, budget = 25, 5*time.Second
	}
	const coalesce = 5 * time.Millisecond
	scenario := widgets{required: propRequired, repoConfig: propConfig, jobs: propJobs(propUnit[0], propDocs[0]),
		files:    map[string]string{".github/workflows/build.yml": propWorkflow(propBuild[0])},
		branches: releaseBranch(propRequired...)}.yaml()
	// Hundreds of interleavings make more requests than GitHub's 5,000 an
	// hour.
	scenario = strings.Replace(scenario, "repos: [acme/widgets]}", "repos: [acme/widgets], rate_limit: 1000000}", 1)
	h := newHarness(t, scenario, harnessOptions{coalesce: coalesce})
	h.releaseRules(t, map[string]string{".github/fix-status.yml": propConfig, "prow/jobs.yaml": propJobs(propUnit[1], propDocs[0]),
		".github/workflows/build.yml": propWorkflow(propBuild[1])})
	ctx := context.Background()
	fresh, err := wire(ctx, h.cfg, wireOptions{logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	repo := plan.RepoRef{InstallationID: 7, Owner: "acme", Repo: "widgets"}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	start := time.Now()
	runs, events, held := 0, 0, 0
	for runs < maxRuns && time.Since(start) < budget {
		runs++
		r := &propRun{t: t, h: h, rng: rng}
		for range 1 + rng.IntN(2) {
			r.open()
		}
		for range 2 + rng.IntN(5) {
			if rng.IntN(3) == 0 {
				r.held()
				held++
			} else {
				r.change()
			}
		}
		events += r.events
		h.settleFor(t, 8*coalesce)
		st := h.gh.State()
		for _, n := range r.prs {
			bad, err := violations(ctx, fresh.rec, st, repo, n)
			if err == nil && len(bad) == 0 {
				continue
			}
			t.Fatalf("interleaving %d (seed %d), #%d: %v %s\nsteps:\n  %s\nwhat fix-status wrote on #%d: %q",
				runs, seed, n, err, strings.Join(bad, "; "), strings.Join(r.steps, "\n  "), n, writesBy(pull(st, widgetsRepo, n), bot))
		}
		// Closed without a webhook: the next interleavings' pushes do not
		// re-check them.
		for _, n := range r.prs {
			h.quietly(t, fakegithub.Event{Type: "pull_request.closed", Repo: widgetsRepo, Number: n})
		}
	}
	t.Logf("%d interleavings (%d events, %d holds) in %s", runs, events, held, time.Since(start).Round(time.Millisecond))
}
