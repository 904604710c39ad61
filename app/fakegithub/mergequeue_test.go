package fakegithub

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/shurcooL/githubv4"
)

// queueScenario has a branch with a merge queue whose required checks are
// ci/build (classic protection, any source) and ci/lint (a rule, pinned to
// GitHub Actions).
const queueScenario = `
app: {id: 42, slug: fix-status, webhook_secret: s3cret}
installations:
  - {id: 7, account: Codertocat, repos: [Codertocat/queue]}
repos:
  - name: Codertocat/queue
    files:
      main:
        README.md: "hi\n"
        .github/workflows/ci.yml: |
          name: CI
          on:
            pull_request:
            merge_group:
              types: [checks_requested]
          jobs:
            build: {runs-on: ubuntu-latest}
            lint: {name: ci/lint, runs-on: ubuntu-latest}
        .github/workflows/docs.yml: |
          on: [pull_request, push]
          jobs: {docs: {runs-on: ubuntu-latest}}
        .github/workflows/release.yml: |
          on:
            merge_group:
              branches: ["release/**"]
          jobs: {release: {runs-on: ubuntu-latest}}
    branches:
      main:
        sha: 1111111111111111111111111111111111111111
        protection: {required_status_checks: {strict: false, contexts: [ci/build]}}
        rules:
          - type: merge_queue
            parameters: {check_response_timeout_minutes: 30, grouping_strategy: STRATEGY, max_entries_to_build: 5,
              max_entries_to_merge: 5, merge_method: MERGE, min_entries_to_merge: 1, min_entries_to_merge_wait_minutes: 5}
          - type: required_status_checks
            parameters: {required_status_checks: [{context: ci/lint, integration_id: 15368}]}
      plain: {}
    pulls:
      - {number: 1, title: One, user: octocat, base: main, head_sha: aaaa000000000000000000000000000000000001,
         files: [{filename: a.txt, status: added, content: "a\n"}]}
      - {number: 2, title: Two, user: octocat, base: main, head_sha: aaaa000000000000000000000000000000000002,
         files: [{filename: b.txt, status: added, content: "b\n"}, {filename: README.md, status: modified, content: "hi 2\n"}]}
      - {number: 3, title: Three, user: octocat, base: main, generated_files: 350}
      - {number: 4, title: Elsewhere, user: octocat, base: plain}
`

func queueServer(t *testing.T, strategy string, mod ...func(*Options)) *Server {
	t.Helper()
	return startServer(t, strings.Replace(queueScenario, "STRATEGY", strategy, 1), mod...)
}

// hookSink receives webhooks through go-githubapp's dispatcher (so every
// one it keeps was signed with secret).
type hookSink struct {
	mu     sync.Mutex
	got    []received
	events []string
	secret string
	url    string
}

func (h *hookSink) setSecret(secret string) {
	h.mu.Lock()
	h.secret = secret
	h.mu.Unlock()
}

func (h *hookSink) Handles() []string { return h.events }

func (h *hookSink) Handle(_ context.Context, event, delivery string, payload []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, received{event: event, delivery: delivery, payload: payload})
	return nil
}

func (h *hookSink) all() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.got...)
}

func newHookSink(t *testing.T, secret string, events ...string) *hookSink {
	t.Helper()
	h := &hookSink{events: events, secret: secret}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		secret := h.secret
		h.mu.Unlock()
		githubapp.NewEventDispatcher([]githubapp.EventHandler{h}, secret).ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	h.url = hs.URL + "/api/github/hook"
	return h
}

func apply(t *testing.T, s *Server, ev Event) *EventResult {
	t.Helper()
	res, err := s.Apply(context.Background(), ev)
	if err != nil {
		t.Fatalf("Apply(%s): %v", ev.Type, err)
	}
	return res
}

// followups lists "event.action" (with the reason of merge_group.destroyed)
// of an event's followups.
func followups(t *testing.T, s *Server, res []*EventResult) []string {
	t.Helper()
	var out []string
	for _, f := range res {
		name := f.Event + "." + f.Action
		if f.Event == "merge_group" {
			name += ":" + deliveredReason(t, s, f.Delivery)
		}
		out = append(out, name)
	}
	return out
}

