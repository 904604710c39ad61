package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/fix-status/fix-status/app/audit"
	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/metrics"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
	"github.com/fix-status/fix-status/app/rules"
	"github.com/fix-status/fix-status/app/sources"
)

func TestDriftFindings(t *testing.T) {
	req := func(context string, class rules.Class, mq rules.MergeQueue) audit.Required {
		return audit.Required{Context: context, Class: class, MergeQueue: mq, Reason: context + " because"}
	}
	rep := &audit.RepoReport{Repo: "o/r", Branches: []audit.BranchReport{
		{Repo: "o/r", Branch: "main", MergeQueue: true, Required: []audit.Required{
			req("always-runs", rules.ClassAlways, rules.MergeQueueRuns),
			req("always-stalls", rules.ClassAlways, rules.MergeQueueStalls),
			req("conditional-repaired", rules.ClassConditional, rules.MergeQueueRepaired),
			req("conditional-stalls", rules.ClassConditional, rules.MergeQueueStalls),
			req("orphaned", rules.ClassOrphaned, rules.MergeQueueStalls),
			req("manual", rules.ClassManual, rules.MergeQueueStalls),
		}},
		{Repo: "o/r", Branch: "release", Required: []audit.Required{
			req("not-on-branch", rules.ClassNotOnBranch, audit.MergeQueueNA),
			req("pinned", audit.ClassPinnedElsewhere, audit.MergeQueueNA),
			req("unknown", rules.ClassUnknown, audit.MergeQueueNA),
			req("conditional", rules.ClassConditional, audit.MergeQueueNA),
		}},
	}}
	var got []string
	for _, f := range DriftFindings(rep) {
		if f.Repo != "o/r" || f.Reason != f.Context+" because" {
			t.Errorf("finding %+v: want o/r with its context's reason", f)
		}
		got = append(got, f.Branch+" "+f.Context+" "+string(f.Class))
	}
	want := []string{
		"main always-stalls stalls_merge_queue", "main conditional-stalls stalls_merge_queue",
		"main orphaned orphaned", "main manual manual",
		"release not-on-branch not_on_branch", "release pinned pinned_elsewhere", "release unknown unknown",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DriftFindings (-want +got):\n%s", d)
	}
	if DriftFindings(nil) != nil {
		t.Error("DriftFindings(nil) is not empty")
	}
	for _, c := range DriftClasses {
		if driftFixes[c] == "" {
			t.Errorf("class %s has no fix to log", c)
		}
	}
}

func TestDiffFindings(t *testing.T) {
	f := func(branch, context string, class rules.Class, reason string) audit.Finding {
		return audit.Finding{Repo: "o/r", Branch: branch, Context: context, Class: class, Reason: reason}
	}
	names := func(fs []audit.Finding) []string {
		var out []string
		for _, x := range fs {
			out = append(out, x.Branch+" "+x.Context+" "+string(x.Class))
		}
		return out
	}
	tests := []struct {
		name             string
		before, now      []audit.Finding
		wantAdd, wantGon []string
	}{
		{name: "nothing before", now: []audit.Finding{f("main", "e2e", rules.ClassOrphaned, "")},
			wantAdd: []string{"main e2e orphaned"}},
		{name: "unchanged but for the reason and the context's case",
			before: []audit.Finding{f("main", "E2E", rules.ClassOrphaned, "no job reports E2E")},
			now:    []audit.Finding{f("main", "e2e", rules.ClassOrphaned, "no job reports e2e: renamed to e2e-gce?")}},
		{name: "another class is another finding",
			before:  []audit.Finding{f("main", "e2e", rules.ClassManual, "")},
			now:     []audit.Finding{f("main", "e2e", rules.ClassOrphaned, "")},
			wantAdd: []string{"main e2e orphaned"}, wantGon: []string{"main e2e manual"}},
		{name: "another branch is another finding",
			before:  []audit.Finding{f("main", "e2e", rules.ClassOrphaned, "")},
			now:     []audit.Finding{f("release", "e2e", rules.ClassOrphaned, "")},
			wantAdd: []string{"release e2e orphaned"}, wantGon: []string{"main e2e orphaned"}},
		{name: "fixed", before: []audit.Finding{f("main", "e2e", rules.ClassOrphaned, ""), f("main", "lint", rules.ClassManual, "")},
			now: []audit.Finding{f("main", "lint", rules.ClassManual, "")}, wantGon: []string{"main e2e orphaned"}},
	}
	for _, tt := range tests {
		added, gone := diffFindings(tt.before, tt.now)
		if d := cmp.Diff(tt.wantAdd, names(added)); d != "" {
			t.Errorf("%s: added (-want +got):\n%s", tt.name, d)
		}
		if d := cmp.Diff(tt.wantGon, names(gone)); d != "" {
			t.Errorf("%s: gone (-want +got):\n%s", tt.name, d)
		}
	}
}

