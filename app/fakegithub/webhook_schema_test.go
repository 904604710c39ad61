package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// webhookEvents makes one delivery of every webhook the emulator sends.
func webhookEvents() []Event {
	const r = "Codertocat/Hello-World"
	doc := "# Docs\n"
	return []Event{
		{Type: "pull_request.opened", Repo: r, Number: 10, Title: "Docs", User: "octocat", Body: "Adds docs", Files: []File{{Filename: "docs/x.md", Status: "added", Content: &doc}}},
		{Type: "pull_request.synchronize", Repo: r, Number: 10, Files: []File{{Filename: "docs/y.md", Status: "added"}}},
		{Type: "pull_request.edited", Repo: r, Number: 10, Base: "release/v1", Title: "More docs"},
		{Type: "pull_request.converted_to_draft", Repo: r, Number: 10},
		{Type: "pull_request.ready_for_review", Repo: r, Number: 10},
		{Type: "pull_request.closed", Repo: r, Number: 10},
		{Type: "pull_request.reopened", Repo: r, Number: 10},
		{Type: "issue_comment.created", Repo: r, Number: 10, User: "octocat", Body: "/fix-status"},
		{Type: "push", Repo: r, Branch: "master", User: "octocat", Contents: map[string]string{"a.txt": "a\n", "README.md": "changed\n"}, Removed: []string{"docs/a.md"}},
		{Type: "push", Repo: r, Branch: "feature", Contents: map[string]string{"b.txt": "b\n"}},
		{Type: "status", Repo: r, SHA: headSHA, Context: "ci/build", State: "failure", Description: "Build failed", TargetURL: "https://ci.example/1", Creator: "prow"},
		{Type: "check_run.created", Repo: r, SHA: headSHA, Name: "ci/unit", Workflow: "Unit"},
		{Type: "check_run.completed", Repo: r, SHA: headSHA, Name: "ci/unit", Conclusion: "success"},
		{Type: "check_run.completed", Repo: r, SHA: headSHA, Name: "ci/e2e", AppID: 9000, Conclusion: "failure"},
		{Type: "check_suite.completed", Repo: r, SHA: headSHA, AppID: 9000, Conclusion: "failure"},
		{Type: "branch_protection_rule.edited", Repo: r, Branch: "master", Protection: &ScenarioProtection{RequiredStatusChecks: &ScenarioRequiredChecks{Strict: true, Contexts: []string{"ci/build"}}}},
		{Type: "branch_protection_rule.created", Repo: r, Branch: "release/v1", Protection: &ScenarioProtection{RequiredStatusChecks: &ScenarioRequiredChecks{Contexts: []string{"ci/build"}}}},
		{Type: "branch_protection_rule.deleted", Repo: r, Branch: "release/v1"},
		{Type: "repository_ruleset.edited", Repo: r, Branch: "master", Rules: []ScenarioRule{{Type: "required_status_checks", Parameters: map[string]any{"required_status_checks": []any{map[string]any{"context": "ci/lint", "integration_id": 15368}}}}}},
		{Type: "repository_ruleset.created", Repo: "octo-org/service", Branch: "main", Rules: []ScenarioRule{{Type: "deletion"}}},
		{Type: "repository_ruleset.deleted", Repo: "octo-org/service", Branch: "main"},
		{Type: "installation.created", InstallationID: 99, Account: "new-org", AccountType: "Organization"},
		{Type: "installation_repositories.added", InstallationID: 7, Repos: []string{"Codertocat/not-installed"}},
	}
}

// TestWebhookPayloadsMatchSchemas validates every payload the emulator sends
// against the subset's webhook schemas (x-webhooks →
// components/schemas/webhook-<event>-<action>).
func TestWebhookPayloadsMatchSchemas(t *testing.T) {
	s := startServer(t, rulesetHooksScenario, func(o *Options) { o.WebhooksForAPIWrites = true })
	receiver(t, s, "s3cret")
	doc := loadSubset(t)
	sent := 0
	for _, ev := range webhookEvents() {
		res, err := s.Apply(context.Background(), ev)
		if err != nil {
			t.Fatalf("%s: %v", ev.Type, err)
		}
		sent += 1 + len(res.Followups)
	}
	// And the webhooks of the app's own writes.
	tok := installationToken(t, s, 7)
	const r = "/repos/Codertocat/Hello-World"
	for _, w := range []struct{ method, path, body string }{
		{"POST", r + "/statuses/" + headSHA, `{"state":"success","context":"ci/docs"}`},
		{"POST", r + "/check-runs", `{"name":"ci/docs","head_sha":"` + headSHA + `","conclusion":"skipped","output":{"title":"Skipped","summary":"no docs"}}`},
		{"POST", r + "/issues/2/comments", `{"body":"Skipped ci/docs"}`},
	} {
		if res := do(t, s, w.method, w.path, tok, w.body); res.StatusCode != 201 {
			t.Fatalf("%s %s = %d", w.method, w.path, res.StatusCode)
		}
	}
	s.WaitWebhooks()
	// The check run the app completes ends its suite: check_suite.completed.
	if n := len(s.Deliveries()); n != sent+4 {
		t.Fatalf("%d deliveries; want %d", n, sent+4)
	}
	seen := map[string]bool{}
	for _, d := range s.Deliveries() {
		name := "webhook-" + strings.ReplaceAll(d.Event, "_", "-")
		if d.Action != "" {
			name += "-" + strings.ReplaceAll(d.Action, "_", "-")
		}
		seen[name] = true
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Errorf("%s: no schema %s in the description", d.Event, name)
			continue
		}
		var payload any
		if err := json.Unmarshal(d.Payload, &payload); err != nil {
			t.Fatal(err)
		}
		err := ref.Value.VisitJSON(payload, openapi3.MultiErrors())
		for _, e := range flatten(err) {
			// The schema's list of app events predates repository_ruleset,
			// which fix-status subscribes to (its suites carry its app).
			if strings.HasPrefix(e, "check_suite.app.events.") && appEvent(d.Payload, e) == "repository_ruleset" {
				continue
			}
			t.Errorf("%s: %s", name, e)
		}
	}
	if len(seen) != 21 {
		t.Errorf("validated %d kinds of webhook; want 21", len(seen))
	}
}

