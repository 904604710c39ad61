package fakegithub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Merge queues. A branch has a merge queue when one of its rules is of type
// merge_queue. The event merge_group.checks_requested builds a merge group:
// a commit on top of the base branch's head with the changes of the group's
// pull requests, under refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>.
// Required checks then report on that commit like on any other. After every
// event and API write (and on Server.CheckMergeQueues) the queue settles as
// GitHub's does: a group whose required checks all pass merges (its pull
// requests close as merged, the base branch moves to the group's commit), a
// failing or timed-out required check dequeues the group's last pull
// request and invalidates the later groups that contain it.

// defaultCheckTimeout is the merge queue's status-check timeout when the
// rule does not set check_response_timeout_minutes.
const defaultCheckTimeout = 60 * time.Minute

// States of a merge group; the last three are the reasons of destroyed.
const (
	groupQueued      = "queued"
	groupMerged      = "merged"
	groupDequeued    = "dequeued"
	groupInvalidated = "invalidated"
)

type mergeGroup struct {
	headSHA   string
	headRef   string // refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>
	base      string // the base branch's name
	baseSHA   string // the base branch's head when the group was made
	prs       []int  // in queue order; the group is the last one's entry
	sender    string // who queued it (the webhooks' sender)
	state     string
	cause     string // why it was destroyed, in words
	createdAt time.Time
	deadline  time.Time // when required checks that have not passed fail it
}

func (g *mergeGroup) active() bool { return g.state == groupQueued }

func (g *mergeGroup) has(number int) bool {
	for _, n := range g.prs {
		if n == number {
			return true
		}
	}
	return false
}

// activeGroupWithHead is the merge group in the queue whose head is sha.
func (r *repo) activeGroupWithHead(sha string) *mergeGroup {
	for _, g := range r.mergeGroups {
		if g.active() && g.headSHA == sha {
			return g
		}
	}
	return nil
}

// activeGroupRef is the merge group in the queue whose branch is name
// ("gh-readonly-queue/…", without refs/heads/): GitHub deletes the branch
// when the group is destroyed.
func (r *repo) activeGroupRef(name string) *mergeGroup {
	for _, g := range r.mergeGroups {
		if g.active() && g.headRef == "refs/heads/"+name {
			return g
		}
	}
	return nil
}

// mergeQueueRule is the parameters of a branch's merge_queue rule (nil when
// the branch has no merge queue).
func mergeQueueRule(b *branch) map[string]any {
	for _, rule := range b.rules {
		if rule.Type == "merge_queue" {
			return rule.Parameters
		}
	}
	return nil
}

// intParam reads a whole number from rule parameters, decoded from YAML
// (int) or JSON (float64).
func intParam(params map[string]any, key string) (int, bool) {
	switch v := params[key].(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case float64:
		return int(v), v == float64(int(v))
	}
	return 0, false
}

// mergeQueueParams are the bounds of GitHub's merge_queue rule parameters;
// every one is required.
var mergeQueueParams = map[string][2]int{
	"check_response_timeout_minutes":    {1, 360},
	"max_entries_to_build":              {0, 100},
	"max_entries_to_merge":              {0, 100},
	"min_entries_to_merge":              {0, 100},
	"min_entries_to_merge_wait_minutes": {0, 360},
}

// validateMergeQueueRule checks a merge_queue rule's parameters as GitHub's
// schema does.
func validateMergeQueueRule(p string, params map[string]any) error {
	for key, bounds := range mergeQueueParams {
		v, ok := intParam(params, key)
		if !ok {
			return fmt.Errorf("%s.parameters.%s: missing or not a whole number", p, key)
		}
		if v < bounds[0] || v > bounds[1] {
			return fmt.Errorf("%s.parameters.%s: %d is not between %d and %d", p, key, v, bounds[0], bounds[1])
		}
	}
	enums := map[string]map[string]bool{"grouping_strategy": set("ALLGREEN", "HEADGREEN"), "merge_method": set("MERGE", "SQUASH", "REBASE")}
	for key, values := range enums {
		if v, _ := params[key].(string); !values[v] {
			return fmt.Errorf("%s.parameters.%s: %v is not one of %s", p, key, params[key], keys(values))
		}
	}
	for key := range params {
		if _, ok := mergeQueueParams[key]; !ok && enums[key] == nil {
			return fmt.Errorf("%s.parameters: unknown key %q", p, key)
		}
	}
	return nil
}

