package fakegithub

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// Stats is what GET /_fake/stats returns.
type Stats struct {
	// Requests counts every API request (not /_fake/ calls).
	Requests int64 `json:"requests"`
	// ByRoute counts requests per "METHOD /openapi/template".
	ByRoute map[string]int64 `json:"by_route"`
	// NotModified counts 304 answers (free of rate limit).
	NotModified int64 `json:"not_modified"`
	// RateLimitUsed counts requests charged to each installation's budget.
	RateLimitUsed map[string]int64 `json:"rate_limit_used"`
	// GraphQLPoints counts the points charged for GraphQL queries, in total
	// and (GraphQLPointsUsed) per installation.
	GraphQLPoints     int64            `json:"graphql_points"`
	GraphQLPointsUsed map[string]int64 `json:"graphql_points_used"`
	// Writes counts successful writes (non-GET 2xx), in total and per route.
	Writes WriteStats `json:"writes"`
	// ByStatus counts answers per HTTP status code.
	ByStatus map[string]int64 `json:"by_status"`
	// Webhooks counts deliveries made and those that failed.
	Webhooks WebhookStats `json:"webhooks"`
	// SecondaryLimited counts the answers given as GitHub's secondary rate
	// limit (enforced limits and injected faults alike).
	SecondaryLimited int64 `json:"secondary_limited"`
	// ByApp counts, per app slug, the requests made with the app's JWT or
	// tokens (installation and user tokens) and its successful writes.
	ByApp map[string]AppStats `json:"by_app"`
}

// WriteStats counts writes.
type WriteStats struct {
	Total   int64            `json:"total"`
	ByRoute map[string]int64 `json:"by_route"`
}

// WebhookStats counts webhook deliveries.
type WebhookStats struct {
	Delivered int64 `json:"delivered"`
	Failed    int64 `json:"failed"`
}

type statsData struct {
	requests      int64
	byRoute       map[string]int64
	notModified   int64
	rateUsed      map[int64]int64
	writes        int64
	writesByRoute map[string]int64
	byStatus      map[int]int64
	delivered     int64
	failed        int64
	graphqlPoints int64
	graphqlUsed   map[int64]int64
	byApp         map[string]AppStats
	// secondaryLimited counts secondary-limit answers.
	secondaryLimited int64
}

func newStats() statsData {
	return statsData{byRoute: map[string]int64{}, rateUsed: map[int64]int64{}, writesByRoute: map[string]int64{}, byStatus: map[int]int64{},
		graphqlUsed: map[int64]int64{}, byApp: map[string]AppStats{}}
}

// count records a request (kind 0) or a successful write (kind 1).
func (s *Server) count(key string, kind int) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if kind == 1 {
		s.stats.writes++
		s.stats.writesByRoute[key]++
		return
	}
	s.stats.requests++
	if key != "" {
		s.stats.byRoute[key]++
	}
}

// Stats returns the request counters.
func (s *Server) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	st := s.stats
	out := Stats{Requests: st.requests, NotModified: st.notModified, ByRoute: map[string]int64{},
		RateLimitUsed: map[string]int64{}, ByStatus: map[string]int64{},
		Writes:   WriteStats{Total: st.writes, ByRoute: map[string]int64{}},
		Webhooks: WebhookStats{Delivered: st.delivered, Failed: st.failed}, SecondaryLimited: st.secondaryLimited}
	out.GraphQLPoints, out.GraphQLPointsUsed = st.graphqlPoints, map[string]int64{}
	for k, v := range st.graphqlUsed {
		out.GraphQLPointsUsed[strconv.FormatInt(k, 10)] = v
	}
	for k, v := range st.byRoute {
		out.ByRoute[k] = v
	}
	for k, v := range st.rateUsed {
		out.RateLimitUsed[strconv.FormatInt(k, 10)] = v
	}
	for k, v := range st.writesByRoute {
		out.Writes.ByRoute[k] = v
	}
	for k, v := range st.byStatus {
		out.ByStatus[strconv.Itoa(k)] = v
	}
	out.ByApp = map[string]AppStats{}
	for k, v := range st.byApp {
		out.ByApp[k] = v
	}
	return out
}