// flatten lists schema errors as "path: reason".
func flatten(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			out = append(out, flatten(e)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		path := strings.Join(se.JSONPointer(), ".")
		return []string{fmt.Sprintf("%s: %s", path, se.Reason)}
	}
	return []string{err.Error()}
}

// TestWebhookPayloadsLikeFixtures compares the emulator's payloads with
// GitHub's example deliveries (testdata/webhooks): every key GitHub's example
// has, two levels deep, is there too.
func TestWebhookPayloadsLikeFixtures(t *testing.T) {
	s := startServer(t, rulesetHooksScenario)
	receiver(t, s, "s3cret")
	for _, ev := range webhookEvents() {
		if _, err := s.Apply(context.Background(), ev); err != nil {
			t.Fatalf("%s: %v", ev.Type, err)
		}
	}
	fixtures := map[string]string{
		"pull_request.opened":             "pull_request/opened.with-organization.json",
		"issue_comment.created":           "issue_comment/created.with-installation.json",
		"push":                            "push/event.with-installation.json",
		"status":                          "status/event.with-installation.json",
		"check_run.completed":             "check_run/completed.json",
		"check_run.created":               "check_run/created.json",
		"check_suite.completed":           "check_suite/completed.json",
		"branch_protection_rule.edited":   "branch_protection_rule/edited.json",
		"installation.created":            "installation/created.json",
		"installation_repositories.added": "installation_repositories/added.json",
	}
	// Keys of GitHub's examples the emulator does not send, and why.
	absent := map[string]string{
		"organization": "Hello-World belongs to a user; organization repositories get one (checked below)",
	}
	got := map[string]map[string]any{}
	for _, d := range s.Deliveries() {
		key := d.Event
		if d.Action != "" {
			key += "." + d.Action
		}
		if _, ok := got[key]; ok {
			continue
		}
		var m map[string]any
		_ = json.Unmarshal(d.Payload, &m)
		got[key] = m
	}
	if org := got["repository_ruleset.created"]["organization"]; org == nil {
		t.Error("an event on octo-org/service has no organization")
	}
	names := make([]string, 0, len(fixtures))
	for k := range fixtures {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, key := range names {
		data, err := os.ReadFile(filepath.Join("../../testdata/webhooks", fixtures[key]))
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		mine := got[key]
		if mine == nil {
			t.Errorf("%s: not delivered", key)
			continue
		}
		for _, missing := range missingKeys(want, mine, "", 2) {
			if _, ok := absent[missing]; ok {
				continue
			}
			if strings.HasPrefix(missing, "changes.") {
				continue // changes lists what this edit changed, which differs from the example's edit
			}
			t.Errorf("%s: GitHub's example has %s, the emulator's payload does not", key, missing)
		}
	}
}

func missingKeys(want, got map[string]any, prefix string, depth int) []string {
	var out []string
	for k, v := range want {
		path := prefix + k
		gv, ok := got[k]
		if !ok {
			out = append(out, path)
			continue
		}
		wm, wok := v.(map[string]any)
		gm, gok := gv.(map[string]any)
		if depth > 1 && wok && gok {
			out = append(out, missingKeys(wm, gm, path+".", depth-1)...)
		}
	}
	sort.Strings(out)
	return out
}

// appEvent is the check_suite.app.events entry a validation error names.
func appEvent(payload []byte, e string) string {
	var p struct {
		CheckSuite struct {
			App struct{ Events []string } `json:"app"`
		} `json:"check_suite"`
	}
	_ = json.Unmarshal(payload, &p)
	field := strings.TrimSuffix(strings.Fields(e)[0], ":")
	i, err := strconv.Atoi(strings.TrimPrefix(field, "check_suite.app.events."))
	if err != nil || i < 0 || i >= len(p.CheckSuite.App.Events) {
		return ""
	}
	return p.CheckSuite.App.Events[i]
}

// rulesetHooksScenario lets octo-org's installation, which lacks
// Administration in testScenario, receive the repository_ruleset events
// the tests send for an organization's repository (GitHub sends them only
// with that permission).
var rulesetHooksScenario = strings.Replace(testScenario, "permissions: {metadata: read, pull_requests: read, statuses: read}",
	"permissions: {metadata: read, pull_requests: read, statuses: read, administration: read}", 1)
