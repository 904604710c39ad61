package fakegithub

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
)

// The resolvers of graphql_schema.graphql. They read the world under the
// read lock serveGraphQL holds for the whole execution (graph-gophers runs
// resolvers on several goroutines; none of them locks or writes), and give
// the same answers as the REST handlers over the same state.

type gqlReqKey struct{}

// gqlReq is one GraphQL request on its way through the resolvers.
type gqlReq struct {
	s      *Server
	w      *world
	tok    *token
	base   string
	now    time.Time
	rate   gqlRate
	dryRun bool
}

func reqFrom(ctx context.Context) *gqlReq {
	q, _ := ctx.Value(gqlReqKey{}).(*gqlReq)
	return q
}

// Scalars.

// gqlDateTime is GitHub's DateTime: ISO-8601, UTC.
type gqlDateTime struct{ time.Time }

func (gqlDateTime) ImplementsGraphQLType(name string) bool { return name == "DateTime" }

func (t *gqlDateTime) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("wrong type for DateTime: %T", input)
	}
	v, err := time.Parse(time.RFC3339, s)
	t.Time = v
	return err
}

func (t gqlDateTime) MarshalJSON() ([]byte, error) { return json.Marshal(ts(t.Time)) }

func dateTime(t time.Time) gqlDateTime { return gqlDateTime{t} }

// gqlGitObjectID is GitHub's GitObjectID (a hex SHA).
type gqlGitObjectID string

func (gqlGitObjectID) ImplementsGraphQLType(name string) bool { return name == "GitObjectID" }

func (o *gqlGitObjectID) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("wrong type for GitObjectID: %T", input)
	}
	*o = gqlGitObjectID(s)
	return nil
}

func (o gqlGitObjectID) MarshalJSON() ([]byte, error) { return json.Marshal(string(o)) }

// gqlURI is GitHub's URI.
type gqlURI string

func (gqlURI) ImplementsGraphQLType(name string) bool { return name == "URI" }

func (u *gqlURI) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("wrong type for URI: %T", input)
	}
	*u = gqlURI(s)
	return nil
}

func (u gqlURI) MarshalJSON() ([]byte, error) { return json.Marshal(string(u)) }

func int32p(v int64) *int32 {
	n := int32(v)
	return &n
}

// opaqueID is a node id for objects that have no numeric id here.
func opaqueID(kind string, parts ...string) graphql.ID {
	return graphql.ID(base64.RawStdEncoding.EncodeToString([]byte("0" + kind + strings.Join(parts, ":"))))
}

// Query.

type gqlRoot struct{}

func (gqlRoot) RateLimit(ctx context.Context, _ struct{ DryRun bool }) *gqlRateLimit {
	return &gqlRateLimit{reqFrom(ctx).rate}
}

func (gqlRoot) Repository(ctx context.Context, args struct {
	Owner, Name   string
	FollowRenames bool
}) (*gqlRepository, error) {
	q := reqFrom(ctx)
	if q.dryRun {
		return nil, nil
	}
	full := args.Owner + "/" + args.Name
	r := q.w.repo(full)
	if r == nil || !q.tok.reaches(r) {
		return nil, errNotFound("Could not resolve to a Repository with the name '" + full + "'.")
	}
	return &gqlRepository{q: q, r: r}, nil
}

type gqlRateLimit struct{ r gqlRate }

func (x *gqlRateLimit) Cost() int32          { return int32(x.r.cost) }
func (x *gqlRateLimit) Limit() int32         { return int32(x.r.limit) }
func (x *gqlRateLimit) NodeCount() int32     { return int32(x.r.nodes) }
func (x *gqlRateLimit) Remaining() int32     { return int32(x.r.remaining) }
func (x *gqlRateLimit) ResetAt() gqlDateTime { return dateTime(x.r.reset) }
func (x *gqlRateLimit) Used() int32          { return int32(x.r.used) }