func (w *world) mergeGroupEvent(base string, r *repo, ev *Event, action string, now time.Time, res *EventResult) (map[string]any, error) {
	var g *mergeGroup
	switch action {
	case "checks_requested":
		var err error
		if g, err = w.newMergeGroup(r, ev, now); err != nil {
			return nil, err
		}
		w.simulateMergeGroupWorkflows(r, g, now)
	case "destroyed":
		if g = r.activeGroupWithHead(ev.SHA); g == nil {
			return nil, badEvent("sha: no merge group in the queue of %s has head %q", r.full, ev.SHA)
		}
		switch ev.Reason {
		case groupMerged:
			w.mergeGroupNow(base, r, g, "merged by event", now)
		case groupDequeued, groupInvalidated:
			w.destroyGroup(base, r, g, ev.Reason, "destroyed by event", now)
		default:
			return nil, badEvent("reason: %q is not merged, dequeued or invalidated", ev.Reason)
		}
		w.dropFollowup("merge_group", g.headSHA) // the event's own webhook
	default:
		return nil, badEvent("type: merge_group.%s is not supported", action)
	}
	res.SHA, res.HeadRef = g.headSHA, g.headRef
	return w.mergeGroupPayload(base, r, g), nil
}

// newMergeGroup builds the merge group of ev.PRs on ev.Base.
func (w *world) newMergeGroup(r *repo, ev *Event, now time.Time) (*mergeGroup, error) {
	if ev.Base == "" {
		ev.Base = r.defaultBranch
	}
	b := r.branches[ev.Base]
	if b == nil {
		return nil, badEvent("base: branch %q is not in %s", ev.Base, r.full)
	}
	params := mergeQueueRule(b)
	if params == nil {
		return nil, badEvent("base: branch %q has no merge queue (a merge_queue rule)", ev.Base)
	}
	if len(ev.PRs) == 0 {
		return nil, badEvent("prs: missing (the group's pull requests, in queue order)")
	}
	if most, _ := intParam(params, "max_entries_to_merge"); most > 0 && len(ev.PRs) > most {
		return nil, badEvent("prs: %d pull requests, more than the queue's max_entries_to_merge (%d)", len(ev.PRs), most)
	}
	var pulls []*pull
	seen := map[int]bool{}
	for i, n := range ev.PRs {
		p := r.pullByNum[n]
		switch {
		case p == nil:
			return nil, badEvent("prs[%d]: pull request #%d is not in %s", i, n, r.full)
		case seen[n]:
			return nil, badEvent("prs[%d]: #%d is listed twice", i, n)
		case p.state != "open" || p.draft:
			return nil, badEvent("prs[%d]: #%d is not an open, ready pull request", i, n)
		case p.base != ev.Base:
			return nil, badEvent("prs[%d]: #%d is based on %q, not %q", i, n, p.base, ev.Base)
		}
		seen[n] = true
		pulls = append(pulls, p)
	}
	last := pulls[len(pulls)-1]
	for _, g := range r.mergeGroups {
		if g.active() && g.prs[len(g.prs)-1] == last.number {
			return nil, badEvent("prs: #%d already heads the merge group %s (destroy it first)", last.number, g.headSHA)
		}
	}
	if ev.HeadSHA == "" {
		ev.HeadSHA = fakeSHA(r.full, "merge-group", b.sha, fmt.Sprint(ev.PRs), now.String(), fmt.Sprint(len(r.mergeGroups)))
	}
	if !shaRE.MatchString(ev.HeadSHA) || r.commits[ev.HeadSHA] != nil {
		return nil, badEvent("head_sha: %q is not a new 40-character hex SHA", ev.HeadSHA)
	}
	// The group's changes are the union of its PRs' (a later PR's change of
	// a file wins), on top of the base branch's files.
	var changes []File
	at := map[string]int{}
	for _, p := range pulls {
		for _, f := range p.files {
			if i, ok := at[f.Filename]; ok {
				changes[i] = f
				continue
			}
			at[f.Filename] = len(changes)
			changes = append(changes, f)
		}
	}
	tree := map[string]string{}
	for k, v := range w.treeAt(r, r.commits[b.sha]) {
		tree[k] = v
	}
	applyChanges(tree, changes)
	msg := fmt.Sprintf("Merge pull request #%d from %s:%s", last.number, r.owner, last.head)
	r.commits[ev.HeadSHA] = &commit{sha: ev.HeadSHA, parent: b.sha, message: msg, author: ev.User, date: now,
		tree: tree, changes: changes}
	timeout := defaultCheckTimeout
	if m, ok := intParam(params, "check_response_timeout_minutes"); ok {
		timeout = time.Duration(m) * time.Minute
	}
	g := &mergeGroup{headSHA: ev.HeadSHA, base: b.name, baseSHA: b.sha, prs: append([]int(nil), ev.PRs...),
		headRef: fmt.Sprintf("refs/heads/gh-readonly-queue/%s/pr-%d-%s", b.name, last.number, last.headSHA),
		sender:  ev.User, state: groupQueued, createdAt: now, deadline: now.Add(timeout)}
	r.mergeGroups = append(r.mergeGroups, g)
	return g, nil
}

