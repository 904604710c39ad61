package fakegithub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Event is a change in the emulated world, made the way a person or a CI
// system would make it on GitHub; it is what POST /_fake/events takes. After
// the change the emulator delivers the matching webhook (see doc.go for the
// JSON form and the fields each type uses).
type Event struct {
	// Type is "<event>.<action>" (e.g. "pull_request.opened") or "push" / "status".
	Type string `json:"type"`
	Repo string `json:"repo,omitempty"`
	// User is who acts (the webhook's sender); default the repository owner.
	User string `json:"user,omitempty"`

	// Pull requests and issue comments.
	Number  int    `json:"number,omitempty"`
	Title   string `json:"title,omitempty"`
	Body    string `json:"body,omitempty"`
	Base    string `json:"base,omitempty"`
	Head    string `json:"head,omitempty"`
	HeadSHA string `json:"head_sha,omitempty"`
	Draft   bool   `json:"draft,omitempty"`
	Merged  bool   `json:"merged,omitempty"`
	// Fork puts a new PR's head in the author's fork (pull_request.opened).
	Fork bool `json:"fork,omitempty"`
	// Files are the PR's changed files (pull_request.opened, synchronize).
	// In JSON, "files" is this list for pull requests and the Contents map
	// for a push.
	Files []File `json:"-"`

	// Push: Contents maps each changed path to its new content; Removed lists
	// deleted paths.
	Branch   string            `json:"branch,omitempty"`
	Contents map[string]string `json:"-"`
	Removed  []string          `json:"removed,omitempty"`
	// Renamed maps old paths to new ones (push); the content moves along
	// unless Contents gives the new path another.
	Renamed map[string]string `json:"renamed,omitempty"`
	// AuthorAssociation overrides the commenter's association
	// (issue_comment.created), e.g. MEMBER for a member of the organization.
	AuthorAssociation string `json:"author_association,omitempty"`
	Message           string `json:"message,omitempty"`

	// Statuses.
	SHA         string `json:"sha,omitempty"`
	Context     string `json:"context,omitempty"`
	State       string `json:"state,omitempty"`
	Description string `json:"description,omitempty"`
	TargetURL   string `json:"target_url,omitempty"`
	Creator     string `json:"creator,omitempty"`

	// Check runs and suites.
	Name       string `json:"name,omitempty"`
	Status     string `json:"status,omitempty"`
	Conclusion string `json:"conclusion,omitempty"`
	AppID      int64  `json:"app_id,omitempty"`
	Workflow   string `json:"workflow,omitempty"`
	CheckRunID int64  `json:"check_run_id,omitempty"`

	// Branch protection and rules (for Branch).
	Protection *ScenarioProtection `json:"protection,omitempty"`
	Rules      []ScenarioRule      `json:"rules,omitempty"`

	// Installations.
	InstallationID int64    `json:"installation_id,omitempty"`
	Account        string   `json:"account,omitempty"`
	AccountType    string   `json:"account_type,omitempty"`
	Repos          []string `json:"repos,omitempty"`

	// Merge queues (mergequeue.go): the PRs of a new merge group, in queue
	// order, and why a group is destroyed.
	PRs    []int  `json:"prs,omitempty"`
	Reason string `json:"reason,omitempty"`
}

type eventAlias Event

