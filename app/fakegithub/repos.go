package fakegithub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
)

func hGetRepo(c *reqCtx) resp {
	return ok(c.w.repoRaw(c.base, c.repo))
}

// resolveRef finds the commit a ref names: a SHA (or a prefix of at least 7
// characters), a branch, HEAD (the default branch), or the head branch of an
// open PR.
func (c *reqCtx) resolveRef(ref string) *commit {
	r := c.repo
	if cm := r.commits[ref]; cm != nil {
		return cm
	}
	if ref == "HEAD" {
		ref = r.defaultBranch
	}
	name := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/"), "heads/")
	if b := r.branches[name]; b != nil {
		return r.commits[b.sha]
	}
	if g := r.activeGroupRef(name); g != nil {
		return r.commits[g.headSHA]
	}
	for _, p := range r.pulls {
		if p.head == name && p.state == "open" {
			return r.commits[p.headSHA]
		}
	}
	if len(ref) >= 7 && len(ref) < 40 && isHex(ref) {
		var found *commit
		for sha, cm := range r.commits {
			if strings.HasPrefix(sha, ref) {
				if found != nil {
					return nil // ambiguous
				}
				found = cm
			}
		}
		return found
	}
	return nil
}

func isHex(s string) bool {
	for _, ch := range s {
		if !strings.ContainsRune("0123456789abcdef", ch) {
			return false
		}
	}
	return true
}

type collaboratorJSON struct {
	*userJSON
	Permissions repoPermsJSON `json:"permissions"`
	RoleName    string        `json:"role_name"`
}

// roleOf is a user's role on a repository: the owner is admin, then the
// collaborators; anyone else can read a public repository.
func roleOf(r *repo, login string) string {
	if strings.EqualFold(login, r.owner) {
		return "admin"
	}
	if role, ok := r.collaborators[strings.ToLower(login)]; ok {
		return role
	}
	if r.private {
		return "none"
	}
	return "read"
}

