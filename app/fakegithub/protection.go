package fakegithub

import (
	"net/http"
	"net/url"
)

type requiredCheckJSON struct {
	Context string `json:"context"`
	AppID   *int64 `json:"app_id"`
}

type requiredChecksJSON struct {
	URL         string              `json:"url"`
	Strict      bool                `json:"strict"`
	Contexts    []string            `json:"contexts"`
	ContextsURL string              `json:"contexts_url"`
	Checks      []requiredCheckJSON `json:"checks"`
}

type enabledJSON struct {
	Enabled bool `json:"enabled"`
}

type enabledURLJSON struct {
	URL     string `json:"url"`
	Enabled bool   `json:"enabled"`
}

type protectionJSON struct {
	URL                            string              `json:"url"`
	RequiredStatusChecks           *requiredChecksJSON `json:"required_status_checks,omitempty"`
	EnforceAdmins                  enabledURLJSON      `json:"enforce_admins"`
	RequiredSignatures             enabledURLJSON      `json:"required_signatures"`
	RequiredLinearHistory          enabledJSON         `json:"required_linear_history"`
	AllowForcePushes               enabledJSON         `json:"allow_force_pushes"`
	AllowDeletions                 enabledJSON         `json:"allow_deletions"`
	BlockCreations                 enabledJSON         `json:"block_creations"`
	RequiredConversationResolution enabledJSON         `json:"required_conversation_resolution"`
	LockBranch                     enabledJSON         `json:"lock_branch"`
	AllowForkSyncing               enabledJSON         `json:"allow_fork_syncing"`
}

// requiredChecks renders required_status_checks: contexts and checks always
// list the same names (a context set without an app is {context, app_id: null}).
func requiredChecks(u string, rc *ScenarioRequiredChecks) *requiredChecksJSON {
	out := &requiredChecksJSON{URL: u, Strict: rc.Strict, ContextsURL: u + "/contexts", Contexts: []string{}, Checks: []requiredCheckJSON{}}
	seen := map[string]bool{}
	for _, ch := range rc.Checks {
		if !seen[ch.Context] {
			out.Contexts = append(out.Contexts, ch.Context)
		}
		seen[ch.Context] = true
		out.Checks = append(out.Checks, requiredCheckJSON(ch))
	}
	for _, ctx := range rc.Contexts {
		if !seen[ctx] {
			seen[ctx] = true
			out.Contexts = append(out.Contexts, ctx)
			out.Checks = append(out.Checks, requiredCheckJSON{Context: ctx})
		}
	}
	return out
}

func (c *reqCtx) protectedBranch() (*branch, *resp) {
	b := c.repo.branches[c.params["branch"]]
	if b == nil {
		r := c.errResp(http.StatusNotFound, "Branch not found")
		return nil, &r
	}
	if b.protection == nil {
		r := c.errResp(http.StatusNotFound, "Branch not protected")
		return nil, &r
	}
	return b, nil
}

func (c *reqCtx) protectionURL(b *branch) string {
	return c.base + "/repos/" + c.repo.full + "/branches/" + url.PathEscape(b.name) + "/protection"
}

func hProtection(c *reqCtx) resp {
	b, fail := c.protectedBranch()
	if fail != nil {
		return *fail
	}
	u := c.protectionURL(b)
	out := protectionJSON{URL: u,
		EnforceAdmins:      enabledURLJSON{URL: u + "/enforce_admins", Enabled: b.protection.EnforceAdmins},
		RequiredSignatures: enabledURLJSON{URL: u + "/required_signatures"},
	}
	if rc := b.protection.RequiredStatusChecks; rc != nil {
		out.RequiredStatusChecks = requiredChecks(u+"/required_status_checks", rc)
	}
	return ok(out)
}

func hRequiredChecks(c *reqCtx) resp {
	b, fail := c.protectedBranch()
	if fail != nil {
		return *fail
	}
	rc := b.protection.RequiredStatusChecks
	if rc == nil {
		return c.errResp(http.StatusNotFound, "Required status checks not enabled")
	}
	return ok(requiredChecks(c.protectionURL(b)+"/required_status_checks", rc))
}

type ruleJSON struct {
	Type              string         `json:"type"`
	Parameters        map[string]any `json:"parameters,omitempty"`
	RulesetSourceType string         `json:"ruleset_source_type"`
	RulesetSource     string         `json:"ruleset_source"`
	RulesetID         int64          `json:"ruleset_id"`
}

// ruleJSONOf fills what GitHub always sends with a rule: its ruleset, and
// for required_status_checks the strict policy flag.
func ruleJSONOf(r *repo, i int, sr ScenarioRule) ruleJSON {
	out := ruleJSON{Type: sr.Type, Parameters: sr.Parameters, RulesetSourceType: sr.RulesetSrcType,
		RulesetSource: sr.RulesetSource, RulesetID: sr.RulesetID}
	if out.RulesetSourceType == "" {
		out.RulesetSourceType = "Repository"
	}
	if out.RulesetSource == "" {
		out.RulesetSource = r.full
	}
	if out.RulesetID == 0 {
		out.RulesetID = r.id*100 + int64(i) + 1
	}
	if sr.Type == "required_status_checks" {
		params := map[string]any{"strict_required_status_checks_policy": false}
		for k, v := range sr.Parameters {
			params[k] = v
		}
		out.Parameters = params
	}
	return out
}

// hRules lists the rules for a branch. A branch without rules, or one that
// does not exist, has none: rulesets match names, not branches.
func hRules(c *reqCtx) resp {
	var rules []ScenarioRule
	if b := c.repo.branches[c.params["branch"]]; b != nil {
		rules = b.rules
	}
	lo, hi := c.paginate(len(rules), 100)
	out := make([]ruleJSON, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, ruleJSONOf(c.repo, i, rules[i]))
	}
	return ok(out)
}