// TestAuditWork: audit work coalesces per repository whatever the branch
// or event, and a change asked for by either piece is kept.
func TestAuditWork(t *testing.T) {
	a := Work{Kind: KindAudit, Repo: widgets, Event: "sweep"}
	b := Work{Kind: KindAudit, Repo: plan.RepoRef{InstallationID: 7, Owner: "Acme", Repo: "Widgets"}, Branch: "release", Requirements: true, Event: "push"}
	if a.Key() != b.Key() || a.Key() != "audit/7/acme/widgets" {
		t.Errorf("keys %q and %q, want one per repository", a.Key(), b.Key())
	}
	if a.Key() == (Work{Kind: KindRepo, Repo: widgets}).Key() {
		t.Error("audit work coalesces with the repository's PR work")
	}
	for _, tt := range []struct {
		old, new Work
		want     bool
	}{
		{a, b, true}, {b, a, true}, {a, a, false},
	} {
		if got := Merge(tt.old, tt.new).Requirements; got != tt.want {
			t.Errorf("Merge(%s, %s).Requirements = %v, want %v", tt.old.Event, tt.new.Event, got, tt.want)
		}
	}
}

const driftScenario = `
app: {id: 1, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 7, account: acme, repos: [acme/widgets, acme/gadgets]}
repos:
  - name: acme/widgets
    default_branch: main
    files:
      main:
        .github/fix-status.yml: |
          version: 1
          sources: {actions: false, prow: [ci/jobs]}
          contexts: [{context: ci/docs, run_if_changed: '^docs/'}]
        ci/jobs/jobs.yaml: |
          presubmits:
            acme/widgets:
            - {name: pull-unit, run_if_changed: '^pkg/'}
    branches:
      main:
        protection:
          required_status_checks: {contexts: [ci/docs]}
      feature: {}
  - name: acme/gadgets
    default_branch: main
    branches:
      main:
        protection:
          required_status_checks: {contexts: [build]}
`

// driftService is a service with the drift watch on (not started: the
// tests do its work themselves), its metrics, log and audit count.
type driftService struct {
	gh     *fakegithub.Server
	svc    *Service
	reg    *prometheus.Registry
	log    *bytes.Buffer
	audits atomic.Int64
}

func newDriftService(t *testing.T, sweep time.Duration, now func() time.Time) *driftService {
	t.Helper()
	d := &driftService{gh: fakegithubtest.Start(t, driftScenario, fakegithub.Options{}), reg: prometheus.NewRegistry(), log: &bytes.Buffer{}}
	cfg := fakegithubtest.ServerConfig(d.gh)
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg.GitHubAppConfig(), ghapi.WithCache(0))
	if err != nil {
		t.Fatal(err)
	}
	loader := sources.NewLoader(nil)
	d.svc = New(reconcile.New(reconcile.Options{Clients: cc, Config: cfg, AppID: 1, AppSlug: "fix-status"}), Options{
		Clients: cc, Metrics: metrics.New(d.reg), SweepInterval: sweep, Now: now, Logger: zerolog.New(d.log),
		Auditor: func(ctx context.Context, c *github.Client, repo plan.RepoRef) (*audit.RepoReport, error) {
			d.audits.Add(1)
			return audit.Repo(ctx, c, loader, repo, 1)
		},
	})
	return d
}

// do does one piece of work as a worker would.
func (d *driftService) do(w Work) {
	d.svc.do(zerolog.New(d.log).WithContext(context.Background()), w)
}

// protect changes what main of acme/widgets requires, without a webhook.
func (d *driftService) protect(t *testing.T, contexts ...string) {
	t.Helper()
	if _, err := d.gh.Apply(context.Background(), fakegithub.Event{Type: "branch_protection_rule.edited", Repo: "acme/widgets", Branch: "main",
		Protection: &fakegithub.ScenarioProtection{RequiredStatusChecks: &fakegithub.ScenarioRequiredChecks{Contexts: contexts}}}); err != nil {
		t.Fatal(err)
	}
}

// logLines returns the log's lines at level since the last call, as
// "message" and their fields.
func (d *driftService) logLines(t *testing.T, level string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(d.log.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["level"] == level {
			out = append(out, m)
		}
	}
	return out
}

func gauges(repo string, counts map[rules.Class]int) string {
	var b strings.Builder
	b.WriteString("# HELP fix_status_audit_findings Required contexts that block or stall pull requests, by repository and class, from the latest audit of the repository.\n# TYPE fix_status_audit_findings gauge\n")
	classes := []string{}
	for _, c := range DriftClasses {
		classes = append(classes, string(c))
	}
	// The exposition sorts a family's series by label values.
	slices.Sort(classes)
	for _, c := range classes {
		fmt.Fprintf(&b, "fix_status_audit_findings{class=%q,repo=%q} %d\n", c, repo, counts[rules.Class(c)])
	}
	return b.String()
}

