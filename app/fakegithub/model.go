package fakegithub

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// The in-memory world. Every field is guarded by Server.mu.

type appInfo struct {
	id        int64
	slug      string
	name      string
	owner     string
	perms     map[string]string
	events    []string
	createdAt time.Time
	// reg is set for the apps the emulator serves (manifest.go).
	reg *registration
}

// botLogin is the login GitHub shows for writes an app makes.
func (a *appInfo) botLogin() string { return a.slug + "[bot]" }

type installation struct {
	id          int64
	app         *appInfo
	account     string
	accountType string
	repos       []*repo
	perms       map[string]string
	rateLimit   int
	createdAt   time.Time
	budget      budget
	// secondary-limit bookkeeping, guarded by Server.statsMu
	content  []time.Time // content-creating requests of the last hour
	inFlight int
	points   map[string]*pointWindow // secondary-limit points per route key
}

type token struct {
	value   string
	inst    *installation
	expires time.Time
	perms   map[string]string
	repos   map[int64]bool // nil = every repository of the installation
}

// allows reports whether the token has a permission such as "checks:read"
// (or every one of a set, "contents:read,pull_requests:read").
func (t *token) allows(perm string) bool { return allowsAll(t.perms, perm) }

// reaches reports whether the token may see a repository: one of its
// installation's, and one it was narrowed to if it was.
func (t *token) reaches(r *repo) bool {
	return t.inst.holds(r) && (t.repos == nil || t.repos[r.id])
}

type repo struct {
	id            int64
	owner         string
	name          string
	full          string
	ownerType     string // User | Organization
	private       bool
	defaultBranch string
	inst          *installation
	branches      map[string]*branch
	collaborators map[string]string // lower-case login → role
	pulls         []*pull
	pullByNum     map[int]*pull
	commits       map[string]*commit
	suites        map[int64]*checkSuite
	runs          []*workflowRun
	runByID       map[int64]*workflowRun
	checkRuns     map[int64]*checkRun
	comments      map[int64]*comment
	mergeGroups   []*mergeGroup // in creation order (mergequeue.go)
	nextIssue     int
	fork          bool             // an author's fork (forks.go); never in world.repos
	forks         map[string]*repo // lower-case author → fork of this repository
	createdAt     time.Time
	updatedAt     time.Time
	pushedAt      time.Time
	// cached rendering of the repository object; readers holding only the
	// read lock may fill it, so it is atomic
	cache atomic.Pointer[repoCache]
}

type repoCache struct {
	base string
	json json.RawMessage
}

func (r *repo) touch(now time.Time) {
	r.updatedAt = now
	r.cache.Store(nil)
}

// headBranchOf is the head branch of the newest pull request whose head is
// sha ("" when none is).
func (r *repo) headBranchOf(sha string) string {
	if p := r.pullWithHead(sha); p != nil {
		return p.head
	}
	if g := r.activeGroupWithHead(sha); g != nil {
		return strings.TrimPrefix(g.headRef, "refs/heads/")
	}
	return ""
}

// pullWithHead is the newest pull request whose head is sha, or nil.
func (r *repo) pullWithHead(sha string) *pull {
	for i := len(r.pulls) - 1; i >= 0; i-- {
		if r.pulls[i].headSHA == sha {
			return r.pulls[i]
		}
	}
	return nil
}

type branch struct {
	name       string
	sha        string
	protection *ScenarioProtection
	rules      []ScenarioRule
}

// commit is a commit the emulator knows about: branch heads, PR heads and
// pushes. Statuses and check runs can only be reported on a known commit.
type commit struct {
	sha       string
	parent    string
	message   string
	author    string
	date      time.Time
	tree      map[string]string // the files at this commit; nil = computed (PR heads)
	pr        *pull             // for PR heads: the PR whose changes define the tree
	changes   []File            // what the commit changed relative to its parent
	statuses  []*status         // in creation order
	checkRuns []*checkRun       // in creation order
}

type status struct {
	id          int64
	sha         string
	context     string
	state       string
	description string
	targetURL   string
	creator     string
	createdAt   time.Time
}

type checkRun struct {
	id          int64
	name        string
	headSHA     string
	status      string
	conclusion  string
	appID       int64
	suite       *checkSuite
	detailsURL  string
	externalID  string
	startedAt   *time.Time
	completedAt *time.Time
	title       string
	summary     string
	text        string
	creator     string
}

