package fakegithub

// GitHub's GraphQL API at POST /graphql (the v4_api_url Credentials
// writes), for the reads of `fix-status backfill`: the subset of GitHub's
// schema in graphql_schema.graphql, executed by graph-gophers/graphql-go
// over the same state the REST API serves.
//
//   - Auth: an installation token as for REST (Authorization: bearer|token);
//     none → 401 "This endpoint requires you to be authenticated.", unknown
//     or expired → 401 "Bad credentials", the app's JWT → 403. A repository
//     outside the installation resolves to null with a NOT_FOUND error
//     ("Could not resolve to a Repository with the name 'o/r'."); a field
//     the token lacks the permission for (pullRequests: pull_requests:read,
//     Commit.status: statuses:read, Commit.checkSuites: checks:read) is null
//     with a FORBIDDEN error.
//   - Validation before anything runs: the query against the schema, then
//     every connection's first/last (GitHub's MISSING_PAGINATION_BOUNDARIES,
//     INVALID_PAGINATION, EXCESSIVE_PAGINATION and MAX_NODE_LIMIT_EXCEEDED
//     errors); nothing is charged for a rejected query.
//   - Cost: GitHub's documented rule (graphql_cost.go), charged to the
//     installation's GraphQL budget of 5,000 points per hour, separate from
//     the REST budget; rateLimit { cost limit nodeCount remaining resetAt
//     used } reports it and x-ratelimit-* headers carry resource "graphql".
//     An exhausted budget answers 200 with GitHub's RATE_LIMITED error.
//     rateLimit(dryRun: true) costs the query without running or charging it.
//   - Pagination: opaque cursors; a cursor names a position by the sort key
//     of its item, so pages stay consistent while the state changes.
//   - Stats: requests under by_route "POST /graphql", the points charged in
//     graphql_points and per installation in graphql_points_used.
//   - Like REST: the configured latency, and faults queued for the route
//     "POST /graphql" or for every route (Server.Fault).

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
	gqlerrors "github.com/graph-gophers/graphql-go/errors"
)

//go:embed graphql_schema.graphql
var graphqlSDL string

const (
	graphqlRouteKey = "POST /graphql"
	graphqlDocs     = "https://docs.github.com/graphql"
	// graphqlPointLimit is an installation's GraphQL budget per hour.
	graphqlPointLimit = 5000
)

var graphqlRoute = &route{method: http.MethodPost, tmpl: "/graphql", key: graphqlRouteKey, docs: graphqlDocs, charged: true}

// graphqlState is the emulator's GraphQL budgets, one per installation. It
// is guarded by Server.statsMu, like the REST budgets.
type graphqlState struct {
	budgets map[int64]*budget
}

// graphqlSchema is the executable schema; the request travels in the
// context (gqlReq).
var graphqlSchema = sync.OnceValues(func() (*graphql.Schema, error) {
	return graphql.ParseSchema(graphqlSDL, &gqlRoot{}, graphql.UseStringDescriptions(), graphql.MaxParallelism(4))
})

type gqlRequestBody struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

type gqlResponseJSON struct {
	Data   json.RawMessage `json:"data,omitempty"`
	Errors []gqlErrorJSON  `json:"errors,omitempty"`
}

