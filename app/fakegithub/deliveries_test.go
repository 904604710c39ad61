package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
)

// TestHookDeliveries records every attempt as GitHub does, lists them
// newest first with cursor pagination through go-github, and redelivers a
// failed one with the same X-GitHub-Delivery.
func TestHookDeliveries(t *testing.T) {
	var clk clock
	s := startServer(t, testScenario, func(o *Options) { o.Now = clk.Now })
	var mu sync.Mutex
	answer := http.StatusOK
	var got []string // X-GitHub-Delivery of what arrived
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if SignPayload("s3cret", mustRead(t, r)) != r.Header.Get("X-Hub-Signature-256") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got = append(got, r.Header.Get("X-GitHub-Delivery"))
		w.WriteHeader(answer)
	}))
	t.Cleanup(hs.Close)
	s.SetWebhookURL(hs.URL)
	ctx := context.Background()
	comment := func() *EventResult {
		res, _ := s.Apply(ctx, Event{Type: "issue_comment.created", Repo: "Codertocat/Hello-World", Number: 2, User: "octocat", Body: "hi"})
		return res
	}
	ok1 := comment()
	mu.Lock()
	answer = http.StatusServiceUnavailable
	mu.Unlock()
	failed := comment()
	s.SetAppDown(true)
	down := comment()
	if down.Delivered || down.Delivery == "" {
		t.Errorf("delivery to a down app = %+v; want a failed attempt", down)
	}
	s.SetAppDown(false)
	mu.Lock()
	answer = http.StatusOK
	mu.Unlock()
	s.SetWebhookURL("")
	if res := comment(); res.Delivery != "" || res.Skipped != "no webhook URL set" {
		t.Errorf("without a URL = %+v; want nothing attempted", res)
	}
	s.SetWebhookURL(hs.URL)

	app, err := clientCreator(t, s).NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	all, _, err := app.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		GUID, Status string
		Code         int
		Redelivery   bool
	}
	var rows []row
	for _, d := range all {
		rows = append(rows, row{d.GetGUID(), d.GetStatus(), d.GetStatusCode(), d.GetRedelivery()})
		if d.GetEvent() != "issue_comment" || d.GetAction() != "created" || d.GetInstallationID() != 7 || d.GetRepositoryID() == 0 || d.DeliveredAt == nil {
			t.Errorf("delivery %d = %+v", d.GetID(), d)
		}
	}
	want := []row{{down.Delivery, "failed to connect to host", 0, false}, {failed.Delivery, "Invalid HTTP Response: 503", 503, false}, {ok1.Delivery, "OK", 200, false}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Fatalf("deliveries, newest first (-want +got):\n%s", diff)
	}

	// Cursor pagination, as go-github reads it from the Link header.
	var pages [][]string
	opts := &github.ListCursorOptions{PerPage: 2}
	for {
		page, res, err := app.Apps.ListHookDeliveries(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		var guids []string
		for _, d := range page {
			guids = append(guids, d.GetGUID())
		}
		pages = append(pages, guids)
		if res.Cursor == "" {
			break
		}
		opts.Cursor = res.Cursor
	}
	if diff := cmp.Diff([][]string{{down.Delivery, failed.Delivery}, {ok1.Delivery}}, pages); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}

	// One delivery with its request and response.
	one, _, err := app.Apps.GetHookDelivery(ctx, all[1].GetID())
	if err != nil {
		t.Fatal(err)
	}
	if one.GetRequest().Headers["X-Github-Delivery"] != failed.Delivery || one.GetResponse().Headers["Content-Length"] == "" ||
		one.GetRequest().RawPayload == nil || !strings.Contains(string(*one.GetRequest().RawPayload), `"body":"hi"`) {
		t.Errorf("GetHookDelivery = request %+v, response %+v", one.GetRequest().Headers, one.GetResponse().Headers)
	}

	// Redeliver the failed one: same guid, a new attempt with redelivery true.
	// go-github reports GitHub's 202 as an *AcceptedError.
	var accepted *github.AcceptedError
	if _, _, err := app.Apps.RedeliverHookDelivery(ctx, all[1].GetID()); !errors.As(err, &accepted) {
		t.Fatalf("RedeliverHookDelivery = %v; want 202", err)
	}
	s.WaitWebhooks()
	mu.Lock()
	last := got[len(got)-1]
	mu.Unlock()
	if last != failed.Delivery {
		t.Errorf("redelivery arrived as %s; want the original %s", last, failed.Delivery)
	}
	after, _, err := app.Apps.ListHookDeliveries(ctx, nil)
	if err != nil || len(after) != 4 || after[0].GetGUID() != failed.Delivery || !after[0].GetRedelivery() || after[0].GetStatus() != "OK" || after[0].GetID() == all[1].GetID() {
		t.Errorf("after the redelivery: %+v, %v", after[0], err)
	}
	res := do(t, s, "GET", "/app/hook/deliveries?status=failure", appJWT(t, s), "")
	var failures []struct{ Status string }
	_ = json.NewDecoder(res.Body).Decode(&failures)
	if res.StatusCode != 200 || len(failures) != 1 || failures[0].Status != "Invalid HTTP Response: 503" {
		t.Errorf("status=failure = %d %+v; want the 503 (a refused connection has no status code)", res.StatusCode, failures)
	}
	if res := do(t, s, "GET", "/app/hook/deliveries", installationToken(t, s, 7), ""); res.StatusCode != 401 {
		t.Errorf("deliveries with an installation token = %d; want 401", res.StatusCode)
	}
	// GitHub keeps deliveries 3 days: a new one drops the older ones.
	clk.Advance(73 * time.Hour)
	comment()
	s.hookMu.Lock()
	kept := len(s.attempts)
	s.hookMu.Unlock()
	if kept != 1 {
		t.Errorf("attempts kept after 3 days = %d; want only the new one", kept)
	}
}

