package fakegithub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
	"github.com/shurcooL/githubv4"
	"github.com/vektah/gqlparser/v2"
	gqlast "github.com/vektah/gqlparser/v2/ast"
)

// backfillQuery is one page of a repository's open pull requests with what
// the reconciler needs of each (app.Prefetched): the query the backfill
// sends through go-githubapp's NewInstallationV4Client.
//
// Variables: owner, name (githubv4.String), prs, files, suites, runs
// (githubv4.Int, each 1..100) and cursor (*githubv4.String, nil for the
// first page).
type backfillQuery struct {
	RateLimit struct {
		Cost      int
		Limit     int
		Remaining int
		Used      int
		NodeCount int
		ResetAt   githubv4.DateTime
	}
	Repository struct {
		DatabaseID    int64
		NameWithOwner string
		PullRequests  struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   githubv4.String
			}
			Nodes []backfillPR
		} `graphql:"pullRequests(states: OPEN, first: $prs, after: $cursor, orderBy: {field: CREATED_AT, direction: ASC})"`
	} `graphql:"repository(owner: $owner, name: $name)"`
}

type backfillPR struct {
	Number         int
	State          githubv4.PullRequestState
	IsDraft        bool
	HeadRefOid     githubv4.GitObjectID
	BaseRefName    string
	BaseRefOid     githubv4.GitObjectID
	ChangedFiles   int
	CreatedAt      githubv4.DateTime
	UpdatedAt      githubv4.DateTime
	Mergeable      githubv4.MergeableState
	ReviewDecision githubv4.PullRequestReviewDecision // "" when null
	Author         gqlActorFields
	Files          struct {
		TotalCount int
		PageInfo   struct {
			HasNextPage bool
			EndCursor   githubv4.String
		}
		Nodes []struct {
			Path       string
			ChangeType githubv4.PatchStatus
		}
	} `graphql:"files(first: $files)"`
	Commits struct {
		Nodes []struct {
			Commit struct {
				Oid    githubv4.GitObjectID
				Status *struct {
					State    githubv4.StatusState
					Contexts []struct {
						Context     string
						State       githubv4.StatusState
						Description *string
						TargetURL   *githubv4.URI
						CreatedAt   githubv4.DateTime
						Creator     gqlActorFields
					}
				}
				CheckSuites struct {
					TotalCount int
					Nodes      []struct {
						DatabaseID int64
						App        struct {
							DatabaseID int64
							Slug       string
						}
						CheckRuns struct {
							TotalCount int
							Nodes      []struct {
								DatabaseID int64
								Name       string
								Status     githubv4.CheckStatusState
								Conclusion githubv4.CheckConclusionState // "" when null
								StartedAt  *githubv4.DateTime
							}
						} `graphql:"checkRuns(first: $runs, filterBy: {checkType: LATEST})"`
					}
				} `graphql:"checkSuites(first: $suites)"`
			}
		}
	} `graphql:"commits(last: 1)"`
}

// gqlActorFields is an Actor. GraphQL names an app's bot by its slug
// (Bot "fix-status"); REST's login for it is "fix-status[bot]".
type gqlActorFields struct {
	Typename string `graphql:"__typename"`
	Login    string
}

// RESTLogin is the login as the REST API shows it.
func (a gqlActorFields) RESTLogin() string {
	if a.Typename == "Bot" {
		return a.Login + "[bot]"
	}
	return a.Login
}

func backfillVars(owner, name string, prs, files, suites, runs int, cursor *string) map[string]any {
	v := map[string]any{
		"owner": githubv4.String(owner), "name": githubv4.String(name),
		"prs": githubv4.Int(prs), "files": githubv4.Int(files), "suites": githubv4.Int(suites), "runs": githubv4.Int(runs),
		"cursor": (*githubv4.String)(nil),
	}
	if cursor != nil {
		v["cursor"] = githubv4.NewString(githubv4.String(*cursor))
	}
	return v
}

func v4Client(t testing.TB, s *Server, inst int64) *githubv4.Client {
	t.Helper()
	c, err := clientCreator(t, s).NewInstallationV4Client(inst)
	if err != nil {
		t.Fatalf("NewInstallationV4Client: %v", err)
	}
	return c
}

// gqlRaw posts a query and decodes the answer.
func gqlRaw(t testing.TB, s *Server, token, query string, vars map[string]any) (*http.Response, gqlTestResponse) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	res := do(t, s, "POST", "/graphql", token, string(body))
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out gqlTestResponse
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
	}
	out.raw = string(data)
	return res, out
}

type gqlTestResponse struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Type      string `json:"type"`
		Path      []any  `json:"path"`
		Message   string `json:"message"`
		Locations []struct {
			Line, Column int
		} `json:"locations"`
	} `json:"errors"`
	raw string
}

// graphqlScenario adds to testScenario what the GraphQL reads must get
// right: a bot author, a draft, a merged PR, statuses whose contexts differ
// in case, links and descriptions.
const graphqlScenario = testScenario + `
  - name: Codertocat/gql
    default_branch: main
    branches:
      main: {}
      release: {}
    pulls:
      - number: 1
        title: Bump a dependency
        user: dependabot[bot]
        base: main
        files:
          - {filename: go.mod, status: modified, additions: 1, deletions: 1}
          - {filename: go.sum, status: modified, additions: 2, deletions: 2}
        statuses:
          - {context: ci/build, state: failure, description: "Build failed", target_url: "https://ci.example/1", creator: prow}
          - {context: CI/Build, state: success, description: "Build passed", target_url: "https://ci.example/2", creator: prow}
          - {context: lint, state: pending, creator: prow}
        check_runs:
          - {name: test, status: completed, conclusion: failure, workflow: CI}
          - {name: vet, status: completed, conclusion: success, workflow: CI}
          - {name: e2e, status: queued, app_id: 9000}
      - number: 2
        title: Draft
        user: octocat
        base: release
        draft: true
        files:
          - {filename: docs/x.md, status: added, additions: 3}
          - {filename: old.txt, status: removed, deletions: 1}
      - number: 3
        title: Merged
        user: octocat
        base: main
        state: closed
        merged: true
      - number: 4
        title: Closed
        user: octocat
        base: main
        state: closed
`

func withGQLRepo(sc string) string {
	return strings.Replace(sc, "repos: [Codertocat/Hello-World, Codertocat/private-repo]",
		"repos: [Codertocat/Hello-World, Codertocat/private-repo, Codertocat/gql]", 1)
}