// mergeGroupPayload is the body of a merge_group webhook.
func (w *world) mergeGroupPayload(base string, r *repo, g *mergeGroup) map[string]any {
	payload := map[string]any{"merge_group": map[string]any{
		"head_sha": g.headSHA, "head_ref": g.headRef, "base_sha": g.baseSHA, "base_ref": "refs/heads/" + g.base,
		"head_commit": simpleCommit(r.commits[g.headSHA]),
	}}
	if !g.active() {
		payload["reason"] = g.state
	}
	return payload
}

// mergeGroupHook is a merge_group webhook; GitHub sends it only to apps with
// the merge_queues permission.
func (w *world) mergeGroupHook(base string, r *repo, g *mergeGroup, action string) *hook {
	h := w.finishHook(base, r, "merge_group", action, g.sender, w.mergeGroupPayload(base, r, g))
	h.skip = needsPermission(h.event, r.inst)
	return h
}

// followup is a webhook an event caused besides its own.
type followup struct {
	h   *hook
	res EventResult
}

func (w *world) addFollowup(h *hook, res EventResult) {
	res.Event, res.Action = h.event, h.action
	w.followups = append(w.followups, followup{h: h, res: res})
}

// dropFollowup forgets the webhook of an event on sha that became the
// event's own.
func (w *world) dropFollowup(event, sha string) {
	for i, f := range w.followups {
		if f.h.event == event && f.res.SHA == sha {
			w.followups = append(w.followups[:i], w.followups[i+1:]...)
			return
		}
	}
}

func (w *world) takeFollowups() []followup {
	out := w.followups
	w.followups = nil
	return out
}

// deliverFollowups sends the webhooks an event caused after its own, and
// lists them in res.Followups.
func (s *Server) deliverFollowups(ctx context.Context, res *EventResult, fs []followup) error {
	var errs []error
	for _, f := range fs {
		r := f.res
		errs = append(errs, s.deliver(ctx, &r, f.h))
		res.Followups = append(res.Followups, &r)
	}
	return errors.Join(errs...)
}

// destroyGroup takes a group out of the queue with a reason.
func (w *world) destroyGroup(base string, r *repo, g *mergeGroup, reason, cause string, now time.Time) {
	g.state, g.cause = reason, cause
	r.touch(now)
	w.addFollowup(w.mergeGroupHook(base, r, g, "destroyed"), EventResult{SHA: g.headSHA, HeadRef: g.headRef})
}

