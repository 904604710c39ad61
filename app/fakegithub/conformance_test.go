package fakegithub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/golang-jwt/jwt/v5"
)

// subsetPath is GitHub's own OpenAPI description of the emulated operations
// (see testdata/README.md).
const subsetPath = "../../testdata/openapi/github-subset.json"

// morePath holds GitHub's description of the operations the emulator serves
// beyond the subset (cut the same way; see testdata/README.md).
const morePath = "../../testdata/openapi/github-more.json"

type loadedDoc struct {
	once sync.Once
	doc  *openapi3.T
	err  error
}

var docs = map[string]*loadedDoc{subsetPath: {}, morePath: {}}

func loadDoc(t *testing.T, path string) *openapi3.T {
	t.Helper()
	d := docs[path]
	d.once.Do(func() {
		loader := openapi3.NewLoader()
		d.doc, d.err = loader.LoadFromFile(path)
		if d.err == nil {
			// One upstream example is invalid (see the fixture's README).
			d.err = d.doc.Validate(context.Background(), openapi3.DisableExamplesValidation())
		}
	})
	if d.err != nil {
		t.Fatalf("loading %s: %v", path, d.err)
	}
	return d.doc
}

func loadSubset(t *testing.T) *openapi3.T { return loadDoc(t, subsetPath) }

// conformance sends requests to the emulator and validates every answer
// against GitHub's description with kin-openapi.
type conformance struct {
	t      *testing.T
	s      *Server
	router routers.Router
	// more routes the operations of github-more.json.
	more routers.Router
	// covered records "METHOD /template status" of every validated answer.
	covered map[string]bool
}

func newConformance(t *testing.T, s *Server) *conformance {
	doc := loadSubset(t)
	// Route by path only: the description's server is api.github.com.
	doc.Servers = openapi3.Servers{{URL: s.URL()}}
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		t.Fatal(err)
	}
	more := loadDoc(t, morePath)
	more.Servers = openapi3.Servers{{URL: s.URL()}}
	moreRouter, err := legacy.NewRouter(more, openapi3.DisableExamplesValidation())
	if err != nil {
		t.Fatal(err)
	}
	return &conformance{t: t, s: s, router: router, more: moreRouter, covered: map[string]bool{}}
}

type call struct {
	method, path, auth, body string
	header                   map[string]string
	status                   int
}

