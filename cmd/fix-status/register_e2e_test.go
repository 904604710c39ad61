package main

// End-to-end tests of `fix-status register` against the emulator's manifest
// flow: an HTTP client plays the user's browser (it loads register's page,
// submits its form to the emulator, which approves at once, and follows the
// redirect back to register's callback), and the files register writes are
// then used as they are: `serve` started from the written config receives
// the new app's webhooks and repairs a pull request as the new app's bot.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/fix-status/fix-status/app/appinfo"
	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/config"
)

// watchedOutput collects a command's output and hands over the local
// page's address once it is printed.
type watchedOutput struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	page chan string
	sent bool
}

var openLine = regexp.MustCompile(`Open (http://\S+/) in a browser`)

func newWatchedOutput() *watchedOutput { return &watchedOutput{page: make(chan string, 1)} }

func (w *watchedOutput) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := openLine.FindStringSubmatch(w.buf.String()); m != nil && !w.sent {
		w.sent = true
		w.page <- m[1]
	}
	return len(p), nil
}

func (w *watchedOutput) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// registerRun is `fix-status register` running in the background.
type registerRun struct {
	page string
	out  *watchedOutput
	done chan error
}

// startRegister runs the register command with args (and --no-browser)
// until it serves its page.
func startRegister(t *testing.T, args ...string) *registerRun {
	t.Helper()
	run := &registerRun{out: newWatchedOutput(), done: make(chan error, 1)}
	root := newRootCmd()
	// A later --timeout in args wins; this one ends a run a failed test
	// left waiting.
	root.SetArgs(append([]string{"register", "--no-browser", "--timeout", e2eWait.String()}, args...))
	root.SetOut(run.out)
	root.SetErr(run.out)
	go func() { run.done <- root.ExecuteContext(context.Background()) }()
	select {
	case run.page = <-run.out.page:
	case err := <-run.done:
		t.Fatalf("register ended before serving its page: %v\n%s", err, run.out)
	case <-time.After(e2eWait):
		t.Fatalf("register did not serve its page:\n%s", run.out)
	}
	return run
}

// wait returns register's error once it has ended.
func (r *registerRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(e2eWait):
		t.Fatalf("register did not end:\n%s", r.out)
		return nil
	}
}

// manifestForm is the form of register's page, as a browser reads it.
type manifestForm struct {
	action string
	fields url.Values
}

// readForm loads register's page and reads its form as a browser does.
func readForm(page string) (manifestForm, error) {
	f := manifestForm{fields: url.Values{}}
	res, err := http.Get(page)
	if err != nil {
		return f, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return f, fmt.Errorf("GET %s = %d", page, res.StatusCode)
	}
	doc, err := html.Parse(res.Body)
	if err != nil {
		return f, err
	}
	method := ""
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			switch n.Data {
			case "form":
				f.action, method = attrs["action"], attrs["method"]
			case "input":
				f.fields.Set(attrs["name"], attrs["value"])
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if method != "post" || f.action == "" || f.fields.Get("manifest") == "" {
		return f, fmt.Errorf("register's page has no form posting a manifest: method %q, action %q, fields %v", method, f.action, f.fields)
	}
	return f, nil
}

// post submits the form as a browser does and follows the redirects:
// GitHub (the emulator) answers with one to register's callback. It returns
// the last answer's status and body, and the URL that gave it.
func (f manifestForm) post() (int, string, *url.URL, error) {
	res, err := http.PostForm(f.action, f.fields)
	if err != nil {
		return 0, "", nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Request.URL, err
}

// visit is the user's whole visit: register's page, GitHub, back to the
// callback.
func visit(page string) (int, string, *url.URL, error) {
	f, err := readForm(page)
	if err != nil {
		return 0, "", nil, err
	}
	return f.post()
}

func loadPage(t *testing.T, page string) manifestForm {
	t.Helper()
	f, err := readForm(page)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f manifestForm) submit(t *testing.T) (int, string, *url.URL) {
	t.Helper()
	status, body, last, err := f.post()
	if err != nil {
		t.Fatal(err)
	}
	return status, body, last
}

func browse(t *testing.T, page string) (int, string, *url.URL) {
	t.Helper()
	return loadPage(t, page).submit(t)
}

// files lists a directory's entries by name.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// writtenFiles checks that register wrote the config and the key, mode
// 0600, and returns the config as written (before defaults).
func writtenFiles(t *testing.T, cfgPath string) *config.Server {
	t.Helper()
	keyPath := strings.TrimSuffix(cfgPath, ".yaml") + ".private-key.pem"
	for _, p := range []string{cfgPath, keyPath} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o; want 600", p, st.Mode().Perm())
		}
	}
	if got := files(t, filepath.Dir(cfgPath)); len(got) != 2 {
		t.Errorf("files beside the config: %v; want the config and the key only", got)
	}
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := config.ParseServer(data)
	if err != nil {
		t.Fatalf("the written config does not parse: %v\n%s", err, data)
	}
	if raw.GitHub.App.PrivateKeyFile != keyPath || raw.GitHub.App.PrivateKey != "" {
		t.Errorf("private_key_file = %q, private_key %q; want %s alone", raw.GitHub.App.PrivateKeyFile, raw.GitHub.App.PrivateKey, keyPath)
	}
	key, err := os.ReadFile(keyPath)
	if err != nil || !strings.Contains(string(key), "-----BEGIN RSA PRIVATE KEY-----") {
		t.Errorf("the key file holds %q, %v; want GitHub's PEM key", key, err)
	}
	return raw
}

