package fakegithub

import (
	"strconv"
	"strings"
)

// botEscaper escapes a bot login for URLs, as GitHub writes
// .../users/fix-status%5Bbot%5D.
var botEscaper = strings.NewReplacer("[", "%5B", "]", "%5D")

// appBySlug is the app whose bot user has this slug, or nil.
func (w *world) appBySlug(slug string) *appInfo {
	for _, a := range w.apps {
		if strings.EqualFold(a.slug, slug) {
			return a
		}
	}
	return nil
}

// botUserJSON is an app's bot user as GitHub shows it: login "slug[bot]",
// type Bot, html_url the app's page (https://github.com/apps/<slug> on the
// emulator's web URL), url .../users/slug%5Bbot%5D and, for a known app, the
// app's avatar.
func (w *world) botUserJSON(base, login string) *userJSON {
	slug := strings.TrimSuffix(login, "[bot]")
	id := w.userID(login)
	u := base + "/users/" + botEscaper.Replace(login)
	avatar := base + "/avatars/u/" + strconv.FormatInt(id, 10)
	if a := w.appBySlug(slug); a != nil {
		avatar = base + "/avatars/in/" + strconv.FormatInt(a.id, 10)
	}
	empty := ""
	return &userJSON{
		Login: login, ID: id, NodeID: nodeID("Bot", id), AvatarURL: avatar, GravatarID: &empty,
		URL: u, HTMLURL: base + "/apps/" + slug,
		FollowersURL: u + "/followers", FollowingURL: u + "/following{/other_user}", GistsURL: u + "/gists{/gist_id}",
		StarredURL: u + "/starred{/owner}{/repo}", SubscriptionsURL: u + "/subscriptions", OrganizationsURL: u + "/orgs",
		ReposURL: u + "/repos", EventsURL: u + "/events{/privacy}", ReceivedEventsURL: u + "/received_events",
		Type: "Bot", UserViewType: "public",
	}
}

// Check run statuses GitHub accepts from an app; GitHub Actions alone may
// also use waiting, requested and pending.
var appCheckStatuses = set("queued", "in_progress", "completed")

// checkStatusAllowed reports whether app may set a check run's status.
func checkStatusAllowed(appID int64, status string) bool {
	return appCheckStatuses[status] || (appID == GitHubActionsAppID && checkStatuses[status])
}
