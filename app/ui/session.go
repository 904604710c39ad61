package ui

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/gorilla/securecookie"
	ghoauth "github.com/palantir/go-githubapp/oauth2"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/fix-status/fix-status/app/appinfo"
	"github.com/fix-status/fix-status/app/plan"
)

// Cookie names and lifetimes. A session lasts as long as the GitHub user
// token it carries (eight hours); a login must come back from GitHub within
// ten minutes, as GitHub's codes do.
const (
	sessionCookie = "fix_status_session"
	loginCookie   = "fix_status_login"
	sessionTTL    = 8 * time.Hour
	loginTTL      = 10 * time.Minute
)

// session is what the session cookie holds, signed and encrypted: who the
// user is, and the user's token, with which every repository is checked.
type session struct {
	Login string `json:"login"`
	Token string `json:"token"`
}

// loginState is the login cookie: the OAuth state GitHub must send back
// (so a callback no login of this browser started is refused) and the page
// to return to.
type loginState struct {
	State string `json:"state"`
	Next  string `json:"next"`
}

// cookieKeys derives the cookies' signing and encryption keys from the
// app's OAuth client secret: every replica has it, and nothing else need be
// configured or shared for sessions to work across replicas and restarts.
func cookieKeys(clientSecret string) (hash, block []byte, err error) {
	if hash, err = hkdf.Key(sha256.New, []byte(clientSecret), nil, "fix-status ui cookie signing", 32); err != nil {
		return nil, nil, err
	}
	if block, err = hkdf.Key(sha256.New, []byte(clientSecret), nil, "fix-status ui cookie encryption", 32); err != nil {
		return nil, nil, err
	}
	return hash, block, nil
}

func newCodec(clientSecret string, ttl time.Duration) (*securecookie.SecureCookie, error) {
	hash, block, err := cookieKeys(clientSecret)
	if err != nil {
		return nil, fmt.Errorf("failed to derive the cookie keys: %w", err)
	}
	return securecookie.New(hash, block).MaxAge(int(ttl.Seconds())).SetSerializer(securecookie.JSONEncoder{}), nil
}

// setCookie writes a cookie as every cookie of the UI is: HttpOnly (no
// script reads it), Secure (browsers treat 127.0.0.1 and localhost as
// secure, so local runs work), SameSite=Lax (sent on GitHub's redirect back,
// not on another site's POST).
func setCookie(w http.ResponseWriter, name, value string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(ttl.Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

// user returns the session of a request, if it has a valid one.
func (u *UI) user(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	var s session
	if err := u.sessions.Decode(sessionCookie, c.Value, &s); err != nil || s.Login == "" || s.Token == "" {
		return session{}, false
	}
	return s, true
}

// requireLogin sends a request without a session to the login, to come
// back to where it was going.
func (u *UI) requireLogin(next func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := u.user(r)
		if !ok {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		next(w, r, s)
	}
}

// stateStore keeps the OAuth state in the login cookie, for go-githubapp's
// OAuth handler.
type stateStore struct{ codec *securecookie.SecureCookie }

// GenerateState implements ghoauth.StateStore.
func (s stateStore) GenerateState(w http.ResponseWriter, r *http.Request) (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("failed to make an OAuth state: %w", err)
	}
	st := loginState{State: hex.EncodeToString(b), Next: localPath(r.URL.Query().Get("next"))}
	v, err := s.codec.Encode(loginCookie, st)
	if err != nil {
		return "", fmt.Errorf("failed to encode the login cookie: %w", err)
	}
	setCookie(w, loginCookie, v, loginTTL)
	return st.State, nil
}

// VerifyState implements ghoauth.StateStore: the state GitHub sent back
// must be the one this browser's login cookie holds.
func (s stateStore) VerifyState(r *http.Request, state string) (bool, error) {
	st, err := s.read(r)
	if err != nil {
		return false, nil
	}
	return state != "" && subtle.ConstantTimeCompare([]byte(state), []byte(st.State)) == 1, nil
}

func (s stateStore) read(r *http.Request) (loginState, error) {
	var st loginState
	c, err := r.Cookie(loginCookie)
	if err != nil {
		return st, err
	}
	return st, s.codec.Decode(loginCookie, c.Value, &st)
}

var _ ghoauth.StateStore = stateStore{}

// localPath keeps a return address on this server: a path, never another
// host ("//evil.example" or "https://...").
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

// login is GET /login and GET /oauth/callback: go-githubapp's OAuth handler
// sends the browser to GitHub, and completes the login when GitHub sends it
// back. ?login= is passed on to GitHub, which suggests that account.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	conf := *u.oauth
	conf.RedirectURL = u.baseURL(r) + appinfo.OAuthCallbackPath
	h := ghoauth.NewHandler(&conf, ghoauth.WithStore(u.states), ghoauth.OnLogin(u.loggedIn), ghoauth.OnError(u.loginFailed))
	if hint := r.URL.Query().Get("login"); hint != "" {
		w = &loginHint{ResponseWriter: w, login: hint}
	}
	h.ServeHTTP(w, r)
}

