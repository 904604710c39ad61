// Package ui serves fix-status's pages: a details page per pull request
// (every required context: the verdict, the rule that decided and where it
// is, the files it was judged on, what fix-status wrote and when, its
// re-triggers, and how to make the job run) and a dashboard of the PRs stuck
// now. Both are server-rendered HTML, readable without JavaScript, and need a
// GitHub sign-in through the app's own OAuth client: a user sees only the
// repositories GitHub lets that user read.
package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/gorilla/securecookie"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/palantir/go-githubapp/githubapp"
	ghoauth "github.com/palantir/go-githubapp/oauth2"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/fix-status/fix-status/app/appinfo"
	"github.com/fix-status/fix-status/app/audit"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
	"github.com/fix-status/fix-status/app/stuck"
)

// Named defaults.
const (
	// DefaultPageTTL is how long one PR's dry run serves its page: views
	// in a burst (a team opening a link) cost one reconcile's reads.
	DefaultPageTTL = 30 * time.Second
	// DefaultAccessTTL is how long a user's access to a repository is
	// trusted before GitHub is asked again.
	DefaultAccessTTL = 2 * time.Minute
	// installationTTL: which installation holds a repository changes only
	// when the app is installed or removed.
	installationTTL = 10 * time.Minute
	// accessChecks bounds the repository checks the dashboard makes at
	// once with a user's token.
	accessChecks = 8
)

// Explainer reads one PR as the details page shows it
// (reconcile.Reconciler.Explain).
type Explainer interface {
	Explain(ctx context.Context, ref plan.PRRef) (*reconcile.Explanation, error)
}

// Options configure the UI.
type Options struct {
	// WebURL and APIURL are GitHub's (github.web_url, github.v3_api_url).
	WebURL, APIURL string
	// PublicURL is where users reach the server (ui.public_url; empty: the
	// request's host).
	PublicURL string
	// ClientID and ClientSecret are the app's OAuth client (ui.oauth).
	ClientID, ClientSecret string
	// Clients find the installation of a repository.
	Clients   githubapp.ClientCreator
	Explainer Explainer
	Tracker   *stuck.Tracker
	// Findings, when set, gives the audit's findings for the dashboard.
	Findings func(ctx context.Context) ([]audit.Finding, error)
	// Transport carries the requests made with users' tokens (default
	// http.DefaultTransport).
	Transport http.RoundTripper
	PageTTL   time.Duration
	AccessTTL time.Duration
	Now       func() time.Time
}

// UI is the pages' handlers.
type UI struct {
	opts     Options
	oauth    *oauth2.Config
	sessions *securecookie.SecureCookie
	states   stateStore
	// apiBase is GitHub's REST API, for the requests made with users'
	// tokens.
	apiBase *url.URL
	tmpl    *template.Template

	access        *expirable.LRU[string, bool]
	installations *expirable.LRU[string, int64]
	pages         *expirable.LRU[plan.PRRef, *reconcile.Explanation]
	explaining    singleflight.Group
}

//go:embed templates/*.html templates/style.css
var files embed.FS

// New builds the UI; it needs the app's OAuth client.
func New(o Options) (*UI, error) {
	if o.ClientID == "" || o.ClientSecret == "" {
		return nil, errors.New("the pages need the app's OAuth client: set ui.oauth.client_id and ui.oauth.client_secret")
	}
	if o.PageTTL == 0 {
		o.PageTTL = DefaultPageTTL
	}
	if o.AccessTTL == 0 {
		o.AccessTTL = DefaultAccessTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	sessions, err := newCodec(o.ClientSecret, sessionTTL)
	if err != nil {
		return nil, err
	}
	logins, err := newCodec(o.ClientSecret, loginTTL)
	if err != nil {
		return nil, err
	}
	apiBase, err := url.Parse(strings.TrimSuffix(o.APIURL, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("github.v3_api_url: %w", err)
	}
	tmpl, err := template.New("").Funcs(funcs).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("failed to parse the page templates: %w", err)
	}
	var gh githubapp.Config
	gh.WebURL, gh.OAuth.ClientID, gh.OAuth.ClientSecret = o.WebURL, o.ClientID, o.ClientSecret
	return &UI{
		opts: o, oauth: ghoauth.GetConfig(gh, nil), sessions: sessions, states: stateStore{codec: logins},
		apiBase: apiBase, tmpl: tmpl,
		access:        expirable.NewLRU[string, bool](10000, nil, o.AccessTTL),
		installations: expirable.NewLRU[string, int64](10000, nil, installationTTL),
		pages:         expirable.NewLRU[plan.PRRef, *reconcile.Explanation](1000, nil, o.PageTTL),
	}, nil
}

// Register mounts the pages on mux: GET / (the dashboard), GET
// /prs/{owner}/{repo}/{number} (a PR's details), GET /login and GET
// /oauth/callback (the sign-in), POST /logout, GET /ui/style.css.
func (u *UI) Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", u.page(u.requireLogin(u.dashboard)))
	mux.Handle("GET /prs/{owner}/{repo}/{number}", u.page(u.requireLogin(u.details)))
	mux.Handle("GET /login", u.page(http.HandlerFunc(u.login)))
	mux.Handle("GET "+appinfo.OAuthCallbackPath, u.page(http.HandlerFunc(u.login)))
	mux.Handle("POST /logout", u.page(http.HandlerFunc(u.logout)))
	mux.HandleFunc("GET /ui/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.ServeFileFS(w, r, files, "templates/style.css")
	})
}

