package main

// End-to-end tests of the drift watch and of the stuck-PR gauges, read from
// GET /metrics as Prometheus reads it (the text exposition, parsed) and from
// the server's JSON log.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/fix-status/fix-status/app/audit"
	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/plan"
)

// scrape reads GET /metrics as Prometheus does and returns the value of
// the series of name with exactly these labels (of a histogram, its count
// of observations), and whether it is there.
func (h *harness) scrape(t testing.TB, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(h.srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	mf, ok := families[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if fmt.Sprint(got) != fmt.Sprint(labels) {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// eventually polls cond until it holds, failing the test with what at
// the deadline.
func eventually(t testing.TB, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(e2eWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitSeries waits until the series is there with value want.
func (h *harness) waitSeries(t testing.TB, name string, labels map[string]string, want float64) {
	t.Helper()
	var v float64
	var ok bool
	eventually(t, func() string { return fmt.Sprintf("%s%v = %v (there: %v, value %v)", name, labels, want, ok, v) }, func() bool {
		v, ok = h.scrape(t, name, labels)
		return ok && v == want
	})
}

// waitLog waits for a line of the server's log that cond accepts.
func (h *harness) waitLog(t testing.TB, what string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	var found map[string]any
	eventually(t, func() string { return "a log line: " + what }, func() bool {
		for _, l := range h.logLines(t) {
			if cond(l) {
				found = l
				return true
			}
		}
		return false
	})
	return found
}

// logLines reads the server's log so far.
func (h *harness) logLines(t testing.TB) []map[string]any {
	t.Helper()
	f, err := os.Open(h.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<22)
	for sc.Scan() {
		var m map[string]any
		// A line being written may be cut: it is read next time.
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// auditWarning matches the Warn line of a new finding.
func auditWarning(repo, branch, context, class string) func(map[string]any) bool {
	return func(l map[string]any) bool {
		return l["level"] == "warn" && l["repo"] == repo && l["branch"] == branch && l["context"] == context && l["class"] == class
	}
}

// auditGone matches the Info line of a finding that went away.
func auditGone(repo, context, class string) func(map[string]any) bool {
	return func(l map[string]any) bool {
		msg, _ := l["message"].(string)
		return l["level"] == "info" && l["repo"] == repo && l["context"] == context && l["class"] == class && strings.Contains(msg, "no longer")
	}
}

func findingsOf(repo, class string) map[string]string {
	return map[string]string{"repo": repo, "class": class}
}

// TestE2EDriftProtection: the start-up sweep audits each repository (the
// gauge is there before any change); a protection change that requires a
// context no job reports is logged at Warn, naming it and what to change,
// and counted as orphaned; fixing the protection logs it gone and drops the
// count to 0.
func TestE2EDriftProtection(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit"}, pulls: presetPulls}.yaml(), harnessOptions{grace: time.Hour, catchUp: true})
	orphaned := findingsOf(widgetsRepo, "orphaned")
	h.waitSeries(t, "fix_status_audit_findings", orphaned, 0)
	if _, ok := h.scrape(t, "fix_status_audit_timestamp_seconds", map[string]string{"repo": widgetsRepo}); !ok {
		t.Error("no audit time for acme/widgets")
	}

	h.event(t, fakegithub.Event{Type: "branch_protection_rule.edited", Repo: widgetsRepo, Branch: "main",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: []string{"pull-unit", "pull-e2e"}}}})
	h.waitSeries(t, "fix_status_audit_findings", orphaned, 1)
	warn := h.waitLog(t, "the warning of pull-e2e", auditWarning(widgetsRepo, "main", "pull-e2e", "orphaned"))
	if msg := warn["message"].(string); !strings.Contains(msg, `"pull-e2e"`) || !strings.Contains(msg, "drop it from the branch's required checks") {
		t.Errorf("warning: %q", msg)
	}
	if reason, _ := warn["reason"].(string); !strings.Contains(reason, "no job reports pull-e2e") {
		t.Errorf("reason: %q", reason)
	}
	for _, class := range []string{"manual", "not_on_branch", "pinned_elsewhere", "unknown", "stalls_merge_queue"} {
		if v, ok := h.scrape(t, "fix_status_audit_findings", findingsOf(widgetsRepo, class)); !ok || v != 0 {
			t.Errorf("%s: %v (there: %v), want 0", class, v, ok)
		}
	}

	h.event(t, fakegithub.Event{Type: "branch_protection_rule.edited", Repo: widgetsRepo, Branch: "main",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: []string{"pull-unit"}}}})
	h.waitSeries(t, "fix_status_audit_findings", orphaned, 0)
	h.waitLog(t, "pull-e2e gone", auditGone(widgetsRepo, "pull-e2e", "orphaned"))
	if v, _ := h.scrape(t, "fix_status_audit_errors_total", map[string]string{}); v != 0 {
		t.Errorf("%v audits failed", v)
	}
}

// TestE2EDriftRuleset: a repository ruleset that starts requiring a
// context no job reports is found at once (repository_ruleset.created:
// Warn, gauge 1); deleting the ruleset clears it.
func TestE2EDriftRuleset(t *testing.T) {
	t.Parallel()
	h := newHarness(t, widgets{required: []string{"pull-unit"}}.yaml(), harnessOptions{grace: time.Hour, catchUp: true})
	orphaned := findingsOf(widgetsRepo, "orphaned")
	h.waitSeries(t, "fix_status_audit_findings", orphaned, 0)
	rules := []fakegithub.ScenarioRule{{Type: "required_status_checks", Parameters: map[string]any{
		"required_status_checks": []any{map[string]any{"context": "pull-integration"}}}}}
	h.event(t, fakegithub.Event{Type: "repository_ruleset.created", Repo: widgetsRepo, Branch: "main", Rules: rules})
	h.waitSeries(t, "fix_status_audit_findings", orphaned, 1)
	warn := h.waitLog(t, "the warning of pull-integration", auditWarning(widgetsRepo, "main", "pull-integration", "orphaned"))
	if reason, _ := warn["reason"].(string); !strings.Contains(reason, "no job reports pull-integration") {
		t.Errorf("reason: %q", reason)
	}
	h.event(t, fakegithub.Event{Type: "repository_ruleset.deleted", Repo: widgetsRepo, Branch: "main"})
	h.waitSeries(t, "fix_status_audit_findings", orphaned, 0)
	h.waitLog(t, "pull-integration gone", auditGone(widgetsRepo, "pull-integration", "orphaned"))
}

// lintWorkflow is a GitHub Actions workflow whose one job reports name.
func lintWorkflow(name string) string {
	return "name: CI\non: [pull_request]\njobs:\n  lint:\n    name: " + name + "\n    runs-on: ubuntu-latest\n    steps: [{run: make lint}]\n"
}

// TestE2EDriftPush: a push to the protected branch that renames the job
// behind a required context orphans it (Warn, gauge 1); a push that names
// it back fixes it (gauge 0). A push to a branch that requires nothing
// audits nothing.
func TestE2EDriftPush(t *testing.T) {
	t.Parallel()
	const ci = ".github/workflows/ci.yml"
	h := newHarness(t, widgets{required: []string{"lint"}, repoConfig: "version: 1\nsources: {actions: true}\n",
		files: map[string]string{ci: lintWorkflow("lint")}}.yaml(), harnessOptions{catchUp: true})
	orphaned := findingsOf(widgetsRepo, "orphaned")
	h.waitSeries(t, "fix_status_audit_findings", orphaned, 0)
	audited := func() float64 {
		v, _ := h.scrape(t, "fix_status_audit_timestamp_seconds", map[string]string{"repo": widgetsRepo})
		return v
	}
	h.settle(t)
	first := audited()

	h.gh.ResetStats()
	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "feature", User: "octocat",
		Contents: map[string]string{ci: lintWorkflow("style")}})
	h.waitMetric(t, `fix_status_webhook_events_total{event="push"}`, 1)
	h.settle(t)
	if st := h.gh.Stats(); st.ByRoute["GET /repos/{owner}/{repo}/branches"] != 0 || audited() != first {
		t.Errorf("a push to an unprotected branch audited the repository: %v", st.ByRoute)
	}

	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat",
		Contents: map[string]string{ci: lintWorkflow("style")}})
	h.waitSeries(t, "fix_status_audit_findings", orphaned, 1)
	warn := h.waitLog(t, "the warning of lint", auditWarning(widgetsRepo, "main", "lint", "orphaned"))
	if reason, _ := warn["reason"].(string); !strings.Contains(reason, "no job reports lint") {
		t.Errorf("reason: %q", reason)
	}

	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", User: "octocat",
		Contents: map[string]string{ci: lintWorkflow("lint")}})
	h.waitSeries(t, "fix_status_audit_findings", orphaned, 0)
	h.waitLog(t, "lint gone", auditGone(widgetsRepo, "lint", "orphaned"))
}

