package fakegithub

import (
	"net/url"
	"sort"
)

// protected is what GitHub's branch objects say in "protected": a branch
// protected by classic branch protection or by a ruleset (every ruleset of
// the emulator is active).
func (b *branch) protected() bool { return b.protection != nil || len(b.rules) > 0 }

type branchCommitJSON struct {
	SHA string `json:"sha"`
	URL string `json:"url"`
}

type branchStatusChecksJSON struct {
	EnforcementLevel string              `json:"enforcement_level"`
	Contexts         []string            `json:"contexts"`
	Checks           []requiredCheckJSON `json:"checks"`
}

type branchProtectionJSON struct {
	Enabled              bool                    `json:"enabled"`
	RequiredStatusChecks *branchStatusChecksJSON `json:"required_status_checks,omitempty"`
}

// shortBranchJSON is GitHub's "short-branch": what listing branches answers.
// protection and protection_url come with classic protection only; a branch
// protected by rulesets alone says "protected": true and nothing more.
type shortBranchJSON struct {
	Name          string                `json:"name"`
	Commit        branchCommitJSON      `json:"commit"`
	Protected     bool                  `json:"protected"`
	Protection    *branchProtectionJSON `json:"protection,omitempty"`
	ProtectionURL string                `json:"protection_url,omitempty"`
}

// hListBranches lists the repository's branches by name, as GitHub sorts
// them. ?protected=true keeps the branches protected by branch protection or
// by rulesets, ?protected=false the others; any other value lists all.
func hListBranches(c *reqCtx) resp {
	names := make([]string, 0, len(c.repo.branches))
	for name, b := range c.repo.branches {
		switch c.query.Get("protected") {
		case "true":
			if !b.protected() {
				continue
			}
		case "false":
			if b.protected() {
				continue
			}
		}
		names = append(names, name)
	}
	sort.Strings(names)
	lo, hi := c.paginate(len(names), 100)
	out := make([]shortBranchJSON, 0, hi-lo)
	api := c.base + "/repos/" + c.repo.full
	for _, name := range names[lo:hi] {
		b := c.repo.branches[name]
		sb := shortBranchJSON{Name: name, Commit: branchCommitJSON{SHA: b.sha, URL: api + "/commits/" + b.sha}, Protected: b.protected()}
		if p := b.protection; p != nil {
			sb.Protection = &branchProtectionJSON{Enabled: true}
			if rc := p.RequiredStatusChecks; rc != nil {
				level := "non_admins"
				if p.EnforceAdmins {
					level = "everyone"
				}
				rcj := requiredChecks("", rc)
				sb.Protection.RequiredStatusChecks = &branchStatusChecksJSON{EnforcementLevel: level, Contexts: rcj.Contexts, Checks: rcj.Checks}
			}
			sb.ProtectionURL = api + "/branches/" + url.PathEscape(name) + "/protection"
		}
		out = append(out, sb)
	}
	return ok(out)
}
