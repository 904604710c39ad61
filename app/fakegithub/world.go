package fakegithub

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"
)

// world is the emulated GitHub: apps, installations, repositories and
// everything written to them. Server.mu guards it.
type world struct {
	app        *appInfo
	apps       map[int64]*appInfo
	insts      []*installation
	instByID   map[int64]*installation
	repos      []*repo
	repoByName map[string]*repo // lower-case full name
	tokens     map[string]*token
	orgs       map[string]bool // lower-case logins of organizations
	nextID     int64
	anon       map[string]*budget // unauthenticated budgets per client address
	appBudget  budget
	// followups are webhooks an event or API write caused besides its own
	// (mergequeue.go), waiting to be sent once the world lock is released.
	followups []followup
	web       *webState        // users, OAuth and manifest codes (oauth.go)
	actions   *ScenarioActions // the Actions simulation (mergegroup_actions.go)
}

func (w *world) newID() int64 {
	w.nextID++
	return w.nextID
}

// userID gives every login a stable id derived from the login, so that it
// needs no state (readers only hold the read lock).
func (w *world) userID(login string) int64 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(login)))
	return 1_000_000 + int64(h.Sum32()%100_000_000)
}

// appByID returns a known app, or a stand-in named after the id.
func (w *world) appByID(id int64) *appInfo {
	if a, ok := w.apps[id]; ok {
		return a
	}
	return &appInfo{id: id, slug: fmt.Sprintf("app-%d", id), name: fmt.Sprintf("App %d", id), owner: "github", createdAt: w.app.createdAt}
}

func (w *world) repo(full string) *repo { return w.repoByName[strings.ToLower(full)] }

// maxTokens bounds the token table; expired tokens are dropped first.
const maxTokens = 10000

func newWorld(sc *Scenario, now time.Time) (*world, error) {
	w := &world{
		apps:       map[int64]*appInfo{},
		instByID:   map[int64]*installation{},
		repoByName: map[string]*repo{},
		tokens:     map[string]*token{},
		orgs:       map[string]bool{},
		anon:       map[string]*budget{},
		nextID:     1000,
		actions:    sc.Actions,
	}
	web := w.webState()
	for _, u := range sc.Users {
		web.users[strings.ToLower(u.Login)] = u
	}
	perms := appPermissions(sc.App.Permissions)
	events := sc.App.Events
	if events == nil {
		events = defaultEvents()
	}
	owner := sc.App.Owner
	if owner == "" {
		owner = sc.App.Slug
	}
	name := sc.App.Name
	if name == "" {
		name = sc.App.Slug
	}
	w.app = &appInfo{id: sc.App.ID, slug: sc.App.Slug, name: name, owner: owner, perms: copyPerms(perms), events: events, createdAt: now}
	w.apps[w.app.id] = w.app
	w.apps[GitHubActionsAppID] = &appInfo{id: GitHubActionsAppID, slug: "github-actions", name: "GitHub Actions", owner: "github",
		perms: map[string]string{"actions": "write", "checks": "write", "contents": "write", "metadata": "read", "statuses": "write"}, createdAt: now}
	for _, o := range sc.Apps {
		name := o.Name
		if name == "" {
			name = o.Slug
		}
		w.apps[o.ID] = &appInfo{id: o.ID, slug: o.Slug, name: name, owner: o.Slug, perms: map[string]string{"checks": "write", "statuses": "write", "metadata": "read"}, createdAt: now}
	}
	// GitHub Actions' owner is the github organization.
	w.orgs["github"] = true
	for _, in := range sc.Installations {
		if in.AccountType == "Organization" {
			w.orgs[strings.ToLower(in.Account)] = true
		}
	}
	for i := range sc.Repos {
		if err := w.addRepo(&sc.Repos[i], now); err != nil {
			return nil, fmt.Errorf("repos[%d]: %w", i, err)
		}
	}
	for _, si := range sc.Installations {
		w.addInstallation(w.app, si, now)
	}
	return w, nil
}

func (w *world) addInstallation(app *appInfo, si ScenarioInstallation, now time.Time) *installation {
	in := &installation{id: si.ID, app: app, account: si.Account, accountType: si.AccountType, rateLimit: si.RateLimit, createdAt: now}
	if in.accountType == "" {
		in.accountType = "User"
		if w.orgs[strings.ToLower(si.Account)] {
			in.accountType = "Organization"
		}
	}
	if in.rateLimit == 0 {
		in.rateLimit = 5000
	}
	in.perms = copyPerms(app.perms)
	if si.Permissions != nil {
		in.perms = withMetadata(si.Permissions)
	}
	if in.accountType == "Organization" {
		w.orgs[strings.ToLower(in.account)] = true
	}
	for _, name := range si.Repos {
		if r := w.repo(name); r != nil && w.appInstallationFor(app, r) == nil {
			if app == w.app {
				r.inst = in
			}
			in.repos = append(in.repos, r)
		}
	}
	w.insts = append(w.insts, in)
	w.instByID[in.id] = in
	return in
}