// mergeGroupNow merges a group: its open PRs close as merged (each with its
// pull_request.closed webhook) and the base branch moves to its commit.
func (w *world) mergeGroupNow(base string, r *repo, g *mergeGroup, cause string, now time.Time) {
	r.branches[g.base].sha = g.headSHA
	r.pushedAt = now
	w.destroyGroup(base, r, g, groupMerged, cause, now)
	for _, n := range g.prs {
		p := r.pullByNum[n]
		if p.state != "open" {
			continue
		}
		var res EventResult
		ev := &Event{Number: n, Merged: true}
		if payload, err := w.pullRequestEvent(base, r, ev, "closed", now, &res); err == nil {
			w.addFollowup(w.finishHook(base, r, "pull_request", "closed", g.sender, payload), res)
		}
	}
}

// checkVerdict is how a group's required checks stand.
type checkVerdict int

const (
	checksPending checkVerdict = iota
	checksPassed
	checksFailed
)

// groupChecks judges a group's head by the base branch's required checks
// (classic protection and rules; a pinned app must be the one reporting).
// It names the first check that fails or is still missing.
func (w *world) groupChecks(r *repo, g *mergeGroup) (checkVerdict, string) {
	c := r.commits[g.headSHA]
	verdict, which := checksPassed, ""
	for _, req := range requiredOf(r.branches[g.base]) {
		v := w.requirementVerdict(c, req)
		if v == checksFailed {
			return checksFailed, req.Context
		}
		if v == checksPending && verdict == checksPassed {
			verdict, which = checksPending, req.Context
		}
	}
	return verdict, which
}

// requiredOf lists a branch's required checks: classic protection's and
// those of its required_status_checks rules.
func requiredOf(b *branch) []ScenarioRequiredCheck {
	var out []ScenarioRequiredCheck
	if b.protection != nil && b.protection.RequiredStatusChecks != nil {
		for _, ch := range requiredChecks("", b.protection.RequiredStatusChecks).Checks {
			out = append(out, ScenarioRequiredCheck(ch))
		}
	}
	for _, rule := range b.rules {
		checks, _ := rule.Parameters["required_status_checks"].([]any)
		if rule.Type != "required_status_checks" {
			continue
		}
		for _, ch := range checks {
			m, _ := ch.(map[string]any)
			rc := ScenarioRequiredCheck{}
			rc.Context, _ = m["context"].(string)
			if id, ok := intParam(m, "integration_id"); ok {
				id64 := int64(id)
				rc.AppID = &id64
			}
			out = append(out, rc)
		}
	}
	return out
}

// requirementVerdict judges one required check on a commit: the latest
// status of that context and the latest check run of that name (from the
// pinned app when one is set) must all pass, and one must exist.
func (w *world) requirementVerdict(c *commit, req ScenarioRequiredCheck) checkVerdict {
	anyApp := req.AppID == nil || *req.AppID == -1
	var verdicts []checkVerdict
	for _, st := range latestStatuses(c) {
		if strings.EqualFold(st.context, req.Context) && (anyApp || st.creator == w.appByID(*req.AppID).botLogin()) {
			verdicts = append(verdicts, statusVerdict(st.state))
		}
	}
	for i := len(c.checkRuns) - 1; i >= 0; i-- {
		if cr := c.checkRuns[i]; cr.name == req.Context && (anyApp || cr.appID == *req.AppID) {
			verdicts = append(verdicts, checkRunVerdict(cr))
			break
		}
	}
	if len(verdicts) == 0 {
		return checksPending
	}
	out := checksPassed
	for _, v := range verdicts {
		if v == checksFailed {
			return checksFailed
		}
		if v == checksPending {
			out = checksPending
		}
	}
	return out
}

func statusVerdict(state string) checkVerdict {
	switch state {
	case "success":
		return checksPassed
	case "pending":
		return checksPending
	}
	return checksFailed
}

