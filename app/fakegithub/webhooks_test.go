package fakegithub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
)

// received is one webhook that passed go-githubapp's dispatcher (so its
// X-Hub-Signature-256 was valid).
type received struct {
	event, delivery string
	payload         []byte
	header          http.Header
}

type recorder struct {
	mu  sync.Mutex
	got []received
}

func (r *recorder) Handles() []string {
	return []string{"pull_request", "issue_comment", "push", "status", "check_run", "check_suite",
		"branch_protection_rule", "repository_ruleset", "installation", "installation_repositories"}
}

func (r *recorder) Handle(_ context.Context, event, delivery string, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, received{event: event, delivery: delivery, payload: payload})
	return nil
}

func (r *recorder) last(t *testing.T) received {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		t.Fatal("no webhook received")
	}
	return r.got[len(r.got)-1]
}

// byDelivery is the webhook received with an X-GitHub-Delivery id.
func (r *recorder) byDelivery(t *testing.T, id string) received {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, got := range r.got {
		if got.delivery == id {
			return got
		}
	}
	t.Fatalf("no webhook received with delivery %q", id)
	return received{}
}

// receiver starts go-githubapp's real event dispatcher on 127.0.0.1 and points
// the emulator's webhooks at it.
func receiver(t *testing.T, s *Server, secret string) *recorder {
	t.Helper()
	rec := &recorder{}
	d := githubapp.NewEventDispatcher([]githubapp.EventHandler{rec}, secret)
	var mu sync.Mutex
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := r.Header.Clone()
		mu.Unlock()
		d.ServeHTTP(w, r)
		rec.mu.Lock()
		if n := len(rec.got); n > 0 && rec.got[n-1].header == nil {
			rec.got[n-1].header = h
		}
		rec.mu.Unlock()
	}))
	t.Cleanup(hs.Close)
	s.SetWebhookURL(hs.URL + "/api/github/hook")
	return rec
}

