package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fix-status/fix-status/app/appinfo"
	"github.com/fix-status/fix-status/config"
	"github.com/fix-status/fix-status/handlers"
)

// TestResolveGitHubURLs: the API and GraphQL URLs written for each kind of
// GitHub, given or derived.
func TestResolveGitHubURLs(t *testing.T) {
	cases := []struct {
		name, web, api, graphql string
		want                    githubURLs
		wantErr                 string
	}{
		{name: "github.com", web: "https://github.com/",
			want: githubURLs{"https://github.com", "https://api.github.com/", "https://api.github.com/graphql"}},
		{name: "GitHub Enterprise Server", web: "https://ghe.example.com",
			want: githubURLs{"https://ghe.example.com", "https://ghe.example.com/api/v3/", "https://ghe.example.com/api/graphql"}},
		{name: "GHES with its API given", web: "https://ghe.example.com", api: "https://ghe-api.example.com/api/v3",
			want: githubURLs{"https://ghe.example.com", "https://ghe-api.example.com/api/v3/", "https://ghe-api.example.com/api/graphql"}},
		{name: "the emulator: API at the root", web: "http://127.0.0.1:8090", api: "http://127.0.0.1:8090",
			want: githubURLs{"http://127.0.0.1:8090", "http://127.0.0.1:8090/", "http://127.0.0.1:8090/graphql"}},
		{name: "GraphQL given", web: "https://ghe.example.com", graphql: "https://gql.example.com/graphql",
			want: githubURLs{"https://ghe.example.com", "https://ghe.example.com/api/v3/", "https://gql.example.com/graphql"}},
		{name: "no scheme", web: "github.com", wantErr: `--web-url: "github.com" is not an absolute http(s) URL`},
		{name: "a query", web: "https://ghe.example.com?x=1", wantErr: "--web-url"},
		{name: "a bad API URL", web: "https://ghe.example.com", api: "ftp://x", wantErr: "--api-url"},
		{name: "a bad GraphQL URL", web: "https://ghe.example.com", graphql: "/graphql", wantErr: "--graphql-url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveGitHubURLs(tc.web, tc.api, tc.graphql)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestGitHubPages: where the manifest is posted and where the app's
// settings are, for an organization and for a user.
func TestGitHubPages(t *testing.T) {
	const web = "https://ghe.example.com"
	for _, tc := range []struct{ got, want string }{
		{newAppURL(web, "", "s1"), web + "/settings/apps/new?state=s1"},
		{newAppURL(web, "acme", "s 2"), web + "/organizations/acme/settings/apps/new?state=s+2"},
		{appSettingsURL(web, "", "fix"), web + "/settings/apps/fix"},
		{appSettingsURL(web, "acme", "fix"), web + "/organizations/acme/settings/apps/fix"},
		{appSettingsURL(web, "acme", ""), web + "/organizations/acme/settings/apps"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}

// TestSubscribedEventsAreHandled: the app subscribes to every event a
// handler takes, and each event it subscribes to has a handler.
func TestSubscribedEventsAreHandled(t *testing.T) {
	handled := map[string]bool{}
	for _, h := range handlers.All(nil, nil) {
		for _, e := range h.Handles() {
			handled[e] = true
		}
	}
	subscribed := map[string]bool{}
	for _, e := range append(appinfo.DefaultEvents(), appinfo.AlwaysDelivered()...) {
		subscribed[e] = true
	}
	var problems []string
	for e := range handled {
		if !subscribed[e] {
			problems = append(problems, e+": handled, but the app does not subscribe to it (app/appinfo)")
		}
	}
	for e := range subscribed {
		if !handled[e] {
			problems = append(problems, e+": subscribed, but no handler takes it")
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

// TestRegisterRefusesBeforeGitHub: flags and files that cannot work stop
// register before it serves the page (no app is created on GitHub), with
// a message naming the problem, and nothing is written.
func TestRegisterRefusesBeforeGitHub(t *testing.T) {
	dir := t.TempDir()
	taken := filepath.Join(dir, "taken.yaml")
	keyTaken := filepath.Join(dir, "keyed.yaml")
	for _, f := range []string{taken, filepath.Join(dir, "keyed.private-key.pem")} {
		if err := os.WriteFile(f, []byte("old\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fresh := filepath.Join(dir, "fresh.yaml")
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no web URL", []string{"--config-out", fresh}, `required flag(s) "web-url" not set`},
		{"no config file", []string{"--web-url", "https://github.com"}, `required flag(s) "config-out" not set`},
		{"a bad web URL", []string{"--web-url", "github.com", "--config-out", fresh}, "--web-url"},
		{"a bad public URL", []string{"--web-url", "https://github.com", "--public-url", "fix.example", "--config-out", fresh}, "--public-url"},
		{"a name GitHub refuses", []string{"--web-url", "https://github.com", "--name", strings.Repeat("x", 35), "--config-out", fresh},
			"--name: \"" + strings.Repeat("x", 35) + "\" must have 1 to 34 characters"},
		{"no time to wait", []string{"--web-url", "https://github.com", "--timeout", "0s", "--config-out", fresh}, "--timeout: 0s is not positive"},
		{"the config exists", []string{"--web-url", "https://github.com", "--config-out", taken}, taken + " exists"},
		{"the key exists", []string{"--web-url", "https://github.com", "--config-out", keyTaken}, "keyed.private-key.pem exists"},
		// A file where a directory should be (as root, modes stop nothing).
		{"a directory that cannot be made", []string{"--web-url", "https://github.com", "--config-out", filepath.Join(taken, "sub", "c.yaml")},
			"cannot check " + filepath.Join(taken, "sub", "c.yaml") + ": lstat"},
		{"a bad listen address", []string{"--web-url", "https://github.com", "--listen", "127.0.0.1:99999", "--config-out", fresh}, "--listen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			root := newRootCmd()
			root.SetArgs(append([]string{"register", "--no-browser"}, tc.args...))
			root.SetOut(&out)
			root.SetErr(&out)
			err := root.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v; want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(out.String(), "Open http") {
				t.Errorf("the page was served: %s", out.String())
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := "keyed.private-key.pem taken.yaml"; strings.Join(names, " ") != want {
		t.Errorf("files in the directory: %v; want only %s", names, want)
	}
}

// TestRegisterServerGuards: the local server answers only requests that
// name its own address, and only the first callback.
func TestRegisterServerGuards(t *testing.T) {
	r := &registration{o: registerOptions{name: "fix"}, urls: githubURLs{web: "https://github.com"}, state: "s",
		host: "127.0.0.1:5000", manifest: []byte(`{"name":"fix"}`), done: make(chan registered, 1)}
	h := r.routes()
	cases := []struct {
		name, host, path string
		ended            bool
		want             int
		body             string
	}{
		{"the page", "127.0.0.1:5000", "/", false, http.StatusOK, `action="https://github.com/settings/apps/new?state=s"`},
		{"another host name", "rebound.example:5000", "/", false, http.StatusMisdirectedRequest, "wrong host"},
		{"another path", "127.0.0.1:5000", "/favicon.ico", false, http.StatusNotFound, ""},
		{"a callback after the end", "127.0.0.1:5000", "/callback?code=c&state=s", true, http.StatusGone, "has ended"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r.ended.Store(tc.ended)
			req := httptest.NewRequest(http.MethodGet, "http://"+tc.host+tc.path, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("GET %s (Host %s) = %d %q; want %d with %q", tc.path, tc.host, rec.Code, rec.Body.String(), tc.want, tc.body)
			}
		})
	}
}

// TestRegisterWithoutWebhookSecret: GitHub's conversion may give no webhook
// secret (its schema allows null); register then makes one, writes it, and
// says where to set it on GitHub.
func TestRegisterWithoutWebhookSecret(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	// GitHub's answer, as its REST API description allows it.
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/app-manifests/c0de/conversions" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": 7, "slug": "fix", "name": "fix", "owner": map[string]any{"login": "acme"},
			"html_url": "https://github.com/apps/fix", "client_id": "Iv1.7", "client_secret": "cs", "webhook_secret": nil, "pem": pemKey})
	}))
	defer gh.Close()
	files, err := prepareOutput(filepath.Join(t.TempDir(), "fix.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := &registration{o: registerOptions{org: "acme"}, urls: githubURLs{web: "https://github.com", api: gh.URL + "/", graphql: gh.URL + "/graphql"},
		publicURL: "https://fix.example", files: files, state: "s"}
	res := r.complete(url.Values{"code": {"c0de"}, "state": {"s"}})
	if res.err != nil || !res.generatedSecret {
		t.Fatalf("complete = %+v; want the app with a secret made here", res)
	}
	cfg, err := config.LoadServer(files.config)
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	if len(cfg.GitHub.App.WebhookSecret) < 26 {
		t.Errorf("webhook_secret = %q; want a random one", cfg.GitHub.App.WebhookSecret)
	}
	var out bytes.Buffer
	if err := r.finish(res, &out); err != nil {
		t.Fatal(err)
	}
	want := "GitHub gave no webhook secret: at https://github.com/organizations/acme/settings/apps/fix set the webhook's secret to\n" +
		"     github.app.webhook_secret of " + files.config + "."
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}
