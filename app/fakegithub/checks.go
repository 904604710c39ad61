package fakegithub

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// maxSummary is GitHub's limit on a check run's output.summary and text.
const maxSummary = 65535

type checkRunsJSON struct {
	TotalCount int             `json:"total_count"`
	CheckRuns  []*checkRunJSON `json:"check_runs"`
}

// hListCheckRuns lists check runs on a ref. filter=latest (the default)
// keeps the newest run per name and app.
func hListCheckRuns(c *reqCtx) resp {
	cm := c.resolveRef(c.params["ref"])
	if cm == nil {
		return c.notFound()
	}
	q := c.query
	filter := q.Get("filter")
	if filter == "" {
		filter = "latest"
	}
	if filter != "latest" && filter != "all" {
		return c.invalid("CheckRun", "filter", "invalid", "")
	}
	appID, _ := strconv.ParseInt(q.Get("app_id"), 10, 64)
	var list []*checkRun
	seen := map[string]bool{}
	for i := len(cm.checkRuns) - 1; i >= 0; i-- {
		cr := cm.checkRuns[i]
		if name := q.Get("check_name"); name != "" && cr.name != name {
			continue
		}
		if st := q.Get("status"); st != "" && cr.status != st {
			continue
		}
		if appID != 0 && cr.appID != appID {
			continue
		}
		k := fmt.Sprintf("%d\x00%s", cr.appID, cr.name)
		if filter == "latest" && seen[k] {
			continue
		}
		seen[k] = true
		list = append(list, cr)
	}
	lo, hi := c.paginate(len(list), 100)
	out := checkRunsJSON{TotalCount: len(list), CheckRuns: []*checkRunJSON{}}
	for _, cr := range list[lo:hi] {
		out.CheckRuns = append(out.CheckRuns, c.w.checkRunJSON(c.base, c.repo, cr))
	}
	return ok(out)
}

type checkRunOutput struct {
	Title   *string `json:"title"`
	Summary *string `json:"summary"`
	Text    *string `json:"text"`
}

type checkRunRequest struct {
	Name        *string         `json:"name"`
	HeadSHA     *string         `json:"head_sha"`
	DetailsURL  *string         `json:"details_url"`
	ExternalID  *string         `json:"external_id"`
	Status      *string         `json:"status"`
	Conclusion  *string         `json:"conclusion"`
	StartedAt   *time.Time      `json:"started_at"`
	CompletedAt *time.Time      `json:"completed_at"`
	Output      *checkRunOutput `json:"output"`
}

// validate applies GitHub's rules to a create or update request.
func (c *reqCtx) validateCheckRun(req *checkRunRequest) *resp {
	fail := func(r resp) *resp { return &r }
	if req.Status != nil && !checkStatusAllowed(c.w.app.id, *req.Status) {
		// waiting, requested and pending belong to GitHub Actions.
		return fail(c.invalid("CheckRun", "status", "invalid", ""))
	}
	// Only GitHub marks a check run stale.
	if req.Conclusion != nil && (!checkConclusion[*req.Conclusion] || *req.Conclusion == "stale") {
		return fail(c.invalid("CheckRun", "conclusion", "invalid", ""))
	}
	if req.Status != nil && *req.Status == "completed" && req.Conclusion == nil {
		return fail(c.invalid("CheckRun", "conclusion", "missing_field", "conclusion is required when status is completed"))
	}
	if o := req.Output; o != nil {
		if o.Title == nil || o.Summary == nil {
			return fail(c.invalid("CheckRun", "output", "missing_field", "output requires title and summary"))
		}
		if len(*o.Summary) > maxSummary {
			return fail(c.invalid("CheckRun", "summary", "custom", "summary is too long (maximum is 65535 characters)"))
		}
		if o.Text != nil && len(*o.Text) > maxSummary {
			return fail(c.invalid("CheckRun", "text", "custom", "text is too long (maximum is 65535 characters)"))
		}
	}
	return nil
}