func TestWebhooksThroughTheDispatcher(t *testing.T) {
	s := startServer(t, testScenario)
	rec := receiver(t, s, "s3cret")
	ctx := context.Background()
	readme := "# Hello\n"
	tests := []struct {
		name  string
		ev    Event
		event string
		check func(t *testing.T, payload any, res *EventResult)
	}{
		{"pull_request.opened", Event{Type: "pull_request.opened", Repo: "Codertocat/Hello-World", Number: 10, Title: "Docs",
			User: "octocat", Base: "master", Files: []File{{Filename: "docs/a.md", Status: "modified", Content: &readme}}}, "pull_request",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.PullRequestEvent)
				if e.GetAction() != "opened" || e.GetNumber() != 10 || e.GetPullRequest().GetBase().GetRef() != "master" ||
					e.GetInstallation().GetID() != 7 || e.GetSender().GetLogin() != "octocat" || e.GetRepo().GetFullName() != "Codertocat/Hello-World" ||
					e.GetPullRequest().GetHead().GetSHA() != res.SHA {
					t.Errorf("event = %+v", e)
				}
			}},
		{"pull_request.synchronize", Event{Type: "pull_request.synchronize", Repo: "Codertocat/Hello-World", Number: 10,
			HeadSHA: "1111111111111111111111111111111111111111", Files: []File{{Filename: "src/a.go", Status: "added"}}}, "pull_request",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.PullRequestEvent)
				if e.GetAction() != "synchronize" || e.GetAfter() != "1111111111111111111111111111111111111111" || e.GetBefore() == "" ||
					e.GetPullRequest().GetHead().GetSHA() != e.GetAfter() {
					t.Errorf("event = %+v", e)
				}
			}},
		{"pull_request.edited", Event{Type: "pull_request.edited", Repo: "Codertocat/Hello-World", Number: 10, Base: "release/v1"}, "pull_request",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.PullRequestEvent)
				if e.GetChanges().GetBase().GetRef().GetFrom() != "master" || e.GetPullRequest().GetBase().GetRef() != "release/v1" {
					t.Errorf("changes = %+v", e.GetChanges())
				}
			}},
		{"issue_comment.created", Event{Type: "issue_comment.created", Repo: "Codertocat/Hello-World", Number: 10, User: "octocat", Body: "/fix-status"}, "issue_comment",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.IssueCommentEvent)
				if e.GetComment().GetBody() != "/fix-status" || e.GetComment().GetID() != res.CommentID || !e.GetIssue().IsPullRequest() ||
					e.GetIssue().GetNumber() != 10 {
					t.Errorf("event = %+v", e)
				}
			}},
		{"push", Event{Type: "push", Repo: "Codertocat/Hello-World", Branch: "master", User: "octocat",
			Contents: map[string]string{".github/fix-status.yml": "version: 2\n", "new.txt": "n\n"}, Removed: []string{"docs/a.md"}}, "push",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.PushEvent)
				hc := e.GetHeadCommit()
				if e.GetRef() != "refs/heads/master" || e.GetAfter() != res.SHA || e.GetBefore() != "6113728f27ae82c7b1a177c8d03f9e96e0adf246" ||
					strings.Join(hc.Added, ",") != "new.txt" || strings.Join(hc.Modified, ",") != ".github/fix-status.yml" ||
					strings.Join(hc.Removed, ",") != "docs/a.md" || e.GetInstallation().GetID() != 7 {
					t.Errorf("event = %+v", e)
				}
			}},
		{"status", Event{Type: "status", Repo: "Codertocat/Hello-World", SHA: headSHA, Context: "ci/build", State: "success", Creator: "prow"}, "status",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.StatusEvent)
				if e.GetSHA() != headSHA || e.GetState() != "success" || e.GetContext() != "ci/build" || e.GetSender().GetLogin() != "prow" {
					t.Errorf("event = %+v", e)
				}
			}},
		{"check_run.completed", Event{Type: "check_run.completed", Repo: "Codertocat/Hello-World", SHA: headSHA, Name: "ci/e2e", AppID: 9000, Conclusion: "failure"}, "check_run",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.CheckRunEvent)
				cr := e.GetCheckRun()
				if cr.GetConclusion() != "failure" || cr.GetApp().GetID() != 9000 || cr.GetApp().GetSlug() != "prow" || cr.GetID() != res.CheckRunID ||
					cr.GetCheckSuite().GetID() == 0 || len(cr.PullRequests) != 1 {
					t.Errorf("check run = %+v", cr)
				}
			}},
		{"check_run.created", Event{Type: "check_run.created", Repo: "Codertocat/Hello-World", SHA: headSHA, Name: "ci/unit", Workflow: "Unit"}, "check_run",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.CheckRunEvent)
				if e.GetCheckRun().GetStatus() != "queued" || e.GetCheckRun().GetApp().GetSlug() != "github-actions" {
					t.Errorf("check run = %+v", e.GetCheckRun())
				}
			}},
		{"check_suite.completed", Event{Type: "check_suite.completed", Repo: "Codertocat/Hello-World", SHA: headSHA, Workflow: "Unit", Conclusion: "success"}, "check_suite",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.CheckSuiteEvent)
				if e.GetCheckSuite().GetConclusion() != "success" || e.GetCheckSuite().GetStatus() != "completed" {
					t.Errorf("check suite = %+v", e.GetCheckSuite())
				}
			}},
		{"branch_protection_rule.edited", Event{Type: "branch_protection_rule.edited", Repo: "Codertocat/Hello-World", Branch: "master",
			Protection: &ScenarioProtection{RequiredStatusChecks: &ScenarioRequiredChecks{Contexts: []string{"ci/new"}}}}, "branch_protection_rule",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.BranchProtectionRuleEvent)
				if e.GetRule().GetName() != "master" || strings.Join(e.GetRule().RequiredStatusChecks, ",") != "ci/new" {
					t.Errorf("rule = %+v", e.GetRule())
				}
			}},
		{"repository_ruleset.edited", Event{Type: "repository_ruleset.edited", Repo: "Codertocat/Hello-World", Branch: "master",
			Rules: []ScenarioRule{{Type: "required_status_checks", Parameters: map[string]any{"required_status_checks": []any{map[string]any{"context": "ci/ruled"}}}}}}, "repository_ruleset",
			func(t *testing.T, p any, res *EventResult) {
				// go-github v60 has no type for repository_ruleset: decode what the app needs.
				var e struct {
					Action     string
					Repository struct {
						FullName string `json:"full_name"`
					}
					Ruleset struct {
						Conditions struct {
							RefName struct{ Include []string } `json:"ref_name"`
						}
					} `json:"repository_ruleset"`
					Installation struct{ ID int64 }
				}
				if err := json.Unmarshal(p.([]byte), &e); err != nil {
					t.Fatal(err)
				}
				if e.Action != "edited" || e.Repository.FullName != "Codertocat/Hello-World" || e.Installation.ID != 7 ||
					strings.Join(e.Ruleset.Conditions.RefName.Include, ",") != "refs/heads/master" {
					t.Errorf("ruleset event = %+v", e)
				}
			}},
		{"installation.created", Event{Type: "installation.created", InstallationID: 99, Account: "Codertocat2", AccountType: "Organization"}, "installation",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.InstallationEvent)
				if e.GetInstallation().GetID() != 99 || e.GetInstallation().GetAccount().GetLogin() != "Codertocat2" {
					t.Errorf("installation = %+v", e.GetInstallation())
				}
			}},
		{"installation_repositories.added", Event{Type: "installation_repositories.added", InstallationID: 7, Repos: []string{"Codertocat/not-installed"}}, "installation_repositories",
			func(t *testing.T, p any, res *EventResult) {
				e := p.(*github.InstallationRepositoriesEvent)
				if len(e.RepositoriesAdded) != 1 || e.RepositoriesAdded[0].GetFullName() != "Codertocat/not-installed" {
					t.Errorf("added = %+v", e.RepositoriesAdded)
				}
			}},
	}
	sent := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Apply(ctx, tc.ev)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			sent += 1 + len(res.Followups)
			if !res.Delivered || res.StatusCode != 200 {
				t.Fatalf("result = %+v; want delivered", res)
			}
			got := rec.byDelivery(t, res.Delivery)
			if got.event != tc.event || got.delivery != res.Delivery {
				t.Fatalf("received %s %s; want %s %s", got.event, got.delivery, tc.event, res.Delivery)
			}
			if sig := got.header.Get("X-Hub-Signature-256"); sig != SignPayload("s3cret", got.payload) {
				t.Errorf("signature %q does not match the body", sig)
			}
			if tc.event == "repository_ruleset" {
				tc.check(t, got.payload, res)
				return
			}
			parsed, err := github.ParseWebHook(tc.event, got.payload)
			if err != nil {
				t.Fatalf("github.ParseWebHook: %v", err)
			}
			tc.check(t, parsed, res)
		})
	}

	// The state shows what the events did.
	st := s.State()
	hw := st.Repos[0]
	if hw.Files["master"][".github/fix-status.yml"] != "version: 2\n" || hw.Branches["master"].SHA == "6113728f27ae82c7b1a177c8d03f9e96e0adf246" {
		t.Errorf("push did not update master: %v", hw.Branches["master"])
	}
	if hw.Branches["master"].Protection.RequiredStatusChecks.Contexts[0] != "ci/new" {
		t.Errorf("protection = %+v", hw.Branches["master"].Protection)
	}
	var pr10 StatePull
	for _, p := range hw.Pulls {
		if p.Number == 10 {
			pr10 = p
		}
	}
	if pr10.Base != "release/v1" || pr10.HeadSHA != "1111111111111111111111111111111111111111" || len(pr10.Comments) != 1 || pr10.Comments[0].User != "octocat" {
		t.Errorf("PR #10 = %+v", pr10)
	}
	if got := st.Installations[0].Repos; len(got) != 3 {
		t.Errorf("installation 7 repos = %v", got)
	}
	if len(s.Deliveries()) != sent || s.Stats().Webhooks.Delivered != int64(sent) {
		t.Errorf("deliveries = %d, stats %+v", len(s.Deliveries()), s.Stats().Webhooks)
	}
}

