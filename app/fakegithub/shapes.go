package fakegithub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// GitHub's JSON shapes. Required fields of GitHub's schemas are never
// omitted (nullable ones are written as null), which is why these are local
// structs rather than go-github's types, whose fields are all omitempty.

// ts formats a time the way GitHub does.
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nodeID(kind string, id int64) string {
	return base64.RawStdEncoding.EncodeToString([]byte(fmt.Sprintf("0%s%d", kind, id)))
}

type userJSON struct {
	Login             string  `json:"login"`
	ID                int64   `json:"id"`
	NodeID            string  `json:"node_id"`
	AvatarURL         string  `json:"avatar_url"`
	GravatarID        *string `json:"gravatar_id"`
	URL               string  `json:"url"`
	HTMLURL           string  `json:"html_url"`
	FollowersURL      string  `json:"followers_url"`
	FollowingURL      string  `json:"following_url"`
	GistsURL          string  `json:"gists_url"`
	StarredURL        string  `json:"starred_url"`
	SubscriptionsURL  string  `json:"subscriptions_url"`
	OrganizationsURL  string  `json:"organizations_url"`
	ReposURL          string  `json:"repos_url"`
	EventsURL         string  `json:"events_url"`
	ReceivedEventsURL string  `json:"received_events_url"`
	Type              string  `json:"type"`
	UserViewType      string  `json:"user_view_type"`
	SiteAdmin         bool    `json:"site_admin"`
}

func (w *world) userJSON(base, login string) *userJSON {
	if strings.HasSuffix(login, "[bot]") {
		return w.botUserJSON(base, login)
	}
	typ := "User"
	if w.orgs[strings.ToLower(login)] {
		typ = "Organization"
	}
	u := base + "/users/" + login
	empty := ""
	return &userJSON{
		Login: login, ID: w.userID(login), NodeID: nodeID("User", w.userID(login)),
		AvatarURL: base + "/avatars/u/" + fmt.Sprint(w.userID(login)), GravatarID: &empty,
		URL: u, HTMLURL: base + "/" + login,
		FollowersURL: u + "/followers", FollowingURL: u + "/following{/other_user}", GistsURL: u + "/gists{/gist_id}",
		StarredURL: u + "/starred{/owner}{/repo}", SubscriptionsURL: u + "/subscriptions", OrganizationsURL: u + "/orgs",
		ReposURL: u + "/repos", EventsURL: u + "/events{/privacy}", ReceivedEventsURL: u + "/received_events",
		Type: typ, UserViewType: "public",
	}
}

type repoPermsJSON struct {
	Admin    bool `json:"admin"`
	Maintain bool `json:"maintain"`
	Push     bool `json:"push"`
	Triage   bool `json:"triage"`
	Pull     bool `json:"pull"`
}

