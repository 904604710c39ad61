package fakegithub

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
)

const branchesScenario = `
app: {id: 42, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 7, account: o, repos: [o/r]}
  - {id: 8, account: p, repos: [p/q], permissions: {metadata: read}}
repos:
  - name: o/r
    branches:
      main:
        sha: 1111111111111111111111111111111111111111
        protection:
          enforce_admins: true
          required_status_checks:
            contexts: [ci/a]
            checks: [{context: ci/b, app_id: 15368}]
      release-1.0:
        rules:
          - type: required_status_checks
            parameters:
              required_status_checks: [{context: ci/a}]
      legacy:
        protection: {}
      feature-x: {}
      feature-y: {}
  - name: p/q
`

// TestListBranches: GET /repos/{o}/{r}/branches through go-github, as
// GitHub answers it: sorted by name, ?protected=true keeping the branches
// protected by branch protection or rulesets, protection shown for classic
// protection, paged, and refused without Contents permission.
func TestListBranches(t *testing.T) {
	s := startServer(t, branchesScenario)
	c := installationClient(t, s, 7)
	ctx := context.Background()

	list := func(protected *bool, perPage int) []*github.Branch {
		t.Helper()
		var all []*github.Branch
		opt := &github.BranchListOptions{Protected: protected, ListOptions: github.ListOptions{PerPage: perPage}}
		for {
			bs, res, err := c.Repositories.ListBranches(ctx, "o", "r", opt)
			if err != nil {
				t.Fatalf("ListBranches: %v", err)
			}
			all = append(all, bs...)
			if res.NextPage == 0 {
				return all
			}
			opt.Page = res.NextPage
		}
	}
	names := func(bs []*github.Branch) []string {
		var out []string
		for _, b := range bs {
			out = append(out, b.GetName())
		}
		return out
	}

	tests := []struct {
		name      string
		protected *bool
		want      []string
	}{
		{"all", nil, []string{"feature-x", "feature-y", "legacy", "main", "release-1.0"}},
		{"protected", github.Bool(true), []string{"legacy", "main", "release-1.0"}},
		{"unprotected", github.Bool(false), []string{"feature-x", "feature-y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One per page: every page is read through the Link header.
			if d := cmp.Diff(tt.want, names(list(tt.protected, 1))); d != "" {
				t.Errorf("branches (-want +got):\n%s", d)
			}
		})
	}

	for _, b := range list(github.Bool(true), 100) {
		if b.GetName() == "main" && (b.GetCommit().GetSHA() != "1111111111111111111111111111111111111111" || !b.GetProtected()) {
			t.Errorf("main = %+v", b)
		}
	}
	// go-github's Branch leaves protection out: read it as GitHub sends it.
	req, err := c.NewRequest("GET", "repos/o/r/branches?protected=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	var raw []struct {
		Name       string `json:"name"`
		Protection *struct {
			Enabled              bool `json:"enabled"`
			RequiredStatusChecks *struct {
				EnforcementLevel string   `json:"enforcement_level"`
				Contexts         []string `json:"contexts"`
				Checks           []struct {
					Context string `json:"context"`
					AppID   *int64 `json:"app_id"`
				} `json:"checks"`
			} `json:"required_status_checks"`
		} `json:"protection"`
		ProtectionURL string `json:"protection_url"`
	}
	if _, err := c.Do(ctx, req, &raw); err != nil {
		t.Fatal(err)
	}
	for _, b := range raw {
		p := b.Protection
		switch b.Name {
		case "main":
			if p == nil || !p.Enabled || p.RequiredStatusChecks == nil || p.RequiredStatusChecks.EnforcementLevel != "everyone" ||
				!cmp.Equal(p.RequiredStatusChecks.Contexts, []string{"ci/b", "ci/a"}) || len(p.RequiredStatusChecks.Checks) != 2 ||
				p.RequiredStatusChecks.Checks[0].AppID == nil || *p.RequiredStatusChecks.Checks[0].AppID != 15368 ||
				b.ProtectionURL != s.URL()+"/repos/o/r/branches/main/protection" {
				t.Errorf("main's protection = %+v, %q", p, b.ProtectionURL)
			}
		case "legacy":
			if p == nil || !p.Enabled || p.RequiredStatusChecks != nil {
				t.Errorf("legacy, protected without required checks: %+v", p)
			}
		case "release-1.0":
			if p != nil || b.ProtectionURL != "" {
				t.Errorf("release-1.0, protected by a ruleset only: %+v; want no classic protection", p)
			}
		}
	}

	// Installation 8 granted Metadata only.
	_, res, err := installationClient(t, s, 8).Repositories.ListBranches(ctx, "p", "q", nil)
	if !isStatus(err, 403) || res.Header.Get("X-Accepted-GitHub-Permissions") != "contents=read" {
		t.Errorf("ListBranches without Contents = %v (%q); want 403 naming contents=read", err, res.Header.Get("X-Accepted-GitHub-Permissions"))
	}
}