func (cr *checkRun) apply(req *checkRunRequest, now time.Time) {
	if req.Name != nil {
		cr.name = *req.Name
	}
	if req.DetailsURL != nil {
		cr.detailsURL = *req.DetailsURL
	}
	if req.ExternalID != nil {
		cr.externalID = *req.ExternalID
	}
	if req.Status != nil {
		cr.status = *req.Status
	}
	if req.Conclusion != nil {
		// Providing a conclusion completes the run.
		cr.conclusion = *req.Conclusion
		cr.status = "completed"
	}
	if req.StartedAt != nil {
		t := *req.StartedAt
		cr.startedAt = &t
	} else if cr.startedAt == nil {
		t := now
		cr.startedAt = &t
	}
	if cr.status == "completed" && cr.completedAt == nil {
		t := now
		if req.CompletedAt != nil {
			t = *req.CompletedAt
		}
		cr.completedAt = &t
	}
	if o := req.Output; o != nil {
		cr.title, cr.summary = deref(o.Title), deref(o.Summary)
		cr.text = deref(o.Text)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func hCreateCheckRun(c *reqCtx) resp {
	var req checkRunRequest
	if fail := c.decode(&req); fail != nil {
		return *fail
	}
	if req.Name == nil || *req.Name == "" {
		return c.invalid("CheckRun", "name", "missing_field", "")
	}
	if req.HeadSHA == nil || *req.HeadSHA == "" {
		return c.invalid("CheckRun", "head_sha", "missing_field", "")
	}
	if fail := c.validateCheckRun(&req); fail != nil {
		return *fail
	}
	cm := c.repo.commits[*req.HeadSHA]
	if cm == nil {
		return c.unprocessable("No commit found for SHA: " + *req.HeadSHA)
	}
	if len(cm.checkRuns) >= maxResultsPerCommit {
		return c.unprocessable("This SHA has reached the emulator's limit of check runs.")
	}
	cr := c.w.addCheckRun(c.repo, cm, checkRunSpec{name: *req.Name, status: "queued", appID: c.callerApp().id,
		headBranch: c.repo.headBranchOf(cm.sha)}, c.now)
	cr.creator = c.actor()
	cr.apply(&req, c.now)
	done := c.w.refreshSuite(c.repo, cr.suite, c.now)
	c.apiWriteHook("check_run", "created", c.checkRunPayload(cr))
	c.suiteDoneHook(done, cr.suite)
	return created(c.w.checkRunJSON(c.base, c.repo, cr))
}

// checkRunPayload builds a check_run webhook's payload.
func (c *reqCtx) checkRunPayload(cr *checkRun) func() map[string]any {
	return func() map[string]any {
		return map[string]any{"check_run": c.w.checkRunEventJSON(c.base, c.repo, cr)}
	}
}

func (c *reqCtx) checkRunParam() *checkRun {
	return c.repo.checkRuns[c.idParam("check_run_id")]
}

func hGetCheckRun(c *reqCtx) resp {
	cr := c.checkRunParam()
	if cr == nil {
		return c.notFound()
	}
	return ok(c.w.checkRunJSON(c.base, c.repo, cr))
}

// hUpdateCheckRun updates a check run; only the app that created it may.
func hUpdateCheckRun(c *reqCtx) resp {
	cr := c.checkRunParam()
	if cr == nil {
		return c.notFound()
	}
	if id := c.callerApp().id; cr.appID != id {
		return c.errResp(http.StatusForbidden, fmt.Sprintf("Invalid app_id `%d` - check run can only be modified by the GitHub App that created it.", id))
	}
	var req checkRunRequest
	if fail := c.decode(&req); fail != nil {
		return *fail
	}
	if fail := c.validateCheckRun(&req); fail != nil {
		return *fail
	}
	wasCompleted := cr.status == "completed"
	cr.apply(&req, c.now)
	done := c.w.refreshSuite(c.repo, cr.suite, c.now)
	if !wasCompleted && cr.status == "completed" {
		c.apiWriteHook("check_run", "completed", c.checkRunPayload(cr))
		c.suiteDoneHook(done, cr.suite)
	}
	return ok(c.w.checkRunJSON(c.base, c.repo, cr))
}

type checkSuitesJSON struct {
	TotalCount  int               `json:"total_count"`
	CheckSuites []*checkSuiteJSON `json:"check_suites"`
}

func hListCheckSuites(c *reqCtx) resp {
	cm := c.resolveRef(c.params["ref"])
	if cm == nil {
		return c.notFound()
	}
	appID, _ := strconv.ParseInt(c.query.Get("app_id"), 10, 64)
	name := c.query.Get("check_name")
	var list []*checkSuite
	for _, s := range c.repo.suites {
		if s.headSHA != cm.sha || (appID != 0 && s.appID != appID) || (name != "" && !s.hasRunNamed(cm, name)) {
			continue
		}
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	lo, hi := c.paginate(len(list), 100)
	out := checkSuitesJSON{TotalCount: len(list), CheckSuites: []*checkSuiteJSON{}}
	for _, s := range list[lo:hi] {
		out.CheckSuites = append(out.CheckSuites, c.w.checkSuiteJSON(c.base, c.repo, s))
	}
	return ok(out)
}

// hRerequestSuite asks the suite's app to run it again. For GitHub Actions
// that re-runs the workflow: its check runs start again, queued.
func hRerequestSuite(c *reqCtx) resp {
	s := c.repo.suites[c.idParam("check_suite_id")]
	if s == nil {
		return c.notFound()
	}
	s.rerequested = append(s.rerequested, c.actor())
	c.w.restartSuite(c.repo, s, c.now)
	return created(struct{}{})
}

// restartSuite queues a suite again; a workflow run gets new check runs
// with the same names and a new attempt.
func (w *world) restartSuite(r *repo, s *checkSuite, now time.Time) {
	cm := r.commits[s.headSHA]
	if s.run != nil {
		s.run.attempt++
		names := map[string]bool{}
		var order []string
		for _, cr := range cm.checkRuns {
			if cr.suite == s && !names[cr.name] {
				names[cr.name] = true
				order = append(order, cr.name)
			}
		}
		for _, name := range order {
			t := now
			cr := &checkRun{id: w.newID(), name: name, headSHA: cm.sha, status: "queued", appID: s.appID, suite: s,
				creator: w.appByID(s.appID).botLogin(), startedAt: &t}
			cm.checkRuns = append(cm.checkRuns, cr)
			r.checkRuns[cr.id] = cr
		}
		w.refreshSuite(r, s, now)
		return
	}
	s.status, s.conclusion, s.updatedAt = "queued", "", now
}
