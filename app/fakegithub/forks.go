package fakegithub

import (
	"net/http"
	"strings"
)

// forkOf is the author's fork of r, where a fork PR's head lives: another
// repository, owned by the author, with "fork": true. The emulator serves no
// endpoint of its own for it; it appears as head.repo of the PR.
func (w *world) forkOf(r *repo, user string) *repo {
	key := strings.ToLower(user)
	if f := r.forks[key]; f != nil {
		return f
	}
	f := &repo{id: w.newID(), owner: user, name: r.name, full: user + "/" + r.name, ownerType: "User", private: r.private,
		defaultBranch: r.defaultBranch, fork: true, createdAt: r.createdAt, updatedAt: r.updatedAt, pushedAt: r.pushedAt}
	if r.forks == nil {
		r.forks = map[string]*repo{}
	}
	r.forks[key] = f
	return f
}

// headRepoOr is the repository a PR's head lives in: the author's fork for a
// fork PR, else the base repository.
func (p *pull) headRepoOr(base *repo) *repo {
	if p.headRepo != nil {
		return p.headRepo
	}
	return base
}

// maxPRCommitWalk bounds how far back a PR's commits are searched.
const maxPRCommitWalk = 250

// pullContains reports whether the commit sha is one of the PR's commits:
// its head or an earlier head it had (synchronize links each new head to
// the one before).
func (r *repo) pullContains(p *pull, sha string) bool {
	cm := r.commits[p.headSHA]
	for i := 0; cm != nil && i < maxPRCommitWalk; i++ {
		if cm.sha == sha {
			return true
		}
		if cm.pr != p {
			return false
		}
		cm = r.commits[cm.parent]
	}
	return false
}

// onBranch reports whether sha is the head of branch b or one of its
// ancestors.
func (r *repo) onBranch(b *branch, sha string) bool {
	cm := r.commits[b.sha]
	for i := 0; cm != nil && i < maxPRCommitWalk; i++ {
		if cm.sha == sha {
			return true
		}
		cm = r.commits[cm.parent]
	}
	return false
}

// hCommitPulls lists the pull requests associated with a commit (or a
// branch's head), newest first. As on GitHub: a commit of the default
// branch lists only the merged PR that brought it there; any other commit
// lists its open and merged PRs, fork PRs included.
func hCommitPulls(c *reqCtx) resp {
	cm := c.resolveRef(c.params["commit_sha"])
	if cm == nil {
		return c.unprocessable("No commit found for SHA: " + c.params["commit_sha"])
	}
	onDefault := false
	if b := c.repo.branches[c.repo.defaultBranch]; b != nil {
		onDefault = c.repo.onBranch(b, cm.sha)
	}
	var list []*pull
	for i := len(c.repo.pulls) - 1; i >= 0; i-- {
		p := c.repo.pulls[i]
		if (p.state == "closed" && !p.merged) || (onDefault && !p.merged) {
			continue
		}
		if c.repo.pullContains(p, cm.sha) {
			list = append(list, p)
		}
	}
	lo, hi := c.paginate(len(list), 100)
	out := make([]*pullJSON, 0, hi-lo)
	for _, p := range list[lo:hi] {
		out = append(out, c.w.pullJSON(c.base, c.repo, p, false))
	}
	return resp{status: http.StatusOK, body: out}
}

// headRepoOfRun is the repository a workflow run's head commit lives in.
func headRepoOfRun(r *repo, run *workflowRun) *repo {
	if p := r.pullWithHead(run.headSHA); p != nil {
		return p.headRepoOr(r)
	}
	return r
}