func (w *world) addRepo(sr *ScenarioRepo, now time.Time) error {
	owner, name, _ := strings.Cut(sr.Name, "/")
	r := &repo{
		id: w.newID(), owner: owner, name: name, full: sr.Name, private: sr.Private,
		defaultBranch: sr.DefaultBranch,
		ownerType:     "User",
		branches:      map[string]*branch{},
		collaborators: map[string]string{},
		pullByNum:     map[int]*pull{},
		commits:       map[string]*commit{},
		suites:        map[int64]*checkSuite{},
		runByID:       map[int64]*workflowRun{},
		checkRuns:     map[int64]*checkRun{},
		comments:      map[int64]*comment{},
		createdAt:     now, updatedAt: now, pushedAt: now,
	}
	if w.orgs[strings.ToLower(owner)] {
		r.ownerType = "Organization"
	}
	for login, role := range sr.Collaborators {
		r.collaborators[strings.ToLower(login)] = role
	}
	names := make([]string, 0, len(sr.Branches))
	for n := range sr.Branches {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sb := sr.Branches[n]
		sha := sb.SHA
		if sha == "" {
			sha = fakeSHA(sr.Name, "branch", n)
		}
		b := &branch{name: n, sha: sha, protection: sb.Protection, rules: sb.Rules}
		r.branches[n] = b
		tree := map[string]string{}
		for path, content := range sr.Files[n] {
			tree[path] = content
		}
		if c, ok := r.commits[sha]; ok {
			for k, v := range tree {
				c.tree[k] = v
			}
			continue
		}
		r.commits[sha] = &commit{sha: sha, message: "Initial commit", author: owner, date: now, tree: tree}
	}
	w.repos = append(w.repos, r)
	w.repoByName[strings.ToLower(sr.Name)] = r
	for i := range sr.Pulls {
		if err := w.addScenarioPull(r, &sr.Pulls[i], now); err != nil {
			return fmt.Errorf("pulls[%d]: %w", i, err)
		}
	}
	return nil
}

func (w *world) addScenarioPull(r *repo, sp *ScenarioPull, now time.Time) error {
	created := now
	if sp.CreatedAt != nil {
		created = *sp.CreatedAt
	}
	files := append([]File(nil), sp.Files...)
	for i := 0; i < sp.GeneratedFiles; i++ {
		files = append(files, File{Filename: fmt.Sprintf("generated/file-%05d.txt", i+1), Status: "added", Additions: 1})
	}
	p := w.openPull(r, pullSpec{number: sp.Number, title: sp.Title, body: sp.Body, user: sp.User, base: sp.Base,
		head: sp.Head, headSHA: sp.HeadSHA, draft: sp.Draft, fork: sp.Fork, files: files}, created)
	p.review = sp.ReviewDecision
	if sp.State == "closed" {
		p.state = "closed"
		p.merged = sp.Merged
		t := created
		p.closedAt = &t
	}
	c := r.commits[p.headSHA]
	for _, ss := range sp.Statuses {
		at := created
		if ss.CreatedAt != nil {
			at = *ss.CreatedAt
		}
		creator := ss.Creator
		if creator == "" {
			creator = r.owner
		}
		c.statuses = append(c.statuses, &status{id: w.newID(), sha: c.sha, context: ss.Context, state: ss.State,
			description: ss.Description, targetURL: ss.TargetURL, creator: creator, createdAt: at})
	}
	for _, sc := range sp.CheckRuns {
		at := created
		if sc.StartedAt != nil {
			at = *sc.StartedAt
		}
		cr := w.addCheckRun(r, c, checkRunSpec{name: sc.Name, status: sc.Status, conclusion: sc.Conclusion, appID: sc.AppID,
			workflow: sc.Workflow, detailsURL: sc.DetailsURL, headBranch: p.head, actor: p.user}, at)
		cr.creator = w.appByID(cr.appID).botLogin()
	}
	for _, sc := range sp.Comments {
		w.addComment(r, p, sc.User, 0, sc.Body, created)
	}
	return nil
}

type pullSpec struct {
	number                        int
	title, body, user, base, head string
	headSHA                       string
	draft                         bool
	fork                          bool // the head is in the author's fork
	files                         []File
}

// openPull creates a pull request and its head commit.
func (w *world) openPull(r *repo, ps pullSpec, now time.Time) *pull {
	if ps.number == 0 {
		ps.number = r.nextIssue + 1
	}
	if ps.number > r.nextIssue {
		r.nextIssue = ps.number
	}
	if ps.head == "" {
		ps.head = fmt.Sprintf("pr-%d", ps.number)
	}
	if ps.headSHA == "" {
		ps.headSHA = fakeSHA(r.full, "pull", fmt.Sprint(ps.number), now.String())
	}
	p := &pull{id: w.newID(), number: ps.number, title: ps.title, body: ps.body, user: ps.user, base: ps.base, head: ps.head,
		headSHA: ps.headSHA, draft: ps.draft, state: "open", files: ps.files, createdAt: now, updatedAt: now}
	if b := r.branches[ps.base]; b != nil {
		p.baseSHA = b.sha
	}
	if ps.fork {
		p.headRepo = w.forkOf(r, ps.user)
	}
	r.pulls = append(r.pulls, p)
	r.pullByNum[p.number] = p
	w.setPullHead(r, p, ps.headSHA, ps.files, now)
	return p
}

