package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// maxRunAttempts is how often GitHub lets a workflow run be re-run.
const maxRunAttempts = 50

type workflowRunJSON struct {
	ID                 int64             `json:"id"`
	Name               *string           `json:"name"`
	NodeID             string            `json:"node_id"`
	CheckSuiteID       int64             `json:"check_suite_id"`
	CheckSuiteNodeID   string            `json:"check_suite_node_id"`
	HeadBranch         *string           `json:"head_branch"`
	HeadSHA            string            `json:"head_sha"`
	Path               string            `json:"path"`
	DisplayTitle       string            `json:"display_title"`
	RunNumber          int               `json:"run_number"`
	Event              string            `json:"event"`
	Status             *string           `json:"status"`
	Conclusion         *string           `json:"conclusion"`
	WorkflowID         int64             `json:"workflow_id"`
	URL                string            `json:"url"`
	HTMLURL            string            `json:"html_url"`
	PullRequests       []pullMinimalJSON `json:"pull_requests"`
	CreatedAt          string            `json:"created_at"`
	UpdatedAt          string            `json:"updated_at"`
	RunStartedAt       string            `json:"run_started_at"`
	RunAttempt         int               `json:"run_attempt"`
	Actor              *userJSON         `json:"actor"`
	TriggeringActor    *userJSON         `json:"triggering_actor"`
	JobsURL            string            `json:"jobs_url"`
	LogsURL            string            `json:"logs_url"`
	CheckSuiteURL      string            `json:"check_suite_url"`
	ArtifactsURL       string            `json:"artifacts_url"`
	CancelURL          string            `json:"cancel_url"`
	RerunURL           string            `json:"rerun_url"`
	PreviousAttemptURL *string           `json:"previous_attempt_url"`
	WorkflowURL        string            `json:"workflow_url"`
	HeadCommit         *simpleCommitJSON `json:"head_commit"`
	Repository         json.RawMessage   `json:"repository"`
	HeadRepository     json.RawMessage   `json:"head_repository"`
}

func (c *reqCtx) workflowRunJSON(run *workflowRun, withPulls bool) *workflowRunJSON {
	r := c.repo
	api := fmt.Sprintf("%s/repos/%s/actions/runs/%d", c.base, r.full, run.id)
	name := run.name
	title := run.name
	if p := r.pullWithHead(run.headSHA); p != nil {
		title = p.title
	}
	status := run.status
	var prev *string
	if run.attempt > 1 {
		u := fmt.Sprintf("%s/attempts/%d", api, run.attempt-1)
		prev = &u
	}
	out := &workflowRunJSON{
		ID: run.id, Name: &name, NodeID: nodeID("WorkflowRun", run.id), CheckSuiteID: run.suite.id,
		CheckSuiteNodeID: nodeID("CheckSuite", run.suite.id), HeadBranch: strp(run.headBranch), HeadSHA: run.headSHA,
		Path: run.path, DisplayTitle: title, RunNumber: run.runNumber, Event: run.event, Status: &status, Conclusion: strp(run.conclusion),
		WorkflowID: run.workflowID, URL: api, HTMLURL: fmt.Sprintf("%s/%s/actions/runs/%d", c.base, r.full, run.id),
		PullRequests: []pullMinimalJSON{}, CreatedAt: ts(run.createdAt), UpdatedAt: ts(run.updatedAt), RunStartedAt: ts(run.createdAt),
		RunAttempt: run.attempt, Actor: c.w.userJSON(c.base, run.actor), TriggeringActor: c.w.userJSON(c.base, run.actor),
		JobsURL: api + "/jobs", LogsURL: api + "/logs", CheckSuiteURL: fmt.Sprintf("%s/repos/%s/check-suites/%d", c.base, r.full, run.suite.id),
		ArtifactsURL: api + "/artifacts", CancelURL: api + "/cancel", RerunURL: api + "/rerun", PreviousAttemptURL: prev,
		WorkflowURL: fmt.Sprintf("%s/repos/%s/actions/workflows/%d", c.base, r.full, run.workflowID),
		HeadCommit:  simpleCommit(r.commits[run.headSHA]), Repository: c.w.repoRaw(c.base, r), HeadRepository: c.w.repoRaw(c.base, headRepoOfRun(r, run)),
	}
	if withPulls {
		out.PullRequests = c.w.pullsForSHA(c.base, r, run.headSHA)
	}
	return out
}

type workflowRunsJSON struct {
	TotalCount   int                `json:"total_count"`
	WorkflowRuns []*workflowRunJSON `json:"workflow_runs"`
}

func hListRuns(c *reqCtx) resp {
	q := c.query
	suiteID, _ := strconv.ParseInt(q.Get("check_suite_id"), 10, 64)
	var list []*workflowRun
	for i := len(c.repo.runs) - 1; i >= 0; i-- {
		run := c.repo.runs[i]
		switch {
		case q.Get("actor") != "" && !strings.EqualFold(q.Get("actor"), run.actor),
			q.Get("branch") != "" && q.Get("branch") != run.headBranch,
			q.Get("event") != "" && q.Get("event") != run.event,
			q.Get("status") != "" && q.Get("status") != run.status && q.Get("status") != run.conclusion,
			q.Get("head_sha") != "" && q.Get("head_sha") != run.headSHA,
			suiteID != 0 && suiteID != run.suite.id:
			continue
		}
		list = append(list, run)
	}
	lo, hi := c.paginate(len(list), 100)
	out := workflowRunsJSON{TotalCount: len(list), WorkflowRuns: []*workflowRunJSON{}}
	for _, run := range list[lo:hi] {
		out.WorkflowRuns = append(out.WorkflowRuns, c.workflowRunJSON(run, q.Get("exclude_pull_requests") != "true"))
	}
	return ok(out)
}

// hRerun re-runs a workflow run: a new attempt whose jobs start queued.
func hRerun(c *reqCtx) resp {
	run := c.repo.runByID[c.idParam("run_id")]
	if run == nil {
		return c.notFound()
	}
	if run.status != "completed" {
		return c.errResp(http.StatusForbidden, "This workflow is already running")
	}
	if run.attempt >= maxRunAttempts {
		return c.errResp(http.StatusForbidden, "This workflow run cannot be retried")
	}
	run.rerunBy = append(run.rerunBy, c.actor())
	c.w.restartSuite(c.repo, run.suite, c.now)
	return created(struct{}{})
}