// checkRunVerdict: success, neutral and skipped pass, as GitHub counts them.
func checkRunVerdict(cr *checkRun) checkVerdict {
	switch {
	case cr.status != "completed":
		return checksPending
	case cr.conclusion == "success" || cr.conclusion == "neutral" || cr.conclusion == "skipped":
		return checksPassed
	}
	return checksFailed
}

// settleMergeQueues applies the queues' rules until nothing changes: groups
// merge in queue order once their required checks pass (with HEADGREEN a
// passing group also takes the earlier groups its PRs cover), a failing
// check or the timeout (or timeOut, for groups it selects) dequeues a
// group's last PR and invalidates the later groups that hold it, and a group
// whose PRs were closed or merged elsewhere goes too. The webhooks go to
// w.followups.
func (w *world) settleMergeQueues(base string, now time.Time, timeOut func(*repo, *mergeGroup) bool) {
	for _, r := range w.repos {
		for w.settleOnce(base, r, now, timeOut) {
		}
	}
}

// settleOnce makes the first change the rules call for; false when there is
// none.
func (w *world) settleOnce(base string, r *repo, now time.Time, timeOut func(*repo, *mergeGroup) bool) bool {
	for i, g := range r.mergeGroups {
		if !g.active() {
			continue
		}
		if gone := w.closedPulls(r, g); gone != "" {
			if gone == groupMerged {
				w.destroyGroup(base, r, g, groupMerged, "its pull requests were merged", now)
			} else {
				w.dequeue(base, r, g, gone, now)
			}
			return true
		}
		verdict, which := w.groupChecks(r, g)
		if verdict == checksPending && (!now.Before(g.deadline) || (timeOut != nil && timeOut(r, g))) {
			verdict = checksFailed
			which += " timed out"
		}
		switch verdict {
		case checksFailed:
			w.dequeue(base, r, g, "required check "+which+" failed", now)
			return true
		case checksPassed:
			earlier := w.earlierActive(r, g, i)
			if len(earlier) > 0 {
				strategy, _ := mergeQueueRule(r.branches[g.base])["grouping_strategy"].(string)
				if strategy != "HEADGREEN" || !covers(g, earlier) {
					continue
				}
			}
			w.mergeGroupNow(base, r, g, "its required checks passed", now)
			return true
		}
	}
	return false
}

// closedPulls says whether a group's PRs were all merged ("merged") or one
// was closed without merging (a cause), else "".
func (w *world) closedPulls(r *repo, g *mergeGroup) string {
	merged := 0
	for _, n := range g.prs {
		p := r.pullByNum[n]
		switch {
		case p.merged:
			merged++
		case p.state != "open":
			return fmt.Sprintf("#%d was closed", n)
		}
	}
	if merged == len(g.prs) {
		return groupMerged
	}
	return ""
}

// dequeue destroys a group as dequeued and invalidates the later groups that
// hold its last PR.
func (w *world) dequeue(base string, r *repo, g *mergeGroup, cause string, now time.Time) {
	w.destroyGroup(base, r, g, groupDequeued, cause, now)
	last := g.prs[len(g.prs)-1]
	for _, h := range r.mergeGroups {
		if h.active() && h.base == g.base && h.has(last) {
			w.destroyGroup(base, r, h, groupInvalidated, fmt.Sprintf("#%d left the queue", last), now)
		}
	}
}

// earlierActive lists the groups queued on g's base before it (r.mergeGroups[:i]).
func (w *world) earlierActive(r *repo, g *mergeGroup, i int) []*mergeGroup {
	var out []*mergeGroup
	for _, h := range r.mergeGroups[:i] {
		if h.active() && h.base == g.base {
			out = append(out, h)
		}
	}
	return out
}

// covers reports whether g holds every open PR of the earlier groups.
func covers(g *mergeGroup, earlier []*mergeGroup) bool {
	for _, h := range earlier {
		for _, n := range h.prs {
			if !g.has(n) {
				return false
			}
		}
	}
	return true
}

