package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"golang.org/x/oauth2"
)

// userScenario has a public repository, a private one of Codertocat's with
// a collaborator, and a private one the app is not installed on.
const userScenario = `
app: {id: 42, slug: fix-status, webhook_secret: s3cret, client_id: Iv1.fixstatus, client_secret: shh,
  callback_urls: ["http://127.0.0.1/callback"]}
users:
  - {login: octocat, name: The Octocat}
  - {login: stranger}
installations:
  - {id: 7, account: Codertocat, repos: [Codertocat/public, Codertocat/secret]}
repos:
  - name: Codertocat/public
  - name: Codertocat/secret
    private: true
    collaborators: {octocat: write}
  - name: Codertocat/uninstalled
    private: true
    collaborators: {octocat: write}
`

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize asks the emulator's authorize page for a code and returns the
// redirect it answers.
func authorize(t *testing.T, s *Server, query url.Values) *url.URL {
	t.Helper()
	res, err := noRedirects.Get(s.URL() + "/login/oauth/authorize?" + query.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("authorize = %d: %s", res.StatusCode, body)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func oauthConfig(s *Server, secret string) *oauth2.Config {
	c := s.Credentials()
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: secret, RedirectURL: "http://127.0.0.1/callback/done",
		Endpoint: oauth2.Endpoint{AuthURL: c.WebURL + "login/oauth/authorize", TokenURL: c.WebURL + "login/oauth/access_token"}}
}

// login runs the web flow for a user with golang.org/x/oauth2 and returns a
// go-github client with the user's token.
func login(t *testing.T, s *Server, user string) (*github.Client, *oauth2.Token) {
	t.Helper()
	cfg := oauthConfig(s, s.Credentials().ClientSecret)
	u, err := url.Parse(cfg.AuthCodeURL("st4te"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if user != "" {
		q.Set("login", user)
	}
	back := authorize(t, s, q)
	if back.Query().Get("state") != "st4te" || back.Host != "127.0.0.1" || back.Path != "/callback/done" {
		t.Fatalf("redirect = %s; want the redirect_uri with the state", back)
	}
	tok, err := cfg.Exchange(context.Background(), back.Query().Get("code"))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	client := github.NewClient(cfg.Client(context.Background(), tok))
	client.BaseURL, err = url.Parse(s.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	return client, tok
}

func TestUserLoginSeesWhatTheUserMay(t *testing.T) {
	tests := []struct {
		user, want string
		name       string
		visible    map[string]bool
	}{
		{user: "octocat", want: "octocat", name: "The Octocat",
			visible: map[string]bool{"public": true, "secret": true, "uninstalled": false}},
		{user: "stranger", want: "stranger", visible: map[string]bool{"public": true, "secret": false, "uninstalled": false}},
		// Without ?login=, the account of the first installation: the owner.
		{user: "", want: "Codertocat", visible: map[string]bool{"public": true, "secret": true, "uninstalled": false}},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			s := startServer(t, userScenario)
			client, tok := login(t, s, tc.user)
			if !strings.HasPrefix(tok.AccessToken, "ghu_") || !strings.HasPrefix(tok.RefreshToken, "ghr_") ||
				time.Until(tok.Expiry) < 7*time.Hour || tok.TokenType != "bearer" {
				t.Errorf("token = %+v; want a ghu_ token for 8 hours with a ghr_ refresh token", tok)
			}
			ctx := context.Background()
			me, _, err := client.Users.Get(ctx, "")
			if err != nil || me.GetLogin() != tc.want || me.GetName() != tc.name || me.GetType() != "User" {
				t.Errorf("GET /user = %v, %v; want %s (%q)", me, err, tc.want, tc.name)
			}
			for name, visible := range tc.visible {
				_, _, err := client.Repositories.Get(ctx, "Codertocat", name)
				if (err == nil) != visible || err != nil && !isStatus(err, 404) {
					t.Errorf("GET /repos/Codertocat/%s = %v; want visible %v (else 404)", name, err, visible)
				}
			}
			if _, _, err := client.Repositories.CreateStatus(ctx, "Codertocat", "public", "x", &github.RepoStatus{State: github.String("success")}); !isStatus(err, 403) {
				t.Errorf("a write with a user token = %v; want 403", err)
			}
			if _, _, err := client.Apps.ListInstallations(ctx, nil); !isStatus(err, 401) {
				t.Errorf("an /app call with a user token = %v; want 401", err)
			}
		})
	}
}

func TestAccessTokenErrorsAndCodes(t *testing.T) {
	clk := &clock{}
	s := startServer(t, userScenario, func(o *Options) { o.Now = clk.Now })
	code := func() string {
		return authorize(t, s, url.Values{"client_id": {"Iv1.fixstatus"}, "login": {"octocat"}}).Query().Get("code")
	}
	exchange := func(cfg *oauth2.Config, code string) string {
		_, err := cfg.Exchange(context.Background(), code)
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return re.ErrorCode
		}
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		return ""
	}
	used := code()
	if got := exchange(oauthConfig(s, "shh"), used); got != "" {
		t.Fatalf("first exchange = %q", got)
	}
	expired := code()
	clk.Advance(11 * time.Minute)
	tests := []struct {
		name, secret, code, want string
	}{
		{"a code works once", "shh", used, "bad_verification_code"},
		{"codes expire in 10 minutes", "shh", expired, "bad_verification_code"},
		{"wrong client secret", "nope", code(), "incorrect_client_credentials"},
		{"unknown code", "shh", "feed", "bad_verification_code"},
	}
	for _, tc := range tests {
		if got := exchange(oauthConfig(s, tc.secret), tc.code); got != tc.want {
			t.Errorf("%s: error = %q; want %q", tc.name, got, tc.want)
		}
	}
}

// TestAccessTokenEncodings: GitHub answers form-encoded unless the client
// accepts JSON, and takes the parameters as a form or as JSON.
func TestAccessTokenEncodings(t *testing.T) {
	s := startServer(t, userScenario)
	code := func() string {
		return authorize(t, s, url.Values{"client_id": {"Iv1.fixstatus"}}).Query().Get("code")
	}
	tests := []struct {
		name, contentType, accept string
		body                      func(code string) string
		wantType                  string
	}{
		{"form in, form out", "application/x-www-form-urlencoded", "",
			func(c string) string { return "client_id=Iv1.fixstatus&client_secret=shh&code=" + c }, "application/x-www-form-urlencoded"},
		{"JSON in, JSON out", "application/json", "application/json",
			func(c string) string { return `{"client_id":"Iv1.fixstatus","client_secret":"shh","code":"` + c + `"}` }, "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", s.URL()+"/login/oauth/access_token", strings.NewReader(tc.body(code())))
			req.Header.Set("Content-Type", tc.contentType)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if !strings.HasPrefix(res.Header.Get("Content-Type"), tc.wantType) {
				t.Fatalf("Content-Type = %q; want %s", res.Header.Get("Content-Type"), tc.wantType)
			}
			token := ""
			if tc.wantType == "application/json" {
				var v struct {
					AccessToken string `json:"access_token"`
				}
				_ = json.Unmarshal(body, &v)
				token = v.AccessToken
			} else if v, err := url.ParseQuery(string(body)); err == nil {
				token = v.Get("access_token")
			}
			if !strings.HasPrefix(token, "ghu_") {
				t.Errorf("body = %s; want a ghu_ access token", body)
			}
		})
	}
}

