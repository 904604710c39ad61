package fakegithub

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// GitHub's limits: a contents listing shows at most 1,000 entries of a
// directory (the rest are silently missing); a recursive tree at most
// 100,000 entries, then it says truncated.
const (
	maxDirEntries  = 1000
	maxTreeEntries = 100_000
)

// gitTree is a directory of a commit's files, with git's object ids.
type gitTree struct {
	files map[string]string // name → content
	dirs  map[string]*gitTree
	id    string // memoized sha
}

func newGitTree(files map[string]string) *gitTree {
	root := &gitTree{files: map[string]string{}, dirs: map[string]*gitTree{}}
	for p, content := range files {
		n := root
		parts := strings.Split(p, "/")
		for _, d := range parts[:len(parts)-1] {
			sub := n.dirs[d]
			if sub == nil {
				sub = &gitTree{files: map[string]string{}, dirs: map[string]*gitTree{}}
				n.dirs[d] = sub
			}
			n = sub
		}
		n.files[parts[len(parts)-1]] = content
	}
	return root
}

// gitEntry is one entry of a tree.
type gitEntry struct {
	name    string
	dir     *gitTree // nil for a file
	content string
}

// entries are the tree's entries in git's order (a directory sorts as if
// its name ended with "/").
func (t *gitTree) entries() []gitEntry {
	out := make([]gitEntry, 0, len(t.files)+len(t.dirs))
	for n, c := range t.files {
		out = append(out, gitEntry{name: n, content: c})
	}
	for n, d := range t.dirs {
		out = append(out, gitEntry{name: n, dir: d})
	}
	key := func(e gitEntry) string {
		if e.dir != nil {
			return e.name + "/"
		}
		return e.name
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// sha is git's object id of the tree.
func (t *gitTree) sha() string {
	if t.id != "" {
		return t.id
	}
	var body strings.Builder
	for _, e := range t.entries() {
		mode, id := "100644", blobSHA(e.content)
		if e.dir != nil {
			mode, id = "40000", e.dir.sha()
		}
		raw, _ := hex.DecodeString(id)
		fmt.Fprintf(&body, "%s %s\x00%s", mode, e.name, raw)
	}
	h := sha1.New()
	fmt.Fprintf(h, "tree %d\x00", body.Len())
	h.Write([]byte(body.String()))
	t.id = hex.EncodeToString(h.Sum(nil))
	return t.id
}

// find is the subtree at a path ("" = t), or nil.
func (t *gitTree) find(p string) *gitTree {
	if p == "" {
		return t
	}
	n := t
	for _, d := range strings.Split(p, "/") {
		if n = n.dirs[d]; n == nil {
			return nil
		}
	}
	return n
}

// withSHA is the subtree whose object id is sha, or nil.
func (t *gitTree) withSHA(sha string) *gitTree {
	if t.sha() == sha {
		return t
	}
	for _, d := range t.dirs {
		if f := d.withSHA(sha); f != nil {
			return f
		}
	}
	return nil
}

// commitsByRelevance lists a repository's commits, branch heads and PR
// heads first (where a client's tree and blob ids usually come from).
func (r *repo) commitsByRelevance() []*commit {
	seen := map[string]bool{}
	var out []*commit
	add := func(sha string) {
		if c := r.commits[sha]; c != nil && !seen[sha] {
			seen[sha] = true
			out = append(out, c)
		}
	}
	for _, n := range sortedKeys(r.branches) {
		add(r.branches[n].sha)
	}
	for _, p := range r.pulls {
		add(p.headSHA)
	}
	for _, sha := range sortedKeys(r.commits) {
		add(sha)
	}
	return out
}

// treeFor resolves the tree_sha of the trees API: a commit SHA, a branch,
// HEAD (as in the contents API), or a tree's own id.
func (c *reqCtx) treeFor(ref string) *gitTree {
	if cm := c.resolveRef(ref); cm != nil {
		return newGitTree(c.w.treeAt(c.repo, cm))
	}
	if len(ref) != 40 || !isHex(ref) {
		return nil
	}
	for _, cm := range c.repo.commitsByRelevance() {
		if t := newGitTree(c.w.treeAt(c.repo, cm)).withSHA(ref); t != nil {
			return t
		}
	}
	return nil
}

type gitTreeEntryJSON struct {
	Path string `json:"path"`
	Mode string `json:"mode"`
	Type string `json:"type"`
	SHA  string `json:"sha"`
	Size *int   `json:"size,omitempty"`
	URL  string `json:"url"`
}

type gitTreeJSON struct {
	SHA       string             `json:"sha"`
	URL       string             `json:"url"`
	Tree      []gitTreeEntryJSON `json:"tree"`
	Truncated bool               `json:"truncated"`
}

// hGitTree serves GET /repos/{o}/{r}/git/trees/{tree_sha}: the tree's
// entries, or with recursive (any value) every entry below it, up to
// GitHub's 100,000 (then truncated).
func hGitTree(c *reqCtx) resp {
	t := c.treeFor(c.params["tree_sha"])
	if t == nil {
		return c.notFound()
	}
	api := c.base + "/repos/" + c.repo.full + "/git/"
	_, recursive := c.query["recursive"]
	out := gitTreeJSON{SHA: t.sha(), URL: api + "trees/" + t.sha(), Tree: []gitTreeEntryJSON{}}
	var walk func(n *gitTree, prefix string) bool
	walk = func(n *gitTree, prefix string) bool {
		for _, e := range n.entries() {
			if len(out.Tree) == maxTreeEntries {
				out.Truncated = true
				return false
			}
			if e.dir != nil {
				out.Tree = append(out.Tree, gitTreeEntryJSON{Path: prefix + e.name, Mode: "040000", Type: "tree", SHA: e.dir.sha(), URL: api + "trees/" + e.dir.sha()})
				if recursive && !walk(e.dir, prefix+e.name+"/") {
					return false
				}
				continue
			}
			size := len(e.content)
			sha := blobSHA(e.content)
			out.Tree = append(out.Tree, gitTreeEntryJSON{Path: prefix + e.name, Mode: "100644", Type: "blob", SHA: sha, Size: &size, URL: api + "blobs/" + sha})
		}
		return true
	}
	walk(t, "")
	return ok(out)
}

type blobJSON struct {
	SHA      string `json:"sha"`
	NodeID   string `json:"node_id"`
	Size     int    `json:"size"`
	URL      string `json:"url"`
	Content  string `json:"content"`
	Encoding string `json:"encoding"`
}

// hGitBlob serves GET /repos/{o}/{r}/git/blobs/{file_sha}: a file of any
// known commit, base64 (or raw with the raw media type).
func hGitBlob(c *reqCtx) resp {
	sha := c.params["file_sha"]
	if len(sha) != 40 || !isHex(sha) {
		return c.invalid("Blob", "sha", "invalid", "The sha parameter must be exactly 40 characters and contain only [0-9a-f].")
	}
	for _, cm := range c.repo.commitsByRelevance() {
		for _, content := range c.w.treeAt(c.repo, cm) {
			if blobSHA(content) != sha {
				continue
			}
			if strings.Contains(c.r.Header.Get("Accept"), ".raw") {
				return resp{status: http.StatusOK, raw: []byte(content), contentType: "application/vnd.github.raw; charset=utf-8"}
			}
			return ok(blobJSON{SHA: sha, NodeID: nodeID("Blob", int64(len(content))), Size: len(content),
				URL: c.base + "/repos/" + c.repo.full + "/git/blobs/" + sha, Content: wrap64(base64.StdEncoding.EncodeToString([]byte(content))), Encoding: "base64"})
		}
	}
	return c.notFound()
}