// repoJSON is GitHub's full-repository (a superset of repository, minimal-repository
// and the webhooks' repository).
type repoJSON struct {
	ID                       int64     `json:"id"`
	NodeID                   string    `json:"node_id"`
	Name                     string    `json:"name"`
	FullName                 string    `json:"full_name"`
	Private                  bool      `json:"private"`
	Owner                    *userJSON `json:"owner"`
	HTMLURL                  string    `json:"html_url"`
	Description              *string   `json:"description"`
	Fork                     bool      `json:"fork"`
	URL                      string    `json:"url"`
	ArchiveURL               string    `json:"archive_url"`
	AssigneesURL             string    `json:"assignees_url"`
	BlobsURL                 string    `json:"blobs_url"`
	BranchesURL              string    `json:"branches_url"`
	CollaboratorsURL         string    `json:"collaborators_url"`
	CommentsURL              string    `json:"comments_url"`
	CommitsURL               string    `json:"commits_url"`
	CompareURL               string    `json:"compare_url"`
	ContentsURL              string    `json:"contents_url"`
	ContributorsURL          string    `json:"contributors_url"`
	DeploymentsURL           string    `json:"deployments_url"`
	DownloadsURL             string    `json:"downloads_url"`
	EventsURL                string    `json:"events_url"`
	ForksURL                 string    `json:"forks_url"`
	GitCommitsURL            string    `json:"git_commits_url"`
	GitRefsURL               string    `json:"git_refs_url"`
	GitTagsURL               string    `json:"git_tags_url"`
	GitURL                   string    `json:"git_url"`
	IssueCommentURL          string    `json:"issue_comment_url"`
	IssueEventsURL           string    `json:"issue_events_url"`
	IssuesURL                string    `json:"issues_url"`
	KeysURL                  string    `json:"keys_url"`
	LabelsURL                string    `json:"labels_url"`
	LanguagesURL             string    `json:"languages_url"`
	MergesURL                string    `json:"merges_url"`
	MilestonesURL            string    `json:"milestones_url"`
	NotificationsURL         string    `json:"notifications_url"`
	PullsURL                 string    `json:"pulls_url"`
	ReleasesURL              string    `json:"releases_url"`
	SSHURL                   string    `json:"ssh_url"`
	StargazersURL            string    `json:"stargazers_url"`
	StatusesURL              string    `json:"statuses_url"`
	SubscribersURL           string    `json:"subscribers_url"`
	SubscriptionURL          string    `json:"subscription_url"`
	TagsURL                  string    `json:"tags_url"`
	TeamsURL                 string    `json:"teams_url"`
	TreesURL                 string    `json:"trees_url"`
	CloneURL                 string    `json:"clone_url"`
	MirrorURL                *string   `json:"mirror_url"`
	HooksURL                 string    `json:"hooks_url"`
	SVNURL                   string    `json:"svn_url"`
	Homepage                 *string   `json:"homepage"`
	Language                 *string   `json:"language"`
	ForksCount               int       `json:"forks_count"`
	StargazersCount          int       `json:"stargazers_count"`
	WatchersCount            int       `json:"watchers_count"`
	Size                     int       `json:"size"`
	DefaultBranch            string    `json:"default_branch"`
	OpenIssuesCount          int       `json:"open_issues_count"`
	IsTemplate               bool      `json:"is_template"`
	Topics                   []string  `json:"topics"`
	HasIssues                bool      `json:"has_issues"`
	HasProjects              bool      `json:"has_projects"`
	HasWiki                  bool      `json:"has_wiki"`
	HasPages                 bool      `json:"has_pages"`
	HasDownloads             bool      `json:"has_downloads"`
	HasDiscussions           bool      `json:"has_discussions"`
	Archived                 bool      `json:"archived"`
	Disabled                 bool      `json:"disabled"`
	Visibility               string    `json:"visibility"`
	PushedAt                 string    `json:"pushed_at"`
	CreatedAt                string    `json:"created_at"`
	UpdatedAt                string    `json:"updated_at"`
	AllowForking             bool      `json:"allow_forking"`
	WebCommitSignoffRequired bool      `json:"web_commit_signoff_required"`
	License                  *struct{} `json:"license"`
	Forks                    int       `json:"forks"`
	OpenIssues               int       `json:"open_issues"`
	Watchers                 int       `json:"watchers"`
	NetworkCount             int       `json:"network_count"`
	SubscribersCount         int       `json:"subscribers_count"`
	CustomProperties         struct{}  `json:"custom_properties"`
}