// ResetStats zeroes the counters (not the rate-limit budgets).
func (s *Server) ResetStats() {
	s.statsMu.Lock()
	s.stats = newStats()
	s.statsMu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"message":"failed to encode"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func (s *Server) handleState(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.State())
}

func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) handleResetStats(w http.ResponseWriter, _ *http.Request) {
	s.ResetStats()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleFaults(w http.ResponseWriter, r *http.Request) {
	var f Fault
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		adminError(w, http.StatusBadRequest, "invalid fault: "+err.Error())
		return
	}
	if f.Route != "" {
		known := false
		for _, k := range RouteKeys() {
			known = known || k == f.Route
		}
		if !known {
			adminError(w, http.StatusUnprocessableEntity, "route: "+strconv.Quote(f.Route)+" is not an emulated operation (see GET /_fake/stats by_route keys)")
			return
		}
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		adminError(w, http.StatusUnprocessableEntity, "status: want an HTTP error status (400-599)")
		return
	}
	s.Fault(f)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

// State is what GET /_fake/state returns: the scenario's shape with
// everything written since start, each write with who made it.
type State struct {
	App StateApp `json:"app"`
	// Apps lists every app the emulator serves: the scenario's, then those
	// made from manifests.
	Apps          []StateApp          `json:"apps"`
	Installations []StateInstallation `json:"installations"`
	Repos         []StateRepo         `json:"repos"`
}

// StateApp is the app under test.
type StateApp struct {
	ID          int64             `json:"id"`
	Slug        string            `json:"slug"`
	Permissions map[string]string `json:"permissions"`
	Owner       string            `json:"owner,omitempty"`
	Events      []string          `json:"events,omitempty"`
	HookURL     string            `json:"hook_url,omitempty"` // for manifest apps
}

// StateInstallation is an installation and its rate-limit window.
type StateInstallation struct {
	ID            int64             `json:"id"`
	AppID         int64             `json:"app_id"`
	Account       string            `json:"account"`
	AccountType   string            `json:"account_type"`
	Repos         []string          `json:"repos"`
	RateLimit     int               `json:"rate_limit"`
	RateLimitUsed int               `json:"rate_limit_used"`
	Permissions   map[string]string `json:"permissions"`
}

// StateRepo is a repository.
type StateRepo struct {
	Name          string                       `json:"name"`
	DefaultBranch string                       `json:"default_branch"`
	Private       bool                         `json:"private"`
	Files         map[string]map[string]string `json:"files"`
	Branches      map[string]StateBranch       `json:"branches"`
	Collaborators map[string]string            `json:"collaborators"`
	Pulls         []StatePull                  `json:"pulls"`
	// Commits lists every commit with statuses or check runs.
	Commits      []StateCommit      `json:"commits"`
	CheckSuites  []StateCheckSuite  `json:"check_suites"`
	WorkflowRuns []StateWorkflowRun `json:"workflow_runs"`
	MergeGroups  []StateMergeGroup  `json:"merge_groups"`
}

// StateBranch is a branch head, its protection and rules.
type StateBranch struct {
	SHA        string              `json:"sha"`
	Protection *ScenarioProtection `json:"protection"`
	Rules      []ScenarioRule      `json:"rules"`
}

// StatePull is a pull request with the results on its head.
type StatePull struct {
	Number    int             `json:"number"`
	Title     string          `json:"title"`
	Body      string          `json:"body"`
	User      string          `json:"user"`
	Base      string          `json:"base"`
	Head      string          `json:"head"`
	HeadSHA   string          `json:"head_sha"`
	BaseSHA   string          `json:"base_sha"`
	Draft     bool            `json:"draft"`
	Fork      bool            `json:"fork"`
	State     string          `json:"state"`
	Merged    bool            `json:"merged"`
	Files     []File          `json:"files"`
	Statuses  []StateStatus   `json:"statuses"`
	CheckRuns []StateCheckRun `json:"check_runs"`
	Comments  []StateComment  `json:"comments"`
}

// StateCommit holds the results on one commit.
type StateCommit struct {
	SHA       string          `json:"sha"`
	Statuses  []StateStatus   `json:"statuses"`
	CheckRuns []StateCheckRun `json:"check_runs"`
}

// StateStatus is a commit status; Creator is a user login or an app's bot login.
type StateStatus struct {
	ID          int64     `json:"id"`
	Context     string    `json:"context"`
	State       string    `json:"state"`
	Description string    `json:"description"`
	TargetURL   string    `json:"target_url"`
	Creator     string    `json:"creator"`
	CreatedAt   time.Time `json:"created_at"`
}

// StateCheckRun is a check run; App is the slug of the app that reports it.
type StateCheckRun struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	HeadSHA      string     `json:"head_sha"`
	Status       string     `json:"status"`
	Conclusion   string     `json:"conclusion"`
	AppID        int64      `json:"app_id"`
	App          string     `json:"app"`
	Creator      string     `json:"creator"`
	CheckSuiteID int64      `json:"check_suite_id"`
	DetailsURL   string     `json:"details_url"`
	Title        string     `json:"title"`
	Summary      string     `json:"summary"`
	Text         string     `json:"text,omitempty"`
	StartedAt    *time.Time `json:"started_at"`
	CompletedAt  *time.Time `json:"completed_at"`
}