func TestWebhookDeliveryFailures(t *testing.T) {
	s := startServer(t, testScenario)
	ctx := context.Background()
	ev := Event{Type: "issue_comment.created", Repo: "Codertocat/Hello-World", Number: 2, Body: "hi"}

	res, err := s.Apply(ctx, ev)
	if err != nil || res.Delivered || res.Skipped != "no webhook URL set" || res.CommentID == 0 {
		t.Errorf("without a URL: %+v, %v", res, err)
	}
	// A receiver with another secret rejects the signature: the error comes back.
	receiver(t, s, "other-secret")
	if _, err := s.Apply(ctx, ev); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("wrong secret: %v; want the receiver's 400", err)
	}
	if n := len(s.State().Repos[0].Pulls[0].Comments); n != 3 {
		t.Errorf("comments = %d; want 3 (the state changes even when delivery fails)", n)
	}
	// A repository outside every installation changes, but nothing is sent.
	res, err = s.Apply(ctx, Event{Type: "push", Repo: "Codertocat/not-installed", Branch: "main", Contents: map[string]string{"a": "b"}})
	if err != nil || res.Delivered || !strings.Contains(res.Skipped, "not in an installation") {
		t.Errorf("uninstalled repo: %+v, %v", res, err)
	}
	var ee *EventError
	for name, bad := range map[string]Event{
		"unknown type":  {Type: "pull_request.teleported", Repo: "Codertocat/Hello-World", Number: 2},
		"unknown repo":  {Type: "push", Repo: "o/nope", Branch: "main"},
		"unknown pull":  {Type: "issue_comment.created", Repo: "Codertocat/Hello-World", Number: 99, Body: "x"},
		"bad state":     {Type: "status", Repo: "Codertocat/Hello-World", SHA: headSHA, State: "green"},
		"unknown base":  {Type: "pull_request.opened", Repo: "Codertocat/Hello-World", Title: "t", Base: "nope"},
		"bad rule type": {Type: "repository_ruleset.edited", Repo: "Codertocat/Hello-World", Branch: "master", Rules: []ScenarioRule{{Type: "nope"}}},
	} {
		if _, err := s.Apply(ctx, bad); !errors.As(err, &ee) {
			t.Errorf("%s: %v; want an *EventError", name, err)
		}
	}
}