// Pagination.

// gqlPageArgs are a connection's pagination arguments. first and last were
// checked before execution (graphql_cost.go).
type gqlPageArgs struct {
	First, Last   *int32
	After, Before *string
}

type gqlPageInfo struct {
	start, end        *string
	hasNext, hasPrevs bool
}

func (p *gqlPageInfo) StartCursor() *string  { return p.start }
func (p *gqlPageInfo) EndCursor() *string    { return p.end }
func (p *gqlPageInfo) HasNextPage() bool     { return p.hasNext }
func (p *gqlPageInfo) HasPreviousPage() bool { return p.hasPrevs }

// sortKey orders a connection's items; the list is ascending by key, and a
// cursor is the key of its item, so that after/before find their place
// again when items come and go between pages.
type sortKey []int64

func (a sortKey) less(b sortKey) bool {
	for i := range a {
		if i >= len(b) {
			return false
		}
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

const cursorPrefix = "cursor:v2:"

func encodeCursor(k sortKey) string {
	parts := make([]string, len(k))
	for i, v := range k {
		parts[i] = strconv.FormatInt(v, 10)
	}
	return base64.StdEncoding.EncodeToString([]byte(cursorPrefix + strings.Join(parts, ",")))
}

func decodeCursor(c string, width int) (sortKey, error) {
	bad := &gqlError{typ: "INVALID_CURSOR_ARGUMENTS", msg: "`" + c + "` does not appear to be a valid cursor."}
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(raw), cursorPrefix) {
		return nil, bad
	}
	parts := strings.Split(strings.TrimPrefix(string(raw), cursorPrefix), ",")
	if len(parts) != width {
		return nil, bad
	}
	k := make(sortKey, len(parts))
	for i, p := range parts {
		if k[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return nil, bad
		}
	}
	return k, nil
}

// paginate picks the page [start, end) of a list ascending by keys, as the
// Relay connection spec says.
func paginate(keys []sortKey, width int, a gqlPageArgs) (int, int, *gqlPageInfo, error) {
	n := len(keys)
	lo, hi := 0, n
	if a.After != nil {
		ck, err := decodeCursor(*a.After, width)
		if err != nil {
			return 0, 0, nil, err
		}
		lo = sort.Search(n, func(i int) bool { return ck.less(keys[i]) })
	}
	if a.Before != nil {
		ck, err := decodeCursor(*a.Before, width)
		if err != nil {
			return 0, 0, nil, err
		}
		hi = sort.Search(n, func(i int) bool { return !keys[i].less(ck) })
	}
	hi = max(hi, lo)
	start, end := lo, hi
	if a.First != nil {
		end = min(end, start+int(*a.First))
	}
	if a.Last != nil {
		start = max(start, end-int(*a.Last))
	}
	info := &gqlPageInfo{}
	if a.First != nil {
		info.hasNext = end < hi
	} else {
		info.hasNext = a.Before != nil && hi < n
	}
	if a.Last != nil {
		info.hasPrevs = start > lo
	} else {
		info.hasPrevs = a.After != nil && lo > 0
	}
	if end > start {
		s, e := encodeCursor(keys[start]), encodeCursor(keys[end-1])
		info.start, info.end = &s, &e
	}
	return start, end, info, nil
}

// Repository.

type gqlRepository struct {
	q *gqlReq
	r *repo
}

func (x *gqlRepository) ID() graphql.ID        { return graphql.ID(nodeID("Repository", x.r.id)) }
func (x *gqlRepository) DatabaseID() *int32    { return int32p(x.r.id) }
func (x *gqlRepository) NameWithOwner() string { return x.r.full }

type gqlIssueOrder struct {
	Field, Direction string
}

type gqlPullRequestsArgs struct {
	First, Last              *int32
	After, Before            *string
	BaseRefName, HeadRefName *string
	Labels                   *[]string
	OrderBy                  *gqlIssueOrder
	States                   *[]string
}

// prState is a pull request's PullRequestState.
func prState(p *pull) string {
	switch {
	case p.state == "open":
		return "OPEN"
	case p.merged:
		return "MERGED"
	default:
		return "CLOSED"
	}
}

// PullRequest is one pull request by number; GitHub answers a number with
// no pull request with null and a NOT_FOUND error.
func (x *gqlRepository) PullRequest(args struct{ Number int32 }) (*gqlPullRequest, error) {
	if !x.q.tok.allows("pull_requests:read") {
		return nil, errForbidden()
	}
	p := x.r.pullByNum[int(args.Number)]
	if p == nil {
		return nil, errNotFound(fmt.Sprintf("Could not resolve to a PullRequest with the number of %d.", args.Number))
	}
	return &gqlPullRequest{q: x.q, r: x.r, p: p}, nil
}

// PullRequests lists the repository's pull requests: by number without
// orderBy (oldest first, as GitHub does), else by the order's field and
// then number.
func (x *gqlRepository) PullRequests(args gqlPullRequestsArgs) (*gqlPullRequestConnection, error) {
	if !x.q.tok.allows("pull_requests:read") {
		return nil, errForbidden()
	}
	states := map[string]bool{}
	if args.States != nil {
		for _, s := range *args.States {
			states[s] = true
		}
	}
	var list []*pull
	for _, p := range x.r.pulls {
		switch {
		case len(states) > 0 && !states[prState(p)]:
			continue
		case args.BaseRefName != nil && p.base != *args.BaseRefName:
			continue
		case args.HeadRefName != nil && p.head != *args.HeadRefName:
			continue
		case args.Labels != nil && len(*args.Labels) > 0:
			// The emulator's pull requests have no labels.
			continue
		}
		list = append(list, p)
	}
	key := func(p *pull) sortKey { return sortKey{int64(p.number)} }
	if o := args.OrderBy; o != nil {
		sign := int64(1)
		if o.Direction == "DESC" {
			sign = -1
		}
		key = func(p *pull) sortKey {
			var v int64
			switch o.Field {
			case "UPDATED_AT":
				v = p.updatedAt.UnixNano()
			case "COMMENTS":
				v = int64(len(p.comments))
			default:
				v = p.createdAt.UnixNano()
			}
			return sortKey{sign * v, sign * int64(p.number)}
		}
	}
	keys := make([]sortKey, len(list))
	for i, p := range list {
		keys[i] = key(p)
	}
	sort.Sort(byKey{keys, func(i, j int) { list[i], list[j] = list[j], list[i] }})
	width := 1
	if args.OrderBy != nil {
		width = 2
	}
	lo, hi, info, err := paginate(keys, width, gqlPageArgs{First: args.First, Last: args.Last, After: args.After, Before: args.Before})
	if err != nil {
		return nil, err
	}
	out := &gqlPullRequestConnection{total: len(list), info: info}
	for _, p := range list[lo:hi] {
		out.nodes = append(out.nodes, &gqlPullRequest{q: x.q, r: x.r, p: p})
	}
	return out, nil
}

// byKey sorts keys and, with swap, the list they belong to.
type byKey struct {
	keys []sortKey
	swap func(i, j int)
}

func (b byKey) Len() int           { return len(b.keys) }
func (b byKey) Less(i, j int) bool { return b.keys[i].less(b.keys[j]) }
func (b byKey) Swap(i, j int) {
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
	b.swap(i, j)
}

type gqlPullRequestConnection struct {
	total int
	info  *gqlPageInfo
	nodes []*gqlPullRequest
}

func (c *gqlPullRequestConnection) TotalCount() int32         { return int32(c.total) }
func (c *gqlPullRequestConnection) PageInfo() *gqlPageInfo    { return c.info }
func (c *gqlPullRequestConnection) Nodes() *[]*gqlPullRequest { return &c.nodes }

// PullRequest.

type gqlPullRequest struct {
	q *gqlReq
	r *repo
	p *pull
}

func (x *gqlPullRequest) ID() graphql.ID             { return graphql.ID(nodeID("PullRequest", x.p.id)) }
func (x *gqlPullRequest) Number() int32              { return int32(x.p.number) }
func (x *gqlPullRequest) State() string              { return prState(x.p) }
func (x *gqlPullRequest) IsDraft() bool              { return x.p.draft }
func (x *gqlPullRequest) HeadRefOid() gqlGitObjectID { return gqlGitObjectID(x.p.headSHA) }
func (x *gqlPullRequest) BaseRefName() string        { return x.p.base }
func (x *gqlPullRequest) BaseRefOid() gqlGitObjectID { return gqlGitObjectID(x.p.baseSHA) }
func (x *gqlPullRequest) ChangedFiles() int32        { return int32(len(x.p.files)) }
func (x *gqlPullRequest) CreatedAt() gqlDateTime     { return dateTime(x.p.createdAt) }
func (x *gqlPullRequest) UpdatedAt() gqlDateTime     { return dateTime(x.p.updatedAt) }
func (x *gqlPullRequest) Author() *gqlActor          { return actor(x.q, x.p.user) }

// ReviewDecision is the scenario's review_decision; the emulator has no
// reviews of its own, and GitHub answers null when none are required.
func (x *gqlPullRequest) ReviewDecision() *string {
	if x.p.review == "" {
		return nil
	}
	r := x.p.review
	return &r
}

// Mergeable follows the REST mergeable: true for an open PR, null (not yet
// computed) otherwise.
func (x *gqlPullRequest) Mergeable() string {
	if x.p.state == "open" {
		return "MERGEABLE"
	}
	return "UNKNOWN"
}

// Files lists the changed files in the PR's order, stopping at GitHub's
// 3,000 (totalCount counts the files listed; changedFiles counts all).
func (x *gqlPullRequest) Files(args gqlPageArgs) (*gqlFileConnection, error) {
	files := x.p.files
	if len(files) > maxPullFiles {
		files = files[:maxPullFiles]
	}
	keys := make([]sortKey, len(files))
	for i := range files {
		keys[i] = sortKey{int64(i)}
	}
	lo, hi, info, err := paginate(keys, 1, args)
	if err != nil {
		return nil, err
	}
	out := &gqlFileConnection{total: len(files), info: info}
	for _, f := range files[lo:hi] {
		out.nodes = append(out.nodes, &gqlChangedFile{f: f})
	}
	return out, nil
}

// Commits lists the PR's commits, oldest first: its head and, before it,
// the heads it had (each synchronize's commit has the previous head as
// parent).
func (x *gqlPullRequest) Commits(args gqlPageArgs) (*gqlCommitConnection, error) {
	var chain []*commit
	seen := map[string]bool{}
	for c := x.r.commits[x.p.headSHA]; c != nil && !seen[c.sha]; c = x.r.commits[c.parent] {
		if len(chain) > 0 && c.pr != x.p {
			break
		}
		seen[c.sha] = true
		chain = append(chain, c)
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	keys := make([]sortKey, len(chain))
	for i := range chain {
		keys[i] = sortKey{int64(i)}
	}
	lo, hi, info, err := paginate(keys, 1, args)
	if err != nil {
		return nil, err
	}
	out := &gqlCommitConnection{total: len(chain), info: info}
	for _, c := range chain[lo:hi] {
		out.nodes = append(out.nodes, &gqlPullRequestCommit{pr: x, c: &gqlCommit{q: x.q, r: x.r, c: c}})
	}
	return out, nil
}

// Actors.

// gqlActor is a User or a Bot. GitHub's GraphQL API names an app's bot by
// its slug: the REST login "fix-status[bot]" is the Bot "fix-status".
type gqlActor struct {
	login string // as REST shows it
	id    int64
}

func actor(q *gqlReq, login string) *gqlActor {
	if login == "" {
		return nil
	}
	return &gqlActor{login: login, id: q.w.userID(login)}
}

func (a *gqlActor) isBot() bool { return strings.HasSuffix(a.login, "[bot]") }

func (a *gqlActor) Login() string { return strings.TrimSuffix(a.login, "[bot]") }

func (a *gqlActor) ToUser() (*gqlUser, bool) {
	if a.isBot() {
		return nil, false
	}
	return &gqlUser{a}, true
}

func (a *gqlActor) ToBot() (*gqlBot, bool) {
	if !a.isBot() {
		return nil, false
	}
	return &gqlBot{a}, true
}

type gqlUser struct{ a *gqlActor }

func (u *gqlUser) ID() graphql.ID { return graphql.ID(nodeID("User", u.a.id)) }
func (u *gqlUser) Login() string  { return u.a.Login() }

type gqlBot struct{ a *gqlActor }

func (b *gqlBot) ID() graphql.ID { return graphql.ID(nodeID("User", b.a.id)) }
func (b *gqlBot) Login() string  { return b.a.Login() }

// Files.

type gqlFileConnection struct {
	total int
	info  *gqlPageInfo
	nodes []*gqlChangedFile
}

func (c *gqlFileConnection) TotalCount() int32         { return int32(c.total) }
func (c *gqlFileConnection) PageInfo() *gqlPageInfo    { return c.info }
func (c *gqlFileConnection) Nodes() *[]*gqlChangedFile { return &c.nodes }

type gqlChangedFile struct{ f File }

func (x *gqlChangedFile) Path() string { return x.f.Filename }

// ChangeType maps the REST file status to GitHub's PatchStatus.
func (x *gqlChangedFile) ChangeType() string {
	switch x.f.Status {
	case "added":
		return "ADDED"
	case "removed":
		return "DELETED"
	case "renamed":
		return "RENAMED"
	case "copied":
		return "COPIED"
	case "changed":
		return "CHANGED"
	default:
		return "MODIFIED"
	}
}

// Commits.

type gqlCommitConnection struct {
	total int
	info  *gqlPageInfo
	nodes []*gqlPullRequestCommit
}

func (c *gqlCommitConnection) TotalCount() int32               { return int32(c.total) }
func (c *gqlCommitConnection) PageInfo() *gqlPageInfo          { return c.info }
func (c *gqlCommitConnection) Nodes() *[]*gqlPullRequestCommit { return &c.nodes }

type gqlPullRequestCommit struct {
	pr *gqlPullRequest
	c  *gqlCommit
}

func (x *gqlPullRequestCommit) ID() graphql.ID {
	return opaqueID("PullRequestCommit", strconv.FormatInt(x.pr.p.id, 10), x.c.c.sha)
}
func (x *gqlPullRequestCommit) Commit() *gqlCommit { return x.c }

type gqlCommit struct {
	q *gqlReq
	r *repo
	c *commit
}

func (x *gqlCommit) ID() graphql.ID {
	return opaqueID("Commit", strconv.FormatInt(x.r.id, 10), x.c.sha)
}
func (x *gqlCommit) Oid() gqlGitObjectID { return gqlGitObjectID(x.c.sha) }

// Status is the combined status: the latest status per context
// (case-insensitive), as GET …/commits/{ref}/status gives it; null when the
// commit has none.
func (x *gqlCommit) Status() (*gqlStatus, error) {
	if !x.q.tok.allows("statuses:read") {
		return nil, errForbidden()
	}
	latest := latestStatuses(x.c)
	if len(latest) == 0 {
		return nil, nil
	}
	return &gqlStatus{q: x.q, c: x.c, latest: latest}, nil
}

type gqlSuiteFilter struct {
	AppID     *int32
	CheckName *string
}

type gqlCheckSuitesArgs struct {
	First, Last   *int32
	After, Before *string
	FilterBy      *gqlSuiteFilter
}

// CheckSuites lists the commit's check suites by id, as GET
// …/commits/{ref}/check-suites does.
func (x *gqlCommit) CheckSuites(args gqlCheckSuitesArgs) (*gqlCheckSuiteConnection, error) {
	if !x.q.tok.allows("checks:read") {
		return nil, errForbidden()
	}
	var list []*checkSuite
	for _, s := range x.r.suites {
		if s.headSHA != x.c.sha {
			continue
		}
		if f := args.FilterBy; f != nil {
			if f.AppID != nil && s.appID != int64(*f.AppID) {
				continue
			}
			if f.CheckName != nil && !s.hasRunNamed(x.c, *f.CheckName) {
				continue
			}
		}
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	keys := make([]sortKey, len(list))
	for i, s := range list {
		keys[i] = sortKey{s.id}
	}
	lo, hi, info, err := paginate(keys, 1, gqlPageArgs{First: args.First, Last: args.Last, After: args.After, Before: args.Before})
	if err != nil {
		return nil, err
	}
	out := &gqlCheckSuiteConnection{total: len(list), info: info}
	for _, s := range list[lo:hi] {
		out.nodes = append(out.nodes, &gqlCheckSuite{q: x.q, r: x.r, c: x.c, s: s})
	}
	return out, nil
}

// Statuses.

type gqlStatus struct {
	q      *gqlReq
	c      *commit
	latest []*status
}

func (x *gqlStatus) ID() graphql.ID { return opaqueID("Status", x.c.sha) }
func (x *gqlStatus) State() string  { return strings.ToUpper(combinedState(x.latest)) }

func (x *gqlStatus) Contexts() []*gqlStatusContext {
	out := make([]*gqlStatusContext, len(x.latest))
	for i, s := range x.latest {
		out[i] = &gqlStatusContext{q: x.q, s: s}
	}
	return out
}

type gqlStatusContext struct {
	q *gqlReq
	s *status
}

func (x *gqlStatusContext) ID() graphql.ID         { return graphql.ID(nodeID("StatusContext", x.s.id)) }
func (x *gqlStatusContext) Context() string        { return x.s.context }
func (x *gqlStatusContext) State() string          { return strings.ToUpper(x.s.state) }
func (x *gqlStatusContext) Description() *string   { return strp(x.s.description) }
func (x *gqlStatusContext) CreatedAt() gqlDateTime { return dateTime(x.s.createdAt) }
func (x *gqlStatusContext) Creator() *gqlActor     { return actor(x.q, x.s.creator) }

func (x *gqlStatusContext) TargetURL() *gqlURI {
	if x.s.targetURL == "" {
		return nil
	}
	u := gqlURI(x.s.targetURL)
	return &u
}

// Check suites and runs.

type gqlCheckSuiteConnection struct {
	total int
	info  *gqlPageInfo
	nodes []*gqlCheckSuite
}

func (c *gqlCheckSuiteConnection) TotalCount() int32        { return int32(c.total) }
func (c *gqlCheckSuiteConnection) PageInfo() *gqlPageInfo   { return c.info }
func (c *gqlCheckSuiteConnection) Nodes() *[]*gqlCheckSuite { return &c.nodes }

type gqlCheckSuite struct {
	q *gqlReq
	r *repo
	c *commit
	s *checkSuite
}

func (x *gqlCheckSuite) ID() graphql.ID     { return graphql.ID(nodeID("CheckSuite", x.s.id)) }
func (x *gqlCheckSuite) DatabaseID() *int32 { return int32p(x.s.id) }
func (x *gqlCheckSuite) App() *gqlApp       { return &gqlApp{a: x.q.w.appByID(x.s.appID)} }

type gqlRunFilter struct {
	AppID       *int32
	CheckName   *string
	CheckType   *string
	Conclusions *[]string
	Status      *string
	Statuses    *[]string
}

type gqlCheckRunsArgs struct {
	First, Last   *int32
	After, Before *string
	FilterBy      *gqlRunFilter
}

// CheckRuns lists the suite's check runs by id. Without filterBy every run
// is listed; checkType LATEST keeps the newest run of each name (what
// REST's filter=latest does).
func (x *gqlCheckSuite) CheckRuns(args gqlCheckRunsArgs) (*gqlCheckRunConnection, error) {
	f := args.FilterBy
	if f == nil {
		f = &gqlRunFilter{}
	}
	statuses := map[string]bool{}
	if f.Statuses != nil {
		for _, s := range *f.Statuses {
			statuses[s] = true
		}
	} else if f.Status != nil {
		statuses[*f.Status] = true
	}
	conclusions := map[string]bool{}
	if f.Conclusions != nil {
		for _, c := range *f.Conclusions {
			conclusions[c] = true
		}
	}
	latest := f.CheckType != nil && *f.CheckType == "LATEST"
	var list []*checkRun
	seen := map[string]bool{}
	for i := len(x.c.checkRuns) - 1; i >= 0; i-- {
		cr := x.c.checkRuns[i]
		switch {
		case cr.suite != x.s:
			continue
		case f.AppID != nil && cr.appID != int64(*f.AppID):
			continue
		case f.CheckName != nil && cr.name != *f.CheckName:
			continue
		case len(statuses) > 0 && !statuses[strings.ToUpper(cr.status)]:
			continue
		case len(conclusions) > 0 && !conclusions[strings.ToUpper(cr.conclusion)]:
			continue
		case latest && seen[cr.name]:
			continue
		}
		seen[cr.name] = true
		list = append(list, cr)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	keys := make([]sortKey, len(list))
	for i, cr := range list {
		keys[i] = sortKey{cr.id}
	}
	lo, hi, info, err := paginate(keys, 1, gqlPageArgs{First: args.First, Last: args.Last, After: args.After, Before: args.Before})
	if err != nil {
		return nil, err
	}
	out := &gqlCheckRunConnection{total: len(list), info: info}
	for _, cr := range list[lo:hi] {
		out.nodes = append(out.nodes, &gqlCheckRun{cr: cr})
	}
	return out, nil
}

type gqlApp struct{ a *appInfo }

func (x *gqlApp) ID() graphql.ID     { return graphql.ID(nodeID("Integration", x.a.id)) }
func (x *gqlApp) DatabaseID() *int32 { return int32p(x.a.id) }
func (x *gqlApp) Slug() string       { return x.a.slug }

type gqlCheckRunConnection struct {
	total int
	info  *gqlPageInfo
	nodes []*gqlCheckRun
}

func (c *gqlCheckRunConnection) TotalCount() int32      { return int32(c.total) }
func (c *gqlCheckRunConnection) PageInfo() *gqlPageInfo { return c.info }
func (c *gqlCheckRunConnection) Nodes() *[]*gqlCheckRun { return &c.nodes }

type gqlCheckRun struct{ cr *checkRun }

func (x *gqlCheckRun) ID() graphql.ID     { return graphql.ID(nodeID("CheckRun", x.cr.id)) }
func (x *gqlCheckRun) DatabaseID() *int32 { return int32p(x.cr.id) }
func (x *gqlCheckRun) Name() string       { return x.cr.name }
func (x *gqlCheckRun) Status() string     { return strings.ToUpper(x.cr.status) }

func (x *gqlCheckRun) Conclusion() *string {
	if x.cr.conclusion == "" {
		return nil
	}
	c := strings.ToUpper(x.cr.conclusion)
	return &c
}

func (x *gqlCheckRun) StartedAt() *gqlDateTime {
	if x.cr.startedAt == nil {
		return nil
	}
	t := dateTime(*x.cr.startedAt)
	return &t
}
