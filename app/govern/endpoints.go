package govern

import (
	"net/http"
	"net/url"
	"strings"
)

// restRoutes are the REST operations fix-status calls, by GitHub's route
// templates: GitHub counts its per-minute points per endpoint, so requests
// to one template share a budget whatever their parameters. A parameter
// that GitHub's template lets span several segments (a ref, a branch) is
// one segment here: go-github escapes the slashes of a branch, and refs are
// SHAs. A contents path is the template's last parameter and may span
// segments.
var restRoutes = []string{
	"GET /app",
	"GET /app/installations",
	"GET /app/installations/{installation_id}",
	"POST /app/installations/{installation_id}/access_tokens",
	"GET /app/hook/deliveries",
	"GET /app/hook/deliveries/{delivery_id}",
	"POST /app/hook/deliveries/{delivery_id}/attempts",
	"GET /installation/repositories",
	"GET /orgs/{org}/installation",
	"GET /users/{username}/installation",
	"GET /rate_limit",
	"GET /repos/{owner}/{repo}",
	"GET /repos/{owner}/{repo}/installation",
	"GET /repos/{owner}/{repo}/pulls",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}",
	"GET /repos/{owner}/{repo}/pulls/{pull_number}/files",
	"GET /repos/{owner}/{repo}/commits/{ref}/status",
	"GET /repos/{owner}/{repo}/commits/{ref}/statuses",
	"GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
	"GET /repos/{owner}/{repo}/commits/{ref}/check-suites",
	"GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls",
	"POST /repos/{owner}/{repo}/statuses/{sha}",
	"POST /repos/{owner}/{repo}/check-runs",
	"GET /repos/{owner}/{repo}/check-runs/{check_run_id}",
	"PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
	"POST /repos/{owner}/{repo}/check-suites/{check_suite_id}/rerequest",
	"GET /repos/{owner}/{repo}/actions/runs",
	"POST /repos/{owner}/{repo}/actions/runs/{run_id}/rerun",
	"GET /repos/{owner}/{repo}/branches/{branch}/protection",
	"GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks",
	"GET /repos/{owner}/{repo}/rules/branches/{branch}",
	"GET /repos/{owner}/{repo}/contents/{path...}",
	"GET /repos/{owner}/{repo}/compare/{basehead}",
	"GET /repos/{owner}/{repo}/git/trees/{tree_sha}",
	"GET /repos/{owner}/{repo}/git/blobs/{file_sha}",
	"GET /repos/{owner}/{repo}/git/ref/{ref...}",
	"GET /repos/{owner}/{repo}/git/matching-refs/{ref...}",
	"GET /repos/{owner}/{repo}/git/refs",
	"GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
	"POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
	"POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
	"GET /repos/{owner}/{repo}/collaborators/{username}/permission",
}

// endpoints names the endpoint of a request. net/http's ServeMux does the
// matching: it knows GitHub's template syntax ({name}, a final {name...})
// and picks the most specific pattern.
type endpoints struct {
	mux *http.ServeMux
}

// matched is the handler every pattern shares: a request routed elsewhere
// (a redirect to a cleaned path, not found) has no template.
type matched struct{}

func (*matched) ServeHTTP(http.ResponseWriter, *http.Request) {}

var routeMarker = &matched{}

func newEndpoints() *endpoints {
	mux := http.NewServeMux()
	for _, p := range restRoutes {
		mux.Handle(p, routeMarker)
	}
	return &endpoints{mux: mux}
}

// of returns the endpoint of a request to escapedPath (below the API
// root, as URL.EscapedPath gives it: an escaped slash stays inside its
// segment). A path no template matches is counted with every other path of
// its group (a repository's issues, say): coarser than GitHub, so never
// over its limit.
func (e *endpoints) of(method, escapedPath string) string {
	if !strings.HasPrefix(escapedPath, "/") {
		escapedPath = "/" + escapedPath
	}
	u := &url.URL{Path: escapedPath, RawPath: escapedPath}
	if p, err := url.PathUnescape(escapedPath); err == nil {
		u.Path = p
	}
	if h, pattern := e.mux.Handler(&http.Request{Method: method, URL: u}); h == routeMarker {
		// A HEAD request is GET's endpoint.
		return pattern
	}
	segs := strings.Split(strings.Trim(escapedPath, "/"), "/")
	if segs[0] == "repos" && len(segs) > 3 {
		return method + " /repos/{owner}/{repo}/" + segs[3] + "/*"
	}
	return method + " /" + segs[0] + "/*"
}