// TestGraphQLBackfillQueryMatchesREST runs the backfill's query through
// go-githubapp's v4 client and checks every value against what the REST
// API answers for the same state.
func TestGraphQLBackfillQueryMatchesREST(t *testing.T) {
	s := startServer(t, withGQLRepo(graphqlScenario))
	ctx := context.Background()
	rest := installationClient(t, s, 7)
	// The app's own status (creator fix-status[bot]) and a re-run of the
	// Actions suite (a second "test" run in the same suite).
	if _, _, err := rest.Repositories.CreateStatus(ctx, "Codertocat", "gql", prHead(t, s, "Codertocat/gql", 1),
		&github.RepoStatus{State: github.String("pending"), Context: github.String("fix-status"), Description: github.String("waiting")}); err != nil {
		t.Fatal(err)
	}
	runs, _, err := rest.Checks.ListCheckRunsForRef(ctx, "Codertocat", "gql", prHead(t, s, "Codertocat/gql", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cr := range runs.CheckRuns {
		if cr.GetName() == "test" {
			if _, err := rest.Checks.ReRequestCheckSuite(ctx, "Codertocat", "gql", cr.GetCheckSuite().GetID()); err != nil {
				t.Fatal(err)
			}
			break
		}
	}

	v4 := v4Client(t, s, 7)
	for _, repoName := range []string{"Codertocat/Hello-World", "Codertocat/gql"} {
		owner, name, _ := strings.Cut(repoName, "/")
		var q backfillQuery
		if err := v4.Query(ctx, &q, backfillVars(owner, name, 100, 100, 10, 100, nil)); err != nil {
			t.Fatalf("%s: %v", repoName, err)
		}
		if q.Repository.NameWithOwner != repoName {
			t.Errorf("nameWithOwner = %q", q.Repository.NameWithOwner)
		}
		rr, _, err := rest.Repositories.Get(ctx, owner, name)
		if err != nil {
			t.Fatal(err)
		}
		if q.Repository.DatabaseID != rr.GetID() {
			t.Errorf("databaseId = %d, REST id %d", q.Repository.DatabaseID, rr.GetID())
		}
		open, _, err := rest.PullRequests.List(ctx, owner, name, &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: 100}})
		if err != nil {
			t.Fatal(err)
		}
		var want []int
		for _, p := range open {
			want = append(want, p.GetNumber())
		}
		sort.Ints(want)
		var got []int
		for _, p := range q.Repository.PullRequests.Nodes {
			got = append(got, p.Number)
		}
		if diff := cmp.Diff(want, got); diff != "" || q.Repository.PullRequests.TotalCount != len(want) {
			t.Fatalf("%s open PRs (-REST +GraphQL):\n%s totalCount %d", repoName, diff, q.Repository.PullRequests.TotalCount)
		}
		for _, p := range q.Repository.PullRequests.Nodes {
			compareWithREST(t, rest, owner, name, p)
		}
	}
}

// prHead is a PR's head SHA.
func prHead(t testing.TB, s *Server, repo string, number int) string {
	t.Helper()
	for _, r := range s.State().Repos {
		if r.Name != repo {
			continue
		}
		for _, p := range r.Pulls {
			if p.Number == number {
				return p.HeadSHA
			}
		}
	}
	t.Fatalf("no PR %s#%d", repo, number)
	return ""
}

type cmpStatus struct {
	Context, State, Description, TargetURL, Creator string
	CreatedAt                                       time.Time
}

type cmpRun struct {
	ID, AppID, SuiteID             int64
	Name, Status, Conclusion, Slug string
	StartedAt                      time.Time
}