// TestUserTokenRefresh: past eight hours the token is refused and
// golang.org/x/oauth2 refreshes it with the refresh token.
func TestUserTokenRefresh(t *testing.T) {
	clk := &clock{}
	s := startServer(t, userScenario, func(o *Options) { o.Now = clk.Now })
	_, tok := login(t, s, "octocat")
	clk.Advance(9 * time.Hour)
	if res := do(t, s, "GET", "/user", tok.AccessToken, ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an expired user token = %d; want 401", res.StatusCode)
	}
	// The refresh happens when the client's copy has expired too.
	tok.Expiry = time.Now().Add(-time.Minute)
	cfg := oauthConfig(s, "shh")
	fresh, err := cfg.TokenSource(context.Background(), tok).Token()
	if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh = %+v, %v; want new tokens", fresh, err)
	}
	if res := do(t, s, "GET", "/user", fresh.AccessToken, ""); res.StatusCode != http.StatusOK {
		t.Errorf("the refreshed token = %d; want 200", res.StatusCode)
	}
	if _, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("an old refresh token worked twice")
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	s := startServer(t, userScenario)
	tests := []struct {
		name  string
		query url.Values
		want  int
		error string // in the redirect
	}{
		{"unknown client", url.Values{"client_id": {"nope"}}, http.StatusNotFound, ""},
		{"redirect elsewhere", url.Values{"client_id": {"Iv1.fixstatus"}, "redirect_uri": {"http://evil.example/cb"}}, http.StatusFound, "redirect_uri_mismatch"},
		{"a bot cannot sign in", url.Values{"client_id": {"Iv1.fixstatus"}, "login": {"fix-status[bot]"}}, http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		res, err := noRedirects.Get(s.URL() + "/login/oauth/authorize?" + tc.query.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != tc.want || tc.error != "" && loc.Query().Get("error") != tc.error {
			t.Errorf("%s: %d to %q; want %d with error %q", tc.name, res.StatusCode, res.Header.Get("Location"), tc.want, tc.error)
		}
	}
	for _, tc := range []struct{ token, want string }{{"", "401"}, {installationToken(t, s, 7), "403"}} {
		if res := do(t, s, "GET", "/user", tc.token, ""); res.Status[:3] != tc.want {
			t.Errorf("GET /user with %q = %s; want %s", tc.token, res.Status, tc.want)
		}
	}
}

func TestCredentialsCarryTheOAuthClient(t *testing.T) {
	if c := startServer(t, userScenario).Credentials(); c.ClientID != "Iv1.fixstatus" || c.ClientSecret != "shh" {
		t.Errorf("Credentials = %s / %s; want the scenario's client", c.ClientID, c.ClientSecret)
	}
	s := startServer(t, testScenario)
	c := s.Credentials()
	if c.ClientID != "Iv1.000000000000002a" || len(c.ClientSecret) != 40 {
		t.Errorf("generated client = %q / %q; want Iv1.<id> and a 40-character secret", c.ClientID, c.ClientSecret)
	}
	res := do(t, s, "GET", "/app", appJWT(t, s), "")
	var me struct {
		ClientID string `json:"client_id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&me); err != nil || me.ClientID != c.ClientID {
		t.Errorf("GET /app client_id = %q, %v; want %q", me.ClientID, err, c.ClientID)
	}
}
