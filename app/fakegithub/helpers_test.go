package fakegithub

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/gregjones/httpcache"
	"github.com/palantir/go-githubapp/githubapp"
)

// testScenario is the Hello-World world most tests start from.
const testScenario = `
app: {id: 42, slug: fix-status, webhook_secret: s3cret}
apps:
  - {id: 9000, slug: prow}
installations:
  - id: 7
    account: Codertocat
    repos: [Codertocat/Hello-World, Codertocat/private-repo]
    rate_limit: 5000
  - id: 8
    account: octo-org
    account_type: Organization
    repos: [octo-org/service]
    permissions: {metadata: read, pull_requests: read, statuses: read}
repos:
  - name: Codertocat/Hello-World
    default_branch: master
    files:
      master:
        README.md: "# Hello-World\n"
        .github/fix-status.yml: "version: 1\n"
        docs/a.md: "a\n"
        docs/sub/b.md: "b\n"
    branches:
      master:
        sha: 6113728f27ae82c7b1a177c8d03f9e96e0adf246
        protection:
          required_status_checks:
            strict: true
            contexts: [ci/build]
            checks: [{context: ci/lint, app_id: 15368}]
        rules:
          - type: required_status_checks
            parameters:
              required_status_checks: [{context: ci/rules, integration_id: 15368}]
      release/v1: {}
    collaborators: {octocat: write, triager: triage}
    pulls:
      - number: 2
        title: Update the README
        user: octocat
        base: master
        head: changes
        head_sha: ec26c3e57ca3a959ca5aad62de7213c562f8c821
        files:
          - {filename: README.md, status: modified, additions: 1, deletions: 1, content: "# Hello-World\nnew\n"}
          - {filename: new/name.go, status: renamed, previous_filename: old/name.go}
        statuses:
          - {context: ci/build, state: pending, description: "Job triggered.", creator: prow}
        check_runs:
          - {name: ci/lint, status: completed, conclusion: success, app_id: 15368, workflow: Lint}
          - {name: ci/e2e, status: in_progress, app_id: 9000}
        comments:
          - {user: octocat, body: "/fix-status"}
      - number: 3
        title: Big change
        user: Codertocat
        base: master
        head_sha: 34c5c7793cb3b279e22454cb6750c80560547b3a
        generated_files: 3250
      - number: 4
        title: Old change
        user: octocat
        base: release/v1
        state: closed
  - name: Codertocat/private-repo
    private: true
  - name: Codertocat/not-installed
  - name: octo-org/service
    branches:
      main:
        protection: {required_status_checks: {strict: false, contexts: [build]}}
`

// clock is a settable clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// startServer starts an emulator on 127.0.0.1 for one test.
func startServer(t testing.TB, scenario string, mod ...func(*Options)) *Server {
	t.Helper()
	sc, err := ParseScenario([]byte(scenario))
	if err != nil {
		t.Fatalf("ParseScenario: %v", err)
	}
	opts := Options{Scenario: sc}
	for _, m := range mod {
		m(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// clientCreator is go-githubapp's real caching client creator aimed at s,
// with an HTTP cache that revalidates every response.
func clientCreator(t testing.TB, s *Server) githubapp.ClientCreator {
	t.Helper()
	c := s.Credentials()
	var cfg githubapp.Config
	cfg.WebURL, cfg.V3APIURL, cfg.V4APIURL = c.WebURL, c.V3APIURL, c.V4APIURL
	cfg.App.IntegrationID, cfg.App.WebhookSecret, cfg.App.PrivateKey = c.AppID, c.WebhookSecret, c.PrivateKey
	cc, err := githubapp.NewDefaultCachingClientCreator(cfg,
		githubapp.WithClientCaching(true, func() httpcache.Cache { return httpcache.NewMemoryCache() }),
		githubapp.WithClientTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("NewDefaultCachingClientCreator: %v", err)
	}
	return cc
}

func installationClient(t testing.TB, s *Server, id int64) *github.Client {
	t.Helper()
	c, err := clientCreator(t, s).NewInstallationClient(id)
	if err != nil {
		t.Fatalf("NewInstallationClient: %v", err)
	}
	return c
}

// get sends a raw request to the emulator.
func do(t testing.TB, s *Server, method, path, token, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// token returns a fresh installation token.
func installationToken(t testing.TB, s *Server, id int64) string {
	t.Helper()
	app, err := clientCreator(t, s).NewAppClient()
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := app.Apps.CreateInstallationToken(context.Background(), id, nil)
	if err != nil {
		t.Fatalf("CreateInstallationToken: %v", err)
	}
	return tok.GetToken()
}
