package fakegithub

import (
	"net/url"
	"strings"
)

type authKind int

const (
	// authToken: an installation token (or no token, for public reads).
	authToken authKind = iota
	// authJWT: the app's JWT only (/app endpoints).
	authJWT
	// authAny: any credentials or none (GET /rate_limit).
	authAny
)

type route struct {
	method string
	tmpl   string // OpenAPI path template; {name+} takes one or more segments
	key    string // "METHOD /template" as in the stats and faults
	segs   []string
	auth   authKind
	// perms lists alternative permissions, any of which allows the call,
	// e.g. "issues:write", "pull_requests:write".
	perms   []string
	write   bool
	charged bool
	docs    string
	h       func(*reqCtx) resp
}

// routeTable lists every emulated operation. The templates are the OpenAPI
// paths of github-subset.json (plus a few operations outside it, marked).
func routeTable() []*route {
	const (
		apps     = "https://docs.github.com/rest/apps/apps"
		inst     = "https://docs.github.com/rest/apps/installations"
		pulls    = "https://docs.github.com/rest/pulls/pulls"
		statuses = "https://docs.github.com/rest/commits/statuses"
		runs     = "https://docs.github.com/rest/checks/runs"
		suites   = "https://docs.github.com/rest/checks/suites"
		wfruns   = "https://docs.github.com/rest/actions/workflow-runs"
		prot     = "https://docs.github.com/rest/branches/branch-protection"
		rules    = "https://docs.github.com/rest/repos/rules"
		contents = "https://docs.github.com/rest/repos/contents"
		comments = "https://docs.github.com/rest/issues/comments"
	)
	rs := []*route{
		// Outside the OpenAPI subset: GET /app, GET /app/installations/{id}, GET /users/{u}/installation.
		{method: "GET", tmpl: "/app", auth: authJWT, docs: apps + "#get-the-authenticated-app", h: hGetApp},
		{method: "GET", tmpl: "/app/installations", auth: authJWT, docs: apps + "#list-installations-for-the-authenticated-app", h: hListInstallations},
		{method: "GET", tmpl: "/app/installations/{installation_id}", auth: authJWT, docs: apps + "#get-an-installation-for-the-authenticated-app", h: hGetInstallation},
		{method: "POST", tmpl: "/app/installations/{installation_id}/access_tokens", auth: authJWT, docs: apps + "#create-an-installation-access-token-for-an-app", h: hCreateToken, write: true},
		{method: "GET", tmpl: "/installation/repositories", charged: true, docs: inst + "#list-repositories-accessible-to-the-app-installation", h: hInstallationRepos},
		{method: "GET", tmpl: "/orgs/{org}/installation", auth: authJWT, docs: apps + "#get-an-organization-installation-for-the-authenticated-app", h: hOrgInstallation},
		{method: "GET", tmpl: "/users/{username}/installation", auth: authJWT, docs: apps + "#get-a-user-installation-for-the-authenticated-app", h: hUserInstallation},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/installation", auth: authJWT, docs: apps + "#get-a-repository-installation-for-the-authenticated-app", h: hRepoInstallation},
		// Outside the subset (github-more.json): the app's webhook deliveries.
		{method: "GET", tmpl: "/app/hook/deliveries", auth: authJWT, docs: "https://docs.github.com/rest/apps/webhooks#list-deliveries-for-an-app-webhook", h: hListHookDeliveries},
		{method: "GET", tmpl: "/app/hook/deliveries/{delivery_id}", auth: authJWT, docs: "https://docs.github.com/rest/apps/webhooks#get-a-delivery-for-an-app-webhook", h: hGetHookDelivery},
		{method: "POST", tmpl: "/app/hook/deliveries/{delivery_id}/attempts", auth: authJWT, write: true, docs: "https://docs.github.com/rest/apps/webhooks#redeliver-a-delivery-for-an-app-webhook", h: hRedeliverHookDelivery},
		// GitHub does not charge GET /rate_limit.
		{method: "GET", tmpl: "/rate_limit", auth: authAny, docs: "https://docs.github.com/rest/rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user", h: hRateLimit},

		{method: "GET", tmpl: "/repos/{owner}/{repo}", perms: []string{"metadata:read"}, docs: "https://docs.github.com/rest/repos/repos#get-a-repository", h: hGetRepo},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/pulls", perms: []string{"pull_requests:read"}, docs: pulls + "#list-pull-requests", h: hListPulls},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/pulls/{pull_number}", perms: []string{"pull_requests:read"}, docs: pulls + "#get-a-pull-request", h: hGetPull},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/pulls/{pull_number}/files", perms: []string{"pull_requests:read"}, docs: pulls + "#list-pull-requests-files", h: hListPullFiles},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/commits/{ref+}/status", perms: []string{"statuses:read"}, docs: statuses + "#get-the-combined-status-for-a-specific-reference", h: hCombinedStatus},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/commits/{ref+}/statuses", perms: []string{"statuses:read"}, docs: statuses + "#list-commit-statuses-for-a-reference", h: hListStatuses},
		{method: "POST", tmpl: "/repos/{owner}/{repo}/statuses/{sha}", perms: []string{"statuses:write"}, write: true, docs: statuses + "#create-a-commit-status", h: hCreateStatus},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/commits/{ref+}/check-runs", perms: []string{"checks:read"}, docs: runs + "#list-check-runs-for-a-git-reference", h: hListCheckRuns},
		{method: "POST", tmpl: "/repos/{owner}/{repo}/check-runs", perms: []string{"checks:write"}, write: true, docs: runs + "#create-a-check-run", h: hCreateCheckRun},
		// Outside the subset: get and update a check run.
		{method: "GET", tmpl: "/repos/{owner}/{repo}/check-runs/{check_run_id}", perms: []string{"checks:read"}, docs: runs + "#get-a-check-run", h: hGetCheckRun},
		{method: "PATCH", tmpl: "/repos/{owner}/{repo}/check-runs/{check_run_id}", perms: []string{"checks:write"}, write: true, docs: runs + "#update-a-check-run", h: hUpdateCheckRun},
		// Outside the subset (github-more.json): pulls of a commit, Git trees and blobs.
		{method: "GET", tmpl: "/repos/{owner}/{repo}/commits/{commit_sha}/pulls", perms: []string{"contents:read,pull_requests:read"}, docs: "https://docs.github.com/rest/commits/commits#list-pull-requests-associated-with-a-commit", h: hCommitPulls},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/git/trees/{tree_sha+}", perms: []string{"contents:read"}, docs: "https://docs.github.com/rest/git/trees#get-a-tree", h: hGitTree},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/git/blobs/{file_sha}", perms: []string{"contents:read"}, docs: "https://docs.github.com/rest/git/blobs#get-a-blob", h: hGitBlob},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/commits/{ref+}/check-suites", perms: []string{"checks:read"}, docs: suites + "#list-check-suites-for-a-git-reference", h: hListCheckSuites},
		{method: "POST", tmpl: "/repos/{owner}/{repo}/check-suites/{check_suite_id}/rerequest", perms: []string{"checks:write"}, write: true, docs: suites + "#rerequest-a-check-suite", h: hRerequestSuite},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/actions/runs", perms: []string{"actions:read"}, docs: wfruns + "#list-workflow-runs-for-a-repository", h: hListRuns},
		{method: "POST", tmpl: "/repos/{owner}/{repo}/actions/runs/{run_id}/rerun", perms: []string{"actions:write"}, write: true, docs: wfruns + "#re-run-a-workflow", h: hRerun},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/branches", perms: []string{"contents:read"}, docs: "https://docs.github.com/rest/branches/branches#list-branches", h: hListBranches},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/branches/{branch+}/protection", perms: []string{"administration:read"}, docs: prot + "#get-branch-protection", h: hProtection},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/branches/{branch+}/protection/required_status_checks", perms: []string{"administration:read"}, docs: prot + "#get-status-checks-protection", h: hRequiredChecks},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/rules/branches/{branch+}", perms: []string{"metadata:read"}, docs: rules + "#get-rules-for-a-branch", h: hRules},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/contents/{path+}", perms: []string{"contents:read"}, docs: contents + "#get-repository-content", h: hContents},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/compare/{basehead+}", perms: []string{"contents:read"}, docs: "https://docs.github.com/rest/commits/commits#compare-two-commits", h: hCompare},
		// Outside the subset: list comments.
		{method: "GET", tmpl: "/repos/{owner}/{repo}/issues/{issue_number}/comments", perms: []string{"issues:read", "pull_requests:read"}, docs: comments + "#list-issue-comments", h: hListComments},
		{method: "POST", tmpl: "/repos/{owner}/{repo}/issues/{issue_number}/comments", perms: []string{"issues:write", "pull_requests:write"}, write: true, docs: comments + "#create-an-issue-comment", h: hCreateComment},
		{method: "POST", tmpl: "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", perms: []string{"issues:write", "pull_requests:write"}, write: true, docs: "https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment", h: hCreateReaction},
		{method: "GET", tmpl: "/repos/{owner}/{repo}/collaborators/{username}/permission", perms: []string{"metadata:read"}, docs: "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user", h: hCollaboratorPermission},
	}
	rs = append(rs, refUserManifestRoutes()...)
	for _, r := range rs {
		r.segs = strings.Split(strings.Trim(r.tmpl, "/"), "/")
		r.key = r.method + " " + strings.ReplaceAll(r.tmpl, "+}", "}")
		if r.auth == authToken {
			r.charged = true
		}
	}
	return rs
}