func (w *world) buildRepoJSON(base string, r *repo) *repoJSON {
	api := base + "/repos/" + r.full
	web := base + "/" + r.full
	open := 0
	for _, p := range r.pulls {
		if p.state == "open" {
			open++
		}
	}
	vis := "public"
	if r.private {
		vis = "private"
	}
	return &repoJSON{
		ID: r.id, NodeID: nodeID("Repository", r.id), Name: r.name, FullName: r.full, Private: r.private,
		Owner: w.userJSON(base, r.owner), HTMLURL: web, URL: api, Fork: r.fork,
		ArchiveURL: api + "/{archive_format}{/ref}", AssigneesURL: api + "/assignees{/user}",
		BlobsURL: api + "/git/blobs{/sha}", BranchesURL: api + "/branches{/branch}",
		CollaboratorsURL: api + "/collaborators{/collaborator}", CommentsURL: api + "/comments{/number}",
		CommitsURL: api + "/commits{/sha}", CompareURL: api + "/compare/{base}...{head}",
		ContentsURL: api + "/contents/{+path}", ContributorsURL: api + "/contributors",
		DeploymentsURL: api + "/deployments", DownloadsURL: api + "/downloads", EventsURL: api + "/events",
		ForksURL: api + "/forks", GitCommitsURL: api + "/git/commits{/sha}", GitRefsURL: api + "/git/refs{/sha}",
		GitTagsURL: api + "/git/tags{/sha}", GitURL: strings.Replace(web, "http", "git", 1) + ".git",
		IssueCommentURL: api + "/issues/comments{/number}", IssueEventsURL: api + "/issues/events{/number}",
		IssuesURL: api + "/issues{/number}", KeysURL: api + "/keys{/key_id}", LabelsURL: api + "/labels{/name}",
		LanguagesURL: api + "/languages", MergesURL: api + "/merges", MilestonesURL: api + "/milestones{/number}",
		NotificationsURL: api + "/notifications{?since,all,participating}", PullsURL: api + "/pulls{/number}",
		ReleasesURL: api + "/releases{/id}", SSHURL: "git@fakegithub:" + r.full + ".git",
		StargazersURL: api + "/stargazers", StatusesURL: api + "/statuses/{sha}", SubscribersURL: api + "/subscribers",
		SubscriptionURL: api + "/subscription", TagsURL: api + "/tags", TeamsURL: api + "/teams",
		TreesURL: api + "/git/trees{/sha}", CloneURL: web + ".git", HooksURL: api + "/hooks", SVNURL: web,
		DefaultBranch: r.defaultBranch, OpenIssuesCount: open, OpenIssues: open, Topics: []string{},
		HasIssues: true, HasProjects: true, HasWiki: true, HasDownloads: true, Visibility: vis,
		PushedAt: ts(r.pushedAt), CreatedAt: ts(r.createdAt), UpdatedAt: ts(r.updatedAt), AllowForking: true,
	}
}

// repoRaw returns the cached JSON of a repository. The full object serves for
// GitHub's repository, full-repository and minimal-repository alike: they
// differ only in how many of its fields they require.
func (w *world) repoRaw(base string, r *repo) json.RawMessage {
	if c := r.cache.Load(); c != nil && c.base == base {
		return c.json
	}
	data, _ := json.Marshal(w.buildRepoJSON(base, r))
	r.cache.Store(&repoCache{base: base, json: data})
	return data
}

type linkJSON struct {
	Href string `json:"href"`
}

type pullRefJSON struct {
	Label string          `json:"label"`
	Ref   string          `json:"ref"`
	SHA   string          `json:"sha"`
	User  *userJSON       `json:"user"`
	Repo  json.RawMessage `json:"repo"`
}

type pullJSON struct {
	URL                string              `json:"url"`
	ID                 int64               `json:"id"`
	NodeID             string              `json:"node_id"`
	HTMLURL            string              `json:"html_url"`
	DiffURL            string              `json:"diff_url"`
	PatchURL           string              `json:"patch_url"`
	IssueURL           string              `json:"issue_url"`
	CommitsURL         string              `json:"commits_url"`
	ReviewCommentsURL  string              `json:"review_comments_url"`
	ReviewCommentURL   string              `json:"review_comment_url"`
	CommentsURL        string              `json:"comments_url"`
	StatusesURL        string              `json:"statuses_url"`
	Number             int                 `json:"number"`
	State              string              `json:"state"`
	Locked             bool                `json:"locked"`
	Title              string              `json:"title"`
	User               *userJSON           `json:"user"`
	Body               *string             `json:"body"`
	Labels             []struct{}          `json:"labels"`
	Milestone          *struct{}           `json:"milestone"`
	ActiveLockReason   *string             `json:"active_lock_reason"`
	CreatedAt          string              `json:"created_at"`
	UpdatedAt          string              `json:"updated_at"`
	ClosedAt           *string             `json:"closed_at"`
	MergedAt           *string             `json:"merged_at"`
	MergeCommitSHA     *string             `json:"merge_commit_sha"`
	Assignee           *userJSON           `json:"assignee"`
	Assignees          []*userJSON         `json:"assignees"`
	RequestedReviewers []*userJSON         `json:"requested_reviewers"`
	RequestedTeams     []struct{}          `json:"requested_teams"`
	Head               pullRefJSON         `json:"head"`
	Base               pullRefJSON         `json:"base"`
	Links              map[string]linkJSON `json:"_links"`
	AuthorAssociation  string              `json:"author_association"`
	AutoMerge          *struct{}           `json:"auto_merge"`
	Draft              bool                `json:"draft"`
	*pullDetailJSON
}