func hCollaboratorPermission(c *reqCtx) resp {
	login := c.params["username"]
	role := roleOf(c.repo, login)
	// GitHub's permission field knows only admin, write, read and none.
	perm := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none"}[role]
	rank := map[string]int{"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}[role]
	u := collaboratorJSON{userJSON: c.w.userJSON(c.base, login), RoleName: role,
		Permissions: repoPermsJSON{Admin: rank >= 5, Maintain: rank >= 4, Push: rank >= 3, Triage: rank >= 2, Pull: rank >= 1}}
	return ok(map[string]any{"permission": perm, "role_name": role, "user": u})
}

type contentJSON struct {
	Type        string            `json:"type"`
	Encoding    string            `json:"encoding,omitempty"`
	Size        int               `json:"size"`
	Name        string            `json:"name"`
	Path        string            `json:"path"`
	Content     *string           `json:"content,omitempty"`
	SHA         string            `json:"sha"`
	URL         string            `json:"url"`
	GitURL      *string           `json:"git_url"`
	HTMLURL     *string           `json:"html_url"`
	DownloadURL *string           `json:"download_url"`
	Links       map[string]string `json:"_links"`
}

// contentEntry is one entry of the contents API; for a directory, content
// is the directory's tree id.
func (c *reqCtx) contentEntry(ref, p, typ, content string, withContent bool) contentJSON {
	r := c.repo
	sha := blobSHA(content)
	gitURL := fmt.Sprintf("%s/repos/%s/git/blobs/%s", c.base, r.full, sha)
	html := fmt.Sprintf("%s/%s/blob/%s/%s", c.base, r.full, ref, p)
	self := fmt.Sprintf("%s/repos/%s/contents/%s?ref=%s", c.base, r.full, p, ref)
	e := contentJSON{Type: typ, Size: len(content), Name: path.Base(p), Path: p, SHA: sha, URL: self,
		GitURL: &gitURL, HTMLURL: &html, Links: map[string]string{"self": self, "git": gitURL, "html": html}}
	if typ == "file" {
		dl := fmt.Sprintf("%s/%s/raw/%s/%s", c.base, r.full, ref, p)
		e.DownloadURL = &dl
	} else {
		e.Size = 0
		e.SHA = content
		gitURL = fmt.Sprintf("%s/repos/%s/git/trees/%s", c.base, r.full, e.SHA)
		html = fmt.Sprintf("%s/%s/tree/%s/%s", c.base, r.full, ref, p)
		e.Links = map[string]string{"self": self, "git": gitURL, "html": html}
	}
	if withContent {
		enc := wrap64(base64.StdEncoding.EncodeToString([]byte(content)))
		e.Content, e.Encoding = &enc, "base64"
	}
	return e
}

// wrap64 breaks base64 text into lines of 60 characters, as GitHub sends it.
func wrap64(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return b.String()
}

func hContents(c *reqCtx) resp {
	ref := c.query.Get("ref")
	if ref == "" {
		ref = c.repo.defaultBranch
	}
	cm := c.resolveRef(ref)
	if cm == nil {
		return c.errResp(http.StatusNotFound, "No commit found for the ref "+ref)
	}
	tree := c.w.treeAt(c.repo, cm)
	p := strings.Trim(c.params["path"], "/")
	if content, found := tree[p]; found {
		accept := c.r.Header.Get("Accept")
		if strings.Contains(accept, ".raw") {
			return resp{status: http.StatusOK, raw: []byte(content), contentType: "application/vnd.github.raw; charset=utf-8"}
		}
		return ok(c.contentEntry(ref, p, "file", content, true))
	}
	// A directory: list its direct children.
	prefix := p + "/"
	children := map[string]string{}
	for f, content := range tree {
		if !strings.HasPrefix(f, prefix) {
			continue
		}
		rest := f[len(prefix):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			children[prefix+rest[:i]] = "dir"
		} else {
			children[f] = "file:" + content
		}
	}
	if len(children) == 0 {
		return c.notFound()
	}
	names := make([]string, 0, len(children))
	for n := range children {
		names = append(names, n)
	}
	sort.Strings(names)
	// GitHub lists the first 1,000 entries and says nothing of the rest.
	names = names[:min(len(names), maxDirEntries)]
	root := newGitTree(tree)
	out := make([]contentJSON, 0, len(names))
	for _, n := range names {
		kind := children[n]
		if kind == "dir" {
			out = append(out, c.contentEntry(ref, n, "dir", root.find(n).sha(), false))
		} else {
			out = append(out, c.contentEntry(ref, n, "file", strings.TrimPrefix(kind, "file:"), false))
		}
	}
	return ok(out)
}

type commitJSON struct {
	SHA         string          `json:"sha"`
	NodeID      string          `json:"node_id"`
	URL         string          `json:"url"`
	HTMLURL     string          `json:"html_url"`
	CommentsURL string          `json:"comments_url"`
	Commit      commitInnerJSON `json:"commit"`
	Author      *userJSON       `json:"author"`
	Committer   *userJSON       `json:"committer"`
	Parents     []parentJSON    `json:"parents"`
}

type commitInnerJSON struct {
	URL          string        `json:"url"`
	Author       *gitActorJSON `json:"author"`
	Committer    *gitActorJSON `json:"committer"`
	Message      string        `json:"message"`
	Tree         parentJSON    `json:"tree"`
	CommentCount int           `json:"comment_count"`
	Verification struct {
		Verified   bool    `json:"verified"`
		Reason     string  `json:"reason"`
		Signature  *string `json:"signature"`
		Payload    *string `json:"payload"`
		VerifiedAt *string `json:"verified_at"`
	} `json:"verification"`
}

type parentJSON struct {
	SHA     string `json:"sha"`
	URL     string `json:"url"`
	HTMLURL string `json:"html_url,omitempty"`
}

func (c *reqCtx) commitJSON(cm *commit) commitJSON {
	r := c.repo
	api := c.base + "/repos/" + r.full
	actor := gitActor(cm.author)
	actor.Date = ts(cm.date)
	out := commitJSON{SHA: cm.sha, NodeID: nodeID("Commit", int64(len(cm.sha))), URL: api + "/commits/" + cm.sha,
		HTMLURL: c.base + "/" + r.full + "/commit/" + cm.sha, CommentsURL: api + "/commits/" + cm.sha + "/comments",
		Author: c.w.userJSON(c.base, cm.author), Committer: c.w.userJSON(c.base, cm.author), Parents: []parentJSON{}}
	tree := fakeSHA("tree", cm.sha)
	out.Commit = commitInnerJSON{URL: api + "/git/commits/" + cm.sha, Author: actor, Committer: actor, Message: cm.message,
		Tree: parentJSON{SHA: tree, URL: api + "/git/trees/" + tree}}
	out.Commit.Verification.Reason = "unsigned"
	if cm.parent != "" {
		out.Parents = append(out.Parents, parentJSON{SHA: cm.parent, URL: api + "/commits/" + cm.parent,
			HTMLURL: c.base + "/" + r.full + "/commit/" + cm.parent})
	}
	return out
}

// maxCompareFiles is GitHub's limit on files in a comparison.
const maxCompareFiles = 300

// hCompare compares two commits along the parent chain the emulator knows.
// A PR head that does not descend from the base is treated as based on it,
// with the PR's files.
func hCompare(c *reqCtx) resp {
	baseRef, headRef, found := strings.Cut(c.params["basehead"], "...")
	if !found {
		baseRef, headRef, found = strings.Cut(c.params["basehead"], "..")
	}
	if !found {
		return c.notFound()
	}
	base, head := c.resolveRef(baseRef), c.resolveRef(headRef)
	if base == nil || head == nil {
		return c.notFound()
	}
	var chain []*commit
	status := "identical"
	files := map[string]File{}
	var order []string
	addFiles := func(fs []File) {
		for _, f := range fs {
			if _, ok := files[f.Filename]; !ok {
				order = append(order, f.Filename)
			}
			files[f.Filename] = f
		}
	}
	if base.sha != head.sha {
		status = "diverged"
		for cm := head; cm != nil && len(chain) < 250; cm = c.repo.commits[cm.parent] {
			if cm.sha == base.sha {
				status = "ahead"
				break
			}
			chain = append([]*commit{cm}, chain...)
			if cm.parent == "" {
				break
			}
		}
		if status == "diverged" && head.pr != nil {
			status = "ahead"
			chain = []*commit{head}
		}
		for _, cm := range chain {
			addFiles(cm.changes)
		}
	}
	ahead := len(chain)
	if status == "identical" {
		ahead = 0
	}
	commits := make([]commitJSON, 0, len(chain))
	for _, cm := range chain {
		commits = append(commits, c.commitJSON(cm))
	}
	fj := make([]fileJSON, 0, len(order))
	for _, name := range order {
		if len(fj) == maxCompareFiles {
			break
		}
		fj = append(fj, fileJSONOf(c.base, c.repo, head.sha, files[name]))
	}
	web := c.base + "/" + c.repo.full + "/compare/" + base.sha + "..." + head.sha
	baseJSON := c.commitJSON(base)
	return ok(map[string]any{
		"url":               c.base + "/repos/" + c.repo.full + "/compare/" + c.params["basehead"],
		"html_url":          web,
		"permalink_url":     web,
		"diff_url":          web + ".diff",
		"patch_url":         web + ".patch",
		"base_commit":       baseJSON,
		"merge_base_commit": baseJSON,
		"status":            status,
		"ahead_by":          ahead,
		"behind_by":         0,
		"total_commits":     len(commits),
		"commits":           commits,
		"files":             fj,
	})
}

// rawJSON marshals v; used where a response embeds cached JSON.
func rawJSON(v any) json.RawMessage {
	data, _ := json.Marshal(v)
	return data
}