// UnmarshalJSON reads "files" as a list (pull requests) or as a map of
// path → content, null for a deleted path (push).
func (e *Event) UnmarshalJSON(data []byte) error {
	var aux struct {
		eventAlias
		Files json.RawMessage `json:"files"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return err
	}
	*e = Event(aux.eventAlias)
	raw := bytes.TrimSpace(aux.Files)
	switch {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '{':
		var m map[string]*string
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("files: %w", err)
		}
		e.Contents = map[string]string{}
		for p, c := range m {
			if c == nil {
				e.Removed = append(e.Removed, p)
			} else {
				e.Contents[p] = *c
			}
		}
		sort.Strings(e.Removed)
	default:
		if err := json.Unmarshal(raw, &e.Files); err != nil {
			return fmt.Errorf("files: %w", err)
		}
	}
	return nil
}

// MarshalJSON writes Files or Contents as "files".
func (e Event) MarshalJSON() ([]byte, error) {
	aux := struct {
		eventAlias
		Files any `json:"files,omitempty"`
	}{eventAlias: eventAlias(e)}
	if e.Files != nil {
		aux.Files = e.Files
	} else if e.Contents != nil {
		aux.Files = e.Contents
	}
	return json.Marshal(aux)
}

// EventResult says what an event did and how its webhook went.
type EventResult struct {
	Event  string `json:"event"`
	Action string `json:"action,omitempty"`
	// Delivery is the X-GitHub-Delivery id ("" when nothing was sent).
	Delivery string `json:"delivery,omitempty"`
	// Delivered is false when no webhook URL is set, the app does not
	// subscribe to the event, or the repository is not installed.
	Delivered  bool   `json:"delivered"`
	StatusCode int    `json:"status_code,omitempty"`
	Skipped    string `json:"skipped,omitempty"`
	Number     int    `json:"number,omitempty"`
	SHA        string `json:"sha,omitempty"`
	CommentID  int64  `json:"comment_id,omitempty"`
	CheckRunID int64  `json:"check_run_id,omitempty"`
	// HeadRef is a new merge group's ref.
	HeadRef string `json:"head_ref,omitempty"`
	// Followups are the webhooks the event's consequences sent after its
	// own, in order: check_suite.completed once a check_run.completed ends
	// its suite, the same event for another app installed on the
	// repository, a merge queue entry that merged or failed.
	Followups []*EventResult `json:"followups,omitempty"`
}

// EventError is an event that cannot be applied (nothing changed).
type EventError struct{ Msg string }

func (e *EventError) Error() string { return "invalid event: " + e.Msg }

func badEvent(format string, args ...any) error {
	return &EventError{Msg: fmt.Sprintf(format, args...)}
}

// Event applies an event and delivers its webhook synchronously; it returns
// an *EventError for an invalid event, or the delivery error.
func (s *Server) Event(ctx context.Context, ev Event) error {
	_, err := s.Apply(ctx, ev)
	return err
}

// Apply is Event that also returns what happened (ids of what it created,
// the delivery). The state has changed even when delivery fails.
func (s *Server) Apply(ctx context.Context, ev Event) (*EventResult, error) {
	s.mu.Lock()
	res, hook, err := s.applyLocked(ev)
	more := s.w.takeFollowups()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if hook != nil {
		err = s.deliver(ctx, res, hook)
	}
	return res, errors.Join(err, s.deliverFollowups(ctx, res, more))
}

// hook is a webhook ready to send.
type hook struct {
	event     string
	action    string
	payload   map[string]any
	installed bool
	// app receives the webhook (nil: the scenario's app); skip, when set,
	// says why GitHub would not send it.
	app  *appInfo
	skip string
	// instID and repoID are the installation and repository the delivery
	// is recorded with (0 = none).
	instID, repoID int64
	// A redelivery re-sends body with the original guid.
	redelivery bool
	guid       string
	body       []byte
	// then are the webhooks GitHub sends right after this one, by the same
	// delivery (the check_suite.completed after an API write's check run
	// ended its suite); an event's go to w.followups instead.
	then []*hook
}

func (s *Server) applyLocked(ev Event) (*EventResult, *hook, error) {
	w := s.w
	now := s.now()
	base := s.baseURL(nil)
	kind, action, _ := strings.Cut(ev.Type, ".")
	res := &EventResult{Event: kind, Action: action}
	var r *repo
	if kind != "installation" && kind != "installation_repositories" {
		if ev.Repo == "" {
			return nil, nil, badEvent("repo: missing")
		}
		if r = w.repo(ev.Repo); r == nil {
			return nil, nil, badEvent("repo: %q is not in the scenario", ev.Repo)
		}
		if ev.User == "" {
			ev.User = r.owner
		}
		if !loginRE.MatchString(ev.User) {
			return nil, nil, badEvent("user: %q is not a valid login", ev.User)
		}
	}
	var payload map[string]any
	var err error
	switch kind {
	case "pull_request":
		payload, err = w.pullRequestEvent(base, r, &ev, action, now, res)
	case "issue_comment":
		payload, err = w.issueCommentEvent(base, r, &ev, action, now, res)
	case "push":
		payload, err = w.pushEvent(base, r, &ev, now, res)
	case "status":
		payload, err = w.statusEvent(base, r, &ev, now, res)
	case "check_run":
		payload, err = w.checkRunEvent(base, r, &ev, action, now, res)
	case "check_suite":
		payload, err = w.checkSuiteEvent(base, r, &ev, action, now, res)
	case "branch_protection_rule":
		payload, err = w.protectionEvent(base, r, &ev, action, now)
	case "repository_ruleset":
		payload, err = w.rulesetEvent(base, r, &ev, action, now)
	case "installation":
		payload, err = w.installationEvent(base, &ev, action, now)
	case "installation_repositories":
		payload, err = w.installationReposEvent(base, &ev, action)
	case "merge_group":
		payload, err = w.mergeGroupEvent(base, r, &ev, action, now, res)
	default:
		err = badEvent("type: %q is not a supported event (see the fakegithub README)", ev.Type)
	}
	if err != nil {
		return nil, nil, err
	}
	if r != nil {
		r.touch(now)
	}
	h := w.finishHook(base, r, kind, action, ev.User, payload)
	if h.instID == 0 {
		h.instID = ev.InstallationID
	}
	w.fanOut(base, h, r, &ev)
	w.settleMergeQueues(base, now, nil)
	return res, h, nil
}

// finishHook adds what every payload carries: the repository after the
// change, its installation, its organization, the action and the sender.
func (w *world) finishHook(base string, r *repo, kind, action, sender string, payload map[string]any) *hook {
	h := &hook{event: kind, action: action, payload: payload, installed: true}
	if r != nil {
		if _, ok := payload["repository"]; !ok {
			payload["repository"] = w.repoRaw(base, r)
		}
		h.repoID = r.id
		if r.inst == nil {
			h.installed = false
		} else {
			h.instID = r.inst.id
			payload["installation"] = map[string]any{"id": r.inst.id, "node_id": nodeID("Installation", r.inst.id)}
		}
		if r.ownerType == "Organization" {
			payload["organization"] = w.orgJSON(base, r.owner)
		}
	}
	if action != "" {
		payload["action"] = action
	}
	if _, ok := payload["sender"]; !ok {
		payload["sender"] = w.userJSON(base, sender)
	}
	return h
}

func (w *world) orgJSON(base, login string) map[string]any {
	u := base + "/orgs/" + login
	return map[string]any{
		"login": login, "id": w.userID(login), "node_id": nodeID("Organization", w.userID(login)), "url": u,
		"repos_url": u + "/repos", "events_url": u + "/events", "hooks_url": u + "/hooks", "issues_url": u + "/issues",
		"members_url": u + "/members{/member}", "public_members_url": u + "/public_members{/member}",
		"avatar_url": base + "/avatars/u/" + fmt.Sprint(w.userID(login)), "description": nil,
	}
}

// pullEventJSON is the pull_request object of webhooks: the REST object with
// the fields webhooks add.
func (w *world) pullEventJSON(base string, r *repo, p *pull) map[string]any {
	m := jsonMap(w.pullJSON(base, r, p, true))
	m["allow_auto_merge"] = false
	m["allow_update_branch"] = false
	m["delete_branch_on_merge"] = false
	m["use_squash_pr_title_as_default"] = false
	return m
}

// jsonMap is v's JSON as a generic object, for payloads that add or drop
// fields of a REST shape.
func jsonMap(v any) map[string]any {
	data, ok := v.(json.RawMessage)
	if !ok {
		data = rawJSON(v)
	}
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	return m
}

func (w *world) pullRequestEvent(base string, r *repo, ev *Event, action string, now time.Time, res *EventResult) (map[string]any, error) {
	if action == "opened" {
		if ev.Title == "" {
			return nil, badEvent("title: missing")
		}
		if ev.Number != 0 && r.pullByNum[ev.Number] != nil {
			return nil, badEvent("number: pull request #%d already exists in %s", ev.Number, r.full)
		}
		if ev.Base == "" {
			ev.Base = r.defaultBranch
		}
		if ev.Fork && strings.EqualFold(ev.User, r.owner) {
			return nil, badEvent("fork: %s cannot fork their own repository", ev.User)
		}
		if r.branches[ev.Base] == nil {
			return nil, badEvent("base: branch %q is not in %s", ev.Base, r.full)
		}
		if ev.HeadSHA != "" && !shaRE.MatchString(ev.HeadSHA) {
			return nil, badEvent("head_sha: %q is not a 40-character hex SHA", ev.HeadSHA)
		}
		if err := validateFiles("files", ev.Files); err != nil {
			return nil, badEvent("%v", err)
		}
		p := w.openPull(r, pullSpec{number: ev.Number, title: ev.Title, body: ev.Body, user: ev.User, base: ev.Base,
			head: ev.Head, headSHA: ev.HeadSHA, draft: ev.Draft, fork: ev.Fork, files: ev.Files}, now)
		res.Number, res.SHA = p.number, p.headSHA
		w.requestSuites(r, r.commits[p.headSHA], p.head, now)
		return map[string]any{"number": p.number, "pull_request": w.pullEventJSON(base, r, p)}, nil
	}
	p := r.pullByNum[ev.Number]
	if p == nil {
		return nil, badEvent("number: pull request #%d is not in %s", ev.Number, r.full)
	}
	res.Number = p.number
	payload := map[string]any{"number": p.number}
	switch action {
	case "synchronize":
		if ev.HeadSHA == "" {
			ev.HeadSHA = fakeSHA(r.full, "push", p.headSHA, now.String())
		}
		if !shaRE.MatchString(ev.HeadSHA) {
			return nil, badEvent("head_sha: %q is not a 40-character hex SHA", ev.HeadSHA)
		}
		if ev.HeadSHA == p.headSHA {
			return nil, badEvent("head_sha: %s is already the head of #%d", ev.HeadSHA, p.number)
		}
		files := ev.Files
		if files == nil {
			files = p.files
		} else if err := validateFiles("files", files); err != nil {
			return nil, badEvent("%v", err)
		}
		payload["before"] = p.headSHA
		w.setPullHead(r, p, ev.HeadSHA, files, now)
		w.requestSuites(r, r.commits[p.headSHA], p.head, now)
		payload["after"] = p.headSHA
	case "edited":
		changes := map[string]any{}
		if ev.Base != "" && ev.Base != p.base {
			b := r.branches[ev.Base]
			if b == nil {
				return nil, badEvent("base: branch %q is not in %s", ev.Base, r.full)
			}
			changes["base"] = map[string]any{"ref": map[string]string{"from": p.base}, "sha": map[string]string{"from": p.baseSHA}}
			p.base, p.baseSHA = ev.Base, b.sha
		}
		if ev.Title != "" && ev.Title != p.title {
			changes["title"] = map[string]string{"from": p.title}
			p.title = ev.Title
		}
		if ev.Body != "" && ev.Body != p.body {
			changes["body"] = map[string]string{"from": p.body}
			p.body = ev.Body
		}
		if len(changes) == 0 {
			return nil, badEvent("edited: set a new base, title or body")
		}
		payload["changes"] = changes
	case "ready_for_review":
		p.draft = false
	case "converted_to_draft":
		p.draft = true
	case "closed":
		if p.state == "closed" {
			return nil, badEvent("number: #%d is already closed", p.number)
		}
		t := now
		p.state, p.closedAt, p.merged = "closed", &t, ev.Merged
	case "reopened":
		if p.state != "closed" || p.merged {
			return nil, badEvent("number: #%d is not closed (or was merged)", p.number)
		}
		p.state, p.closedAt = "open", nil
	default:
		return nil, badEvent("type: pull_request.%s is not supported", action)
	}
	p.updatedAt = now
	res.SHA = p.headSHA
	payload["pull_request"] = w.pullEventJSON(base, r, p)
	return payload, nil
}

func (w *world) issueCommentEvent(base string, r *repo, ev *Event, action string, now time.Time, res *EventResult) (map[string]any, error) {
	if action != "created" {
		return nil, badEvent("type: issue_comment.%s is not supported", action)
	}
	p := r.pullByNum[ev.Number]
	if p == nil {
		return nil, badEvent("number: pull request #%d is not in %s", ev.Number, r.full)
	}
	if ev.Body == "" {
		return nil, badEvent("body: missing")
	}
	if len(p.comments) >= maxComments {
		return nil, badEvent("number: #%d has reached GitHub's %d comments", p.number, maxComments)
	}
	if ev.AuthorAssociation != "" && !authorAssociations[ev.AuthorAssociation] {
		return nil, badEvent("author_association: %q is not one of %s", ev.AuthorAssociation, keys(authorAssociations))
	}
	c := w.addComment(r, p, ev.User, 0, ev.Body, now)
	c.assoc = ev.AuthorAssociation
	res.Number, res.CommentID = p.number, c.id
	return map[string]any{"issue": w.issueJSON(base, r, p), "comment": w.commentJSON(base, r, c)}, nil
}

// issueJSON is a pull request seen as an issue (what issue_comment carries).
func (w *world) issueJSON(base string, r *repo, p *pull) map[string]any {
	api := fmt.Sprintf("%s/repos/%s/issues/%d", base, r.full, p.number)
	html := fmt.Sprintf("%s/%s/pull/%d", base, r.full, p.number)
	return map[string]any{
		"url": api, "repository_url": base + "/repos/" + r.full, "labels_url": api + "/labels{/name}",
		"comments_url": api + "/comments", "events_url": api + "/events", "html_url": html,
		"id": p.id, "node_id": nodeID("Issue", p.id), "number": p.number, "title": p.title,
		"user": w.userJSON(base, p.user), "labels": []any{}, "state": p.state, "locked": false,
		"assignee": nil, "assignees": []any{}, "milestone": nil, "comments": len(p.comments),
		"created_at": ts(p.createdAt), "updated_at": ts(p.updatedAt), "closed_at": tsp(p.closedAt),
		"author_association": w.authorAssociation(r, p.user), "active_lock_reason": nil, "body": strp(p.body),
		"draft": p.draft, "performed_via_github_app": nil, "state_reason": nil,
		"reactions": map[string]any{"url": api + "/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
			"hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
		"timeline_url": api + "/timeline",
		"pull_request": map[string]any{"url": fmt.Sprintf("%s/repos/%s/pulls/%d", base, r.full, p.number),
			"html_url": html, "diff_url": html + ".diff", "patch_url": html + ".patch", "merged_at": nil},
	}
}

// pushEvent commits Contents/Removed on Branch: a new commit becomes the
// branch head, with the tree and the changes GitHub would report.
func (w *world) pushEvent(base string, r *repo, ev *Event, now time.Time, res *EventResult) (map[string]any, error) {
	if ev.Branch == "" {
		return nil, badEvent("branch: missing")
	}
	if len(ev.Contents) == 0 && len(ev.Removed) == 0 && len(ev.Renamed) == 0 {
		return nil, badEvent("files: a push changes at least one file ({path: content}, null to delete; or renamed: {old: new})")
	}
	b := r.branches[ev.Branch]
	created := b == nil
	parentSHA := strings.Repeat("0", 40)
	parentTree := map[string]string{}
	if created {
		// A new branch starts from the default branch.
		if d := r.branches[r.defaultBranch]; d != nil {
			parentTree = w.treeAt(r, r.commits[d.sha])
		}
	} else {
		parentSHA = b.sha
		parentTree = w.treeAt(r, r.commits[b.sha])
	}
	tree := make(map[string]string, len(parentTree)+len(ev.Contents))
	for k, v := range parentTree {
		tree[k] = v
	}
	var changes []File
	var added, modified, removed []string
	// A rename moves the content; push payloads list it as removed + added.
	for _, old := range sortedKeys(ev.Renamed) {
		nu := ev.Renamed[old]
		content, had := tree[old]
		if !had || nu == "" || nu == old {
			return nil, badEvent("renamed: %q is not a file of %s, or %q is not a new path", old, ev.Branch, nu)
		}
		if c, ok := ev.Contents[nu]; ok {
			content = c
		}
		delete(tree, old)
		tree[nu] = content
		c := content
		removed, added = append(removed, old), append(added, nu)
		changes = append(changes, File{Filename: nu, Status: "renamed", PreviousFilename: old, Content: &c})
	}
	for _, p := range sortedKeys(ev.Contents) {
		content := ev.Contents[p]
		if slices.Contains(added, p) {
			continue // a rename's new content, written above
		}
		old, had := tree[p]
		tree[p] = content
		c := content
		switch {
		case !had:
			added = append(added, p)
			changes = append(changes, File{Filename: p, Status: "added", Additions: strings.Count(content, "\n"), Content: &c})
		case old != content:
			modified = append(modified, p)
			changes = append(changes, File{Filename: p, Status: "modified", Additions: strings.Count(content, "\n"), Deletions: strings.Count(old, "\n"), Content: &c})
		}
	}
	for _, p := range ev.Removed {
		if old, had := tree[p]; had {
			delete(tree, p)
			removed = append(removed, p)
			changes = append(changes, File{Filename: p, Status: "removed", Deletions: strings.Count(old, "\n")})
		}
	}
	if ev.Message == "" {
		ev.Message = "Update " + strings.Join(append(append(append([]string{}, added...), modified...), removed...), ", ")
	}
	sha := fakeSHA(r.full, parentSHA, ev.Message, now.String(), fmt.Sprint(len(r.commits)))
	cm := &commit{sha: sha, message: ev.Message, author: ev.User, date: now, tree: tree, changes: changes}
	if !created {
		cm.parent = parentSHA
	}
	r.commits[sha] = cm
	if created {
		b = &branch{name: ev.Branch}
		r.branches[ev.Branch] = b
	}
	b.sha = sha
	w.requestSuites(r, cm, ev.Branch, now)
	r.pushedAt = now
	r.touch(now)
	res.SHA = sha
	commitURL := base + "/" + r.full + "/commit/" + sha
	author := gitActor(ev.User)
	author.Date, author.Username = ts(now), ev.User
	head := map[string]any{
		"id": sha, "tree_id": fakeSHA("tree", sha), "distinct": true, "message": ev.Message, "timestamp": ts(now),
		"url": commitURL, "author": author, "committer": author,
		"added": nonNil(added), "removed": nonNil(removed), "modified": nonNil(modified),
	}
	compare := base + "/" + r.full + "/compare/" + parentSHA[:12] + "..." + sha[:12]
	// A push's repository has two legacy fields of its own.
	repoMap := jsonMap(w.repoRaw(base, r))
	repoMap["master_branch"] = r.defaultBranch
	repoMap["stargazers"] = 0
	return map[string]any{
		"repository": repoMap,
		"ref":        "refs/heads/" + ev.Branch, "before": parentSHA, "after": sha, "created": created, "deleted": false,
		"forced": false, "base_ref": nil, "compare": compare, "commits": []any{head}, "head_commit": head,
		"pusher": map[string]any{"name": ev.User, "email": author.Email},
	}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (w *world) statusEvent(base string, r *repo, ev *Event, now time.Time, res *EventResult) (map[string]any, error) {
	cm := r.commits[ev.SHA]
	if cm == nil {
		return nil, badEvent("sha: no commit %q in %s", ev.SHA, r.full)
	}
	if ev.Context == "" {
		ev.Context = "default"
	}
	if !statusStates[ev.State] {
		return nil, badEvent("state: %q is not one of %s", ev.State, keys(statusStates))
	}
	if len([]rune(ev.Description)) > maxDescription {
		return nil, badEvent("description: longer than %d characters", maxDescription)
	}
	creator := ev.Creator
	switch {
	case ev.AppID != 0 && creator != "":
		return nil, badEvent("creator, app_id: a status has one creator (a login, or an app whose bot reports it)")
	case ev.AppID != 0:
		creator = w.appByID(ev.AppID).botLogin()
	case creator == "":
		creator = ev.User
	}
	if !loginRE.MatchString(creator) {
		return nil, badEvent("creator: %q is not a valid login", creator)
	}
	n := 0
	for _, s := range cm.statuses {
		if strings.EqualFold(s.context, ev.Context) {
			n++
		}
	}
	if n >= maxStatusesPerContext {
		return nil, badEvent("context: this SHA and context has reached the maximum number of statuses")
	}
	st := &status{id: w.newID(), sha: cm.sha, context: ev.Context, state: ev.State, description: ev.Description,
		targetURL: ev.TargetURL, creator: creator, createdAt: now}
	cm.statuses = append(cm.statuses, st)
	res.SHA = cm.sha
	return w.statusPayload(base, r, cm, st), nil
}

// statusPayload is the body of a status webhook; its sender is the creator.
func (w *world) statusPayload(base string, r *repo, cm *commit, st *status) map[string]any {
	branches := []any{}
	names := make([]string, 0, len(r.branches))
	for name := range r.branches {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if b := r.branches[name]; b.sha == cm.sha {
			branches = append(branches, map[string]any{"name": name, "protected": b.protected(),
				"commit": map[string]string{"sha": cm.sha, "url": base + "/repos/" + r.full + "/commits/" + cm.sha}})
		}
	}
	rc := &reqCtx{w: w, base: base, repo: r}
	return map[string]any{
		"id": st.id, "sha": cm.sha, "name": r.full, "target_url": strp(st.targetURL), "avatar_url": w.userJSON(base, st.creator).AvatarURL,
		"context": st.context, "description": strp(st.description), "state": st.state, "commit": rc.commitJSON(cm),
		"branches": branches, "created_at": ts(st.createdAt), "updated_at": ts(st.createdAt), "sender": w.userJSON(base, st.creator),
	}
}

func (w *world) checkRunEvent(base string, r *repo, ev *Event, action string, now time.Time, res *EventResult) (map[string]any, error) {
	if ev.AppID == 0 {
		ev.AppID = GitHubActionsAppID
	}
	var cr *checkRun
	// suiteDone: this run ended its suite (GitHub then sends check_suite.completed).
	suiteDone := false
	switch action {
	case "created", "completed":
	default:
		return nil, badEvent("type: check_run.%s is not supported", action)
	}
	if ev.CheckRunID != 0 {
		cr = r.checkRuns[ev.CheckRunID]
		if cr == nil {
			return nil, badEvent("check_run_id: no check run %d in %s", ev.CheckRunID, r.full)
		}
	}
	if cr == nil {
		cm := r.commits[ev.SHA]
		if cm == nil {
			return nil, badEvent("sha: no commit %q in %s", ev.SHA, r.full)
		}
		if ev.Name == "" {
			return nil, badEvent("name: missing")
		}
		if action == "completed" {
			for i := len(cm.checkRuns) - 1; i >= 0; i-- {
				c := cm.checkRuns[i]
				if c.name == ev.Name && c.appID == ev.AppID && c.status != "completed" {
					cr = c
					break
				}
			}
		}
		if cr == nil {
			spec := ScenarioCheckRun{Name: ev.Name, Status: ev.Status, Conclusion: ev.Conclusion, AppID: ev.AppID, Workflow: ev.Workflow}
			if action == "completed" {
				spec.Status = "completed"
			}
			if err := validateCheckRun("check_run", &spec); err != nil {
				return nil, badEvent("%v", err)
			}
			cr = w.addCheckRun(r, cm, checkRunSpec{name: spec.Name, status: spec.Status, conclusion: spec.Conclusion,
				appID: spec.AppID, workflow: spec.Workflow, headBranch: r.headBranchOf(cm.sha), actor: ev.User}, now)
			cr.creator = w.appByID(cr.appID).botLogin()
			suiteDone = cr.suite.status == "completed"
		}
	}
	if action == "completed" && cr.status != "completed" {
		if !checkConclusion[ev.Conclusion] {
			return nil, badEvent("conclusion: %q is not one of %s", ev.Conclusion, keys(checkConclusion))
		}
		t := now
		cr.status, cr.conclusion, cr.completedAt = "completed", ev.Conclusion, &t
		if cr.startedAt == nil {
			cr.startedAt = &t
		}
		suiteDone = w.refreshSuite(r, cr.suite, now)
	}
	if suiteDone {
		w.addFollowup(w.suiteCompletedHook(base, r, cr.suite, ev.User), EventResult{SHA: cr.headSHA})
	}
	res.SHA, res.CheckRunID = cr.headSHA, cr.id
	return map[string]any{"check_run": w.checkRunEventJSON(base, r, cr)}, nil
}

// checkRunEventJSON is the REST check run with its full check suite, as
// check_run webhooks carry it.
func (w *world) checkRunEventJSON(base string, r *repo, cr *checkRun) map[string]any {
	m := jsonMap(w.checkRunJSON(base, r, cr))
	sm := jsonMap(w.checkSuiteJSON(base, r, cr.suite))
	delete(sm, "repository")
	delete(sm, "latest_check_runs_count")
	delete(sm, "check_runs_url")
	delete(sm, "head_commit")
	m["check_suite"] = sm
	return m
}

func (w *world) checkSuiteEvent(base string, r *repo, ev *Event, action string, now time.Time, res *EventResult) (map[string]any, error) {
	if action != "completed" {
		return nil, badEvent("type: check_suite.%s is not supported", action)
	}
	if ev.AppID == 0 {
		ev.AppID = GitHubActionsAppID
	}
	if !checkConclusion[ev.Conclusion] {
		return nil, badEvent("conclusion: %q is not one of %s", ev.Conclusion, keys(checkConclusion))
	}
	var suite *checkSuite
	for _, s := range r.suites {
		if s.headSHA == ev.SHA && s.appID == ev.AppID && (ev.Workflow == "" || (s.run != nil && s.run.name == ev.Workflow)) {
			if suite == nil || s.id > suite.id {
				suite = s
			}
		}
	}
	if suite == nil {
		return nil, badEvent("sha: no check suite of app %d on %q", ev.AppID, ev.SHA)
	}
	// The suite completes when its runs do.
	for _, cr := range r.commits[suite.headSHA].checkRuns {
		if cr.suite == suite && cr.status != "completed" {
			t := now
			cr.status, cr.conclusion, cr.completedAt = "completed", ev.Conclusion, &t
		}
	}
	w.refreshSuite(r, suite, now)
	if suite.conclusion == "" {
		suite.status, suite.conclusion = "completed", ev.Conclusion
	}
	res.SHA = suite.headSHA
	return map[string]any{"check_suite": w.checkSuiteJSON(base, r, suite)}, nil
}

// protectionEvent changes a branch's classic protection; "deleted" removes it.
func (w *world) protectionEvent(base string, r *repo, ev *Event, action string, now time.Time) (map[string]any, error) {
	b := r.branches[ev.Branch]
	if b == nil {
		return nil, badEvent("branch: %q is not in %s", ev.Branch, r.full)
	}
	before := w.protectionRuleJSON(r, b, now)
	switch action {
	case "created", "edited":
		if ev.Protection == nil {
			return nil, badEvent("protection: missing (use branch_protection_rule.deleted to remove it)")
		}
		if action == "created" && b.protection != nil {
			return nil, badEvent("branch: %q is already protected", ev.Branch)
		}
		b.protection = deepCopyProtection(ev.Protection)
	case "deleted":
		if b.protection == nil {
			return nil, badEvent("branch: %q is not protected", ev.Branch)
		}
	default:
		return nil, badEvent("type: branch_protection_rule.%s is not supported", action)
	}
	rule := w.protectionRuleJSON(r, b, now)
	if action == "deleted" {
		b.protection = nil
	}
	payload := map[string]any{"rule": rule}
	if action == "edited" {
		// GitHub lists the old value of each setting that changed.
		changes := map[string]any{}
		for _, k := range []string{"required_status_checks", "required_status_checks_enforcement_level", "admin_enforced"} {
			if fmt.Sprint(before[k]) != fmt.Sprint(rule[k]) {
				changes[k] = map[string]any{"from": before[k]}
			}
		}
		payload["changes"] = changes
	}
	return payload, nil
}

func (w *world) protectionRuleJSON(r *repo, b *branch, now time.Time) map[string]any {
	contexts := []string{}
	level, strict := "off", false
	if p := b.protection; p != nil && p.RequiredStatusChecks != nil {
		contexts = append(contexts, requiredChecks("", p.RequiredStatusChecks).Contexts...)
		level, strict = "non_admins", p.RequiredStatusChecks.Strict
		if p.EnforceAdmins {
			level = "everyone"
		}
	}
	return map[string]any{
		"id": r.id*1000 + int64(len(b.name)), "repository_id": r.id, "name": b.name,
		"created_at": ts(r.createdAt), "updated_at": ts(now),
		"pull_request_reviews_enforcement_level": "off", "required_approving_review_count": 0,
		"dismiss_stale_reviews_on_push": false, "require_code_owner_review": false,
		"authorized_dismissal_actors_only": false, "ignore_approvals_from_contributors": false,
		"require_last_push_approval": false,
		"required_status_checks":     contexts, "required_status_checks_enforcement_level": level,
		"strict_required_status_checks_policy": strict, "signature_requirement_enforcement_level": "off",
		"linear_history_requirement_enforcement_level": "off", "lock_branch_enforcement_level": "off",
		"admin_enforced":                       b.protection != nil && b.protection.EnforceAdmins,
		"allow_force_pushes_enforcement_level": "off", "allow_deletions_enforcement_level": "off",
		"merge_queue_enforcement_level": "off", "required_deployments_enforcement_level": "off",
		"required_conversation_resolution_level": "off", "authorized_actors_only": false,
		"authorized_actor_names": []string{}, "lock_allows_fork_sync": false, "create_protected": false,
	}
}

// rulesetEvent replaces the rules of a branch (one repository ruleset per
// branch in the emulator); "deleted" removes them.
func (w *world) rulesetEvent(base string, r *repo, ev *Event, action string, now time.Time) (map[string]any, error) {
	b := r.branches[ev.Branch]
	if b == nil {
		return nil, badEvent("branch: %q is not in %s", ev.Branch, r.full)
	}
	switch action {
	case "created", "edited":
		for i, rule := range ev.Rules {
			if err := validateRule(fmt.Sprintf("rules[%d]", i), rule); err != nil {
				return nil, badEvent("%v", err)
			}
		}
		b.rules = deepCopyRules(ev.Rules)
	case "deleted":
	default:
		return nil, badEvent("type: repository_ruleset.%s is not supported", action)
	}
	rules := []ruleJSON{}
	for i, rule := range b.rules {
		rj := ruleJSONOf(r, i, rule)
		rules = append(rules, ruleJSON{Type: rj.Type, Parameters: rj.Parameters})
	}
	if action == "deleted" {
		b.rules = nil
	}
	id := r.id*100 + 1
	api := fmt.Sprintf("%s/repos/%s/rulesets/%d", base, r.full, id)
	return map[string]any{"repository_ruleset": map[string]any{
		"id": id, "name": b.name + " rules", "target": "branch", "source_type": "Repository", "source": r.full,
		"enforcement": "active", "bypass_actors": []any{}, "current_user_can_bypass": "never", "node_id": nodeID("RepositoryRuleset", id),
		"conditions": map[string]any{"ref_name": map[string]any{"include": []string{"refs/heads/" + b.name}, "exclude": []string{}}},
		"rules":      rules, "created_at": ts(r.createdAt), "updated_at": ts(now),
		"_links": map[string]any{"self": map[string]string{"href": api}, "html": map[string]string{"href": fmt.Sprintf("%s/%s/rules/%d", base, r.full, id)}},
	}}, nil
}

func (w *world) installationEvent(base string, ev *Event, action string, now time.Time) (map[string]any, error) {
	if action != "created" {
		return nil, badEvent("type: installation.%s is not supported", action)
	}
	if ev.InstallationID <= 0 || w.instByID[ev.InstallationID] != nil {
		return nil, badEvent("installation_id: missing or already used")
	}
	app := w.app
	if ev.AppID != 0 {
		if app = w.servedApp(ev.AppID); app == nil {
			return nil, badEvent("app_id: %d is not an app the emulator serves (the scenario's, or one made from a manifest)", ev.AppID)
		}
	}
	if !loginRE.MatchString(ev.Account) || w.appInstallationOf(app, ev.Account) != nil {
		return nil, badEvent("account: %q is not a valid account, or the app is already installed there", ev.Account)
	}
	if ev.AccountType != "" && ev.AccountType != "User" && ev.AccountType != "Organization" {
		return nil, badEvent("account_type: %q is not User or Organization", ev.AccountType)
	}
	repos, err := w.installableRepos(app, ev.Account, ev.Repos)
	if err != nil {
		return nil, err
	}
	in := w.addInstallation(app, ScenarioInstallation{ID: ev.InstallationID, Account: ev.Account, AccountType: ev.AccountType,
		Repos: ev.Repos}, now)
	for _, r := range repos {
		if in.accountType == "Organization" {
			r.ownerType = "Organization"
		}
		r.touch(now)
	}
	if ev.User == "" {
		ev.User = ev.Account
	}
	return map[string]any{"installation": w.installationJSON(base, in), "repositories": reposList(repos), "requester": nil,
		"sender": w.userJSON(base, ev.User)}, nil
}

func (w *world) installableRepos(app *appInfo, account string, names []string) ([]*repo, error) {
	var out []*repo
	for i, name := range names {
		r := w.repo(name)
		if r == nil {
			return nil, badEvent("repos[%d]: %q is not in the scenario", i, name)
		}
		if !strings.EqualFold(r.owner, account) {
			return nil, badEvent("repos[%d]: %q does not belong to %q", i, name, account)
		}
		if in := w.appInstallationFor(app, r); in != nil {
			return nil, badEvent("repos[%d]: %q is already in installation %d", i, name, in.id)
		}
		out = append(out, r)
	}
	return out, nil
}

func reposList(repos []*repo) []map[string]any {
	out := []map[string]any{}
	for _, r := range repos {
		out = append(out, map[string]any{"id": r.id, "node_id": nodeID("Repository", r.id), "name": r.name,
			"full_name": r.full, "private": r.private})
	}
	return out
}

func (w *world) installationReposEvent(base string, ev *Event, action string) (map[string]any, error) {
	if action != "added" {
		return nil, badEvent("type: installation_repositories.%s is not supported", action)
	}
	in := w.instByID[ev.InstallationID]
	if in == nil {
		return nil, badEvent("installation_id: no installation %d", ev.InstallationID)
	}
	if len(ev.Repos) == 0 {
		return nil, badEvent("repos: missing")
	}
	repos, err := w.installableRepos(in.app, in.account, ev.Repos)
	if err != nil {
		return nil, err
	}
	for _, r := range repos {
		if in.app == w.app {
			r.inst = in
		}
		in.repos = append(in.repos, r)
	}
	if ev.User == "" {
		ev.User = in.account
	}
	return map[string]any{"installation": w.installationJSON(base, in), "repositories_added": reposList(repos),
		"repositories_removed": []any{}, "repository_selection": "selected", "requester": nil,
		"sender": w.userJSON(base, ev.User)}, nil
}

// errNoWebhookURL is reported in EventResult.Skipped, not as an error.
var errNoWebhookURL = errors.New("no webhook URL set")