func deliveredReason(t *testing.T, s *Server, id string) string {
	t.Helper()
	for _, d := range s.Deliveries() {
		if d.ID == id {
			var p struct{ Reason string }
			if err := json.Unmarshal(d.Payload, &p); err != nil {
				t.Fatal(err)
			}
			return p.Reason
		}
	}
	t.Fatalf("no delivery %q", id)
	return ""
}

func stateRepo(t *testing.T, s *Server, name string) StateRepo {
	t.Helper()
	for _, r := range s.State().Repos {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no repo %s in the state", name)
	return StateRepo{}
}

// TestMergeGroupRoundTrip builds a merge group, reads it back through
// go-github (webhook, refs, compare, contents, rules), reports the required
// checks on its head and watches it merge.
func TestMergeGroupRoundTrip(t *testing.T) {
	s := queueServer(t, "ALLGREEN")
	sink := newHookSink(t, "s3cret", "merge_group", "pull_request")
	s.SetWebhookURL(sink.url)
	ctx := context.Background()
	client := installationClient(t, s, 7)

	res := apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", User: "octocat", PRs: []int{1, 2}})
	wantRef := "refs/heads/gh-readonly-queue/main/pr-2-aaaa000000000000000000000000000000000002"
	if !res.Delivered || res.HeadRef != wantRef || !shaRE.MatchString(res.SHA) {
		t.Fatalf("checks_requested = %+v; want a delivered group with head_ref %s", res, wantRef)
	}
	got := sink.all()
	hook, err := github.ParseWebHook(got[0].event, got[0].payload)
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := hook.(*github.MergeGroupEvent)
	if !ok {
		t.Fatalf("webhook %s decodes to %T", got[0].event, hook)
	}
	mg := ev.GetMergeGroup()
	if ev.GetAction() != "checks_requested" || mg.GetHeadSHA() != res.SHA || mg.GetHeadRef() != wantRef ||
		mg.GetBaseSHA() != "1111111111111111111111111111111111111111" || mg.GetBaseRef() != "refs/heads/main" ||
		mg.GetHeadCommit().GetMessage() != "Merge pull request #2 from Codertocat:pr-2" ||
		ev.GetInstallation().GetID() != 7 || ev.GetSender().GetLogin() != "octocat" || ev.GetRepo().GetFullName() != "Codertocat/queue" {
		t.Errorf("merge_group payload = %s", got[0].payload)
	}
	var raw struct {
		MergeGroup struct {
			HeadCommit struct{ ID, TreeID string } `json:"head_commit"`
		} `json:"merge_group"`
	}
	if err := json.Unmarshal(got[0].payload, &raw); err != nil || raw.MergeGroup.HeadCommit.ID != res.SHA {
		t.Errorf("head_commit = %+v (%v); want id %s", raw.MergeGroup.HeadCommit, err, res.SHA)
	}

	ref, _, err := client.Git.GetRef(ctx, "Codertocat", "queue", strings.TrimPrefix(wantRef, "refs/"))
	if err != nil || ref.GetObject().GetSHA() != res.SHA {
		t.Errorf("GetRef = %v, %v; want %s", ref, err, res.SHA)
	}
	refs, _, err := client.Git.ListMatchingRefs(ctx, "Codertocat", "queue", &github.ReferenceListOptions{Ref: "heads/gh-readonly-queue/"})
	if err != nil || len(refs) != 1 || refs[0].GetRef() != wantRef {
		t.Errorf("ListMatchingRefs = %v, %v; want the group's ref", refs, err)
	}
	cmpRes, _, err := client.Repositories.CompareCommits(ctx, "Codertocat", "queue", "main", res.SHA, nil)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range cmpRes.Files {
		files = append(files, f.GetFilename())
	}
	if diff := cmp.Diff([]string{"a.txt", "b.txt", "README.md"}, files); diff != "" || cmpRes.GetAheadBy() != 1 {
		t.Errorf("compare main...group: ahead %d, files (-want +got):\n%s", cmpRes.GetAheadBy(), diff)
	}
	for path, want := range map[string]string{"a.txt": "a\n", "README.md": "hi 2\n"} {
		fc, _, _, err := client.Repositories.GetContents(ctx, "Codertocat", "queue", path, &github.RepositoryContentGetOptions{Ref: wantRef})
		if content, _ := fc.GetContent(); err != nil || content != want {
			t.Errorf("contents of %s at the group's ref = %q, %v; want %q", path, content, err, want)
		}
	}
	// go-github v60's RepositoryRule cannot decode a merge_queue rule
	// ("not yet implemented"): read the rules as GitHub sends them.
	req, _ := client.NewRequest("GET", "repos/Codertocat/queue/rules/branches/main", nil)
	var rules []struct {
		Type       string
		Parameters map[string]any
	}
	if _, err := client.Do(ctx, req, &rules); err != nil || len(rules) != 2 || rules[0].Type != "merge_queue" ||
		rules[0].Parameters["check_response_timeout_minutes"] != 30.0 {
		t.Errorf("rules of main = %+v, %v; want merge_queue first", rules, err)
	}

	// ci/build from anyone, then ci/lint from GitHub Actions: a ci/lint from
	// another app does not count.
	if _, _, err := client.Repositories.CreateStatus(ctx, "Codertocat", "queue", res.SHA, &github.RepoStatus{
		State: github.String("success"), Context: github.String("ci/build")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Checks.CreateCheckRun(ctx, "Codertocat", "queue", github.CreateCheckRunOptions{Name: "ci/lint",
		HeadSHA: res.SHA, Status: github.String("completed"), Conclusion: github.String("success")}); err != nil {
		t.Fatal(err)
	}
	if g := stateRepo(t, s, "Codertocat/queue").MergeGroups[0]; g.State != "queued" || len(g.Statuses) != 1 || len(g.CheckRuns) != 1 {
		t.Fatalf("after ci/build and fix-status's ci/lint: %+v; want still queued, with both results", g)
	}
	done := apply(t, s, Event{Type: "check_run.completed", Repo: "Codertocat/queue", SHA: res.SHA, Name: "ci/lint", Conclusion: "success"})
	// The run ends its GitHub Actions suite (check_suite.completed first),
	// then the group merges.
	if diff := cmp.Diff([]string{"check_suite.completed", "merge_group.destroyed:merged", "pull_request.closed", "pull_request.closed"}, followups(t, s, done.Followups)); diff != "" {
		t.Errorf("followups of the passing check (-want +got):\n%s", diff)
	}
	st := stateRepo(t, s, "Codertocat/queue")
	if g := st.MergeGroups[0]; g.State != "merged" || g.HeadSHA != res.SHA || !cmp.Equal(g.PRs, []int{1, 2}) || g.BaseRef != "refs/heads/main" {
		t.Errorf("merge group state = %+v", g)
	}
	if st.Branches["main"].SHA != res.SHA || st.Files["main"]["b.txt"] != "b\n" {
		t.Errorf("main = %s with files %v; want the group's commit", st.Branches["main"].SHA, st.Files["main"])
	}
	for _, p := range st.Pulls[:2] {
		if p.State != "closed" || !p.Merged {
			t.Errorf("#%d: state %s merged %v; want merged", p.Number, p.State, p.Merged)
		}
	}
	if _, _, err := client.Git.GetRef(ctx, "Codertocat", "queue", strings.TrimPrefix(wantRef, "refs/")); !isStatus(err, 404) {
		t.Errorf("GetRef of a merged group = %v; want 404 (GitHub deletes the branch)", err)
	}
}

// TestMergeQueueSettles runs the queue's rules: order, grouping strategy,
// failures and timeouts.
func TestMergeQueueSettles(t *testing.T) {
	pass := []Event{
		{Type: "status", Context: "ci/build", State: "success"},
		{Type: "check_run.completed", Name: "ci/lint", Conclusion: "success"},
	}
	tests := []struct {
		name     string
		strategy string
		groups   [][]int
		// report sends events on the head of group i.
		report  map[int][]Event
		advance time.Duration // then CheckMergeQueues
		timeOut bool          // CheckMergeQueues with TimeOut
		want    []string      // the groups' states
		cause   string        // of the first group
		merged  []int
	}{
		{name: "groups merge in order", strategy: "ALLGREEN", groups: [][]int{{1}, {1, 2}},
			report: map[int][]Event{0: pass, 1: pass}, want: []string{"merged", "merged"}, merged: []int{1, 2}},
		{name: "a later green group waits for the head (ALLGREEN)", strategy: "ALLGREEN", groups: [][]int{{1}, {1, 2}},
			report: map[int][]Event{1: pass}, want: []string{"queued", "queued"}},
		{name: "a later green group takes the earlier ones (HEADGREEN)", strategy: "HEADGREEN", groups: [][]int{{1}, {1, 2}},
			report: map[int][]Event{1: pass}, want: []string{"merged", "merged"}, merged: []int{1, 2}, cause: "its pull requests were merged"},
		{name: "a failing check dequeues and invalidates", strategy: "ALLGREEN", groups: [][]int{{1}, {1, 2}, {3}},
			report: map[int][]Event{0: {{Type: "status", Context: "ci/build", State: "failure"}}},
			want:   []string{"dequeued", "invalidated", "queued"}, cause: "required check ci/build failed"},
		{name: "an unpinned-source lint does not pass", strategy: "ALLGREEN", groups: [][]int{{1}},
			report: map[int][]Event{0: {pass[0], {Type: "check_run.completed", Name: "ci/lint", Conclusion: "success", AppID: 9000}}},
			want:   []string{"queued"}},
		{name: "the timeout by the emulator clock", strategy: "ALLGREEN", groups: [][]int{{2}},
			report: map[int][]Event{0: pass[:1]}, advance: 31 * time.Minute,
			want: []string{"dequeued"}, cause: "required check ci/lint timed out failed"},
		{name: "not yet timed out", strategy: "ALLGREEN", groups: [][]int{{2}}, advance: 29 * time.Minute, want: []string{"queued"}},
		{name: "a triggered timeout", strategy: "ALLGREEN", groups: [][]int{{2}}, timeOut: true,
			want: []string{"dequeued"}, cause: "required check ci/build timed out failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{}
			s := queueServer(t, tc.strategy, func(o *Options) { o.Now = clk.Now })
			var heads []string
			for _, prs := range tc.groups {
				heads = append(heads, apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", PRs: prs}).SHA)
			}
			for i := range tc.groups {
				for _, ev := range tc.report[i] {
					ev.Repo, ev.SHA = "Codertocat/queue", heads[i]
					apply(t, s, ev)
				}
			}
			clk.Advance(tc.advance)
			if _, err := s.CheckMergeQueues(context.Background(), MergeQueueCheck{TimeOut: tc.timeOut}); err != nil {
				t.Fatal(err)
			}
			st := stateRepo(t, s, "Codertocat/queue")
			var states []string
			for _, g := range st.MergeGroups {
				states = append(states, g.State)
			}
			if diff := cmp.Diff(tc.want, states); diff != "" {
				t.Errorf("group states (-want +got):\n%s", diff)
			}
			if tc.cause != "" && st.MergeGroups[0].Cause != tc.cause {
				t.Errorf("cause = %q; want %q", st.MergeGroups[0].Cause, tc.cause)
			}
			var merged []int
			for _, p := range st.Pulls {
				if p.Merged {
					merged = append(merged, p.Number)
				}
			}
			if diff := cmp.Diff(tc.merged, merged); diff != "" {
				t.Errorf("merged PRs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeGroupDestroyedEvent(t *testing.T) {
	for _, reason := range []string{"merged", "dequeued", "invalidated"} {
		t.Run(reason, func(t *testing.T) {
			s := queueServer(t, "ALLGREEN")
			sink := newHookSink(t, "s3cret", "merge_group", "pull_request")
			s.SetWebhookURL(sink.url)
			head := apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", PRs: []int{1}}).SHA
			res := apply(t, s, Event{Type: "merge_group.destroyed", Repo: "Codertocat/queue", SHA: head, Reason: reason})
			if got := deliveredReason(t, s, res.Delivery); !res.Delivered || res.Action != "destroyed" || got != reason {
				t.Errorf("destroyed = %+v with reason %q; want %s", res, got, reason)
			}
			wantFollowups := []string(nil)
			if reason == "merged" {
				wantFollowups = []string{"pull_request.closed"}
			}
			if diff := cmp.Diff(wantFollowups, followups(t, s, res.Followups)); diff != "" {
				t.Errorf("followups (-want +got):\n%s", diff)
			}
			st := stateRepo(t, s, "Codertocat/queue")
			if st.MergeGroups[0].State != reason || st.Pulls[0].Merged != (reason == "merged") {
				t.Errorf("state = %s, #1 merged %v", st.MergeGroups[0].State, st.Pulls[0].Merged)
			}
		})
	}
}

func TestMergeGroupEventErrors(t *testing.T) {
	s := queueServer(t, "ALLGREEN")
	head := apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", PRs: []int{1}}).SHA
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Type: "merge_group.checks_requested", PRs: []int{4}, Base: "plain"}, "has no merge queue"},
		{Event{Type: "merge_group.checks_requested"}, "prs: missing"},
		{Event{Type: "merge_group.checks_requested", PRs: []int{2, 2}}, "listed twice"},
		{Event{Type: "merge_group.checks_requested", PRs: []int{4}}, `based on "plain"`},
		{Event{Type: "merge_group.checks_requested", PRs: []int{1}}, "already heads the merge group"},
		{Event{Type: "merge_group.checks_requested", PRs: []int{9}}, "#9 is not in"},
		{Event{Type: "merge_group.checks_requested", PRs: []int{1, 2, 3, 4, 5, 6}}, "max_entries_to_merge"},
		{Event{Type: "merge_group.checks_requested", PRs: []int{2}, HeadSHA: head}, "not a new"},
		{Event{Type: "merge_group.destroyed", SHA: head, Reason: "bored"}, "is not merged, dequeued or invalidated"},
		{Event{Type: "merge_group.destroyed", SHA: "1111111111111111111111111111111111111111", Reason: "merged"}, "no merge group"},
		{Event{Type: "merge_group.enqueued"}, "not supported"},
	}
	for _, tc := range tests {
		tc.ev.Repo = "Codertocat/queue"
		_, err := s.Apply(context.Background(), tc.ev)
		if _, ok := err.(*EventError); !ok || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: err = %v; want an EventError with %q", tc.ev.Type, tc.ev.PRs, err, tc.want)
		}
	}
}

// TestMergeGroupNeedsMergeQueuesPermission: GitHub sends merge_group only to
// installations with the merge_queues permission.
func TestMergeGroupNeedsMergeQueuesPermission(t *testing.T) {
	sc := strings.Replace(queueScenario, "{id: 7, account: Codertocat, repos: [Codertocat/queue]}",
		"{id: 7, account: Codertocat, repos: [Codertocat/queue], permissions: {metadata: read, checks: write}}", 1)
	s := startServer(t, strings.Replace(sc, "STRATEGY", "ALLGREEN", 1))
	s.SetWebhookURL(newHookSink(t, "s3cret", "merge_group").url)
	res := apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", PRs: []int{1}})
	if res.Delivered || !strings.Contains(res.Skipped, "merge_queues") {
		t.Errorf("checks_requested = %+v; want skipped for the missing merge_queues permission", res)
	}
}

// TestCompareStopsAt300Files: the compare API lists at most 300 files, and
// nothing in the answer counts them; the PR files API has them all.
func TestCompareStopsAt300Files(t *testing.T) {
	s := queueServer(t, "ALLGREEN")
	client := installationClient(t, s, 7)
	head := apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", PRs: []int{3}}).SHA
	for _, tc := range []struct {
		base  string
		files int
	}{{"main", 300}, {"aaaa000000000000000000000000000000000001", 1}} {
		got, _, err := client.Repositories.CompareCommits(context.Background(), "Codertocat", "queue", "main", head, nil)
		if tc.base != "main" {
			got, _, err = client.Repositories.CompareCommits(context.Background(), "Codertocat", "queue", "main", tc.base, nil)
		}
		if err != nil || len(got.Files) != tc.files || got.GetTotalCommits() != 1 {
			t.Errorf("compare main...%s: %d files, %d commits, %v; want %d files, 1 commit", tc.base, len(got.Files), got.GetTotalCommits(), err, tc.files)
		}
	}
}

func TestMergeGroupActionsSimulation(t *testing.T) {
	tests := []struct {
		name, actions string
		want          []string // check runs on the group's head
		status        string
	}{
		{name: "off by default", want: nil},
		{name: "queued runs", actions: "actions: {simulate_merge_group: true}\n", want: []string{"build", "ci/lint"}, status: "queued"},
		{name: "completed runs", actions: "actions: {simulate_merge_group: true, conclusion: success}\n", want: []string{"build", "ci/lint"}, status: "completed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.actions+strings.Replace(queueScenario, "STRATEGY", "ALLGREEN", 1))
			res := apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", PRs: []int{1}})
			st := stateRepo(t, s, "Codertocat/queue")
			var names []string
			for _, cr := range st.MergeGroups[0].CheckRuns {
				names = append(names, cr.Name)
				if cr.Status != tc.status || cr.AppID != GitHubActionsAppID || cr.HeadSHA != res.SHA {
					t.Errorf("check run %s: %s, app %d, on %s", cr.Name, cr.Status, cr.AppID, cr.HeadSHA)
				}
			}
			if diff := cmp.Diff(tc.want, names); diff != "" {
				t.Errorf("check runs (-want +got):\n%s", diff)
			}
			if tc.want == nil {
				return
			}
			run := st.WorkflowRuns[len(st.WorkflowRuns)-1]
			if run.Name != "CI" || run.Path != ".github/workflows/ci.yml" || run.HeadSHA != res.SHA ||
				run.HeadBranch != strings.TrimPrefix(res.HeadRef, "refs/heads/") {
				t.Errorf("workflow run = %+v", run)
			}
			runs, _, err := installationClient(t, s, 7).Actions.ListRepositoryWorkflowRuns(context.Background(), "Codertocat", "queue",
				&github.ListWorkflowRunsOptions{Event: "merge_group"})
			if err != nil || runs.GetTotalCount() != 1 {
				t.Errorf("merge_group workflow runs = %v, %v; want 1", runs, err)
			}
			// Completed successful runs pass ci/lint; ci/build (a status) is
			// still missing.
			if st.MergeGroups[0].State != "queued" {
				t.Errorf("group state = %s; want queued (ci/build missing)", st.MergeGroups[0].State)
			}
		})
	}
}

func TestWorkflowMergeGroupTrigger(t *testing.T) {
	tests := []struct {
		on   string
		base string
		want bool
	}{
		{"merge_group", "main", true},
		{"[push, merge_group]", "main", true},
		{"[push, pull_request]", "main", false},
		{"{merge_group: }", "main", true},
		{"{merge_group: {types: [checks_requested]}}", "main", true},
		{"{merge_group: {types: [destroyed]}}", "main", false},
		{"{merge_group: {types: checks_requested}}", "main", true},
		{"{merge_group: {branches: [main]}}", "main", true},
		{"{merge_group: {branches: [main]}}", "dev", false},
		{"{merge_group: {branches: ['release/*']}}", "release/v1", true},
		{"{merge_group: {branches: ['release/*']}}", "release/v1/x", false},
		{"{merge_group: {branches: ['release/**']}}", "release/v1/x", true},
		{"{merge_group: {branches: ['releases?/v1']}}", "release/v1", true},
		{"{merge_group: {branches: ['mai+n']}}", "maiin", true},
		{"{merge_group: {branches: ['v[0-9]']}}", "v7", true},
		{"{merge_group: {branches: ['**', '!dev']}}", "dev", false},
		{"{merge_group: {branches: ['**', '!dev']}}", "main", true},
		{"{merge_group: {branches-ignore: [dev]}}", "dev", false},
		{"{merge_group: {branches-ignore: [dev]}}", "main", true},
		{"{merge_group: {branches: [main], branches-ignore: [dev]}}", "main", false},
		{"{push: {branches: [main]}}", "main", false},
	}
	for _, tc := range tests {
		tree := map[string]string{".github/workflows/w.yml": "on: " + tc.on + "\njobs: {j: {}}\n"}
		got := len(mergeGroupWorkflows(tree, tc.base)) == 1
		if got != tc.want {
			t.Errorf("on: %s, base %s: runs = %v; want %v", tc.on, tc.base, got, tc.want)
		}
	}
	// Only direct children of .github/workflows with a YAML extension count.
	tree := map[string]string{".github/workflows/sub/w.yml": "on: merge_group\n", ".github/workflows/w.txt": "on: merge_group\n",
		".github/workflows/w.yaml": "name: W\non: merge_group\njobs: {a: {name: A}, b: {}}\n", ".github/workflows/bad.yml": "on: [\n"}
	got := mergeGroupWorkflows(tree, "main")
	if len(got) != 1 || got[0].name != "W" || !cmp.Equal(got[0].jobs, []string{"A", "b"}) {
		t.Errorf("workflows = %+v; want only W with jobs A, b", got)
	}
}

// TestGraphQLMergeQueue reads the queue's entries through githubv4.
func TestGraphQLMergeQueue(t *testing.T) {
	s := queueServer(t, "ALLGREEN")
	first := apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", PRs: []int{1}}).SHA
	second := apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", PRs: []int{1, 2}}).SHA
	var q struct {
		Repository struct {
			MergeQueue *struct {
				Entries struct {
					TotalCount int
					Nodes      []struct {
						Position    int
						State       string
						HeadCommit  struct{ Oid string }
						BaseCommit  struct{ Oid string }
						PullRequest struct{ Number int }
					}
				} `graphql:"entries(first: 10)"`
			} `graphql:"mergeQueue(branch: $branch)"`
		} `graphql:"repository(owner: \"Codertocat\", name: \"queue\")"`
	}
	client := v4Client(t, s, 7)
	if err := client.Query(context.Background(), &q, map[string]any{"branch": githubv4.String("main")}); err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Pos         int
		State, Head string
		Base        string
		PR          int
	}
	var got []entry
	for _, n := range q.Repository.MergeQueue.Entries.Nodes {
		got = append(got, entry{n.Position, n.State, n.HeadCommit.Oid, n.BaseCommit.Oid, n.PullRequest.Number})
	}
	base := "1111111111111111111111111111111111111111"
	want := []entry{{1, "AWAITING_CHECKS", first, base, 1}, {2, "AWAITING_CHECKS", second, base, 2}}
	if diff := cmp.Diff(want, got); diff != "" || q.Repository.MergeQueue.Entries.TotalCount != 2 {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if err := client.Query(context.Background(), &q, map[string]any{"branch": githubv4.String("plain")}); err != nil || q.Repository.MergeQueue != nil {
		t.Errorf("mergeQueue(plain) = %v, %v; want null (no merge queue)", q.Repository.MergeQueue, err)
	}
}

func TestMergeQueueRuleValidation(t *testing.T) {
	full := "{check_response_timeout_minutes: 60, grouping_strategy: ALLGREEN, max_entries_to_build: 5, max_entries_to_merge: 5, merge_method: MERGE, min_entries_to_merge: 1, min_entries_to_merge_wait_minutes: 5}"
	tests := []struct{ params, want string }{
		{full, ""},
		{strings.Replace(full, "60", "0", 1), "check_response_timeout_minutes: 0 is not between 1 and 360"},
		{strings.Replace(full, "ALLGREEN", "SOMEGREEN", 1), "grouping_strategy"},
		{strings.Replace(full, "merge_method: MERGE, ", "", 1), "merge_method"},
		{strings.Replace(full, "}", ", speed: 9}", 1), `unknown key "speed"`},
	}
	for _, tc := range tests {
		sc := "app: {id: 1, slug: a, webhook_secret: s}\nrepos:\n  - name: o/r\n    branches:\n      main:\n        rules: [{type: merge_queue, parameters: " + tc.params + "}]\n"
		_, err := ParseScenario([]byte(sc))
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v; want %q", tc.params, err, tc.want)
		}
	}
}

func TestMergeQueueAdminCheck(t *testing.T) {
	s := queueServer(t, "ALLGREEN")
	sink := newHookSink(t, "s3cret", "merge_group")
	s.SetWebhookURL(sink.url)
	apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", PRs: []int{1}})
	keep := apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", PRs: []int{2}}).SHA
	other := apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", PRs: []int{3}}).SHA
	res := do(t, s, "POST", "/_fake/merge-queues/check", "", `{"time_out": true, "repo": "codertocat/queue", "sha": "`+other+`"}`)
	var out []EventResult
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("POST /_fake/merge-queues/check = %d, %v", res.StatusCode, err)
	}
	if len(out) != 1 || out[0].SHA != other || out[0].Event != "merge_group" || out[0].Action != "destroyed" || !out[0].Delivered {
		t.Errorf("check = %+v; want only the selected group destroyed", out)
	}
	if g := stateRepo(t, s, "Codertocat/queue").MergeGroups[1]; g.HeadSHA != keep || g.State != "queued" {
		t.Errorf("the other group = %+v; want queued", g)
	}
	if res := do(t, s, "POST", "/_fake/merge-queues/check", "", `{"later": true}`); res.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown key = %d; want 400", res.StatusCode)
	}
}

