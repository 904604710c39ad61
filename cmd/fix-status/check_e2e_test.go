package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
)

const e2eScenario = `
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
            - name: pull-lint
              run_if_changed: '^pkg/'
    branches:
      main:
        protection:
          required_status_checks:
            strict: false
            contexts: [pull-docs, pull-unit, pull-lint, mystery]
        rules:
          - type: required_status_checks
            parameters:
              required_status_checks: [{context: pull-docs-pinned, integration_id: 15368}]
    pulls:
      - number: 1
        title: Change pkg
        user: octocat
        base: main
        head_sha: 1111111111111111111111111111111111111111
        files:
          - {filename: pkg/a.go, status: modified}
          - {filename: new/name.go, status: renamed, previous_filename: docs/old.md}
        statuses:
          - {context: pull-lint, state: failure, description: "lint failed", creator: prow}
`

// TestCheckEndToEnd runs a check through the real go-githubapp client
// creator against the emulator over HTTP, and asserts what GitHub then
// shows on the PR.
func TestCheckEndToEnd(t *testing.T) {
	gh := fakegithubtest.Start(t, e2eScenario, fakegithub.Options{})
	cfg := fakegithubtest.ServerConfig(gh)
	cfg.Repair.GracePeriod.Duration = 0
	ctx := context.Background()
	w, err := wire(ctx, cfg, wireOptions{logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := ghapi.FindInstallation(ctx, w.clients, plan.RepoRef{Owner: "acme", Repo: "widgets"})
	ref := repo.PR(1)
	if err != nil || ref.InstallationID != 7 {
		t.Fatalf("installation %d, %v", ref.InstallationID, err)
	}

	dry, err := w.rec.Reconcile(ctx, ref, reconcile.Trigger{Event: "check", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range dry.Decisions {
		got[d.Context] = string(d.Verdict) + ": " + d.Reason
	}
	want := map[string]string{
		// The renamed file counts by its new name only: docs/old.md does not trigger pull-docs.
		"pull-docs":        "skip: Skipped: no changed file matches run_if_changed ^docs/",
		"pull-unit":        "retrigger: should run (run_if_changed ^pkg/ matches pkg/a.go) and has not reported",
		"pull-lint":        "failing: status reported failure",
		"mystery":          "blocked: no job defines it",
		"pull-docs-pinned": "blocked: no job defines it",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	if dry.Writes != 0 || len(gh.State().Repos[0].Pulls[0].Comments) != 0 {
		t.Fatalf("dry run wrote: %d writes", dry.Writes)
	}

	rep, err := w.rec.Reconcile(ctx, ref, reconcile.Trigger{Event: "check"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Writes != 2 {
		t.Errorf("writes = %d, want 2 (a skip status and a /test comment)", rep.Writes)
	}
	pull := gh.State().Repos[0].Pulls[0]
	var skip *fakegithub.StateStatus
	for i, st := range pull.Statuses {
		if st.Context == "pull-docs" {
			skip = &pull.Statuses[i]
		}
	}
	if skip == nil || skip.State != "success" || skip.Creator != "fix-status[bot]" ||
		skip.Description != "Skipped: no changed file matches run_if_changed ^docs/" ||
		!strings.HasSuffix(skip.TargetURL, "/acme/widgets/blob/"+pull.BaseSHA+"/prow/jobs.yaml#L3") {
		t.Errorf("skip status: %+v", skip)
	}
	if len(pull.Comments) != 1 || !strings.HasPrefix(pull.Comments[0].Body, "/test pull-unit\n") {
		t.Errorf("comments: %+v", pull.Comments)
	}

	// Checking the unchanged PR again writes nothing: the skip is ours
	// already, and the re-trigger waits out the grace period counted from
	// its own comment.
	cfg.Repair.GracePeriod.Duration = time.Hour
	again, err := w.rec.Reconcile(ctx, ref, reconcile.Trigger{Event: "check"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Writes != 0 || again.Decisions[1].Verdict != plan.Waiting {
		t.Errorf("second run wrote %d times: %+v %v", again.Writes, again.Decisions, again.Actions)
	}

	// A third look at the unchanged PR is all conditional requests answered
	// 304: it costs no rate limit.
	gh.ResetStats()
	if _, err := w.rec.Reconcile(ctx, ref, reconcile.Trigger{Event: "check"}); err != nil {
		t.Fatal(err)
	}
	st := gh.Stats()
	if st.RateLimitUsed["7"] != 0 || st.NotModified == 0 {
		t.Errorf("unchanged PR cost %d rate limit (%d requests, %d not modified): %v", st.RateLimitUsed["7"], st.Requests, st.NotModified, st.ByRoute)
	}
}