// settleAfterWrite settles the merge queues after a successful API write
// (under the world lock). The webhooks of what changed are sent in the
// background, as those of the app's own writes, when
// Options.WebhooksForAPIWrites is set; the returned function, called once the
// answer is written, starts them.
func (s *Server) settleAfterWrite(c *reqCtx, out resp) func() {
	if out.status >= 300 {
		return func() {}
	}
	c.w.settleMergeQueues(c.base, c.now, nil)
	fs := c.w.takeFollowups()
	if !s.opts.WebhooksForAPIWrites || len(fs) == 0 {
		return func() {}
	}
	s.async.Add(len(fs))
	return func() {
		for _, f := range fs {
			s.deliverAsync(f.h)
		}
	}
}

// MergeQueueCheck selects what Server.CheckMergeQueues times out.
type MergeQueueCheck struct {
	// TimeOut fails the selected groups whose required checks have not all
	// passed, as their status-check timeout would.
	TimeOut bool `json:"time_out,omitempty"`
	// Repo and SHA narrow TimeOut to one repository and one group's head.
	Repo string `json:"repo,omitempty"`
	SHA  string `json:"sha,omitempty"`
}

// CheckMergeQueues settles every merge queue at the emulator's clock (a
// group whose timeout has passed fails, see Options.Now), or with TimeOut as
// if the selected groups' timeouts had passed, and delivers the webhooks of
// what changed. POST /_fake/merge-queues/check takes the same JSON.
func (s *Server) CheckMergeQueues(ctx context.Context, mc MergeQueueCheck) ([]*EventResult, error) {
	s.mu.Lock()
	var sel func(*repo, *mergeGroup) bool
	if mc.TimeOut {
		sel = func(r *repo, g *mergeGroup) bool {
			return (mc.Repo == "" || strings.EqualFold(r.full, mc.Repo)) && (mc.SHA == "" || g.headSHA == mc.SHA)
		}
	}
	s.w.settleMergeQueues(s.baseURL(nil), s.now(), sel)
	fs := s.w.takeFollowups()
	s.mu.Unlock()
	res := &EventResult{}
	err := s.deliverFollowups(ctx, res, fs)
	if res.Followups == nil {
		res.Followups = []*EventResult{}
	}
	return res.Followups, err
}

func (s *Server) handleCheckMergeQueues(w http.ResponseWriter, r *http.Request) {
	var mc MergeQueueCheck
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mc); err != nil && !errors.Is(err, io.EOF) {
		adminError(w, http.StatusBadRequest, "invalid merge queue check: "+err.Error())
		return
	}
	res, err := s.CheckMergeQueues(r.Context(), mc)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]any{"results": res, "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// StateMergeGroup is a merge group in GET /_fake/state: State is queued,
// merged, dequeued or invalidated; Cause says why it left the queue.
type StateMergeGroup struct {
	HeadSHA   string          `json:"head_sha"`
	HeadRef   string          `json:"head_ref"`
	BaseRef   string          `json:"base_ref"`
	BaseSHA   string          `json:"base_sha"`
	PRs       []int           `json:"prs"`
	Statuses  []StateStatus   `json:"statuses"`
	CheckRuns []StateCheckRun `json:"check_runs"`
	State     string          `json:"state"`
	Cause     string          `json:"cause,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

func (w *world) stateMergeGroups(r *repo) []StateMergeGroup {
	out := []StateMergeGroup{}
	for _, g := range r.mergeGroups {
		c := r.commits[g.headSHA]
		out = append(out, StateMergeGroup{HeadSHA: g.headSHA, HeadRef: g.headRef, BaseRef: "refs/heads/" + g.base,
			BaseSHA: g.baseSHA, PRs: append([]int{}, g.prs...), Statuses: w.stateStatuses(c), CheckRuns: w.stateCheckRuns(c),
			State: g.state, Cause: g.cause, CreatedAt: g.createdAt})
	}
	return out
}