// TestListAllRefs reads GET /repos/{o}/{r}/git/refs through go-github: GitHub
// still serves this list of every ref, though its OpenAPI description (which
// the conformance test checks against) only has git/matching-refs. It lists
// every branch and the branch of each merge group in the queue, sorted, as
// go-github's Reference decodes them.
func TestListAllRefs(t *testing.T) {
	s := queueServer(t, "ALLGREEN")
	ctx := context.Background()
	client := installationClient(t, s, 7)
	group := apply(t, s, Event{Type: "merge_group.checks_requested", Repo: "Codertocat/queue", User: "octocat", PRs: []int{1}})

	req, err := client.NewRequest("GET", "repos/Codertocat/queue/git/refs", nil)
	if err != nil {
		t.Fatal(err)
	}
	var refs []*github.Reference
	if _, err := client.Do(ctx, req, &refs); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{group.HeadRef: group.SHA}
	for name, b := range stateRepo(t, s, "Codertocat/queue").Branches {
		want["refs/heads/"+name] = b.SHA
	}
	got := map[string]string{}
	var names []string
	for _, r := range refs {
		got[r.GetRef()] = r.GetObject().GetSHA()
		names = append(names, r.GetRef())
		if r.GetObject().GetType() != "commit" || !strings.HasSuffix(r.GetObject().GetURL(), "/git/commits/"+r.GetObject().GetSHA()) ||
			!strings.HasSuffix(r.GetURL(), "/repos/Codertocat/queue/git/"+r.GetRef()) || r.GetNodeID() == "" {
			t.Errorf("ref %s = %+v; want a commit object with GitHub's URLs", r.GetRef(), r)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("refs are not sorted: %v", names)
	}
}
