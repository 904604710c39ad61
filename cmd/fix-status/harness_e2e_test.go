package main

// End-to-end tests over real HTTP: the emulator (app/fakegithub) delivers
// signed webhooks to the server newServer builds (go-githubapp's dispatcher,
// the handlers, the service's queue) listening on 127.0.0.1:0, the app reads
// and writes through go-githubapp's client creator, and every test asserts
// what the emulator then holds: the statuses, check runs and comments a user
// would see on the pull request.
//
// The tests see what fix-status decided through the service's OnReport hook
// (each reconcile's outcome, after its writes) and what it did through the
// emulator's state. Waiting is done by polling those until a deadline, never
// by sleeping and then asserting.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/serve"
	"github.com/fix-status/fix-status/config"
)

// e2eWait bounds every wait; reconciles take milliseconds, the bound is for
// slow machines and -race.
const e2eWait = 20 * time.Second

// e2eCoalesce is the service's coalescing window in tests.
const e2eCoalesce = 50 * time.Millisecond

type harnessOptions struct {
	// grace and stale override the repair config (default 0: no grace
	// period, so a job that should have run is re-triggered at once; and
	// pending results never turn stale).
	grace, stale time.Duration
	// coalesce is the service's window (default e2eCoalesce).
	coalesce time.Duration
	// workers of the service (default 4).
	workers int
	// queueSize bounds the service's queue (default the config's).
	queueSize int
	// latency is added by the emulator to every API answer.
	latency time.Duration
	// apiWriteHooks makes the emulator send the webhooks the app's own
	// writes cause, as GitHub does.
	apiWriteHooks bool
	// catchUp keeps the start-up sweep and delivery recovery on (off by
	// default: most tests count every request).
	catchUp bool
	// prow names central Prow job configs (prow.job_config).
	prow []string
	// logLevel is logging.level (default the config's, info).
	logLevel string
	// now is the server's clock (default time.Now; the emulator keeps the
	// wall clock, which its tokens' expiry needs).
	now func() time.Time
	// clock, when set, is the emulator's and the server's clock, and the
	// governor's waits move it (pacing takes no time).
	clock *movingClock
	// gh, when set, is the emulator to serve (the scenario is then
	// ignored): a second server on the same GitHub, as after a restart.
	gh *fakegithub.Server
}

// movingClock is a clock that only waits move: Sleep moves it to the end
// of the wait at once (several waits at the same time move it to the
// latest end, not by their sum), so pacing takes no time and both sides of
// a rate limit agree on every window.
type movingClock struct {
	mu  sync.Mutex
	now time.Time
}

func newMovingClock() *movingClock { return &movingClock{now: time.Now()} }

func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep moves the clock to now+d, unless another wait moved it further.
func (c *movingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	if end := c.now.Add(d); end.After(c.now) {
		c.now = end
	}
	c.mu.Unlock()
	return ctx.Err()
}

// harness is one emulator and one fix-status server wired to it.
type harness struct {
	gh      *fakegithub.Server
	cfg     *config.Server
	srv     *server
	hookURL string
	logPath string
	deliver atomic.Int64

	mu sync.Mutex
	// outs are the outcomes of every reconcile, in the order they ended;
	// handlerErrs the errors webhook handlers returned.
	outs        []serve.Outcome
	handlerErrs []error
	// stop stops the server (as SIGTERM does) and returns run's error.
	stop func() error
}