// offsetClock is the server's clock: the wall clock moved by what the test
// says has passed.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// TestE2EStuckGauge: a PR whose required job should run but has not
// reported is not stuck within the grace period; once the server's clock
// passes it, fix_status_stuck_prs{repo,reason="waiting"} counts it (and the
// oldest-stuck age is past zero); when its CI reports, it leaves the gauge.
func TestE2EStuckGauge(t *testing.T) {
	t.Parallel()
	clk := &offsetClock{}
	h := newHarness(t, widgets{}.yaml(), harnessOptions{grace: 10 * time.Minute, now: clk.Now})
	stuck := map[string]string{"repo": widgetsRepo, "reason": "waiting"}
	mark := h.mark()
	n := h.openPR(t, "octocat", "pkg/a.go")
	wantVerdicts(t, h.waitDecisions(t, mark, prName(n), "pull-unit"), map[string]string{"pull-unit": "waiting"})
	if v, ok := h.scrape(t, "fix_status_stuck_prs", stuck); ok {
		t.Errorf("stuck within the grace period: %v", v)
	}
	if v, _ := h.scrape(t, "fix_status_stuck_pr_oldest_seconds", map[string]string{}); v != 0 {
		t.Errorf("oldest stuck %vs within the grace period", v)
	}

	clk.Advance(11 * time.Minute)
	h.waitSeries(t, "fix_status_stuck_prs", stuck, 1)
	if v, _ := h.scrape(t, "fix_status_stuck_pr_oldest_seconds", map[string]string{}); v < 60 {
		t.Errorf("oldest stuck %vs, want a minute past the grace period at least", v)
	}

	mark = h.mark()
	head := h.pull(t, widgetsRepo, n).HeadSHA
	h.event(t, fakegithub.Event{Type: "status", Repo: widgetsRepo, SHA: head, Context: "pull-unit", State: "success", Creator: "ci-bot"})
	wantVerdicts(t, h.waitDecisions(t, mark, prName(n), "pull-unit"), map[string]string{"pull-unit": "satisfied"})
	if v, ok := h.scrape(t, "fix_status_stuck_prs", stuck); ok && v != 0 {
		t.Errorf("stuck after its CI reported: %v", v)
	}
	if v, _ := h.scrape(t, "fix_status_stuck_pr_oldest_seconds", map[string]string{}); v != 0 {
		t.Errorf("oldest stuck %vs once repaired", v)
	}
}

