package fakegithub

import (
	"sort"
	"strings"
)

// maxPullFiles is where GitHub's PR files API stops listing.
const maxPullFiles = 3000

func (c *reqCtx) pullParam(name string) *pull {
	return c.repo.pullByNum[int(c.idParam(name))]
}

func hListPulls(c *reqCtx) resp {
	q := c.query
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	sortBy := q.Get("sort")
	if sortBy == "" {
		sortBy = "created"
	}
	dir := q.Get("direction")
	if dir == "" {
		dir = "desc"
		if sortBy != "created" {
			dir = "asc"
		}
	}
	switch {
	case state != "open" && state != "closed" && state != "all":
		return c.invalid("PullRequest", "state", "invalid", "")
	case sortBy != "created" && sortBy != "updated" && sortBy != "popularity" && sortBy != "long-running":
		return c.invalid("PullRequest", "sort", "invalid", "")
	case dir != "asc" && dir != "desc":
		return c.invalid("PullRequest", "direction", "invalid", "")
	}
	base := q.Get("base")
	head := q.Get("head")
	var list []*pull
	for _, p := range c.repo.pulls {
		if state != "all" && p.state != state {
			continue
		}
		if base != "" && p.base != base {
			continue
		}
		if head != "" {
			user, ref, found := strings.Cut(head, ":")
			if !found || !strings.EqualFold(user, c.repo.owner) || ref != p.head {
				continue
			}
		}
		list = append(list, p)
	}
	less := func(a, b *pull) bool {
		switch sortBy {
		case "updated":
			if !a.updatedAt.Equal(b.updatedAt) {
				return a.updatedAt.Before(b.updatedAt)
			}
		case "popularity":
			if len(a.comments) != len(b.comments) {
				return len(a.comments) < len(b.comments)
			}
		default:
			if !a.createdAt.Equal(b.createdAt) {
				return a.createdAt.Before(b.createdAt)
			}
		}
		return a.number < b.number
	}
	sort.SliceStable(list, func(i, j int) bool {
		if dir == "desc" {
			return less(list[j], list[i])
		}
		return less(list[i], list[j])
	})
	lo, hi := c.paginate(len(list), 100)
	out := make([]*pullJSON, 0, hi-lo)
	for _, p := range list[lo:hi] {
		out = append(out, c.w.pullJSON(c.base, c.repo, p, false))
	}
	return ok(out)
}

func hGetPull(c *reqCtx) resp {
	p := c.pullParam("pull_number")
	if p == nil {
		return c.notFound()
	}
	return ok(c.w.pullJSON(c.base, c.repo, p, true))
}

// hListPullFiles lists a PR's files, 100 per page at most, and stops at
// GitHub's 3,000-file limit.
func hListPullFiles(c *reqCtx) resp {
	p := c.pullParam("pull_number")
	if p == nil {
		return c.notFound()
	}
	files := p.files
	if len(files) > maxPullFiles {
		files = files[:maxPullFiles]
	}
	lo, hi := c.paginate(len(files), 100)
	out := make([]fileJSON, 0, hi-lo)
	for _, f := range files[lo:hi] {
		out = append(out, fileJSONOf(c.base, c.repo, p.headSHA, f))
	}
	return ok(out)
}
