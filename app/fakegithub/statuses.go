package fakegithub

import (
	"encoding/json"
	"net/http"
	"strings"
)

// maxStatusesPerContext is GitHub's limit of statuses per SHA and context.
const maxStatusesPerContext = 1000

// maxResultsPerCommit bounds the statuses (and, separately, the check runs)
// one commit can hold, so that the emulator's memory stays bounded however
// many contexts a client invents.
const maxResultsPerCommit = 100_000

type combinedJSON struct {
	State      string          `json:"state"`
	Statuses   []statusJSON    `json:"statuses"`
	SHA        string          `json:"sha"`
	TotalCount int             `json:"total_count"`
	Repository json.RawMessage `json:"repository"`
	CommitURL  string          `json:"commit_url"`
	URL        string          `json:"url"`
}

// hCombinedStatus answers the latest status per context (contexts compare
// case-insensitively), 100 per page at most.
func hCombinedStatus(c *reqCtx) resp {
	cm := c.resolveRef(c.params["ref"])
	if cm == nil {
		return c.notFound()
	}
	latest := latestStatuses(cm)
	lo, hi := c.paginate(len(latest), 100)
	out := combinedJSON{State: combinedState(latest), SHA: cm.sha, TotalCount: len(latest), Statuses: []statusJSON{},
		Repository: c.w.repoRaw(c.base, c.repo), CommitURL: c.base + "/repos/" + c.repo.full + "/commits/" + cm.sha,
		URL: c.base + "/repos/" + c.repo.full + "/commits/" + cm.sha + "/status"}
	for _, s := range latest[lo:hi] {
		out.Statuses = append(out.Statuses, c.w.statusJSON(c.base, c.repo, s, false))
	}
	return ok(out)
}

// hListStatuses answers every status on a ref, newest first.
func hListStatuses(c *reqCtx) resp {
	cm := c.resolveRef(c.params["ref"])
	if cm == nil {
		return c.notFound()
	}
	n := len(cm.statuses)
	lo, hi := c.paginate(n, 100)
	out := make([]statusJSON, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, c.w.statusJSON(c.base, c.repo, cm.statuses[n-1-i], true))
	}
	return ok(out)
}

type createStatusRequest struct {
	State       string  `json:"state"`
	TargetURL   *string `json:"target_url"`
	Description *string `json:"description"`
	Context     *string `json:"context"`
}

func hCreateStatus(c *reqCtx) resp {
	var req createStatusRequest
	if fail := c.decode(&req); fail != nil {
		return *fail
	}
	sha := c.params["sha"]
	cm := c.repo.commits[sha]
	if cm == nil {
		return c.unprocessable("No commit found for SHA: " + sha)
	}
	if !statusStates[req.State] {
		return c.invalid("Status", "state", "custom", "state is not included in the list")
	}
	desc := ""
	if req.Description != nil {
		desc = *req.Description
	}
	if len([]rune(desc)) > maxDescription {
		return c.invalid("Status", "description", "custom", "description is too long (maximum is 140 characters)")
	}
	context := "default"
	if req.Context != nil && *req.Context != "" {
		context = *req.Context
	}
	target := ""
	if req.TargetURL != nil {
		target = *req.TargetURL
	}
	if len(cm.statuses) >= maxResultsPerCommit {
		return c.unprocessable("This SHA has reached the emulator's limit of statuses.")
	}
	n := 0
	for _, s := range cm.statuses {
		if strings.EqualFold(s.context, context) {
			n++
		}
	}
	if n >= maxStatusesPerContext {
		return c.invalid("Status", "context", "custom", "This SHA and context has reached the maximum number of statuses.")
	}
	s := &status{id: c.w.newID(), sha: sha, context: context, state: req.State, description: desc, targetURL: target,
		creator: c.actor(), createdAt: c.now}
	cm.statuses = append(cm.statuses, s)
	c.apiWriteHook("status", "", func() map[string]any { return c.w.statusPayload(c.base, c.repo, cm, s) })
	return resp{status: http.StatusCreated, body: c.w.statusJSON(c.base, c.repo, s, true)}
}
