package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cli/browser"
	"github.com/google/go-github/v60/github"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/fix-status/fix-status/app/appinfo"
	"github.com/fix-status/fix-status/config"
)

// registerOptions are the flags of `fix-status register`.
type registerOptions struct {
	webURL, apiURL, graphqlURL string
	org, name, publicURL       string
	listen, configOut          string
	noBrowser                  bool
	timeout                    time.Duration
	// openBrowser shows a URL in the user's browser.
	openBrowser func(string) error
}

// Default of --timeout: GitHub's manifest code lives an hour, but an
// operator who walked away should not find a listener still open.
const defaultRegisterTimeout = 10 * time.Minute

// maxAppName is the longest name GitHub takes for an app.
const maxAppName = 34

func newRegisterCmd() *cobra.Command {
	o := registerOptions{openBrowser: browser.OpenURL}
	cmd := &cobra.Command{
		Use:   "register --web-url URL [--api-url URL] [--org ORG] [--public-url URL] --config-out FILE",
		Short: "Create the GitHub App from its manifest and write the server config",
		Long: `register creates fix-status's GitHub App through GitHub's manifest flow: it serves a
local page that posts the app's manifest (its permissions and events) to GitHub, where you
confirm; GitHub sends the browser back with a code, which register exchanges for the app's
credentials. It writes a complete server config to --config-out and the private key beside
it (both mode 0600), then says how to install the app.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return register(ctx, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.webURL, "web-url", "", "GitHub's web address: https://github.com, or your GitHub Enterprise Server's (required)")
	f.StringVar(&o.apiURL, "api-url", "", "REST API base (default https://api.github.com/ for github.com, else WEB-URL/api/v3/)")
	f.StringVar(&o.graphqlURL, "graphql-url", "", "GraphQL endpoint (default derived from the API URL: https://api.github.com/graphql, WEB-URL/api/graphql)")
	f.StringVar(&o.org, "org", "", "create the app in this organization (default: your personal account)")
	f.StringVar(&o.name, "name", appinfo.DefaultName, "the app's name (unique on GitHub; GitHub lets you change it before creating the app)")
	f.StringVar(&o.publicURL, "public-url", "", "where GitHub reaches the server, e.g. https://fix-status.example.com (webhooks, user login)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:0", "address of the local registration page")
	f.StringVar(&o.configOut, "config-out", "", "server config file to write; the private key goes beside it (required)")
	f.BoolVar(&o.noBrowser, "no-browser", false, "only print the URL to open")
	f.DurationVar(&o.timeout, "timeout", defaultRegisterTimeout, "give up when GitHub has not sent the browser back by then")
	_ = cmd.MarkFlagRequired("web-url")
	_ = cmd.MarkFlagRequired("config-out")
	return cmd
}

// githubURLs are where a GitHub is: its web pages, REST API and GraphQL
// API, as the server config writes them.
type githubURLs struct {
	web, api, graphql string
}

// resolveGitHubURLs checks --web-url, --api-url and --graphql-url and
// derives the ones not given: github.com has its API on api.github.com, a
// GitHub Enterprise Server below /api/v3/ and its GraphQL at /api/graphql.
func resolveGitHubURLs(web, api, graphql string) (githubURLs, error) {
	u := githubURLs{web: strings.TrimRight(web, "/")}
	if err := checkAbsolute("--web-url", u.web); err != nil {
		return u, err
	}
	dotcom := strings.EqualFold(u.web, config.DefaultWebURL)
	switch {
	case api != "":
		u.api = strings.TrimRight(api, "/") + "/"
	case dotcom:
		u.api = config.DefaultV3APIURL
	default:
		u.api = u.web + "/api/v3/"
	}
	if err := checkAbsolute("--api-url", u.api); err != nil {
		return u, err
	}
	switch {
	case graphql != "":
		u.graphql = graphql
	case u.api == config.DefaultV3APIURL:
		u.graphql = config.DefaultV4APIURL
	case strings.HasSuffix(u.api, "/api/v3/"):
		u.graphql = strings.TrimSuffix(u.api, "v3/") + "graphql"
	default:
		// An API at the root of its host (the emulator) has GraphQL beside it.
		u.graphql = u.api + "graphql"
	}
	return u, checkAbsolute("--graphql-url", u.graphql)
}

func checkAbsolute(flag, raw string) error {
	p, err := url.Parse(raw)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" {
		return fmt.Errorf("%s: %q is not an absolute http(s) URL without query", flag, raw)
	}
	return nil
}

// newAppURL is GitHub's page that takes a manifest: the organization's, or
// the user's own. The state travels in its query, as GitHub documents.
func newAppURL(web, org, state string) string {
	path := "/settings/apps/new"
	if org != "" {
		path = "/organizations/" + url.PathEscape(org) + path
	}
	return web + path + "?" + url.Values{"state": {state}}.Encode()
}

// appSettingsURL is the app's settings page on GitHub (with no slug: the
// list of the owner's apps).
func appSettingsURL(web, org, slug string) string {
	u := web + "/settings/apps"
	if org != "" {
		u = web + "/organizations/" + url.PathEscape(org) + "/settings/apps"
	}
	if slug != "" {
		u += "/" + url.PathEscape(slug)
	}
	return u
}

// outputFiles are the two files register writes: the server config and,
// beside it, the private key it names.
type outputFiles struct {
	config, key string
}

// prepareOutput resolves --config-out and checks, before any app exists on
// GitHub, that both files can be written: the private key is shown once,
// so a registration whose files cannot be written loses it.
func prepareOutput(configOut string) (outputFiles, error) {
	abs, err := filepath.Abs(configOut)
	if err != nil {
		return outputFiles{}, fmt.Errorf("--config-out: %w", err)
	}
	f := outputFiles{config: abs, key: strings.TrimSuffix(abs, filepath.Ext(abs)) + ".private-key.pem"}
	if err := f.refuseExisting(); err != nil {
		return f, err
	}
	// A directory that does not exist yet is made, readable by its owner
	// alone: it will hold a private key.
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return f, fmt.Errorf("--config-out: cannot make %s: %w", filepath.Dir(abs), err)
	}
	probe, err := os.CreateTemp(filepath.Dir(abs), ".fix-status-register-*")
	if err != nil {
		return f, fmt.Errorf("--config-out: cannot write in %s: %w", filepath.Dir(abs), err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	return f, nil
}

// refuseExisting keeps register from replacing another app's credentials.
func (f outputFiles) refuseExisting() error {
	for _, p := range []string{f.config, f.key} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s exists: register writes new files only (remove it or choose another --config-out)", p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cannot check %s: %w", p, err)
		}
	}
	return nil
}

// write puts both files in place, mode 0600, or neither: each is written
// to a temporary file in the same directory and renamed, and the key is
// removed again if the config cannot be put beside it.
func (f outputFiles) write(key, cfg []byte) (err error) {
	tmpKey, err := writeTemp(filepath.Dir(f.key), key)
	if err != nil {
		return fmt.Errorf("failed to write the private key beside %s: %w", f.config, err)
	}
	defer func() { _ = os.Remove(tmpKey) }()
	tmpCfg, err := writeTemp(filepath.Dir(f.config), cfg)
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", f.config, err)
	}
	defer func() { _ = os.Remove(tmpCfg) }()
	if err := f.refuseExisting(); err != nil {
		return err
	}
	if err := os.Rename(tmpKey, f.key); err != nil {
		return fmt.Errorf("failed to write %s: %w", f.key, err)
	}
	if err := os.Rename(tmpCfg, f.config); err != nil {
		_ = os.Remove(f.key)
		return fmt.Errorf("failed to write %s: %w", f.config, err)
	}
	return nil
}

func writeTemp(dir string, data []byte) (string, error) {
	t, err := os.CreateTemp(dir, ".fix-status-register-*")
	if err != nil {
		return "", err
	}
	_, err = t.Write(data)
	if err == nil {
		err = t.Chmod(0o600)
	}
	if err == nil {
		err = t.Sync()
	}
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(t.Name())
		return "", err
	}
	return t.Name(), nil
}

// writtenConfig is the server config register writes: the keys it knows;
// every other key keeps its default.
type writtenConfig struct {
	GitHub config.GitHub `yaml:"github"`
	UI     config.UI     `yaml:"ui"`
}

// serverConfigFor is the server config of a new app, naming keyFile.
func serverConfigFor(app *github.AppConfig, urls githubURLs, publicURL, webhookSecret, keyFile string) ([]byte, error) {
	var c writtenConfig
	c.GitHub.WebURL, c.GitHub.V3APIURL, c.GitHub.V4APIURL = urls.web, urls.api, urls.graphql
	c.GitHub.App = config.App{IntegrationID: app.GetID(), WebhookSecret: webhookSecret, PrivateKeyFile: keyFile}
	c.UI = config.UI{PublicURL: publicURL, OAuth: config.OAuth{ClientID: app.GetClientID(), ClientSecret: app.GetClientSecret()}}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# fix-status server config, written by `fix-status register` for the GitHub App\n"+
		"# %q (id %d, %s).\n"+
		"# It holds the app's secrets: keep it private. Keys not written here have their\n"+
		"# defaults (docs/config.md).\n", app.GetName(), app.GetID(), app.GetHTMLURL())
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("failed to encode the server config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("failed to encode the server config: %w", err)
	}
	return b.Bytes(), nil
}

// registration is one run of the manifest flow: the local page, the
// callback GitHub sends the browser to, and what came of it.
type registration struct {
	o         registerOptions
	urls      githubURLs
	publicURL string
	files     outputFiles
	state     string
	// host is the local server's host:port: requests naming another Host
	// are refused, so that a web page cannot read the state through a DNS
	// name that resolves to 127.0.0.1.
	host     string
	manifest []byte
	// ended is set by the first callback, or by the timeout: exactly one
	// of them decides the run's outcome.
	ended atomic.Bool
	done  chan registered
}

// registered is the outcome of the callback.
type registered struct {
	app *github.AppConfig
	// generatedSecret: GitHub gave no webhook secret (an app created
	// without a webhook), so register made one.
	generatedSecret bool
	err             error
}

func register(ctx context.Context, o registerOptions, out io.Writer) error {
	urls, err := resolveGitHubURLs(o.webURL, o.apiURL, o.graphqlURL)
	if err != nil {
		return err
	}
	publicURL := strings.TrimRight(o.publicURL, "/")
	if publicURL != "" {
		if err := checkAbsolute("--public-url", publicURL); err != nil {
			return err
		}
	}
	// GitHub's limit; a longer name fails on GitHub's page, out of
	// register's sight.
	if n := len(strings.TrimSpace(o.name)); n == 0 || n > maxAppName {
		return fmt.Errorf("--name: %q must have 1 to %d characters", o.name, maxAppName)
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout: %s is not positive", o.timeout)
	}
	files, err := prepareOutput(o.configOut)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	r := &registration{o: o, urls: urls, publicURL: publicURL, files: files, state: rand.Text(),
		host: browsableAddr(ln.Addr()), done: make(chan registered, 1)}
	page := "http://" + r.host + "/"
	if r.manifest, err = json.Marshal(appinfo.ManifestFor(o.name, publicURL, page+"callback")); err != nil {
		_ = ln.Close()
		return fmt.Errorf("failed to encode the manifest: %w", err)
	}
	srv := &http.Server{Handler: r.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		// Lets the callback's page reach the browser before the process ends.
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()

	fmt.Fprintf(out, "Open %s in a browser to create the GitHub App %q in %s on %s.\n", page, o.name, r.owner(), urls.web)
	opened := make(chan error, 1)
	if !o.noBrowser {
		// In its own goroutine: a console browser may not return at once.
		go func() { opened <- o.openBrowser(page) }()
	}
	fmt.Fprintf(out, "Waiting up to %s for GitHub to send the browser back.\n", o.timeout)
	timer := time.NewTimer(o.timeout)
	defer timer.Stop()
	for {
		var stopped error
		select {
		case err := <-opened:
			if err != nil {
				fmt.Fprintf(out, "Could not open a browser (%v): open the URL above yourself.\n", err)
			}
			continue
		case res := <-r.done:
			return r.finish(res, out)
		case <-timer.C:
			stopped = fmt.Errorf("timed out after %s: GitHub did not send the browser back to %scallback", o.timeout, page)
		case <-ctx.Done():
			stopped = errors.New("interrupted before GitHub sent the browser back")
		}
		if r.ended.CompareAndSwap(false, true) {
			return fmt.Errorf("%w; nothing was written (an app GitHub created meanwhile has no credentials here: delete it at %s and register again)",
				stopped, appSettingsURL(urls.web, o.org, ""))
		}
		// A callback came first and is converting its code: its outcome
		// decides, so that an app GitHub created keeps its credentials.
		return r.finish(<-r.done, out)
	}
}

// browsableAddr is the listener's address as a browser on this machine
// reaches it.
func browsableAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	loopback := "127.0.0.1"
	if tcp.IP.To4() == nil {
		loopback = "::1"
	}
	return net.JoinHostPort(loopback, fmt.Sprint(tcp.Port))
}

func (r *registration) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", r.servePage)
	mux.HandleFunc("GET /callback", r.serveCallback)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Host != r.host {
			http.Error(w, "wrong host: open "+r.host, http.StatusMisdirectedRequest)
			return
		}
		mux.ServeHTTP(w, req)
	})
}

var registerPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Register {{.Name}}</title></head>
<body>
<h1>Create the GitHub App {{.Name}}</h1>
<p>This page sends the app's manifest to {{.Where}} on {{.Web}}. GitHub asks you to confirm
(you may change the name there), creates the app and sends you back here.</p>
<form id="manifest" method="post" action="{{.Action}}">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button type="submit">Create the app on GitHub</button>
</form>
<h2>Permissions</h2>
<ul>{{range .Permissions}}<li>{{.Title}} ({{.Level}}): {{.Why}}</li>{{end}}</ul>
<h2>Events</h2>
<ul>{{range .Events}}<li>{{.Name}}: {{.Why}}</li>{{end}}</ul>
<script>document.getElementById("manifest").submit()</script>
</body></html>
`))