func compareWithREST(t *testing.T, rest *github.Client, owner, name string, p backfillPR) {
	t.Helper()
	ctx := context.Background()
	where := fmt.Sprintf("%s/%s#%d", owner, name, p.Number)
	rp, _, err := rest.PullRequests.Get(ctx, owner, name, p.Number)
	if err != nil {
		t.Fatal(err)
	}
	mergeable := githubv4.MergeableStateUnknown
	if rp.Mergeable != nil && *rp.Mergeable {
		mergeable = githubv4.MergeableStateMergeable
	}
	type prFields struct {
		State, Head, BaseRef, BaseSHA, Author, Mergeable string
		Draft                                            bool
		ChangedFiles                                     int
		Created, Updated                                 time.Time
	}
	wantPR := prFields{State: strings.ToUpper(rp.GetState()), Head: rp.GetHead().GetSHA(), BaseRef: rp.GetBase().GetRef(), BaseSHA: rp.GetBase().GetSHA(),
		Author: rp.GetUser().GetLogin(), Mergeable: string(mergeable), Draft: rp.GetDraft(), ChangedFiles: rp.GetChangedFiles(),
		Created: rp.GetCreatedAt().UTC(), Updated: rp.GetUpdatedAt().UTC()}
	gotPR := prFields{State: string(p.State), Head: string(p.HeadRefOid), BaseRef: p.BaseRefName, BaseSHA: string(p.BaseRefOid),
		Author: p.Author.RESTLogin(), Mergeable: string(p.Mergeable), Draft: p.IsDraft, ChangedFiles: p.ChangedFiles,
		Created: p.CreatedAt.UTC(), Updated: p.UpdatedAt.UTC()}
	if diff := cmp.Diff(wantPR, gotPR); diff != "" {
		t.Errorf("%s (-REST +GraphQL):\n%s", where, diff)
	}
	if wantBot := rp.GetUser().GetType() == "Bot"; wantBot != (p.Author.Typename == "Bot") {
		t.Errorf("%s: author %+v, REST type %s", where, p.Author, rp.GetUser().GetType())
	}
	if p.ReviewDecision != "" {
		t.Errorf("%s: reviewDecision %q, want null", where, p.ReviewDecision)
	}

	// Files: the first page, in the PR's order, and the count REST lists.
	var restFiles []string
	opt := &github.ListOptions{PerPage: 100}
	for {
		fs, resp, err := rest.PullRequests.ListFiles(ctx, owner, name, p.Number, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			restFiles = append(restFiles, f.GetFilename()+" "+restToPatchStatus(f.GetStatus()))
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	var gqlFiles []string
	for _, f := range p.Files.Nodes {
		gqlFiles = append(gqlFiles, f.Path+" "+string(f.ChangeType))
	}
	if p.Files.TotalCount != len(restFiles) {
		t.Errorf("%s: files totalCount %d, REST lists %d", where, p.Files.TotalCount, len(restFiles))
	}
	if diff := cmp.Diff(restFiles[:min(100, len(restFiles))], gqlFiles); diff != "" {
		t.Errorf("%s files (-REST +GraphQL):\n%s", where, diff)
	}
	if p.Files.PageInfo.HasNextPage != (len(restFiles) > 100) {
		t.Errorf("%s: files hasNextPage %v with %d files", where, p.Files.PageInfo.HasNextPage, len(restFiles))
	}

	if len(p.Commits.Nodes) != 1 || string(p.Commits.Nodes[0].Commit.Oid) != rp.GetHead().GetSHA() {
		t.Fatalf("%s: commits(last: 1) = %+v, head %s", where, p.Commits.Nodes, rp.GetHead().GetSHA())
	}
	head := p.Commits.Nodes[0].Commit

	// Statuses: the latest per context (case-insensitive), with creators, as
	// app/read.go's readStatuses gets them from REST.
	want := map[string]cmpStatus{}
	sts, _, err := rest.Repositories.ListStatuses(ctx, owner, name, string(head.Oid), &github.ListOptions{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		k := strings.ToLower(st.GetContext())
		if _, ok := want[k]; ok {
			continue
		}
		want[k] = cmpStatus{Context: st.GetContext(), State: st.GetState(), Description: st.GetDescription(), TargetURL: st.GetTargetURL(),
			Creator: st.GetCreator().GetLogin(), CreatedAt: st.GetCreatedAt().UTC()}
	}
	got := map[string]cmpStatus{}
	if head.Status != nil {
		for _, c := range head.Status.Contexts {
			st := cmpStatus{Context: c.Context, State: strings.ToLower(string(c.State)), Creator: c.Creator.RESTLogin(), CreatedAt: c.CreatedAt.UTC()}
			if c.Description != nil {
				st.Description = *c.Description
			}
			if c.TargetURL != nil {
				st.TargetURL = c.TargetURL.String()
			}
			got[strings.ToLower(c.Context)] = st
		}
		combined, _, err := rest.Repositories.GetCombinedStatus(ctx, owner, name, string(head.Oid), nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ToUpper(combined.GetState()) != string(head.Status.State) {
			t.Errorf("%s: status state %s, REST combined %s", where, head.Status.State, combined.GetState())
		}
	} else if len(sts) > 0 {
		t.Errorf("%s: status null with %d statuses", where, len(sts))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s statuses (-REST +GraphQL):\n%s", where, diff)
	}

	// Check runs: the latest per name and app, as readCheckRuns gets them.
	type key struct {
		name string
		app  int64
	}
	wantRuns := map[key]cmpRun{}
	res, _, err := rest.Checks.ListCheckRunsForRef(ctx, owner, name, string(head.Oid), &github.ListCheckRunsOptions{Filter: github.String("latest"), ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, cr := range res.CheckRuns {
		r := cmpRun{ID: cr.GetID(), AppID: cr.GetApp().GetID(), SuiteID: cr.GetCheckSuite().GetID(), Name: cr.GetName(), Status: cr.GetStatus(),
			Conclusion: cr.GetConclusion(), Slug: cr.GetApp().GetSlug(), StartedAt: cr.GetStartedAt().UTC()}
		k := key{strings.ToLower(r.Name), r.AppID}
		if prev, ok := wantRuns[k]; !ok || r.ID > prev.ID {
			wantRuns[k] = r
		}
	}
	gotRuns := map[key]cmpRun{}
	for _, suite := range head.CheckSuites.Nodes {
		for _, cr := range suite.CheckRuns.Nodes {
			r := cmpRun{ID: cr.DatabaseID, AppID: suite.App.DatabaseID, SuiteID: suite.DatabaseID, Name: cr.Name, Status: strings.ToLower(string(cr.Status)),
				Conclusion: strings.ToLower(string(cr.Conclusion)), Slug: suite.App.Slug}
			if cr.StartedAt != nil {
				r.StartedAt = cr.StartedAt.UTC()
			}
			k := key{strings.ToLower(r.Name), r.AppID}
			if prev, ok := gotRuns[k]; !ok || r.ID > prev.ID {
				gotRuns[k] = r
			}
		}
	}
	if diff := cmp.Diff(wantRuns, gotRuns, cmp.AllowUnexported(key{})); diff != "" {
		t.Errorf("%s check runs (-REST +GraphQL):\n%s", where, diff)
	}
}

func restToPatchStatus(s string) string {
	switch s {
	case "removed":
		return "DELETED"
	case "unchanged":
		return "MODIFIED"
	}
	return strings.ToUpper(s)
}

// TestGraphQLValuesOfScenario pins what the emulator answers for known
// state: bot logins without "[bot]", the case-insensitive latest status per
// context, LATEST check runs after a re-run, merged/closed states.
func TestGraphQLValuesOfScenario(t *testing.T) {
	s := startServer(t, withGQLRepo(graphqlScenario))
	tok := installationToken(t, s, 7)
	_, out := gqlRaw(t, s, tok, `query {
	  repository(owner: "Codertocat", name: "gql") {
	    all: pullRequests(first: 10) { totalCount nodes { number state isDraft mergeable } }
	    merged: pullRequests(first: 10, states: [MERGED]) { nodes { number } }
	    release: pullRequests(first: 10, baseRefName: "release") { nodes { number } }
	    labelled: pullRequests(first: 10, labels: ["bug"]) { totalCount }
	    first: pullRequests(first: 1) {
	      nodes {
	        author { __typename login ... on Bot { id } }
	        commits(first: 5) { totalCount nodes { commit {
	          status { state contexts { context state description targetUrl creator { __typename login } } }
	          checkSuites(first: 5) { totalCount nodes { app { slug }
	            all: checkRuns(first: 10) { totalCount nodes { name status conclusion } }
	            latest: checkRuns(first: 10, filterBy: {checkType: LATEST}) { nodes { name } }
	            failed: checkRuns(first: 10, filterBy: {conclusions: [FAILURE]}) { nodes { name } }
	          } }
	        } } }
	      }
	    }
	  }
	}`, nil)
	if len(out.Errors) > 0 {
		t.Fatalf("errors: %s", out.raw)
	}
	want := `{"repository":{"all":{"nodes":[{"isDraft":false,"mergeable":"MERGEABLE","number":1,"state":"OPEN"},{"isDraft":true,"mergeable":"MERGEABLE","number":2,"state":"OPEN"},{"isDraft":false,"mergeable":"UNKNOWN","number":3,"state":"MERGED"},{"isDraft":false,"mergeable":"UNKNOWN","number":4,"state":"CLOSED"}],"totalCount":4},` +
		`"first":{"nodes":[{"author":{"__typename":"Bot","id":"` + nodeID("User", (&world{}).userID("dependabot[bot]")) + `","login":"dependabot"},"commits":{"nodes":[{"commit":{` +
		`"checkSuites":{"nodes":[{"all":{"nodes":[{"conclusion":"FAILURE","name":"test","status":"COMPLETED"},{"conclusion":"SUCCESS","name":"vet","status":"COMPLETED"}],"totalCount":2},"app":{"slug":"github-actions"},"failed":{"nodes":[{"name":"test"}]},"latest":{"nodes":[{"name":"test"},{"name":"vet"}]}},` +
		`{"all":{"nodes":[{"conclusion":null,"name":"e2e","status":"QUEUED"}],"totalCount":1},"app":{"slug":"prow"},"failed":{"nodes":[]},"latest":{"nodes":[{"name":"e2e"}]}}],"totalCount":2},` +
		`"status":{"contexts":[{"context":"CI/Build","creator":{"__typename":"User","login":"prow"},"description":"Build passed","state":"SUCCESS","targetUrl":"https://ci.example/2"},` +
		`{"context":"lint","creator":{"__typename":"User","login":"prow"},"description":null,"state":"PENDING","targetUrl":null}],"state":"PENDING"}}}],"totalCount":1}}]},` +
		`"labelled":{"totalCount":0},"merged":{"nodes":[{"number":3}]},"release":{"nodes":[{"number":2}]}}}`
	got, _ := json.Marshal(out.Data)
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	// A re-run of the Actions suite: LATEST keeps the new runs, ALL lists
	// both attempts.
	sha := prHead(t, s, "Codertocat/gql", 1)
	var suite int64
	for _, r := range s.State().Repos {
		for _, cs := range r.CheckSuites {
			if cs.HeadSHA == sha && cs.AppID == GitHubActionsAppID {
				suite = cs.ID
			}
		}
	}
	res := do(t, s, "POST", fmt.Sprintf("/repos/Codertocat/gql/check-suites/%d/rerequest", suite), tok, "")
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("rerequest: %d", res.StatusCode)
	}
	_, out = gqlRaw(t, s, tok, `query($n: String!) { repository(owner: "Codertocat", name: $n) { pullRequests(first: 1) { nodes { commits(last: 1) { nodes { commit { checkSuites(first: 1) { nodes {
	  all: checkRuns(first: 10) { nodes { name status } }
	  latest: checkRuns(first: 10, filterBy: {checkType: LATEST}) { nodes { name status } } } } } } } } } } }`, map[string]any{"n": "gql"})
	got, _ = json.Marshal(out.Data)
	want = `{"repository":{"pullRequests":{"nodes":[{"commits":{"nodes":[{"commit":{"checkSuites":{"nodes":[{"all":{"nodes":[{"name":"test","status":"COMPLETED"},{"name":"vet","status":"COMPLETED"},{"name":"test","status":"QUEUED"},{"name":"vet","status":"QUEUED"}]},"latest":{"nodes":[{"name":"test","status":"QUEUED"},{"name":"vet","status":"QUEUED"}]}}]}}}]}}]}}}`
	if string(got) != want {
		t.Errorf("after a re-run got\n%s\nwant\n%s", got, want)
	}
}

// TestGraphQLCostOfGitHubsExamples checks the cost rule on the examples of
// GitHub's "Rate limits and query limits for the GraphQL API" page.
func TestGraphQLCostOfGitHubsExamples(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&gqlast.Source{Name: "docs.graphql", Input: `
type Query { viewer: User! }
type User { login: String! repositories(first: Int, last: Int): RepositoryConnection! followers(first: Int, last: Int): UserConnection! }
type UserConnection { nodes: [User] edges: [UserEdge] totalCount: Int! }
type UserEdge { node: User }
type RepositoryConnection { nodes: [Repository] edges: [RepositoryEdge] totalCount: Int! }
type RepositoryEdge { node: Repository }
type Repository { id: ID! name: String!
  issues(first: Int, last: Int): IssueConnection!
  pullRequests(first: Int, last: Int): PullRequestConnection! }
type IssueConnection { nodes: [Issue] edges: [IssueEdge] totalCount: Int! }
type IssueEdge { node: Issue }
type Issue { id: ID! title: String! bodyHTML: String!
  labels(first: Int, last: Int): LabelConnection
  comments(first: Int, last: Int): IssueCommentConnection! }
type PullRequestConnection { edges: [PullRequestEdge] }
type PullRequestEdge { node: PullRequest }
type PullRequest { title: String! comments(first: Int, last: Int): IssueCommentConnection! }
type IssueCommentConnection { edges: [IssueCommentEdge] }
type IssueCommentEdge { node: IssueComment }
type IssueComment { bodyHTML: String! }
type LabelConnection { edges: [LabelEdge] }
type LabelEdge { node: Label }
type Label { id: ID! name: String! }
`})
	for _, tc := range []struct {
		name            string
		query           string
		requests, nodes int64
		cost            int
	}{
		{"rate limit score example", `query { viewer { login repositories(first: 100) { edges { node { id
		    issues(first: 50) { edges { node { id labels(first: 60) { edges { node { id name } } } } } } } } } } }`,
			5101, 100 + 5000 + 300000, 51},
		{"simple node limit example", `query { viewer { repositories(first: 50) { edges { repository: node { name
		    issues(first: 10) { totalCount edges { node { title bodyHTML } } } } } } } }`,
			51, 550, 1},
		{"complex node limit example", `query { viewer { repositories(first: 50) { edges { repository: node { name
		    pullRequests(first: 20) { edges { pullRequest: node { title comments(first: 10) { edges { comment: node { bodyHTML } } } } } }
		    issues(first: 20) { totalCount edges { issue: node { title bodyHTML comments(first: 10) { edges { comment: node { bodyHTML } } } } } } } } }
		    followers(first: 10) { edges { follower: node { login } } } } }`,
			1 + 50 + 1000 + 50 + 1000 + 1, 22060, 21},
		{"fragments count once", `query { viewer { ...R ...R } } fragment R on User { repositories(first: 100) { nodes { issues(first: 100) { totalCount } } } }`,
			101, 10100, 1},
		{"aliases count twice", `query { viewer { a: repositories(first: 100) { nodes { id } } b: repositories(last: 100) { nodes { id } } } }`,
			2, 200, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := analyzeGraphQL(schema, tc.query, "", nil)
			if len(plan.Errors) > 0 {
				t.Fatalf("errors: %+v", plan.Errors)
			}
			if plan.Requests != tc.requests || plan.Nodes != tc.nodes || plan.Cost != tc.cost {
				t.Errorf("requests %d, nodes %d, cost %d; want %d, %d, %d", plan.Requests, plan.Nodes, plan.Cost, tc.requests, tc.nodes, tc.cost)
			}
		})
	}
}

// TestGraphQLCostOfBackfillPages reports and checks what pages of the
// backfill query cost, through the real client, and that the points land
// in the stats and the installation's GraphQL budget only.
func TestGraphQLCostOfBackfillPages(t *testing.T) {
	s := startServer(t, withGQLRepo(graphqlScenario))
	ctx := context.Background()
	v4 := v4Client(t, s, 7)
	total := 0
	for _, tc := range []struct {
		prs, files, suites, runs int
		cost, nodes              int
	}{
		// requests = 1 (pullRequests) + prs (files) + prs (commits) + prs
		// (checkSuites: one commit each) + prs*suites (checkRuns).
		{100, 100, 10, 100, 13, 100 + 100*100 + 100 + 100*10 + 100*10*100},
		{50, 100, 10, 100, 7, 50 + 50*100 + 50 + 50*10 + 50*10*100},
		{100, 100, 5, 100, 8, 100 + 100*100 + 100 + 100*5 + 100*5*100},
		{50, 100, 1, 1, 2, 50 + 50*100 + 50 + 50 + 50},
		{10, 10, 1, 1, 1, 10 + 100 + 10 + 10 + 10},
	} {
		var q backfillQuery
		if err := v4.Query(ctx, &q, backfillVars("Codertocat", "gql", tc.prs, tc.files, tc.suites, tc.runs, nil)); err != nil {
			t.Fatal(err)
		}
		total += tc.cost
		rl := q.RateLimit
		t.Logf("%3d PRs × files(first: %d), checkSuites(first: %d) × checkRuns(first: %d): cost %d, nodeCount %d", tc.prs, tc.files, tc.suites, tc.runs, rl.Cost, rl.NodeCount)
		if rl.Cost != tc.cost || rl.NodeCount != tc.nodes || rl.Limit != graphqlPointLimit || rl.Used != total || rl.Remaining != graphqlPointLimit-total {
			t.Errorf("%+v: rateLimit %+v, want cost %d, nodes %d, used %d", tc, rl, tc.cost, tc.nodes, total)
		}
		if d := time.Until(rl.ResetAt.Time); d <= 0 || d > time.Hour {
			t.Errorf("resetAt %v", rl.ResetAt)
		}
	}
	// 50 PRs × 100 files alone is one point (51 requests).
	var files struct {
		RateLimit  struct{ Cost int }
		Repository struct {
			PullRequests struct {
				Nodes []struct {
					Files struct{ TotalCount int } `graphql:"files(first: 100)"`
				}
			} `graphql:"pullRequests(first: 50)"`
		} `graphql:"repository(owner: \"Codertocat\", name: \"gql\")"`
	}
	if err := v4.Query(ctx, &files, nil); err != nil {
		t.Fatal(err)
	}
	if files.RateLimit.Cost != 1 {
		t.Errorf("50 PRs × 100 files: cost %d, want 1", files.RateLimit.Cost)
	}
	total++
	st := s.Stats()
	if st.GraphQLPoints != int64(total) || st.GraphQLPointsUsed["7"] != int64(total) || st.ByRoute[graphqlRouteKey] != 6 {
		t.Errorf("stats: points %d, per installation %v, requests %d; want %d and 6", st.GraphQLPoints, st.GraphQLPointsUsed, st.ByRoute[graphqlRouteKey], total)
	}
	// GraphQL does not spend the REST budget (only the token and the
	// installation lookup went through REST, with the app's JWT).
	if n := st.RateLimitUsed["7"]; n != 0 {
		t.Errorf("REST budget used %d", n)
	}
	for _, in := range s.State().Installations {
		if in.ID == 7 && in.RateLimitUsed != 0 {
			t.Errorf("REST rate_limit_used %d", in.RateLimitUsed)
		}
	}
	// Headers say resource graphql.
	res, _ := gqlRaw(t, s, installationToken(t, s, 7), `{ rateLimit { cost } }`, nil)
	if res.Header.Get("X-RateLimit-Resource") != "graphql" || res.Header.Get("X-RateLimit-Limit") != "5000" ||
		res.Header.Get("X-RateLimit-Used") != fmt.Sprint(total+1) || res.Header.Get("X-RateLimit-Remaining") != fmt.Sprint(5000-total-1) {
		t.Errorf("headers %v", res.Header)
	}
}

// expensiveQuery costs 201 points: 1 + 100 + 100×100 + 100×100 requests.
const expensiveQuery = `query { repository(owner: "Codertocat", name: "gql") { pullRequests(first: 100) { nodes { commits(first: 100) { nodes { commit {
  checkSuites(first: 1) { nodes { checkRuns(first: 1) { totalCount } } } } } } } } } rateLimit { cost remaining } }`

// TestGraphQLRateLimited spends the budget and checks GitHub's answer: 200
// with a RATE_LIMITED error and remaining 0; the REST budget is untouched,
// and the window resets after an hour.
func TestGraphQLRateLimited(t *testing.T) {
	clk := &clock{}
	s := startServer(t, withGQLRepo(graphqlScenario), func(o *Options) { o.Now = clk.Now })
	tok := installationToken(t, s, 7)
	used := 0
	for used < graphqlPointLimit {
		_, out := gqlRaw(t, s, tok, expensiveQuery, nil)
		if len(out.Errors) > 0 {
			t.Fatalf("after %d points: %s", used, out.raw)
		}
		used += 201
	}
	res, out := gqlRaw(t, s, tok, `{ rateLimit { remaining } }`, nil)
	if res.StatusCode != http.StatusOK || len(out.Errors) != 1 || out.Errors[0].Type != "RATE_LIMITED" ||
		out.Errors[0].Message != "API rate limit exceeded for installation ID 7." || out.Data != nil {
		t.Fatalf("%d %s", res.StatusCode, out.raw)
	}
	if res.Header.Get("X-RateLimit-Remaining") != "0" || res.Header.Get("X-RateLimit-Resource") != "graphql" || res.Header.Get("X-RateLimit-Used") != fmt.Sprint(used) {
		t.Errorf("headers %v", res.Header)
	}
	if got := s.Stats().GraphQLPoints; got != int64(used) {
		t.Errorf("points %d, want %d (a refused query is not charged)", got, used)
	}
	// Through the client: an error with GitHub's message.
	var q struct{ RateLimit struct{ Remaining int } }
	err := v4Client(t, s, 7).Query(context.Background(), &q, nil)
	if err == nil || err.Error() != "API rate limit exceeded for installation ID 7." {
		t.Errorf("client error %v", err)
	}
	// REST still works: separate budgets.
	if res := do(t, s, "GET", "/repos/Codertocat/gql/pulls", tok, ""); res.StatusCode != http.StatusOK {
		t.Errorf("REST: %d", res.StatusCode)
	}
	// Another installation has its own budget.
	if _, out := gqlRaw(t, s, installationToken(t, s, 8), `{ rateLimit { remaining } }`, nil); len(out.Errors) > 0 {
		t.Errorf("installation 8: %s", out.raw)
	}
	// The window ends an hour after its first query: move the clock there
	// (the token is still valid).
	reset, err := strconv.ParseInt(res.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second) // a token that outlives the window
	tok = installationToken(t, s, 7)
	clk.Advance(time.Unix(reset, 0).Add(100 * time.Millisecond).Sub(clk.Now()))
	if _, out := gqlRaw(t, s, tok, `{ rateLimit { remaining used } }`, nil); out.raw != `{"data":{"rateLimit":{"remaining":4999,"used":1}}}` {
		t.Errorf("after the reset: %s", out.raw)
	}
}

// TestGraphQLErrors checks GitHub's errors: auth, a repository outside the
// installation, missing permissions, pagination limits, cursors, node
// limit, validation; none of the rejected queries is charged.
func TestGraphQLErrors(t *testing.T) {
	clk := &clock{}
	s := startServer(t, withGQLRepo(graphqlScenario), func(o *Options) { o.Now = clk.Now })
	tok := installationToken(t, s, 7)
	ctx := context.Background()

	for _, tc := range []struct {
		name, token string
		status      int
		message     string
	}{
		{"no token", "", 401, "This endpoint requires you to be authenticated."},
		{"unknown token", "ghs_unknown", 401, "Bad credentials"},
	} {
		res, out := gqlRaw(t, s, tc.token, `{ rateLimit { cost } }`, nil)
		var body struct{ Message string }
		_ = json.Unmarshal([]byte(out.raw), &body)
		if res.StatusCode != tc.status || body.Message != tc.message {
			t.Errorf("%s: %d %s", tc.name, res.StatusCode, out.raw)
		}
	}

	// A repository outside the installation (or absent): null + NOT_FOUND.
	for _, name := range []string{"not-installed", "missing"} {
		_, out := gqlRaw(t, s, tok, `query($o: String!, $n: String!) { rateLimit { cost } repository(owner: $o, name: $n) { nameWithOwner } }`,
			map[string]any{"o": "Codertocat", "n": name})
		if len(out.Errors) != 1 || out.Errors[0].Type != "NOT_FOUND" || fmt.Sprint(out.Errors[0].Path) != "[repository]" ||
			out.Errors[0].Message != "Could not resolve to a Repository with the name 'Codertocat/"+name+"'." ||
			out.Data["repository"] != nil || out.Data["rateLimit"] == nil {
			t.Errorf("%s: %s", name, out.raw)
		}
	}
	var q backfillQuery
	err := v4Client(t, s, 7).Query(ctx, &q, backfillVars("octo-org", "service", 10, 10, 1, 1, nil))
	if err == nil || err.Error() != "Could not resolve to a Repository with the name 'octo-org/service'." {
		t.Errorf("client: %v", err)
	}

	// Installation 8 may read pull requests and statuses, not checks.
	_, out := gqlRaw(t, s, installationToken(t, s, 8), `{ repository(owner: "octo-org", name: "service") { nameWithOwner pullRequests(first: 1) { totalCount } } }`, nil)
	if len(out.Errors) > 0 {
		t.Errorf("installation 8: %s", out.raw)
	}
	limited := installationToken(t, s, 7)
	s.mu.Lock()
	s.w.tokens[limited].perms = map[string]string{"metadata": "read", "pull_requests": "read", "statuses": "read"}
	s.mu.Unlock()
	_, out = gqlRaw(t, s, limited, `{ repository(owner: "Codertocat", name: "gql") { pullRequests(first: 1) { nodes { commits(last: 1) { nodes { commit {
	  status { state } checkSuites(first: 1) { totalCount } } } } } } } }`, nil)
	if len(out.Errors) != 1 || out.Errors[0].Type != "FORBIDDEN" || out.Errors[0].Message != "Resource not accessible by integration" ||
		fmt.Sprint(out.Errors[0].Path) != "[repository pullRequests nodes 0 commits nodes 0 commit checkSuites]" ||
		!strings.Contains(out.raw, `"status":{"state":"PENDING"},"checkSuites":null`) {
		t.Errorf("without checks:read: %s", out.raw)
	}
	s.mu.Lock()
	s.w.tokens[limited].perms = map[string]string{"metadata": "read"}
	s.mu.Unlock()
	_, out = gqlRaw(t, s, limited, `{ repository(owner: "Codertocat", name: "gql") { nameWithOwner pullRequests(first: 1) { totalCount } } }`, nil)
	if len(out.Errors) != 1 || out.Errors[0].Type != "FORBIDDEN" || out.Data["repository"] != nil {
		t.Errorf("without pull_requests:read: %s", out.raw)
	}

	before := s.Stats().GraphQLPoints
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		typ, msg    string
		path        string
	}{
		{"first over 100", `query($n: Int!) { repository(owner: "Codertocat", name: "gql") { pullRequests(first: $n) { nodes { number } } } }`,
			map[string]any{"n": 101}, "EXCESSIVE_PAGINATION", "Requesting 101 records on the `pullRequests` connection exceeds the `first` limit of 100 records.", "[repository pullRequests]"},
		{"files over 100", `{ repository(owner: "Codertocat", name: "gql") { pullRequests(first: 1) { nodes { files(first: 250) { totalCount } } } } }`,
			nil, "EXCESSIVE_PAGINATION", "Requesting 250 records on the `files` connection exceeds the `first` limit of 100 records.", "[repository pullRequests nodes files]"},
		{"last over 100", `{ repository(owner: "Codertocat", name: "gql") { pullRequests(last: 101) { totalCount } } }`,
			nil, "EXCESSIVE_PAGINATION", "Requesting 101 records on the `pullRequests` connection exceeds the `last` limit of 100 records.", "[repository pullRequests]"},
		{"negative", `{ repository(owner: "Codertocat", name: "gql") { pullRequests(first: -1) { totalCount } } }`,
			nil, "INVALID_PAGINATION", "`first` on the `pullRequests` connection cannot be less than zero.", "[repository pullRequests]"},
		{"no first or last", `{ repository(owner: "Codertocat", name: "gql") { prs: pullRequests { nodes { number } } } }`,
			nil, "MISSING_PAGINATION_BOUNDARIES", "You must provide a `first` or `last` value to properly paginate the `pullRequests` connection.", "[repository prs]"},
		{"node limit", `{ repository(owner: "Codertocat", name: "gql") { pullRequests(first: 100) { nodes { commits(first: 100) { nodes { commit {
		    checkSuites(first: 100) { nodes { checkRuns(first: 1) { totalCount } } } } } } } } } }`,
			nil, "MAX_NODE_LIMIT_EXCEEDED", "This query requests up to 2,010,100 possible nodes which exceeds the maximum limit of 500,000.", "[]"},
		{"unknown field", `{ repository(owner: "Codertocat", name: "gql") { title } }`,
			nil, "", `Cannot query field "title" on type "Repository".`, "[]"},
		{"missing variable", `query($n: String!) { repository(owner: "Codertocat", name: $n) { id } }`,
			nil, "", "must be defined", "[variable n]"},
		{"syntax", `{ repository(`, nil, "", "Expected Name, found <EOF>", "[]"},
	} {
		res, out := gqlRaw(t, s, tok, tc.query, tc.vars)
		if res.StatusCode != http.StatusOK || len(out.Errors) != 1 || out.Data != nil || out.Errors[0].Type != tc.typ ||
			!strings.Contains(out.Errors[0].Message, tc.msg) || fmt.Sprint(out.Errors[0].Path) != tc.path {
			t.Errorf("%s: %d %s", tc.name, res.StatusCode, out.raw)
		}
	}
	// totalCount alone needs no first/last, as on GitHub.
	if _, out := gqlRaw(t, s, tok, `{ repository(owner: "Codertocat", name: "gql") { pullRequests(states: OPEN) { totalCount } } }`, nil); out.raw != `{"data":{"repository":{"pullRequests":{"totalCount":2}}}}` {
		t.Errorf("totalCount only: %s", out.raw)
	}
	if got := s.Stats().GraphQLPoints; got != before+1 {
		t.Errorf("rejected queries were charged: %d points after %d", got, before)
	}

	// A bad cursor.
	_, out = gqlRaw(t, s, tok, `{ repository(owner: "Codertocat", name: "gql") { pullRequests(first: 1, after: "bm9wZQ==") { totalCount } } }`, nil)
	if len(out.Errors) != 1 || out.Errors[0].Type != "INVALID_CURSOR_ARGUMENTS" || out.Errors[0].Message != "`bm9wZQ==` does not appear to be a valid cursor." {
		t.Errorf("bad cursor: %s", out.raw)
	}

	// A dry run reports the cost without running or charging the query.
	before = s.Stats().GraphQLPointsUsed["7"]
	_, out = gqlRaw(t, s, tok, `{ rateLimit(dryRun: true) { cost remaining nodeCount } repository(owner: "Codertocat", name: "gql") { pullRequests(first: 100) { nodes { files(first: 100) { totalCount } } } } }`, nil)
	if fmt.Sprint(out.Data) != fmt.Sprintf("map[rateLimit:map[cost:1 nodeCount:10100 remaining:%d] repository:<nil>]", 5000-before) || len(out.Errors) > 0 {
		t.Errorf("dry run: %s", out.raw)
	}
	if s.Stats().GraphQLPointsUsed["7"] != before {
		t.Error("a dry run was charged")
	}

	// An expired token.
	clk.Advance(2 * time.Hour)
	if res, _ := gqlRaw(t, s, tok, `{ rateLimit { cost } }`, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired token: %d", res.StatusCode)
	}
}

// TestGraphQLPagination walks many PRs and a PR's 3,000 files with the
// cursors, forwards and backwards, while the state changes between pages.
func TestGraphQLPagination(t *testing.T) {
	var sc strings.Builder
	sc.WriteString(`
app: {id: 42, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 7, account: big, account_type: Organization, repos: [big/mono]}
repos:
  - name: big/mono
    branches: {main: {}}
    pulls:
`)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 120; i++ {
		fmt.Fprintf(&sc, "      - {number: %d, title: pr %d, user: u%d, base: main, created_at: %s, generated_files: %d}\n",
			i, i, i, base.Add(time.Duration(121-i)*time.Minute).Format(time.RFC3339), map[bool]int{true: 3100, false: 1}[i == 1])
	}
	s := startServer(t, sc.String())
	ctx := context.Background()
	v4 := v4Client(t, s, 7)

	var numbers []int
	var cursor *string
	for page := 0; ; page++ {
		var q backfillQuery
		if err := v4.Query(ctx, &q, backfillVars("big", "mono", 50, 1, 1, 1, cursor)); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 120, false: 119}[page == 0]; q.Repository.PullRequests.TotalCount != want {
			t.Errorf("page %d: totalCount %d", page, q.Repository.PullRequests.TotalCount)
		}
		for _, p := range q.Repository.PullRequests.Nodes {
			numbers = append(numbers, p.Number)
		}
		// Close the first PR of the next page: the cursor still continues
		// right after the last PR seen.
		if page == 0 {
			if err := s.Event(ctx, Event{Type: "pull_request.closed", Repo: "big/mono", Number: numbers[len(numbers)-1] - 1}); err != nil {
				t.Fatal(err)
			}
		}
		if !q.Repository.PullRequests.PageInfo.HasNextPage {
			break
		}
		c := string(q.Repository.PullRequests.PageInfo.EndCursor)
		cursor = &c
	}
	// Ordered by creation, oldest first: 120 down to 1, less #70 (closed
	// while the first page was read).
	var want []int
	for i := 120; i >= 1; i-- {
		if i != 70 {
			want = append(want, i)
		}
	}
	if diff := cmp.Diff(want, numbers); diff != "" {
		t.Errorf("PRs (-want +got):\n%s", diff)
	}

	// Backwards from the end with last/before; default order is by number.
	var back []int
	var before *string
	for {
		var q struct {
			Repository struct {
				PullRequests struct {
					PageInfo struct {
						HasPreviousPage bool
						StartCursor     githubv4.String
					}
					Nodes []struct{ Number int }
				} `graphql:"pullRequests(last: 40, before: $before, states: [OPEN, CLOSED])"`
			} `graphql:"repository(owner: \"big\", name: \"mono\")"`
		}
		vars := map[string]any{"before": (*githubv4.String)(nil)}
		if before != nil {
			vars["before"] = githubv4.NewString(githubv4.String(*before))
		}
		if err := v4.Query(ctx, &q, vars); err != nil {
			t.Fatal(err)
		}
		var chunk []int
		for _, p := range q.Repository.PullRequests.Nodes {
			chunk = append(chunk, p.Number)
		}
		back = append(chunk, back...)
		if !q.Repository.PullRequests.PageInfo.HasPreviousPage {
			break
		}
		c := string(q.Repository.PullRequests.PageInfo.StartCursor)
		before = &c
	}
	if len(back) != 120 || back[0] != 1 || back[119] != 120 || !sort.IntsAreSorted(back) {
		t.Errorf("backwards: %v", back)
	}

	// A PR's files, 100 at a time, stop at 3,000 like the REST API's.
	var files []string
	var fcursor *string
	for {
		var q struct {
			Repository struct {
				PullRequests struct {
					Nodes []struct {
						ChangedFiles int
						Files        struct {
							TotalCount int
							PageInfo   struct {
								HasNextPage bool
								EndCursor   githubv4.String
							}
							Nodes []struct{ Path string }
						} `graphql:"files(first: 100, after: $after)"`
					}
				} `graphql:"pullRequests(first: 1, orderBy: {field: CREATED_AT, direction: DESC}, states: [OPEN])"`
			} `graphql:"repository(owner: \"big\", name: \"mono\")"`
		}
		vars := map[string]any{"after": (*githubv4.String)(nil)}
		if fcursor != nil {
			vars["after"] = githubv4.NewString(githubv4.String(*fcursor))
		}
		if err := v4.Query(ctx, &q, vars); err != nil {
			t.Fatal(err)
		}
		pr := q.Repository.PullRequests.Nodes[0]
		if pr.ChangedFiles != 3100 || pr.Files.TotalCount != 3000 {
			t.Fatalf("changedFiles %d, files.totalCount %d", pr.ChangedFiles, pr.Files.TotalCount)
		}
		for _, f := range pr.Files.Nodes {
			files = append(files, f.Path)
		}
		if !pr.Files.PageInfo.HasNextPage {
			break
		}
		c := string(pr.Files.PageInfo.EndCursor)
		fcursor = &c
	}
	if len(files) != 3000 || files[0] != "generated/file-00001.txt" || files[2999] != "generated/file-03000.txt" {
		t.Errorf("%d files, %s … %s", len(files), files[0], files[len(files)-1])
	}
}

// TestGraphQLStatsLatencyFaults: requests are counted under "POST /graphql",
// the configured latency applies and queued faults answer instead.
func TestGraphQLStatsLatencyFaults(t *testing.T) {
	s := startServer(t, withGQLRepo(graphqlScenario), func(o *Options) { o.Latency = 150 * time.Millisecond })
	tok := installationToken(t, s, 7)
	start := time.Now()
	if _, out := gqlRaw(t, s, tok, `{ rateLimit { cost } }`, nil); len(out.Errors) > 0 {
		t.Fatal(out.raw)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("answered in %v despite the latency", d)
	}
	s.Fault(Fault{Route: graphqlRouteKey, Status: http.StatusBadGateway})
	var q struct{ RateLimit struct{ Cost int } }
	err := v4Client(t, s, 7).Query(context.Background(), &q, nil)
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("fault: %v", err)
	}
	st := s.Stats()
	if st.ByRoute[graphqlRouteKey] != 2 || st.ByStatus["502"] != 1 {
		t.Errorf("stats %+v", st)
	}
	// GET /graphql is not an operation.
	if res := do(t, s, "GET", "/graphql", tok, ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /graphql: %d", res.StatusCode)
	}
	// The app's JWT is not accepted.
	app, err := clientCreator(t, s).NewAppV4Client()
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Query(context.Background(), &q, nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("JWT: %v", err)
	}
}

