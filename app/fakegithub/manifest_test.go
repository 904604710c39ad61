package fakegithub

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"
)

// manifestFor is a manifest like fix-status register posts.
func manifestFor(name, hookURL string, events ...string) string {
	m := map[string]any{
		"name": name, "url": "https://ci.example/app", "redirect_url": "http://127.0.0.1:9/registered",
		"hook_attributes":     map[string]any{"url": hookURL},
		"callback_urls":       []string{"http://127.0.0.1:9/login"},
		"default_permissions": map[string]string{"statuses": "write", "pull_requests": "read"},
		"default_events":      events,
	}
	data, _ := json.Marshal(m)
	return string(data)
}

// createFromManifest posts a manifest as a browser would (the state in the
// form's action URL) and returns the redirect's query.
func createFromManifest(t *testing.T, s *Server, path, manifest, state string) (int, url.Values) {
	t.Helper()
	u, err := url.Parse(s.URL() + path)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("state", state)
	u.RawQuery = q.Encode()
	res, err := noRedirects.PostForm(u.String(), url.Values{"manifest": {manifest}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if loc == nil {
		return res.StatusCode, nil
	}
	return res.StatusCode, loc.Query()
}

// newAppClients are go-githubapp's client creator for an app made from a
// manifest.
func newAppClients(t *testing.T, s *Server, cfg *github.AppConfig) githubapp.ClientCreator {
	t.Helper()
	var c githubapp.Config
	c.WebURL, c.V3APIURL, c.V4APIURL = s.URL()+"/", s.URL()+"/", s.URL()+"/graphql"
	c.App.IntegrationID, c.App.WebhookSecret, c.App.PrivateKey = cfg.GetID(), cfg.GetWebhookSecret(), cfg.GetPEM()
	cc, err := githubapp.NewDefaultCachingClientCreator(c,
		githubapp.WithClientCaching(true, func() httpcache.Cache { return httpcache.NewMemoryCache() }))
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// TestManifestFlowServesTheNewApp registers an app from a manifest, converts
// its code with go-github, authenticates as it, installs it and follows its
// webhooks and writes.
func TestManifestFlowServesTheNewApp(t *testing.T) {
	s := startServer(t, testScenario)
	ctx := context.Background()
	main := newHookSink(t, "s3cret", "pull_request", "installation")
	s.SetWebhookURL(main.url)
	ciHooks := newHookSink(t, "unknown yet", "pull_request", "installation")

	status, back := createFromManifest(t, s, "/settings/apps/new?login=octocat", manifestFor("Other CI", ciHooks.url, "pull_request"), "xyz")
	if status != http.StatusFound || back.Get("state") != "xyz" || back.Get("code") == "" {
		t.Fatalf("POST /settings/apps/new = %d to %v; want a redirect with the code and the state", status, back)
	}
	anon := github.NewClient(nil)
	anon.BaseURL, _ = url.Parse(s.URL() + "/")
	cfg, res, err := anon.Apps.CompleteAppManifest(ctx, back.Get("code"))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("CompleteAppManifest = %v, %v", res, err)
	}
	if cfg.GetSlug() != "other-ci" || cfg.GetName() != "Other CI" || cfg.GetOwner().GetLogin() != "octocat" ||
		!strings.Contains(cfg.GetPEM(), "RSA PRIVATE KEY") || cfg.GetWebhookSecret() == "" || cfg.GetClientSecret() == "" ||
		!strings.HasPrefix(cfg.GetClientID(), "Iv1.") || cfg.GetID() == 42 || cfg.GetExternalURL() != "https://ci.example/app" {
		t.Errorf("app config = %+v", cfg)
	}
	if _, _, err := anon.Apps.CompleteAppManifest(ctx, back.Get("code")); !isStatus(err, 404) {
		t.Errorf("a second conversion = %v; want 404 (codes work once)", err)
	}

	cc := newAppClients(t, s, cfg)
	app, err := cc.NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	me, _, err := app.Apps.Get(ctx, "")
	if err != nil || me.GetSlug() != "other-ci" || me.GetPermissions().GetMetadata() != "read" || me.GetPermissions().GetStatuses() != "write" {
		t.Errorf("GET /app as the new app = %+v, %v", me, err)
	}
	if insts, _, err := app.Apps.ListInstallations(ctx, nil); err != nil || len(insts) != 0 {
		t.Errorf("the new app's installations = %v, %v; want none (the scenario's belong to fix-status)", insts, err)
	}

	// Installing it delivers installation.created to it alone, signed with its secret.
	ciHooks.setSecret(cfg.GetWebhookSecret())
	inst := apply(t, s, Event{Type: "installation.created", AppID: cfg.GetID(), InstallationID: 99, Account: "Codertocat",
		Repos: []string{"Codertocat/Hello-World"}})
	if !inst.Delivered || len(ciHooks.all()) != 1 || len(main.all()) != 0 {
		t.Fatalf("installation.created = %+v; the new app got %d webhooks, fix-status %d; want 1 and 0", inst, len(ciHooks.all()), len(main.all()))
	}
	var ie github.InstallationEvent
	if err := json.Unmarshal(ciHooks.all()[0].payload, &ie); err != nil || ie.GetInstallation().GetAppID() != cfg.GetID() ||
		ie.GetInstallation().GetAppSlug() != "other-ci" || len(ie.Repositories) != 1 {
		t.Errorf("installation payload = %s", ciHooks.all()[0].payload)
	}

	// Its token reaches its repositories; its writes are its bot's.
	client, err := cc.NewInstallationClient(99)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Repositories.Get(ctx, "Codertocat", "private-repo"); !isStatus(err, 404) {
		t.Errorf("a repository outside its installation = %v; want 404", err)
	}
	if _, _, err := client.Repositories.CreateStatus(ctx, "Codertocat", "Hello-World", headSHA,
		&github.RepoStatus{State: github.String("success"), Context: github.String("other-ci")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Checks.CreateCheckRun(ctx, "Codertocat", "Hello-World", github.CreateCheckRunOptions{Name: "other", HeadSHA: headSHA}); !isStatus(err, 403) {
		t.Errorf("a check run without the checks permission = %v; want 403", err)
	}
	st := s.State()
	var creator string
	for _, ss := range st.Repos[0].Pulls[0].Statuses {
		if ss.Context == "other-ci" {
			creator = ss.Creator
		}
	}
	if creator != "other-ci[bot]" {
		t.Errorf("status creator = %q; want other-ci[bot]", creator)
	}
	if st.Installations[len(st.Installations)-1].AppID != cfg.GetID() {
		t.Errorf("state installations = %+v; want the last one of the new app", st.Installations)
	}
	if got := s.Stats().ByApp["other-ci"]; got.Writes != 1 || got.Requests < 3 {
		t.Errorf("stats of other-ci = %+v; want its requests and one write", got)
	}

	// A repository event reaches both apps, each with its installation.
	pr := apply(t, s, Event{Type: "pull_request.opened", Repo: "Codertocat/Hello-World", Title: "Both", User: "octocat"})
	if len(pr.Followups) != 1 || !pr.Followups[0].Delivered || len(ciHooks.all()) != 2 || len(main.all()) != 1 {
		t.Fatalf("pull_request.opened = %+v; want a followup delivered to the new app", pr)
	}
	var pe github.PullRequestEvent
	if err := json.Unmarshal(ciHooks.all()[1].payload, &pe); err != nil || pe.GetInstallation().GetID() != 99 || pe.GetPullRequest().GetTitle() != "Both" {
		t.Errorf("the new app's pull_request payload = %s", ciHooks.all()[1].payload)
	}
	// fix-status's own app is untouched.
	if self, _, err := installationClient(t, s, 7).Repositories.Get(ctx, "Codertocat", "private-repo"); err != nil || self.GetPrivate() != true {
		t.Errorf("fix-status's token = %v, %v", self, err)
	}
}

func TestManifestFlowRefusals(t *testing.T) {
	s := startServer(t, testScenario)
	tests := []struct {
		name, path, manifest string
		want                 int
	}{
		{"an organization's app", "/organizations/octo-org/settings/apps/new", manifestFor("Org App", "http://127.0.0.1:9/h"), http.StatusFound},
		{"the name is taken", "/settings/apps/new", manifestFor("fix-status", "http://127.0.0.1:9/h"), http.StatusUnprocessableEntity},
		{"no redirect_url", "/settings/apps/new", `{"name": "x", "url": "https://x.example"}`, http.StatusUnprocessableEntity},
		{"not JSON", "/settings/apps/new", `name=x`, http.StatusBadRequest},
		{"a bad permission", "/settings/apps/new", strings.Replace(manifestFor("Y", "http://127.0.0.1:9/h"), `"read"`, `"all"`, 1), http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		if got, _ := createFromManifest(t, s, tc.path, tc.manifest, ""); got != tc.want {
			t.Errorf("%s: POST %s = %d; want %d", tc.name, tc.path, got, tc.want)
		}
	}
	found := false
	for _, a := range s.State().Apps {
		if a.Slug == "org-app" {
			found = a.Owner == "octo-org"
		}
	}
	if !found {
		t.Errorf("state apps = %+v; want org-app owned by octo-org", s.State().Apps)
	}
	// Codes expire after an hour.
	clk := &clock{}
	s = startServer(t, testScenario, func(o *Options) { o.Now = clk.Now })
	_, back := createFromManifest(t, s, "/settings/apps/new", manifestFor("Late", "http://127.0.0.1:9/h"), "")
	clk.Advance(61 * time.Minute)
	res := do(t, s, "POST", "/app-manifests/"+back.Get("code")+"/conversions", "", "")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("a conversion after an hour = %d %s; want 404", res.StatusCode, body)
	}
}