// pullDetailJSON holds the fields only GET /pulls/{n} (and webhooks) have.
type pullDetailJSON struct {
	Merged              bool      `json:"merged"`
	Mergeable           *bool     `json:"mergeable"`
	Rebaseable          *bool     `json:"rebaseable"`
	MergeableState      string    `json:"mergeable_state"`
	MergedBy            *userJSON `json:"merged_by"`
	Comments            int       `json:"comments"`
	ReviewComments      int       `json:"review_comments"`
	MaintainerCanModify bool      `json:"maintainer_can_modify"`
	Commits             int       `json:"commits"`
	Additions           int       `json:"additions"`
	Deletions           int       `json:"deletions"`
	ChangedFiles        int       `json:"changed_files"`
}

func (w *world) authorAssociation(r *repo, login string) string { return r.associationOf(login) }

func (w *world) pullJSON(base string, r *repo, p *pull, detail bool) *pullJSON {
	api := base + "/repos/" + r.full
	web := base + "/" + r.full
	self := fmt.Sprintf("%s/pulls/%d", api, p.number)
	html := fmt.Sprintf("%s/pull/%d", web, p.number)
	issue := fmt.Sprintf("%s/issues/%d", api, p.number)
	repoRaw := w.repoRaw(base, r)
	owner := w.userJSON(base, r.owner)
	out := &pullJSON{
		URL: self, ID: p.id, NodeID: nodeID("PullRequest", p.id), HTMLURL: html, DiffURL: html + ".diff", PatchURL: html + ".patch",
		IssueURL: issue, CommitsURL: self + "/commits", ReviewCommentsURL: self + "/comments",
		ReviewCommentURL: api + "/pulls/comments{/number}", CommentsURL: issue + "/comments",
		StatusesURL: api + "/statuses/" + p.headSHA, Number: p.number, State: p.state, Title: p.title,
		User: w.userJSON(base, p.user), Body: strp(p.body), Labels: []struct{}{},
		CreatedAt: ts(p.createdAt), UpdatedAt: ts(p.updatedAt), ClosedAt: tsp(p.closedAt),
		Assignees: []*userJSON{}, RequestedReviewers: []*userJSON{}, RequestedTeams: []struct{}{},
		Head: pullRefJSON{Label: r.owner + ":" + p.head, Ref: p.head, SHA: p.headSHA, User: owner, Repo: repoRaw},
		Base: pullRefJSON{Label: r.owner + ":" + p.base, Ref: p.base, SHA: p.baseSHA, User: owner, Repo: repoRaw},
		Links: map[string]linkJSON{
			"self": {self}, "html": {html}, "issue": {issue}, "comments": {issue + "/comments"},
			"review_comments": {self + "/comments"}, "review_comment": {api + "/pulls/comments{/number}"},
			"commits": {self + "/commits"}, "statuses": {api + "/statuses/" + p.headSHA},
		},
		AuthorAssociation: w.authorAssociation(r, p.user), Draft: p.draft,
	}
	if hr := p.headRepo; hr != nil {
		out.Head = pullRefJSON{Label: hr.owner + ":" + p.head, Ref: p.head, SHA: p.headSHA, User: w.userJSON(base, hr.owner), Repo: w.repoRaw(base, hr)}
	}
	if p.merged {
		out.MergedAt = tsp(p.closedAt)
		sha := fakeSHA(r.full, "merge", p.headSHA)
		out.MergeCommitSHA = &sha
	}
	if !detail {
		return out
	}
	add, del := 0, 0
	for _, f := range p.files {
		add += f.Additions
		del += f.Deletions
	}
	d := &pullDetailJSON{Merged: p.merged, MergeableState: "unknown", Comments: len(p.comments),
		MaintainerCanModify: false, Commits: 1, Additions: add, Deletions: del, ChangedFiles: len(p.files)}
	if p.state == "open" {
		t := true
		d.Mergeable, d.Rebaseable = &t, &t
		d.MergeableState = "blocked"
	}
	if p.merged {
		d.MergedBy = w.userJSON(base, r.owner)
	}
	out.pullDetailJSON = d
	return out
}

