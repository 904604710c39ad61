package fakegithub

import (
	"sort"
	"strings"
)

// authorAssociations are the values GitHub gives author_association.
var authorAssociations = set("OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "NONE")

// associationOf is a user's author_association with a repository, as
// GitHub derives it: the owner; a collaborator; someone whose PR was merged
// (a contributor); someone with only unmerged PRs (a first-time
// contributor); anyone else NONE.
func (r *repo) associationOf(login string) string {
	if strings.EqualFold(login, r.owner) {
		return "OWNER"
	}
	if _, ok := r.collaborators[strings.ToLower(login)]; ok {
		return "COLLABORATOR"
	}
	assoc := "NONE"
	for _, p := range r.pulls {
		if !strings.EqualFold(p.user, login) {
			continue
		}
		if p.merged {
			return "CONTRIBUTOR"
		}
		assoc = "FIRST_TIME_CONTRIBUTOR"
	}
	return assoc
}

// sortedKeys lists a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
