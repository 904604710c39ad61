package main

// End-to-end tests over real HTTP: the emulator (app/fakegithub) delivers
// signed webhooks to the server newServer builds (go-githubapp's dispatcher,
// the handlers, the service's queue) listening on 127.0.0.1:0, the app reads
// and writes through go-githubapp's client creator, and every test asserts
// what the emulator then holds: the statuses, check runs and comments a user
// would see on the pull request.
//
// Waiting is done by polling (the emulator's state, or the decision log lines
// the reconciler writes after it has applied its writes) until a deadline,
// never by sleeping and then asserting.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
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

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/plan"
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
	// latency is added by the emulator to every API answer.
	latency time.Duration
	// apiWriteHooks makes the emulator send the webhooks the app's own
	// writes cause, as GitHub does.
	apiWriteHooks bool
}

// harness is one emulator and one fix-status server wired to it.
type harness struct {
	gh      *fakegithub.Server
	cfg     *config.Server
	srv     *server
	hookURL string
	logPath string
	deliver atomic.Int64
	// stop stops the server (as SIGTERM does) and returns run's error.
	stop func() error
}

func newHarness(t testing.TB, scenario string, o harnessOptions) *harness {
	t.Helper()
	gh := fakegithubtest.Start(t, scenario, fakegithub.Options{Latency: o.latency, WebhooksForAPIWrites: o.apiWriteHooks})
	cfg := fakegithubtest.ServerConfig(gh)
	cfg.Repair.GracePeriod.Duration = o.grace
	cfg.Repair.StalePendingAfter.Duration = o.stale
	cfg.Repair.SweepInterval.Duration = 0
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
	srv, err := newServer(ctx, cfg, serverOptions{listener: ln, logOut: logFile,
		service: serve.Options{Coalesce: o.coalesce, Workers: o.workers, RetryBackoff: 100 * time.Millisecond}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.run(ctx) }()
	var once sync.Once
	var runErr error
	h := &harness{gh: gh, cfg: cfg, srv: srv, hookURL: srv.URL() + WebhookRoute, logPath: logFile.Name(),
		stop: func() error {
			once.Do(func() { cancel(); runErr = <-done })
			return runErr
		}}
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

// decision is one decision log line of the reconciler: it writes one per
// required context after it has applied the writes.
type decision struct {
	PR      string `json:"pr"`
	Trigger string `json:"trigger"`
	Context string `json:"context"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	Action  string `json:"action"`
}

// logLine is any log line, for the fields the tests look at.
type logLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
	Error   string `json:"error"`
	decision
}

// logMark is the current end of the log: waits look only at what follows.
func (h *harness) logMark() int64 {
	fi, err := os.Stat(h.logPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logLines reads the complete log lines written after mark.
func (h *harness) logLines(mark int64) []logLine {
	f, err := os.Open(h.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(mark, io.SeekStart); err != nil {
		return nil
	}
	var out []logLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<22)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// waitDecisions waits, after mark, for a decision on each of contexts of pr
// and returns the latest per context.
func (h *harness) waitDecisions(t testing.TB, mark int64, pr string, contexts ...string) map[string]decision {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for {
		got := map[string]decision{}
		for _, l := range h.logLines(mark) {
			if l.Message == "decision" && l.decision.PR == pr {
				got[l.decision.Context] = l.decision
			}
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
			t.Fatalf("timed out waiting for decisions on %v of %s; got %+v", contexts, pr, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle waits until fix-status is quiet: the service idle and no API
// request for four coalescing windows. It is for asserting that something
// did not happen (a webhook's handler may still be reading when it starts).
func (h *harness) settle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	quiet := 4 * e2eCoalesce
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

// waitLog waits, after mark, for a log line matching cond.
func (h *harness) waitLog(t testing.TB, mark int64, what string, cond func(logLine) bool) logLine {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for {
		for _, l := range h.logLines(mark) {
			if cond(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for a log line: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
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

// TestE2EVerdictSkip: a PR that touches no file a required job watches gets
// a passing "skipped" result from fix-status, as a status or as a check run
// (report_as), linking to the rule that decided.
func TestE2EVerdictSkip(t *testing.T) {
	t.Parallel()
	for _, reportAs := range []string{"status", "check_run"} {
		t.Run(reportAs, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, widgets{repoConfig: widgetsConfig + "report_as: " + reportAs + "\n"}.yaml(), harnessOptions{})
			mark := h.logMark()
			n := h.openPR(t, "octocat", "docs/guide.md")
			ds := h.waitDecisions(t, mark, prName(n), "pull-unit")
			wantVerdicts(t, ds, map[string]string{"pull-unit": "skip: Skipped: no changed file matches run_if_changed ^pkg/"})
			p := h.pull(t, widgetsRepo, n)
			const desc = "Skipped: no changed file matches run_if_changed ^pkg/"
			if reportAs == "status" {
				st := latestStatus(p, "pull-unit")
				if st == nil || st.State != "success" || st.Creator != bot || st.Description != desc ||
					!strings.HasSuffix(st.TargetURL, "/acme/widgets/blob/"+p.BaseSHA+"/prow/jobs.yaml#L5") {
					t.Errorf("skip status: %+v", st)
				}
				if len(p.CheckRuns) != 0 {
					t.Errorf("check runs: %+v", p.CheckRuns)
				}
			} else {
				if len(p.CheckRuns) != 1 || p.CheckRuns[0].Name != "pull-unit" || p.CheckRuns[0].Status != "completed" ||
					p.CheckRuns[0].Conclusion != "skipped" || p.CheckRuns[0].Creator != bot || p.CheckRuns[0].Summary != desc {
					t.Errorf("skip check run: %+v", p.CheckRuns)
				}
				if len(p.Statuses) != 0 {
					t.Errorf("statuses: %+v", p.Statuses)
				}
			}
			if len(p.Comments) != 0 {
				t.Errorf("comments: %+v", p.Comments)
			}
		})
	}
}

// TestE2EVerdictReported: what the CI reported, passing (satisfied) or not
// (failing: for humans), fix-status leaves alone when it re-checks on the
// status and check run webhooks.
func TestE2EVerdictReported(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		verdict, status, conclusion string
		want                        map[string]string
	}{
		{"satisfied", "success", "neutral", map[string]string{
			"pull-unit": "satisfied: status reported success",
			"pull-lint": "satisfied: check run reported neutral",
		}},
		{"failing", "failure", "timed_out", map[string]string{
			"pull-unit": "failing: status reported failure",
			"pull-lint": "failing: check run reported timed_out",
		}},
	} {
		t.Run(tt.verdict, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, widgets{required: []string{"pull-unit", "pull-lint"}}.yaml(), harnessOptions{grace: time.Hour})
			mark := h.logMark()
			n := h.openPR(t, "octocat", "pkg/a.go")
			h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint")
			sha := h.pull(t, widgetsRepo, n).HeadSHA
			mark = h.logMark()
			h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: sha, Context: "pull-unit", State: tt.status, Creator: "prow"})
			h.event(t, fakegithub.Event{Type: "check_run.completed", Repo: widgetsRepo, SHA: sha, Name: "pull-lint", Conclusion: tt.conclusion, AppID: 4242})
			ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint")
			for ds["pull-lint"].Verdict != tt.verdict {
				// The status webhook's re-check may have run before the
				// check run was reported; the check run's own webhook
				// re-checks again.
				ds = h.waitDecisions(t, h.logMark(), prName(n), "pull-lint")
			}
			wantVerdicts(t, ds, tt.want)
			if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 0 {
				t.Errorf("fix-status wrote: %q", w)
			}
		})
	}
}

// TestE2EVerdictWaiting: a job that reported pending, and a job that should
// run but is still inside the grace period, are waited for: nothing written.
func TestE2EVerdictWaiting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-lint"}}.yaml(), harnessOptions{grace: time.Hour, stale: 2 * time.Hour})
	mark := h.logMark()
	n := h.openPR(t, "octocat", "pkg/a.go")
	ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "waiting: should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported; grace period ends in *",
		"pull-lint": "waiting: should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported; grace period ends in *",
	})
	mark = h.logMark()
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: h.pull(t, widgetsRepo, n).HeadSHA, Context: "pull-unit",
		State: "pending", Creator: "prow", Description: "Job triggered."})
	ds = h.waitDecisions(t, mark, prName(n), "pull-unit")
	wantVerdicts(t, ds, map[string]string{"pull-unit": "waiting: status is pending"})
	if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 0 {
		t.Errorf("fix-status wrote: %q", w)
	}
}

// TestE2EVerdictRetrigger: a job that should have run and never reported is
// re-triggered after the grace period with its rerun command, in one
// comment that carries a marker per context.
func TestE2EVerdictRetrigger(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-lint"}}.yaml(), harnessOptions{})
	mark := h.logMark()
	n := h.openPR(t, "octocat", "pkg/a.go")
	ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "retrigger: should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported",
		"pull-lint": "retrigger",
	})
	p := h.pull(t, widgetsRepo, n)
	if len(p.Comments) != 1 || p.Comments[0].User != bot {
		t.Fatalf("comments: %+v", p.Comments)
	}
	body := p.Comments[0].Body
	for _, want := range []string{"/test pull-unit\n", "/test pull-lint\n",
		`<!-- fix-status retrigger context="pull-unit" sha=` + p.HeadSHA + ` -->`,
		`<!-- fix-status retrigger context="pull-lint" sha=` + p.HeadSHA + ` -->`} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	if len(p.Statuses) != 0 {
		t.Errorf("statuses: %+v", p.Statuses)
	}
}

// TestE2EVerdictRevoke: fix-status skipped a job, then a push to the base
// branch changed the job's rule so that it runs for this PR: the push
// re-checks the branch's open PRs, the skip is set back to pending and the
// job is re-triggered.
func TestE2EVerdictRevoke(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{}.yaml(), harnessOptions{})
	mark := h.logMark()
	n := h.openPR(t, "octocat", "docs/guide.md")
	ds := h.waitDecisions(t, mark, prName(n), "pull-unit")
	wantVerdicts(t, ds, map[string]string{"pull-unit": "skip"})

	mark = h.logMark()
	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat",
		Contents: map[string]string{"prow/jobs.yaml": strings.Replace(widgetsJobs, "run_if_changed: '^pkg/'", "run_if_changed: '^(pkg|docs)/'", 1)}})
	ds = h.waitDecisions(t, mark, prName(n), "pull-unit")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "revoke: our earlier skip is wrong now: run_if_changed ^(pkg|docs)/ matches docs/guide.md",
	})
	p := h.pull(t, widgetsRepo, n)
	st := latestStatus(p, "pull-unit")
	if st == nil || st.State != "pending" || st.Creator != bot || !strings.HasPrefix(st.Description, "fix-status revoked its skip: ") {
		t.Errorf("revoked status: %+v", st)
	}
	if len(p.Comments) != 1 || !strings.HasPrefix(p.Comments[0].Body, "/test pull-unit\n") {
		t.Errorf("comments: %+v", p.Comments)
	}
}

// TestE2EVerdictBlocked: a manual job cannot be repaired: nothing written,
// the reason is in the decision.
func TestE2EVerdictBlocked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-manual"}}.yaml(), harnessOptions{})
	mark := h.logMark()
	n := h.openPR(t, "octocat", "pkg/a.go")
	ds := h.waitDecisions(t, mark, prName(n), "pull-manual")
	wantVerdicts(t, ds, map[string]string{"pull-manual": "blocked: manual job, runs only when requested: /test pull-manual"})
	if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 0 {
		t.Errorf("fix-status wrote: %q", w)
	}
}

// changed makes a PR file list with content at the PR head.
func changed(files map[string]string) []fakegithub.File {
	var out []fakegithub.File
	for name, content := range files {
		c := content
		out = append(out, fakegithub.File{Filename: name, Status: "modified", Content: &c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Filename < out[j].Filename })
	return out
}

// TestE2EInvariant1RulesFromBase: a PR that changes the file defining a job
// is judged by the base branch's rules, and skipped only if its own version
// of the rules (read by the emulator's contents API at the PR head SHA) says
// the job would not run either.
func TestE2EInvariant1RulesFromBase(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-docs"}}.yaml(), harnessOptions{})
	widen := strings.Replace(widgetsJobs, "'^docs/'", "'^(docs|prow)/'", 1)
	drop := strings.Replace(widgetsJobs, "  - name: pull-docs\n    run_if_changed: '^docs/'\n", "", 1)
	harmless := widgetsJobs + "# a comment\n"
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"widens its own rule", map[string]string{"prow/jobs.yaml": widen},
			"blocked: this PR changes prow/jobs.yaml; with its changes: run_if_changed ^(docs|prow)/ matches prow/jobs.yaml"},
		{"removes its own job", map[string]string{"prow/jobs.yaml": drop},
			"blocked: this PR changes prow/jobs.yaml; with its changes: no job defines it"},
		{"breaks the rules", map[string]string{"prow/jobs.yaml": "presubmits: [\n"},
			"blocked: this PR changes prow/jobs.yaml and its rules cannot be read: *"},
		{"rewrites the repo config", map[string]string{".github/fix-status.yml": "version: 1\n"},
			"blocked: this PR changes .github/fix-status.yml; with its changes: no job defines it"},
		{"changes the rules harmlessly", map[string]string{"prow/jobs.yaml": harmless},
			"skip: Skipped: no changed file matches run_if_changed ^docs/"},
	}
	for _, c := range cases {
		mark := h.logMark()
		n := h.event(t, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat", Title: c.name, Files: changed(c.files)}).Number
		ds := h.waitDecisions(t, mark, prName(n), "pull-docs")
		wantVerdicts(t, ds, map[string]string{"pull-docs": c.want})
		w := writesBy(h.pull(t, widgetsRepo, n), bot)
		if strings.HasPrefix(c.want, "skip") != (len(w) == 1) {
			t.Errorf("%s: fix-status wrote %q", c.name, w)
		}
	}
}

// manyFiles names n changed files under dir.
func manyFiles(dir string, n int) []fakegithub.File {
	out := make([]fakegithub.File, n)
	for i := range out {
		out[i] = fakegithub.File{Filename: fmt.Sprintf("%s/file-%05d.go", dir, i+1), Status: "added", Additions: 1}
	}
	return out
}

// TestE2EInvariant2IncompleteFileList: past 3,000 files GitHub's PR files
// API stops listing, and GitHub Actions evaluates path filters on the first
// 300 files only: then nothing is skipped.
func TestE2EInvariant2IncompleteFileList(t *testing.T) {
	t.Parallel()
	const workflow = `name: Docs
on:
  pull_request:
    paths: ['docs/**']
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make docs
`
	h := newHarness(t, widgets{
		required:   []string{"pull-docs", "build"},
		repoConfig: "version: 1\nsources: {prow: [prow], actions: true}\n",
		files:      map[string]string{".github/workflows/docs.yml": workflow},
	}.yaml(), harnessOptions{})
	cases := []struct {
		files int
		want  map[string]string
	}{
		{3001, map[string]string{
			"pull-docs": "blocked: cannot tell if it runs: the changed-file list is incomplete (3000 files listed)",
			"build":     "blocked: cannot tell if it runs: 3000 changed files; GitHub Actions evaluates only the first 300"}},
		{301, map[string]string{
			"pull-docs": "skip: Skipped: no changed file matches run_if_changed ^docs/",
			"build":     "blocked: cannot tell if it runs: 301 changed files; GitHub Actions evaluates only the first 300"}},
		{300, map[string]string{
			"pull-docs": "skip",
			"build":     "skip: Skipped: no changed file matches paths [docs/**]"}},
	}
	for _, c := range cases {
		mark := h.logMark()
		n := h.event(t, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat",
			Title: fmt.Sprintf("%d files", c.files), Files: manyFiles("gen", c.files)}).Number
		ds := h.waitDecisions(t, mark, prName(n), "pull-docs", "build")
		wantVerdicts(t, ds, c.want)
		p := h.pull(t, widgetsRepo, n)
		for ctx, w := range c.want {
			st := latestStatus(p, ctx)
			if strings.HasPrefix(w, "skip") != (st != nil && st.State == "success" && st.Creator == bot) {
				t.Errorf("%d files, %s: status %+v", c.files, ctx, st)
			}
		}
		if len(p.Comments) != 0 || len(p.CheckRuns) != 0 {
			t.Errorf("%d files: fix-status wrote %q", c.files, writesBy(p, bot))
		}
	}
}

// TestE2EInvariant3PinnedCheck: a required check pinned to another app
// cannot be satisfied by fix-status; one pinned to fix-status itself can.
func TestE2EInvariant3PinnedCheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit"}, rules: `- type: required_status_checks
  parameters:
    required_status_checks:
      - {context: pull-docs, integration_id: 4242}
      - {context: pull-lint, integration_id: 1}
`}.yaml(), harnessOptions{})
	mark := h.logMark()
	n := h.openPR(t, "octocat", "README.md")
	ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-docs", "pull-lint")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "skip",
		"pull-docs": "blocked: would not run (no changed file matches run_if_changed ^docs/), but the check is pinned to app 4242",
		"pull-lint": "skip: Skipped: no changed file matches run_if_changed ^pkg/",
	})
	p := h.pull(t, widgetsRepo, n)
	if st := latestStatus(p, "pull-docs"); st != nil {
		t.Errorf("fix-status reported the pinned check: %+v", st)
	}
	for _, ctx := range []string{"pull-unit", "pull-lint"} {
		if st := latestStatus(p, ctx); st == nil || st.State != "success" || st.Creator != bot {
			t.Errorf("%s: %+v", ctx, st)
		}
	}
}

// TestE2EInvariant4NeverBesideOthers: a context someone else reported (as a
// status or a check run) is never written beside, even when its job would
// not run for this PR.
func TestE2EInvariant4NeverBesideOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-lint", "pull-docs"}, pulls: `- number: 1
  title: Update the README
  user: octocat
  base: main
  files: [{filename: README.md, status: modified}]
  statuses:
    - {context: pull-unit, state: pending, creator: prow, description: Job triggered.}
    - {context: pull-docs, state: error, creator: prow, description: Pod was evicted.}
  check_runs:
    - {name: pull-lint, status: in_progress, app_id: 4242}
`}.yaml(), harnessOptions{})
	sha := h.pull(t, widgetsRepo, 1).HeadSHA
	mark := h.logMark()
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: sha, Context: "ci/other", State: "success", Creator: "jenkins"})
	ds := h.waitDecisions(t, mark, prName(1), "pull-unit", "pull-lint", "pull-docs")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "waiting: status is pending",
		"pull-lint": "waiting: check run is in_progress",
		"pull-docs": "failing: status reported error",
	})
	if w := writesBy(h.pull(t, widgetsRepo, 1), bot); len(w) != 0 {
		t.Errorf("fix-status wrote beside others' results: %q", w)
	}
}

// TestE2EInvariant5UnknownContext: a required context no known job defines
// is never skipped.
func TestE2EInvariant5UnknownContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"mystery", "pull-unit"}}.yaml(), harnessOptions{})
	mark := h.logMark()
	n := h.openPR(t, "octocat", "README.md")
	ds := h.waitDecisions(t, mark, prName(n), "mystery", "pull-unit")
	wantVerdicts(t, ds, map[string]string{"mystery": "blocked: no job defines it", "pull-unit": "skip"})
	if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 1 || !strings.HasPrefix(w[0], "status pull-unit success") {
		t.Errorf("fix-status wrote: %q", w)
	}
}

// TestE2EInvariant6Errors: when the rules cannot be read (bad regex, bad
// YAML, an unknown key, an API error), nothing is written for the required
// contexts and the error reaches people as fix-status's own "fix-status"
// status, naming the file and the problem; once the rules read fine again
// that status turns to success and the repairs are made.
func TestE2EInvariant6Errors(t *testing.T) {
	t.Parallel()
	fixedJobs := map[string]string{"prow/jobs.yaml": widgetsJobs}
	fixedConfig := map[string]string{".github/fix-status.yml": widgetsConfig}
	cases := []struct {
		name    string
		w       widgets
		fault   *fakegithub.Fault
		want    string // prefix of the fix-status status description
		fix     map[string]string
		trigger bool // after the fault passed, any event re-checks
	}{
		{name: "bad regex", w: widgets{repoConfig: widgetsConfig + "contexts:\n  - {context: ci/docs, run_if_changed: '^docs/('}\n"},
			want: `cannot read the job rules: .github/fix-status.yml: line 4: contexts[0] (ci/docs): invalid run_if_changed regex "^docs/("`, fix: fixedConfig},
		{name: "bad Prow YAML", w: widgets{jobs: "presubmits:\n  acme/widgets: [\n"},
			want: "cannot read the job rules: prow/jobs.yaml", fix: fixedJobs},
		{name: "unknown key in the repo config", w: widgets{repoConfig: "version: 1\nsorces: {prow: [prow]}\n"},
			want: "cannot read the job rules: acme/widgets@main:.github/fix-status.yml: ", fix: fixedConfig},
		{name: "repo config is not YAML", w: widgets{repoConfig: "version: [1\n"},
			want: "cannot read the job rules: ", fix: fixedConfig},
		{name: "API error", fault: &fakegithub.Fault{Route: "GET /repos/{owner}/{repo}/contents/{path}", Status: 502, Count: 1},
			want: "cannot read the job rules: ", trigger: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.w.required = []string{"pull-unit", "pull-docs"}
			h := newHarness(t, c.w.yaml(), harnessOptions{})
			if c.fault != nil {
				h.gh.Fault(*c.fault)
			}
			mark := h.logMark()
			n := h.openPR(t, "octocat", "README.md")
			ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-docs")
			for ctx, d := range ds {
				if d.Verdict != "blocked" || !strings.HasPrefix(d.Reason, "cannot read the job rules: ") {
					t.Errorf("%s: %s: %s", ctx, d.Verdict, d.Reason)
				}
			}
			p := h.pull(t, widgetsRepo, n)
			st := latestStatus(p, plan.RulesStatusContext)
			if st == nil || st.State != "error" || st.Creator != bot || !strings.HasPrefix(st.Description, c.want) {
				t.Fatalf("fix-status status: %+v, want a description starting %q", st, c.want)
			}
			if w := writesBy(p, bot); len(w) != 1 {
				t.Errorf("fix-status wrote: %q", w)
			}
			// The whole error is logged (the status is cut at 140
			// characters): for an API error, with GitHub's answer.
			l := h.waitLog(t, mark, "the rules error", func(l logLine) bool { return l.Message == "cannot read the job rules" })
			if l.Level != "warn" || l.decision.PR != prName(n) || (c.fault != nil && !strings.Contains(l.Error, "502")) {
				t.Errorf("log: %+v", l)
			}
			if c.fault == nil {
				// /fix-status answers with the same reason.
				h.comment(t, n, "octocat", "/fix-status")
				reply := h.waitReply(t, n, "octocat", 1)
				if !strings.Contains(reply, "| `pull-unit` | blocked | cannot read the job rules: ") || !strings.Contains(reply, "| none |") {
					t.Errorf("reply:\n%s", reply)
				}
				if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 2 {
					t.Errorf("fix-status wrote: %q", w)
				}
			}

			mark = h.logMark()
			if c.trigger {
				h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: p.HeadSHA, Context: "ci/other", State: "success", Creator: "jenkins"})
			} else {
				h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat", Contents: c.fix})
			}
			ds = h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-docs")
			wantVerdicts(t, ds, map[string]string{"pull-unit": "skip", "pull-docs": "skip"})
			p = h.pull(t, widgetsRepo, n)
			if st := latestStatus(p, plan.RulesStatusContext); st == nil || st.State != "success" || st.Description != "job rules read fine" {
				t.Errorf("fix-status status after the fix: %+v", st)
			}
		})
	}
}

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

// TestE2EFixStatusCommand: /fix-status reacts, re-checks the PR now,
// repairs it and replies with a Markdown table; a second /fix-status within
// a minute only gets a "confused" reaction.
func TestE2EFixStatusCommand(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-docs"}, pulls: presetPulls}.yaml(), harnessOptions{})
	id := h.comment(t, 1, "octocat", "Looks stuck.\n/fix-status\n")
	reply := h.waitReply(t, 1, "octocat", 1)
	p := h.pull(t, widgetsRepo, 1)
	short := p.HeadSHA[:7]
	want := "@octocat fix-status checked the required contexts of " + short + ":\n\n" +
		"| Context | Verdict | Reason | Action |\n|---|---|---|---|\n" +
		"| `pull-unit` | skip | Skipped: no changed file matches run_if_changed ^pkg/ | set status success |\n" +
		"| `pull-docs` | retrigger | should run (run_if_changed ^docs/ matches docs/guide.md) and has not reported | comment /test pull-docs |\n" +
		"\n1 skip, 1 retrigger; 2 write(s).\n"
	if reply != want {
		t.Errorf("reply:\n%s\nwant:\n%s", reply, want)
	}
	if r := reactions(p, id); len(r) != 1 || r[0] != bot+":eyes" {
		t.Errorf("reactions: %v", r)
	}
	if st := latestStatus(p, "pull-unit"); st == nil || st.State != "success" || st.Creator != bot {
		t.Errorf("skip status: %+v", st)
	}
	if countComments(p, bot) != 2 || !strings.HasPrefix(writesBy(p, bot)[1], "comment /test pull-docs") {
		t.Errorf("fix-status wrote: %q", writesBy(p, bot))
	}

	// Again within the minute: a "confused" reaction, no check, no reply.
	before := h.gh.Stats().Writes.Total
	id2 := h.comment(t, 1, "octocat", "/fix-status")
	h.waitState(t, "a confused reaction", func(st *fakegithub.State) bool {
		return len(reactions(pull(st, widgetsRepo, 1), id2)) == 1
	})
	p = h.pull(t, widgetsRepo, 1)
	if r := reactions(p, id2); r[0] != bot+":confused" {
		t.Errorf("reactions: %v", r)
	}
	if got := h.gh.Stats().Writes.Total - before; got != 1 || countComments(p, bot) != 2 {
		t.Errorf("a refused /fix-status made %d writes; fix-status comments: %d", got, countComments(p, bot))
	}

	// Only a line that is the command alone runs it.
	mark := h.logMark()
	h.comment(t, 2, "octocat", "please run `/fix-status` later")
	h.comment(t, 2, "octocat", "/fix-status")
	h.waitReply(t, 2, "octocat", 1)
	if lines := h.logLines(mark); countDecisions(lines, prName(2)) != 2 {
		t.Errorf("want one check of #2 (2 decisions), got %d decisions", countDecisions(lines, prName(2)))
	}
}

func countDecisions(lines []logLine, pr string) int {
	n := 0
	for _, l := range lines {
		if l.Message == "decision" && l.decision.PR == pr {
			n++
		}
	}
	return n
}

// TestE2EFixStatusCommandPolicy: with commands.fix_status: collaborators,
// only collaborators may run /fix-status; re-running CI needs write
// permission whatever the policy.
func TestE2EFixStatusCommandPolicy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-docs"}, pulls: presetPulls,
		repoConfig: widgetsConfig + "commands: {fix_status: collaborators}\n"}.yaml(), harnessOptions{})

	h.comment(t, 1, "stranger", "/fix-status")
	if got, want := h.waitReply(t, 1, "stranger", 1), "@stranger fix-status did not check this pull request: only collaborators may run /fix-status on acme/widgets.\n"; got != want {
		t.Errorf("reply to a stranger: %q, want %q", got, want)
	}
	if w := writesBy(h.pull(t, widgetsRepo, 1), bot); len(w) != 1 {
		t.Errorf("fix-status wrote for a stranger: %q", w)
	}

	h.comment(t, 2, "reader", "/fix-status")
	reply := h.waitReply(t, 2, "reader", 1)
	if !strings.Contains(reply, "| `pull-docs` | retrigger | should run (run_if_changed ^docs/ matches docs/guide.md) and has not reported; re-running CI needs write permission | none |") ||
		!strings.Contains(reply, "| `pull-unit` | skip |") {
		t.Errorf("reply to a reader:\n%s", reply)
	}
	p := h.pull(t, widgetsRepo, 2)
	if w := writesBy(p, bot); len(w) != 2 || !strings.HasPrefix(w[0], "status pull-unit success") {
		t.Errorf("fix-status wrote for a reader: %q", w)
	}

	h.comment(t, 3, "octocat", "/fix-status")
	if reply := h.waitReply(t, 3, "octocat", 1); !strings.Contains(reply, "| comment /test pull-docs |") {
		t.Errorf("reply to a writer:\n%s", reply)
	}
}

// hello is the scenario of GitHub's example payloads: Codertocat/Hello-World
// with PR #2 (head ec26c3e5 "changes" → master f95f852b, README.md changed)
// in installation 1, as the payloads say; Codertocat/Space is not installed.
const hello = `
app: {id: 1, slug: fix-status, webhook_secret: s3cret}
apps:
  - {id: 29310, slug: octocoders-linter}
installations:
  - {id: 1, account: Codertocat, repos: [Codertocat/Hello-World]}
repos:
  - name: Codertocat/Hello-World
    default_branch: master
    files:
      master:
        README.md: "# Hello-World\n"
        .github/fix-status.yml: |
          version: 1
          contexts:
            - {context: ci/docs, run_if_changed: '^docs/'}
            - {context: ci/build, paths: ['src/**']}
    branches:
      master:
        sha: f95f852bd8fca8fcc58a9a2d6c842781e32a215e
        protection:
          required_status_checks: {strict: false, contexts: [ci/docs]}
    pulls:
      - number: 2
        title: Update the README with new information.
        user: Codertocat
        base: master
        head: changes
        head_sha: ec26c3e57ca3a959ca5aad62de7213c562f8c821
        files: [{filename: README.md, status: modified}]
  - name: Codertocat/Space
    default_branch: master
    files:
      master:
        .github/fix-status.yml: |
          version: 1
          contexts:
            - {context: ci/docs, run_if_changed: '^docs/'}
    branches:
      master:
        protection:
          required_status_checks: {strict: false, contexts: [ci/docs]}
    pulls:
      - {number: 1, title: Launch, user: Codertocat, base: master, files: [{filename: main.go, status: added}]}
`

const (
	helloRepo = "Codertocat/Hello-World"
	helloPR   = "Codertocat/Hello-World#2"
	helloHead = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
)

// helloRepository is the repository object of GitHub's own payloads.
func helloRepository(t testing.TB) any {
	var m map[string]any
	if err := json.Unmarshal(fixture(t, "pull_request/opened.json", nil), &m); err != nil {
		t.Fatal(err)
	}
	return m["repository"]
}

// TestE2EGitHubPayloads delivers GitHub's own example payloads (adapted to
// the scenario where the scenario and the examples must agree), signed with
// X-Hub-Signature-256, and checks what fix-status did on the PR. The
// emulator's state is changed first, without its webhook, to what the
// example describes.
func TestE2EGitHubPayloads(t *testing.T) {
	t.Parallel()
	h := newHarness(t, hello, harnessOptions{})
	inst := map[string]any{"id": 1, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}

	// pull_request.opened, as GitHub sent it (it names installation 1, PR
	// #2 and its head, which the scenario copies).
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "webhooks-e2e", "pull_request", "opened.json"))
	if err != nil {
		t.Fatal(err)
	}
	mark := h.logMark()
	h.postSigned(t, "pull_request", raw)
	ds := h.waitDecisions(t, mark, helloPR, "ci/docs")
	wantVerdicts(t, ds, map[string]string{"ci/docs": "skip: Skipped: no changed file matches run_if_changed ^docs/"})
	if d := ds["ci/docs"]; d.Trigger != "pull_request.opened" {
		t.Errorf("trigger: %q", d.Trigger)
	}
	p := h.pull(t, helloRepo, 2)
	if st := latestStatus(p, "ci/docs"); st == nil || st.State != "success" || st.Creator != bot {
		t.Fatalf("ci/docs: %+v", st)
	}

	// issue_comment.created: the example comments on issue #1; here the
	// comment is /fix-status on PR #2.
	id := h.quietly(t, fakegithub.Event{Type: "issue_comment.created", Repo: helloRepo, Number: 2, User: "Codertocat", Body: "/fix-status"}).CommentID
	h.postSigned(t, "issue_comment", fixture(t, "issue_comment/created.json", map[string]any{
		"installation": inst, "issue.number": 2, "comment.id": id, "comment.body": "/fix-status",
		"issue.pull_request": map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"},
	}))
	st := h.waitState(t, "the /fix-status reply", func(st *fakegithub.State) bool {
		return countComments(pull(st, helloRepo, 2), bot) == 1
	})
	p = pull(st, helloRepo, 2)
	reply := writesBy(p, bot)[1]
	if want := "comment @Codertocat fix-status checked the required contexts of ec26c3e:"; reply != want {
		t.Errorf("reply: %q, want %q", reply, want)
	}
	if body := p.Comments[len(p.Comments)-1].Body; !strings.Contains(body, "| `ci/docs` | satisfied | already skipped by fix-status: no changed file matches run_if_changed ^docs/ | none |") {
		t.Errorf("reply:\n%s", body)
	}
	if r := reactions(p, id); len(r) != 1 || r[0] != bot+":eyes" {
		t.Errorf("reactions: %v", r)
	}

	// branch_protection_rule.edited: the example edits octo-org/octo-repo;
	// here master of Hello-World now requires ci/build too.
	h.quietly(t, fakegithub.Event{Type: "branch_protection_rule.edited", Repo: helloRepo, Branch: "master",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: []string{"ci/docs", "ci/build"}}}})
	mark = h.logMark()
	h.postSigned(t, "branch_protection_rule", fixture(t, "branch_protection_rule/edited.json", map[string]any{
		"installation": inst, "repository": helloRepository(t), "rule.name": "master", "rule.required_status_checks": []string{"ci/docs", "ci/build"},
	}))
	ds = h.waitDecisions(t, mark, helloPR, "ci/docs", "ci/build")
	wantVerdicts(t, ds, map[string]string{"ci/docs": "satisfied", "ci/build": "skip: Skipped: no changed file matches paths [src/**]"})

	// push: the example deletes a tag; here it changes the repo config on
	// master so that ci/docs runs for README.md: the skip is revoked.
	newConfig := "version: 1\ncontexts:\n  - {context: ci/docs, run_if_changed: '^(docs/|README)'}\n  - {context: ci/build, paths: ['src/**']}\n"
	sha := h.quietly(t, fakegithub.Event{Type: "push", Repo: helloRepo, Branch: "master", User: "Codertocat",
		Contents: map[string]string{".github/fix-status.yml": newConfig}}).SHA
	commit := map[string]any{"id": sha, "message": "Run ci/docs for the README", "timestamp": "2019-05-15T15:20:30Z", "distinct": true,
		"added": []string{}, "removed": []string{}, "modified": []string{".github/fix-status.yml"},
		"author": map[string]any{"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com", "username": "Codertocat"}}
	mark = h.logMark()
	h.postSigned(t, "push", fixture(t, "push/event.json", map[string]any{
		"installation": inst, "ref": "refs/heads/master", "before": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "after": sha,
		"deleted": false, "commits": []any{commit}, "head_commit": commit,
	}))
	ds = h.waitDecisions(t, mark, helloPR, "ci/docs")
	wantVerdicts(t, ds, map[string]string{"ci/docs": "revoke: our earlier skip is wrong now: run_if_changed ^(docs/|README) matches README.md"})
	if st := latestStatus(h.pull(t, helloRepo, 2), "ci/docs"); st == nil || st.State != "pending" || st.Creator != bot {
		t.Errorf("revoked ci/docs: %+v", st)
	}

	// status: the example reports "default" on the initial commit; here the
	// CI reports ci/docs success on the PR head.
	h.quietly(t, fakegithub.Event{Type: "status", Repo: helloRepo, SHA: helloHead, Context: "ci/docs", State: "success", Creator: "Codertocat"})
	mark = h.logMark()
	h.postSigned(t, "status", fixture(t, "status/event.with-installation.json", map[string]any{
		"installation": inst, "sha": helloHead, "commit.sha": helloHead, "context": "ci/docs", "state": "success",
	}))
	ds = h.waitDecisions(t, mark, helloPR, "ci/docs")
	wantVerdicts(t, ds, map[string]string{"ci/docs": "satisfied: status reported success"})

	// check_run.completed: the example's run is on the PR head already.
	mark = h.logMark()
	h.postSigned(t, "check_run", fixture(t, "check_run/completed.json", map[string]any{"installation": inst}))
	ds = h.waitDecisions(t, mark, helloPR, "ci/docs", "ci/build")
	if ds["ci/docs"].Trigger != "check_run.completed" {
		t.Errorf("trigger: %+v", ds["ci/docs"])
	}

	// installation_repositories.added: Codertocat/Space joins installation 1.
	h.quietly(t, fakegithub.Event{Type: "installation_repositories.added", InstallationID: 1, Repos: []string{"Codertocat/Space"}})
	mark = h.logMark()
	h.postSigned(t, "installation_repositories", fixture(t, "installation_repositories/added.json", map[string]any{"installation.id": 1}))
	ds = h.waitDecisions(t, mark, "Codertocat/Space#1", "ci/docs")
	wantVerdicts(t, ds, map[string]string{"ci/docs": "skip"})
	if st := latestStatus(h.pull(t, "Codertocat/Space", 1), "ci/docs"); st == nil || st.State != "success" || st.Creator != bot {
		t.Errorf("Space#1 ci/docs: %+v", st)
	}
	if w := writesBy(h.pull(t, helloRepo, 2), bot); len(w) != 4 {
		t.Errorf("fix-status wrote on Hello-World#2: %q", w)
	}
}

// TestE2EInvariant7Idempotent: checking an unchanged PR again writes
// nothing, whatever triggers the check (another CI's status, a redelivery
// of the same webhook).
func TestE2EInvariant7Idempotent(t *testing.T) {
	t.Parallel()
	created := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-docs"}, pulls: `- number: 1
  title: Docs
  user: octocat
  base: main
  created_at: ` + created + `
  files: [{filename: docs/guide.md, status: modified}]
`}.yaml(), harnessOptions{grace: 10 * time.Minute})
	sha := h.pull(t, widgetsRepo, 1).HeadSHA
	mark := h.logMark()
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: sha, Context: "ci/other", State: "success", Creator: "jenkins"})
	ds := h.waitDecisions(t, mark, prName(1), "pull-unit", "pull-docs")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "skip",
		"pull-docs": "retrigger: should run (run_if_changed ^docs/ matches docs/guide.md) and has not reported",
	})
	first := writesBy(h.pull(t, widgetsRepo, 1), bot)
	if len(first) != 2 {
		t.Fatalf("first check wrote %q", first)
	}
	delivery := h.gh.Deliveries()
	last := delivery[len(delivery)-1]

	writes := h.gh.Stats().Writes.Total
	mark = h.logMark()
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: sha, Context: "ci/other", State: "success", Creator: "jenkins"})
	ds = h.waitDecisions(t, mark, prName(1), "pull-unit", "pull-docs")
	wantVerdicts(t, ds, map[string]string{
		"pull-unit": "satisfied: already skipped by fix-status: no changed file matches run_if_changed ^pkg/",
		"pull-docs": "waiting: should run (run_if_changed ^docs/ matches docs/guide.md) and has not reported; grace period ends in *",
	})

	mark = h.logMark()
	h.postSigned(t, last.Event, last.Payload) // GitHub's redelivery
	h.waitDecisions(t, mark, prName(1), "pull-unit", "pull-docs")
	if got := h.gh.Stats().Writes.Total - writes; got != 0 {
		t.Errorf("checking the unchanged PR again made %d writes", got)
	}
	if again := writesBy(h.pull(t, widgetsRepo, 1), bot); len(again) != len(first) {
		t.Errorf("fix-status wrote again: %q", again[len(first):])
	}
}

// TestE2EInvariant8Signatures: a webhook with a forged, missing or stale
// signature is rejected with 400 and causes nothing; the same payload
// correctly signed is handled. Events caused by fix-status itself (its own
// statuses, check runs and comments, as GitHub sends them) are ignored.
func TestE2EInvariant8Signatures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, hello, harnessOptions{apiWriteHooks: true})
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "webhooks-e2e", "pull_request", "opened.json"))
	if err != nil {
		t.Fatal(err)
	}
	secret := h.gh.WebhookSecret()
	tampered := bytes.Replace(body, []byte(`"changed_files": 1`), []byte(`"changed_files": 0`), 1)
	for _, c := range []struct {
		name string
		body []byte
		sig  string
	}{
		{"forged", body, fakegithub.SignPayload("not-the-secret", body)},
		{"missing", body, ""},
		{"body changed after signing", tampered, fakegithub.SignPayload(secret, body)},
		{"not hex", body, "sha256=zz"},
		// go-github alone would accept GitHub's older SHA-1 signature.
		{"SHA-1 only", body, "sha1=" + hmacSHA1(secret, body)},
	} {
		if code, msg := h.post(t, "pull_request", c.body, c.sig); code != http.StatusBadRequest {
			t.Errorf("%s signature: answered %d %q, want 400", c.name, code, msg)
		}
	}
	st := h.gh.Stats()
	if st.RateLimitUsed["1"] != 0 || st.Writes.Total != 0 || h.metric(t, `fix_status_webhook_events_total{event="pull_request.opened"}`) != 0 {
		t.Fatalf("rejected webhooks caused work: %d requests charged, %d writes", st.RateLimitUsed["1"], st.Writes.Total)
	}

	mark := h.logMark()
	h.postSigned(t, "pull_request", body)
	h.waitDecisions(t, mark, helloPR, "ci/docs")
	if w := writesBy(h.pull(t, helloRepo, 2), bot); len(w) != 1 {
		t.Fatalf("fix-status wrote %q", w)
	}
	// From here on, only the other CI's status below may cause a check.
	mark = h.logMark()

	// The emulator sends the status webhook of fix-status's own skip (in
	// the background: wait for it by the events counter); send its own
	// status, check run and /fix-status comment too.
	h.waitMetric(t, `fix_status_webhook_events_total{event="status"}`, 1)
	inst := map[string]any{"id": 1}
	h.postSigned(t, "check_run", fixture(t, "check_run/completed.json", map[string]any{"installation": inst, "check_run.app.id": 1,
		"check_run.app.slug": "fix-status", "sender.login": bot, "sender.type": "Bot"}))
	id := h.quietly(t, fakegithub.Event{Type: "issue_comment.created", Repo: helloRepo, Number: 2, User: bot, Body: "/fix-status"}).CommentID
	h.postSigned(t, "issue_comment", fixture(t, "issue_comment/created.json", map[string]any{
		"installation": inst, "issue.number": 2, "comment.id": id, "comment.body": "/fix-status",
		"comment.user.login": bot, "comment.user.type": "Bot", "sender.login": bot, "sender.type": "Bot",
		"issue.pull_request": map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2"},
	}))
	h.postSigned(t, "status", fixture(t, "status/event.with-installation.json", map[string]any{"installation": inst,
		"sha": helloHead, "commit.sha": helloHead, "context": "ci/docs", "sender.login": bot, "sender.type": "Bot"}))
	h.waitMetric(t, `fix_status_webhook_events_total{event="status"}`, 2)
	h.waitMetric(t, `fix_status_webhook_events_total{event="check_run.completed"}`, 1)
	h.waitMetric(t, `fix_status_webhook_events_total{event="issue_comment.created"}`, 1)
	h.settle(t)
	// A person's /fix-status now: its check is the only one since mark.
	h.event(t, fakegithub.Event{Type: "issue_comment.created", Repo: helloRepo, Number: 2, User: "Codertocat", Body: "/fix-status"})
	h.waitState(t, "the reply to Codertocat", func(st *fakegithub.State) bool {
		for _, c := range pull(st, helloRepo, 2).Comments {
			if c.User == bot && strings.HasPrefix(c.Body, "@Codertocat ") {
				return true
			}
		}
		return false
	})
	// The reply's own webhook, after the two comments above.
	h.waitMetric(t, `fix_status_webhook_events_total{event="issue_comment.created"}`, 3)
	h.settle(t)
	for _, l := range h.logLines(mark) {
		if l.Message == "decision" && l.Trigger != "comment" {
			t.Errorf("fix-status checked the PR again after its own events: %+v", l.decision)
		}
	}
	// Its writes: the skip, the /fix-status comment made in its name and
	// the reply to Codertocat.
	p := h.pull(t, helloRepo, 2)
	if w := writesBy(p, bot); len(w) != 3 || len(reactions(p, id)) != 0 {
		t.Errorf("fix-status reacted to its own events: wrote %q, reactions %v", w, reactions(p, id))
	}
}

// TestE2EMalformedPayload: a signed payload that is not JSON, or lacks what
// the event needs, is answered without crashing anything; the problem is
// logged with the event and delivery, and the next webhook is handled.
func TestE2EMalformedPayload(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{}.yaml(), harnessOptions{})
	mark := h.logMark()
	for _, c := range []struct{ event, body string }{
		{"pull_request", `{"action": "opened", "number": 1, "pull_request": {`},
		{"pull_request", `{"action": "opened", "number": "one"}`},
		{"pull_request", `{"action": "opened", "number": 9}`},
		{"issue_comment", `{"action": "created", "issue": {"number": 9, "pull_request": {}}, "comment": {"body": "/fix-status"}}`},
		{"push", `[]`},
		{"repository_ruleset", `{"action": "edited", "repository": "acme/widgets"}`},
		{"installation_repositories", `{"action": "added", "repositories_added": [{"full_name": "acme/widgets"}]}`},
	} {
		h.postSigned(t, c.event, []byte(c.body))
	}
	for _, want := range []string{"failed to parse pull_request event payload", "failed to parse push event payload", "failed to parse repository_ruleset event payload"} {
		h.waitLog(t, mark, want, func(l logLine) bool { return l.Level == "error" && strings.Contains(l.Error, want) })
	}
	for _, want := range []string{"pull_request event without", "issue_comment event without", "installation_repositories event without"} {
		h.waitLog(t, mark, want, func(l logLine) bool { return strings.Contains(l.Error, want) })
	}
	if st := h.gh.Stats(); st.RateLimitUsed["7"] != 0 {
		t.Errorf("malformed payloads cost %d requests: %v", st.RateLimitUsed["7"], st.ByRoute)
	}
	resp, err := http.Get(h.srv.URL() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health after malformed payloads: %v %v", resp, err)
	}
	resp.Body.Close()
	mark = h.logMark()
	n := h.openPR(t, "octocat", "docs/a.md")
	wantVerdicts(t, h.waitDecisions(t, mark, prName(n), "pull-unit"), map[string]string{"pull-unit": "skip"})
}

// TestE2EInvariant6APIErrorReachesPeople: a failed read of the PR itself
// writes nothing; the error is logged for a webhook, and replied for a
// /fix-status.
func TestE2EInvariant6APIErrorReachesPeople(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-docs"}, pulls: presetPulls}.yaml(), harnessOptions{})
	files := "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"

	h.gh.Fault(fakegithub.Fault{Route: files, Status: http.StatusBadGateway, Count: 1})
	mark := h.logMark()
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: h.pull(t, widgetsRepo, 1).HeadSHA, Context: "ci/other", State: "success", Creator: "jenkins"})
	l := h.waitLog(t, mark, "reconcile failed", func(l logLine) bool { return strings.HasPrefix(l.Message, "reconcile failed") })
	if l.Level != "warn" || l.Message != "reconcile failed; will retry" || l.decision.PR != prName(1) ||
		!strings.Contains(l.Error, "failed to list files of acme/widgets#1") || !strings.Contains(l.Error, "502") {
		t.Errorf("log: %+v", l)
	}
	// The failed check wrote nothing; its retry (the fault is gone) checks
	// the PR without another event.
	h.waitDecisions(t, mark, prName(1), "pull-unit", "pull-docs")

	h.gh.Fault(fakegithub.Fault{Route: files, Status: http.StatusBadGateway, Count: 1})
	h.comment(t, 2, "octocat", "/fix-status")
	reply := h.waitReply(t, 2, "octocat", 1)
	if !strings.HasPrefix(reply, "@octocat fix-status could not check this pull request: failed to list files of acme/widgets#2: GET ") || !strings.Contains(reply, "502") {
		t.Errorf("reply: %q", reply)
	}
	if w := writesBy(h.pull(t, widgetsRepo, 2), bot); len(w) != 1 {
		t.Errorf("fix-status wrote more than its reply: %q", w)
	}
}

// TestE2ERequirementsChanged: when classic protection or a ruleset changes
// what a branch requires, its open PRs are re-checked at once (the cached
// requirements are dropped).
func TestE2ERequirementsChanged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit"}, pulls: presetPulls}.yaml(), harnessOptions{grace: time.Hour})
	mark := h.logMark()
	h.comment(t, 1, "octocat", "/fix-status")
	wantVerdicts(t, h.waitDecisions(t, mark, prName(1), "pull-unit"), map[string]string{"pull-unit": "skip"})

	mark = h.logMark()
	h.event(t, fakegithub.Event{Type: "branch_protection_rule.edited", Repo: widgetsRepo, Branch: "main",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: []string{"pull-unit", "pull-lint"}}}})
	for _, n := range []int{1, 2, 3} {
		ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint")
		wantVerdicts(t, ds, map[string]string{"pull-lint": "skip: Skipped: no changed file matches run_if_changed ^pkg/"})
		if st := latestStatus(h.pull(t, widgetsRepo, n), "pull-lint"); st == nil || st.State != "success" || st.Creator != bot {
			t.Errorf("#%d pull-lint: %+v", n, st)
		}
	}

	mark = h.logMark()
	h.event(t, fakegithub.Event{Type: "repository_ruleset.created", Repo: widgetsRepo, Branch: "main", Rules: []fakegithub.ScenarioRule{{
		Type: "required_status_checks", Parameters: map[string]any{"required_status_checks": []any{map[string]any{"context": "pull-docs"}}}}}})
	for _, n := range []int{1, 2, 3} {
		ds := h.waitDecisions(t, mark, prName(n), "pull-unit", "pull-lint", "pull-docs")
		wantVerdicts(t, ds, map[string]string{"pull-docs": "waiting: should run (run_if_changed ^docs/ matches docs/guide.md) and has not reported; grace period ends in *"})
		if ds["pull-docs"].Trigger != "requirements_changed" {
			t.Errorf("#%d: trigger %q", n, ds["pull-docs"].Trigger)
		}
	}
}

// TestE2EInstallations: repositories added to an installation, and a new
// installation, have their open PRs checked.
func TestE2EInstallations(t *testing.T) {
	t.Parallel()
	other := func(name string) string {
		return `  - name: ` + name + `
    default_branch: main
    files:
      main:
        .github/fix-status.yml: |
          version: 1
          contexts:
            - {context: ci/docs, run_if_changed: '^docs/'}
    branches:
      main:
        protection:
          required_status_checks: {strict: false, contexts: [ci/docs]}
    pulls:
      - {number: 4, title: Code, user: octocat, base: main, files: [{filename: main.go, status: modified}]}
`
	}
	h := newHarness(t, widgets{extra: other("acme/gadgets") + other("umbrella/corp")}.yaml(), harnessOptions{})
	mark := h.logMark()
	h.event(t, fakegithub.Event{Type: "installation_repositories.added", InstallationID: 7, Repos: []string{"acme/gadgets"}})
	wantVerdicts(t, h.waitDecisions(t, mark, "acme/gadgets#4", "ci/docs"), map[string]string{"ci/docs": "skip"})

	mark = h.logMark()
	h.event(t, fakegithub.Event{Type: "installation.created", InstallationID: 8, Account: "umbrella", AccountType: "Organization", Repos: []string{"umbrella/corp"}})
	wantVerdicts(t, h.waitDecisions(t, mark, "umbrella/corp#4", "ci/docs"), map[string]string{"ci/docs": "skip"})
	for _, repo := range []string{"acme/gadgets", "umbrella/corp"} {
		if st := latestStatus(h.pull(t, repo, 4), "ci/docs"); st == nil || st.State != "success" || st.Creator != bot {
			t.Errorf("%s#4 ci/docs: %+v", repo, st)
		}
	}
}

// TestE2EPushRechecksOnlyRulesBranches: a push that changes a file defining
// jobs re-checks the open PRs of that branch only; a push of other files
// re-checks nothing.
func TestE2EPushRechecksOnlyRulesBranches(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{pulls: presetPulls + "- {number: 4, title: Backport, user: octocat, base: release, files: [{filename: docs/a.md, status: modified}]}\n",
		branches: "release:\n  protection:\n    required_status_checks: {strict: false, contexts: [pull-unit]}\n"}.yaml(), harnessOptions{})
	mark := h.logMark()
	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat", Contents: map[string]string{"README.md": "hello again\n"}})
	h.waitMetric(t, `fix_status_webhook_events_total{event="push"}`, 1)
	h.settle(t)
	pushed := h.logMark()
	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat",
		Contents: map[string]string{"prow/jobs.yaml": widgetsJobs + "# reviewed\n"}})
	for _, n := range []int{1, 2, 3} {
		h.waitDecisions(t, pushed, prName(n), "pull-unit")
	}
	h.settle(t)
	got := map[string]int{}
	for _, l := range h.logLines(mark) {
		if l.Message == "decision" {
			got[l.decision.PR+" "+l.Trigger]++
		}
	}
	want := map[string]int{prName(1) + " requirements_changed": 1, prName(2) + " requirements_changed": 1, prName(3) + " requirements_changed": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("checks after the pushes: %v, want %v", got, want)
	}
	if w := writesBy(h.pull(t, widgetsRepo, 4), bot); len(w) != 0 {
		t.Errorf("release PR: %q", w)
	}
}

// TestE2EAPIBudget measures a check's cost in GitHub's rate limit from the
// emulator's counters. A first check of a PR costs its changed-file pages,
// the head's statuses and check runs (plus the PR when no payload gave it)
// and its writes; the branch's protection, rules and rule files are read
// once for all its PRs. Checking an unchanged PR again costs nothing: every
// read is a conditional request answered 304.
func TestE2EAPIBudget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit", "pull-docs"}, rules: `- type: required_status_checks
  parameters:
    required_status_checks: [{context: pull-lint}]
`}.yaml(), harnessOptions{grace: time.Hour})
	// A: 151 files, two pages, nothing to write (every job should run and
	// is inside its grace period). B: one page, one skip to write.
	h.gh.ResetStats()
	mark := h.logMark()
	a := h.event(t, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat", Title: "A",
		Files: append(manyFiles("pkg", 150), fakegithub.File{Filename: "docs/a.md", Status: "added"})}).Number
	b := h.openPR(t, "octocat", "docs/b.md")
	h.waitDecisions(t, mark, prName(a), "pull-unit", "pull-docs", "pull-lint")
	h.waitDecisions(t, mark, prName(b), "pull-unit", "pull-docs", "pull-lint")
	st := h.gh.Stats()
	perPR := map[string]int64{
		"GET /repos/{owner}/{repo}/pulls/{pull_number}/files":           2 + 1,
		"GET /repos/{owner}/{repo}/commits/{ref}/statuses":              2,
		"GET /repos/{owner}/{repo}/commits/{ref}/check-runs":            2,
		"GET /repos/{owner}/{repo}/pulls/{pull_number}":                 0, // the payloads gave the PRs
		"POST /repos/{owner}/{repo}/statuses/{sha}":                     2, // B: pull-unit and pull-lint skipped
		"GET /repos/{owner}/{repo}/issues/{issue_number}/comments":      0,
		"GET /repos/{owner}/{repo}/collaborators/{username}/permission": 0,
	}
	perBranch := map[string]int64{
		"GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks": 1,
		"GET /repos/{owner}/{repo}/rules/branches/{branch}":                             1,
		// .github/fix-status.yml, the prow directory and prow/jobs.yaml.
		"GET /repos/{owner}/{repo}/contents/{path}": 3,
	}
	var budget int64
	for route, want := range merge(perPR, perBranch) {
		budget += want
		if got := st.ByRoute[route]; got != want {
			t.Errorf("%s: %d requests, want %d", route, got, want)
		}
	}
	// The installation token is made with the app's JWT: not charged.
	if tokens := st.ByRoute["POST /app/installations/{installation_id}/access_tokens"]; st.RateLimitUsed["7"] != budget || st.Requests-tokens != budget {
		t.Errorf("first checks of two PRs: %d requests, %d charged; want %d: %v", st.Requests-tokens, st.RateLimitUsed["7"], budget, st.ByRoute)
	}

	// Again, by redeliveries of the webhooks: A is unchanged, every read is
	// answered 304 and costs nothing; B changed only by fix-status's own
	// skips, so its statuses are read again once, then B costs nothing
	// either.
	redeliver := func(title string) {
		t.Helper()
		for _, d := range h.gh.Deliveries() {
			if d.Event == "pull_request" && bytes.Contains(d.Payload, []byte(`"title":"`+title+`"`)) {
				h.postSigned(t, d.Event, d.Payload)
				return
			}
		}
		t.Fatalf("no delivery for %s", title)
	}
	for _, c := range []struct {
		title       string
		n           int
		charged     int64
		notModified int64
	}{
		{"A", a, 0, 4}, // two file pages, statuses, check runs
		{"Change docs/b.md", b, 1, 2},
		{"Change docs/b.md", b, 0, 3},
	} {
		h.gh.ResetStats()
		mark = h.logMark()
		redeliver(c.title)
		h.waitDecisions(t, mark, prName(c.n), "pull-unit", "pull-docs", "pull-lint")
		if st := h.gh.Stats(); st.RateLimitUsed["7"] != c.charged || st.NotModified != c.notModified {
			t.Errorf("check of unchanged #%d: %d charged, %d not modified; want %d and %d: %v",
				c.n, st.RateLimitUsed["7"], st.NotModified, c.charged, c.notModified, st.ByRoute)
		}
	}

	// Without a payload (the branch's protection changed), each PR is read
	// once more, and the open PRs are listed once for the branch.
	h.gh.ResetStats()
	mark = h.logMark()
	h.event(t, fakegithub.Event{Type: "branch_protection_rule.edited", Repo: widgetsRepo, Branch: "main",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: []string{"pull-unit", "pull-docs"}}}})
	h.waitDecisions(t, mark, prName(a), "pull-unit")
	h.waitDecisions(t, mark, prName(b), "pull-unit")
	st = h.gh.Stats()
	if st.ByRoute["GET /repos/{owner}/{repo}/pulls/{pull_number}"] != 2 || st.ByRoute["GET /repos/{owner}/{repo}/pulls"] != 1 {
		t.Errorf("a check without payload: %v", st.ByRoute)
	}
}

func merge(ms ...map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestE2EShutdownDrains: stopping the server (SIGTERM) runs the re-checks
// still waiting in their coalescing window instead of dropping them.
func TestE2EShutdownDrains(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{}.yaml(), harnessOptions{coalesce: time.Hour})
	n := h.openPR(t, "octocat", "docs/guide.md")
	h.waitMetric(t, "fix_status_queue_depth", 1)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	p := h.pull(t, widgetsRepo, n)
	if st := latestStatus(p, "pull-unit"); st == nil || st.State != "success" || st.Creator != bot {
		t.Errorf("the queued check did not run on shutdown: %+v; log: %+v", st, h.logLines(0)[len(h.logLines(0))-2:])
	}
}

// TestE2EAPIBudgetPush: a push to a branch no open PR is based on (most
// pushes) costs one request, and nothing once that answer is cached.
func TestE2EAPIBudgetPush(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{pulls: presetPulls}.yaml(), harnessOptions{})
	for i, want := range []int64{1, 0} {
		h.gh.ResetStats()
		h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "feature", User: "octocat",
			Contents: map[string]string{"README.md": fmt.Sprintf("hello %d\n", i)}})
		h.waitMetric(t, `fix_status_webhook_events_total{event="push"}`, float64(i+1))
		h.settle(t)
		if st := h.gh.Stats(); st.RateLimitUsed["7"] != want {
			t.Errorf("push #%d to a feature branch cost %d requests, want %d: %v", i+1, st.RateLimitUsed["7"], want, st.ByRoute)
		}
	}
}

func hmacSHA1(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