// TestDriftWatch: a protection change that requires a context no job
// reports is a new finding (Warn, with what to change; the gauge counts
// it); fixing the protection makes it go (Info, gauge 0); a failed audit
// keeps the previous values and is counted.
func TestDriftWatch(t *testing.T) {
	d := newDriftService(t, 0, nil)
	repo := widgets.FullRepo()
	d.do(Work{Kind: KindAudit, Repo: widgets, Event: "sweep"})
	if err := testutil.GatherAndCompare(d.reg, strings.NewReader(gauges(repo, nil)), "fix_status_audit_findings"); err != nil {
		t.Errorf("first audit: %v", err)
	}
	if w := d.logLines(t, "warn"); len(w) != 0 {
		t.Errorf("a repository without findings logged %v", w)
	}

	d.protect(t, "ci/docs", "pull-e2e")
	d.do(Work{Kind: KindAudit, Repo: widgets, Requirements: true, Event: "branch_protection_rule.edited"})
	if err := testutil.GatherAndCompare(d.reg, strings.NewReader(gauges(repo, map[rules.Class]int{rules.ClassOrphaned: 1})), "fix_status_audit_findings"); err != nil {
		t.Errorf("after the protection requires pull-e2e: %v", err)
	}
	warns := d.logLines(t, "warn")
	if len(warns) != 1 || warns[0]["context"] != "pull-e2e" || warns[0]["class"] != "orphaned" || warns[0]["branch"] != "main" ||
		warns[0]["fix"] != driftFixes[rules.ClassOrphaned] || !strings.Contains(warns[0]["reason"].(string), "no job reports pull-e2e") ||
		warns[0]["first_audit"] != false {
		t.Errorf("warnings: %v", warns)
	}
	if got := d.svc.audits.Findings(); len(got) != 1 || got[0].Context != "pull-e2e" {
		t.Errorf("findings the dashboard reads: %+v", got)
	}

	// GitHub fails: the audit is counted as failed and the gauge stays.
	d.gh.Fault(fakegithub.Fault{Route: "GET /repos/{owner}/{repo}/branches", Status: 404})
	d.protect(t, "ci/docs")
	d.do(Work{Kind: KindAudit, Repo: widgets, Requirements: true, Event: "branch_protection_rule.edited"})
	const oneError = "# HELP fix_status_audit_errors_total Audits of a repository that failed (its fix_status_audit_findings keep the previous audit's values).\n# TYPE fix_status_audit_errors_total counter\nfix_status_audit_errors_total 1\n"
	if err := testutil.GatherAndCompare(d.reg, strings.NewReader(oneError), "fix_status_audit_errors_total"); err != nil {
		t.Errorf("audit errors: %v", err)
	}
	if err := testutil.GatherAndCompare(d.reg, strings.NewReader(gauges(repo, map[rules.Class]int{rules.ClassOrphaned: 1})), "fix_status_audit_findings"); err != nil {
		t.Errorf("after a failed audit: %v", err)
	}

	d.do(Work{Kind: KindAudit, Repo: widgets, Requirements: true, Event: "branch_protection_rule.edited"})
	if err := testutil.GatherAndCompare(d.reg, strings.NewReader(gauges(repo, nil)), "fix_status_audit_findings"); err != nil {
		t.Errorf("after the protection is fixed: %v", err)
	}
	var gone []map[string]any
	for _, l := range d.logLines(t, "info") {
		if strings.Contains(l["message"].(string), "is no longer") {
			gone = append(gone, l)
		}
	}
	if len(gone) != 1 || gone[0]["context"] != "pull-e2e" || gone[0]["class"] != "orphaned" {
		t.Errorf("info lines of findings gone: %v", gone)
	}
	if got := d.svc.audits.Findings(); len(got) != 0 {
		t.Errorf("findings after the fix: %+v", got)
	}
}

