package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/app/fakegithub/fakegithubtest"
	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
	"github.com/fix-status/fix-status/app/reconcile"
	"github.com/fix-status/fix-status/app/stuck"
)

// env is the emulator with the verdicts scenario and the pages served over
// real HTTP on 127.0.0.1, as a browser reaches them.
type env struct {
	gh      *fakegithub.Server
	rec     *reconcile.Reconciler
	ui      *UI
	srv     *httptest.Server
	tracker *stuck.Tracker
}

var private = plan.RepoRef{InstallationID: 1, Owner: "acme", Repo: "private"}

func newEnv(t testing.TB) *env {
	t.Helper()
	data, err := os.ReadFile("testdata/verdicts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	gh := fakegithubtest.Start(t, string(data), fakegithub.Options{})
	cfg := fakegithubtest.ServerConfig(gh)
	cfg.Repair.GracePeriod.Duration = 0
	cc := fakegithubtest.ClientCreator(t, gh, ghapi.WithCache(32<<20))
	rec := reconcile.New(reconcile.Options{Clients: cc, Config: cfg, AppID: 4242, AppSlug: "fix-status"})
	tr := stuck.New(stuck.Options{})
	u, err := New(Options{WebURL: cfg.GitHub.WebURL, APIURL: cfg.GitHub.V3APIURL,
		ClientID: cfg.UI.OAuth.ClientID, ClientSecret: cfg.UI.OAuth.ClientSecret,
		Clients: cc, Explainer: rec, Tracker: tr})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	u.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{gh: gh, rec: rec, ui: u, srv: srv, tracker: tr}
}

// browser is an HTTP client with cookies that follows redirects, as a
// browser does.
func (e *env) browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func get(t testing.TB, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// signIn goes through the real OAuth redirects as login, ending on next.
func (e *env) signIn(t testing.TB, login, next string) (*http.Client, *http.Response, string) {
	t.Helper()
	c := e.browser(t)
	resp, body := get(t, c, e.srv.URL+"/login?login="+login+"&next="+url.QueryEscape(next))
	return c, resp, body
}

func TestDetailsPage(t *testing.T) {
	e := newEnv(t)
	page := "/prs/acme/private/1"

	t.Run("a reader sees every verdict, with how to make each job run", func(t *testing.T) {
		_, resp, body := e.signIn(t, "alice", page)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != page {
			t.Fatalf("%s %s: %s", resp.Request.URL, resp.Status, body)
		}
		for _, want := range []string{
			"Signed in as <strong>alice</strong>", "Teach the widget to spin",
			`<span class="verdict v-satisfied">satisfied</span>`, `<span class="verdict v-waiting">waiting</span>`,
			`<span class="verdict v-failing">failing</span>`, `<span class="verdict v-skip">skip</span>`,
			`<span class="verdict v-retrigger">retrigger</span>`, `<span class="verdict v-revoke">revoke</span>`,
			`<span class="verdict v-blocked">blocked</span>`,
			`id="check-ci-docs"`, "How to make it run anyway", "<code>/test docs</code>",
			"file filter <code>run_if_changed ^docs/</code>", "<code>src/widget.go</code>",
			"would set status success", "would comment /test e2e",
			"status <strong>success</strong>: “Skipped: no changed file matches run_if_changed ^src/”",
			"No job fix-status knows reports <code>ci/orphan</code>",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		// ci/e2e was re-triggered once on this head: its history lists it.
		e2e := body[strings.Index(body, `id="check-ci-e2e"`):]
		if e2e = e2e[:strings.Index(e2e, "</section>")]; !regexp.MustCompile(`Re-triggers on this commit</dt>\s*<dd><ol><li>[^<]+</li></ol>`).MatchString(e2e) {
			t.Errorf("the ci/e2e section does not list its one re-trigger:\n%s", e2e)
		}
		if n := e.gh.Stats().Writes.Total; n != 0 {
			t.Errorf("viewing the page made %d writes", n)
		}
	})
	t.Run("someone who cannot read the repository gets 404", func(t *testing.T) {
		_, resp, body := e.signIn(t, "bob", page)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "Teach the widget") {
			t.Errorf("%s: %s", resp.Status, body)
		}
	})
	t.Run("no session: sent to the login, to come back", func(t *testing.T) {
		c := e.browser(t)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, _ := get(t, c, e.srv.URL+page)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/login?next=%2Fprs%2Facme%2Fprivate%2F1" {
			t.Errorf("%s, Location %q", resp.Status, resp.Header.Get("Location"))
		}
	})
	t.Run("an unknown PR is 404", func(t *testing.T) {
		_, resp, _ := e.signIn(t, "alice", "/prs/acme/private/99")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s", resp.Status)
		}
	})
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	noFollow := func(c *http.Client) *http.Client {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c
	}

	t.Run("cookies are HttpOnly, Secure and SameSite=Lax", func(t *testing.T) {
		c := noFollow(e.browser(t))
		resp, _ := get(t, c, e.srv.URL+"/login?next=/")
		cookies := resp.Cookies()
		if resp.StatusCode != http.StatusFound || len(cookies) != 1 || cookies[0].Name != loginCookie ||
			!cookies[0].HttpOnly || !cookies[0].Secure || cookies[0].SameSite != http.SameSiteLaxMode {
			t.Fatalf("%s, cookies %+v", resp.Status, cookies)
		}
		to, _ := url.Parse(resp.Header.Get("Location"))
		if to.Path != "/login/oauth/authorize" || to.Query().Get("state") == "" || to.Query().Get("redirect_uri") != e.srv.URL+"/oauth/callback" {
			t.Errorf("sent to %s", to)
		}
	})
	t.Run("a callback with another state is refused", func(t *testing.T) {
		c := noFollow(e.browser(t))
		get(t, c, e.srv.URL+"/login?next=/")
		resp, _ := get(t, c, e.srv.URL+"/oauth/callback?code=x&state=forged")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("forged state: %s", resp.Status)
		}
	})
	t.Run("a callback without the login cookie is refused", func(t *testing.T) {
		c := noFollow(e.browser(t))
		resp, _ := get(t, c, e.srv.URL+"/oauth/callback?code=x&state=y")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("no login cookie: %s", resp.Status)
		}
	})
	t.Run("next never leaves the server", func(t *testing.T) {
		for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example"} {
			_, resp, _ := e.signIn(t, "alice", next)
			if resp.Request.URL.Host != strings.TrimPrefix(e.srv.URL, "http://") || resp.Request.URL.Path != "/" {
				t.Errorf("next %q ended at %s", next, resp.Request.URL)
			}
		}
	})
	t.Run("a tampered session is no session", func(t *testing.T) {
		c, _, _ := e.signIn(t, "alice", "/")
		u, _ := url.Parse(e.srv.URL)
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == sessionCookie {
				c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: ck.Value[:len(ck.Value)-4] + "AAAA", Path: "/"}})
			}
		}
		noFollow(c)
		resp, _ := get(t, c, e.srv.URL+"/")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("tampered session: %s", resp.Status)
		}
	})
	t.Run("sign out", func(t *testing.T) {
		c, _, _ := e.signIn(t, "alice", "/")
		resp, err := c.Post(e.srv.URL+"/logout", "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		noFollow(c)
		resp, _ = get(t, c, e.srv.URL+"/")
		if resp.StatusCode != http.StatusFound {
			t.Errorf("after signing out: %s", resp.Status)
		}
	})
}