// loginHint adds GitHub's login parameter to the redirect to GitHub.
type loginHint struct {
	http.ResponseWriter
	login string
}

func (l *loginHint) WriteHeader(code int) {
	if code == http.StatusFound {
		if to, err := url.Parse(l.Header().Get("Location")); err == nil {
			q := to.Query()
			q.Set("login", l.login)
			to.RawQuery = q.Encode()
			l.Header().Set("Location", to.String())
		}
	}
	l.ResponseWriter.WriteHeader(code)
}

// baseURL is where users reach the server: ui.public_url, else the
// request's own host.
func (u *UI) baseURL(r *http.Request) string {
	if u.opts.PublicURL != "" {
		return u.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// loggedIn starts the session of the user GitHub vouched for.
func (u *UI) loggedIn(w http.ResponseWriter, r *http.Request, l *ghoauth.Login) {
	gh := u.userClient(l.Token.AccessToken)
	ctx, cancel := context.WithTimeout(r.Context(), userCallTimeout)
	defer cancel()
	me, _, err := gh.Users.Get(ctx, "")
	if err != nil {
		u.loginFailed(w, r, fmt.Errorf("failed to read the signed-in user: %w", err))
		return
	}
	v, err := u.sessions.Encode(sessionCookie, session{Login: me.GetLogin(), Token: l.Token.AccessToken})
	if err != nil {
		u.loginFailed(w, r, fmt.Errorf("failed to encode the session: %w", err))
		return
	}
	next := "/"
	if st, err := u.states.read(r); err == nil {
		next = localPath(st.Next)
	}
	clearCookie(w, loginCookie)
	setCookie(w, sessionCookie, v, sessionTTL)
	zerolog.Ctx(r.Context()).Info().Str("user", me.GetLogin()).Msg("ui: signed in")
	http.Redirect(w, r, next, http.StatusFound)
}

func (u *UI) loginFailed(w http.ResponseWriter, r *http.Request, err error) {
	zerolog.Ctx(r.Context()).Warn().Err(err).Msg("ui: sign-in failed")
	status := http.StatusBadGateway
	var le ghoauth.LoginError
	if errors.Is(err, ghoauth.ErrInvalidState) || errors.As(err, &le) {
		status = http.StatusBadRequest
	}
	u.renderError(w, r, status, "Sign-in failed", "GitHub did not complete the sign-in ("+err.Error()+"). Try again.")
}

// logout is POST /logout.
func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// userClient is a GitHub client acting as the user.
func (u *UI) userClient(token string) *github.Client {
	// Bounded by the page request's context (and userCallTimeout), not by
	// http.Client.Timeout, which oauth2's transport does not support.
	c := github.NewClient(&http.Client{Transport: &oauth2.Transport{Base: u.opts.Transport, Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})}})
	c.BaseURL = u.apiBase
	return c
}

// userCallTimeout bounds one request made with a user's token.
const userCallTimeout = 30 * time.Second

// errSignIn: the user's token no longer works; sign in again.
var errSignIn = errors.New("the GitHub sign-in expired")

// canRead reports whether the user may read repo, asking GitHub with the
// user's own token (GET /repos/{owner}/{repo}: 404 for a repository the user
// cannot see), cached briefly per user and repository.
func (u *UI) canRead(ctx context.Context, s session, repo plan.RepoRef) (bool, error) {
	key := strings.ToLower(s.Login + " " + repo.FullRepo())
	if ok, hit := u.access.Get(key); hit {
		return ok, nil
	}
	gh := u.userClient(s.Token)
	ctx, cancel := context.WithTimeout(ctx, userCallTimeout)
	defer cancel()
	_, resp, err := gh.Repositories.Get(ctx, repo.Owner, repo.Repo)
	switch {
	case err == nil:
		u.access.Add(key, true)
		return true, nil
	case resp != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden):
		u.access.Add(key, false)
		return false, nil
	case resp != nil && resp.StatusCode == http.StatusUnauthorized:
		return false, errSignIn
	}
	return false, fmt.Errorf("failed to check %s's access to %s: %w", s.Login, repo.FullRepo(), err)
}