// StateComment is an issue comment; User is a login or an app's bot login.
type StateComment struct {
	ID        int64           `json:"id"`
	User      string          `json:"user"`
	Body      string          `json:"body"`
	CreatedAt time.Time       `json:"created_at"`
	Reactions []StateReaction `json:"reactions"`
}

// StateReaction is a reaction on a comment.
type StateReaction struct {
	User    string `json:"user"`
	Content string `json:"content"`
}

// StateCheckSuite is a check suite and who asked to run it again.
type StateCheckSuite struct {
	ID            int64    `json:"id"`
	HeadSHA       string   `json:"head_sha"`
	AppID         int64    `json:"app_id"`
	Status        string   `json:"status"`
	Conclusion    string   `json:"conclusion"`
	RerequestedBy []string `json:"rerequested_by"`
}

// StateWorkflowRun is a GitHub Actions run and who re-ran it.
type StateWorkflowRun struct {
	ID           int64    `json:"id"`
	Name         string   `json:"name"`
	Path         string   `json:"path"`
	HeadSHA      string   `json:"head_sha"`
	HeadBranch   string   `json:"head_branch"`
	Status       string   `json:"status"`
	Conclusion   string   `json:"conclusion"`
	CheckSuiteID int64    `json:"check_suite_id"`
	Attempt      int      `json:"run_attempt"`
	RerunBy      []string `json:"rerun_by"`
}

// State returns a deep copy of the whole state.
func (s *Server) State() *State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := s.w
	st := &State{App: StateApp{ID: w.app.id, Slug: w.app.slug, Permissions: copyPerms(w.app.perms)},
		Installations: []StateInstallation{}, Repos: []StateRepo{}, Apps: w.stateApps()}
	now := s.now()
	for _, in := range w.insts {
		si := StateInstallation{ID: in.id, AppID: in.app.id, Account: in.account, AccountType: in.accountType, RateLimit: in.rateLimit,
			Permissions: copyPerms(in.perms), Repos: []string{}}
		for _, r := range in.repos {
			si.Repos = append(si.Repos, r.full)
		}
		s.statsMu.Lock()
		in.budget.roll(now)
		si.RateLimitUsed = in.budget.used
		s.statsMu.Unlock()
		st.Installations = append(st.Installations, si)
	}
	for _, r := range w.repos {
		st.Repos = append(st.Repos, w.stateRepo(r))
	}
	return st
}

