package handlers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/palantir/go-githubapp/githubapp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/metrics"
	"github.com/fix-status/fix-status/app/reconcile"
	"github.com/fix-status/fix-status/app/serve"
)

// The handlers are thin: these tests call Handle directly with GitHub's
// example payloads and check what each asked of the service: work queued
// (the service is not started, so it stays queued) or nothing. None reads
// GitHub: the emulator counts no request.

const scenario = `
app: {id: 1, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 1, account: Codertocat, repos: [Codertocat/Hello-World]}
repos:
  - name: Codertocat/Hello-World
    default_branch: master
    files:
      master:
        .github/fix-status.yml: "version: 1\n"
    branches:
      master: {sha: f95f852bd8fca8fcc58a9a2d6c842781e32a215e}
    pulls:
      - number: 2
        title: Update the README with new information.
        user: Codertocat
        base: master
        head: changes
        head_sha: ec26c3e57ca3a959ca5aad62de7213c562f8c821
        files: [{filename: README.md, status: modified}]
`

type env struct {
	gh  *fakegithub.Server
	cc  githubapp.ClientCreator
	rec *reconcile.Reconciler
}

func newEnv(t *testing.T) *env {
	t.Helper()
	gh := fakegithubtest.Start(t, scenario, fakegithub.Options{})
	cfg := fakegithubtest.ServerConfig(gh)
	cc := fakegithubtest.ClientCreator(t, gh)
	rec := reconcile.New(reconcile.Options{Clients: cc, Config: cfg, AppID: 1, AppSlug: "fix-status"})
	return &env{gh: gh, cc: cc, rec: rec}
}

// payload reads one of GitHub's example payloads and sets fields by dotted
// path (a nil value deletes the field).
func payload(t *testing.T, name string, adapt map[string]any) []byte {
	t.Helper()
	return fakegithubtest.Payload(t, filepath.Join("..", "testdata", "webhooks-e2e", name), adapt)
}

var inst = map[string]any{"id": 1}