type checkSuite struct {
	id          int64
	headSHA     string
	headBranch  string
	appID       int64
	status      string
	conclusion  string
	createdAt   time.Time
	updatedAt   time.Time
	rerequested []string // who rerequested it, in order
	run         *workflowRun
	// workflowPath is the workflow file of a GitHub Actions suite ("" for
	// other apps); a suite created by a push has it before it has a run.
	workflowPath string
}

// hasRunNamed reports whether the suite has a check run of that name on c.
func (s *checkSuite) hasRunNamed(c *commit, name string) bool {
	for _, cr := range c.checkRuns {
		if cr.suite == s && cr.name == name {
			return true
		}
	}
	return false
}

type workflowRun struct {
	id         int64
	workflowID int64
	name       string
	path       string
	event      string
	headSHA    string
	headBranch string
	status     string
	conclusion string
	suite      *checkSuite
	runNumber  int
	attempt    int
	actor      string
	createdAt  time.Time
	updatedAt  time.Time
	rerunBy    []string
}

type pull struct {
	id        int64
	number    int
	title     string
	body      string
	user      string
	base      string
	head      string
	headSHA   string
	baseSHA   string
	draft     bool
	headRepo  *repo  // the author's fork for a fork PR; nil = the base repository
	review    string // GraphQL reviewDecision; "" = null
	state     string
	merged    bool
	files     []File
	createdAt time.Time
	updatedAt time.Time
	closedAt  *time.Time
	comments  []*comment
}

type comment struct {
	id        int64
	issue     int
	user      string
	viaApp    int64
	assoc     string // author_association given by the event; "" = derived
	body      string
	createdAt time.Time
	updatedAt time.Time
	reactions []*reaction
}

type reaction struct {
	id        int64
	user      string
	content   string
	createdAt time.Time
}

// fakeSHA makes a deterministic commit SHA from some words.
func fakeSHA(parts ...string) string {
	h := sha1.Sum([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

// blobSHA is git's object id of a file's content.
func blobSHA(content string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write([]byte(content))
	return hex.EncodeToString(h.Sum(nil))
}

// treeAt returns the files at a commit. A PR head's tree is its base branch's
// current files with the PR's changes applied.
func (w *world) treeAt(r *repo, c *commit) map[string]string {
	if c.tree != nil || c.pr == nil {
		return c.tree
	}
	base := map[string]string{}
	if b := r.branches[c.pr.base]; b != nil {
		if bc := r.commits[b.sha]; bc != nil && bc.tree != nil {
			base = bc.tree
		}
	}
	out := make(map[string]string, len(base))
	for k, v := range base {
		out[k] = v
	}
	applyChanges(out, c.changes)
	return out
}

// applyChanges changes a tree (path → content) the way a commit's changed
// files say.
func applyChanges(out map[string]string, changes []File) {
	for _, f := range changes {
		switch f.Status {
		case "removed":
			delete(out, f.Filename)
		case "renamed":
			prev, had := out[f.PreviousFilename]
			delete(out, f.PreviousFilename)
			if f.Content != nil {
				out[f.Filename] = *f.Content
			} else if had {
				out[f.Filename] = prev
			}
		default:
			if f.Content != nil {
				out[f.Filename] = *f.Content
			} else if _, ok := out[f.Filename]; !ok && f.Status == "added" {
				out[f.Filename] = ""
			}
		}
	}
}

// latestStatuses returns the newest status per context (case-insensitive),
// ordered by context.
func latestStatuses(c *commit) []*status {
	seen := map[string]*status{}
	for _, s := range c.statuses {
		seen[strings.ToLower(s.context)] = s
	}
	out := make([]*status, 0, len(seen))
	for _, s := range seen {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func combinedState(ss []*status) string {
	if len(ss) == 0 {
		return "pending"
	}
	state := "success"
	for _, s := range ss {
		switch s.state {
		case "error", "failure":
			return "failure"
		case "pending":
			state = "pending"
		}
	}
	return state
}

func copyPerms(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// permRank orders permission levels ("" and unknown levels rank 0).
var permRank = map[string]int{"read": 1, "write": 2, "admin": 3}

// permAllows reports whether a granted level satisfies a needed one.
func permAllows(granted, need string) bool {
	return permRank[granted] >= permRank[need]
}
