package fakegithub

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// appInstallations lists the installations of the JWT's app.
func (c *reqCtx) appInstallations() []*installation {
	var out []*installation
	for _, in := range c.w.insts {
		if in.app == c.id.app {
			out = append(out, in)
		}
	}
	return out
}

func hGetApp(c *reqCtx) resp {
	out := c.w.integrationJSON(c.base, c.id.app)
	n := len(c.appInstallations())
	out.InstallationsCount = &n
	return ok(out)
}

func hListInstallations(c *reqCtx) resp {
	insts := c.appInstallations()
	lo, hi := c.paginate(len(insts), 100)
	out := make([]*installationJSON, 0, hi-lo)
	for _, in := range insts[lo:hi] {
		out = append(out, c.w.installationJSON(c.base, in))
	}
	return ok(out)
}

// installationParam is the JWT's app's installation the path names.
func (c *reqCtx) installationParam() *installation {
	if in := c.w.instByID[c.idParam("installation_id")]; in != nil && in.app == c.id.app {
		return in
	}
	return nil
}

func hGetInstallation(c *reqCtx) resp {
	in := c.installationParam()
	if in == nil {
		return c.notFound()
	}
	return ok(c.w.installationJSON(c.base, in))
}

type tokenRequest struct {
	Repositories  []string          `json:"repositories"`
	RepositoryIDs []int64           `json:"repository_ids"`
	Permissions   map[string]string `json:"permissions"`
}

type tokenJSON struct {
	Token               string            `json:"token"`
	ExpiresAt           string            `json:"expires_at"`
	Permissions         map[string]string `json:"permissions"`
	RepositorySelection string            `json:"repository_selection"`
	Repositories        []json.RawMessage `json:"repositories,omitempty"`
}

// hCreateToken exchanges the app's JWT for an installation token. A request
// may narrow the token to some repositories and permissions, never widen it.
func hCreateToken(c *reqCtx) resp {
	in := c.installationParam()
	if in == nil {
		return c.notFound()
	}
	var req tokenRequest
	if fail := c.decode(&req); fail != nil {
		return *fail
	}
	perms := copyPerms(in.perms)
	if req.Permissions != nil {
		perms = map[string]string{}
		for k, v := range req.Permissions {
			if !permAllows(in.perms[k], v) || !permLevels[v] {
				return c.unprocessable("The permissions requested are not granted to this installation.")
			}
			perms[k] = v
		}
	}
	var repos map[int64]bool
	var listed []json.RawMessage
	// narrow adds the installation's repositories that match; false when none does.
	narrow := func(match func(*repo) bool) bool {
		found := false
		for _, r := range in.repos {
			if match(r) {
				repos[r.id], found = true, true
				listed = append(listed, c.w.repoRaw(c.base, r))
			}
		}
		return found
	}
	if len(req.Repositories) > 0 || len(req.RepositoryIDs) > 0 {
		repos = map[int64]bool{}
		allFound := true
		for _, name := range req.Repositories {
			allFound = allFound && narrow(func(r *repo) bool { return strings.EqualFold(r.name, name) || strings.EqualFold(r.full, name) })
		}
		for _, id := range req.RepositoryIDs {
			allFound = allFound && narrow(func(r *repo) bool { return r.id == id })
		}
		if !allFound {
			return c.unprocessable("There is at least one repository that does not exist or is not accessible to the parent installation.")
		}
	}
	t := c.w.issueToken(in, perms, repos, c.now)
	return created(tokenJSON{Token: t.value, ExpiresAt: ts(t.expires), Permissions: perms,
		RepositorySelection: "selected", Repositories: listed})
}

type installationReposJSON struct {
	TotalCount          int               `json:"total_count"`
	RepositorySelection string            `json:"repository_selection"`
	Repositories        []json.RawMessage `json:"repositories"`
}

func hInstallationRepos(c *reqCtx) resp {
	if c.id.kind != idInstallation {
		return c.errResp(http.StatusForbidden, "Resource not accessible by integration")
	}
	var repos []*repo
	for _, r := range c.id.tok.inst.repos {
		if c.canSee(r) {
			repos = append(repos, r)
		}
	}
	lo, hi := c.paginate(len(repos), 100)
	out := installationReposJSON{TotalCount: len(repos), RepositorySelection: "selected", Repositories: []json.RawMessage{}}
	for _, r := range repos[lo:hi] {
		out.Repositories = append(out.Repositories, c.w.repoRaw(c.base, r))
	}
	return ok(out)
}

func hOrgInstallation(c *reqCtx) resp {
	in := c.w.appInstallationOf(c.id.app, c.params["org"])
	if in == nil || in.accountType != "Organization" {
		return c.notFound()
	}
	return ok(c.w.installationJSON(c.base, in))
}

func hUserInstallation(c *reqCtx) resp {
	in := c.w.appInstallationOf(c.id.app, c.params["username"])
	if in == nil {
		return c.notFound()
	}
	return ok(c.w.installationJSON(c.base, in))
}

func hRepoInstallation(c *reqCtx) resp {
	in := c.w.appInstallationFor(c.id.app, c.repo)
	if in == nil {
		return c.notFound()
	}
	return ok(c.w.installationJSON(c.base, in))
}

type rateJSON struct {
	Limit     int    `json:"limit"`
	Remaining int    `json:"remaining"`
	Reset     int64  `json:"reset"`
	Used      int    `json:"used"`
	Resource  string `json:"resource,omitempty"`
}

// hRateLimit reports the caller's budget; GitHub does not charge for it.
func hRateLimit(c *reqCtx) resp {
	b := c.budgetFor()
	c.s.statsMu.Lock()
	b.roll(c.now)
	core := rateJSON{Limit: b.limit, Used: b.used, Remaining: max(b.limit-b.used, 0), Reset: b.reset.Unix()}
	c.s.statsMu.Unlock()
	fresh := func(limit int) rateJSON {
		return rateJSON{Limit: limit, Remaining: limit, Reset: c.now.Add(time.Hour).Unix()}
	}
	return ok(map[string]any{
		"resources": map[string]rateJSON{
			"core":                 core,
			"search":               fresh(30),
			"graphql":              fresh(5000),
			"integration_manifest": fresh(5000),
			"code_search":          fresh(10),
		},
		"rate": core,
	})
}
