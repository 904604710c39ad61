package fakegithub

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Users and OAuth: the web flow GitHub Apps use to identify users. GET
// {web}/login/oauth/authorize sends the browser back to the app with a code
// (no consent page: the user named by ?login= approves at once);
// POST {web}/login/oauth/access_token exchanges it for a user access token
// (ghu_…, eight hours, with a ghr_… refresh token), which reads as that
// user: GET /user, and repositories the user may see.

// ScenarioUser is a person who can log in (GET /user shows the name).
type ScenarioUser struct {
	Login string `yaml:"login" json:"login"`
	Name  string `yaml:"name,omitempty" json:"name,omitempty"`
}

// Lifetimes of GitHub's OAuth codes and user tokens.
const (
	oauthCodeTTL    = 10 * time.Minute
	userTokenTTL    = 8 * time.Hour
	refreshTokenTTL = 184 * 24 * time.Hour
	userRateLimit   = 5000
)

// webState holds what the web flows hand out. Server.mu guards it; the
// budgets are guarded by Server.statsMu.
type webState struct {
	users     map[string]ScenarioUser // lower-case login
	codes     map[string]*oauthCode
	tokens    map[string]*userToken // access tokens
	refresh   map[string]*userToken // refresh tokens
	manifests map[string]*manifestCode
	budgets   map[string]*budget // per user
}

// webState is the world's web-flow state, made on first use (newWorld uses
// it first, so readers never make it).
func (w *world) webState() *webState {
	if w.web == nil {
		w.web = &webState{users: map[string]ScenarioUser{}, codes: map[string]*oauthCode{}, tokens: map[string]*userToken{},
			refresh: map[string]*userToken{}, manifests: map[string]*manifestCode{}, budgets: map[string]*budget{}}
	}
	return w.web
}

type oauthCode struct {
	app         *appInfo
	login       string
	redirectURI string
	expires     time.Time
}

// userToken is a user access token of an app.
type userToken struct {
	value, refresh string
	app            *appInfo
	login          string
	expires        time.Time
	refreshExpires time.Time
}

// defaultLogin is the user a web flow acts for: the one named, else the
// account of the first installation.
func (w *world) defaultLogin(login string) string {
	if login == "" && len(w.insts) > 0 {
		return w.insts[0].account
	}
	return login
}

// isWebPath reports whether a path is one of GitHub's web pages the
// emulator serves (login and app registration) rather than the API.
func isWebPath(p string) bool {
	return strings.HasPrefix(p, "/login/oauth/") || strings.HasPrefix(p, "/settings/apps/") ||
		strings.HasPrefix(p, "/organizations/") && strings.Contains(p, "/settings/apps/")
}

// webRoutes adds the web pages to the admin mux.
func (s *Server) webRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login/oauth/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /login/oauth/access_token", s.handleAccessToken)
	mux.HandleFunc("POST /settings/apps/new", s.handleNewApp)
	mux.HandleFunc("POST /organizations/{org}/settings/apps/new", s.handleNewApp)
}

// allowedRedirect checks redirect_uri against the app's callback URLs (any
// when it has none): GitHub accepts a callback URL or a path below it on the
// same host.
func allowedRedirect(a *appInfo, redirect string) bool {
	if len(a.reg.callbackURLs) == 0 {
		return absoluteURL(redirect)
	}
	r, err := url.Parse(redirect)
	if err != nil {
		return false
	}
	for _, cb := range a.reg.callbackURLs {
		c, err := url.Parse(cb)
		if err == nil && c.Scheme == r.Scheme && c.Host == r.Host &&
			(r.Path == c.Path || strings.HasPrefix(r.Path, strings.TrimSuffix(c.Path, "/")+"/")) {
			return true
		}
	}
	return false
}