// setPullHead records a new head commit for a PR with the PR's full list of
// changed files.
func (w *world) setPullHead(r *repo, p *pull, sha string, files []File, now time.Time) {
	prev := p.headSHA
	p.headSHA = sha
	p.files = files
	c, ok := r.commits[sha]
	if !ok {
		c = &commit{sha: sha, message: p.title, author: p.user, date: now}
		r.commits[sha] = c
	}
	if c.tree == nil {
		c.pr = p
		c.changes = files
		if prev != sha && prev != "" {
			c.parent = prev
		} else {
			c.parent = p.baseSHA
		}
	}
}

func (w *world) addComment(r *repo, p *pull, user string, viaApp int64, body string, now time.Time) *comment {
	c := &comment{id: w.newID(), issue: p.number, user: user, viaApp: viaApp, body: body, createdAt: now, updatedAt: now}
	p.comments = append(p.comments, c)
	r.comments[c.id] = c
	return c
}

type checkRunSpec struct {
	name, status, conclusion string
	appID                    int64
	workflow                 string
	detailsURL, externalID   string
	title, summary, text     string
	headBranch, actor        string
}

// addCheckRun creates a check run in the app's check suite for the commit
// (one suite per app and commit, as GitHub does; for GitHub Actions one suite
// per workflow run).
func (w *world) addCheckRun(r *repo, c *commit, spec checkRunSpec, now time.Time) *checkRun {
	suite := w.suiteFor(r, c, spec.appID, spec.workflow, spec.headBranch, spec.actor, now)
	cr := &checkRun{id: w.newID(), name: spec.name, headSHA: c.sha, status: spec.status, conclusion: spec.conclusion,
		appID: spec.appID, suite: suite, detailsURL: spec.detailsURL, externalID: spec.externalID,
		title: spec.title, summary: spec.summary, text: spec.text}
	if cr.status == "" {
		cr.status = "queued"
	}
	// GitHub sets started_at when a run is created, even a queued one.
	t := now
	cr.startedAt = &t
	if cr.status == "completed" {
		t := now
		cr.completedAt = &t
	}
	c.checkRuns = append(c.checkRuns, cr)
	r.checkRuns[cr.id] = cr
	w.refreshSuite(r, suite, now)
	return cr
}

func (w *world) suiteFor(r *repo, c *commit, appID int64, workflow, headBranch, actor string, now time.Time) *checkSuite {
	for _, s := range r.suites {
		if s.headSHA != c.sha || s.appID != appID {
			continue
		}
		if (workflow == "" && s.run == nil && s.workflowPath == "") || (workflow != "" && s.run != nil && s.run.name == workflow) {
			return s
		}
	}
	path := ""
	if workflow != "" {
		path = w.workflowPath(r, c, workflow)
	}
	// A workflow's suite may exist already, queued since the push.
	s := w.pendingSuite(r, c, path)
	if s == nil || workflow == "" {
		s = &checkSuite{id: w.newID(), headSHA: c.sha, headBranch: headBranch, appID: appID, status: "queued", createdAt: now, updatedAt: now}
		r.suites[s.id] = s
	}
	if workflow != "" {
		s.workflowPath = path
		number := len(r.runs) + 1
		run := &workflowRun{id: w.newID(), workflowID: int64(len(workflow)*1000) + r.id, name: workflow, path: path, event: "pull_request",
			headSHA: c.sha, headBranch: headBranch, status: "queued", suite: s, runNumber: number, attempt: 1, actor: actor,
			createdAt: now, updatedAt: now}
		s.run = run
		r.runs = append(r.runs, run)
		r.runByID[run.id] = run
	}
	return s
}

// refreshSuite derives a suite's (and its workflow run's) status from its
// check runs, as GitHub does. It reports whether the suite has just
// completed (GitHub then sends check_suite.completed).
func (w *world) refreshSuite(r *repo, s *checkSuite, now time.Time) bool {
	was := s.status
	c := r.commits[s.headSHA]
	conclusion := ""
	var total, completed, queued int
	rank := map[string]int{"": 0, "skipped": 1, "success": 2, "neutral": 3, "stale": 4, "cancelled": 5, "timed_out": 6, "action_required": 7, "failure": 8}
	for _, cr := range c.checkRuns {
		if cr.suite != s {
			continue
		}
		total++
		switch cr.status {
		case "completed":
			completed++
			if rank[cr.conclusion] > rank[conclusion] {
				conclusion = cr.conclusion
			}
		case "queued":
			queued++
		}
	}
	status := "in_progress"
	switch {
	case total == 0 || queued == total:
		status = "queued"
	case completed == total:
		status = "completed"
	}
	if status != "completed" {
		conclusion = ""
	}
	s.status, s.conclusion, s.updatedAt = status, conclusion, now
	if s.run != nil {
		s.run.status, s.run.conclusion, s.run.updatedAt = status, conclusion, now
	}
	return was != "completed" && status == "completed"
}