func TestEventsOverHTTP(t *testing.T) {
	s := startServer(t, testScenario)
	rec := receiver(t, s, "s3cret")
	body := `{"type": "push", "repo": "Codertocat/Hello-World", "branch": "master", "user": "octocat",
	          "files": {"docs/new.md": "new\n", "docs/a.md": null}, "message": "Docs"}`
	res, err := http.Post(s.URL()+"/_fake/events", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out EventResult
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 || !out.Delivered || out.SHA == "" {
		t.Fatalf("POST /_fake/events = %d %+v %v", res.StatusCode, out, err)
	}
	var push github.PushEvent
	if err := json.Unmarshal(rec.last(t).payload, &push); err != nil {
		t.Fatal(err)
	}
	if hc := push.GetHeadCommit(); strings.Join(hc.Added, ",") != "docs/new.md" || strings.Join(hc.Removed, ",") != "docs/a.md" || hc.GetMessage() != "Docs" {
		t.Errorf("head commit = %+v", hc)
	}
	// The new content is served at the branch and at the new SHA.
	tok := installationToken(t, s, 7)
	for _, ref := range []string{"master", out.SHA} {
		r := do(t, s, "GET", "/repos/Codertocat/Hello-World/contents/docs/new.md?ref="+ref, tok, "")
		if r.StatusCode != 200 {
			t.Errorf("new file at %s = %d", ref, r.StatusCode)
		}
	}
	cmp := do(t, s, "GET", "/repos/Codertocat/Hello-World/compare/6113728f27ae82c7b1a177c8d03f9e96e0adf246..."+out.SHA, tok, "")
	var cmpBody struct {
		Status string
		Files  []struct{ Filename, Status string }
	}
	_ = json.NewDecoder(cmp.Body).Decode(&cmpBody)
	if cmpBody.Status != "ahead" || len(cmpBody.Files) != 2 {
		t.Errorf("compare = %+v", cmpBody)
	}
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"type": "status", "repo": "Codertocat/Hello-World", "sha": "nope", "state": "success"}`, 422},
		{`{"type": "status", "colour": "red"}`, 400},
		{`not json`, 400},
	} {
		r, err := http.Post(s.URL()+"/_fake/events", "application/json", bytes.NewReader([]byte(tc.body)))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != tc.status {
			t.Errorf("POST %s = %d; want %d", tc.body, r.StatusCode, tc.status)
		}
	}
}