func (c *conformance) run(tc call) []byte {
	t := c.t
	t.Helper()
	req, err := http.NewRequest(tc.method, c.s.URL()+tc.path, strings.NewReader(tc.body))
	if err != nil {
		t.Fatal(err)
	}
	if tc.auth != "" {
		req.Header.Set("Authorization", "Bearer "+tc.auth)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	for k, v := range tc.header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	name := tc.method + " " + tc.path
	if res.StatusCode != tc.status {
		t.Errorf("%s = %d; want %d: %s", name, res.StatusCode, tc.status, truncate(body))
		return body
	}
	// Headers GitHub sends with every API answer.
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Reset"} {
		if _, err := strconv.Atoi(res.Header.Get(h)); err != nil && !strings.HasPrefix(tc.path, "/app") {
			t.Errorf("%s: header %s = %q", name, h, res.Header.Get(h))
		}
	}
	if res.Header.Get("X-RateLimit-Resource") == "" && !strings.HasPrefix(tc.path, "/app") {
		t.Errorf("%s: no X-RateLimit-Resource", name)
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if route, params, err = c.more.FindRoute(req); err != nil {
			t.Errorf("%s: not an operation of the descriptions: %v", name, err)
			return body
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s (%d) does not match GitHub's description:\n%s", name, res.StatusCode, truncate([]byte(err.Error())))
	}
	c.covered[fmt.Sprintf("%s %s %d", route.Method, route.Path, res.StatusCode)] = true
	return body
}

func truncate(b []byte) string {
	if len(b) > 3000 {
		return string(b[:3000]) + "…"
	}
	return string(b)
}

func appJWT(t *testing.T, s *Server) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": "42", "iat": now.Add(-30 * time.Second).Unix(), "exp": now.Add(time.Minute).Unix()}).SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestConformance drives every emulated operation of GitHub's description,
// with the error answers it documents, and validates each answer.
func TestConformance(t *testing.T) {
	s := startServer(t, testScenario)
	c := newConformance(t, s)
	j := appJWT(t, s)
	tok := installationToken(t, s, 7)
	org := installationToken(t, s, 8)
	const r = "/repos/Codertocat/Hello-World"

	c.run(call{method: "GET", path: "/app/installations", auth: j, status: 200})
	c.run(call{method: "GET", path: "/app/installations?per_page=1&page=2", auth: j, status: 200})
	c.run(call{method: "POST", path: "/app/installations/7/access_tokens", auth: j, status: 201})
	c.run(call{method: "POST", path: "/app/installations/7/access_tokens", auth: j, body: `{"repositories":["Hello-World"],"permissions":{"statuses":"read"}}`, status: 201})
	c.run(call{method: "POST", path: "/app/installations/8/access_tokens", auth: j, body: `{"permissions":{"checks":"write"}}`, status: 422})
	c.run(call{method: "POST", path: "/app/installations/7/access_tokens", auth: j, body: `{"repositories":["Hello-World","not-installed"]}`, status: 422})
	c.run(call{method: "POST", path: "/app/installations/7/access_tokens", auth: j, body: `{"repository_ids":[1]}`, status: 422})
	c.run(call{method: "POST", path: "/app/installations/99/access_tokens", auth: j, status: 404})
	c.run(call{method: "POST", path: "/app/installations/7/access_tokens", auth: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", status: 401})
	c.run(call{method: "POST", path: "/app/installations/7/access_tokens", auth: tok, status: 401})
	c.run(call{method: "GET", path: "/installation/repositories", auth: tok, status: 200})
	c.run(call{method: "GET", path: "/installation/repositories", auth: tok, header: map[string]string{"If-None-Match": etagOf(t, s, "/installation/repositories", tok)}, status: 304})
	c.run(call{method: "GET", path: "/installation/repositories", auth: "ghs_nope", status: 401})
	c.run(call{method: "GET", path: "/installation/repositories", auth: j, status: 403})
	c.run(call{method: "GET", path: "/orgs/octo-org/installation", auth: j, status: 200})
	c.run(call{method: "GET", path: "/rate_limit", auth: tok, status: 200})
	c.run(call{method: "GET", path: "/rate_limit", status: 200})
	c.run(call{method: "GET", path: r, auth: tok, status: 200})
	c.run(call{method: "GET", path: "/repos/Codertocat/nope", auth: tok, status: 404})
	c.run(call{method: "GET", path: "/repos/octo-org/service", auth: tok, status: 404})
	c.run(call{method: "GET", path: "/repos/octo-org/service", auth: org, status: 200})

	runs := c.run(call{method: "GET", path: r + "/actions/runs", auth: tok, status: 200})
	var wr struct {
		WorkflowRuns []struct {
			ID           int64 `json:"id"`
			CheckSuiteID int64 `json:"check_suite_id"`
		} `json:"workflow_runs"`
	}
	if err := json.Unmarshal(runs, &wr); err != nil || len(wr.WorkflowRuns) != 1 {
		t.Fatalf("workflow runs = %s", truncate(runs))
	}
	c.run(call{method: "GET", path: r + "/actions/runs?head_sha=" + headSHA + "&status=success&exclude_pull_requests=true", auth: tok, status: 200})
	c.run(call{method: "POST", path: fmt.Sprintf("%s/actions/runs/%d/rerun", r, wr.WorkflowRuns[0].ID), auth: tok, status: 201})

	c.run(call{method: "GET", path: r + "/branches/master/protection", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/branches/dev/protection", auth: tok, status: 404})
	c.run(call{method: "GET", path: r + "/branches/master/protection/required_status_checks", auth: tok, status: 200})
	c.run(call{method: "GET", path: "/repos/octo-org/service/branches/main/protection/required_status_checks", auth: tok, status: 404})

	c.run(call{method: "POST", path: r + "/check-runs", auth: tok, body: `{"name":"ci/docs","head_sha":"` + headSHA + `","status":"completed","conclusion":"skipped","output":{"title":"Skipped","summary":"no docs changed"}}`, status: 201})
	c.run(call{method: "POST", path: r + "/check-runs", auth: tok, body: `{"name":"ci/x","head_sha":"` + headSHA + `","status":"in_progress","details_url":"https://ci.example/1","external_id":"1"}`, status: 201})
	c.run(call{method: "POST", path: fmt.Sprintf("%s/check-suites/%d/rerequest", r, wr.WorkflowRuns[0].CheckSuiteID), auth: tok, status: 201})

	c.run(call{method: "GET", path: r + "/collaborators/octocat/permission", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/collaborators/stranger/permission", auth: tok, status: 200})

	for _, ref := range []string{headSHA, "changes", "master"} {
		c.run(call{method: "GET", path: r + "/commits/" + ref + "/check-runs", auth: tok, status: 200})
		c.run(call{method: "GET", path: r + "/commits/" + ref + "/check-suites", auth: tok, status: 200})
		c.run(call{method: "GET", path: r + "/commits/" + ref + "/status", auth: tok, status: 200})
		c.run(call{method: "GET", path: r + "/commits/" + ref + "/statuses", auth: tok, status: 200})
	}
	c.run(call{method: "GET", path: r + "/commits/" + headSHA + "/check-runs?filter=all&check_name=ci/lint&app_id=15368", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/commits/nope/status", auth: tok, status: 404})

	c.run(call{method: "GET", path: r + "/compare/master..." + headSHA, auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/compare/master...master", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/compare/master...nope", auth: tok, status: 404})

	c.run(call{method: "GET", path: r + "/contents/README.md", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/contents/README.md?ref=" + headSHA, auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/contents/docs", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/contents/README.md", auth: tok, header: map[string]string{"If-None-Match": etagOf(t, s, r+"/contents/README.md", tok)}, status: 304})
	c.run(call{method: "GET", path: r + "/contents/nope", auth: tok, status: 404})

	c.run(call{method: "GET", path: r + "/installation", auth: j, status: 200})
	c.run(call{method: "GET", path: "/repos/Codertocat/not-installed/installation", auth: j, status: 404})

	comment := c.run(call{method: "POST", path: r + "/issues/2/comments", auth: tok, body: `{"body":"Skipped ci/docs: no docs changed"}`, status: 201})
	var cm struct{ ID int64 }
	_ = json.Unmarshal(comment, &cm)
	c.run(call{method: "POST", path: r + "/issues/99/comments", auth: tok, body: `{"body":"x"}`, status: 404})
	c.run(call{method: "POST", path: r + "/issues/2/comments", auth: tok, body: `{}`, status: 422})
	c.run(call{method: "POST", path: fmt.Sprintf("%s/issues/comments/%d/reactions", r, cm.ID), auth: tok, body: `{"content":"eyes"}`, status: 201})
	c.run(call{method: "POST", path: fmt.Sprintf("%s/issues/comments/%d/reactions", r, cm.ID), auth: tok, body: `{"content":"eyes"}`, status: 200})
	c.run(call{method: "POST", path: fmt.Sprintf("%s/issues/comments/%d/reactions", r, cm.ID), auth: tok, body: `{"content":"thumbs"}`, status: 422})

	for _, q := range []string{"", "?state=all", "?state=closed&base=release/v1", "?sort=updated&direction=asc&per_page=1&page=2", "?head=Codertocat:changes"} {
		c.run(call{method: "GET", path: r + "/pulls" + q, auth: tok, status: 200})
	}
	c.run(call{method: "GET", path: r + "/pulls", auth: tok, header: map[string]string{"If-None-Match": etagOf(t, s, r+"/pulls", tok)}, status: 304})
	c.run(call{method: "GET", path: r + "/pulls?state=merged", auth: tok, status: 422})
	for _, n := range []string{"2", "3", "4"} {
		c.run(call{method: "GET", path: r + "/pulls/" + n, auth: tok, status: 200})
	}
	c.run(call{method: "GET", path: r + "/pulls/2", auth: tok, header: map[string]string{"If-None-Match": etagOf(t, s, r+"/pulls/2", tok)}, status: 304})
	c.run(call{method: "GET", path: r + "/pulls/99", auth: tok, status: 404})
	c.run(call{method: "GET", path: r + "/pulls/2/files", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/pulls/3/files?per_page=100&page=30", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/rules/branches/master", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/rules/branches/release%2Fv1", auth: tok, status: 200})
	c.run(call{method: "POST", path: r + "/statuses/" + headSHA, auth: tok, body: `{"state":"success","context":"ci/docs","description":"Skipped","target_url":"https://ci.example/docs"}`, status: 201})
	c.run(call{method: "POST", path: r + "/statuses/" + headSHA, auth: tok, body: `{"state":"pending"}`, status: 201})

	// The operations of github-more.json.
	c.run(call{method: "GET", path: "/app", auth: j, status: 200})
	c.run(call{method: "GET", path: "/app/installations/7", auth: j, status: 200})
	c.run(call{method: "GET", path: "/users/Codertocat/installation", auth: j, status: 200})
	var crID struct{ ID int64 }
	_ = json.Unmarshal(c.run(call{method: "POST", path: r + "/check-runs", auth: tok, body: `{"name":"ci/more","head_sha":"` + headSHA + `"}`, status: 201}), &crID)
	c.run(call{method: "GET", path: fmt.Sprintf("%s/check-runs/%d", r, crID.ID), auth: tok, status: 200})
	c.run(call{method: "PATCH", path: fmt.Sprintf("%s/check-runs/%d", r, crID.ID), auth: tok, body: `{"conclusion":"neutral"}`, status: 200})
	c.run(call{method: "GET", path: r + "/issues/2/comments", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/commits/" + headSHA + "/pulls", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/commits/master/pulls", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/git/trees/master?recursive=1", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/git/trees/" + headSHA, auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/git/trees/" + strings.Repeat("a", 40), auth: tok, status: 404})
	c.run(call{method: "GET", path: r + "/git/blobs/" + blobSHA("# Hello-World\n"), auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/git/blobs/nope", auth: tok, status: 422})
	receiver(t, s, "s3cret")
	if _, err := s.Apply(context.Background(), Event{Type: "issue_comment.created", Repo: "Codertocat/Hello-World", Number: 2, Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	var hd []struct{ ID int64 }
	_ = json.Unmarshal(c.run(call{method: "GET", path: "/app/hook/deliveries?per_page=1", auth: j, status: 200}), &hd)
	if len(hd) != 1 {
		t.Fatalf("hook deliveries = %+v", hd)
	}
	c.run(call{method: "GET", path: fmt.Sprintf("/app/hook/deliveries/%d", hd[0].ID), auth: j, status: 200})
	c.run(call{method: "POST", path: fmt.Sprintf("/app/hook/deliveries/%d/attempts", hd[0].ID), auth: j, status: 202})
	s.WaitWebhooks()
	// A ref's name holds slashes; the description's {ref} is one segment,
	// so the path escapes them (GitHub takes both forms).
	c.run(call{method: "GET", path: r + "/git/ref/heads%2Fmaster", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/git/ref/heads%2Fnope", auth: tok, status: 404})
	c.run(call{method: "GET", path: r + "/git/matching-refs/heads", auth: tok, status: 200})
	c.run(call{method: "GET", path: r + "/git/matching-refs/tags", auth: tok, status: 200})
	_, userTok := login(t, s, "octocat")
	c.run(call{method: "GET", path: "/user", auth: userTok.AccessToken, status: 200})
	c.run(call{method: "GET", path: "/user", auth: "ghu_nope", status: 401})
	_, back := createFromManifest(t, s, "/settings/apps/new", manifestFor("conformance", "http://127.0.0.1:9/hook", "pull_request"), "st")
	c.run(call{method: "POST", path: "/app-manifests/" + back.Get("code") + "/conversions", status: 201})
	c.run(call{method: "POST", path: "/app-manifests/" + back.Get("code") + "/conversions", status: 404})

	// Every operation of the descriptions answered successfully at least once.
	ok := map[string]bool{}
	for k := range c.covered {
		parts := strings.Fields(k)
		if parts[2][0] == '2' {
			ok[parts[0]+" "+parts[1]] = true
		}
	}
	var missing []string
	described := map[string]bool{}
	for _, op := range append(subsetOperations(t, subsetPath), subsetOperations(t, morePath)...) {
		described[op] = true
		if !ok[op] {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations never answered successfully:\n%s", strings.Join(missing, "\n"))
	}
	// Every emulated route is an operation of one of the descriptions, but
	// for the operations GitHub serves without describing them. (RouteKeys
	// lists the REST API only: the web-flow pages under the web URL, OAuth
	// and the manifest flow, are no operations of api.github.com; oauth_test.go
	// and manifest_test.go drive them.)
	undescribed := map[string]string{
		// GitHub still lists every ref here; its description only has
		// git/matching-refs. TestListAllRefs checks it through go-github.
		"GET /repos/{owner}/{repo}/git/refs": "not in GitHub's description",
		// GitHub describes it, but neither cut of the description has it:
		// TestListBranches checks it through go-github.
		"GET /repos/{owner}/{repo}/branches": "not in the cut descriptions",
	}
	for _, k := range RouteKeys() {
		if !described[k] && undescribed[k] == "" {
			t.Errorf("%s is in neither description", k)
		}
		if described[k] && undescribed[k] != "" {
			t.Errorf("%s is described now: drop it from undescribed", k)
		}
	}
}

// TestConformanceOfErrorBodies checks answers whose status the description
// does not list for the operation against GitHub's error schemas.
func TestConformanceOfErrorBodies(t *testing.T) {
	sc := strings.Replace(testScenario, "rate_limit: 5000", "rate_limit: 1", 1)
	s := startServer(t, sc)
	doc := loadSubset(t)
	basic := doc.Components.Schemas["basic-error"].Value
	validation := doc.Components.Schemas["validation-error"].Value
	tok := installationToken(t, s, 7)
	const r = "/repos/Codertocat/Hello-World"
	s.Fault(Fault{Route: "GET /repos/{owner}/{repo}/pulls", Secondary: true, RetryAfter: 1})
	tests := []struct {
		name, method, path, body string
		status                   int
		schema                   *openapi3.Schema
	}{
		{"secondary limit", "GET", r + "/pulls", "", 403, basic},
		{"description too long", "POST", r + "/statuses/" + headSHA, `{"state":"success","description":"` + strings.Repeat("x", 141) + `"}`, 422, validation},
		{"rate limit", "GET", r, "", 403, basic},
		{"bad credentials", "GET", r, "", 401, basic},
		{"not found route", "GET", "/nope", "", 404, basic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := tok
			if tc.status == 401 {
				auth = "ghs_nope"
			}
			res := do(t, s, tc.method, tc.path, auth, tc.body)
			data, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("%s %s = %d; want %d: %s", tc.method, tc.path, res.StatusCode, tc.status, data)
			}
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatal(err)
			}
			if err := tc.schema.VisitJSON(v); err != nil {
				t.Errorf("body does not match: %v", err)
			}
		})
	}
}

func subsetOperations(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Subset struct {
			Operations []string `json:"operations"`
		} `json:"x-subset"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Subset.Operations
}

// etagOf fetches a resource and returns its ETag.
func etagOf(t *testing.T, s *Server, path, tok string) string {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+tok)
	req.Header.Set("Accept", "application/vnd.github+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.Header.Get("ETag") == "" {
		t.Fatalf("GET %s has no ETag", path)
	}
	return res.Header.Get("ETag")
}

// TestConformanceCatchesBadBodies makes sure the validation above is not
// vacuous: a body missing a required field, or with a malformed date, fails.
func TestConformanceCatchesBadBodies(t *testing.T) {
	s := startServer(t, testScenario)
	c := newConformance(t, s)
	tok := installationToken(t, s, 7)
	good := c.run(call{method: "GET", path: "/repos/Codertocat/Hello-World/pulls/2", auth: tok, status: 200})
	var pull map[string]any
	if err := json.Unmarshal(good, &pull); err != nil {
		t.Fatal(err)
	}
	validate := func(body map[string]any) error {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest("GET", s.URL()+"/repos/Codertocat/Hello-World/pulls/2", nil)
		route, params, err := c.router.FindRoute(req)
		if err != nil {
			t.Fatal(err)
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 200, Header: http.Header{"Content-Type": {"application/json"}},
		}
		in.SetBodyBytes(data)
		return openapi3filter.ValidateResponse(context.Background(), in)
	}
	if err := validate(pull); err != nil {
		t.Fatalf("the emulator's own body fails: %v", err)
	}
	delete(pull, "number")
	if validate(pull) == nil {
		t.Error("a pull request without number passed")
	}
	pull["number"] = 2
	pull["created_at"] = "yesterday"
	if validate(pull) == nil {
		t.Error("a malformed created_at passed")
	}
}
