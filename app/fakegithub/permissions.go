package fakegithub

import (
	"fmt"
	"strings"
)

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

// eventPermissions are what an installation needs to receive an event, as
// GitHub's webhook documentation says for GitHub Apps ("must have at least
// read-level access for the ... repository permission"), in the routes'
// form: alternatives, any of which will do. GitHub sends no event to an
// installation without it, whatever the app subscribes to; installation
// events need none.
var eventPermissions = map[string][]string{
	"pull_request":           {"pull_requests:read"},
	"issue_comment":          {"issues:read", "pull_requests:read"},
	"push":                   {"contents:read"},
	"status":                 {"statuses:read"},
	"check_run":              {"checks:read"},
	"check_suite":            {"checks:read"},
	"branch_protection_rule": {"administration:read"},
	"repository_ruleset":     {"administration:read"},
	"merge_group":            {"merge_queues:read"},
}

// needsPermission says why GitHub would not send an event to an
// installation that lacks the permission the event needs ("" when it
// would).
func needsPermission(event string, in *installation) string {
	perms, ok := eventPermissions[event]
	if !ok || in == nil {
		return ""
	}
	for _, p := range perms {
		if allowsAll(in.perms, p) {
			return ""
		}
	}
	return fmt.Sprintf("the installation lacks the %s permission the %s event needs", acceptedPermissions(perms), event)
}

// withMetadata is a set of repository permissions as GitHub grants it:
// any repository permission brings metadata: read (GitHub sets it back to
// read-only when an app asks for less).
func withMetadata(perms map[string]string) map[string]string {
	out := copyPerms(perms)
	if len(out) > 0 {
		out["metadata"] = maxLevel(out["metadata"], "read")
	}
	return out
}

// appPermissions are the permissions of the scenario's app: the ones it
// asks for as GitHub grants them, fix-status's when it names none.
func appPermissions(perms map[string]string) map[string]string {
	if perms == nil {
		return DefaultPermissions()
	}
	return withMetadata(perms)
}

// checkInstallationPerms refuses an installation granted what its app does
// not ask for: an installation accepts the app's permissions, or fewer
// while newer ones wait for approval, never more.
func checkInstallationPerms(path string, granted, app map[string]string) error {
	for k, v := range granted {
		if !permAllows(app[k], v) {
			return fmt.Errorf("%s.%s: %q is more than the app asks for (%q)", path, k, v, app[k])
		}
	}
	return nil
}