func (w *world) stateRepo(r *repo) StateRepo {
	sr := StateRepo{Name: r.full, DefaultBranch: r.defaultBranch, Private: r.private,
		Files: map[string]map[string]string{}, Branches: map[string]StateBranch{}, Collaborators: map[string]string{},
		Pulls: []StatePull{}, Commits: []StateCommit{}, CheckSuites: []StateCheckSuite{}, WorkflowRuns: []StateWorkflowRun{},
		MergeGroups: w.stateMergeGroups(r)}
	for name, b := range r.branches {
		sb := StateBranch{SHA: b.sha, Rules: deepCopyRules(b.rules)}
		if b.protection != nil {
			sb.Protection = deepCopyProtection(b.protection)
		}
		sr.Branches[name] = sb
		tree := map[string]string{}
		if c := r.commits[b.sha]; c != nil {
			for k, v := range w.treeAt(r, c) {
				tree[k] = v
			}
		}
		sr.Files[name] = tree
	}
	for k, v := range r.collaborators {
		sr.Collaborators[k] = v
	}
	for _, p := range r.pulls {
		c := r.commits[p.headSHA]
		sp := StatePull{Number: p.number, Title: p.title, Body: p.body, User: p.user, Base: p.base, Head: p.head,
			HeadSHA: p.headSHA, BaseSHA: p.baseSHA, Draft: p.draft, Fork: p.headRepo != nil, State: p.state, Merged: p.merged,
			Files: append([]File{}, p.files...), Statuses: w.stateStatuses(c), CheckRuns: w.stateCheckRuns(c), Comments: []StateComment{}}
		for _, cm := range p.comments {
			sc := StateComment{ID: cm.id, User: cm.user, Body: cm.body, CreatedAt: cm.createdAt, Reactions: []StateReaction{}}
			for _, re := range cm.reactions {
				sc.Reactions = append(sc.Reactions, StateReaction{User: re.user, Content: re.content})
			}
			sp.Comments = append(sp.Comments, sc)
		}
		sr.Pulls = append(sr.Pulls, sp)
	}
	shas := make([]string, 0, len(r.commits))
	for sha, c := range r.commits {
		if len(c.statuses) > 0 || len(c.checkRuns) > 0 {
			shas = append(shas, sha)
		}
	}
	sort.Strings(shas)
	for _, sha := range shas {
		c := r.commits[sha]
		sr.Commits = append(sr.Commits, StateCommit{SHA: sha, Statuses: w.stateStatuses(c), CheckRuns: w.stateCheckRuns(c)})
	}
	ids := make([]int64, 0, len(r.suites))
	for id := range r.suites {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		cs := r.suites[id]
		sr.CheckSuites = append(sr.CheckSuites, StateCheckSuite{ID: cs.id, HeadSHA: cs.headSHA, AppID: cs.appID, Status: cs.status,
			Conclusion: cs.conclusion, RerequestedBy: append([]string{}, cs.rerequested...)})
	}
	for _, run := range r.runs {
		sr.WorkflowRuns = append(sr.WorkflowRuns, StateWorkflowRun{ID: run.id, Name: run.name, Path: run.path, HeadSHA: run.headSHA,
			HeadBranch: run.headBranch, Status: run.status, Conclusion: run.conclusion, CheckSuiteID: run.suite.id,
			Attempt: run.attempt, RerunBy: append([]string{}, run.rerunBy...)})
	}
	return sr
}

func (w *world) stateStatuses(c *commit) []StateStatus {
	out := []StateStatus{}
	if c == nil {
		return out
	}
	for _, s := range c.statuses {
		out = append(out, StateStatus{ID: s.id, Context: s.context, State: s.state, Description: s.description,
			TargetURL: s.targetURL, Creator: s.creator, CreatedAt: s.createdAt})
	}
	return out
}

func (w *world) stateCheckRuns(c *commit) []StateCheckRun {
	out := []StateCheckRun{}
	if c == nil {
		return out
	}
	for _, cr := range c.checkRuns {
		out = append(out, StateCheckRun{ID: cr.id, Name: cr.name, HeadSHA: cr.headSHA, Status: cr.status, Conclusion: cr.conclusion,
			AppID: cr.appID, App: w.appByID(cr.appID).slug, Creator: cr.creator, CheckSuiteID: cr.suite.id,
			DetailsURL: cr.detailsURL, Title: cr.title, Summary: cr.summary, Text: cr.text,
			StartedAt: copyTime(cr.startedAt), CompletedAt: copyTime(cr.completedAt)})
	}
	return out
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}

// deepCopyRules copies rules through JSON, since parameters are free-form.
func deepCopyRules(rules []ScenarioRule) []ScenarioRule {
	out := []ScenarioRule{}
	if len(rules) == 0 {
		return out
	}
	data, _ := json.Marshal(rules)
	_ = json.Unmarshal(data, &out)
	return out
}

func deepCopyProtection(p *ScenarioProtection) *ScenarioProtection {
	var out ScenarioProtection
	data, _ := json.Marshal(p)
	_ = json.Unmarshal(data, &out)
	return &out
}
