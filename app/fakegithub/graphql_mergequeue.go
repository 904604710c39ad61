package fakegithub

import (
	"strconv"

	graphql "github.com/graph-gophers/graphql-go"
)

// Repository.mergeQueue: the open pull requests of the groups in a branch's
// queue, one entry each, in queue order. An entry's head commit is the
// group it heads (else the newest group holding it), as on GitHub each PR's
// entry has the merge group that ends with it.

type gqlMergeQueue struct {
	q    *gqlReq
	r    *repo
	base string
}

// MergeQueue is null for a branch without a merge queue; it needs the
// merge_queues permission, as the merge_group webhook does.
func (x *gqlRepository) MergeQueue(args struct{ Branch *string }) (*gqlMergeQueue, error) {
	if !x.q.tok.allows("merge_queues:read") {
		return nil, errForbidden()
	}
	name := x.r.defaultBranch
	if args.Branch != nil {
		name = *args.Branch
	}
	b := x.r.branches[name]
	if b == nil || mergeQueueRule(b) == nil {
		return nil, nil
	}
	return &gqlMergeQueue{q: x.q, r: x.r, base: name}, nil
}

func (x *gqlMergeQueue) ID() graphql.ID { return opaqueID("MergeQueue", x.r.full, x.base) }

type gqlMergeQueueEntry struct {
	q        *gqlReq
	r        *repo
	p        *pull
	group    *mergeGroup
	since    *mergeGroup // the first group that held the PR
	position int
}

// entries lists the queue's entries in order.
func (x *gqlMergeQueue) entries() []*gqlMergeQueueEntry {
	var out []*gqlMergeQueueEntry
	at := map[int]*gqlMergeQueueEntry{}
	for _, g := range x.r.mergeGroups {
		if !g.active() || g.base != x.base {
			continue
		}
		for i, n := range g.prs {
			p := x.r.pullByNum[n]
			if p.state != "open" {
				continue
			}
			e := at[n]
			if e == nil {
				e = &gqlMergeQueueEntry{q: x.q, r: x.r, p: p, since: g, position: len(out) + 1}
				at[n] = e
				out = append(out, e)
			}
			if e.group == nil || e.group.prs[len(e.group.prs)-1] != n || i == len(g.prs)-1 {
				e.group = g
			}
		}
	}
	return out
}

func (x *gqlMergeQueue) Entries(args gqlPageArgs) (*gqlMergeQueueEntryConnection, error) {
	list := x.entries()
	keys := make([]sortKey, len(list))
	for i, e := range list {
		keys[i] = sortKey{int64(e.position)}
	}
	lo, hi, info, err := paginate(keys, 1, args)
	if err != nil {
		return nil, err
	}
	return &gqlMergeQueueEntryConnection{total: len(list), info: info, nodes: list[lo:hi]}, nil
}

type gqlMergeQueueEntryConnection struct {
	total int
	info  *gqlPageInfo
	nodes []*gqlMergeQueueEntry
}

func (c *gqlMergeQueueEntryConnection) TotalCount() int32             { return int32(c.total) }
func (c *gqlMergeQueueEntryConnection) PageInfo() *gqlPageInfo        { return c.info }
func (c *gqlMergeQueueEntryConnection) Nodes() *[]*gqlMergeQueueEntry { return &c.nodes }

func (x *gqlMergeQueueEntry) ID() graphql.ID {
	return opaqueID("MergeQueueEntry", x.r.full, strconv.Itoa(x.p.number), x.group.headSHA)
}
func (x *gqlMergeQueueEntry) Position() int32         { return int32(x.position) }
func (x *gqlMergeQueueEntry) EnqueuedAt() gqlDateTime { return dateTime(x.since.createdAt) }
func (x *gqlMergeQueueEntry) PullRequest() *gqlPullRequest {
	return &gqlPullRequest{q: x.q, r: x.r, p: x.p}
}
func (x *gqlMergeQueueEntry) HeadCommit() *gqlCommit {
	return &gqlCommit{q: x.q, r: x.r, c: x.r.commits[x.group.headSHA]}
}

// BaseCommit is the base branch's head the entry's group was built on.
func (x *gqlMergeQueueEntry) BaseCommit() *gqlCommit {
	c := x.r.commits[x.group.baseSHA]
	if c == nil {
		return nil
	}
	return &gqlCommit{q: x.q, r: x.r, c: c}
}

// State follows the group's required checks.
func (x *gqlMergeQueueEntry) State() string {
	v, _ := x.q.w.groupChecks(x.r, x.group)
	switch v {
	case checksPassed:
		return "MERGEABLE"
	case checksFailed:
		return "UNMERGEABLE"
	}
	return "AWAITING_CHECKS"
}