// handleAuthorize is GET {web}/login/oauth/authorize.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.w.appByClientID(q.Get("client_id"))
	if a == nil {
		http.Error(w, "Not Found: no app has client_id "+q.Get("client_id"), http.StatusNotFound)
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && len(a.reg.callbackURLs) > 0 {
		redirect = a.reg.callbackURLs[0]
	}
	if !allowedRedirect(a, redirect) {
		if len(a.reg.callbackURLs) == 0 {
			http.Error(w, "redirect_uri: missing or not an absolute URL", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, withQuery(a.reg.callbackURLs[0], url.Values{"error": {"redirect_uri_mismatch"},
			"error_description": {"The redirect_uri is not associated with this application."}, "state": {q.Get("state")}}), http.StatusFound)
		return
	}
	login := s.w.defaultLogin(q.Get("login"))
	if !loginRE.MatchString(login) || strings.HasSuffix(login, "[bot]") || s.w.orgs[strings.ToLower(login)] {
		http.Error(w, fmt.Sprintf("login: %q is not a user who can sign in", login), http.StatusBadRequest)
		return
	}
	code := randomHex(10)
	s.w.webState().codes[code] = &oauthCode{app: a, login: login, redirectURI: q.Get("redirect_uri"), expires: s.now().Add(oauthCodeTTL)}
	http.Redirect(w, r, withQuery(redirect, url.Values{"code": {code}, "state": {q.Get("state")}}), http.StatusFound)
}

// handleAccessToken is POST {web}/login/oauth/access_token: a code (or a
// refresh token, grant_type refresh_token) and the app's client credentials
// (parameters, or HTTP basic auth) give a user access token. As GitHub, it
// answers 200 even for errors ({"error": ...}), in JSON when the client
// accepts it and form-encoded otherwise.
func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	params, err := tokenParams(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if id, secret, ok := r.BasicAuth(); ok {
		params.Set("client_id", id)
		params.Set("client_secret", secret)
	}
	s.mu.Lock()
	out := s.w.exchange(params, s.now())
	s.mu.Unlock()
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, out)
		return
	}
	form := url.Values{}
	for k, v := range out {
		form.Set(k, fmt.Sprint(v))
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, _ = w.Write([]byte(form.Encode()))
}

// tokenParams reads the access-token request: a form, a JSON object, or the
// query.
func tokenParams(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody)).Decode(&m); err != nil {
			return nil, fmt.Errorf("invalid JSON body: %w", err)
		}
		out := r.URL.Query()
		for k, v := range m {
			out.Set(k, fmt.Sprint(v))
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("invalid form: %w", err)
	}
	return r.Form, nil
}

// oauthError is GitHub's answer to a bad token request.
func oauthError(code, desc string) map[string]any {
	return map[string]any{"error": code, "error_description": desc,
		"error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"}
}

