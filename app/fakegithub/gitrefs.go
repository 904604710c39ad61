package fakegithub

import (
	"net/url"
	"sort"
	"strings"
)

// refUserManifestRoutes are the operations of the merge queues' Git refs,
// user tokens (oauth.go) and the manifest flow (manifest.go). All but
// GET .../git/refs are in testdata/openapi/github-more.json; that one GitHub
// serves without describing it.
func refUserManifestRoutes() []*route {
	const refs = "https://docs.github.com/rest/git/refs"
	return []*route{
		{method: "GET", tmpl: "/repos/{owner}/{repo}/git/ref/{ref+}", perms: []string{"contents:read"}, docs: refs + "#get-a-reference", h: hGetRef},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/git/refs", perms: []string{"contents:read"}, docs: refs + "#list-matching-references", h: hListRefs},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/git/matching-refs/{ref+}", perms: []string{"contents:read"}, docs: refs + "#list-matching-references", h: hListRefs},
		{method: "GET", tmpl: "/user", auth: authAny, docs: "https://docs.github.com/rest/users/users#get-the-authenticated-user", h: hGetUser},
		{method: "POST", tmpl: "/app-manifests/{code}/conversions", auth: authAny, write: true,
			docs: "https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest", h: hConvertManifest},
	}
}

type gitRefJSON struct {
	Ref    string        `json:"ref"`
	NodeID string        `json:"node_id"`
	URL    string        `json:"url"`
	Object gitObjectJSON `json:"object"`
}

type gitObjectJSON struct {
	Type string `json:"type"`
	SHA  string `json:"sha"`
	URL  string `json:"url"`
}

// gitRefs lists the repository's refs by name: its branches and the
// branches of the merge groups in its queues.
func (c *reqCtx) gitRefs() []gitRefJSON {
	heads := map[string]string{}
	for name, b := range c.repo.branches {
		heads["refs/heads/"+name] = b.sha
	}
	for _, g := range c.repo.mergeGroups {
		if g.active() {
			heads[g.headRef] = g.headSHA
		}
	}
	names := make([]string, 0, len(heads))
	for n := range heads {
		names = append(names, n)
	}
	sort.Strings(names)
	api := c.base + "/repos/" + c.repo.full + "/git/"
	out := make([]gitRefJSON, 0, len(names))
	for _, n := range names {
		escaped := (&url.URL{Path: n}).EscapedPath()
		out = append(out, gitRefJSON{Ref: n, NodeID: opaqueIDString("Ref", c.repo.full, n), URL: api + escaped,
			Object: gitObjectJSON{Type: "commit", SHA: heads[n], URL: api + "commits/" + heads[n]}})
	}
	return out
}

func opaqueIDString(kind string, parts ...string) string { return string(opaqueID(kind, parts...)) }

// hGetRef answers one ref, named without "refs/" ("heads/main").
func hGetRef(c *reqCtx) resp {
	want := "refs/" + c.params["ref"]
	for _, r := range c.gitRefs() {
		if r.Ref == want {
			return ok(r)
		}
	}
	return c.notFound()
}

// hListRefs lists every ref, or those whose name starts with refs/<ref>
// (matching-refs; a trailing slash is part of the prefix).
func hListRefs(c *reqCtx) resp {
	prefix := "refs/"
	if ref, ok := c.params["ref"]; ok {
		prefix += ref
		if strings.HasSuffix(c.r.URL.Path, "/") {
			prefix += "/"
		}
	}
	var list []gitRefJSON
	for _, r := range c.gitRefs() {
		if strings.HasPrefix(r.Ref, prefix) {
			list = append(list, r)
		}
	}
	lo, hi := c.paginate(len(list), 100)
	return ok(append([]gitRefJSON{}, list[lo:hi]...))
}