// TestGraphQLConcurrentWithWrites reads while events change the state (run
// with -race).
func TestGraphQLConcurrentWithWrites(t *testing.T) {
	s := startServer(t, withGQLRepo(graphqlScenario))
	ctx := context.Background()
	v4 := v4Client(t, s, 7)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				var q backfillQuery
				if err := v4.Query(ctx, &q, backfillVars("Codertocat", "gql", 10, 10, 5, 10, nil)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		if err := s.Event(ctx, Event{Type: "status", Repo: "Codertocat/gql", SHA: prHead(t, s, "Codertocat/gql", 1),
			Context: fmt.Sprintf("ctx-%d", i%3), State: "success"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Event(ctx, Event{Type: "check_run.created", Repo: "Codertocat/gql", SHA: prHead(t, s, "Codertocat/gql", 2), Name: fmt.Sprintf("run-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestGraphQLReviewDecision(t *testing.T) {
	sc := strings.Replace(withGQLRepo(graphqlScenario), "        title: Draft\n", "        title: Draft\n        review_decision: APPROVED\n", 1)
	s := startServer(t, sc)
	_, out := gqlRaw(t, s, installationToken(t, s, 7), `query { repository(owner: "Codertocat", name: "gql") {
	  pullRequests(first: 2) { nodes { number reviewDecision } } } }`, nil)
	got, _ := json.Marshal(out.Data)
	want := `{"repository":{"pullRequests":{"nodes":[{"number":1,"reviewDecision":null},{"number":2,"reviewDecision":"APPROVED"}]}}}`
	if string(got) != want {
		t.Errorf("got %s, want %s (%s)", got, want, out.raw)
	}
	_, err := ParseScenario([]byte(strings.Replace(sc, "review_decision: APPROVED", "review_decision: LGTM", 1)))
	if err == nil || !strings.Contains(err.Error(), `.review_decision: "LGTM" is not one of APPROVED`) {
		t.Errorf("error %v", err)
	}
}

// TestGraphQLPullRequestByNumber: repository.pullRequest(number:) answers
// one PR, its files page on from a cursor, several PRs go in one query
// under aliases at GitHub's cost (a connection per alias: two are one
// point), and a number with no PR is null with NOT_FOUND.
func TestGraphQLPullRequestByNumber(t *testing.T) {
	s := startServer(t, withGQLRepo(graphqlScenario))
	tok := installationToken(t, s, 7)
	const query = `query($after: String) { rateLimit { cost }
  repository(owner: "Codertocat", name: "gql") {
    a: pullRequest(number: 1) { number files(first: 1, after: $after) { pageInfo { hasNextPage endCursor } nodes { path } } }
    b: pullRequest(number: 2) { number files(first: 100) { nodes { path changeType } } }
  } }`
	type page struct {
		Number int
		Files  struct {
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
			Nodes []struct{ Path, ChangeType string }
		}
	}
	read := func(after any) (cost int, a, b page) {
		t.Helper()
		_, out := gqlRaw(t, s, tok, query, map[string]any{"after": after})
		if len(out.Errors) > 0 {
			t.Fatalf("errors: %s", out.raw)
		}
		var data struct {
			RateLimit  struct{ Cost int }
			Repository struct{ A, B page }
		}
		raw, _ := json.Marshal(out.Data)
		if err := json.Unmarshal(raw, &data); err != nil {
			t.Fatal(err)
		}
		return data.RateLimit.Cost, data.Repository.A, data.Repository.B
	}
	cost, a, b := read(nil)
	if cost != 1 || a.Number != 1 || len(a.Files.Nodes) != 1 || a.Files.Nodes[0].Path != "go.mod" || !a.Files.PageInfo.HasNextPage {
		t.Fatalf("first page: cost %d, %+v", cost, a)
	}
	if b.Number != 2 || fmt.Sprint(b.Files.Nodes) != "[{docs/x.md ADDED} {old.txt DELETED}]" {
		t.Errorf("second alias: %+v", b)
	}
	_, a, _ = read(a.Files.PageInfo.EndCursor)
	if len(a.Files.Nodes) != 1 || a.Files.Nodes[0].Path != "go.sum" || a.Files.PageInfo.HasNextPage {
		t.Errorf("next page: %+v", a)
	}

	_, out := gqlRaw(t, s, tok, `{ repository(owner: "Codertocat", name: "gql") { nameWithOwner pullRequest(number: 999) { number } } }`, nil)
	repo, _ := out.Data["repository"].(map[string]any)
	if len(out.Errors) != 1 || out.Errors[0].Type != "NOT_FOUND" || fmt.Sprint(out.Errors[0].Path) != "[repository pullRequest]" ||
		out.Errors[0].Message != "Could not resolve to a PullRequest with the number of 999." || repo == nil || repo["pullRequest"] != nil {
		t.Errorf("missing PR: %s", out.raw)
	}
}