func TestHandlers(t *testing.T) {
	e := newEnv(t)
	own := map[string]any{"login": "fix-status[bot]", "type": "Bot"}
	cases := []struct {
		name    string
		event   string
		file    string
		adapt   map[string]any
		queued  bool   // work is queued (a PR, its commit or its repository to check)
		wantErr string // the handler's error
	}{
		{name: "PR opened", event: "pull_request", file: "pull_request/opened.json", queued: true},
		{name: "PR synchronize", event: "pull_request", file: "pull_request/opened.json", adapt: map[string]any{"action": "synchronize"}, queued: true},
		{name: "PR reopened", event: "pull_request", file: "pull_request/opened.json", adapt: map[string]any{"action": "reopened"}, queued: true},
		{name: "PR ready for review", event: "pull_request", file: "pull_request/ready_for_review.with-installation.json",
			adapt: map[string]any{"installation": inst, "number": 2}, queued: true},
		{name: "PR base changed", event: "pull_request", file: "pull_request/opened.json",
			adapt: map[string]any{"action": "edited", "changes": map[string]any{"base": map[string]any{"ref": map[string]any{"from": "dev"}}}}, queued: true},
		{name: "PR title edited", event: "pull_request", file: "pull_request/opened.json",
			adapt: map[string]any{"action": "edited", "changes": map[string]any{"title": map[string]any{"from": "Old"}}}},
		{name: "PR labeled", event: "pull_request", file: "pull_request/labeled.json", adapt: map[string]any{"installation": inst}},
		{name: "PR closed", event: "pull_request", file: "pull_request/closed.json", adapt: map[string]any{"installation": inst}, queued: true},
		{name: "PR without installation", event: "pull_request", file: "pull_request/opened.json", adapt: map[string]any{"installation": nil},
			wantErr: "pull_request event without repository or installation: malformed payload ignored"},
		{name: "PR without number", event: "pull_request", file: "pull_request/opened.json", adapt: map[string]any{"number": nil},
			wantErr: "pull_request event without a pull request number: malformed payload ignored"},
		{name: "PR not JSON", event: "pull_request", file: "pull_request/opened.json", adapt: map[string]any{"number": "2"},
			wantErr: "failed to parse pull_request event payload: json: cannot unmarshal string into Go struct field PullRequestEvent.number of type int (malformed payload)"},

		{name: "comment on an issue", event: "issue_comment", file: "issue_comment/created.json", adapt: map[string]any{"installation": inst, "comment.body": "/fix-status"}},
		{name: "comment deleted", event: "issue_comment", file: "issue_comment/deleted.json",
			adapt: map[string]any{"installation": inst, "comment.body": "/fix-status", "issue.pull_request": map[string]any{"url": "u"}}},
		{name: "fix-status's own /fix-status", event: "issue_comment", file: "issue_comment/created.json",
			adapt: map[string]any{"installation": inst, "issue.number": 2, "issue.pull_request": map[string]any{"url": "u"}, "comment.body": "/fix-status", "comment.user": own, "sender": own}},
		{name: "a PR comment that is not the command", event: "issue_comment", file: "issue_comment/created.json",
			adapt: map[string]any{"installation": inst, "issue.number": 2, "issue.pull_request": map[string]any{"url": "u"}}},

		{name: "status of another CI", event: "status", file: "status/event.with-installation.json",
			adapt: map[string]any{"sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821"}, queued: true},
		{name: "status of fix-status", event: "status", file: "status/event.with-installation.json",
			adapt: map[string]any{"sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "sender": own}},

		{name: "check run completed", event: "check_run", file: "check_run/completed.json", adapt: map[string]any{"installation": inst}, queued: true},
		{name: "check run of fix-status", event: "check_run", file: "check_run/completed.json", adapt: map[string]any{"installation": inst, "check_run.app.id": 1}},
		{name: "check run action requested", event: "check_run", file: "check_run/requested_action.json", adapt: map[string]any{"installation": inst}},
		{name: "check suite completed", event: "check_suite", file: "check_suite/completed.json", adapt: map[string]any{"installation": inst}, queued: true},
		{name: "check suite of fix-status", event: "check_suite", file: "check_suite/completed.json", adapt: map[string]any{"installation": inst, "check_suite.app.id": 1}},
		{name: "check suite requested", event: "check_suite", file: "check_suite/requested.json", adapt: map[string]any{"installation": inst}},

		{name: "push of a tag", event: "push", file: "push/event.with-installation.json"},
		{name: "push deleting a branch", event: "push", file: "push/event.with-installation.json", adapt: map[string]any{"ref": "refs/heads/master"}},
		{name: "push of a rule file", event: "push", file: "push/event.with-installation.json",
			adapt:  map[string]any{"ref": "refs/heads/master", "deleted": false, "commits": []any{map[string]any{"modified": []string{".github/fix-status.yml"}}}},
			queued: true},
		{name: "push of other files", event: "push", file: "push/event.with-installation.json",
			adapt:  map[string]any{"ref": "refs/heads/master", "deleted": false, "commits": []any{map[string]any{"modified": []string{"README.md"}}}},
			queued: true},

		{name: "protection edited", event: "branch_protection_rule", file: "branch_protection_rule/edited.json",
			adapt: map[string]any{"installation": inst, "repository.name": "Hello-World", "repository.owner.login": "Codertocat"}, queued: true},
		{name: "repository ruleset edited", event: "repository_ruleset", file: "branch_protection_rule/edited.json",
			adapt: map[string]any{"installation": inst, "repository.name": "Hello-World", "repository.owner.login": "Codertocat"}, queued: true},
		{name: "organization ruleset edited", event: "repository_ruleset", file: "branch_protection_rule/edited.json",
			adapt: map[string]any{"installation": inst, "repository": nil}},

		{name: "installation created", event: "installation", file: "installation/created.json", adapt: map[string]any{"installation.id": 1}, queued: true},
		{name: "installation deleted", event: "installation", file: "installation/deleted.json", adapt: map[string]any{"installation.id": 1}},
		{name: "repositories added", event: "installation_repositories", file: "installation_repositories/added.json",
			adapt: map[string]any{"installation.id": 1, "repositories_added": []any{map[string]any{"full_name": "Codertocat/Hello-World"}}}, queued: true},
		{name: "repositories removed", event: "installation_repositories", file: "installation_repositories/removed.json", adapt: map[string]any{"installation.id": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := serve.New(e.rec, serve.Options{Clients: e.cc, Coalesce: time.Hour})
			t.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
			var h githubapp.EventHandler
			for _, x := range All(svc, metrics.New(nil)) {
				for _, ev := range x.Handles() {
					if ev == c.event {
						h = x
					}
				}
			}
			e.gh.ResetStats()
			err := h.Handle(context.Background(), c.event, "delivery-1", payload(t, c.file, c.adapt))
			if (err == nil) != (c.wantErr == "") || (err != nil && err.Error() != c.wantErr) {
				t.Fatalf("error %v, want %q", err, c.wantErr)
			}
			if queued := !svc.Idle(); queued != c.queued {
				t.Errorf("queued a re-check: %v, want %v", queued, c.queued)
			}
			// The webhook path makes no API call: workers do.
			if st := e.gh.Stats(); st.Requests != 0 {
				t.Errorf("GitHub requests: %v, want none", st.ByRoute)
			}
		})
	}
}

// TestAll: one handler per event fix-status subscribes to, each event once.
func TestAll(t *testing.T) {
	var events []string
	for _, h := range All(nil, nil) {
		events = append(events, h.Handles()...)
	}
	sort.Strings(events)
	want := []string{"branch_protection_rule", "check_run", "check_suite", "installation", "installation_repositories",
		"issue_comment", "merge_group", "pull_request", "push", "repository_ruleset", "status"}
	if strings.Join(events, " ") != strings.Join(want, " ") {
		t.Errorf("events: %v, want %v", events, want)
	}
}

// TestEventsCounted: every event is counted by type and action.
func TestEventsCounted(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	svc := serve.New(e.rec, serve.Options{Clients: e.cc, Coalesce: time.Hour})
	t.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
	hs := All(svc, metrics.New(reg))
	deliveries := []struct{ event, file string }{
		{"pull_request", "pull_request/opened.json"},
		{"pull_request", "pull_request/labeled.json"},
		{"push", "push/event.with-installation.json"},
		{"repository_ruleset", "branch_protection_rule/edited.json"},
	}
	for _, d := range deliveries {
		for _, h := range hs {
			if h.Handles()[0] == d.event {
				_ = h.Handle(context.Background(), d.event, "delivery-1", payload(t, d.file, map[string]any{"installation": inst, "repository": nil}))
			}
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "fix_status_webhook_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"pull_request.opened": 1, "pull_request.labeled": 1, "push": 1, "repository_ruleset.edited": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events counted: %v, want %v", got, want)
	}
}

// BenchmarkHandlePullRequest: the CPU a delivery costs in its handler
// (decoding GitHub's 28 KB pull_request.opened payload and queueing the
// re-check), the bulk of the server's work per webhook.
//
//	go test -run '^$' -bench BenchmarkHandlePullRequest ./handlers/
func BenchmarkHandlePullRequest(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "webhooks-e2e", "pull_request", "opened.json"))
	if err != nil {
		b.Fatal(err)
	}
	svc := serve.New(reconcile.New(reconcile.Options{}), serve.Options{Coalesce: time.Hour})
	defer func() { _ = svc.Shutdown(context.Background()) }()
	h := &PullRequest{base{svc: svc, metrics: metrics.New(nil)}}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := h.Handle(context.Background(), "pull_request", "delivery", data); err != nil {
			b.Fatal(err)
		}
	}
}