func mustRead(t *testing.T, r *http.Request) []byte {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		t.Error(err)
	}
	return data
}

// manifestApp registers an app through the manifest flow with its webhooks
// going to hookURL, and installs it on Codertocat/Hello-World as
// installation instID; secret, when set, is told the app's webhook secret
// before the installation's webhook is sent.
func manifestApp(t *testing.T, s *Server, name, hookURL string, instID int64, secret func(string)) *github.AppConfig {
	t.Helper()
	_, back := createFromManifest(t, s, "/settings/apps/new", manifestFor(name, hookURL, "pull_request"), "")
	anon := github.NewClient(nil)
	anon.BaseURL, _ = url.Parse(s.URL() + "/")
	cfg, _, err := anon.Apps.CompleteAppManifest(context.Background(), back.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if secret != nil {
		secret(cfg.GetWebhookSecret())
	}
	_, err = s.Apply(context.Background(), Event{Type: "installation.created", AppID: cfg.GetID(), InstallationID: instID,
		Account: "Codertocat", Repos: []string{"Codertocat/Hello-World"}})
	if ee := (*EventError)(nil); errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cfg
}

// TestHookDeliveriesPerApp keeps each app's deliveries apart: an app's JWT
// lists and reads only its own attempts, and redelivers them to its own
// webhook URL signed with its own secret. SetAppDown takes down the
// scenario app's URL, for every app whose webhooks go there.
func TestHookDeliveriesPerApp(t *testing.T) {
	s := startServer(t, testScenario)
	ctx := context.Background()
	main := newHookSink(t, "s3cret", "pull_request", "installation")
	s.SetWebhookURL(main.url)
	ci := newHookSink(t, "unknown yet", "pull_request", "installation")
	cfg := manifestApp(t, s, "Other CI", ci.url, 99, ci.setSecret)
	ciInstalled := ci.all()
	if len(ciInstalled) != 1 {
		t.Fatalf("Other CI got %d webhooks for its installation; want 1", len(ciInstalled))
	}

	pr := apply(t, s, Event{Type: "pull_request.opened", Repo: "Codertocat/Hello-World", Title: "Both", User: "octocat"})
	if len(pr.Followups) != 1 || !pr.Delivered || !pr.Followups[0].Delivered {
		t.Fatalf("pull_request.opened = %+v; want it delivered to both apps", pr)
	}
	mainApp, err := clientCreator(t, s).NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	ciApp, err := newAppClients(t, s, cfg).NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		GUID, Event  string
		Installation int64
		Redelivery   bool
	}
	list := func(c *github.Client) []row {
		t.Helper()
		ds, _, err := c.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []row
		for _, d := range ds {
			out = append(out, row{d.GetGUID(), d.GetEvent(), d.GetInstallationID(), d.GetRedelivery()})
		}
		return out
	}
	if diff := cmp.Diff([]row{{pr.Delivery, "pull_request", 7, false}}, list(mainApp)); diff != "" {
		t.Errorf("fix-status's deliveries (-want +got):\n%s", diff)
	}
	ciRows := list(ciApp)
	want := []row{{pr.Followups[0].Delivery, "pull_request", 99, false}, {ciInstalled[0].delivery, "installation", 99, false}}
	if diff := cmp.Diff(want, ciRows); diff != "" {
		t.Errorf("Other CI's deliveries (-want +got):\n%s", diff)
	}

	ciDeliveries, _, err := ciApp.Apps.ListHookDeliveries(ctx, &github.ListCursorOptions{PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := ciDeliveries[0].GetID()
	if _, _, err := mainApp.Apps.GetHookDelivery(ctx, id); !isStatus(err, 404) {
		t.Errorf("fix-status reading Other CI's delivery = %v; want 404", err)
	}
	if _, _, err := mainApp.Apps.RedeliverHookDelivery(ctx, id); !isStatus(err, 404) {
		t.Errorf("fix-status redelivering Other CI's delivery = %v; want 404", err)
	}
	if d, _, err := ciApp.Apps.GetHookDelivery(ctx, id); err != nil ||
		d.GetRequest().Headers["X-Github-Hook-Installation-Target-Id"] != strconv.FormatInt(cfg.GetID(), 10) {
		t.Errorf("Other CI's delivery = %+v, %v; want one sent as Other CI's", d, err)
	}
	// go-github expects 202 with an empty body; its error for one without
	// a body is the only one tolerated.
	if _, _, err := ciApp.Apps.RedeliverHookDelivery(ctx, id); err != nil && !errors.As(err, new(*github.AcceptedError)) {
		t.Fatal(err)
	}
	s.WaitWebhooks()
	// The sink's dispatcher verified the signature with Other CI's secret.
	if got := ci.all(); len(got) != 3 || got[2].delivery != pr.Followups[0].Delivery || len(main.all()) != 1 {
		t.Errorf("after the redelivery Other CI has %d webhooks (last %+v), fix-status %d; want 3 with the same guid, and 1", len(got), got[len(got)-1], len(main.all()))
	}
	if rows := list(ciApp); len(rows) != 3 || rows[0] != (row{pr.Followups[0].Delivery, "pull_request", 99, true}) {
		t.Errorf("Other CI's deliveries after the redelivery = %+v; want the redelivery first", rows)
	}

	// Down is the scenario app's server: an app whose hook URL is on that
	// server (another path) is down with it (its attempt gets no answer at
	// all), one with a server of its own is not.
	same := manifestApp(t, s, "Same Server", main.url+"/other", 100, nil)
	s.SetAppDown(true)
	closed, err := s.Apply(ctx, Event{Type: "pull_request.closed", Repo: "Codertocat/Hello-World", Number: pr.Number})
	if err == nil || closed.Delivered {
		t.Errorf("pull_request.closed while down = %+v, %v; want fix-status's delivery failed", closed, err)
	}
	type outcome struct {
		Code int
		Down bool
	}
	got := map[int64]outcome{}
	for _, d := range s.Deliveries() {
		if d.Event == "pull_request" && d.Action == "closed" {
			got[d.AppID] = outcome{d.StatusCode, strings.Contains(d.Error, "the app is down")}
		}
	}
	wantDown := map[int64]outcome{42: {0, true}, cfg.GetID(): {http.StatusOK, false}, same.GetID(): {0, true}}
	if diff := cmp.Diff(wantDown, got); diff != "" {
		t.Errorf("pull_request.closed per app (-want +got):\n%s", diff)
	}
}