type fileJSON struct {
	SHA              *string `json:"sha"`
	Filename         string  `json:"filename"`
	Status           string  `json:"status"`
	Additions        int     `json:"additions"`
	Deletions        int     `json:"deletions"`
	Changes          int     `json:"changes"`
	BlobURL          string  `json:"blob_url"`
	RawURL           string  `json:"raw_url"`
	ContentsURL      string  `json:"contents_url"`
	Patch            string  `json:"patch,omitempty"`
	PreviousFilename string  `json:"previous_filename,omitempty"`
}

func fileJSONOf(base string, r *repo, sha string, f File) fileJSON {
	var blob *string
	if f.Status != "removed" {
		content := ""
		if f.Content != nil {
			content = *f.Content
		}
		b := blobSHA(f.Filename + "\x00" + content)
		blob = &b
	}
	return fileJSON{
		SHA: blob, Filename: f.Filename, Status: f.Status, Additions: f.Additions, Deletions: f.Deletions,
		Changes: f.Additions + f.Deletions, BlobURL: base + "/" + r.full + "/blob/" + sha + "/" + f.Filename,
		RawURL:           base + "/" + r.full + "/raw/" + sha + "/" + f.Filename,
		ContentsURL:      base + "/repos/" + r.full + "/contents/" + f.Filename + "?ref=" + sha,
		PreviousFilename: f.PreviousFilename,
	}
}

type statusJSON struct {
	URL         string    `json:"url"`
	AvatarURL   *string   `json:"avatar_url"`
	ID          int64     `json:"id"`
	NodeID      string    `json:"node_id"`
	State       string    `json:"state"`
	Description *string   `json:"description"`
	TargetURL   *string   `json:"target_url"`
	Context     string    `json:"context"`
	CreatedAt   string    `json:"created_at"`
	UpdatedAt   string    `json:"updated_at"`
	Creator     *userJSON `json:"creator,omitempty"`
}

func (w *world) statusJSON(base string, r *repo, s *status, withCreator bool) statusJSON {
	creator := w.userJSON(base, s.creator)
	out := statusJSON{
		URL: base + "/repos/" + r.full + "/statuses/" + s.sha, AvatarURL: &creator.AvatarURL, ID: s.id, NodeID: nodeID("StatusContext", s.id),
		State: s.state, Description: strp(s.description), TargetURL: strp(s.targetURL), Context: s.context,
		CreatedAt: ts(s.createdAt), UpdatedAt: ts(s.createdAt),
	}
	if withCreator {
		out.Creator = creator
	}
	return out
}