// servedApp is the emulator's record of an app made from a manifest.
func servedApp(t *testing.T, gh *fakegithub.Server, slug string) fakegithub.StateApp {
	t.Helper()
	for _, a := range gh.State().Apps {
		if a.Slug == slug {
			return a
		}
	}
	t.Fatalf("the emulator serves no app %q", slug)
	return fakegithub.StateApp{}
}

// TestRegisterThenServe: from nothing to a running app. register creates
// the app in the organization through the manifest flow and writes its
// config; serve started from that config gets the app's installation and a
// new PR from GitHub, and posts the skip as the new app's bot.
func TestRegisterThenServe(t *testing.T) {
	gh := fakegithubtest.Start(t, widgets{}.yaml(), fakegithub.Options{})
	serveLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + serveLn.Addr().String()
	// A directory that does not exist yet is made, for its owner alone.
	cfgPath := filepath.Join(t.TempDir(), "etc", "fix-status", "fix-status.yaml")

	run := startRegister(t, "--web-url", gh.URL(), "--api-url", gh.URL(), "--org", "acme", "--name", "fix-status-e2e",
		"--public-url", public+"/", "--config-out", cfgPath)
	status, body, back := browse(t, run.page)
	if err := run.wait(t); err != nil {
		t.Fatalf("register: %v\n%s", err, run.out)
	}
	if fi, err := os.Stat(filepath.Dir(cfgPath)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the config's directory: %v, %v; want it made with mode 0700", fi.Mode(), err)
	}
	if status != http.StatusOK || !strings.Contains(body, "fix-status-e2e is registered") || back.Path != "/callback" || back.Query().Get("code") == "" {
		t.Errorf("the browser ended at %s with %d %q; want register's callback page", back, status, body)
	}

	// What GitHub holds: the app register's manifest asked for.
	app := servedApp(t, gh, "fix-status-e2e")
	wantEvents := appinfo.DefaultEvents()
	sort.Strings(wantEvents)
	if app.Owner != "acme" || app.HookURL != public+"/api/github/hook" || !cmp.Equal(app.Permissions, appinfo.DefaultPermissions()) ||
		!cmp.Equal(app.Events, wantEvents) {
		t.Errorf("the new app on GitHub: %+v", app)
	}

	// What register wrote and said.
	raw := writtenFiles(t, cfgPath)
	wantGitHub := config.GitHub{WebURL: gh.URL(), V3APIURL: gh.URL() + "/", V4APIURL: gh.URL() + "/graphql",
		App: config.App{IntegrationID: app.ID, WebhookSecret: raw.GitHub.App.WebhookSecret, PrivateKeyFile: raw.GitHub.App.PrivateKeyFile}}
	if d := cmp.Diff(wantGitHub, raw.GitHub); d != "" || raw.GitHub.App.WebhookSecret == "" {
		t.Errorf("github section (-want +written):\n%s", d)
	}
	if raw.UI.PublicURL != public || !strings.HasPrefix(raw.UI.OAuth.ClientID, "Iv1.") || raw.UI.OAuth.ClientSecret == "" {
		t.Errorf("ui section: %+v; want public_url %s and the app's OAuth client", raw.UI, public)
	}
	for _, want := range []string{
		`Created the GitHub App "fix-status-e2e"`, "owned by acme",
		gh.URL() + "/apps/fix-status-e2e/installations/new",
		"- repos: [acme]\n       trusted_apps: [fix-status-e2e]",
		"fix-status serve --config " + cfgPath,
	} {
		if !strings.Contains(run.out.String(), want) {
			t.Errorf("register's output lacks %q:\n%s", want, run.out)
		}
	}

	// serve, from the written config as it is.
	cfg, err := config.LoadServer(cfgPath)
	if err != nil {
		t.Fatalf("serve cannot load the written config: %v", err)
	}
	logFile, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := newServer(ctx, cfg, serverOptions{listener: serveLn, logOut: logFile})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve stopped with: %v", err)
		}
		if t.Failed() {
			log, _ := os.ReadFile(logFile.Name())
			t.Logf("serve's log:\n%s", log)
		}
	})

	inst, err := gh.Apply(ctx, fakegithub.Event{Type: "installation.created", AppID: app.ID, InstallationID: 99, Account: "acme",
		Repos: []string{widgetsRepo}})
	if err != nil || !inst.Delivered || inst.StatusCode != http.StatusOK {
		t.Fatalf("installing the app: %+v, %v; want its installation delivered to serve", inst, err)
	}
	opened, err := gh.Apply(ctx, fakegithub.Event{Type: "pull_request.opened", Repo: widgetsRepo, User: "octocat", Title: "Docs",
		Files: []fakegithub.File{{Filename: "docs/guide.md", Status: "modified", Additions: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	delivered := false
	for _, f := range opened.Followups {
		delivered = delivered || (f.Event == "pull_request" && f.Delivered && f.StatusCode == http.StatusOK)
	}
	if !delivered {
		t.Fatalf("pull_request.opened: %+v; want it delivered to the new app", opened)
	}
	h := &harness{gh: gh}
	h.waitState(t, "the new app's skip of pull-unit", func(st *fakegithub.State) bool {
		s := latestStatus(pull(st, widgetsRepo, opened.Number), "pull-unit")
		return s != nil && s.State == "success" && s.Creator == "fix-status-e2e[bot]"
	})
}

// TestRegisterRefusals: a redirect that is not this registration's, a code
// GitHub refuses, and files that cannot be written after GitHub created the
// app: each ends register with exit 1 and a message naming it, and nothing
// is written.
func TestRegisterRefusals(t *testing.T) {
	gh := fakegithubtest.Start(t, widgets{}.yaml(), fakegithub.Options{})
	flags := func(name, cfgPath string) []string {
		return []string{"--web-url", gh.URL(), "--api-url", gh.URL(), "--org", "acme", "--name", name, "--config-out", cfgPath}
	}
	// A code already converted, for the reused-code case.
	firstDir := t.TempDir()
	first := startRegister(t, flags("first", filepath.Join(firstDir, "c.yaml"))...)
	_, _, firstBack := browse(t, first.page)
	if err := first.wait(t); err != nil {
		t.Fatalf("the first registration: %v\n%s", err, first.out)
	}
	usedCode := firstBack.Query().Get("code")

	cases := []struct {
		name, app string
		// visit is what the browser does with register's page; it returns
		// the last answer's status and body.
		visit   func(t *testing.T, page, dir string) (int, string)
		wantErr []string
	}{
		{"a forged state", "forged", func(t *testing.T, page, _ string) (int, string) {
			f := loadPage(t, page)
			f.action = regexp.MustCompile(`state=[^&]+`).ReplaceAllString(f.action, "state=forged")
			status, body, _ := f.submit(t)
			return status, body
		}, []string{"state does not match", "its code was not used", "nothing was written"}},
		{"a reused code", "reused", func(t *testing.T, page, _ string) (int, string) {
			return callBack(t, page, usedCode)
		}, []string{"GitHub refused the manifest code (404 from " + gh.URL() + "/app-manifests/{code}/conversions)", "nothing was written"}},
		{"no code", "nocode", func(t *testing.T, page, _ string) (int, string) {
			return callBack(t, page, "")
		}, []string{"GitHub's redirect has no code; nothing was written"}},
		{"the directory is gone once GitHub created the app", "gone", func(t *testing.T, page, dir string) (int, string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			status, body, _ := browse(t, page)
			return status, body
		}, []string{`the GitHub App "gone" (id `, "was created, but failed to write the private key",
			"delete it at " + gh.URL() + "/organizations/acme/settings/apps/gone and register again"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			run := startRegister(t, flags(tc.app, filepath.Join(dir, "c.yaml"))...)
			status, body := tc.visit(t, run.page, dir)
			err := run.wait(t)
			if err == nil {
				t.Fatalf("register succeeded:\n%s", run.out)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if status != http.StatusBadRequest || !strings.Contains(body, "Registration failed") {
				t.Errorf("the browser got %d %q; want the failure page", status, body)
			}
			if _, statErr := os.Stat(dir); statErr == nil && len(files(t, dir)) != 0 {
				t.Errorf("files written: %v", files(t, dir))
			}
		})
	}
}

// callBack sends the browser to register's callback as GitHub would, with
// the page's state and the given code.
func callBack(t *testing.T, page, code string) (int, string) {
	t.Helper()
	action, err := url.Parse(loadPage(t, page).action)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"state": {action.Query().Get("state")}}
	if code != "" {
		q.Set("code", code)
	}
	res, err := http.Get(page + "callback?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

// gheProxy serves the emulator at GitHub Enterprise Server's addresses: the
// REST API below /api/v3/, GraphQL at /api/graphql and the web pages at
// the root, where the API is not found.
func gheProxy(t *testing.T, gh *fakegithub.Server) string {
	t.Helper()
	target, err := url.Parse(gh.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		p := pr.In.URL.Path
		if rest, ok := strings.CutPrefix(p, "/api/v3/"); ok {
			p = "/" + rest
		} else if p == "/api/graphql" {
			p = "/graphql"
		}
		pr.Out.URL.Path, pr.Out.URL.RawPath = p, ""
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if !strings.HasPrefix(p, "/api/v3/") && p != "/api/graphql" && !strings.HasSuffix(p, "/settings/apps/new") {
			http.NotFound(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRegisterEnterpriseServer: a GitHub Enterprise Server's web URL with
// its API given; the GraphQL URL is derived; without --public-url the app
// has no webhook and register says how to turn it on.
func TestRegisterEnterpriseServer(t *testing.T) {
	gh := fakegithubtest.Start(t, widgets{}.yaml(), fakegithub.Options{})
	ghe := gheProxy(t, gh)
	cfgPath := filepath.Join(t.TempDir(), "fix-status.yaml")
	run := startRegister(t, "--web-url", ghe+"/", "--api-url", ghe+"/api/v3", "--name", "fix-status-ghe", "--config-out", cfgPath)
	if status, body, _ := browse(t, run.page); status != http.StatusOK {
		t.Fatalf("the browser got %d %q", status, body)
	}
	if err := run.wait(t); err != nil {
		t.Fatalf("register: %v\n%s", err, run.out)
	}
	raw := writtenFiles(t, cfgPath)
	if g := raw.GitHub; g.WebURL != ghe || g.V3APIURL != ghe+"/api/v3/" || g.V4APIURL != ghe+"/api/graphql" {
		t.Errorf("URLs written: %s, %s, %s; want the server's, /api/v3/ and /api/graphql", g.WebURL, g.V3APIURL, g.V4APIURL)
	}
	if raw.UI.PublicURL != "" {
		t.Errorf("ui.public_url = %q; want none without --public-url", raw.UI.PublicURL)
	}
	if app := servedApp(t, gh, "fix-status-ghe"); app.HookURL != "" {
		t.Errorf("the app's webhook goes to %q; want none without --public-url", app.HookURL)
	}
	for _, want := range []string{ghe + "/apps/fix-status-ghe/installations/new", "Webhooks are off (no --public-url)",
		ghe + "/settings/apps/fix-status-ghe", "https://YOUR-SERVER/api/github/hook"} {
		if !strings.Contains(run.out.String(), want) {
			t.Errorf("register's output lacks %q:\n%s", want, run.out)
		}
	}
	if _, err := config.LoadServer(cfgPath); err != nil {
		t.Errorf("the written config does not load: %v", err)
	}
}

// TestRegisterOpensTheBrowser: without --no-browser register opens its page
// in the browser; when no browser opens, it says so and the page still works.
func TestRegisterOpensTheBrowser(t *testing.T) {
	gh := fakegithubtest.Start(t, widgets{}.yaml(), fakegithub.Options{})
	cases := []struct {
		name, app string
		openErr   error
		wantOut   string
	}{
		{"a browser opens", "opened", nil, "Open http://"},
		{"no browser", "unopened", errors.New("no display"), "Could not open a browser (no display): open the URL above yourself."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := newWatchedOutput()
			// The browser (the one opened, or the user's own) visits the
			// page once; what it got is checked after register ends.
			visited := make(chan error, 1)
			var opened atomic.Value
			open := func(page string) error {
				opened.Store(page)
				if tc.openErr == nil {
					visited <- visitOK(page)
				}
				return tc.openErr
			}
			if tc.openErr != nil {
				go func() { visited <- visitOK(<-out.page) }()
			}
			cfgPath := filepath.Join(t.TempDir(), "c.yaml")
			err := register(context.Background(), registerOptions{webURL: gh.URL(), apiURL: gh.URL(), name: tc.app,
				listen: "127.0.0.1:0", configOut: cfgPath, timeout: e2eWait, openBrowser: open}, out)
			if err != nil {
				t.Fatalf("register: %v\n%s", err, out)
			}
			if err := <-visited; err != nil {
				t.Error(err)
			}
			writtenFiles(t, cfgPath)
			page, _ := opened.Load().(string)
			if !strings.HasPrefix(page, "http://127.0.0.1:") || !strings.Contains(out.String(), "Open "+page+" in a browser") {
				t.Errorf("opened %q; output:\n%s", page, out)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out)
			}
		})
	}
}

// visitOK visits register's page and wants the callback's success page.
func visitOK(page string) error {
	status, body, _, err := visit(page)
	if err == nil && (status != http.StatusOK || !strings.Contains(body, "is registered")) {
		err = fmt.Errorf("the browser got %d %q; want the success page", status, body)
	}
	return err
}

// TestRegisterTimesOut: nobody comes back from GitHub; register ends on its
// timeout with exit 1, having written nothing.
func TestRegisterTimesOut(t *testing.T) {
	dir := t.TempDir()
	out := newWatchedOutput()
	root := newRootCmd()
	root.SetArgs([]string{"register", "--no-browser", "--web-url", "https://ghe.example.com", "--org", "acme",
		"--timeout", "1ms", "--config-out", filepath.Join(dir, "c.yaml")})
	root.SetOut(out)
	err := root.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "timed out after 1ms: GitHub did not send the browser back to http://127.0.0.1:") ||
		!strings.Contains(err.Error(), "nothing was written") || !strings.Contains(err.Error(), "https://ghe.example.com/organizations/acme/settings/apps") {
		t.Errorf("error = %v", err)
	}
	if !strings.Contains(out.String(), "Open http://127.0.0.1:") {
		t.Errorf("output:\n%s", out)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files written: %v", got)
	}
}
