package plan

import (
	"fmt"
	"strconv"
	"strings"
)

// MergeQueueBranchPrefix starts the branch of every merge group:
// gh-readonly-queue/<base>/pr-<n>-<sha>.
const MergeQueueBranchPrefix = "gh-readonly-queue/"

// MergeGroupRef names a merge group of a merge queue: a commit on a
// temporary branch whose changes are its pull requests'.
type MergeGroupRef struct {
	Repo    RepoRef
	HeadSHA string
	// HeadRef is the group's branch, refs/heads/gh-readonly-queue/….
	HeadRef string
	// BaseRef is the branch the group merges into.
	BaseRef string
}

func (g MergeGroupRef) String() string {
	return fmt.Sprintf("%s@%s (merge group of %s)", g.Repo.FullRepo(), ShortSHA(g.HeadSHA), g.BaseRef)
}

// ParseGroupRef reads a merge group's branch (with or without refs/heads/):
// its base branch and the number of the pull request it ends with.
func ParseGroupRef(ref string) (base string, pr int, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(ref, "refs/heads/"), MergeQueueBranchPrefix)
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndex(rest, "/pr-")
	if i <= 0 {
		return "", 0, false
	}
	num, _, _ := strings.Cut(rest[i+len("/pr-"):], "-")
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return rest[:i], n, true
}

// MergeGroup is what a snapshot of a merge group knows beyond a PR's.
type MergeGroup struct {
	Ref MergeGroupRef
	// Carry is the repo config's merge_queue.carry_pr_results: a context
	// whose job never runs on merge groups and would run for the group's
	// changes passes when it passed on the head of every PR of the group.
	Carry bool
	// PRs are the group's pull requests with the results on their heads,
	// read only when a context needs carrying (PRsRead).
	PRs     []GroupPR
	PRsRead bool
}

// GroupPR is one pull request of a merge group and the latest results on
// its head.
type GroupPR struct {
	Number    int
	HeadSHA   string
	Statuses  []Status
	CheckRuns []CheckRun
}

// CarriedPrefix starts the description of a result fix-status posts on a
// merge group for a context that passed on every PR of the group.
const CarriedPrefix = "Carried: "

// NeedsGroupPRs reports whether the plan of a merge group would carry PR
// results that were not read yet; the caller reads them and plans again.
func NeedsGroupPRs(s *Snapshot, ds []Decision) bool {
	if s.MergeGroup == nil || !s.MergeGroup.Carry || s.MergeGroup.PRsRead {
		return false
	}
	for _, d := range ds {
		if d.Cause == CauseNotOnMergeGroup {
			return true
		}
	}
	return false
}

// carry says whether rc passed, by someone other than fix-status, on the
// head of every PR of the merge group, and names the results.
func (p *planner) carry(rc RequiredCheck) (bool, string) {
	g := p.s.MergeGroup
	if !g.PRsRead {
		return false, "its PRs' results were not read"
	}
	if len(g.PRs) == 0 {
		return false, "the merge group's pull requests are not known"
	}
	var from []string
	for _, pr := range g.PRs {
		q := planner{s: &Snapshot{Statuses: pr.Statuses, CheckRuns: pr.CheckRuns}, o: p.o}
		others, _ := q.results(rc)
		passed := ""
		for _, r := range others {
			switch r.state {
			case "passing":
				if passed == "" {
					passed = fmt.Sprintf("#%d %s %s", pr.Number, r.kind, r.raw)
				}
			default:
				return false, fmt.Sprintf("not carried: #%d's %s %s", pr.Number, r.kind, r.raw)
			}
		}
		if passed == "" {
			return false, fmt.Sprintf("not carried: nothing passed on #%d's head", pr.Number)
		}
		from = append(from, passed)
	}
	return true, "passed on every PR of the group: " + strings.Join(from, ", ")
}