// TestAuditBound: work no change asked for (a sweep's, an installation's)
// audits a repository at most once per half sweep interval; a change is
// audited at once.
func TestAuditBound(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Unix(1_700_000_000, 0).Add(time.Duration(offset.Load())) }
	d := newDriftService(t, 30*time.Minute, now)
	steps := []struct {
		advance time.Duration
		work    Work
		audits  int64
	}{
		{0, Work{Kind: KindAudit, Repo: widgets, Event: "sweep"}, 1},
		{time.Minute, Work{Kind: KindAudit, Repo: widgets, Event: "installation"}, 1},
		{time.Minute, Work{Kind: KindAudit, Repo: widgets, Requirements: true, Event: "repository_ruleset.edited"}, 2},
		// 14 minutes after the last audit: not due.
		{14 * time.Minute, Work{Kind: KindAudit, Repo: widgets, Event: "sweep"}, 2},
		{time.Minute, Work{Kind: KindAudit, Repo: widgets, Event: "sweep"}, 3},
		// Another repository has its own bound.
		{0, Work{Kind: KindAudit, Repo: plan.RepoRef{InstallationID: 7, Owner: "acme", Repo: "gadgets"}, Event: "sweep"}, 4},
	}
	for i, s := range steps {
		offset.Add(int64(s.advance))
		d.do(s.work)
		if got := d.audits.Load(); got != s.audits {
			t.Fatalf("step %d (%s after %s): %d audits, want %d", i, s.work.Event, s.advance, got, s.audits)
		}
	}
}

// TestAuditQueued: which events queue an audit. Protection and ruleset
// changes do; a push does when it changes the rules of a branch the last
// audit judged (or, before any audit, a file that defines jobs anywhere);
// the sweep queues every installed repository and forgets the audits of
// the others.
func TestAuditQueued(t *testing.T) {
	d := newDriftService(t, 0, nil)
	ctx := context.Background()
	q := d.svc.q.(*MemQueue)
	key := Work{Kind: KindAudit, Repo: widgets}.Key()
	queued := func() (Work, bool) {
		q.mu.Lock()
		defer q.mu.Unlock()
		it, ok := q.pending[key]
		if !ok {
			return Work{}, false
		}
		return it.w, true
	}
	drop := func() { q.Remove(key) }

	// Before any audit, only the files that define jobs in any repository
	// tell: the repo config's Prow path is not known yet.
	for _, tt := range []struct {
		branch  string
		changed []string
		want    bool
	}{
		{"main", []string{"README.md"}, false},
		{"main", []string{"ci/jobs/jobs.yaml"}, false},
		{"feature", []string{".github/workflows/ci.yml"}, true},
		{"main", []string{".github/fix-status.yml"}, true},
	} {
		if err := d.svc.RulesPushed(ctx, widgets, tt.branch, "main", tt.changed); err != nil {
			t.Fatal(err)
		}
		if _, ok := queued(); ok != tt.want {
			t.Errorf("no audit yet, push to %s of %v: audit queued %v, want %v", tt.branch, tt.changed, ok, tt.want)
		}
		drop()
	}

	d.do(Work{Kind: KindAudit, Repo: widgets, Event: "sweep"})
	for _, tt := range []struct {
		branch  string
		changed []string
		want    bool
	}{
		{"main", []string{"README.md", "docs/guide.md"}, false},
		{"main", []string{"ci/jobs/jobs.yaml"}, true},
		{"main", []string{".github/workflows/ci.yml"}, true},
		// feature requires nothing: the audit does not judge it.
		{"feature", []string{".github/fix-status.yml", "ci/jobs/jobs.yaml"}, false},
		{"release", []string{"ci/jobs/jobs.yaml"}, false},
	} {
		if err := d.svc.RulesPushed(ctx, widgets, tt.branch, "main", tt.changed); err != nil {
			t.Fatal(err)
		}
		w, ok := queued()
		if ok != tt.want || (ok && !w.Requirements) {
			t.Errorf("push to %s of %v: audit queued %v (%+v), want %v, as a change", tt.branch, tt.changed, ok, w, tt.want)
		}
		drop()
	}

	if err := d.svc.RequirementsChanged(ctx, widgets, "", "branch_protection_rule.edited"); err != nil {
		t.Fatal(err)
	}
	if w, ok := queued(); !ok || !w.Requirements {
		t.Errorf("a protection change queued %+v, %v; want an audit as a change", w, ok)
	}
	drop()

	// A repository audited before the app was removed from it: the sweep
	// queues the audit of the installed ones, and forgets that one's audit
	// and its series.
	d.svc.audits.record("acme/removed", &audit.RepoReport{Repo: "acme/removed"}, time.Now())
	d.svc.opts.Metrics.Audited("acme/removed", time.Now(), map[string]int{"orphaned": 1})
	if err := d.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if w, ok := queued(); !ok || w.Requirements || w.Event != "sweep" {
		t.Errorf("the sweep queued %+v, %v; want a sweep's audit", w, ok)
	}
	if _, ok := d.svc.audits.latest("acme/removed"); ok {
		t.Error("the audit of a repository no longer installed is kept")
	}
	if _, ok := d.svc.audits.latest("acme/widgets"); !ok {
		t.Error("the sweep forgot the audit of an installed repository")
	}
	mfs, err := d.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "repo" && l.GetValue() == "acme/removed" {
					t.Errorf("%s still has a series of acme/removed", mf.GetName())
				}
			}
		}
	}
}