func TestDashboard(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rep, err := e.rec.Reconcile(ctx, private.PR(1), reconcile.Trigger{Event: "test", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	e.tracker.Observe(private.PR(1), rep, time.Now())

	_, resp, body := e.signIn(t, "alice", "/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", resp.Status, body)
	}
	for _, want := range []string{"1 pull request(s) stuck", `<a href="/prs/acme/private/1">#1</a>`, "no_job", `href="/prs/acme/private/1#check-ci-orphan"`, "<svg"} {
		if !strings.Contains(body, want) {
			t.Errorf("alice's dashboard lacks %q", want)
		}
	}
	_, resp, body = e.signIn(t, "bob", "/")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "acme/private") || !strings.Contains(body, "No pull request in the repositories you can read is stuck") {
		t.Errorf("bob's dashboard shows what bob cannot read: %s", body)
	}
	// The chart counts only what bob may read: nothing.
	if regexp.MustCompile(`<td>[1-9]</td>`).MatchString(body) {
		t.Errorf("bob's chart counts alice's repository")
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second:                              "45s",
		5 * time.Minute:                               "5m",
		5*time.Minute + 10*time.Second:                "5m10s",
		5*time.Minute + 29*time.Second:                "5m29s",
		3*time.Hour + 12*time.Minute + 40*time.Second: "3h13m",
		2 * time.Hour:                                 "2h0m",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%s) = %q, want %q", d, got, want)
		}
	}
}