func newHarness(t testing.TB, scenario string, o harnessOptions) *harness {
	t.Helper()
	emu := fakegithub.Options{Latency: o.latency, WebhooksForAPIWrites: o.apiWriteHooks}
	var sleep func(context.Context, time.Duration) error
	if o.clock != nil {
		emu.Now, o.now, sleep = o.clock.Now, o.clock.Now, o.clock.Sleep
	}
	gh := o.gh
	if gh == nil {
		gh = fakegithubtest.Start(t, scenario, emu)
	}
	cfg := fakegithubtest.ServerConfig(gh)
	cfg.Repair.GracePeriod.Duration = o.grace
	cfg.Repair.StalePendingAfter.Duration = o.stale
	cfg.Repair.SweepInterval.Duration = 0
	cfg.Prow.JobConfig = o.prow
	if o.logLevel != "" {
		cfg.Logging.Level = o.logLevel
	}
	if o.coalesce == 0 {
		o.coalesce = e2eCoalesce
	}
	logFile, err := os.Create(filepath.Join(t.TempDir(), "fix-status.log"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{gh: gh, cfg: cfg, logPath: logFile.Name()}
	srv, err := newServer(ctx, cfg, serverOptions{listener: ln, logOut: logFile, onHandlerError: h.handlerError, noCatchUp: !o.catchUp, now: o.now, sleep: sleep,
		service: serve.Options{Coalesce: o.coalesce, Workers: o.workers, MaxPending: o.queueSize, RetryBackoff: 100 * time.Millisecond, OnReport: h.report}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.run(ctx) }()
	var once sync.Once
	var runErr error
	h.srv, h.hookURL = srv, srv.URL()+WebhookRoute
	h.stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("server stopped with: %v", err)
		}
		// The log stays open: run does not wait for the dispatcher's
		// handlers, which may still log (the file goes with TempDir).
		if t.Failed() {
			h.dumpLog(t)
		}
	})
	deadline := time.Now().Add(e2eWait)
	for {
		resp, err := http.Get(srv.URL() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	gh.SetWebhookURL(h.hookURL)
	return h
}

// writeConfig writes cfg as a server config file (as register writes one)
// and returns its path.
func writeConfig(t testing.TB, cfg *config.Server) string {
	t.Helper()
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (h *harness) dumpLog(t testing.TB) {
	data, _ := os.ReadFile(h.logPath)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	t.Logf("fix-status log (last %d lines):\n%s", len(lines), strings.Join(lines, "\n"))
}

// event applies an emulator event and checks its webhook was accepted.
func (h *harness) event(t testing.TB, ev fakegithub.Event) *fakegithub.EventResult {
	t.Helper()
	res, err := h.gh.Apply(context.Background(), ev)
	if err != nil {
		t.Fatalf("event %s: %v", ev.Type, err)
	}
	if !res.Delivered || res.StatusCode != http.StatusOK {
		t.Fatalf("event %s: delivered %v, status %d, skipped %q", ev.Type, res.Delivered, res.StatusCode, res.Skipped)
	}
	return res
}

// quietly changes the emulator's state without delivering the webhook (to
// deliver GitHub's own example payload for that change instead).
func (h *harness) quietly(t testing.TB, ev fakegithub.Event) *fakegithub.EventResult {
	t.Helper()
	h.gh.SetWebhookURL("")
	defer h.gh.SetWebhookURL(h.hookURL)
	res, err := h.gh.Apply(context.Background(), ev)
	if err != nil {
		t.Fatalf("event %s: %v", ev.Type, err)
	}
	return res
}

// post delivers a raw webhook the way GitHub does; sig is the
// X-Hub-Signature-256 value ("" leaves the header out). It returns the
// answer's status code and body.
func (h *harness) post(t testing.TB, event string, body []byte, sig string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.hookURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/e2e")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("e2e-%d", h.deliver.Add(1)))
	switch {
	case strings.HasPrefix(sig, "sha1="):
		req.Header.Set("X-Hub-Signature", sig)
	case sig != "":
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// postSigned delivers body signed with the app's webhook secret and wants a
// 2xx answer.
func (h *harness) postSigned(t testing.TB, event string, body []byte) {
	t.Helper()
	code, msg := h.post(t, event, body, fakegithub.SignPayload(h.gh.WebhookSecret(), body))
	if code/100 != 2 {
		t.Fatalf("%s webhook answered %d: %s", event, code, msg)
	}
}

// fixture reads one of GitHub's example payloads from testdata/webhooks-e2e
// and adapts it to the scenario: adapt sets fields by dotted path.
func fixture(t testing.TB, name string, adapt map[string]any) []byte {
	t.Helper()
	return fakegithubtest.Payload(t, filepath.Join("..", "..", "testdata", "webhooks-e2e", name), adapt)
}

// waitState polls the emulator's state until cond holds.
func (h *harness) waitState(t testing.TB, what string, cond func(*fakegithub.State) bool) *fakegithub.State {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for {
		st := h.gh.State()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; state of the pulls: %s", what, pullsSummary(st))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pull returns a PR from a state.
func pull(st *fakegithub.State, repo string, n int) *fakegithub.StatePull {
	for i := range st.Repos {
		if !strings.EqualFold(st.Repos[i].Name, repo) {
			continue
		}
		for j := range st.Repos[i].Pulls {
			if st.Repos[i].Pulls[j].Number == n {
				return &st.Repos[i].Pulls[j]
			}
		}
	}
	return nil
}

func (h *harness) pull(t testing.TB, repo string, n int) *fakegithub.StatePull {
	t.Helper()
	p := pull(h.gh.State(), repo, n)
	if p == nil {
		t.Fatalf("no pull %s#%d", repo, n)
	}
	return p
}

// latestStatus is the newest status of a context on the PR head (nil if none).
func latestStatus(p *fakegithub.StatePull, context string) *fakegithub.StateStatus {
	var out *fakegithub.StateStatus
	for i := range p.Statuses {
		if strings.EqualFold(p.Statuses[i].Context, context) {
			out = &p.Statuses[i]
		}
	}
	return out
}

// writesBy lists what login wrote on the PR: statuses, check runs and
// comments, one line each, in order.
func writesBy(p *fakegithub.StatePull, login string) []string {
	var out []string
	for _, s := range p.Statuses {
		if s.Creator == login {
			out = append(out, "status "+s.Context+" "+s.State+": "+s.Description)
		}
	}
	for _, c := range p.CheckRuns {
		if c.Creator == login {
			out = append(out, "check_run "+c.Name+" "+c.Status+"/"+c.Conclusion+": "+c.Summary)
		}
	}
	for _, c := range p.Comments {
		if c.User == login {
			out = append(out, "comment "+firstLine(c.Body))
		}
	}
	return out
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

const bot = "fix-status[bot]"

func pullsSummary(st *fakegithub.State) string {
	var b strings.Builder
	for _, r := range st.Repos {
		for _, p := range r.Pulls {
			fmt.Fprintf(&b, "\n  %s#%d:", r.Name, p.Number)
			for _, s := range p.Statuses {
				fmt.Fprintf(&b, "\n    status %s=%s by %s (%s)", s.Context, s.State, s.Creator, s.Description)
			}
			for _, c := range p.CheckRuns {
				fmt.Fprintf(&b, "\n    check_run %s=%s/%s by %s", c.Name, c.Status, c.Conclusion, c.Creator)
			}
			for _, c := range p.Comments {
				fmt.Fprintf(&b, "\n    comment by %s: %q", c.User, firstLine(c.Body))
			}
		}
	}
	return b.String()
}

func (h *harness) report(o serve.Outcome) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.outs = append(h.outs, o)
}

func (h *harness) handlerError(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handlerErrs = append(h.handlerErrs, err)
}

// mark is the number of outcomes so far: waits look only at what follows.
func (h *harness) mark() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.outs)
}

// outcomes returns the outcomes after mark.
func (h *harness) outcomes(mark int) []serve.Outcome {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]serve.Outcome(nil), h.outs[mark:]...)
}

// decision is one decision of a reconcile, with what was done for it.
type decision struct {
	PR, Trigger, Context, Verdict, Reason, Action string
}

// decisions lists the decisions of the outcomes after mark that match.
func (h *harness) decisions(mark int, match func(serve.Outcome) bool) []decision {
	var out []decision
	for _, o := range h.outcomes(mark) {
		if o.Report == nil || !match(o) {
			continue
		}
		for i, d := range o.Report.Decisions {
			out = append(out, decision{PR: o.PR.String(), Trigger: o.Trigger, Context: d.Context,
				Verdict: string(d.Verdict), Reason: d.Reason, Action: o.Report.Actions[i]})
		}
	}
	return out
}

// waitDecisions waits, after mark, for a decision on each of contexts of pr
// and returns the latest per context.
func (h *harness) waitDecisions(t testing.TB, mark int, pr string, contexts ...string) map[string]decision {
	t.Helper()
	return h.waitDecisionsOf(t, mark, pr, func(o serve.Outcome) bool { return o.PR.String() == pr }, contexts...)
}

// waitDecisionsOf waits, after mark, for a decision on each of contexts in
// the outcomes that match (what names them) and returns the latest per
// context.
func (h *harness) waitDecisionsOf(t testing.TB, mark int, what string, match func(serve.Outcome) bool, contexts ...string) map[string]decision {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for {
		got := map[string]decision{}
		for _, d := range h.decisions(mark, match) {
			got[d.Context] = d
		}
		all := true
		for _, c := range contexts {
			if _, ok := got[c]; !ok {
				all = false
			}
		}
		if all {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for decisions on %v of %s; got %+v", contexts, what, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitOutcome waits, after mark, for an outcome matching cond.
func (h *harness) waitOutcome(t testing.TB, mark int, what string, cond func(serve.Outcome) bool) serve.Outcome {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for {
		for _, o := range h.outcomes(mark) {
			if cond(o) {
				return o
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitHandlerError waits for a webhook handler error that says want.
func (h *harness) waitHandlerError(t testing.TB, want string) error {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for {
		h.mu.Lock()
		errs := append([]error(nil), h.handlerErrs...)
		h.mu.Unlock()
		for _, err := range errs {
			if strings.Contains(err.Error(), want) {
				return err
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for a handler error saying %q; got %v", want, errs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle waits until fix-status is quiet: the service idle and no API
// request for four coalescing windows. It is for asserting that something
// did not happen (a webhook's handler may still be reading when it starts).
func (h *harness) settle(t testing.TB) {
	t.Helper()
	h.settleFor(t, 4*e2eCoalesce)
}

// settleFor is settle with another quiet window (for a harness with a
// shorter coalescing window).
func (h *harness) settleFor(t testing.TB, quiet time.Duration) {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	last, since := h.gh.Stats().Requests, time.Now()
	for {
		time.Sleep(5 * time.Millisecond)
		n := h.gh.Stats().Requests
		if n != last || !h.srv.svc.Idle() {
			last, since = n, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for fix-status to settle")
		}
	}
}

// metric scrapes /metrics and returns the value of one series (0 if absent),
// e.g. metric(`fix_status_webhook_events_total{event="status"}`).
func (h *harness) metric(t testing.TB, series string) float64 {
	t.Helper()
	resp, err := http.Get(h.srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", line, err)
			}
			return v
		}
	}
	return 0
}

func (h *harness) waitMetric(t testing.TB, series string, atLeast float64) {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for h.metric(t, series) < atLeast {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s >= %v", series, atLeast)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantVerdicts compares decisions with "verdict: reason" (or just the
// verdict when the wanted string has no colon; a trailing "*" matches any
// end, for reasons that count time).
func wantVerdicts(t testing.TB, got map[string]decision, want map[string]string) {
	t.Helper()
	for ctx, w := range want {
		d, ok := got[ctx]
		if !ok {
			t.Errorf("%s: no decision", ctx)
			continue
		}
		g := d.Verdict
		if strings.Contains(w, ": ") {
			g += ": " + d.Reason
		}
		if prefix, ok := strings.CutSuffix(w, "*"); (ok && !strings.HasPrefix(g, prefix)) || (!ok && g != w) {
			t.Errorf("%s: got %q, want %q", ctx, g, w)
		}
	}
}

// widgets describes the acme/widgets scenario most tests use: Prow jobs in
// prow/ named by the repo config, on branch main.
type widgets struct {
	// required are the contexts classic protection requires on main
	// (default pull-unit).
	required []string
	// rules is the YAML list of rules for main (indented for the key).
	rules string
	// repoConfig replaces .github/fix-status.yml.
	repoConfig string
	// jobs replaces prow/jobs.yaml.
	jobs string
	// pulls is YAML for repos[0].pulls.
	pulls string
	// files are more files on main.
	files map[string]string
	// branches is YAML for more branches (indented for the key).
	branches string
	// extra is appended to the scenario (more repos).
	extra string
}

const widgetsConfig = `version: 1
sources: {prow: [prow]}
`

const widgetsJobs = `presubmits:
  acme/widgets:
  - name: pull-docs
    run_if_changed: '^docs/'
  - name: pull-unit
    run_if_changed: '^pkg/'
  - name: pull-lint
    run_if_changed: '^pkg/'
  - name: pull-manual
    always_run: false
`

func (w widgets) yaml() string {
	if w.required == nil {
		w.required = []string{"pull-unit"}
	}
	if w.repoConfig == "" {
		w.repoConfig = widgetsConfig
	}
	if w.jobs == "" {
		w.jobs = widgetsJobs
	}
	var b strings.Builder
	b.WriteString(`app: {id: 1, slug: fix-status, webhook_secret: s3cret}
apps:
  - {id: 4242, slug: other-ci}
installations:
  - {id: 7, account: acme, account_type: Organization, repos: [acme/widgets]}
repos:
  - name: acme/widgets
    default_branch: main
    collaborators: {octocat: write, reader: read}
    files:
      main:
        README.md: "hello\n"
        .github/fix-status.yml: |
`)
	b.WriteString(indentYAML(w.repoConfig, 10))
	b.WriteString("        prow/jobs.yaml: |\n")
	b.WriteString(indentYAML(w.jobs, 10))
	names := make([]string, 0, len(w.files))
	for name := range w.files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b.WriteString("        " + name + ": |\n" + indentYAML(w.files[name], 10))
	}
	b.WriteString(`    branches:
      main:
        protection:
          required_status_checks:
            strict: false
            contexts: [` + strings.Join(w.required, ", ") + `]
`)
	if w.rules != "" {
		b.WriteString("        rules:\n" + indentYAML(w.rules, 10))
	}
	if w.branches != "" {
		b.WriteString(indentYAML(w.branches, 6))
	}
	if w.pulls != "" {
		b.WriteString("    pulls:\n" + indentYAML(w.pulls, 6))
	}
	b.WriteString(w.extra)
	return b.String()
}

func indentYAML(s string, n int) string {
	pad := strings.Repeat(" ", n)
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if l != "" {
			b.WriteString(pad)
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

const widgetsRepo = "acme/widgets"

// openPR opens a pull request on acme/widgets through the emulator (the
// pull_request.opened webhook carries the PR) and returns its number.
func (h *harness) openPR(t testing.TB, user string, files ...string) int {
	t.Helper()
	ev := fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: user, Title: "Change " + strings.Join(files, ", ")}
	for _, f := range files {
		ev.Files = append(ev.Files, fakegithub.File{Filename: f, Status: "modified", Additions: 1})
	}
	return h.event(t, ev).Number
}

func prName(n int) string { return widgetsRepo + "#" + strconv.Itoa(n) }

// presetPulls are open PRs of acme/widgets in the scenario (no webhook was
// sent for them): #1 changes docs/guide.md and README.md, #2 and #3
// docs/guide.md.
const presetPulls = `- {number: 1, title: One, user: octocat, base: main, files: [{filename: docs/guide.md, status: modified}, {filename: README.md, status: modified}]}
- {number: 2, title: Two, user: octocat, base: main, files: [{filename: docs/guide.md, status: modified}]}
- {number: 3, title: Three, user: octocat, base: main, files: [{filename: docs/guide.md, status: modified}]}
`

// comment posts a PR comment through the emulator (issue_comment webhook).
func (h *harness) comment(t testing.TB, n int, user, body string) int64 {
	t.Helper()
	return h.event(t, fakegithub.Event{Type: "issue_comment.created", Repo: widgetsRepo, Number: n, User: user, Body: body}).CommentID
}

// waitReply waits for fix-status's nth reply to user on a PR (a comment
// that starts with "@user ").
func (h *harness) waitReply(t testing.TB, pr int, user string, nth int) string {
	t.Helper()
	var replies []string
	h.waitState(t, fmt.Sprintf("fix-status's reply #%d to %s on #%d", nth, user, pr), func(st *fakegithub.State) bool {
		replies = nil
		if p := pull(st, widgetsRepo, pr); p != nil {
			for _, c := range p.Comments {
				if c.User == bot && strings.HasPrefix(c.Body, "@"+user+" ") {
					replies = append(replies, c.Body)
				}
			}
		}
		return len(replies) >= nth
	})
	return replies[nth-1]
}

func countComments(p *fakegithub.StatePull, user string) int {
	n := 0
	for _, c := range p.Comments {
		if c.User == user {
			n++
		}
	}
	return n
}

func reactions(p *fakegithub.StatePull, commentID int64) []string {
	var out []string
	for _, c := range p.Comments {
		if c.ID == commentID {
			for _, r := range c.Reactions {
				out = append(out, r.User+":"+r.Content)
			}
		}
	}
	return out
}
