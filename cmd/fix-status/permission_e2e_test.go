package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/serve"
)

// noAdministration is acme/widgets where the installation did not grant
// Administration: classic protection (pull-unit) cannot be read, a ruleset
// (pull-lint, conditional on pkg/) can.
func noAdministration() string {
	sc := widgets{required: []string{"pull-unit"}, rules: `- type: required_status_checks
  parameters:
    required_status_checks: [{context: pull-lint}]
`}.yaml()
	return strings.Replace(sc, "{id: 7, account: acme, account_type: Organization, repos: [acme/widgets]}",
		"{id: 7, account: acme, account_type: Organization, repos: [acme/widgets], permissions: "+
			"{contents: read, pull_requests: write, statuses: write, checks: write, issues: write, actions: write}}", 1)
}

// TestE2EPermissionMissing: without the Administration permission the
// classic protection is unknown: the ruleset's context is decided as usual
// (pull-lint skipped: the PR does not touch pkg/), the protection's is not
// (pull-unit is neither skipped nor re-run), no PR shows an error for it,
// operators get one warning naming the installation, repository, endpoint
// and permission however often it is read again, and the gauge
// fix_status_permission_missing says it.
func TestE2EPermissionMissing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, noAdministration(), harnessOptions{})
	mark := h.mark()
	n := h.openPR(t, "octocat", "docs/guide.md")
	ds := h.waitDecisions(t, mark, prName(n), "pull-lint")
	if d := ds["pull-lint"]; d.Verdict != "skip" || d.Action != "set status success" {
		t.Errorf("pull-lint: %+v; want skipped", d)
	}
	if d, ok := ds["pull-unit"]; ok {
		t.Errorf("pull-unit, which only the unreadable protection requires, was decided: %+v", d)
	}
	// A push of the base branch's rules re-checks the PR and reads its
	// protection again: refused again, not logged again.
	mark = h.mark()
	h.event(t, fakegithub.Event{Type: "push", Repo: widgetsRepo, Branch: "main", Contents: map[string]string{"prow/jobs.yaml": widgetsJobs + "# touched\n"}})
	h.waitOutcome(t, mark, "the re-check after the push", func(o serve.Outcome) bool { return o.PR.Number == n && o.Report != nil })

	if reads := h.gh.Stats().ByRoute["GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks"]; reads != 2 {
		t.Fatalf("the protection was read %d times, want 2 (the test proves nothing otherwise)", reads)
	}
	p := h.pull(t, widgetsRepo, n)
	w := writesBy(p, bot)
	if len(w) != 1 || !strings.HasPrefix(w[0], "status pull-lint success: Skipped") {
		t.Errorf("fix-status wrote %q; want only pull-lint's skip", w)
	}
	var warnings []map[string]any
	for _, l := range h.logLines(t) {
		if l["level"] == "warn" {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) != 1 || warnings[0]["message"] != "permission missing: administration=read; grant it in the app's settings (the installation must accept it)" {
		t.Fatalf("%d warnings, want the one of the missing permission: %v", len(warnings), warnings)
	}
	for k, want := range map[string]any{"installation": float64(7), "repo": widgetsRepo, "permission": "administration=read",
		"endpoint": "GET /repos/acme/widgets/branches/main/protection/required_status_checks"} {
		if warnings[0][k] != want {
			t.Errorf("warning %s = %v, want %v", k, warnings[0][k], want)
		}
	}
	resp, err := http.Get(h.srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `fix_status_permission_missing{installation="7",permission="administration=read"} 1`) {
		t.Errorf("/metrics lacks the missing permission:\n%s", grepLines(string(body), "permission"))
	}
}

// TestCheckPermissionMissing: `fix-status check` says which permission is
// missing and what it keeps from being read, in text and in JSON, decides
// the ruleset's context, and writes nothing.
func TestCheckPermissionMissing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, noAdministration(), harnessOptions{})
	n := h.quietly(t, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat", Title: "Docs",
		Files: []fakegithub.File{{Filename: "docs/guide.md", Status: "modified"}}}).Number
	path := writeConfig(t, h.cfg)
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetArgs(append([]string{"check", "--config", path, prName(n)}, args...))
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	text := run()
	for _, want := range []string{
		"permission missing: administration=read — classic branch protection cannot be read; grant it in the app's settings (until then only the rulesets' required contexts are checked)\n",
		"Skipped: no changed file matches run_if_changed ^pkg/  would set status success\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("check's text lacks %q:\n%s", want, text)
		}
	}
	var rep struct {
		Decisions          []struct{ Context, Verdict string }
		Writes             int
		PermissionsMissing []struct{ Permission, Denied, Endpoint string } `json:"permissions_missing"`
	}
	if err := json.Unmarshal([]byte(run("--output", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.PermissionsMissing) != 1 || rep.PermissionsMissing[0].Permission != "administration=read" ||
		rep.PermissionsMissing[0].Denied != "classic branch protection cannot be read" ||
		rep.PermissionsMissing[0].Endpoint != "GET /repos/acme/widgets/branches/main/protection/required_status_checks" {
		t.Errorf("permissions_missing: %+v", rep.PermissionsMissing)
	}
	if len(rep.Decisions) != 1 || rep.Decisions[0].Context != "pull-lint" || rep.Decisions[0].Verdict != "skip" || rep.Writes != 0 {
		t.Errorf("decisions %+v, %d writes; want pull-lint alone, a skip not written (a dry run)", rep.Decisions, rep.Writes)
	}
	if w := writesBy(h.pull(t, widgetsRepo, n), bot); len(w) != 0 {
		t.Errorf("a dry run wrote %q", w)
	}
}

// grepLines keeps the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
