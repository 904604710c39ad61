package fakegithub

import (
	"path"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// workflowDir is where GitHub Actions finds a repository's workflows.
const workflowDir = ".github/workflows/"

// workflowFile is a GitHub Actions workflow of a commit's tree.
type workflowFile struct {
	path, name string
}

// workflowsAt lists the workflows in a tree, by path. A workflow's name is
// its `name:`, or its path when it has none, as GitHub shows it.
func workflowsAt(tree map[string]string) []workflowFile {
	var out []workflowFile
	for p, content := range tree {
		if !strings.HasPrefix(p, workflowDir) || strings.Contains(p[len(workflowDir):], "/") {
			continue
		}
		if ext := path.Ext(p); ext != ".yml" && ext != ".yaml" {
			continue
		}
		var doc struct {
			Name string `yaml:"name"`
		}
		name := p
		if yaml.Unmarshal([]byte(content), &doc) == nil && doc.Name != "" {
			name = doc.Name
		}
		out = append(out, workflowFile{path: p, name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// workflowPath is the file of the workflow named name at commit c: the
// workflow of that name in its tree, else a file named after it.
func (w *world) workflowPath(r *repo, c *commit, name string) string {
	for _, wf := range workflowsAt(w.treeAt(r, c)) {
		if wf.name == name {
			return wf.path
		}
	}
	return workflowDir + strings.ToLower(strings.NewReplacer(" ", "-", "/", "-").Replace(name)) + ".yml"
}

// requestSuites creates, for a commit that was pushed or became a PR's
// head, the check suites GitHub creates before anything reports: one queued
// GitHub Actions suite per workflow of the commit's tree. A suite whose
// workflow does not run for the change (a paths: filter, say) stays queued
// with no check runs, as on GitHub; one that runs gets its workflow run and
// check runs when check_run events report them.
func (w *world) requestSuites(r *repo, c *commit, headBranch string, now time.Time) {
	for _, wf := range workflowsAt(w.treeAt(r, c)) {
		if w.pendingSuite(r, c, wf.path) != nil {
			continue
		}
		s := &checkSuite{id: w.newID(), headSHA: c.sha, headBranch: headBranch, appID: GitHubActionsAppID, status: "queued",
			workflowPath: wf.path, createdAt: now, updatedAt: now}
		r.suites[s.id] = s
	}
}

// pendingSuite is the GitHub Actions suite of a workflow on c that no run
// has reported into yet, or nil.
func (w *world) pendingSuite(r *repo, c *commit, workflowPath string) *checkSuite {
	for _, s := range r.suites {
		if s.headSHA == c.sha && s.appID == GitHubActionsAppID && s.run == nil && s.workflowPath == workflowPath {
			return s
		}
	}
	return nil
}

// suiteCompletedHook is the check_suite.completed webhook GitHub sends once
// every run of a suite has completed.
func (w *world) suiteCompletedHook(base string, r *repo, s *checkSuite, sender string) *hook {
	return w.finishHook(base, r, "check_suite", "completed", sender, map[string]any{"check_suite": w.checkSuiteJSON(base, r, s)})
}

// suiteDoneHook adds check_suite.completed after the webhook of an API
// write that ended a suite (only when webhooks of API writes are on).
func (c *reqCtx) suiteDoneHook(done bool, s *checkSuite) {
	if done && c.hook != nil {
		c.hook.then = append(c.hook.then, c.w.suiteCompletedHook(c.base, c.repo, s, c.actor()))
	}
}