// BenchmarkReaudit is the drift watch's cost for the demo's repositories
// (kubernetes/kubernetes: central Prow config, hand-written protection;
// acme/widgets: workflows, a ruleset with a pin, a merge queue): the
// requests one audit makes through the server's clients and HTTP cache once
// a first audit filled it, as the emulator counts them (requests, those
// charged to the rate limit, free 304s).
func BenchmarkReaudit(b *testing.B) {
	data, _ := demoFiles.ReadFile("demo/scenario.yaml")
	prow, _ := demoFiles.ReadFile("demo/prow.yaml")
	prowPath := filepath.Join(b.TempDir(), "prow.yaml")
	if err := os.WriteFile(prowPath, prow, 0o600); err != nil {
		b.Fatal(err)
	}
	h := newHarness(b, string(data), harnessOptions{prow: []string{prowPath}})
	// Installed without the webhooks: the server does nothing meanwhile.
	h.quietly(b, fakegithub.Event{Type: "installation.created", InstallationID: 1, Account: "kubernetes", AccountType: "Organization",
		Repos: []string{"kubernetes/kubernetes"}, User: "dims"})
	h.quietly(b, fakegithub.Event{Type: "installation.created", InstallationID: 2, Account: "acme", AccountType: "Organization",
		Repos: []string{"acme/widgets"}, User: "octocat"})
	w := h.srv.w
	for _, repo := range []plan.RepoRef{
		{InstallationID: 1, Owner: "kubernetes", Repo: "kubernetes"},
		{InstallationID: 2, Owner: "acme", Repo: "widgets"},
	} {
		c, err := w.clients.NewInstallationClient(repo.InstallationID)
		if err != nil {
			b.Fatal(err)
		}
		inst := fmt.Sprint(repo.InstallationID)
		auditOnce := func(b *testing.B) {
			if _, err := audit.Repo(context.Background(), c, w.loader, repo, w.appID); err != nil {
				b.Fatal(err)
			}
		}
		h.gh.ResetStats()
		auditOnce(b)
		st := h.gh.Stats()
		b.Logf("first audit of %s: %d requests, %d charged, %d not modified: %v", repo.FullRepo(), st.Requests, st.RateLimitUsed[inst], st.NotModified, st.ByRoute)
		b.Run(repo.FullRepo(), func(b *testing.B) {
			h.gh.ResetStats()
			for i := 0; i < b.N; i++ {
				auditOnce(b)
			}
			b.StopTimer()
			st := h.gh.Stats()
			b.Logf("%d re-audits: %d requests, %d charged, %d not modified, by status %v: %v", b.N, st.Requests, st.RateLimitUsed[inst], st.NotModified, st.ByStatus, st.ByRoute)
			b.ReportMetric(float64(st.Requests)/float64(b.N), "requests/audit")
			b.ReportMetric(float64(st.RateLimitUsed[inst])/float64(b.N), "charged/audit")
			b.ReportMetric(float64(st.NotModified)/float64(b.N), "304s/audit")
		})
	}
}