// serveGraphQL is POST /graphql.
func (s *Server) serveGraphQL(hw http.ResponseWriter, r *http.Request) {
	c := &reqCtx{s: s, r: r, query: r.URL.Query(), base: s.baseURL(r), now: s.now(), header: http.Header{}, route: graphqlRoute}
	s.count(graphqlRouteKey, 0)
	fail := func(out resp) {
		s.sleep(r.Context())
		s.write(hw, c, out, nil)
	}
	id, bad := s.authenticate(c)
	if bad != nil {
		fail(*bad)
		return
	}
	c.id = id
	switch id.kind {
	case idAnonymous:
		fail(c.errResp(http.StatusUnauthorized, "This endpoint requires you to be authenticated."))
		return
	case idApp, idUser:
		fail(c.errResp(http.StatusForbidden, "Resource not accessible by integration"))
		return
	}
	inst := id.tok.inst
	b := s.graphqlBudget(inst.id)
	// Every answer from here on shows the installation's GraphQL budget.
	s.rateHeaders(c.header, b, c.now, "graphql")
	if s.opts.Scenario.SecondaryLimits {
		if bad := s.enterSecondary(c); bad != nil {
			fail(*bad)
			return
		}
		defer s.leaveSecondary(c)
	}
	s.sleep(r.Context())
	if f := s.takeFault(graphqlRouteKey); f != nil {
		s.awaitFault(r.Context(), f)
		c.now = s.now()
		if f.Status != 0 {
			s.write(hw, c, s.faultResp(c, f), nil)
			return
		}
	}
	if bad := c.readBody(hw); bad != nil {
		s.write(hw, c, *bad, nil)
		return
	}
	var req gqlRequestBody
	if err := json.Unmarshal(c.body, &req); err != nil {
		s.write(hw, c, c.errResp(http.StatusBadRequest, "Problems parsing JSON"), nil)
		return
	}
	if req.Query == "" {
		s.writeGraphQL(hw, c, b, gqlResponseJSON{Errors: []gqlErrorJSON{{Message: "A query attribute must be specified and must be a string."}}})
		return
	}
	pschema, err := graphqlParserSchema()
	if err != nil {
		s.write(hw, c, c.errResp(http.StatusInternalServerError, "Server Error"), b)
		return
	}
	plan := analyzeGraphQL(pschema, req.Query, req.OperationName, req.Variables)
	if len(plan.Errors) > 0 {
		s.writeGraphQL(hw, c, b, gqlResponseJSON{Errors: plan.Errors})
		return
	}
	rate, ok := s.chargeGraphQL(b, plan, c.now)
	if !ok {
		s.writeGraphQL(hw, c, b, gqlResponseJSON{Errors: []gqlErrorJSON{{Type: "RATE_LIMITED",
			Message: "API rate limit exceeded for installation ID " + strconv.FormatInt(inst.id, 10) + "."}}})
		return
	}
	schema, err := graphqlSchema()
	if err != nil {
		s.write(hw, c, c.errResp(http.StatusInternalServerError, "Server Error"), b)
		return
	}
	q := &gqlReq{s: s, tok: id.tok, base: c.base, now: c.now, rate: rate, dryRun: plan.DryRun}
	ctx := context.WithValue(r.Context(), gqlReqKey{}, q)
	s.mu.RLock()
	q.w = s.w
	res := schema.Exec(ctx, req.Query, req.OperationName, req.Variables)
	s.mu.RUnlock()
	out := gqlResponseJSON{Data: res.Data}
	for _, e := range res.Errors {
		out.Errors = append(out.Errors, toGitHubError(e))
	}
	s.writeGraphQL(hw, c, b, out)
}

// toGitHubError puts an execution error in GitHub's shape: its type
// (NOT_FOUND, FORBIDDEN, …) beside the message, not in extensions.
func toGitHubError(e *gqlerrors.QueryError) gqlErrorJSON {
	out := gqlErrorJSON{Path: e.Path, Message: e.Message, Extensions: e.Extensions}
	for _, l := range e.Locations {
		out.Locations = append(out.Locations, gqlLocation{Line: l.Line, Column: l.Column})
	}
	var ge *gqlError
	if errors.As(e.ResolverError, &ge) {
		out.Type = ge.typ
		out.Message = ge.msg
	}
	return out
}

func (s *Server) writeGraphQL(hw http.ResponseWriter, c *reqCtx, b *budget, out gqlResponseJSON) {
	body, err := json.Marshal(out)
	if err != nil {
		body = []byte(`{"errors":[{"message":"Something went wrong while executing your query."}]}`)
	}
	s.rateHeaders(c.header, b, c.now, "graphql")
	s.writeRaw(hw, c, http.StatusOK, body, "application/json; charset=utf-8", nil)
}

// graphqlBudget is an installation's GraphQL budget.
func (s *Server) graphqlBudget(inst int64) *budget {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.gql.budgets == nil {
		s.gql.budgets = map[int64]*budget{}
	}
	b := s.gql.budgets[inst]
	if b == nil {
		b = &budget{limit: graphqlPointLimit, inst: inst}
		s.gql.budgets[inst] = b
	}
	return b
}

// gqlRate is what rateLimit reports for a request.
type gqlRate struct {
	cost, limit, nodes, remaining, used int
	reset                               time.Time
}

// chargeGraphQL charges a query's cost unless the budget is spent (GitHub
// lets the last query take it past the limit; remaining shows 0 then). A
// dry run is not charged.
func (s *Server) chargeGraphQL(b *budget, plan *gqlPlan, now time.Time) (gqlRate, bool) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	b.roll(now)
	if b.used >= b.limit {
		return gqlRate{}, false
	}
	if !plan.DryRun {
		b.used += plan.Cost
		s.stats.graphqlPoints += int64(plan.Cost)
		s.stats.graphqlUsed[b.inst] += int64(plan.Cost)
	}
	return gqlRate{cost: plan.Cost, limit: b.limit, nodes: int(plan.Nodes), remaining: max(b.limit-b.used, 0),
		used: b.used, reset: b.reset}, true
}

// gqlError is an execution error with GitHub's type.
type gqlError struct {
	typ, msg string
}

func (e *gqlError) Error() string { return e.msg }

func errNotFound(msg string) error { return &gqlError{typ: "NOT_FOUND", msg: msg} }

func errForbidden() error {
	return &gqlError{typ: "FORBIDDEN", msg: "Resource not accessible by integration"}
}
