package fakegithub

import "strings"

// A route's perms are alternatives, any of which allows the call; each is
// one permission ("checks:write") or several that are all needed
// ("contents:read,pull_requests:read").

// acceptedPermissions renders a route's perms as GitHub's
// X-Accepted-GitHub-Permissions header: the sets separated by "; ", the
// permissions of a set by ",", each as name=level.
func acceptedPermissions(perms []string) string {
	sets := make([]string, len(perms))
	for i, p := range perms {
		sets[i] = strings.ReplaceAll(p, ":", "=")
	}
	return strings.Join(sets, "; ")
}

// allowsAll reports whether granted permissions satisfy every permission
// of a set such as "contents:read,pull_requests:read".
func allowsAll(granted map[string]string, set string) bool {
	for _, p := range strings.Split(set, ",") {
		name, level, _ := strings.Cut(p, ":")
		if !permAllows(granted[name], level) {
			return false
		}
	}
	return true
}