type integrationJSON struct {
	ID          int64             `json:"id"`
	Slug        string            `json:"slug"`
	ClientID    string            `json:"client_id"`
	NodeID      string            `json:"node_id"`
	Owner       *userJSON         `json:"owner"`
	Name        string            `json:"name"`
	Description *string           `json:"description"`
	ExternalURL string            `json:"external_url"`
	HTMLURL     string            `json:"html_url"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
	Permissions map[string]string `json:"permissions"`
	Events      []string          `json:"events"`
	// InstallationsCount is only set for GET /app.
	InstallationsCount *int `json:"installations_count,omitempty"`
}

func (w *world) integrationJSON(base string, a *appInfo) *integrationJSON {
	perms := a.perms
	if perms == nil {
		perms = map[string]string{}
	}
	events := a.events
	if events == nil {
		events = []string{}
	}
	return &integrationJSON{
		ID: a.id, Slug: a.slug, ClientID: a.clientID(), NodeID: nodeID("Integration", a.id),
		Owner: w.userJSON(base, a.owner), Name: a.name, Description: a.descriptionOf(), ExternalURL: a.externalURL(base),
		HTMLURL: base + "/apps/" + a.slug, CreatedAt: ts(a.createdAt), UpdatedAt: ts(a.createdAt),
		Permissions: perms, Events: events,
	}
}

type checkRunOutputJSON struct {
	Title            *string `json:"title"`
	Summary          *string `json:"summary"`
	Text             *string `json:"text"`
	AnnotationsCount int     `json:"annotations_count"`
	AnnotationsURL   string  `json:"annotations_url"`
}

type idJSON struct {
	ID int64 `json:"id"`
}

type checkRunJSON struct {
	ID           int64              `json:"id"`
	HeadSHA      string             `json:"head_sha"`
	NodeID       string             `json:"node_id"`
	ExternalID   *string            `json:"external_id"`
	URL          string             `json:"url"`
	HTMLURL      *string            `json:"html_url"`
	DetailsURL   *string            `json:"details_url"`
	Status       string             `json:"status"`
	Conclusion   *string            `json:"conclusion"`
	StartedAt    *string            `json:"started_at"`
	CompletedAt  *string            `json:"completed_at"`
	Output       checkRunOutputJSON `json:"output"`
	Name         string             `json:"name"`
	CheckSuite   *idJSON            `json:"check_suite"`
	App          *integrationJSON   `json:"app"`
	PullRequests []pullMinimalJSON  `json:"pull_requests"`
}

type pullMinimalRefJSON struct {
	Ref  string `json:"ref"`
	SHA  string `json:"sha"`
	Repo struct {
		ID   int64  `json:"id"`
		URL  string `json:"url"`
		Name string `json:"name"`
	} `json:"repo"`
}

type pullMinimalJSON struct {
	ID     int64              `json:"id"`
	Number int                `json:"number"`
	URL    string             `json:"url"`
	Head   pullMinimalRefJSON `json:"head"`
	Base   pullMinimalRefJSON `json:"base"`
}

// pullsForSHA lists the open PRs whose head is sha, as check runs, check
// suites and workflow runs carry them: like GitHub, it leaves out PRs whose
// head is in a fork.
func (w *world) pullsForSHA(base string, r *repo, sha string) []pullMinimalJSON {
	out := []pullMinimalJSON{}
	for _, p := range r.pulls {
		if p.headSHA != sha || p.state != "open" || p.headRepo != nil {
			continue
		}
		m := pullMinimalJSON{ID: p.id, Number: p.number, URL: fmt.Sprintf("%s/repos/%s/pulls/%d", base, r.full, p.number)}
		for _, x := range []struct {
			dst      *pullMinimalRefJSON
			ref, sha string
		}{{&m.Head, p.head, p.headSHA}, {&m.Base, p.base, p.baseSHA}} {
			x.dst.Ref, x.dst.SHA = x.ref, x.sha
			x.dst.Repo.ID, x.dst.Repo.URL, x.dst.Repo.Name = r.id, base+"/repos/"+r.full, r.name
		}
		out = append(out, m)
	}
	return out
}

func (w *world) checkRunJSON(base string, r *repo, cr *checkRun) *checkRunJSON {
	self := fmt.Sprintf("%s/repos/%s/check-runs/%d", base, r.full, cr.id)
	html := fmt.Sprintf("%s/%s/runs/%d", base, r.full, cr.id)
	app := w.integrationJSON(base, w.appByID(cr.appID))
	// Without a details_url GitHub shows the app's page; external_id is "".
	details := cr.detailsURL
	if details == "" {
		details = app.HTMLURL
	}
	external := cr.externalID
	return &checkRunJSON{
		ID: cr.id, HeadSHA: cr.headSHA, NodeID: nodeID("CheckRun", cr.id), ExternalID: &external,
		URL: self, HTMLURL: &html, DetailsURL: &details, Status: cr.status, Conclusion: strp(cr.conclusion),
		StartedAt: tsp(cr.startedAt), CompletedAt: tsp(cr.completedAt),
		Output: checkRunOutputJSON{Title: strp(cr.title), Summary: strp(cr.summary), Text: strp(cr.text), AnnotationsURL: self + "/annotations"},
		Name:   cr.name, CheckSuite: &idJSON{ID: cr.suite.id}, App: app,
		PullRequests: w.pullsForSHA(base, r, cr.headSHA),
	}
}

type gitActorJSON struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Date     string `json:"date,omitempty"`
	Username string `json:"username,omitempty"`
}

type simpleCommitJSON struct {
	ID        string        `json:"id"`
	TreeID    string        `json:"tree_id"`
	Message   string        `json:"message"`
	Timestamp string        `json:"timestamp"`
	Author    *gitActorJSON `json:"author"`
	Committer *gitActorJSON `json:"committer"`
}

func gitActor(login string) *gitActorJSON {
	return &gitActorJSON{Name: login, Email: strings.TrimSuffix(login, "[bot]") + "@users.noreply.fakegithub.invalid"}
}

func simpleCommit(c *commit) *simpleCommitJSON {
	return &simpleCommitJSON{ID: c.sha, TreeID: fakeSHA("tree", c.sha), Message: c.message, Timestamp: ts(c.date),
		Author: gitActor(c.author), Committer: gitActor(c.author)}
}

type checkSuiteJSON struct {
	ID                   int64             `json:"id"`
	NodeID               string            `json:"node_id"`
	HeadBranch           *string           `json:"head_branch"`
	HeadSHA              string            `json:"head_sha"`
	Status               *string           `json:"status"`
	Conclusion           *string           `json:"conclusion"`
	URL                  *string           `json:"url"`
	Before               *string           `json:"before"`
	After                *string           `json:"after"`
	PullRequests         []pullMinimalJSON `json:"pull_requests"`
	App                  *integrationJSON  `json:"app"`
	Repository           json.RawMessage   `json:"repository"`
	CreatedAt            *string           `json:"created_at"`
	UpdatedAt            *string           `json:"updated_at"`
	HeadCommit           *simpleCommitJSON `json:"head_commit"`
	LatestCheckRunsCount int               `json:"latest_check_runs_count"`
	CheckRunsURL         string            `json:"check_runs_url"`
	Rerequestable        bool              `json:"rerequestable"`
	RunsRerequestable    bool              `json:"runs_rerequestable"`
}

func (w *world) checkSuiteJSON(base string, r *repo, s *checkSuite) *checkSuiteJSON {
	self := fmt.Sprintf("%s/repos/%s/check-suites/%d", base, r.full, s.id)
	status := s.status
	created, updated := ts(s.createdAt), ts(s.updatedAt)
	c := r.commits[s.headSHA]
	n := 0
	for _, cr := range c.checkRuns {
		if cr.suite == s {
			n++
		}
	}
	return &checkSuiteJSON{
		ID: s.id, NodeID: nodeID("CheckSuite", s.id), HeadBranch: strp(s.headBranch), HeadSHA: s.headSHA,
		Status: &status, Conclusion: strp(s.conclusion), URL: &self, Before: strp(c.parent), After: &s.headSHA,
		PullRequests: w.pullsForSHA(base, r, s.headSHA), App: w.integrationJSON(base, w.appByID(s.appID)),
		Repository: w.repoRaw(base, r), CreatedAt: &created, UpdatedAt: &updated, HeadCommit: simpleCommit(c),
		LatestCheckRunsCount: n, CheckRunsURL: self + "/check-runs", Rerequestable: true, RunsRerequestable: true,
	}
}

type installationJSON struct {
	ID                     int64             `json:"id"`
	Account                *userJSON         `json:"account"`
	RepositorySelection    string            `json:"repository_selection"`
	AccessTokensURL        string            `json:"access_tokens_url"`
	RepositoriesURL        string            `json:"repositories_url"`
	HTMLURL                string            `json:"html_url"`
	AppID                  int64             `json:"app_id"`
	AppSlug                string            `json:"app_slug"`
	ClientID               string            `json:"client_id"`
	TargetID               int64             `json:"target_id"`
	TargetType             string            `json:"target_type"`
	Permissions            map[string]string `json:"permissions"`
	Events                 []string          `json:"events"`
	CreatedAt              string            `json:"created_at"`
	UpdatedAt              string            `json:"updated_at"`
	SingleFileName         *string           `json:"single_file_name"`
	HasMultipleSingleFiles bool              `json:"has_multiple_single_files"`
	SingleFilePaths        []string          `json:"single_file_paths"`
	SuspendedBy            *userJSON         `json:"suspended_by"`
	SuspendedAt            *string           `json:"suspended_at"`
}

func (w *world) installationJSON(base string, in *installation) *installationJSON {
	return &installationJSON{
		ID: in.id, Account: w.userJSON(base, in.account), RepositorySelection: "selected",
		AccessTokensURL: fmt.Sprintf("%s/app/installations/%d/access_tokens", base, in.id),
		RepositoriesURL: base + "/installation/repositories",
		HTMLURL:         fmt.Sprintf("%s/settings/installations/%d", base, in.id),
		AppID:           in.app.id, AppSlug: in.app.slug, ClientID: in.app.clientID(),
		TargetID: w.userID(in.account), TargetType: in.accountType, Permissions: copyPerms(in.perms), Events: in.app.events,
		CreatedAt: ts(in.createdAt), UpdatedAt: ts(in.createdAt), SingleFilePaths: []string{},
	}
}

type commentJSON struct {
	ID                    int64            `json:"id"`
	NodeID                string           `json:"node_id"`
	URL                   string           `json:"url"`
	HTMLURL               string           `json:"html_url"`
	Body                  string           `json:"body"`
	User                  *userJSON        `json:"user"`
	CreatedAt             string           `json:"created_at"`
	UpdatedAt             string           `json:"updated_at"`
	IssueURL              string           `json:"issue_url"`
	AuthorAssociation     string           `json:"author_association"`
	PerformedViaGitHubApp *integrationJSON `json:"performed_via_github_app"`
	Reactions             reactionsJSON    `json:"reactions"`
}

type reactionsJSON struct {
	URL        string `json:"url"`
	TotalCount int    `json:"total_count"`
	PlusOne    int    `json:"+1"`
	MinusOne   int    `json:"-1"`
	Laugh      int    `json:"laugh"`
	Confused   int    `json:"confused"`
	Heart      int    `json:"heart"`
	Hooray     int    `json:"hooray"`
	Eyes       int    `json:"eyes"`
	Rocket     int    `json:"rocket"`
}

func (w *world) commentJSON(base string, r *repo, c *comment) *commentJSON {
	api := base + "/repos/" + r.full
	out := &commentJSON{
		ID: c.id, NodeID: nodeID("IssueComment", c.id), URL: fmt.Sprintf("%s/issues/comments/%d", api, c.id),
		HTMLURL: fmt.Sprintf("%s/%s/pull/%d#issuecomment-%d", base, r.full, c.issue, c.id), Body: c.body,
		User: w.userJSON(base, c.user), CreatedAt: ts(c.createdAt), UpdatedAt: ts(c.updatedAt),
		IssueURL: fmt.Sprintf("%s/issues/%d", api, c.issue), AuthorAssociation: w.authorAssociation(r, c.user),
	}
	if c.assoc != "" {
		out.AuthorAssociation = c.assoc
	}
	if c.viaApp != 0 {
		out.PerformedViaGitHubApp = w.integrationJSON(base, w.appByID(c.viaApp))
	}
	out.Reactions.URL = fmt.Sprintf("%s/issues/comments/%d/reactions", api, c.id)
	for _, re := range c.reactions {
		out.Reactions.TotalCount++
		switch re.content {
		case "+1":
			out.Reactions.PlusOne++
		case "-1":
			out.Reactions.MinusOne++
		case "laugh":
			out.Reactions.Laugh++
		case "confused":
			out.Reactions.Confused++
		case "heart":
			out.Reactions.Heart++
		case "hooray":
			out.Reactions.Hooray++
		case "eyes":
			out.Reactions.Eyes++
		case "rocket":
			out.Reactions.Rocket++
		}
	}
	return out
}

type errorJSON struct {
	Message          string           `json:"message"`
	Errors           []map[string]any `json:"errors,omitempty"`
	DocumentationURL string           `json:"documentation_url"`
	Status           string           `json:"status,omitempty"`
}