// exchange turns a code or a refresh token into a user token.
func (w *world) exchange(p url.Values, now time.Time) map[string]any {
	web := w.webState()
	a := w.appByClientID(p.Get("client_id"))
	if a == nil || a.reg.clientSecret != p.Get("client_secret") {
		return oauthError("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
	}
	var login string
	switch p.Get("grant_type") {
	case "", "authorization_code":
		code := web.codes[p.Get("code")]
		if code == nil || code.app != a || !now.Before(code.expires) {
			return oauthError("bad_verification_code", "The code passed is incorrect or expired.")
		}
		if code.redirectURI != "" && p.Get("redirect_uri") != "" && p.Get("redirect_uri") != code.redirectURI {
			return oauthError("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
		}
		delete(web.codes, p.Get("code"))
		login = code.login
	case "refresh_token":
		old := web.refresh[p.Get("refresh_token")]
		if old == nil || old.app != a || !now.Before(old.refreshExpires) {
			return oauthError("bad_refresh_token", "The refresh token passed is incorrect or expired.")
		}
		delete(web.refresh, old.refresh)
		delete(web.tokens, old.value)
		login = old.login
	default:
		return oauthError("unsupported_grant_type", "The grant type is not supported.")
	}
	t := &userToken{value: "ghu_" + newTokenValue()[4:], refresh: "ghr_" + randomHex(38), app: a, login: login,
		expires: now.Add(userTokenTTL).Truncate(time.Second), refreshExpires: now.Add(refreshTokenTTL).Truncate(time.Second)}
	web.tokens[t.value], web.refresh[t.refresh] = t, t
	return map[string]any{"access_token": t.value, "expires_in": int(userTokenTTL.Seconds()), "refresh_token": t.refresh,
		"refresh_token_expires_in": int(refreshTokenTTL.Seconds()), "scope": "", "token_type": "bearer"}
}

// userTokenFor finds a live user token (under the read lock).
func (w *world) userTokenFor(value string, now time.Time) *userToken {
	if !strings.HasPrefix(value, "ghu_") {
		return nil
	}
	if t := w.web.tokens[value]; t != nil && now.Before(t.expires) {
		return t
	}
	return nil
}

// userSees reports whether the user of a token may see a repository: a
// public one, or a private one the user owns or collaborates on that the
// app is installed on (a user token reaches no further than its app).
func (c *reqCtx) userSees(r *repo) bool {
	if !r.private {
		return true
	}
	return roleOf(r, c.id.user.login) != "none" && c.w.appInstallationFor(c.id.user.app, r) != nil
}

// checkUserPermission applies the app's permissions on the repository (the
// installation's), and for administration the user's own role.
func (c *reqCtx) checkUserPermission() *resp {
	in := c.w.appInstallationFor(c.id.user.app, c.repo)
	for _, p := range c.route.perms {
		name, level, _ := strings.Cut(p, ":")
		if name == "administration" && roleOf(c.repo, c.id.user.login) != "admin" {
			continue
		}
		if in == nil && name != "administration" || in != nil && permAllows(in.perms[name], level) {
			return nil
		}
	}
	if len(c.route.perms) == 0 {
		return nil
	}
	r := c.errResp(http.StatusForbidden, "Resource not accessible by integration")
	return &r
}

// userBudget is a user's hourly budget (under Server.statsMu).
func (w *world) userBudget(login string) *budget {
	web := w.webState()
	b := web.budgets[strings.ToLower(login)]
	if b == nil {
		b = &budget{limit: userRateLimit}
		web.budgets[strings.ToLower(login)] = b
	}
	return b
}

type privateUserJSON struct {
	*userJSON
	Name              *string `json:"name"`
	Company           *string `json:"company"`
	Blog              string  `json:"blog"`
	Location          *string `json:"location"`
	Email             *string `json:"email"`
	Hireable          *bool   `json:"hireable"`
	Bio               *string `json:"bio"`
	TwitterUsername   *string `json:"twitter_username"`
	PublicRepos       int     `json:"public_repos"`
	PublicGists       int     `json:"public_gists"`
	Followers         int     `json:"followers"`
	Following         int     `json:"following"`
	CreatedAt         string  `json:"created_at"`
	UpdatedAt         string  `json:"updated_at"`
	PrivateGists      int     `json:"private_gists"`
	TotalPrivateRepos int     `json:"total_private_repos"`
	OwnedPrivateRepos int     `json:"owned_private_repos"`
	DiskUsage         int     `json:"disk_usage"`
	Collaborators     int     `json:"collaborators"`
	TwoFactorAuth     bool    `json:"two_factor_authentication"`
}

// hGetUser is GET /user: the user of a user token.
func hGetUser(c *reqCtx) resp {
	switch c.id.kind {
	case idAnonymous:
		return c.errResp(http.StatusUnauthorized, "Requires authentication")
	case idUser:
	default:
		return c.errResp(http.StatusForbidden, "Resource not accessible by integration")
	}
	login := c.id.user.login
	out := privateUserJSON{userJSON: c.w.userJSON(c.base, login), CreatedAt: ts(c.w.app.createdAt), UpdatedAt: ts(c.w.app.createdAt)}
	// GitHub marks the authenticated user's own view of themselves.
	out.UserViewType = "private"
	if u, ok := c.w.webState().users[strings.ToLower(login)]; ok {
		out.Login, out.Name = u.Login, strp(u.Name)
	}
	for _, r := range c.w.repos {
		if strings.EqualFold(r.owner, login) {
			if r.private {
				out.TotalPrivateRepos++
				out.OwnedPrivateRepos++
			} else {
				out.PublicRepos++
			}
		}
	}
	return ok(out)
}

// validateWeb checks the keys of users, OAuth and the Actions simulation.
func (sc *Scenario) validateWeb() error {
	for i, u := range sc.App.CallbackURLs {
		if !absoluteURL(u) {
			return fmt.Errorf("app.callback_urls[%d]: %q is not an absolute URL", i, u)
		}
	}
	seen := map[string]bool{}
	for i, u := range sc.Users {
		if !loginRE.MatchString(u.Login) || strings.HasSuffix(u.Login, "[bot]") {
			return fmt.Errorf("users[%d].login: %q is not a valid user login", i, u.Login)
		}
		if seen[strings.ToLower(u.Login)] {
			return fmt.Errorf("users[%d].login: %q is listed twice", i, u.Login)
		}
		seen[strings.ToLower(u.Login)] = true
	}
	return sc.Actions.validate()
}