var routes = routeTable()

// RouteKeys lists the "METHOD /template" keys of every emulated operation.
func RouteKeys() []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.key
	}
	return out
}

// matchRoute finds the route for a method and an escaped path, and returns
// its unescaped parameters.
func matchRoute(method, escapedPath string) (*route, map[string]string) {
	p := strings.Trim(escapedPath, "/")
	if p == "" {
		return nil, nil
	}
	segs := strings.Split(p, "/")
	for _, r := range routes {
		if r.method != method {
			continue
		}
		if params, ok := matchSegs(r.segs, segs); ok {
			return r, params
		}
	}
	return nil, nil
}

func matchSegs(tmpl, segs []string) (map[string]string, bool) {
	greedy := -1
	for i, t := range tmpl {
		if strings.HasSuffix(t, "+}") {
			greedy = i
		}
	}
	if greedy < 0 && len(tmpl) != len(segs) || greedy >= 0 && len(segs) < len(tmpl) {
		return nil, false
	}
	params := map[string]string{}
	j := 0
	for i, t := range tmpl {
		if i == greedy {
			n := len(segs) - len(tmpl) + 1
			v, err := url.PathUnescape(strings.Join(segs[j:j+n], "/"))
			if err != nil || v == "" {
				return nil, false
			}
			params[strings.Trim(t, "{+}")] = v
			j += n
			continue
		}
		s := segs[j]
		j++
		if strings.HasPrefix(t, "{") {
			v, err := url.PathUnescape(s)
			if err != nil || v == "" {
				return nil, false
			}
			params[strings.Trim(t, "{}")] = v
			continue
		}
		if t != s {
			return nil, false
		}
	}
	return params, true
}