// owner says whose the app will be.
func (r *registration) owner() string {
	if r.o.org != "" {
		return "the organization " + r.o.org
	}
	return "your account"
}

func (r *registration) servePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = registerPage.Execute(w, map[string]any{
		"Name": r.o.name, "Where": r.owner(), "Web": r.urls.web, "Action": newAppURL(r.urls.web, r.o.org, r.state),
		"Manifest": string(r.manifest), "Permissions": appinfo.Permissions(), "Events": appinfo.Events(),
	})
}

var resultPage = template.Must(template.New("result").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fix-status register</title></head>
<body>{{if .Err}}<h1>Registration failed</h1><p>{{.Err}}</p>{{else}}
<h1>{{.Name}} is registered</h1>
<p>The server config is in {{.Config}}. Next, <a href="{{.Install}}">install the app</a>
on the repositories it should repair; the terminal says what else to do.</p>{{end}}
</body></html>
`))

// serveCallback is where GitHub sends the browser with the manifest's code.
// The first request ends the run, whatever it brings.
func (r *registration) serveCallback(w http.ResponseWriter, req *http.Request) {
	if !r.ended.CompareAndSwap(false, true) {
		http.Error(w, "this registration has ended; run fix-status register again", http.StatusGone)
		return
	}
	res := r.complete(req.URL.Query())
	status, data := http.StatusOK, map[string]any{"Err": res.err}
	if res.err != nil {
		status = http.StatusBadRequest
	} else {
		data["Name"], data["Config"], data["Install"] = res.app.GetName(), r.files.config, r.installURL(res.app)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = resultPage.Execute(w, data)
	r.done <- res
}

// complete checks the callback's state, converts its code into the app's
// credentials and writes the files.
func (r *registration) complete(q url.Values) registered {
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(r.state)) != 1 {
		return registered{err: errors.New("the redirect's state does not match this registration's: it did not come from the page register served, so its code was not used; nothing was written")}
	}
	code := q.Get("code")
	if code == "" {
		return registered{err: errors.New("GitHub's redirect has no code; nothing was written")}
	}
	// Not the request's context: once GitHub created the app, a browser
	// that goes away must not lose its credentials.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	app, err := r.convert(ctx, code)
	if err != nil {
		return registered{err: err}
	}
	res := registered{app: app}
	secret := app.GetWebhookSecret()
	if secret == "" {
		secret, res.generatedSecret = rand.Text(), true
	}
	cfg, err := serverConfigFor(app, r.urls, r.publicURL, secret, r.files.key)
	if err == nil {
		err = r.files.write([]byte(app.GetPEM()), cfg)
	}
	if err != nil {
		res.err = fmt.Errorf("the GitHub App %q (id %d) was created, but %w; delete it at %s and register again",
			app.GetName(), app.GetID(), err, appSettingsURL(r.urls.web, r.o.org, app.GetSlug()))
	}
	return res
}

// convert is POST /app-manifests/{code}/conversions: the app's id, key and
// secrets, once per code, within an hour.
func (r *registration) convert(ctx context.Context, code string) (*github.AppConfig, error) {
	gh := github.NewClient(&http.Client{Timeout: 30 * time.Second})
	gh.UserAgent = "fix-status/" + version
	base, err := url.Parse(r.urls.api)
	if err != nil {
		return nil, fmt.Errorf("--api-url: %w", err)
	}
	gh.BaseURL = base
	app, _, err := gh.Apps.CompleteAppManifest(ctx, code)
	var apiErr *github.ErrorResponse
	switch {
	case errors.As(err, &apiErr) && apiErr.Response != nil && apiErr.Response.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("GitHub refused the manifest code (404 from %sapp-manifests/{code}/conversions): a code converts once, within an hour; nothing was written, run register again", r.urls.api)
	case err != nil:
		return nil, fmt.Errorf("failed to convert the manifest code at %sapp-manifests/{code}/conversions: %w; nothing was written", r.urls.api, err)
	case app.GetID() == 0 || !strings.Contains(app.GetPEM(), "PRIVATE KEY"):
		return nil, fmt.Errorf("GitHub's conversion of the manifest code has no app id or private key; nothing was written")
	}
	return app, nil
}

func (r *registration) installURL(app *github.AppConfig) string {
	return r.urls.web + "/apps/" + url.PathEscape(app.GetSlug()) + "/installations/new"
}

// finish reports the callback's outcome: what was written and what the
// operator does next.
func (r *registration) finish(res registered, out io.Writer) error {
	if res.err != nil {
		return res.err
	}
	app := res.app
	fmt.Fprintf(out, "\nCreated the GitHub App %q (id %d, owned by %s): %s\n", app.GetName(), app.GetID(), app.GetOwner().GetLogin(), app.GetHTMLURL())
	fmt.Fprintf(out, "Wrote the server config %s and the private key %s (mode 0600: keep both private).\n", r.files.config, r.files.key)
	steps := []string{
		"Install the app on the repositories it should repair:\n     " + r.installURL(app),
		fmt.Sprintf("Prow: let its trigger plugin obey the /test comments fix-status posts; in plugins.yaml:\n"+
			"     triggers:\n     - repos: [%s]\n       trusted_apps: [%s]", app.GetOwner().GetLogin(), app.GetSlug()),
	}
	settings := appSettingsURL(r.urls.web, r.o.org, app.GetSlug())
	secret := "github.app.webhook_secret of " + r.files.config
	switch {
	case r.publicURL == "":
		also := ""
		if res.generatedSecret {
			also = " and its secret to " + secret
		}
		steps = append(steps, fmt.Sprintf("Webhooks are off (no --public-url): once the server has a public address, set\n"+
			"     ui.public_url in the config, and at %s set the webhook URL to\n     https://YOUR-SERVER%s%s, and activate it.",
			settings, appinfo.HookPath, also))
	case res.generatedSecret:
		steps = append(steps, fmt.Sprintf("GitHub gave no webhook secret: at %s set the webhook's secret to\n     %s.", settings, secret))
	}
	start := "Start the server"
	if r.publicURL != "" {
		start += " where " + r.publicURL + " reaches it"
	}
	steps = append(steps, start+":\n     fix-status serve --config "+r.files.config)
	fmt.Fprintln(out, "\nNext:")
	for i, s := range steps {
		fmt.Fprintf(out, "  %d. %s\n", i+1, s)
	}
	return nil
}
