package backfill

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/palantir/go-githubapp/githubapp"

	"github.com/fix-status/fix-status/app/ghapi"
	"github.com/fix-status/fix-status/app/plan"
)

// SelectRepos lists the repositories to backfill: the given repositories
// ("owner/name") and every repository the app can access in the given
// organisations (or user accounts); with neither, every repository of every
// installation. What cannot be found is a failure; the rest goes on.
func SelectRepos(ctx context.Context, cc githubapp.ClientCreator, repos, orgs []string) ([]plan.RepoRef, []Failure) {
	var out []plan.RepoRef
	var fails []Failure
	seen := map[string]bool{}
	add := func(rs ...plan.RepoRef) {
		for _, r := range rs {
			k := strings.ToLower(r.FullRepo())
			if !seen[k] {
				seen[k] = true
				out = append(out, r)
			}
		}
	}
	if len(repos) == 0 && len(orgs) == 0 {
		all, err := ghapi.InstalledRepos(ctx, cc)
		add(all...)
		if err != nil {
			fails = append(fails, Failure{Repo: "(installations)", Err: err})
		}
		return out, fails
	}
	for _, org := range orgs {
		id, err := findAccountInstallation(ctx, cc, org)
		if err == nil {
			var rs []plan.RepoRef
			rs, err = ghapi.InstallationRepos(ctx, cc, id)
			add(rs...)
		}
		if err != nil {
			fails = append(fails, Failure{Repo: org + "/*", Err: err})
		}
	}
	for _, full := range repos {
		owner, name, ok := strings.Cut(full, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			fails = append(fails, Failure{Repo: full, Err: fmt.Errorf("%q is not OWNER/REPO", full)})
			continue
		}
		repo, err := ghapi.FindInstallation(ctx, cc, plan.RepoRef{Owner: owner, Repo: name})
		if err != nil {
			fails = append(fails, Failure{Repo: full, Err: err})
			continue
		}
		add(repo)
	}
	return out, fails
}

// findAccountInstallation finds the app's installation on an organisation,
// or on a user account of that name.
func findAccountInstallation(ctx context.Context, cc githubapp.ClientCreator, account string) (int64, error) {
	c, err := cc.NewAppClient()
	if err != nil {
		return 0, fmt.Errorf("failed to create the app client: %w", err)
	}
	inst, resp, err := c.Apps.FindOrganizationInstallation(ctx, account)
	if err != nil && resp != nil && resp.StatusCode == http.StatusNotFound {
		var uerr error
		if inst, _, uerr = c.Apps.FindUserInstallation(ctx, account); uerr == nil {
			err = nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("the app is not installed on %s: %w", account, err)
	}
	return inst.GetID(), nil
}