// page sets what every page sends: private, never cached, no scripts, no
// framing, nothing loaded from elsewhere.
func (u *UI) page(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// details is GET /prs/{owner}/{repo}/{number}.
func (u *UI) details(w http.ResponseWriter, r *http.Request, s session) {
	number, err := strconv.Atoi(r.PathValue("number"))
	repo := plan.RepoRef{Owner: r.PathValue("owner"), Repo: r.PathValue("repo")}
	if err != nil || number <= 0 {
		u.notFound(w, r)
		return
	}
	ok, err := u.canRead(r.Context(), s, repo)
	if !u.handled(w, r, err) {
		return
	}
	if !ok {
		u.notFound(w, r)
		return
	}
	if repo.InstallationID, err = u.installation(r.Context(), repo); err != nil {
		zerolog.Ctx(r.Context()).Info().Err(err).Str("repo", repo.FullRepo()).Msg("ui: no installation")
		u.notFound(w, r)
		return
	}
	ex, err := u.explain(r.Context(), repo.PR(number))
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusNotFound {
		u.notFound(w, r)
		return
	}
	if !u.handled(w, r, err) {
		return
	}
	if ex.Snapshot.State != "open" && u.opts.Tracker != nil {
		u.opts.Tracker.Forget(ex.PR)
	}
	u.render(w, r, http.StatusOK, "details.html", u.detailsView(s, ex))
}

// explain is the PR's dry run, shared by the views of a short while.
func (u *UI) explain(ctx context.Context, ref plan.PRRef) (*reconcile.Explanation, error) {
	if ex, ok := u.pages.Get(ref); ok {
		return ex, nil
	}
	v, err, _ := u.explaining.Do(ref.String()+"@"+strconv.FormatInt(ref.InstallationID, 10), func() (any, error) {
		// The page outlives the request that read it.
		ex, err := u.opts.Explainer.Explain(context.WithoutCancel(ctx), ref)
		if err == nil {
			u.pages.Add(ref, ex)
		}
		return ex, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*reconcile.Explanation), nil
}

// installation finds the app's installation on repo (cached).
func (u *UI) installation(ctx context.Context, repo plan.RepoRef) (int64, error) {
	key := strings.ToLower(repo.FullRepo())
	if id, ok := u.installations.Get(key); ok {
		return id, nil
	}
	found, err := ghapi.FindInstallation(ctx, u.opts.Clients, repo)
	if err != nil {
		return 0, err
	}
	u.installations.Add(key, found.InstallationID)
	return found.InstallationID, nil
}

// dashboard is GET /.
func (u *UI) dashboard(w http.ResponseWriter, r *http.Request, s session) {
	now := u.opts.Now()
	var prs []stuck.PR
	var charted []plan.RepoRef
	if u.opts.Tracker != nil {
		prs, charted = u.opts.Tracker.Stuck(now), u.opts.Tracker.HistoryRepos(now)
	}
	var findings []audit.Finding
	var findingsErr error
	if u.opts.Findings != nil {
		findings, findingsErr = u.opts.Findings(r.Context())
	}
	readable, err := u.readable(r.Context(), s, prs, charted, findings)
	if !u.handled(w, r, err) {
		return
	}
	var history []stuck.Point
	if u.opts.Tracker != nil {
		// The chart counts only repositories the user may read: the
		// others' numbers are theirs.
		history = u.opts.Tracker.History(now, func(repo string) bool { return readable[strings.ToLower(repo)] })
	}
	u.render(w, r, http.StatusOK, "dashboard.html", u.dashboardView(s, now, prs, history, findings, findingsErr, readable))
}

// readable checks, with the user's token, every repository the dashboard
// would show (a few at a time), and returns the ones the user may read.
func (u *UI) readable(ctx context.Context, s session, prs []stuck.PR, charted []plan.RepoRef, findings []audit.Finding) (map[string]bool, error) {
	repos := map[string]plan.RepoRef{}
	for _, p := range prs {
		repos[strings.ToLower(p.PR.FullRepo())] = p.PR.RepoRef
	}
	for _, r := range charted {
		repos[strings.ToLower(r.FullRepo())] = r
	}
	for _, f := range findings {
		if owner, name, ok := strings.Cut(f.Repo, "/"); ok {
			repos[strings.ToLower(f.Repo)] = plan.RepoRef{Owner: owner, Repo: name}
		}
	}
	var mu sync.Mutex
	out := map[string]bool{}
	var errs []error
	sem := make(chan struct{}, accessChecks)
	var wg sync.WaitGroup
	for key, repo := range repos {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok, err := u.canRead(ctx, s, repo)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			out[key] = ok
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if errors.Is(err, errSignIn) {
			return nil, errSignIn
		}
	}
	return out, errors.Join(errs...)
}

// handled answers an error of a page (false when there was one): an expired
// sign-in goes to the login again.
func (u *UI) handled(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errSignIn):
		clearCookie(w, sessionCookie)
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	default:
		zerolog.Ctx(r.Context()).Error().Err(err).Str("path", r.URL.Path).Msg("ui: page failed")
		u.renderError(w, r, http.StatusBadGateway, "GitHub could not be read", err.Error())
	}
	return false
}

func (u *UI) notFound(w http.ResponseWriter, r *http.Request) {
	u.renderError(w, r, http.StatusNotFound, "Not found",
		"There is no such pull request, or your GitHub account cannot read its repository, or fix-status is not installed there.")
}

type errorView struct {
	Title, Message string
	User           string
}

func (u *UI) renderError(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	v := errorView{Title: title, Message: msg}
	if s, ok := u.user(r); ok {
		v.User = s.Login
	}
	u.render(w, r, status, "error.html", v)
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b strings.Builder
	if err := u.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		zerolog.Ctx(r.Context()).Error().Err(err).Str("template", name).Msg("ui: failed to render")
		http.Error(w, "failed to render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}
