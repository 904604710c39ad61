package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
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
